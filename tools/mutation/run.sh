#!/usr/bin/env bash
# Mutation testing of the caching rules with Stryker.NET (the local tool in .config/dotnet-tools.json). Not part of
# ./test.sh or CI: a run takes tens of minutes on two cores. It answers "would a test notice if this rule were wrong?".
#
#   tools/mutation/run.sh                      every caching-rule file (FILES below) against the unit tests of the rules
#   tools/mutation/run.sh Caching/CacheControl.cs Syntax/PathPattern.cs     just these (paths under edge-image/EdgeCache)
#   FILTER='FullyQualifiedName~EdgeCache.Tests' tools/mutation/run.sh       the end-to-end tests too (much slower; tests
#                                              that start the node in a child process are invisible to its coverage)
#   CONCURRENCY=2 tools/mutation/run.sh        test runners in parallel (default 1: the machine is shared)
#   OUT=/tmp/keys tools/mutation/run.sh ...    the report elsewhere, so two runs at once do not overwrite each other's
#
# One Stryker run mutates all the files given (one build, one initial test run), on a copy of the working tree
# (uncommitted changes included) so its builds never collide with yours. The report (html, json) goes to $OUT
# (default tools/mutation/out/, git-ignored) and the per-file scores are printed at the end. Survivors known to be equivalent
# to the original are listed in NOTES.md beside this script.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
# The unit tests that prove the caching rules; every other unit test only slows each mutant down.
FILTER=${FILTER:-FullyQualifiedName~EdgeCache.Tests.Unit.Rfc9|FullyQualifiedName~FreshnessTests|FullyQualifiedName~CacheControlTests|FullyQualifiedName~HttpDateTests|FullyQualifiedName~StructuredDictionaryTests|FullyQualifiedName~SharingTests|FullyQualifiedName~CacheKeyTests|FullyQualifiedName~VaryNormalizationTests|FullyQualifiedName~PathPattern}
CONCURRENCY=${CONCURRENCY:-1}
out=${OUT:-$here/out}
if [ "$#" -gt 0 ]; then
  files=("$@")
else
  files=(
    Caching/CachePolicy.cs
    Caching/CacheControl.cs
    Caching/HttpDate.cs
    Caching/StructuredDictionary.cs
    Caching/TargetedCacheControl.cs
    Caching/CacheKeyBuilder.cs
    Syntax/PathPattern.cs
  )
fi

work=$(mktemp -d /tmp/edgecache-mutation.XXXXXX)
trap 'rm -rf "$work"' EXIT
# The tree as it is now, without build output or packages: Stryker builds and rewrites assemblies in place.
(cd "$root" && git ls-files -co --exclude-standard -z | xargs -0 cp --parents -t "$work")
(cd "$root" && dotnet tool restore >/dev/null)

mutate=()
for file in "${files[@]}"; do
  if [ ! -f "$work/edge-image/EdgeCache/$file" ]; then
    echo "no such file under edge-image/EdgeCache: $file" >&2
    exit 2
  fi
  mutate+=(--mutate "**/$file")
done

echo "== mutating ${files[*]} (tests: $FILTER, concurrency $CONCURRENCY; log: $work/stryker.log)"
(cd "$work/tests/EdgeCache.Tests" && dotnet tool run dotnet-stryker \
    --project EdgeCache.csproj \
    "${mutate[@]}" \
    --test-case-filter "$FILTER" \
    --configuration Release \
    --concurrency "$CONCURRENCY" \
    --reporter html --reporter json --reporter cleartext --reporter dots \
    --skip-version-check \
    --output "$work/out") > "$work/stryker.log" 2>&1 || { tail -40 "$work/stryker.log"; exit 1; }

rm -rf "${out:?}" && mkdir -p "$out"
cp -r "$work/out/reports/." "$out/"
cp "$work/stryker.log" "$out/"
# The cleartext reporter's table: one row per file with its score, killed, survived, timeouts, no coverage, errors.
sed -n '/^[-─│|┌├└ ]*File/,$p' "$work/stryker.log" | grep -E "│|\||%" | grep -v "^\s*$" || true
grep -E "final mutation score" "$work/stryker.log" || true
echo "report: $out/mutation-report.html"

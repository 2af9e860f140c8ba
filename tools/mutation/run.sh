#!/usr/bin/env bash
# Mutation testing of the caching rules with Stryker.NET (the local tool in .config/dotnet-tools.json). Not part of
# ./test.sh or CI: a run takes minutes per file on two cores. It answers "would a test notice if this rule were wrong?".
#
#   tools/mutation/run.sh                      every caching-rule file (FILES below), unit tests only
#   tools/mutation/run.sh Caching/CacheControl.cs Syntax/PathPattern.cs     just these (paths under edge-image/EdgeCache)
#   FILTER='FullyQualifiedName~EdgeCache.Tests' tools/mutation/run.sh       with the end-to-end tests too (much slower)
#   CONCURRENCY=2 tools/mutation/run.sh        test runners in parallel (default 1: the machine is shared)
#
# It runs on a copy of the working tree (uncommitted changes included) so its builds never collide with yours, and
# writes each file's report to tools/mutation/out/<file>/ (html and json, git-ignored), then prints the scores.
# Survivors known to be equivalent to the original are listed in NOTES.md beside this script.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
FILTER=${FILTER:-FullyQualifiedName~EdgeCache.Tests.Unit}
CONCURRENCY=${CONCURRENCY:-1}
if [ "$#" -gt 0 ]; then
  files=("$@")
else
  files=(
    Caching/CachePolicy.cs
    Caching/CacheControl.cs
    Caching/HttpDate.cs
    Caching/AgeHeader.cs
    Caching/CdnCacheControl.cs
    Caching/CacheKeyBuilder.cs
    Syntax/PathPattern.cs
  )
fi

work=$(mktemp -d /tmp/edgecache-mutation.XXXXXX)
trap 'rm -rf "$work"' EXIT
# The tree as it is now, without build output or packages: Stryker builds and rewrites assemblies in place.
(cd "$root" && git ls-files -co --exclude-standard -z) | (cd "$root" && xargs -0 cp --parents -t "$work" 2>/dev/null || true)
cd "$root" && dotnet tool restore >/dev/null
out="$here/out"
mkdir -p "$out"
summary=()
for file in "${files[@]}"; do
  if [ ! -f "$work/edge-image/EdgeCache/$file" ]; then
    echo "skip $file: not in edge-image/EdgeCache"
    continue
  fi
  name=$(basename "$file" .cs)
  echo "== $file (tests: $FILTER)"
  (cd "$work/tests/EdgeCache.Tests" && dotnet tool run dotnet-stryker \
      --project EdgeCache.csproj \
      --mutate "**/$file" \
      --test-case-filter "$FILTER" \
      --configuration Release \
      --concurrency "$CONCURRENCY" \
      --reporter html --reporter json --reporter progress --reporter cleartext \
      --skip-version-check \
      --output "$work/out/$name") | tee "$work/$name.log" | grep -E "mutation score|Killed|Survived|Timeout|No coverage|Compile" || true
  rm -rf "${out:?}/$name" && mkdir -p "$out/$name"
  cp -r "$work/out/$name/reports/." "$out/$name/" 2>/dev/null || true
  score=$(grep -oE "The final mutation score is [0-9.]+ ?%" "$work/$name.log" | grep -oE "[0-9.]+ ?%" || echo "n/a")
  summary+=("$file: $score")
done
echo
echo "== mutation scores"
printf '%s\n' "${summary[@]}"

#!/usr/bin/env bash
# The one test command: installs what the tests need on a fresh Debian 12 machine with the .NET 10 SDK and Node 20
# (Debian's prometheus package, npm packages) and runs ALL of them: the .NET solution (unit + end-to-end on real
# loopback sockets, s3rver for S3, Prometheus; the end-to-end suite a second time with the Linux fast path off), the
# Pulumi unit tests (TypeScript, mocks, no cloud), and the container image test (podman). .ci/run calls exactly this.
#
#   ./test.sh              everything
#   SKIP_IMAGE_TEST=1 ./test.sh   everything but the podman image build (for a quick local loop)
set -euo pipefail
cd "$(dirname "$0")"
root=$PWD
logs=$(mktemp -d)
start=$SECONDS
phase() { printf '\n== %s (%ss elapsed)\n' "$1" "$((SECONDS - start))"; }

if ! command -v prometheus >/dev/null || ! command -v promtool >/dev/null; then
  phase "apt-get install prometheus: promtool checks the alert rules, the end-to-end observability test runs the server"
  # Installed, never started as a service (the tests run their own on loopback): a policy-rc.d that refuses service
  # starts stands for the install unless the machine has one already.
  guard=""
  if [ ! -e /usr/sbin/policy-rc.d ]; then printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d; guard=1; fi
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus; } \
    >"$logs/apt.txt" 2>&1 || echo "prometheus could not be installed (see below): its tests will say they are skipped"
  if [ -n "$guard" ]; then rm -f /usr/sbin/policy-rc.d; fi
  command -v promtool >/dev/null || tail -5 "$logs/apt.txt"
fi

phase "npm ci: s3rver for the S3 origin tests, and the Pulumi program (the memory test runs its formula)"
npm ci --prefix tests/s3rver --no-audit --no-fund --loglevel=error
npm ci --no-audit --no-fund --loglevel=error

phase ".NET build and tests (Infra.sln, Release: the build that ships; allocation tests skip in Debug)"
dotnet_status=0
# The console logger at "minimal" prints each failed test's message and stack (and nothing for passed ones); without
# it, -v quiet leaves only the failed test's name, which is not enough to tell a flaky test from a broken one.
dotnet test Infra.sln -c Release --nologo -v quiet --logger "console;verbosity=minimal" 2>&1 | tee "$logs/dotnet.txt" || dotnet_status=$?

phase ".NET end-to-end tests again with the Linux fast path off (EDGECACHE_FAST_PATH=off: Kestrel's own transport and output)"
# The tests left out measure the fast path itself (its sends, pipe blocks, allocations, sendfile accounting, and the
# send low-water mark a spill file's slow reader relies on): edge-image/EdgeCache/FastPath/README.md. The fleet's
# control plane (invalidation log, edgecdn, Prometheus, the memory flood) does not depend on the viewer transport and
# runs once.
fast_path_off="FullyQualifiedName~EdgeCache.Tests.EndToEnd&FullyQualifiedName!~DirectBodySendTests&FullyQualifiedName!~ConnectionBufferTests"
fast_path_off+="&FullyQualifiedName!~HitAllocationTests&FullyQualifiedName!~A_stored_object_costs_the_memory_tier_about_its_own_size"
fast_path_off+="&FullyQualifiedName!~A_spill_file_two_viewers_share_stays_open_for_the_slower_one"
fast_path_off+="&FullyQualifiedName!~InvalidationFleetTests&FullyQualifiedName!~EdgeCdnUsageTests"
fast_path_off+="&FullyQualifiedName!~FleetObservabilityTests&FullyQualifiedName!~MemoryBoundTests"
EDGECACHE_FAST_PATH=off dotnet test tests/EdgeCache.Tests -c Release --no-build --nologo -v quiet --logger "console;verbosity=minimal" \
  --filter "$fast_path_off" 2>&1 | tee -a "$logs/dotnet.txt" || dotnet_status=$?

npm_status=0
touch "$logs/npm.txt"
if [ -f package.json ]; then
  phase "Pulumi unit tests, tsc --strict and lint (npm test)"
  npm test 2>&1 | tee "$logs/npm.txt" || npm_status=$?
fi

image_status=0
if [ ! -f tests/image/test-image.sh ]; then SKIP_IMAGE_TEST=1; fi
if [ "${SKIP_IMAGE_TEST:-0}" != "1" ]; then
  phase "container image: podman build of edge-image/Dockerfile, --read-only run, MISS then HIT"
  bash tests/image/test-image.sh 2>&1 | tee "$logs/image.txt" || image_status=$?
fi

# One closing line over every runner: .NET's "Passed: N, Failed: N" lines and node's "# pass N / # fail N".
passed=0 failed=0
while read -r p f; do passed=$((passed + p)); failed=$((failed + f)); done < <(
  (grep -Eo 'Failed: +[0-9]+, Passed: +[0-9]+' "$logs/dotnet.txt" || true) | awk '{gsub(",","",$2); print $4, $2}')
node_pass=$( (grep -Eo '^# pass [0-9]+' "$logs/npm.txt" || true) | awk '{s+=$3} END {print s+0}')
node_fail=$( (grep -Eo '^# fail [0-9]+' "$logs/npm.txt" || true) | awk '{s+=$3} END {print s+0}')
passed=$((passed + node_pass)); failed=$((failed + node_fail))
if [ "${SKIP_IMAGE_TEST:-0}" != "1" ]; then
  if [ "$image_status" -eq 0 ]; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
fi
if [ "$dotnet_status" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi
if [ "$npm_status" -ne 0 ] && [ "$node_fail" -eq 0 ]; then failed=$((failed + 1)); fi

phase "done"
# The .NET failures scroll away behind the Pulumi and image output: name them again here, each with its first error line.
if grep -qE '^\s+Failed [A-Za-z]' "$logs/dotnet.txt"; then
  echo ".NET tests that failed:"
  awk '/^[[:space:]]+Failed [A-Za-z]/ {name=$0; sub(/^[[:space:]]+Failed /, "", name); sub(/ \[[^]]*\]$/, "", name); want=1; next}
       want && /Error Message:/ {getline; sub(/^[[:space:]]+/, ""); print "  " name ": " substr($0, 1, 300); want=0}' \
    "$logs/dotnet.txt" | head -60
fi
echo "tests: $passed passed, $failed failed"
[ "$dotnet_status" -eq 0 ] && [ "$npm_status" -eq 0 ] && [ "$image_status" -eq 0 ]

#!/usr/bin/env bash
# Fleet invalidation latency (not a test): builds EdgeCache and edgecdn in Release, installs s3rver, and runs
# bench/invalidation.py: 8 edge nodes with pollSeconds 1 on 127.0.0.1, `edgecdn invalidate` timed to the last ack, 20 runs.
#   bench/invalidation.sh            NODES=8 RUNS=20 POLL_SECONDS=1 by default
set -euo pipefail
cd "$(dirname "$0")/.."
npm ci --prefix tests/s3rver --no-audit --no-fund --loglevel=error
dotnet build edge-image/EdgeCache -c Release -v q --nologo
dotnet build tools/EdgeCdn -c Release -v q --nologo
exec python3 bench/invalidation.py

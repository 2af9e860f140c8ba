#!/usr/bin/env bash
# One command: installs nginx, Varnish and wrk from Debian's packages if missing, publishes EdgeCache in Release, and
# runs the side-by-side benchmark (bench.py). Loopback only; finishes in about 4 minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
missing=""
for cmd in nginx varnishd wrk node; do command -v "$cmd" >/dev/null || missing="$missing $cmd"; done
if [ -n "$missing" ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light varnish wrk >/dev/null
  # Debian starts the packaged services: this benchmark runs its own, on loopback, with its own config.
  systemctl stop nginx varnish 2>/dev/null || service nginx stop 2>/dev/null || true
  pkill -x nginx 2>/dev/null || true; pkill -x varnishd 2>/dev/null || true
fi
dotnet publish edge-image/EdgeCache -c Release -o bench/out/edgecache -v quiet -nologo
exec python3 bench/bench.py

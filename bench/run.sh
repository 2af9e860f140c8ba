#!/usr/bin/env bash
# One command: installs nginx, Varnish and wrk from Debian's packages if missing, publishes EdgeCache in Release, and
# runs the side-by-side benchmark (bench/README.md). Needs root (namespaces, cgroups, the install).
#
#   bench/run.sh              # the deployed shape (deployed.py): one CPU each, an MTU-1500 veth, a Zipf trace; ~7 min
#   bench/run.sh fastpath     # the deployed shape for EdgeCache alone, each fast-path part off in turn; ~13 min
#   bench/run.sh loopback     # everything on 127.0.0.1 (bench.py), comparable with earlier runs; ~4 min
set -euo pipefail
cd "$(dirname "$0")/.."
mode="${1:-deployed}"
case "$mode" in deployed|fastpath|loopback) ;; *) echo "usage: bench/run.sh [deployed|fastpath|loopback]" >&2; exit 2 ;; esac
missing=""
for cmd in nginx varnishd wrk node; do command -v "$cmd" >/dev/null || missing="$missing $cmd"; done
if [ -n "$missing" ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light varnish wrk >/dev/null
  # Debian starts the packaged services: this benchmark runs its own, on loopback, with its own config.
  systemctl stop nginx varnish 2>/dev/null || service nginx stop >/dev/null 2>&1 || true
  pkill -x nginx 2>/dev/null || true; pkill -x varnishd 2>/dev/null || true
fi
dotnet publish edge-image/EdgeCache -c Release -o bench/out/edgecache -v quiet -nologo
if [ "$mode" != loopback ]; then
  exec bench/deployed.sh "$mode"
fi
if [ -z "${BENCH_MTU:-}" ]; then
  exec python3 bench/bench.py
fi
# BENCH_MTU=1500: the same run in a private network namespace whose own loopback has that MTU, so that TCP cuts
# segments as on an Ethernet link instead of at loopback's 64 KiB (docs/decisions/0018-bbr-pacing-and-body-alignment.md).
# Everything still binds to 127.0.0.1, the namespace's own; its TCP settings are copied from this one's, so only the MTU
# differs.
ns=edgecache-bench
ip netns delete "$ns" 2>/dev/null || true
ip netns add "$ns"
trap 'ip netns delete "$ns"' EXIT
ip -n "$ns" link set lo mtu "$BENCH_MTU" up
for key in tcp_rmem tcp_wmem tcp_congestion_control; do
  ip netns exec "$ns" sysctl -qw "net.ipv4.$key=$(sysctl -n "net.ipv4.$key")"
done
ip netns exec "$ns" python3 bench/bench.py

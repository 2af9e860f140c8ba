#!/usr/bin/env bash
# The deployed-shape topology around bench/deployed.py (bench/run.sh calls this after publishing EdgeCache; run it
# directly to rerun without publishing). Needs root.
#
#   ecbd-client 10.201.1.1 --veth MTU 1500-- 10.201.1.2 ecbd-cache 10.201.2.2 --veth MTU 1500-- 10.201.2.1 ecbd-origin
#
# The load generator (and deployed.py, wrk, and the origin) run on one core, the caches on the other, each limited to
# one CPU by its own cgroup. Every namespace gets the same TCP settings: BENCH_CC (default cubic, the kernel default of
# the Linux images a cloud load balancer's targets run; this machine's own is BBR, which without the fq qdisc paces
# every socket by its own timer, see docs/decisions/0018) and the host's tcp_rmem/tcp_wmem. On exit, also on error or
# Ctrl-C, everything is removed: namespaces, the caches' cgroups, nginx's tmpfs cache directories.
set -euo pipefail
cd "$(dirname "$0")/.."
mode="${1:-deployed}"
mtu="${BENCH_MTU:-1500}"
cc="${BENCH_CC:-cubic}"
cache_cpu="${BENCH_CACHE_CPU:-0}"
client_cpu="${BENCH_CLIENT_CPU:-1}"
namespaces="ecbd-client ecbd-cache ecbd-origin"
export BENCH_CACHE_CPU="$cache_cpu" BENCH_MTU="$mtu"

allowed_before=""
cleanup() {
  if [ -n "$allowed_before" ]; then sysctl -qw "net.ipv4.tcp_allowed_congestion_control=$allowed_before" || true; fi
  # Whatever an interrupted run left behind (a cache, the origin, the replay) is ended by the PIDs its namespace or its
  # cgroup lists, never by name.
  for ns in $namespaces; do
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$pid" 2>/dev/null || true; done
  done
  for g in /sys/fs/cgroup/cpuacct/ecbd-*; do
    [ -d "$g" ] || continue
    for pid in $(cat "$g/cgroup.procs" 2>/dev/null); do kill -9 "$pid" 2>/dev/null || true; done
  done
  sleep 0.3
  for g in /sys/fs/cgroup/cpu/ecbd-* /sys/fs/cgroup/cpuacct/ecbd-* /sys/fs/cgroup/memory/ecbd-* /sys/fs/cgroup/memory/*/ecbd-* \
           /sys/fs/cgroup/memory/*/*/ecbd-*; do
    [ -d "$g" ] && rmdir "$g" 2>/dev/null || true
  done
  for ns in $namespaces; do ip netns delete "$ns" 2>/dev/null || true; done
  rm -rf /dev/shm/ecbd-nginx-*
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
cleanup
# A namespace may only pick a congestion control the machine allows (tcp_allowed_congestion_control); if BENCH_CC is
# available but not allowed, it is allowed for the run and the list put back on exit.
allowed="$(sysctl -n net.ipv4.tcp_allowed_congestion_control)"
if ! grep -qw "$cc" <<<"$allowed"; then
  grep -qw "$cc" <<<"$(sysctl -n net.ipv4.tcp_available_congestion_control)" || { echo "congestion control $cc is not available" >&2; exit 2; }
  allowed_before="$allowed"
  sysctl -qw "net.ipv4.tcp_allowed_congestion_control=$allowed $cc"
fi

for ns in $namespaces; do
  ip netns add "$ns"
  ip -n "$ns" link set lo up
  ip netns exec "$ns" sysctl -qw "net.ipv4.tcp_congestion_control=$cc"
  for key in tcp_rmem tcp_wmem; do
    ip netns exec "$ns" sysctl -qw "net.ipv4.$key=$(sysctl -n "net.ipv4.$key")"
  done
done
ip link add ecbd-c0 netns ecbd-client mtu "$mtu" type veth peer name ecbd-c1 netns ecbd-cache mtu "$mtu"
ip link add ecbd-o0 netns ecbd-origin mtu "$mtu" type veth peer name ecbd-o1 netns ecbd-cache mtu "$mtu"
ip -n ecbd-client addr add 10.201.1.1/24 dev ecbd-c0
ip -n ecbd-cache addr add 10.201.1.2/24 dev ecbd-c1
ip -n ecbd-cache addr add 10.201.2.2/24 dev ecbd-o1
ip -n ecbd-origin addr add 10.201.2.1/24 dev ecbd-o0
ip -n ecbd-client link set ecbd-c0 up
ip -n ecbd-cache link set ecbd-c1 up
ip -n ecbd-cache link set ecbd-o1 up
ip -n ecbd-origin link set ecbd-o0 up
# Only so that the harness (in the client's namespace) can ask the origin whether it is up; the caches reach the origin
# directly, and viewers' requests stop at the caches.
ip -n ecbd-client route add 10.201.2.0/24 via 10.201.1.2
ip -n ecbd-origin route add 10.201.1.0/24 via 10.201.2.2
# A veth hands each packet to the receiving namespace on the sending core, so without this the viewer's TCP receive
# work (and the origin's) would run on the cache's core and be billed to whichever cache is running there; on separate
# machines it runs on the viewer's own. Receive Packet Steering puts each side's receive work on its own core, as a NIC
# interrupt on each machine would. BENCH_RPS=0 leaves the kernel's default (the sender's core).
if [ "${BENCH_RPS:-1}" != 0 ]; then
  cache_mask="$(printf %x $((1 << cache_cpu)))"
  client_mask="$(printf %x $((1 << client_cpu)))"
  ip netns exec ecbd-client sh -c "echo $client_mask > /sys/class/net/ecbd-c0/queues/rx-0/rps_cpus"
  ip netns exec ecbd-origin sh -c "echo $client_mask > /sys/class/net/ecbd-o0/queues/rx-0/rps_cpus"
  ip netns exec ecbd-cache sh -c "echo $cache_mask > /sys/class/net/ecbd-c1/queues/rx-0/rps_cpus; echo $cache_mask > /sys/class/net/ecbd-o1/queues/rx-0/rps_cpus"
fi
export BENCH_RPS="${BENCH_RPS:-1}"
ip netns exec ecbd-cache sysctl -qw net.ipv4.ip_forward=1

mkdir -p bench/out
gcc -O2 -Wall -o bench/out/replay bench/replay.c
# nsenter, not `ip netns exec`: the latter remounts /sys, which would hide the cgroup file systems from deployed.py.
# The harness talks only to the namespaces' addresses: never through a proxy the environment may name.
nsenter --net=/var/run/netns/ecbd-client taskset -c "$client_cpu" \
  env -u http_proxy -u HTTP_PROXY -u https_proxy -u HTTPS_PROXY python3 bench/deployed.py "$mode"

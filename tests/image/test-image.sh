#!/usr/bin/env bash
# Builds edge-image/Dockerfile with podman — the same file a Docker user builds — and proves the image works:
# run read-only as uid 10001, MISS then HIT through it, admin /healthz, the HEALTHCHECK command.
#
# Public registries are unreachable here, so the base images are made locally and passed as build arguments:
#   localhost/edgecache-base:bookworm  debootstrap'd Debian 12 minbase + the libraries runtime-deps has (runtime stage)
#   localhost/edgecache-sdk:10.0       that base + this machine's .NET SDK and CA bundle (build stage)
# Both are cached between runs; the first run takes a few minutes, later ones well under one.
set -euo pipefail
cd "$(dirname "$0")/../.."
start=$SECONDS
step() { printf '[image %3ss] %s\n' "$((SECONDS - start))" "$*"; }
fail() { echo "IMAGE TEST FAILED: $*" >&2; exit 1; }

work=/var/tmp/edgecache-image-test
mkdir -p "$work"

if ! command -v podman >/dev/null || ! command -v debootstrap >/dev/null || ! command -v runc >/dev/null; then
  step "installing podman, buildah, runc, debootstrap"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq podman buildah runc debootstrap uidmap >/dev/null
fi

# The two settings podman needs on these machines (shared/ENVIRONMENT.md), plus file limits for the server.
cat > "$work/containers.conf" <<'CONF'
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
CONF
export CONTAINERS_CONF="$work/containers.conf"

base=localhost/edgecache-base:bookworm
sdk=localhost/edgecache-sdk:10.0
image=localhost/edgecache:test

if ! podman image exists "$base"; then
  step "debootstrap Debian 12 minbase for the base image"
  mirror=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
  mirror=${mirror:-http://deb.debian.org/debian}
  rm -rf "$work/rootfs"
  # What Microsoft's runtime-deps image holds: CA certificates, libc, libgcc, libssl, libstdc++, tzdata, zlib.
  debootstrap --variant=minbase --include=ca-certificates,libssl3,libstdc++6,libgcc-s1,tzdata,zlib1g \
    bookworm "$work/rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 || { tail -20 "$work/debootstrap.log"; fail "debootstrap"; }
  rm -rf "$work/rootfs/var/cache/apt/archives/"*.deb "$work/rootfs/var/lib/apt/lists/"*
  tar -C "$work/rootfs" -c . | podman import - "$base" >/dev/null
  rm -rf "$work/rootfs"
fi

if ! podman image exists "$sdk"; then
  step "making the SDK image from this machine's .NET SDK"
  ctx="$work/sdk-context"
  rm -rf "$ctx" && mkdir -p "$ctx"
  cp -a "$(dirname "$(readlink -f "$(command -v dotnet)")")" "$ctx/dotnet"
  cp /etc/ssl/certs/ca-certificates.crt "$ctx/ca-certificates.crt"
  cat > "$ctx/Containerfile" <<CF
FROM $base
COPY dotnet /usr/share/dotnet
COPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
RUN ln -s /usr/share/dotnet/dotnet /usr/bin/dotnet
ENV DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1 NUGET_CERT_REVOCATION_MODE=offline
CF
  podman build -q -t "$sdk" -f "$ctx/Containerfile" "$ctx" >/dev/null || fail "building the local SDK image"
  rm -rf "$ctx"
fi

step "podman build edge-image/ (the Dockerfile a Docker user builds)"
# --format docker: podman's default OCI image format has no HEALTHCHECK field, so buildah would drop the instruction
# (with only a warning) and the image would ship without the health check Docker users get.
podman build -q --format docker --build-arg SDK_IMAGE="$sdk" --build-arg RUNTIME_IMAGE="$base" -t "$image" edge-image/ >"$work/build.log" 2>&1 \
  || { tail -30 "$work/build.log"; fail "podman build"; }
size=$(podman image inspect "$image" --format '{{.Size}}')
step "image built: $((size / 1024 / 1024)) MiB"
healthcheck=$(podman image inspect "$image" --format '{{.Config.Healthcheck}}')
case "$healthcheck" in
  *--healthcheck*) step "HEALTHCHECK kept in the image: $healthcheck" ;;
  *) fail "the image has no HEALTHCHECK (inspect says '$healthcheck')" ;;
esac

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
viewer=$(free_port); admin=$(free_port)
name="edgecache-test-$$"
cleanup() { podman rm -f "$name" >/dev/null 2>&1 || true; }
trap cleanup EXIT

step "run --read-only as uid 10001 (viewer 127.0.0.1:$viewer, admin 127.0.0.1:$admin)"
podman run -d --name "$name" --read-only --user 10001:10001 \
  -v edgecache-test-cache:/var/cache/edgecache -v edgecache-test-tmp:/tmp \
  -p "127.0.0.1:$viewer:8080" -p "127.0.0.1:$admin:9090" "$image" >/dev/null || fail "podman run"

for _ in $(seq 100); do
  curl -sf "http://127.0.0.1:$admin/readyz" >/dev/null && break
  sleep 0.2
done
curl -sf "http://127.0.0.1:$admin/readyz" >/dev/null || { podman logs "$name" | tail -20; fail "not ready within 20 s"; }

first=$(curl -s -D - -o /dev/null "http://127.0.0.1:$viewer/index.html" | tr -d '\r' | awk -F': ' 'tolower($1)=="x-cache" {print $2}')
second=$(curl -s -D - -o /dev/null "http://127.0.0.1:$viewer/index.html" | tr -d '\r' | awk -F': ' 'tolower($1)=="x-cache" {print $2}')
[ "$first" = "Miss" ] || fail "first request: X-Cache '$first', expected Miss"
[ "$second" = "Hit" ] || fail "second request: X-Cache '$second', expected Hit"
step "X-Cache: $first then $second"

# A 256 KiB object: its second hit moves it into an in-memory file (memfd, on the thread pool) and the hits after that
# go out with sendfile, under the container's seccomp profile, read-only root and non-root user. Bytes i % 251, as the
# sample origin makes them.
# Every response is checked until one has gone out with sendfile: the miss and the first two hits (from the array) at
# least, then the hits after the move.
expected=$(python3 -c 'import hashlib; print(hashlib.sha256(bytes(i % 251 for i in range(262144))).hexdigest())')
sent=0
for i in $(seq 1 20); do
  got=$(curl -sf "http://127.0.0.1:$viewer/downloads/sample.bin" | sha256sum | cut -d' ' -f1)
  [ "$got" = "$expected" ] || fail "/downloads/sample.bin request $i: sha256 $got, expected $expected"
  sent=$(curl -sf "http://127.0.0.1:$admin/metrics" | awk '$1 == "edgecache_sendfile_responses_total" {print $2}')
  [ "${sent:-0}" != "0" ] && break
  sleep 0.1
done
bodies=$(curl -sf "http://127.0.0.1:$admin/metrics" | awk '$1 == "edgecache_sendfile_bodies" {print $2}')
[ "$bodies" = "1" ] || fail "edgecache_sendfile_bodies is '$bodies' after hits on a 256 KiB object, expected 1"
[ "${sent:-0}" != "0" ] || fail "no hit on the 256 KiB object went out with sendfile (edgecache_sendfile_responses_total $sent)"
step "a 256 KiB object intact on its miss and hits; after its second hit, hits go out with sendfile from an in-memory file"

curl -sf "http://127.0.0.1:$admin/healthz" >/dev/null || fail "admin /healthz"
uid=$(podman exec "$name" /app/EdgeCache --healthcheck >/dev/null && podman top "$name" user | awk 'NR==2 {print $1}')
[ "$uid" = "10001" ] || fail "container user is '$uid', expected 10001"
podman exec "$name" sh -c 'touch /app/x' 2>/dev/null && fail "the root filesystem is writable"
step "HEALTHCHECK command passes, runs as uid $uid, root filesystem read-only"

echo "image test: passed ($((size / 1024 / 1024)) MiB, $((SECONDS - start)) s)"

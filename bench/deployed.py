#!/usr/bin/env python3
"""The deployed shape: EdgeCache, nginx and Varnish each on one CPU, viewers over an MTU-1500 veth, a Zipf trace.

Run through bench/run.sh (it installs the peers, publishes EdgeCache, builds bench/replay.c, creates the network
namespaces and removes them afterwards); this script runs inside the load generator's namespace, on the other core.

    bench/run.sh                 # deployed shape: trace and fixed-size hits, EdgeCache beside nginx and Varnish
    bench/run.sh fastpath        # the same for EdgeCache alone, each fast-path part turned off in turn
    python3 bench/deployed.py --table bench/results/<file>.json   # a stored run's tables

Topology (run.sh): namespace ecbd-client (this script, bench/replay.c, wrk) 10.201.1.1 --veth-- 10.201.1.2 ecbd-cache
(the caches) 10.201.2.2 --veth-- 10.201.2.1 ecbd-origin (bench/origin.js, one port per cache, logging every request).
Each cache runs in its own cgroups: cpu.cfs_quota_us = cpu.cfs_period_us (one CPU), affinity to core 0, cpuacct for
its CPU time, and a memory cgroup that measures its footprint (and, for EdgeCache, holds it to the pod's limit).
"""
import functools, json, math, os, re, signal, subprocess, sys, threading, time
from datetime import datetime, timezone

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True  # no __pycache__ in bench/ from importing the helpers below
sys.path.insert(0, HERE)
import bench as loopback  # noqa: E402  (helpers shared with the loopback mode)
import cdntrace as tracegen  # noqa: E402

WORK = "/var/tmp/edgecache-bench-deployed"
NS_CACHE, NS_ORIGIN = "ecbd-cache", "ecbd-origin"
CLIENT_IP, CACHE_IP, ORIGIN_IP = "10.201.1.1", "10.201.1.2", "10.201.2.1"
CACHE_CPU = int(os.environ.get("BENCH_CACHE_CPU", "0"))
MIB = 1024 * 1024
# The Pulumi program's defaults for a pod (components/config/edge.ts): cpu limit 1, memory limit 512Mi, memory tier
# 256 MiB. The tier is every cache's budget.
TIER_BYTES = int(os.environ.get("BENCH_TIER_MIB", "256")) * MIB
EDGE_MEMORY_LIMIT = int(os.environ.get("BENCH_EDGE_MEMORY_LIMIT_MIB", "512")) * MIB
# EdgeCache's own tier, when it is to be compared at another cache's measured footprint rather than at the shared
# budget (nginx overshoots max_size, so its hit ratio and CPU come with more memory); the pod's limit must fit it.
EDGE_TIER_BYTES = int(os.environ.get("BENCH_EDGE_TIER_MIB", str(TIER_BYTES // MIB))) * MIB
# nginx's max_size: the tier by default. It enforces it lazily (its cache manager deletes after the fact), so its
# footprint overshoots; on an idle machine a smaller value alone did not bring it down (74 MiB peaked at 2.04x the tier).
NGINX_MAX_SIZE = int(os.environ.get("BENCH_NGINX_MAX_SIZE_MIB", str(TIER_BYTES // MIB))) * MIB
# How many files nginx's cache manager may delete per pass (nginx's default is 100 every 50 ms or more). At the trace's
# miss rate the default cannot keep up with inserts, so the directory outgrows max_size whatever it is set to; an
# operator who needs max_size kept raises it.
NGINX_MANAGER_FILES = os.environ.get("BENCH_NGINX_MANAGER_FILES")
CATALOGUE_BYTES = int(float(os.environ.get("BENCH_CATALOGUE_TIERS", "4")) * TIER_BYTES)
ZIPF_ALPHA = float(os.environ.get("BENCH_ZIPF_ALPHA", "0.9"))
CLOSE_SHARE = float(os.environ.get("BENCH_CLOSE_SHARE", "0.1"))
SEED = int(os.environ.get("BENCH_SEED", "25"))
TRACE_WARM = int(os.environ.get("TRACE_WARM", "60000"))
TRACE_SEGMENT = int(os.environ.get("TRACE_SEGMENT", "50000"))
TRACE_ROUNDS = int(os.environ.get("TRACE_ROUNDS", "3"))
TRACE_CONNECTIONS = int(os.environ.get("TRACE_CONNECTIONS", "32"))
HIT_SECONDS = int(os.environ.get("HIT_SECONDS", "3"))
HIT_ROUNDS = int(os.environ.get("HIT_ROUNDS", "3"))
HERD_RUNS = int(os.environ.get("HERD_RUNS", "3"))
SIZES = ["1k", "128k", "1m"]
# Misses of one size after the trace and hits: what a miss costs by size, where the trace's CPU goes (0033).
MISS_SIZES = [("1k", 1024), ("64k", 64 * 1024), ("1m", 1024 * 1024)]
MISS_SECONDS = int(os.environ.get("MISS_SECONDS", "3"))
MISS_ROUNDS = int(os.environ.get("MISS_ROUNDS", "2"))
# The fastpath mode measures the misses by size too (as the deployed mode always does): for variants of the node's
# memory settings, whose cost shows on misses more than on hits.
FASTPATH_MISSES = os.environ.get("BENCH_FASTPATH_MISSES", "0") == "1"
FASTPATH_VARIANTS = [
    ("default", {}),
    ("directBodySend off", {"EDGECACHE_Listen__DirectBodySend": "false"}),
    ("sendFile off", {"EDGECACHE_Listen__SendFile": "false"}),
    ("notSentLowWater 0", {"EDGECACHE_Listen__NotSentLowWaterBytes": "0"}),
    ("fast path off", {"EDGECACHE_FAST_PATH": "off"}),
]


# --- cgroups -----------------------------------------------------------------------------------------------------

def own_memory_cgroup():
    """This process's memory cgroup (v1): the caches' groups go under it, so they stay inside whatever holds this run."""
    with open("/proc/self/cgroup") as f:
        for line in f:
            _, controllers, path = line.rstrip("\n").split(":", 2)
            if "memory" in controllers.split(","):
                return "/sys/fs/cgroup/memory" + (path.rstrip("/") if path != "/" else "")
    raise SystemExit("no cgroup v1 memory controller")


def write(path, value):
    with open(path, "w") as f:
        f.write(str(value))


def read_int(path):
    with open(path) as f:
        return int(f.read().split()[0])


def memory_stat(group):
    with open(f"{group}/memory.stat") as f:
        return {k: int(v) for k, v in (line.split() for line in f)}


class Groups:
    """A cache's cgroups: one CPU by quota, its CPU time, its memory (limited for EdgeCache as its pod would be)."""
    def __init__(self, name, memory_limit=None):
        slug = "ecbd-" + re.sub(r"[^a-z0-9]+", "-", name.lower())
        self.cpu, self.cpuacct = f"/sys/fs/cgroup/cpu/{slug}", f"/sys/fs/cgroup/cpuacct/{slug}"
        self.memory = f"{own_memory_cgroup()}/{slug}"
        for g in (self.cpu, self.cpuacct, self.memory):
            os.makedirs(g, exist_ok=True)
        period = read_int(f"{self.cpu}/cpu.cfs_period_us")
        write(f"{self.cpu}/cpu.cfs_quota_us", period)
        self.quota = f"cpu.cfs_quota_us={period} cpu.cfs_period_us={period}"
        self.memory_limit = memory_limit
        write(f"{self.memory}/memory.limit_in_bytes", memory_limit if memory_limit else -1)

    def join(self):
        """In the child before exec: into every group, onto the cache's core."""
        pid = str(os.getpid())
        for g in (self.cpu, self.cpuacct, self.memory):
            fd = os.open(f"{g}/cgroup.procs", os.O_WRONLY)
            os.write(fd, pid.encode())
            os.close(fd)
        os.sched_setaffinity(0, {CACHE_CPU})

    def cpu_seconds(self):
        return read_int(f"{self.cpuacct}/cpuacct.usage") / 1e9

    def remove(self):
        for g in (self.cpu, self.cpuacct, self.memory):
            try:
                os.rmdir(g)
            except OSError:
                pass


def core_busy_seconds():
    """Time the cache's core was not idle, from /proc/stat: user, nice, system, irq, softirq and steal.

    This is the figure the CPU rows use, not the cache's cpuacct: on a veth the network's softirq work runs wherever it
    lands, and the kernel (without IRQ time accounting) bills it to whichever task is running then, or to nobody when
    the core was idle. The cgroup's figure for one cache moved by up to 2x between identical windows; the core, given to
    the cache alone, carries all of the node's work for its traffic and nothing else
    (docs/decisions/0033-cpu-of-the-cache-core.md)."""
    with open("/proc/stat") as f:
        for line in f:
            if line.startswith(f"cpu{CACHE_CPU} "):
                v = [int(x) for x in line.split()[1:]]
                return (v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) / os.sysconf("SC_CLK_TCK")
    raise SystemExit(f"/proc/stat has no line for core {CACHE_CPU}")


# --- the caches --------------------------------------------------------------------------------------------------

def runtime_env(limit_bytes, millicores, tier_bytes):
    """The GC settings the Pulumi program gives a pod with these limits: components/config/runtime.ts
    (edgeRuntimeSettings), the same sums, so the node runs as deployed."""
    reserve = 96 * MIB
    needed = reserve + tier_bytes + 32 * MIB + tier_bytes // 8
    spare = limit_bytes - needed
    if spare < 0:
        raise SystemExit(f"a memory limit of {limit_bytes} bytes is below the {needed} the node needs")
    env = {"DOTNET_GCHeapHardLimit": hex(needed - reserve + spare // 2), "DOTNET_gcServer": "1" if millicores >= 2000 else "0"}
    if millicores >= 2000:
        env.update(DOTNET_GCHeapCount=hex(millicores // 1000), DOTNET_GCNoAffinitize="1")
    return env


@functools.cache
def image_runtime_env():
    """The runtime settings (DOTNET_*) the edge image's Dockerfile sets with ENV: a pod runs with them unless the
    Pulumi program's environment (runtime_env) overrides one, so the node here does too."""
    with open(f"{HERE}/../edge-image/Dockerfile") as f:
        text = f.read().replace("\\\n", " ")
    env = {}
    for line in text.splitlines():
        if line.startswith("ENV "):
            env.update(a.split("=", 1) for a in line[4:].split() if a.startswith("DOTNET_") and "=" in a)
    return env


def edge_env(limit_bytes, millicores, tier_bytes):
    """The node's runtime environment in a pod with these limits: the image's, then the Pulumi program's."""
    return {**image_runtime_env(), **runtime_env(limit_bytes, millicores, tier_bytes)}


class Cache:
    def __init__(self, name, kind, index, extra_env=None):
        self.name, self.kind, self.index = name, kind, index
        self.port, self.admin_port, self.origin_port = 8080 + index, 9090 + index, 18001 + index
        self.env = dict(extra_env or {})
        self.proc = None
        self.groups = Groups(name, EDGE_MEMORY_LIMIT if kind == "edgecache" else None)
        slug = re.sub(r"[^a-z0-9]+", "-", name.lower())
        self.dir = f"{WORK}/{slug}"
        os.makedirs(self.dir, exist_ok=True)
        self.nginx_cache = f"/dev/shm/ecbd-nginx-{slug}"
        if kind == "edgecache":
            with open(f"{self.dir}/edgecache.json", "w") as f:
                json.dump({
                    "node": {"name": f"bench-{slug}"},
                    "listen": {"address": CACHE_IP, "viewerPort": self.port, "adminPort": self.admin_port},
                    "accessLog": {"enabled": False},
                    "readiness": {"requireOrigins": False},
                    "cache": {"memoryBytes": EDGE_TIER_BYTES, "maxObjectBytes": tracegen.MAX_SIZE},
                    "origins": [{"id": "origin", "type": "http", "url": f"http://{ORIGIN_IP}:{self.origin_port}"}],
                    "behaviors": [{"pathPattern": "*", "origin": "origin", "defaultTtlSeconds": 3600}],
                }, f)
            # A variant's own settings (fastpath mode) over the pod's.
            self.env = {**edge_env(EDGE_MEMORY_LIMIT, 1000, EDGE_TIER_BYTES), **self.env}
            self.argv = [f"{HERE}/out/edgecache/EdgeCache", "--config", f"{self.dir}/edgecache.json"]
            self.ready = f"http://{CACHE_IP}:{self.admin_port}/readyz"
        elif kind == "nginx":
            with open(f"{HERE}/nginx.conf") as f:
                conf = f.read()
            # The loopback mode's tuning, with one worker for one CPU, the tier's budget as max_size, and the
            # namespaces' addresses.
            for old, new in (("worker_processes auto;             # = cores", "worker_processes 1;"),
                             ("/dev/shm/edgecache-bench-nginx", self.nginx_cache),
                             ("max_size=2g", f"max_size={NGINX_MAX_SIZE // MIB}m"
                                             + (f" manager_files={NGINX_MANAGER_FILES}" if NGINX_MANAGER_FILES else "")),
                             ("server 127.0.0.1:@ORIGIN@", f"server {ORIGIN_IP}:{self.origin_port}"),
                             ("listen 127.0.0.1:@PORT@", f"listen {CACHE_IP}:{self.port}"),
                             ("@WORK@", self.dir)):
                if old not in conf:
                    raise SystemExit(f"bench/nginx.conf no longer has {old!r}")
                conf = conf.replace(old, new)
            with open(f"{self.dir}/nginx.conf", "w") as f:
                f.write(conf)
            subprocess.run(["rm", "-rf", self.nginx_cache], check=True)
            os.makedirs(self.nginx_cache)
            subprocess.run(["chown", "www-data:www-data", self.nginx_cache], check=True)
            self.argv = ["nginx", "-c", f"{self.dir}/nginx.conf", "-g", "daemon off;"]
            self.ready = f"http://{CACHE_IP}:{self.port}/health"
        else:
            with open(f"{HERE}/varnish.vcl") as f:
                vcl = f.read().replace('"127.0.0.1"', f'"{ORIGIN_IP}"').replace("@ORIGIN@", str(self.origin_port))
            with open(f"{self.dir}/varnish.vcl", "w") as f:
                f.write(vcl)
            self.argv = ["varnishd", "-F", "-a", f"{CACHE_IP}:{self.port}", "-T", "127.0.0.1:0", "-f", f"{self.dir}/varnish.vcl",
                         "-s", f"malloc,{TIER_BYTES // MIB}m", "-n", f"{self.dir}/varnish", "-p", "thread_pools=1"]
            self.ready = f"http://{CACHE_IP}:{self.port}/health"

    def start(self):
        t0 = time.perf_counter()
        self.proc = subprocess.Popen(["nsenter", f"--net=/var/run/netns/{NS_CACHE}", *self.argv],
                                     stdout=subprocess.DEVNULL, stderr=open(f"{self.dir}/stderr.log", "w"),
                                     env={**os.environ, **self.env}, start_new_session=True, preexec_fn=self.groups.join)
        return loopback.wait_ready(self.proc, self.ready, self.name, f"{self.dir}/stderr.log", t0, poll=0.01)

    def stop(self):
        loopback.stop_session(self.proc)
        # Anything of the cache's still in its group (a worker outliving its master) is ended by its PID.
        try:
            with open(f"{self.groups.cpuacct}/cgroup.procs") as f:
                for pid in f.read().split():
                    os.kill(int(pid), signal.SIGKILL)
        except OSError:
            pass
        time.sleep(0.2)
        self.groups.remove()
        if self.kind == "nginx":
            subprocess.run(["rm", "-rf", self.nginx_cache])

    def url(self, path):
        return f"http://{CACHE_IP}:{self.port}{path}"

    def footprint(self):
        """What this cache holds now, measured its own way, with its memory group's figures for all."""
        stat = memory_stat(self.groups.memory)
        out = {"cgroup_bytes": read_int(f"{self.groups.memory}/memory.usage_in_bytes"), "cgroup_shmem_bytes": stat.get("shmem", 0),
               # Times the group hit its limit (EdgeCache's pod limit; the peers have none) and the kernel reclaimed.
               "cgroup_failcnt": read_int(f"{self.groups.memory}/memory.failcnt"),
               "cgroup_rss_bytes": stat.get("rss", 0), "rss_bytes": int(loopback.rss_mib(self.proc.pid) * MIB)}
        if self.kind == "edgecache":
            _, body, _ = loopback.get(f"http://{CACHE_IP}:{self.admin_port}/metrics", timeout=2)
            for name in ("edgecache_stored_bytes", "edgecache_stored_objects", "edgecache_sendfile_body_bytes", "edgecache_sendfile_bodies"):
                m = re.search(rf"^{name}(?:{{[^}}]*}})? ([0-9.e+]+)$", body.decode(errors="replace"), re.M)
                out[name] = float(m.group(1)) if m else math.nan
            out["own_bytes"] = out["edgecache_stored_bytes"]
        elif self.kind == "nginx":
            total = 0
            for root, _, files in os.walk(self.nginx_cache):
                for name in files:
                    try:
                        total += os.lstat(os.path.join(root, name)).st_blocks * 512
                    except OSError:
                        pass
            out["cache_dir_bytes"] = total
            out["own_bytes"] = total
        else:
            stats = json.loads(subprocess.run(["varnishstat", "-n", f"{self.dir}/varnish", "-j"], capture_output=True,
                                              text=True, timeout=10).stdout or "{}")
            counters = stats.get("counters", stats)
            for key in ("SMA.s0.g_bytes", "SMA.Transient.g_bytes", "MAIN.n_lru_nuked", "MAIN.n_lru_limited",
                        "MAIN.fetch_failed", "SMA.s0.c_fail", "MAIN.n_object"):
                out[key] = counters.get(key, {}).get("value", math.nan)
            out["own_bytes"] = out["SMA.s0.g_bytes"] + out["SMA.Transient.g_bytes"]
        return out


class Sampler:
    """Samples one cache's footprint every second while it is measured; keeps each figure's peak."""
    def __init__(self, cache):
        self.cache, self.peaks, self.stop_event = cache, {}, threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self):
        while not self.stop_event.wait(1.0):
            self.take()

    def take(self):
        for k, v in self.cache.footprint().items():
            if isinstance(v, (int, float)) and not math.isnan(v):
                self.peaks[k] = max(self.peaks.get(k, v), v)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop_event.set()
        self.thread.join()
        self.take()


# --- the origin and its log --------------------------------------------------------------------------------------

class OriginLog:
    """Reads the origin's log ("PORT PATH BYTES" per request) from where it last stopped, totalled by port."""
    def __init__(self, path):
        self.path, self.offset = path, 0

    def since_last(self, settle=0.5):
        time.sleep(settle)  # the origin writes a line when its response is handed to the socket
        totals = {}
        with open(self.path, "rb") as f:
            f.seek(self.offset)
            data = f.read()
        end = data.rfind(b"\n") + 1
        self.offset += end
        for line in data[:end].splitlines():
            port, _, size = line.split()
            t = totals.setdefault(int(port), [0, 0])
            t[0] += 1
            t[1] += int(size)
        return totals


# --- measuring ---------------------------------------------------------------------------------------------------

def replay(cache, trace_file, first, count):
    out = subprocess.run([f"{HERE}/out/replay", CACHE_IP, str(cache.port), trace_file, str(TRACE_CONNECTIONS), str(first), str(count)],
                         capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"replay against {cache.name} failed: {out.stderr.strip()}")
    return json.loads(out.stdout)


def measure_trace(caches, trace_file, log, results):
    for cache in caches:
        print(f"trace: warming {cache.name} ({TRACE_WARM} requests) ...", flush=True)
        w = replay(cache, trace_file, 0, TRACE_WARM)
        origin = log.since_last().get(cache.origin_port, [0, 0])
        results[cache.name]["trace_warm"] = {**w, "origin_requests": origin[0], "origin_bytes": origin[1]}
    windows = {cache.name: [] for cache in caches}
    for round_, cache in loopback.in_turns(caches, TRACE_ROUNDS):
        print(f"trace: {cache.name}, segment {round_ + 1} of {TRACE_ROUNDS} ...", flush=True)
        first = TRACE_WARM + round_ * TRACE_SEGMENT
        log.since_last()
        cpu0, core0 = cache.groups.cpu_seconds(), core_busy_seconds()
        write(f"{cache.groups.memory}/memory.max_usage_in_bytes", 0)
        with Sampler(cache) as sampler:
            w = replay(cache, trace_file, first, TRACE_SEGMENT)
        core, cpu = core_busy_seconds() - core0, cache.groups.cpu_seconds() - cpu0
        origin = log.since_last().get(cache.origin_port, [0, 0])
        windows[cache.name].append({**w, "cpu_s": core, "cgroup_cpu_s": cpu, "origin_requests": origin[0], "origin_bytes": origin[1],
                                    "cgroup_peak_bytes": read_int(f"{cache.groups.memory}/memory.max_usage_in_bytes"),
                                    "peaks": sampler.peaks})
    with open(trace_file) as f:
        sizes = [int(line.split()[1]) for line in f]
    for cache in caches:
        ws = windows[cache.name]
        requests = sum(w["requests"] for w in ws)
        elapsed = sum(w["elapsed_s"] for w in ws)
        viewer_bytes = sum(sum(sizes[TRACE_WARM + r * TRACE_SEGMENT:TRACE_WARM + (r + 1) * TRACE_SEGMENT]) for r in range(TRACE_ROUNDS))
        origin_requests, origin_bytes = sum(w["origin_requests"] for w in ws), sum(w["origin_bytes"] for w in ws)
        peak = lambda key: max((w["peaks"].get(key, math.nan) for w in ws), default=math.nan)  # noqa: E731
        results[cache.name]["trace"] = {
            "rps": requests / elapsed, "mb_per_s": sum(w["wire_bytes"] for w in ws) / elapsed / 1e6,
            "cpu_per_10k": sum(w["cpu_s"] for w in ws) / (requests / 10000),
            "cgroup_cpu_per_10k": sum(w["cgroup_cpu_s"] for w in ws) / (requests / 10000),
            "core_busy": sum(w["cpu_s"] for w in ws) / elapsed,
            "p50": loopback.median([w["p50_ms"] for w in ws]), "p99": loopback.median([w["p99_ms"] for w in ws]),
            "object_hit_ratio": 1 - origin_requests / requests, "byte_hit_ratio": 1 - origin_bytes / viewer_bytes,
            "origin_per_viewer_byte": origin_bytes / viewer_bytes, "origin_requests": origin_requests, "origin_bytes": origin_bytes,
            "viewer_body_bytes": viewer_bytes,
            "errors": sum(w["errors_status"] + w["errors_length"] + w["errors_io"] for w in ws),
            "footprint_mib": peak("own_bytes") / MIB, "cgroup_peak_mib": max(w["cgroup_peak_bytes"] for w in ws) / MIB,
            "cgroup_shmem_mib": peak("cgroup_shmem_bytes") / MIB, "rss_mib": peak("rss_bytes") / MIB,
            "client_cpu_per_10k": sum(w["client_cpu_s"] for w in ws) / (requests / 10000),
            "new_connections": sum(w["new_connections"] for w in ws), "windows": ws,
        }


def measure_hit_row(caches, log, path, per, headers=()):
    """wrk on one cached path, the caches in turns (HIT_ROUNDS × HIT_SECONDS) after warming each: the medians of the
    windows, with CPU per `per` (hit or request) from the cache's core and its cgroup, and the windows themselves."""
    for cache in caches:
        for _ in range(3):
            loopback.get(cache.url(path), timeout=5)
        loopback.wrk(cache.url(path), 2, headers=headers)
    log.since_last()
    windows = {cache.name: [] for cache in caches}
    for _, cache in loopback.in_turns(caches, HIT_ROUNDS):
        cpu0, core0, t0 = cache.groups.cpu_seconds(), core_busy_seconds(), time.monotonic()
        w = loopback.wrk(cache.url(path), HIT_SECONDS, headers=headers)
        core, cpu, elapsed = core_busy_seconds() - core0, cache.groups.cpu_seconds() - cpu0, time.monotonic() - t0
        windows[cache.name].append({**w, f"cpu_us_per_{per}": core / w["requests"] * 1e6,
                                    f"cgroup_cpu_us_per_{per}": cpu / w["requests"] * 1e6, "core_busy": core / elapsed,
                                    "origin_requests": log.since_last(settle=0.1).get(cache.origin_port, [0, 0])[0]})
    return {name: {**{k: loopback.median([w[k] for w in ws])
                      for k in ("rps", "p50", "p99", f"cpu_us_per_{per}", f"cgroup_cpu_us_per_{per}", "core_busy")},
                   "errors": sum(w["errors"] for w in ws), "origin_requests": sum(w["origin_requests"] for w in ws), "windows": ws}
            for name, ws in windows.items()}


def measure_hits(caches, log, results):
    for size in SIZES:
        for name, row in measure_hit_row(caches, log, f"/obj/{size}", "hit").items():
            results[name][f"hit_{size}"] = row


def measure_new_connections(caches, log, results):
    """1 KiB hits, each on a connection of its own (`Connection: close`, which wrk follows by reconnecting): what a
    viewer's first request costs on top of a hit, since each NLB viewer opens its own connection to the node. The
    trace has 10 % of its requests on new connections; this row has all of them."""
    for name, row in measure_hit_row(caches, log, "/obj/1k", "request", headers=("Connection: close",)).items():
        results[name]["new_connection_1k"] = row


def measure_misses(caches, log, results):
    """New trace objects of one size, each request a miss (bench/trace-miss.lua), the caches in turns; the origin's log
    gives its requests per response (about 1 when every one was a miss)."""
    first_id = 10 ** 9 + int(time.time()) % 10 ** 6 * 1000  # a new range of IDs every run
    for label, size in MISS_SIZES:
        windows = {cache.name: [] for cache in caches}
        log.since_last()
        for _, cache in loopback.in_turns(caches, MISS_ROUNDS):
            first_id += 10 ** 7
            core0, t0 = core_busy_seconds(), time.monotonic()
            w = loopback.wrk(cache.url("/"), MISS_SECONDS, f"{HERE}/trace-miss.lua", (str(size), str(first_id)))
            core, elapsed = core_busy_seconds() - core0, time.monotonic() - t0
            windows[cache.name].append({**w, "cpu_us_per_miss": core / w["requests"] * 1e6, "core_busy": core / elapsed,
                                        "origin_requests": log.since_last(settle=0.2).get(cache.origin_port, [0, 0])[0]})
        for cache in caches:
            ws = windows[cache.name]
            results[cache.name][f"miss_{label}"] = {
                **{k: loopback.median([w[k] for w in ws]) for k in ("rps", "p99", "cpu_us_per_miss", "core_busy")},
                "errors": sum(w["errors"] for w in ws), "requests": sum(w["requests"] for w in ws),
                "origin_requests": sum(w["origin_requests"] for w in ws), "windows": ws}


def measure_herd(caches, log, results):
    """200 viewers at once, each on its own connection, for one uncached 1 MiB object the origin answers after 200 ms
    (bench/herd.js, as in the loopback mode), HERD_RUNS times each way on new URLs; origin requests from the log."""
    for cache in caches:
        herd = {"start": [], "complete": []}
        origin_requests = []
        for run in range(HERD_RUNS):
            for mode in herd:
                path = f"/slow/{cache.index}-{mode}-{run}-{int(time.time() * 1000)}/1m"
                out = subprocess.run(["node", f"{HERE}/herd.js", cache.url(path), "200", mode], capture_output=True, text=True, check=True).stdout
                herd[mode].append(json.loads(out))
                origin_requests.append(log.since_last(settle=0.3).get(cache.origin_port, [0, 0])[0])
        first = sorted(t for h in herd["start"] for t in h["firstByte"])
        last = sorted(t for h in herd["complete"] for t in h["complete"])
        runs = herd["start"] + herd["complete"]
        results[cache.name]["herd"] = {
            "origin_requests": max(origin_requests), "median_ms": first[len(first) // 2], "p99_ms": first[int(len(first) * 0.99) - 1],
            "median_complete_ms": last[len(last) // 2], "p99_complete_ms": last[int(len(last) * 0.99) - 1],
            "failed": sum(h["failed"] for h in runs)}


# --- tables ------------------------------------------------------------------------------------------------------

def metrics(budget_mib):
    """(key, label, value of a cache's results, higher is better, goal, check on (EdgeCache, best peer, ratio))."""
    t = lambda k: (lambda r: r["trace"][k])  # noqa: E731
    out = [
        ("trace.rps", "trace: requests/s", t("rps"), True, "≥ 1.0×", lambda e, b, x: x >= 1.0),
        ("trace.mb_per_s", "trace: MB/s to viewers", t("mb_per_s"), True, None, None),
        ("trace.cpu_s_per_10k", "trace: CPU s / 10k requests (the cache's core busy)", t("cpu_per_10k"), False, "≤ 1.0×", lambda e, b, x: x <= 1.0),
        ("trace.core_busy", "trace: share of its core busy (1: the cache was the limit)", t("core_busy"), False, None, None),
        ("trace.cgroup_cpu_s_per_10k", "trace: cpuacct CPU s / 10k requests (its threads, plus softirq that ran in their time)",
         t("cgroup_cpu_per_10k"), False, None, None),
        ("trace.p50_ms", "trace: p50 ms", t("p50"), False, None, None),
        ("trace.p99_ms", "trace: p99 ms", t("p99"), False, "≤ 1.2×", lambda e, b, x: x <= 1.2),
        ("trace.object_hit_ratio", "trace: object hit ratio (origin's log)", t("object_hit_ratio"), True, "highest", lambda e, b, x: e > b),
        ("trace.byte_hit_ratio", "trace: byte hit ratio (origin's log)", t("byte_hit_ratio"), True, "highest", lambda e, b, x: e > b),
        ("trace.origin_per_viewer_byte", "trace: origin bytes per viewer byte", t("origin_per_viewer_byte"), False, "lowest", lambda e, b, x: e < b),
        ("trace.origin_requests", "trace: origin requests", t("origin_requests"), False, "fewest", lambda e, b, x: e < b),
        ("trace.footprint_mib", f"trace: cache's own footprint, peak MiB (budget {budget_mib}: stored bytes / cache dir / SMA)", t("footprint_mib"), False, f"≤ {budget_mib}", lambda e, b, x: e <= budget_mib * 1.02),
        ("trace.footprint_over_budget", "trace: own footprint ÷ tier budget (> 1: over its budget, so its hit ratio had more memory)",
         lambda r: r["trace"]["footprint_mib"] / budget_mib, False, None, None),
        ("trace.cgroup_peak_mib", "trace: memory cgroup peak MiB (RSS + page cache + shmem)", t("cgroup_peak_mib"), False, None, None),
        ("trace.cgroup_shmem_mib", "trace: of which shmem (tmpfs files, memfd), peak MiB", t("cgroup_shmem_mib"), False, None, None),
        ("trace.rss_mib", "trace: resident MiB (process tree), peak", t("rss_mib"), False, None, None),
        ("trace.errors", "trace: failed or short responses", t("errors"), False, "0", lambda e, b, x: e == 0),
        ("trace.client_cpu_s_per_10k", "trace: load generator's CPU s / 10k requests", t("client_cpu_per_10k"), False, None, None),
    ]
    for size in SIZES:
        h = lambda k, s=size: (lambda r: r[f"hit_{s}"][k])  # noqa: E731
        out += [
            (f"hit_{size}.rps", f"hits {size}: requests/s", h("rps"), True, "≥ 1.0×", lambda e, b, x: x >= 1.0),
            (f"hit_{size}.cpu_us_per_hit", f"hits {size}: CPU µs per hit (the cache's core busy)", h("cpu_us_per_hit"), False, "≤ 1.0×", lambda e, b, x: x <= 1.0),
            (f"hit_{size}.core_busy", f"hits {size}: share of its core busy (1: the cache was the limit)", h("core_busy"), False, None, None),
            (f"hit_{size}.cgroup_cpu_us_per_hit", f"hits {size}: cpuacct CPU µs per hit", h("cgroup_cpu_us_per_hit"), False, None, None),
            (f"hit_{size}.p50_ms", f"hits {size}: p50 ms", h("p50"), False, None, None),
            (f"hit_{size}.p99_ms", f"hits {size}: p99 ms", h("p99"), False, "≤ 1.2×", lambda e, b, x: x <= 1.2),
            (f"hit_{size}.origin_requests", f"hits {size}: origin requests in windows", h("origin_requests"), False, "0", lambda e, b, x: e == 0),
        ]
    nc = lambda k: (lambda r: r["new_connection_1k"][k])  # noqa: E731
    out += [
        ("new_connection_1k.rps", "hits 1k, each on a new connection: requests/s", nc("rps"), True, None, None),
        ("new_connection_1k.cpu_us_per_request", "hits 1k, each on a new connection: CPU µs per request (the cache's core busy)",
         nc("cpu_us_per_request"), False, None, None),
        ("new_connection_1k.p99_ms", "hits 1k, each on a new connection: p99 ms", nc("p99"), False, None, None),
        ("new_connection_1k.errors", "hits 1k, each on a new connection: failed responses", nc("errors"), False, "0", lambda e, b, x: e == 0),
    ]
    for label, _ in MISS_SIZES:
        m = lambda k, s=label: (lambda r: r[f"miss_{s}"][k])  # noqa: E731
        out += [
            (f"miss_{label}.rps", f"misses {label}: requests/s", m("rps"), True, None, None),
            (f"miss_{label}.cpu_us_per_miss", f"misses {label}: CPU µs per miss (the cache's core busy)", m("cpu_us_per_miss"), False, None, None),
            (f"miss_{label}.origin_per_response", f"misses {label}: origin requests per response (1: every one a miss)",
             lambda r, s=label: r[f"miss_{s}"]["origin_requests"] / r[f"miss_{s}"]["requests"], False, None, None),
            (f"miss_{label}.errors", f"misses {label}: failed responses", m("errors"), False, "0", lambda e, b, x: e == 0),
        ]
    hd = lambda k: (lambda r: r["herd"][k])  # noqa: E731
    out += [
        ("herd.origin_requests", f"herd: origin requests per herd (200 viewers, 200 ms origin; the most in any of {2 * HERD_RUNS})", hd("origin_requests"), False, "exactly 1", lambda e, b, x: e == 1),
        ("herd.median_start_ms", "herd: median wait for the response to start, ms", hd("median_ms"), False, "≤ 230", lambda e, b, x: e <= 230),
        ("herd.p99_start_ms", "herd: p99 wait for the response to start, ms", hd("p99_ms"), False, None, None),
        ("herd.median_complete_ms", "herd: median time to the last byte, ms", hd("median_complete_ms"), False, None, None),
        ("herd.failed", "herd: failed responses", hd("failed"), False, "0", lambda e, b, x: e == 0),
    ]
    out.append(("startup_ms", "start-up to ready ms (one CPU)", lambda r: r["startup_ms"], False, "< 1000", lambda e, b, x: e < 1000))
    return out


def rows(results, names, reference, budget_mib):
    """Each figure for every cache, and the reference (EdgeCache) over the best of the others."""
    out = []
    others = [n for n in names if n != reference]
    for key, label, fn, higher, goal, check in metrics(budget_mib):
        values = {}
        for n in names:
            try:
                values[n] = fn(results[n])
            except KeyError:
                values[n] = math.nan
        known = [values[p] for p in others if not math.isnan(values[p])]
        best = (max if higher else min)(known) if known else math.nan
        ratio = values[reference] / best if best else math.nan
        out.append({"key": key, "metric": label, "values": values, "ratio": ratio, "goal": goal,
                    "met": None if check is None or math.isnan(best) else bool(check(values[reference], best, ratio))})
    return out


def fmt(key, v):
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "nan"
    if "ratio" in key and "origin" not in key or key.endswith(("per_viewer_byte", "over_budget", "per_response")):
        return f"{v:.3f}"
    if key.endswith(("p50_ms", "p99_ms", "cpu_s_per_10k", "mb_per_s", "core_busy")):
        return f"{v:.2f}"
    return f"{v:.0f}" if abs(v) >= 10 or v == int(v) else f"{v:.1f}"


def render(heading, table_rows, names, ratio_label):
    lines = [f"### {heading}", "", "| metric | " + " | ".join(names) + f" | {ratio_label} | goal | met |",
             "|---|" + "---:|" * (len(names) + 1) + "---|---|"]
    for r in table_rows:
        met = "" if r["met"] is None else ("yes" if r["met"] else "**no**")
        ratio = "nan" if r["ratio"] is None or math.isnan(r["ratio"]) else f"{r['ratio']:.2f}×"
        lines.append(f"| {r['metric']} | " + " | ".join(fmt(r["key"], r["values"][n]) for n in names) + f" | {ratio} | {r['goal'] or ''} | {met} |")
    return "\n".join(lines) + "\n"


def render_fastpath(heading, results, names):
    """One row per variant: each figure and its ratio to the default build."""
    keys = [("trace", "rps", "trace req/s", True), ("trace", "cpu_per_10k", "trace CPU s/10k", False), ("trace", "p99", "trace p99 ms", False),
            ("trace", "byte_hit_ratio", "byte hit ratio", True)]
    for size in SIZES:
        keys += [(f"hit_{size}", "rps", f"{size} req/s", True), (f"hit_{size}", "cpu_us_per_hit", f"{size} CPU µs/hit", False),
                 (f"hit_{size}", "p99", f"{size} p99 ms", False)]
    keys.append(("new_connection_1k", "cpu_us_per_request", "1k on a new connection, CPU µs", False))
    if any(f"miss_{label}" in r for r in results.values() for label, _ in MISS_SIZES):
        keys += [(f"miss_{label}", "cpu_us_per_miss", f"{label} miss CPU µs", False) for label, _ in MISS_SIZES]
    lines = [f"### {heading}", "", "Each cell: the variant's figure (its ratio to the default build).", "",
             "| variant | " + " | ".join(k[2] for k in keys) + " |", "|---|" + "---:|" * len(keys)]
    base = results[names[0]]
    for n in names:
        cells = []
        for part, key, _, _ in keys:
            v = results[n].get(part, {}).get(key, math.nan)
            b = base.get(part, {}).get(key, math.nan)
            if not b or math.isnan(v):
                cells.append("nan")
            else:
                cells.append((f"{v:.0f}" if v >= 100 else f"{v:.3g}") + f" ({v / b:.2f}×)")
        lines.append(f"| {n} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def ns_facts():
    """MTU of the viewer veth and the congestion control, read in this (the client's) namespace."""
    link = subprocess.run(["ip", "-o", "link", "show", "dev", "ecbd-c0"], capture_output=True, text=True).stdout
    m = re.search(r"mtu (\d+)", link)
    return {"viewer_mtu": int(m.group(1)) if m else None,
            "congestion_control": loopback.read_text("/proc/sys/net/ipv4/tcp_congestion_control"),
            "receive_steering": os.environ.get("BENCH_RPS", "1") != "0"}


def heading_text(facts):
    m, t = facts["machine"], facts["trace"]
    limits = facts["limits"]
    return (f"{facts['finished_utc']} — {facts['mode']}: {m['kernel']}, {m['cores']} cores, load "
            f"{' '.join(f'{x:.2f}' for x in m['load_at_end'])} at the end; each cache: {limits['cpu']}, affinity core "
            f"{limits['cache_cpu']}; EdgeCache memory.limit_in_bytes {limits['edge_memory_limit_mib']} MiB with the image's runtime settings and the pod's GC settings"
            + (", peers' unlimited (measured)" if facts["mode"] == "deployed shape" else "")
            + f"; load generator and origin on the other core; veth MTU {m['viewer_mtu']}, "
            + ("each side's receive work on its own core (RPS), " if m.get("receive_steering") else "receive work on the sender's core (no RPS), ")
            + "TCP "
            f"{m['congestion_control']} in every namespace; tier {facts['tier_mib']} MiB each; trace {t['objects']} objects "
            f"({t['catalogue_bytes'] / MIB:.0f} MiB), Zipf α {t['zipf_alpha']}, {t['close_share']:.0%} of requests on new connections, "
            f"seed {t['seed']}: {facts['method']['trace_warm']} warming + {facts['method']['trace_rounds']} × "
            f"{facts['method']['trace_segment']} measured requests per cache, {TRACE_CONNECTIONS} connections; hits wrk -t1 -c32, "
            f"{facts['method']['hit_rounds']} × {facts['method']['hit_seconds']} s in turns, medians"
            + "".join(f"; {v}" for v in facts["peers"].values() if v)
            + (f"; EdgeCache build {facts['edgecache_build']}" if facts.get("edgecache_build") else "")
            + "".join(f"; **{n}**" for n in facts.get("notes", [])))


def main(mode):
    os.makedirs(WORK, exist_ok=True)
    trace_requests = TRACE_WARM + TRACE_ROUNDS * TRACE_SEGMENT
    trace_file = f"{WORK}/trace-{SEED}-{CATALOGUE_BYTES}-{ZIPF_ALPHA}-{CLOSE_SHARE}-{trace_requests}.txt"
    if not os.path.exists(trace_file + ".json"):
        print("writing the trace ...", flush=True)
        subprocess.run([sys.executable, f"{HERE}/cdntrace.py", trace_file, "--catalogue-bytes", str(CATALOGUE_BYTES),
                        "--requests", str(trace_requests), "--alpha", str(ZIPF_ALPHA), "--close-share", str(CLOSE_SHARE),
                        "--seed", str(SEED)], check=True, stdout=subprocess.DEVNULL)
    with open(trace_file + ".json") as f:
        trace_summary = json.load(f)
    if mode == "deployed":
        caches_spec = [("EdgeCache", "edgecache", {}), ("nginx", "nginx", {}), ("Varnish", "varnish", {})]
    else:
        # BENCH_VARIANTS="default,sendFile off": only those, for a longer A/B of one part (with more TRACE_ROUNDS).
        wanted = [v.strip() for v in os.environ.get("BENCH_VARIANTS", "").split(",") if v.strip()]
        unknown = set(wanted) - {name for name, _ in FASTPATH_VARIANTS}
        if unknown:
            raise SystemExit(f"BENCH_VARIANTS: no variant named {', '.join(sorted(unknown))}")
        caches_spec = [(name, "edgecache", env) for name, env in FASTPATH_VARIANTS if not wanted or name in wanted]
        # BENCH_EXTRA_VARIANTS="pgo off:DOTNET_TieredPGO=0;…": variants of the node's environment beside them.
        for spec in filter(None, (v.strip() for v in os.environ.get("BENCH_EXTRA_VARIANTS", "").split(";"))):
            name, _, assignments = spec.partition(":")
            env = dict(a.split("=", 1) for a in assignments.split(",") if "=" in a)
            if not name or not env:
                raise SystemExit(f"BENCH_EXTRA_VARIANTS: '{spec}' is not NAME:VAR=VALUE[,VAR=VALUE]")
            caches_spec.append((name.strip(), "edgecache", env))
    log_path = f"{WORK}/origin.log"
    if os.path.exists(log_path):
        os.remove(log_path)
    caches = []
    origin = None
    results = {}
    try:
        ports = ",".join(str(18001 + i) for i in range(len(caches_spec)))
        origin = subprocess.Popen(["nsenter", f"--net=/var/run/netns/{NS_ORIGIN}", "node", f"{HERE}/origin.js", ports, ORIGIN_IP, log_path],
                                  start_new_session=True)
        for _ in range(200):
            if loopback.get(f"http://{ORIGIN_IP}:18001/count")[0] == 200:
                break
            time.sleep(0.05)
        else:
            raise SystemExit("the origin did not start")
        log = OriginLog(log_path)
        for i, (name, kind, env) in enumerate(caches_spec):
            cache = Cache(name, kind, i, env)
            caches.append(cache)
            print(f"starting {name} ...", flush=True)
            results[name] = {"startup_ms": cache.start()}
        measure_trace(caches, trace_file, log, results)
        print("fixed-size hits ...", flush=True)
        measure_hits(caches, log, results)
        print("1 KiB hits on new connections ...", flush=True)
        measure_new_connections(caches, log, results)
        if mode == "deployed" or FASTPATH_MISSES:
            print("misses by size ...", flush=True)
            measure_misses(caches, log, results)
        if mode == "deployed":
            print("herd ...", flush=True)
            measure_herd(caches, log, results)
        for cache in caches:
            results[cache.name]["footprint_at_end"] = cache.footprint()
    finally:
        for cache in caches:
            cache.stop()
        if origin:
            os.killpg(origin.pid, signal.SIGTERM)
            origin.wait(10)
    finished = datetime.now(timezone.utc)
    names = [c.name for c in caches]
    versions = subprocess.run("nginx -v 2>&1; varnishd -V 2>&1 | head -1; wrk -v 2>&1 | head -1", shell=True, capture_output=True, text=True).stdout.splitlines()
    facts = {
        "format": 1, "mode": "deployed shape" if mode == "deployed" else "deployed shape, EdgeCache fast path per part",
        "finished_utc": finished.strftime("%Y-%m-%d %H:%M UTC"),
        "machine": {"kernel": f"{os.uname().sysname} {os.uname().release}", "cores": os.cpu_count(),
                    "load_at_end": [float(x) for x in loopback.read_text("/proc/loadavg").split()[:3]], **ns_facts()},
        "limits": {"cpu": caches[0].groups.quota, "cache_cpu": CACHE_CPU, "edge_memory_limit_mib": EDGE_MEMORY_LIMIT // MIB,
                   "edge_runtime_env": edge_env(EDGE_MEMORY_LIMIT, 1000, EDGE_TIER_BYTES)},
        "tier_mib": TIER_BYTES // MIB, "nginx_max_size_mib": NGINX_MAX_SIZE // MIB, "trace": trace_summary,
        "method": {"trace_warm": TRACE_WARM, "trace_segment": TRACE_SEGMENT, "trace_rounds": TRACE_ROUNDS,
                   "trace_connections": TRACE_CONNECTIONS, "hit_seconds": HIT_SECONDS, "hit_rounds": HIT_ROUNDS,
                   "miss_seconds": MISS_SECONDS, "miss_rounds": MISS_ROUNDS},
        "peers": {name: next((v.strip() for v in versions if v.strip().startswith(prefix)), None)
                  for name, prefix in (("nginx", "nginx"), ("varnish", "varnishd"), ("wrk", "wrk"))},
        "edgecache_build": loopback.git_build(),
        "variants": {name: env for name, _, env in caches_spec},
        "notes": [],
    }
    if EDGE_TIER_BYTES != TIER_BYTES:
        facts["edge_tier_mib"] = EDGE_TIER_BYTES // MIB
        facts["notes"].append(f"EdgeCache's tier {EDGE_TIER_BYTES // MIB} MiB, not the others' {TIER_BYTES // MIB}")
    if NGINX_MAX_SIZE != TIER_BYTES and mode == "deployed":
        facts["notes"].append(f"nginx max_size {NGINX_MAX_SIZE // MIB} MiB, not the tier")
    if NGINX_MANAGER_FILES and mode == "deployed":
        facts["notes"].append(f"nginx manager_files={NGINX_MANAGER_FILES}")
    overrides = sorted(k for k in os.environ if k.startswith("EDGECACHE_"))
    if overrides:
        facts["notes"].append("EdgeCache not as shipped: " + ", ".join(f"{k}={os.environ[k]}" for k in overrides))
    table_rows = rows(results, names, names[0], TIER_BYTES // MIB)
    heading = heading_text(facts)
    run = {**facts, "heading": heading, "names": names, "rows": table_rows, "results": results}
    print_run(run)
    os.makedirs(f"{HERE}/results", exist_ok=True)
    path = f"{HERE}/results/{finished:%Y-%m-%dT%H%M}Z-{'deployed' if mode == 'deployed' else 'fastpath'}.json"
    with open(path, "w") as f:
        f.write(loopback.run_json(run))
    print(f"written to {os.path.relpath(path)}")


def print_run(run):
    names = run["names"]
    if run["mode"] == "deployed shape":
        print(render(run["heading"], run["rows"], names, "EdgeCache / best peer"))
        for r in run["rows"]:
            if r["key"] == "trace.footprint_mib":
                over = [f"{n} {v / run['tier_mib']:.2f}× its budget" for n, v in r["values"].items() if v and v > run["tier_mib"] * 1.02]
                if over:
                    print("Over budget during the trace: " + ", ".join(over) + ". Hit ratios are compared at these footprints.\n")
        for n in names:
            end = run["results"][n].get("footprint_at_end", {})
            detail = ", ".join(f"{k} {v:.0f}" for k, v in end.items() if isinstance(v, (int, float)) and v == v)
            print(f"- {n} at the end: {detail}")
        print()
    else:
        print(render_fastpath(run["heading"], run["results"], names))


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--table":
        with open(sys.argv[2]) as f:
            print_run(json.load(f))
    elif len(sys.argv) == 2 and sys.argv[1] in ("deployed", "fastpath"):
        # Stopped by SIGTERM, still stop the caches and the origin (main's finally) before deployed.sh removes the rest.
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
        main(sys.argv[1])
    else:
        raise SystemExit(__doc__)

#!/usr/bin/env python3
"""Side-by-side benchmark: EdgeCache vs nginx proxy_cache vs Varnish, same origin, same machine, same run.

Run through bench/run.sh (it installs the peers and publishes EdgeCache). Everything binds to 127.0.0.1. Prints one
Markdown table and writes the run, its heading facts and every figure, to bench/results/<UTC time>.json.

    python3 bench/bench.py --table bench/results/2026-12-05T1401Z.json   # the Markdown table of a stored run
"""
import json, math, os, re, resource, shutil, signal, subprocess, sys, threading, time, urllib.request
from datetime import datetime, timezone

HERE = os.path.dirname(os.path.abspath(__file__))
WORK = "/var/tmp/edgecache-bench"
ORIGIN_PORT, EDGE_PORT, EDGE_ADMIN, NGINX_PORT, VARNISH_PORT = 18000, 18080, 19090, 18081, 18082
MEMORY_TIER = 512 * 1024 * 1024
HIT_SECONDS = int(os.environ.get("HIT_SECONDS", "3"))
# Hit windows run in rounds, the caches taking turns within each round (the order rotates), and each figure is the
# median over the rounds. A shared machine's large-object speed can change phase every few minutes for every cache
# alike (docs/decisions/0010-benchmark-method.md); one long window per cache in turn let a phase change decide a ratio.
HIT_ROUNDS = int(os.environ.get("HIT_ROUNDS", "5"))
MISS_SECONDS = int(os.environ.get("MISS_SECONDS", "6"))
MISS_WARM_SECONDS = int(os.environ.get("MISS_WARM_SECONDS", "8"))
# After the cold and warm-up windows, the measured miss windows take turns like the hit windows.
MISS_ROUNDS = int(os.environ.get("MISS_ROUNDS", "3"))
MISS_ROUND_SECONDS = int(os.environ.get("MISS_ROUND_SECONDS", "3"))
HERD_RUNS = int(os.environ.get("HERD_RUNS", "5"))
SIZES = ["1k", "128k", "1m"]
# EdgeCache runs as run.sh documents (server GC). EDGE_GC_SERVER=0 and any EDGECACHE_* variable in the environment (the
# node's own config overrides) are for A/B runs; the run's heading names them, so such a run is never read as the default.
EDGE_GC_SERVER = os.environ.get("EDGE_GC_SERVER", "1")
OVERRIDES = sorted(f"{k}={v}" for k, v in os.environ.items() if k.startswith("EDGECACHE_")) + (
    [f"DOTNET_gcServer={EDGE_GC_SERVER}"] if EDGE_GC_SERVER != "1" else [])
CLK_TCK = os.sysconf("SC_CLK_TCK")


def get(url, timeout=2.0):
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.read(), dict(r.headers)
    except Exception:
        return None, b"", {}


def tree(pid):
    """pid and all its descendants."""
    parents = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                parents.setdefault(int(fields[1]), []).append(int(entry))
            except OSError:
                pass
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(parents.get(p, []))
    return out


def cpu_seconds(pid):
    total = 0
    for p in tree(pid):
        try:
            with open(f"/proc/{p}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime + stime (fields 14 and 15 of stat)
        except OSError:
            pass
    return total / CLK_TCK


def rss_mib(pid):
    total = 0
    for p in tree(pid):
        try:
            with open(f"/proc/{p}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024


def zero_windows():
    """The kernel's count of zero receive windows advertised (TcpExt TCPToZeroWindowAdv), every socket of the machine."""
    with open("/proc/net/netstat") as f:
        lines = [line.split() for line in f if line.startswith("TcpExt:")]
    return int(dict(zip(lines[0][1:], lines[1][1:])).get("TCPToZeroWindowAdv", 0))


def bbr_startup_connections(port):
    """How many of the connections to a cache's port are in BBR's start-up phase (pacing gain 2.89, the other phases
    are at most 1.25): on loopback its initial pacing rate is far above what the link carries, so their sends are not
    paced, where the others' wait on a pacing timer (docs/decisions/0018-bbr-pacing-and-body-alignment.md). NaN when
    the machine does not run BBR."""
    try:
        out = subprocess.run(["ss", "-tin", "state", "established", f"( sport = :{port} )"],
                             capture_output=True, text=True, timeout=5).stdout
    except (OSError, subprocess.SubprocessError):
        return math.nan
    gains = [float(g) for g in re.findall(r"pacing_gain:([\d.]+)", out)]
    return sum(1 for g in gains if g > 2) if gains else math.nan


def origin_count(path=None):
    _, body, _ = get(f"http://127.0.0.1:{ORIGIN_PORT}/count")
    data = json.loads(body)
    return data["byPath"].get(path, 0) if path else data["count"]


def wrk(url, seconds, script=None, args=(), headers=()):
    cmd = (["wrk", "-t1", "-c32", f"-d{seconds}s", "--latency"] + [x for h in headers for x in ("-H", h)]
           + (["-s", script] if script else []) + [url] + (["--", *args] if args else []))
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    def latency(pct):
        m = re.search(rf"^\s+{pct}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        value, unit = float(m.group(1)), m.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "p50": latency(50), "p99": latency(99), "requests": requests,
        "errors": int(errors.group(1)) if errors else 0,
        # wrk's own CPU (it is the only child waited for meanwhile): on loopback the kernel runs part of each TCP
        # exchange on whichever end's clock is current, so this shows work moving between the cache and the client.
        "client_cpu": (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime),
    }


def wait_ready(proc, ready_url, name, log, t0, poll):
    """Milliseconds from t0 until ready_url answers 200; exits the run if the process dies or 30 s pass."""
    while time.perf_counter() - t0 < 30:
        if get(ready_url, timeout=0.5)[0] == 200:
            return (time.perf_counter() - t0) * 1000
        if proc.poll() is not None:
            raise SystemExit(f"{name} exited at start; see {log}")
        time.sleep(poll)
    raise SystemExit(f"{name} not ready in 30 s; see {log}")


def stop_session(proc):
    """SIGTERM to the process's session (a master and its workers), SIGKILL after 10 s."""
    if proc and proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)


class Cache:
    def __init__(self, name, port, argv, ready_url, env=None):
        self.name, self.port, self.argv, self.ready_url, self.env = name, port, argv, ready_url, env
        self.proc = None

    def start(self):
        t0 = time.perf_counter()
        self.proc = subprocess.Popen(self.argv, stdout=subprocess.DEVNULL, stderr=open(f"{WORK}/{self.name}.log", "w"),
                                     env={**os.environ, **(self.env or {})}, start_new_session=True)
        return wait_ready(self.proc, self.ready_url, self.name, f"{WORK}/{self.name}.log", t0, poll=0.005)

    def stop(self):
        stop_session(self.proc)

    def url(self, path):
        return f"http://127.0.0.1:{self.port}{path}"


def write_configs():
    os.makedirs(WORK, exist_ok=True)
    with open(f"{WORK}/edgecache.json", "w") as f:
        json.dump({
            "listen": {"address": "127.0.0.1", "viewerPort": EDGE_PORT, "adminPort": EDGE_ADMIN},
            "accessLog": {"enabled": False},
            "readiness": {"requireOrigins": False},
            "cache": {"memoryBytes": MEMORY_TIER, "maxObjectBytes": 16 * 1024 * 1024},
            "origins": [{"id": "origin", "type": "http", "url": f"http://127.0.0.1:{ORIGIN_PORT}"}],
            "behaviors": [{"pathPattern": "*", "origin": "origin", "defaultTtlSeconds": 3600}],
        }, f)
    shutil.rmtree("/dev/shm/edgecache-bench-nginx", ignore_errors=True)
    os.makedirs("/dev/shm/edgecache-bench-nginx")
    shutil.chown("/dev/shm/edgecache-bench-nginx", "www-data", "www-data")
    with open(f"{HERE}/nginx.conf") as f:
        conf = f.read().replace("@WORK@", WORK).replace("@PORT@", str(NGINX_PORT)).replace("@ORIGIN@", str(ORIGIN_PORT))
    with open(f"{WORK}/nginx.conf", "w") as f:
        f.write(conf)
    with open(f"{HERE}/varnish.vcl") as f:
        vcl = f.read().replace("@ORIGIN@", str(ORIGIN_PORT))
    with open(f"{WORK}/varnish.vcl", "w") as f:
        f.write(vcl)


def median(values):
    """The median of the known values (NaN, a figure a window could not take, is left out); NaN if none is known."""
    ordered = sorted(v for v in values if not math.isnan(v))
    if not ordered:
        return math.nan
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def in_turns(caches, rounds):
    """(round, cache) for each window: every cache once per round, the order rotating from round to round."""
    for round_ in range(rounds):
        for cache in caches[round_ % len(caches):] + caches[:round_ % len(caches)]:
            yield round_, cache


def hit_window(cache, path):
    before_origin, before_cpu, before_zero = origin_count(), cpu_seconds(cache.proc.pid), zero_windows()
    # Half-way through, while wrk's connections are open: which of them BBR paces.
    startup = {}
    probe = threading.Timer(HIT_SECONDS / 2, lambda: startup.update(count=bbr_startup_connections(cache.port)))
    probe.start()
    w = wrk(cache.url(path), HIT_SECONDS)
    probe.join()
    cpu = cpu_seconds(cache.proc.pid) - before_cpu
    zero = zero_windows() - before_zero
    return {**w, "cpu_per_10k": cpu / (w["requests"] / 10000), "client_cpu_per_10k": w["client_cpu"] / (w["requests"] / 10000),
            "zero_windows_per_1k": zero / (w["requests"] / 1000), "bbr_startup": startup.get("count", math.nan),
            "rss_mib": rss_mib(cache.proc.pid),
            "origin_requests": origin_count() - before_origin}


def measure_hits(caches, results):
    """Every cache is running; for each size the caches take turns, HIT_ROUNDS windows each."""
    for size in SIZES:
        path = f"/obj/{size}"
        for cache in caches:
            for _ in range(3):
                get(cache.url(path), timeout=5)
            wrk(cache.url(path), 2)  # warm the connection pools and the JIT
        windows = {cache.name: [] for cache in caches}
        for _, cache in in_turns(caches, HIT_ROUNDS):
            windows[cache.name].append(hit_window(cache, path))
        for cache in caches:
            ws = windows[cache.name]
            results[cache.name][f"hit_{size}"] = {
                **{k: median(w[k] for w in ws) for k in ("rps", "p50", "p99", "cpu_per_10k", "client_cpu_per_10k", "zero_windows_per_1k", "bbr_startup")},
                "rss_mib": max(w["rss_mib"] for w in ws), "origin_requests": sum(w["origin_requests"] for w in ws),
                "errors": sum(w["errors"] for w in ws), "windows": ws}


def measure_herd(cache, result):
    # Two kinds of herd on new URLs: one for when each viewer's response started, one for its last byte (herd.js says
    # why). Each HERD_RUNS times on new URLs, the viewers' times pooled: one herd's median moves by ±30 ms from run to
    # run on 2 cores shared with the client and the origin, more than the differences being measured.
    herd = {"start": [], "complete": []}
    for run in range(HERD_RUNS):
        for mode in herd:
            herd_path = f"/slow/{cache.name}-{mode}-{run}-{int(time.time() * 1000)}/1m"
            out = subprocess.run(["node", f"{HERE}/herd.js", cache.url(herd_path), "200", mode], capture_output=True, text=True, check=True).stdout
            herd[mode].append({**json.loads(out), "origin_requests": origin_count(herd_path)})
    first = sorted(t for h in herd["start"] for t in h["firstByte"])
    last = sorted(t for h in herd["complete"] for t in h["complete"])
    runs = herd["start"] + herd["complete"]
    result["herd"] = {"origin_requests": max(h["origin_requests"] for h in runs), "median_ms": first[len(first) // 2],
                      "p99_ms": first[int(len(first) * 0.99) - 1], "median_complete_ms": last[len(last) // 2],
                      "p99_complete_ms": last[int(len(last) * 0.99) - 1], "failed": sum(h["failed"] for h in runs)}


def measure_misses(caches, results):
    """The miss path as for hits: measured after warming, the caches taking turns for the measured windows."""
    def miss(cache, seconds, run):
        return wrk(cache.url("/"), seconds, script=f"{HERE}/miss.lua", args=[f"{cache.name}-{run}-{int(time.time() * 1000)}"])
    # The first window is kept as its own row: EdgeCache's JIT tiers the miss path up over its first seconds of traffic
    # (nginx and Varnish are native code).
    for cache in caches:
        results[cache.name]["miss_cold"] = miss(cache, MISS_SECONDS, "cold")
    for cache in caches:
        miss(cache, MISS_WARM_SECONDS, "warm-up")
    windows = {cache.name: [] for cache in caches}
    for round_, cache in in_turns(caches, MISS_ROUNDS):
        windows[cache.name].append(miss(cache, MISS_ROUND_SECONDS, f"measured-{round_}"))
    for cache in caches:
        ws = windows[cache.name]
        results[cache.name]["miss"] = {**{k: median(w[k] for w in ws) for k in ("rps", "p50", "p99")}, "windows": ws}


CACHES, PEERS = ["edgecache", "nginx", "varnish"], ["nginx", "varnish"]


# Each figure of the table: a stable key (the JSON's), its label, how to read it from a cache's results, whether higher
# is better, the goal and its check on (EdgeCache, best peer, ratio).
def metrics():
    out = []

    def add(key, label, fn, higher, goal=None, check=None):
        out.append((key, label, fn, higher, goal, check))

    for size in SIZES:
        hit = f"hit_{size}"
        add(f"{hit}.rps", f"hits {size}: requests/s", lambda r, h=hit: r[h]["rps"], True, "≥ 1.0×", lambda e, b, x: x >= 1.0)
        add(f"{hit}.p50_ms", f"hits {size}: p50 ms", lambda r, h=hit: r[h]["p50"], False)
        add(f"{hit}.p99_ms", f"hits {size}: p99 ms", lambda r, h=hit: r[h]["p99"], False, "≤ 1.2×", lambda e, b, x: x <= 1.2)
        add(f"{hit}.cpu_s_per_10k", f"hits {size}: CPU s / 10k req", lambda r, h=hit: r[h]["cpu_per_10k"], False, "≤ 1.0×", lambda e, b, x: x <= 1.0)
        add(f"{hit}.client_cpu_s_per_10k", f"hits {size}: wrk's CPU s / 10k req (the client's end of loopback)", lambda r, h=hit: r[h]["client_cpu_per_10k"], False)
        add(f"{hit}.zero_windows_per_1k", f"hits {size}: wrk's receive window closed, per 1,000 hits", lambda r, h=hit: r[h]["zero_windows_per_1k"], False)
        add(f"{hit}.bbr_startup_connections", f"hits {size}: of wrk's 32 connections, in BBR's start-up phase (hardly paced)", lambda r, h=hit: r[h]["bbr_startup"], False)
        add(f"{hit}.rss_mib", f"hits {size}: resident MiB", lambda r, h=hit: r[h]["rss_mib"], False,
            f"≤ {MEMORY_TIER // 2**20 + 100} MiB", lambda e, b, x: e <= MEMORY_TIER / 2**20 + 100)
        add(f"{hit}.origin_requests", f"hits {size}: origin requests in window", lambda r, h=hit: r[h]["origin_requests"], False, "0", lambda e, b, x: e == 0)
    add("herd.origin_requests", f"herd: origin requests per herd (200 viewers, 200 ms origin; the most in any of {2 * HERD_RUNS})", lambda r: r["herd"]["origin_requests"], False, "exactly 1", lambda e, b, x: e == 1)
    add("herd.median_start_ms", f"herd: median wait for the response to start, ms ({HERD_RUNS} herds pooled)", lambda r: r["herd"]["median_ms"], False, "≤ 230", lambda e, b, x: e <= 230)
    add("herd.p99_start_ms", "herd: p99 wait for the response to start, ms", lambda r: r["herd"]["p99_ms"], False)
    add("herd.median_complete_ms", "herd: median time to the last byte, ms", lambda r: r["herd"]["median_complete_ms"], False)
    add("herd.p99_complete_ms", "herd: p99 time to the last byte, ms", lambda r: r["herd"]["p99_complete_ms"], False)
    add("herd.failed", "herd: failed responses", lambda r: r["herd"]["failed"], False, "0", lambda e, b, x: e == 0)
    add("miss.rps", "miss path: requests/s (after warming)", lambda r: r["miss"]["rps"], True, "≥ 0.9×", lambda e, b, x: x >= 0.9)
    add("miss_cold.rps", "miss path: requests/s, first window (cold)", lambda r: r["miss_cold"]["rps"], True)
    add("miss.p99_ms", "miss path: p99 ms (after warming; no goal)", lambda r: r["miss"]["p99"], False)
    add("startup_ms", "start-up to ready ms", lambda r: r["startup_ms"], False, "< 1000", lambda e, b, x: e < 1000)
    return out


def rows(results):
    """The table as data: per figure, each cache's value, EdgeCache over the better peer, the goal and whether it is met."""
    out = []
    for key, label, fn, higher, goal, check in metrics():
        values = {c: fn(results[c]) for c in CACHES}
        best = (max if higher else min)(values[p] for p in PEERS)
        ratio = values["edgecache"] / best if best else math.nan
        out.append({"key": key, "metric": label, **{c: values[c] for c in CACHES}, "ratio": ratio, "goal": goal,
                    "met": None if check is None else bool(check(values["edgecache"], best, ratio))})
    return out


def number_format(key):
    """How a figure is printed, from its key: times in ms to two places, CPU seconds to three, counts and rates whole."""
    if key.endswith(("p50_ms", "p99_ms")) and not key.startswith("herd."):
        return "{:.2f}"
    if "cpu_s_per_10k" in key:
        return "{:.3f}"
    return "{:.0f}"


def render_table(heading, table_rows):
    """The Markdown table of a run, from its rows (a run just measured, or one read back from bench/results/)."""
    def cell(value, fmt):
        return "nan" if value is None or (isinstance(value, float) and math.isnan(value)) else fmt.format(value)

    lines = []
    for r in table_rows:
        fmt = number_format(r["key"])
        met = "" if r["met"] is None else ("yes" if r["met"] else "**no**")
        lines.append(f"| {r['metric']} | " + " | ".join(cell(r[c], fmt) for c in CACHES)
                     + f" | {cell(r['ratio'], '{:.2f}')}× | {r['goal'] or ''} | {met} |")
    header = ("| metric | EdgeCache | nginx | Varnish | EdgeCache / best peer | goal | met |\n"
              "|---|---:|---:|---:|---:|---|---|")
    return f"### {heading}\n\n{header}\n" + "\n".join(lines) + "\n"


def read_text(path):
    with open(path) as f:
        return f.read().strip()


def git_build():
    """The commit EdgeCache was published from, with '+changes' when the tree had uncommitted edits; None outside git."""
    def git(*args):
        return subprocess.run(["git", "-c", f"safe.directory={os.path.dirname(HERE)}", "-C", os.path.dirname(HERE), *args],
                              capture_output=True, text=True, timeout=10)
    try:
        head = git("rev-parse", "HEAD")
        if head.returncode != 0:
            return None
        dirty = git("status", "--porcelain", "--untracked-files=no", "--", "edge-image").stdout.strip()
        return head.stdout.strip() + ("+changes" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return None


def run_facts(finished):
    """The heading facts of a run: the machine, the peers' versions, the method and what differs from the shipped build."""
    versions = subprocess.run("nginx -v 2>&1; varnishd -V 2>&1 | head -1; wrk -v 2>&1 | head -1", shell=True, capture_output=True, text=True).stdout
    versions = [v.strip() for v in versions.splitlines() if v.strip()]
    peers = {name: next((v for v in versions if v.startswith(prefix)), None)
             for name, prefix in (("nginx", "nginx"), ("varnish", "varnishd"), ("wrk", "wrk"))}
    return {
        "finished_utc": finished.strftime("%Y-%m-%dT%H:%MZ"),
        "machine": {
            "kernel": f"{os.uname().sysname} {os.uname().release}", "cores": os.cpu_count(),
            "load_at_end": [float(x) for x in read_text("/proc/loadavg").split()[:3]],
            # The congestion control decides whether the kernel paces each socket with its own timers on loopback (BBR
            # does, at a rate it estimates per connection), which moves CPU per hit: part of the machine.
            "congestion_control": read_text("/proc/sys/net/ipv4/tcp_congestion_control"),
            # And loopback's MTU decides how TCP cuts segments: 64 KiB ones by default, ~1.4 KB on an Ethernet link
            # (run.sh's BENCH_MTU; docs/decisions/0018-bbr-pacing-and-body-alignment.md).
            "loopback_mtu": int(read_text("/sys/class/net/lo/mtu")),
            "network_namespace": bool(os.environ.get("BENCH_MTU")),
        },
        "peers": peers,
        "method": {
            "text": f"hits: wrk -t1 -c32, {HIT_ROUNDS} rounds of {HIT_SECONDS} s per cache and size, misses {MISS_ROUNDS} of"
                    f" {MISS_ROUND_SECONDS} s after warming, caches in turn, medians",
            "hit_rounds": HIT_ROUNDS, "hit_seconds": HIT_SECONDS, "miss_seconds": MISS_SECONDS,
            "miss_warm_seconds": MISS_WARM_SECONDS, "miss_rounds": MISS_ROUNDS, "miss_round_seconds": MISS_ROUND_SECONDS,
            "herd_runs": HERD_RUNS, "memory_tier_bytes": MEMORY_TIER,
        },
        "edgecache": {"as_shipped": not OVERRIDES, "overrides": OVERRIDES, "build": git_build()},
        "notes": [],
    }


def heading_text(facts):
    """The one-line heading printed above a run's table."""
    m, e = facts["machine"], facts["edgecache"]
    finished = datetime.strptime(facts["finished_utc"], "%Y-%m-%dT%H:%MZ")
    return (f"{finished:%Y-%m-%d %H:%M} UTC — {m['kernel']}, {m['cores']} cores, load {' '.join(f'{x:.2f}' for x in m['load_at_end'])}"
            f" at the end, TCP congestion control {m['congestion_control']}, loopback MTU {m['loopback_mtu']}"
            + (" (a private network namespace, `BENCH_MTU`)" if m["network_namespace"] else "")
            + "".join(f"; {v}" for v in facts["peers"].values() if v) + f"; {facts['method']['text']}"
            + (f"; **EdgeCache not as shipped: {', '.join(e['overrides'])}**" if e["overrides"] else "")
            + "".join(f"; **{note}**" for note in facts["notes"]))


def json_safe(value):
    """NaN (a figure a window could not take) becomes null, so the file is strict JSON."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value


def write_run(directory, facts, table_rows, results=None):
    """One file per run, named by the UTC minute it finished (a suffix if that name is taken); returns its path."""
    os.makedirs(directory, exist_ok=True)
    finished = datetime.strptime(facts["finished_utc"], "%Y-%m-%dT%H:%MZ")
    stem = f"{directory}/{finished:%Y-%m-%dT%H%M}Z"
    path, n = f"{stem}.json", 1
    while os.path.exists(path):
        n += 1
        path = f"{stem}-{n}.json"
    run = {"format": 1, **facts, "heading": heading_text(facts), "rows": table_rows}
    if results is not None:
        run["results"] = results  # every cache's figures, each window's included, as measured
    with open(path, "w") as f:
        f.write(run_json(run))
    return path


def run_json(run):
    """A run as strict JSON, one table row (and one cache's results) per line, so runs read and diff line by line."""
    def one(value):
        return json.dumps(value, ensure_ascii=False, allow_nan=False)

    run = json_safe(run)
    fields = []
    for key, value in run.items():
        if key == "rows":
            body = ",\n".join(f"  {one(r)}" for r in value)
            fields.append(f' "rows": [\n{body}\n ]')
        elif key == "results":
            body = ",\n".join(f"  {one(c)}: {one(v)}" for c, v in value.items())
            fields.append(f' "results": {{\n{body}\n }}')
        else:
            fields.append(f" {one(key)}: {one(value)}")
    return "{\n" + ",\n".join(fields) + "\n}\n"


def print_stored_table(path):
    with open(path) as f:
        run = json.load(f)
    print(render_table(run["heading"], run["rows"]))


def main():
    write_configs()
    origin = subprocess.Popen(["node", f"{HERE}/origin.js", str(ORIGIN_PORT)], start_new_session=True)
    try:
        for _ in range(100):
            if get(f"http://127.0.0.1:{ORIGIN_PORT}/count")[0] == 200:
                break
            time.sleep(0.05)
        caches = [
            Cache("edgecache", EDGE_PORT, [f"{HERE}/out/edgecache/EdgeCache", "--config", f"{WORK}/edgecache.json"],
                  f"http://127.0.0.1:{EDGE_ADMIN}/readyz", env={"DOTNET_gcServer": EDGE_GC_SERVER}),
            Cache("nginx", NGINX_PORT, ["nginx", "-c", f"{WORK}/nginx.conf", "-g", "daemon off;"], f"http://127.0.0.1:{NGINX_PORT}/health"),
            Cache("varnish", VARNISH_PORT, ["varnishd", "-F", "-a", f"127.0.0.1:{VARNISH_PORT}", "-f", f"{WORK}/varnish.vcl",
                                            "-s", f"malloc,{MEMORY_TIER // 2**20}m", "-n", f"{WORK}/varnish", "-p", "thread_pools=2"],
                  f"http://127.0.0.1:{VARNISH_PORT}/health"),
        ]
        results = {}
        try:
            # Started one at a time (start-up is measured alone), then all left running: idle, each costs the others
            # nothing, and the hit windows can take turns.
            for cache in caches:
                print(f"starting {cache.name} ...", flush=True)
                results[cache.name] = {"startup_ms": cache.start()}
            print("hits ...", flush=True)
            measure_hits(caches, results)
            for cache in caches:
                print(f"herd: {cache.name} ...", flush=True)
                measure_herd(cache, results[cache.name])
            print("miss path ...", flush=True)
            measure_misses(caches, results)
        finally:
            for cache in caches:
                cache.stop()
    finally:
        os.killpg(origin.pid, signal.SIGTERM)
    facts = run_facts(datetime.now(timezone.utc))
    table_rows = rows(results)
    print(render_table(heading_text(facts), table_rows))
    path = write_run(f"{HERE}/results", facts, table_rows, results)
    print(f"written to {os.path.relpath(path)}")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--table":
        print_stored_table(sys.argv[2])
    else:
        main()

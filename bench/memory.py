#!/usr/bin/env python3
"""Memory of one edge node under a unique-key flood, optionally inside a memory cgroup as a pod's container would be.

    python3 bench/memory.py --limit-mib 256 --tier-mib 64 --cpus 1          # the Pulumi program's runtime settings
    python3 bench/memory.py --tier-mib 64 --gc server --heap-limit none      # no limit, server GC, as built

Starts bench/origin.js (1 KiB objects under /miss/) and the node (bench/out/edgecache, published by bench/run.sh, or
--edge DLL) on 127.0.0.1, floods it with wrk and bench/miss.lua (every request a new key), samples the node's resident
memory and its cgroup every 100 ms, and prints one JSON line: peaks, the cgroup's failcnt and OOM kills, whether the node
survived and still served a hit. With --cpus and --limit-mib the GC settings are the ones the Pulumi program gives a pod
with those limits (components/config/runtime.ts), unless --gc or --heap-limit say otherwise. Needs root for the cgroup
(cgroup v1 memory controller, /sys/fs/cgroup/memory) and wrk (apt-get install wrk).
"""
import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MIB = 1024 * 1024


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, seconds=20):
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False


def own_memory_cgroup():
    """This process's memory cgroup directory (v1), or None."""
    base = "/sys/fs/cgroup/memory"
    if not os.path.exists(os.path.join(base, "memory.limit_in_bytes")):
        return None
    with open("/proc/self/cgroup") as f:
        for line in f:
            _, controllers, path = line.rstrip("\n").split(":", 2)
            if "memory" in controllers.split(","):
                return base + path.rstrip("/") if path != "/" else base
    return base


def runtime_settings(limit_mib, cpus, tier_mib):
    """The Pulumi program's settings for a container with these limits (one formula: components/config/runtime.ts)."""
    script = ("const { edgeRuntimeSettings } = require('./components/config/runtime');"
              f"console.log(JSON.stringify(edgeRuntimeSettings({{ memoryLimitBytes: {limit_mib * MIB}, cpuLimitMillicores: {int(cpus * 1000)}, memoryTierBytes: {tier_mib * MIB} }})));")
    out = subprocess.run(["node", "--import", "tsx", "-e", script], cwd=ROOT, check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def status_kib(pid, field):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def read_int(path):
    try:
        with open(path) as f:
            return int(f.read().split()[0])
    except (OSError, ValueError):
        return None


def oom_kills(group):
    try:
        with open(os.path.join(group, "memory.oom_control")) as f:
            for line in f:
                if line.startswith("oom_kill "):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--limit-mib", type=int, default=0, help="container memory limit; 0: none")
    p.add_argument("--cpus", type=float, default=0, help="CPU limit the GC mode is chosen from; 0: the runtime's own choice")
    p.add_argument("--tier-mib", type=int, default=64, help="cache.memoryBytes")
    p.add_argument("--gc", choices=["server", "workstation"], help="override the GC mode")
    p.add_argument("--heap-limit", default="auto", help="auto (from the limits), none, or bytes")
    p.add_argument("--seconds", type=int, default=20)
    p.add_argument("--connections", type=int, default=64)
    p.add_argument("--idle-seconds", type=int, default=3, help="wait before the flood, to read the idle RSS")
    p.add_argument("--edge", default=os.path.join(ROOT, "bench", "out", "edgecache", "EdgeCache.dll"))
    a = p.parse_args()

    env = dict(os.environ)
    settings = None
    if a.limit_mib and a.cpus:
        settings = runtime_settings(a.limit_mib, a.cpus, a.tier_mib)
        env.update(settings["env"])
    if a.gc:
        env["DOTNET_gcServer"] = "1" if a.gc == "server" else "0"
        env.pop("DOTNET_GCHeapCount", None)
    if a.heap_limit == "none":
        env.pop("DOTNET_GCHeapHardLimit", None)
    elif a.heap_limit != "auto":
        env["DOTNET_GCHeapHardLimit"] = format(int(a.heap_limit), "x")

    work = tempfile.mkdtemp(prefix="edge-memory-")
    origin_port, viewer, admin = free_port(), free_port(), free_port()
    config = os.path.join(work, "edgecache.json")
    with open(config, "w") as f:
        json.dump({
            "listen": {"address": "127.0.0.1", "viewerPort": viewer, "adminPort": admin},
            "accessLog": {"enabled": False},
            "cache": {"memoryBytes": a.tier_mib * MIB, "maxObjectBytes": min(8 * MIB, a.tier_mib * MIB)},
            "origins": [{"id": "origin", "type": "http", "url": f"http://127.0.0.1:{origin_port}"}],
            "behaviors": [{"pathPattern": "*", "origin": "origin"}],
        }, f)

    group = None
    procs = []
    try:
        procs.append(subprocess.Popen(["node", os.path.join(ROOT, "bench", "origin.js"), str(origin_port)]))
        wait_port(origin_port)
        command = ["dotnet", a.edge, "--config", config]
        if a.limit_mib:
            parent = own_memory_cgroup()
            if parent is None:
                sys.exit("no cgroup v1 memory controller at /sys/fs/cgroup/memory")
            group = os.path.join(parent, f"edge-memory-{os.getpid()}")
            os.mkdir(group)
            with open(os.path.join(group, "memory.limit_in_bytes"), "w") as f:
                f.write(str(a.limit_mib * MIB))
            # Joined before exec: the runtime reads its limit when it starts.
            command = ["sh", "-c", f'echo $$ > {group}/cgroup.procs && exec "$@"', "sh"] + command
        edge = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        procs.append(edge)
        if not wait_port(admin):
            sys.exit("the node did not start: " + (edge.stderr.read() if edge.poll() is not None else ""))
        urllib.request.urlopen(f"http://127.0.0.1:{viewer}/miss/warm-1").read()
        time.sleep(a.idle_seconds)
        idle_rss = status_kib(edge.pid, "VmRSS")
        idle = {k: round((status_kib(edge.pid, f) or 0) / 1024, 1) for k, f in (("anon", "RssAnon"), ("file", "RssFile"), ("shmem", "RssShmem"))}
        if group:
            idle["cgroup"] = round((read_int(os.path.join(group, "memory.usage_in_bytes")) or 0) / MIB, 1)

        wrk = subprocess.Popen(["wrk", "-t2", f"-c{a.connections}", f"-d{a.seconds}s", "-s",
                                os.path.join(ROOT, "bench", "miss.lua"), f"http://127.0.0.1:{viewer}"],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        peak = {"rss": 0, "anon": 0, "shmem": 0, "cgroup": 0}
        while wrk.poll() is None:
            for key, field in (("rss", "VmRSS"), ("anon", "RssAnon"), ("shmem", "RssShmem")):
                v = status_kib(edge.pid, field)
                if v is not None:
                    peak[key] = max(peak[key], v)
            if group:
                peak["cgroup"] = max(peak["cgroup"], (read_int(os.path.join(group, "memory.usage_in_bytes")) or 0) // 1024)
            time.sleep(0.1)
        wrk_out = wrk.stdout.read()
        requests = next((int(l.split()[0]) for l in wrk_out.splitlines() if "requests in" in l), 0)
        non2xx = next((int(l.split()[-1]) for l in wrk_out.splitlines() if "Non-2xx" in l), 0)
        alive = edge.poll() is None
        hit = None
        if alive:
            try:
                for _ in range(2):
                    with urllib.request.urlopen(f"http://127.0.0.1:{viewer}/miss/after-{os.getpid()}", timeout=10) as r:
                        r.read()
                        hit = r.headers.get("X-Cache")
            except OSError as e:
                hit = f"failed: {e}"
        alive = edge.poll() is None
        time.sleep(2)
        result = {
            "limit_mib": a.limit_mib, "cpus": a.cpus, "tier_mib": a.tier_mib,
            "env": {k: env[k] for k in sorted(env) if k.startswith("DOTNET_GC") or k == "DOTNET_gcServer"},
            "seconds": a.seconds, "requests": requests, "per_second": round(requests / a.seconds), "non_2xx": non2xx,
            "idle_rss_mib": round((idle_rss or 0) / 1024, 1), "idle_mib": idle,
            "peak_rss_mib": round(peak["rss"] / 1024, 1), "peak_anon_mib": round(peak["anon"] / 1024, 1),
            "peak_shmem_mib": round(peak["shmem"] / 1024, 1),
            "settled_rss_mib": round((status_kib(edge.pid, "VmRSS") or 0) / 1024, 1) if alive else None,
            "alive": alive, "exit": edge.returncode, "hit_after": hit,
        }
        if not alive:
            result["stderr_tail"] = edge.stderr.read()[-300:]
        if group:
            result.update({
                "cgroup_peak_mib": round(peak["cgroup"] / 1024, 1),
                "cgroup_max_usage_mib": round((read_int(os.path.join(group, "memory.max_usage_in_bytes")) or 0) / MIB, 1),
                "failcnt": read_int(os.path.join(group, "memory.failcnt")), "oom_kills": oom_kills(group),
            })
        if settings:
            result["settings"] = {k: v for k, v in settings.items() if k != "env"}
        print(json.dumps(result))
    finally:
        for proc in reversed(procs):
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        if group:
            for _ in range(50):
                try:
                    os.rmdir(group)
                    break
                except OSError:
                    time.sleep(0.1)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

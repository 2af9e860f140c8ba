#!/usr/bin/env python3
"""Misses on a churning catalogue, two or more EdgeCache builds side by side (docs/decisions/0034).

Each build runs on core 0 with the pod's GC settings for a 512 MiB limit and a 256 MiB tier, but without a container
limit (so mapped bodies are not capped); bench/origin.js and wrk run on core 1. Every request is a new trace object of
one size (bench/trace-miss.lua), so every request is a miss and the tier churns. The builds take turns; each window
reports misses/s, the build's CPU per miss (its process's user + system time) and its gen2 collections.

    dotnet publish edge-image/EdgeCache -c Release -o /tmp/builds/new
    python3 bench/probes/miss-churn.py /tmp/builds/old,/tmp/builds/new 20480,65536,131072,1048576 4
"""
import json
import os
import re
import subprocess
import sys
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
BENCH = os.path.dirname(HERE)
sys.path.insert(0, BENCH)
sys.dont_write_bytecode = True
from deployed import MIB, edge_env  # noqa: E402  (the pod's runtime settings, as in the deployed shape)

TIER = 256 * MIB
SECONDS = int(os.environ.get("CHURN_SECONDS", "6"))


def cpu_seconds(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def gen2(admin):
    body = urllib.request.urlopen(f"http://127.0.0.1:{admin}/metrics", timeout=3).read().decode()
    m = re.search(r'^dotnet_collection_count_total\{generation="2"\} ([0-9.e+]+)$', body, re.M)
    return float(m.group(1)) if m else float("nan")


def start(build, index, work):
    port, admin = 8100 + index, 9100 + index
    config = f"{work}/edgecache-{index}.json"
    with open(config, "w") as f:
        json.dump({"node": {"name": f"churn-{index}"},
                   "listen": {"address": "127.0.0.1", "viewerPort": port, "adminPort": admin},
                   "accessLog": {"enabled": False}, "readiness": {"requireOrigins": False},
                   "cache": {"memoryBytes": TIER, "maxObjectBytes": 8 * MIB},
                   "origins": [{"id": "origin", "type": "http", "url": "http://127.0.0.1:18000"}],
                   "behaviors": [{"pathPattern": "*", "origin": "origin", "defaultTtlSeconds": 3600}]}, f)
    proc = subprocess.Popen(["taskset", "-c", "0", f"{build}/EdgeCache", "--config", config],
                            env={**os.environ, **edge_env(512 * MIB, 1000, TIER)}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(150):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{admin}/readyz", timeout=1)
            return proc, port, admin
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"{build} did not become ready")


def main():
    builds = sys.argv[1].split(",")
    sizes = [int(s) for s in sys.argv[2].split(",")]
    rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 4
    work = "/var/tmp/edgecache-miss-churn"
    os.makedirs(work, exist_ok=True)
    origin = subprocess.Popen(["taskset", "-c", "1", "node", f"{BENCH}/origin.js", "18000"], stdout=subprocess.DEVNULL)
    nodes = []
    try:
        time.sleep(1)
        nodes = [start(build, i, work) for i, build in enumerate(builds)]
        next_id = 10_000_000

        def window(i, size, seconds):
            nonlocal next_id
            proc, port, admin = nodes[i]
            next_id += 10_000_000  # no object is asked for twice, by any build
            cpu, collections = cpu_seconds(proc.pid), gen2(admin)
            out = subprocess.run(["taskset", "-c", "1", "wrk", "-t1", "-c8", f"-d{seconds}s", "-s", f"{BENCH}/trace-miss.lua",
                                  f"http://127.0.0.1:{port}/", "--", str(size), str(next_id)],
                                 capture_output=True, text=True, check=True).stdout
            n = int(re.search(r"(\d+) requests in", out).group(1))
            return n / seconds, (cpu_seconds(proc.pid) - cpu) / n * 1e6, gen2(admin) - collections

        for size in sizes:
            for i in range(len(builds)):
                window(i, size, 3)  # the tier fills and the JIT tiers up
            results = {i: [] for i in range(len(builds))}
            for r in range(rounds):
                order = range(len(builds)) if r % 2 == 0 else reversed(range(len(builds)))
                for i in order:
                    results[i].append(window(i, size, SECONDS))
            for i, build in enumerate(builds):
                cells = "  ".join(f"{rps:6.0f}/s {us:6.0f} µs gen2 {g:3.0f}" for rps, us, g in results[i])
                print(f"{size:>8} B  {build}: {cells}", flush=True)
    finally:
        for proc, _, _ in nodes:
            proc.kill()
        origin.kill()


if __name__ == "__main__":
    main()

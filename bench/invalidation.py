#!/usr/bin/env python3
"""Fleet invalidation latency: s3rver as the control bucket, 8 edge nodes (pollSeconds 1) in two regions on 127.0.0.1,
and `edgecdn invalidate` timed to the last node's ack, 20 times. Run through bench/invalidation.sh (it builds).

Prints a Markdown table: p50 and max of the command's wall time (process start to exit 0: what the operator waits) and
of the tool's own "Completed in" figure (record written to the last ack seen). The goal is max <= 3 s.
"""
import json, os, random, re, shutil, signal, statistics, subprocess, sys, tempfile, time, urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
NODES = int(os.environ.get("NODES", "8"))
RUNS = int(os.environ.get("RUNS", "20"))
POLL_SECONDS = int(os.environ.get("POLL_SECONDS", "1"))
S3_PORT, ORIGIN_PORT, FIRST_PORT = 18300, 18301, 18310
BUCKET = "edge-control"
SERVER = os.path.join(ROOT, "edge-image/EdgeCache/bin/Release/net10.0/EdgeCache.dll")
TOOL = os.path.join(ROOT, "tools/EdgeCdn/bin/Release/net10.0/edgecdn.dll")
S3RVER = os.path.join(ROOT, "tests/s3rver/node_modules/.bin/s3rver")
ENV = dict(os.environ, AWS_ACCESS_KEY_ID="S3RVER", AWS_SECRET_ACCESS_KEY="S3RVER", AWS_EC2_METADATA_DISABLED="true")


def wait_http(url, seconds=300):
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                return r.read()
        except Exception:
            time.sleep(0.1)
    sys.exit(f"not answering: {url}")


def edgecdn(*args):
    started = time.monotonic()
    done = subprocess.run(["dotnet", TOOL, "--endpoint", f"http://127.0.0.1:{S3_PORT}", "--bucket", BUCKET, *args],
                          env=ENV, capture_output=True, text=True)
    return done.returncode, done.stdout, done.stderr, time.monotonic() - started


def main():
    for path in (SERVER, TOOL, S3RVER):
        if not os.path.exists(path):
            sys.exit(f"missing {path}: run bench/invalidation.sh")
    work = tempfile.mkdtemp(prefix="edgecache-invalidation-bench-")
    procs = []
    try:
        os.makedirs(f"{work}/s3")
        procs.append(subprocess.Popen([S3RVER, "-d", f"{work}/s3", "-a", "127.0.0.1", "-p", str(S3_PORT),
                                       "--configure-bucket", BUCKET, "--silent"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        os.makedirs(f"{work}/site")
        procs.append(subprocess.Popen([sys.executable, "-m", "http.server", str(ORIGIN_PORT), "--bind", "127.0.0.1", "-d", f"{work}/site"],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        admins = []
        for i in range(NODES):
            region = "bench-a" if i < NODES // 2 else "bench-b"
            viewer, admin = FIRST_PORT + 2 * i, FIRST_PORT + 2 * i + 1
            config = {
                "node": {"name": "edge-bench", "region": region},
                "listen": {"address": "127.0.0.1", "viewerPort": viewer, "adminPort": admin},
                "accessLog": {"enabled": False},
                "cache": {"memoryBytes": 16 * 1024 * 1024, "disk": {"directory": f"{work}/disk{i}"}},
                "invalidation": {"bucket": BUCKET, "region": "us-east-1", "serviceUrl": f"http://127.0.0.1:{S3_PORT}",
                                 "pollSeconds": POLL_SECONDS, "heartbeatSeconds": 10, "nodeId": f"node-{i + 1}"},
                "origins": [{"id": "origin", "type": "http", "url": f"http://127.0.0.1:{ORIGIN_PORT}"}],
                "behaviors": [{"pathPattern": "*", "origin": "origin"}],
            }
            with open(f"{work}/node{i}.json", "w") as f:
                json.dump(config, f)
            procs.append(subprocess.Popen(["dotnet", SERVER, "--config", f"{work}/node{i}.json"], env=dict(ENV, DOTNET_gcServer="0"),
                                          stdout=open(f"{work}/node{i}.log", "w"), stderr=subprocess.STDOUT))
            admins.append(admin)
        for admin in admins:
            wait_http(f"http://127.0.0.1:{admin}/healthz")
        deadline = time.time() + 300
        while True:
            code, out, err, _ = edgecdn("nodes")
            if f"{NODES} live nodes" in out:
                break
            if time.time() > deadline:
                sys.exit("nodes did not all heartbeat:\n" + out + err)
            time.sleep(1)

        walls, completed = [], []
        for run in range(RUNS):
            # A random phase against the nodes' poll timers, so the runs sample the whole poll interval.
            time.sleep(random.uniform(0, POLL_SECONDS))
            code, out, err, wall = edgecdn("invalidate", f"/bench/{run}.js", "--timeout", "30s")
            match = re.search(r"Completed in ([0-9.]+) s: all (\d+) live nodes acked", out)
            if code != 0 or not match or int(match.group(2)) != NODES:
                sys.exit(f"run {run}: exit {code}\n{out}{err}")
            walls.append(wall)
            completed.append(float(match.group(1)))
            print(f"run {run + 1:2}: command {wall:.2f} s, record to last ack {completed[-1]:.1f} s", file=sys.stderr)

        load = open("/proc/loadavg").read().split()[:3]
        print(f"\n### Invalidation to the last ack: {NODES} nodes, pollSeconds {POLL_SECONDS}, s3rver on loopback, {RUNS} runs "
              f"({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {os.cpu_count()} cores, load {' '.join(load)})\n")
        print("| figure | p50 | max | goal |")
        print("|---|---|---|---|")
        print(f"| `edgecdn invalidate` wall time (process start to exit 0) | {statistics.median(walls):.2f} s | {max(walls):.2f} s | max <= 3 s |")
        print(f"| record written to last ack (edgecdn's \"Completed in\") | {statistics.median(completed):.1f} s | {max(completed):.1f} s | |")
    finally:
        for p in reversed(procs):
            p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

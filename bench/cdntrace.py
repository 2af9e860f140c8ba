#!/usr/bin/env python3
"""A CDN-like catalogue and request trace for bench/deployed.py, the same for a given seed on every machine.

    python3 bench/cdntrace.py OUT --catalogue-bytes 1073741824 --requests 200000 --seed 25

Object sizes: the hybrid model of Barford and Crovella's SURGE ("Generating Representative Web Workloads for Network and
Server Performance Evaluation", SIGMETRICS 1998), fitted to web server file sizes: a lognormal body (mu 9.357, sigma
1.318 in ln bytes; median ~11.6 KB) spliced at 133 KB to a Pareto tail (alpha 1.1) that holds the lognormal's mass
above the splice (~3 % of objects). The tail is cut at 8 MiB, the node's default cache.maxObjectBytes, so every object
is cacheable by all three caches; the floor is 64 bytes. A 1990s web server fit, not a CDN trace: it has the shape such
traces show (most objects small, most bytes in a few large ones), not any CDN's exact mix.

Popularity: Zipf with exponent alpha (default 0.9) over the objects in a random order, independent of size. Each
request independently asks for `Connection: close` with probability close_share (default 0.1), so that share of
requests come on a new connection, as viewers do through a layer-4 load balancer.

OUT gets one line per request, "PATH SIZE CLOSE" (bench/replay.c reads it), and OUT.json the catalogue's summary.
"""
import argparse, bisect, itertools, json, math, random

LN_MU, LN_SIGMA = 9.357, 1.318
SPLICE, TAIL_ALPHA = 133_000, 1.1
MIN_SIZE, MAX_SIZE = 64, 8 * 1024 * 1024


def tail_share():
    """The lognormal's mass above the splice: the share of objects drawn from the Pareto tail."""
    z = (math.log(SPLICE) - LN_MU) / LN_SIGMA
    return 0.5 * math.erfc(z / math.sqrt(2))


def object_size(rng, p_tail):
    if rng.random() < p_tail:
        # Pareto above SPLICE, truncated at MAX_SIZE, by inverting its distribution function.
        u = rng.random()
        return int(SPLICE / (1 - u * (1 - (SPLICE / MAX_SIZE) ** TAIL_ALPHA)) ** (1 / TAIL_ALPHA))
    while True:
        size = rng.lognormvariate(LN_MU, LN_SIGMA)
        if size < SPLICE:
            return max(MIN_SIZE, int(size))


def build(catalogue_bytes, requests, alpha, close_share, seed):
    rng = random.Random(seed)
    p_tail = tail_share()
    sizes, total = [], 0
    while total < catalogue_bytes:
        sizes.append(object_size(rng, p_tail))
        total += sizes[-1]
    # Rank r (1-based) is asked for with weight r^-alpha; the ranks are given to the objects in a random order.
    order = list(range(len(sizes)))
    rng.shuffle(order)
    cumulative = list(itertools.accumulate((r + 1) ** -alpha for r in range(len(sizes))))
    top = cumulative[-1]
    trace = []
    for _ in range(requests):
        rank = bisect.bisect_left(cumulative, rng.random() * top)
        obj = order[min(rank, len(sizes) - 1)]
        trace.append((obj, sizes[obj], 1 if rng.random() < close_share else 0))
    return sizes, trace


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out")
    ap.add_argument("--catalogue-bytes", type=int, required=True)
    ap.add_argument("--requests", type=int, required=True)
    ap.add_argument("--alpha", type=float, default=0.9)
    ap.add_argument("--close-share", type=float, default=0.1)
    ap.add_argument("--seed", type=int, default=25)
    a = ap.parse_args()
    sizes, trace = build(a.catalogue_bytes, a.requests, a.alpha, a.close_share, a.seed)
    with open(a.out, "w") as f:
        f.writelines(f"/t/{obj}/{size} {size} {close}\n" for obj, size, close in trace)
    ordered = sorted(sizes)
    requested = sorted(s for _, s, _ in trace)
    summary = {
        "seed": a.seed, "zipf_alpha": a.alpha, "close_share": a.close_share,
        "size_model": {"source": "Barford & Crovella, SIGMETRICS 1998 (SURGE) hybrid fit", "lognormal_mu": LN_MU,
                       "lognormal_sigma": LN_SIGMA, "splice_bytes": SPLICE, "pareto_alpha": TAIL_ALPHA,
                       "tail_share": round(tail_share(), 4), "min_bytes": MIN_SIZE, "max_bytes": MAX_SIZE},
        "objects": len(sizes), "catalogue_bytes": sum(sizes),
        "object_size_bytes": {"median": ordered[len(ordered) // 2], "p90": ordered[int(len(ordered) * 0.9)],
                              "p99": ordered[int(len(ordered) * 0.99)], "max": ordered[-1], "mean": sum(sizes) // len(sizes)},
        "requests": len(trace), "distinct_objects_requested": len({obj for obj, _, _ in trace}),
        "requested_bytes": sum(requested), "request_size_bytes": {"median": requested[len(requested) // 2],
                                                                  "mean": sum(requested) // len(requested)},
        "new_connection_requests": sum(c for _, _, c in trace),
    }
    with open(a.out + ".json", "w") as f:
        json.dump(summary, f, indent=1)
    print(json.dumps(summary))


if __name__ == "__main__":
    main()

// The edge regions: each once, within Route 53's latency-record limit, each with its cluster and pod count.

import { MAX_LATENCY_RECORDS_PER_NAME_AND_TYPE } from "./aws";
import { Checker, describe } from "./checker";
import { parseCluster } from "./cluster";
import { RegionConfig } from "./types";

export function parseRegions(c: Checker, v: unknown): RegionConfig[] | undefined {
    const list = c.array("regions", v);
    if (!list) { return undefined; }
    if (list.length === 0) {
        c.add("regions", "is empty (expected at least one edge region)");
        return undefined;
    }
    if (list.length > MAX_LATENCY_RECORDS_PER_NAME_AND_TYPE) {
        c.add("regions", `${list.length} regions need ${list.length} latency records per name and type; Route 53 allows at most ${MAX_LATENCY_RECORDS_PER_NAME_AND_TYPE} latency records with the same name and type`);
    }
    const seen = new Map<string, number>();
    const out: RegionConfig[] = [];
    for (const [i, item] of list.entries()) {
        const at = `regions[${i}]`;
        const r = c.object(at, item, ["name", "cluster", "replicas"]);
        if (!r) { continue; }
        const name = c.region(`${at}.name`, r.name);
        if (name !== undefined) {
            const first = seen.get(name);
            if (first !== undefined) {
                c.add(`${at}.name`, `${describe(name)} is already regions[${first}]; each region may appear once (one latency record per region)`);
            } else {
                seen.set(name, i);
            }
        }
        const cluster = parseCluster(c, `${at}.cluster`, r.cluster);
        const replicas = parseReplicas(c, `${at}.replicas`, r.replicas);
        if (name && cluster && replicas) { out.push({ name, cluster, replicas }); }
    }
    return out.length === list.length ? out : undefined;
}

function parseReplicas(c: Checker, at: string, v: unknown): RegionConfig["replicas"] | undefined {
    if (v === undefined) { return { min: 2, max: 2 }; }
    const o = c.object(at, v, ["min", "max"]);
    if (!o) { return undefined; }
    const min = c.integer(`${at}.min`, o.min, 1, 100);
    const max = c.integer(`${at}.max`, o.max, 1, 100, min);
    if (min === undefined || max === undefined) { return undefined; }
    if (min > max) {
        c.add(`${at}.min`, `${min} is greater than replicas.max (${max})`);
        return undefined;
    }
    return { min, max };
}

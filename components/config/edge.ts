// The edge pods: resources, the two cache tiers (and how they fit the container's memory limit and volume), scaling,
// and the stop sequence.

import { Checker, Obj, describe } from "./checker";
import { parseByteQuantity, parseCpuQuantity } from "./quantities";
import {
    DISK_BLOCK_BYTES, DISK_INDEX_BYTES_PER_ENTRY, RUNTIME_RESERVE_BYTES, defaultDiskMaxEntries, heapHeadroomBytes, minimumMemoryLimitBytes,
} from "./runtime";
import { EdgeSettings } from "./types";

export function parseEdge(c: Checker, v: unknown): EdgeSettings | undefined {
    const o = v === undefined ? {} : c.object("edge", v, [
        "namespace", "resources", "cache", "targetCpuUtilization", "zoneSpread", "accessLog", "http2",
        "preStopSleepSeconds", "shutdownGracePeriodSeconds", "terminationGracePeriodSeconds",
    ]);
    if (!o) { return undefined; }
    const namespace = c.string("edge.namespace", o.namespace, {
        required: false, pattern: /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/, expected: "a Kubernetes namespace name",
    }) ?? "edgecache";

    const res = o.resources === undefined ? {} : c.object("edge.resources", o.resources, ["cpu", "memory"]);
    const pair = (what: "cpu" | "memory", fallback: { request: string; limit: string }) => {
        const at = `edge.resources.${what}`;
        const p = res?.[what] === undefined ? {} : c.object(at, res?.[what], ["request", "limit"]);
        if (!p) { return undefined; }
        const parse = what === "cpu" ? parseCpuQuantity : parseByteQuantity;
        const expected = what === "cpu" ? "a CPU quantity such as 250m or 1" : "a memory quantity such as 512Mi or 2Gi";
        const request = c.string(`${at}.request`, p.request, { required: false, expected }) ?? fallback.request;
        const limit = c.string(`${at}.limit`, p.limit, { required: false, expected }) ?? fallback.limit;
        const rq = parse(request), lm = parse(limit);
        if (rq === undefined) { c.add(`${at}.request`, `${describe(request)} is not ${expected}`); }
        if (lm === undefined) { c.add(`${at}.limit`, `${describe(limit)} is not ${expected}`); }
        if (rq !== undefined && lm !== undefined && rq > lm) {
            c.add(`${at}.request`, `${request} is more than the limit (${limit})`);
            return undefined;
        }
        return rq !== undefined && lm !== undefined ? { request, limit } : undefined;
    };
    const cpu = pair("cpu", { request: "250m", limit: "1" });
    const memory = pair("memory", { request: "512Mi", limit: "512Mi" });

    const ca = o.cache === undefined ? {} : c.object("edge.cache", o.cache, ["memoryBytes", "maxObjectBytes", "volumeSize", "diskBytes", "diskMaxEntries"]);
    let cache: EdgeSettings["cache"] | undefined;
    if (ca) {
        const memoryBytes = c.integer("edge.cache.memoryBytes", ca.memoryBytes, 1048576, Number.MAX_SAFE_INTEGER, 268435456);
        const maxObjectBytes = c.integer("edge.cache.maxObjectBytes", ca.maxObjectBytes, 1024, Number.MAX_SAFE_INTEGER, 8388608);
        const volumeSize = c.string("edge.cache.volumeSize", ca.volumeSize, { required: false }) ?? "1Gi";
        const volumeBytes = parseByteQuantity(volumeSize);
        if (volumeBytes === undefined || volumeBytes < 2 * 1048576) {
            c.add("edge.cache.volumeSize", `${describe(volumeSize)} is not a storage quantity of at least 2Mi (expected e.g. 1Gi)`);
        }
        // 80% of the emptyDir: the kubelet evicts a pod whose emptyDir passes its sizeLimit.
        const diskDefault = volumeBytes === undefined ? undefined : Math.floor(volumeBytes * 0.8);
        const diskBytes = c.integer("edge.cache.diskBytes", ca.diskBytes, 1048576, Number.MAX_SAFE_INTEGER, diskDefault);
        if (diskBytes !== undefined && volumeBytes !== undefined && diskBytes > volumeBytes * 0.9) {
            c.add("edge.cache.diskBytes", `${diskBytes} leaves less than 10% of edge.cache.volumeSize (${volumeSize}) free; the kubelet evicts a pod whose emptyDir passes its sizeLimit`);
        }
        if (memoryBytes !== undefined && maxObjectBytes !== undefined && maxObjectBytes > memoryBytes) {
            c.add("edge.cache.maxObjectBytes", `${maxObjectBytes} exceeds edge.cache.memoryBytes (${memoryBytes})`);
        }
        const limitBytes = memory ? parseByteQuantity(memory.limit) : undefined;
        const derivedEntries = memoryBytes !== undefined && limitBytes !== undefined && diskBytes !== undefined
            ? defaultDiskMaxEntries(limitBytes, memoryBytes, diskBytes) : undefined;
        const diskMaxEntries = ca.diskMaxEntries === undefined
            ? derivedEntries
            : c.integer("edge.cache.diskMaxEntries", ca.diskMaxEntries, 1, Number.MAX_SAFE_INTEGER);
        // The container holds the runtime, the memory tier with the heap's headroom, and the disk tier's index; the
        // node is OOM-killed, whatever its GC settings, when they do not fit (runtime.ts, docs/decisions/0026).
        const fits = memoryBytes !== undefined && limitBytes !== undefined && diskMaxEntries !== undefined &&
            checkMemoryFits(c, memory!.limit, limitBytes, memoryBytes, diskMaxEntries, ca.diskMaxEntries !== undefined);
        if (memoryBytes && maxObjectBytes && diskBytes && volumeBytes && diskBytes <= volumeBytes * 0.9 &&
            maxObjectBytes <= memoryBytes && fits && diskMaxEntries) {
            cache = { memoryBytes, maxObjectBytes, volumeSize, diskBytes, diskMaxEntries };
        }
    }
    const targetCpuUtilization = c.integer("edge.targetCpuUtilization", o.targetCpuUtilization, 10, 100, 70);
    const zoneSpread = c.oneOf("edge.zoneSpread", o.zoneSpread, ["required", "preferred"] as const, "preferred");
    const accessLog = c.boolean("edge.accessLog", o.accessLog, true);
    const http2 = c.boolean("edge.http2", o.http2, false);
    const grace = parseGrace(c, o);
    if (!cpu || !memory || !cache || !targetCpuUtilization || !zoneSpread || !grace) { return undefined; }
    return { namespace, resources: { cpu, memory }, cache, targetCpuUtilization, zoneSpread, accessLog, http2, ...grace };
}

function checkMemoryFits(c: Checker, limit: string, limitBytes: number, memoryBytes: number, diskMaxEntries: number, entriesGiven: boolean): boolean {
    const mib = (bytes: number) => `${Math.ceil(bytes / 1048576)} MiB`;
    const needed = minimumMemoryLimitBytes(memoryBytes, diskMaxEntries);
    if (limitBytes >= needed && diskMaxEntries >= 1) { return true; }
    const parts = `${mib(RUNTIME_RESERVE_BYTES)} for the .NET runtime + the ${mib(memoryBytes)} tier (edge.cache.memoryBytes) + ` +
        `${mib(heapHeadroomBytes(memoryBytes))} of heap headroom` +
        (entriesGiven ? ` + ${mib(diskMaxEntries * DISK_INDEX_BYTES_PER_ENTRY)} for the disk index (edge.cache.diskMaxEntries ${diskMaxEntries} × ${DISK_INDEX_BYTES_PER_ENTRY} B)` : "");
    c.add("edge.resources.memory.limit", limitBytes < minimumMemoryLimitBytes(memoryBytes)
        ? `${limit} is below the ${mib(minimumMemoryLimitBytes(memoryBytes))} the edge node needs: ${parts}; raise the limit or lower edge.cache.memoryBytes, or the container is OOM-killed`
        : entriesGiven
            ? `${limit} is below the ${mib(needed)} the edge node needs: ${parts}; raise the limit or lower edge.cache.diskMaxEntries or edge.cache.memoryBytes`
            : `${limit} leaves no room for the disk tier's index beyond ${parts} (at least ${DISK_INDEX_BYTES_PER_ENTRY} B per entry, one entry per ${DISK_BLOCK_BYTES} B of disk at most); raise the limit or lower edge.cache.memoryBytes`);
    return false;
}

/**
 * The stop sequence of an edge pod: the kubelet runs the preStop sleep, then sends SIGTERM, and kills the container
 * terminationGracePeriodSeconds after the start of it all; the node needs its whole shutdown grace inside that.
 */
function parseGrace(c: Checker, o: Obj): Pick<EdgeSettings, "preStopSleepSeconds" | "shutdownGracePeriodSeconds" | "terminationGracePeriodSeconds"> | undefined {
    const preStopSleepSeconds = c.integer("edge.preStopSleepSeconds", o.preStopSleepSeconds, 0, 300, 15);
    const shutdownGracePeriodSeconds = c.integer("edge.shutdownGracePeriodSeconds", o.shutdownGracePeriodSeconds, 0, 3600, 25);
    if (preStopSleepSeconds === undefined || shutdownGracePeriodSeconds === undefined) { return undefined; }
    const needed = preStopSleepSeconds + shutdownGracePeriodSeconds;
    const terminationGracePeriodSeconds = c.integer("edge.terminationGracePeriodSeconds", o.terminationGracePeriodSeconds, 1, 7200, needed + 5);
    if (terminationGracePeriodSeconds === undefined) { return undefined; }
    if (terminationGracePeriodSeconds <= needed) {
        c.add("edge.terminationGracePeriodSeconds", `${terminationGracePeriodSeconds} is not more than edge.preStopSleepSeconds (${preStopSleepSeconds}) + edge.shutdownGracePeriodSeconds (${shutdownGracePeriodSeconds}) = ${needed}; the kubelet would kill the node before it has finished its in-flight responses (expected at least ${needed + 1})`);
        return undefined;
    }
    return { preStopSleepSeconds, shutdownGracePeriodSeconds, terminationGracePeriodSeconds };
}

// The paths, ports and variables the program relies on are the ones the edge server's source actually uses
// (edge-image/EdgeCache), so a rename on either side fails here rather than in production health checks; likewise the
// invalidation log's keys and S3 calls, which the IAM policies are written against, and the outputs edgecdn reads.
import { REPO_ROOT } from "./harness";
import * as fs from "fs";
import * as path from "path";
import assert from "node:assert/strict";
import { describe, it } from "node:test";

const SERVER_DIR = path.join(REPO_ROOT, "edge-image", "EdgeCache");
const LOG_DIR = path.join(REPO_ROOT, "edge-image", "EdgeCache.InvalidationLog");

function serverSource(): string {
    const out: string[] = [];
    const walk = (dir: string) => {
        for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
            if (e.isDirectory() && e.name !== "bin" && e.name !== "obj") { walk(path.join(dir, e.name)); }
            if (e.isFile() && e.name.endsWith(".cs")) { out.push(fs.readFileSync(path.join(dir, e.name), "utf8")); }
        }
    };
    walk(SERVER_DIR);
    return out.join("\n");
}

describe("the edge server's contract", () => {
    const source = serverSource();
    const defaults = JSON.parse(fs.readFileSync(path.join(SERVER_DIR, "edgecache.default.json"), "utf8")) as { listen: { viewerPort: number; adminPort: number } };

    it("serves the viewer-side health path Route 53 and the NLB check", async () => {
        const { VIEWER_HEALTH_PATH } = await import("../../components/constants");
        assert.ok(source.includes(`"${VIEWER_HEALTH_PATH}"`), `${VIEWER_HEALTH_PATH} not found in the server's source`);
    });

    it("serves the admin paths the probes use", async () => {
        const { LIVENESS_PATH, READINESS_PATH } = await import("../../components/constants");
        for (const p of [LIVENESS_PATH, READINESS_PATH]) { assert.ok(source.includes(`"${p}"`), p); }
    });

    it("reads the config path and the purge token from the variables the Deployment sets", async () => {
        const { ADMIN_TOKEN_ENV, CONFIG_ENV } = await import("../../components/constants");
        for (const v of [CONFIG_ENV, ADMIN_TOKEN_ENV]) { assert.ok(source.includes(`"${v}"`), v); }
    });

    it("lays out the invalidation log as the IAM policies and the lifecycle expect", async () => {
        const { INVALIDATION_LOG_KEYS } = await import("../../components/constants");
        const keys = fs.readFileSync(path.join(LOG_DIR, "ControlBucketKeys.cs"), "utf8");
        assert.match(keys, new RegExp(`Head => Prefix \\+ "${INVALIDATION_LOG_KEYS.head}";`));
        assert.match(keys, new RegExp(`Records => Prefix \\+ "${INVALIDATION_LOG_KEYS.records}";`));
        assert.match(keys, new RegExp(`Acks => Prefix \\+ "${INVALIDATION_LOG_KEYS.acks}";`));
        assert.match(keys, new RegExp(`Nodes => Prefix \\+ "${INVALIDATION_LOG_KEYS.nodes}";`));
        // acks/<id>/<region>/<node> and nodes/<region>/<node>: the node's policy scopes its writes by the region segment.
        assert.match(keys, /Ack\(string id, string region, string node\) => AcksOf\(id\) \+ region \+ "\/" \+ node;/);
        assert.match(keys, /Heartbeat\(string region, string node\) => Nodes \+ region \+ "\/" \+ node;/);
    });

    it("calls S3 on the control bucket only with the actions the policies grant (GetObject, ListObjectsV2, PutObject)", () => {
        const bucket = fs.readFileSync(path.join(LOG_DIR, "ControlBucket.cs"), "utf8");
        const calls = [...new Set([...bucket.matchAll(/\bs3\.(\w+)Async\(/g)].map((m) => m[1]))].sort();
        assert.deepEqual(calls, ["GetObject", "ListObjectsV2", "PutObject"]);
    });

    it("exports the control bucket under the output names edgecdn --stack reads", () => {
        const location = fs.readFileSync(path.join(REPO_ROOT, "tools", "EdgeCdn", "LogLocation.cs"), "utf8");
        const index = fs.readFileSync(path.join(REPO_ROOT, "stacks", "index.ts"), "utf8");
        for (const constant of ["BucketOutput", "RegionOutput"]) {
            const name = new RegExp(`const string ${constant} = "(\\w+)";`).exec(location)?.[1];
            assert.ok(name, `${constant} not found in LogLocation.cs`);
            assert.match(index, new RegExp(`^export const ${name} = `, "m"), `stacks/index.ts does not export ${name}`);
        }
    });

    it("checks its memory at start with the sums the program sizes the pod by", async () => {
        const { DISK_INDEX_BYTES_PER_ENTRY, RUNTIME_RESERVE_BYTES, heapHeadroomBytes } = await import("../../components");
        const MiB = 1024 * 1024;
        assert.ok(source.includes(`public const long RuntimeReserveBytes = ${RUNTIME_RESERVE_BYTES / MiB} * MiB;`), "MemoryBudget.RuntimeReserveBytes");
        assert.ok(source.includes(`public const long DiskIndexBytesPerEntry = ${DISK_INDEX_BYTES_PER_ENTRY};`), "MemoryBudget.DiskIndexBytesPerEntry");
        // 32 MiB and an eighth of the tier, on both sides.
        assert.equal(heapHeadroomBytes(0), 32 * MiB);
        assert.equal(heapHeadroomBytes(800 * MiB), 132 * MiB);
        assert.ok(source.includes("HeapHeadroomBytes(long memoryTierBytes) => (32 * MiB) + (memoryTierBytes / 8);"), "MemoryBudget.HeapHeadroomBytes");
    });

    it("listens on the ports the Service and probes target", async () => {
        const { ADMIN_PORT, VIEWER_PORT } = await import("../../components/constants");
        assert.equal(defaults.listen.viewerPort, VIEWER_PORT);
        assert.equal(defaults.listen.adminPort, ADMIN_PORT);
    });
});

// The edge container's memory is shared out by one formula (components/config/runtime.ts): the config refuses a limit
// the node cannot live in, and the Deployment tells the runtime its heap limit and GC mode from the same numbers.
import { buildCdn, buildExpectingError, clone, edgeOnly, ofType, stackConfig } from "./harness";
import assert from "node:assert/strict";
import { describe, it } from "node:test";

const MiB = 1024 * 1024;

type EdgeRaw = { resources?: Record<string, unknown>; cache?: Record<string, unknown> };

function devWith(edge: EdgeRaw): Record<string, unknown> {
    const c = clone(stackConfig("dev"));
    const current = c.edge as EdgeRaw;
    c.edge = { ...current, ...edge, cache: { ...current.cache, ...edge.cache } };
    return c;
}

async function errorsOf(name: string, config: unknown): Promise<string[]> {
    const { CdnConfigError } = await import("../../components");
    const { error, registered } = await buildExpectingError(name, config);
    assert.ok(error instanceof CdnConfigError, `expected a CdnConfigError, got ${String(error)}`);
    assert.equal(registered, 0);
    return error.errors;
}

describe("the edge container's memory formula", () => {
    it("needs the runtime's reserve, the tier and its headroom, and the disk index", async () => {
        const { minimumMemoryLimitBytes, RUNTIME_RESERVE_BYTES, DISK_INDEX_BYTES_PER_ENTRY } = await import("../../components");
        assert.equal(RUNTIME_RESERVE_BYTES, 96 * MiB);
        assert.equal(minimumMemoryLimitBytes(64 * MiB), (96 + 64 + 32 + 8) * MiB);
        assert.equal(minimumMemoryLimitBytes(64 * MiB, 1000), (96 + 64 + 32 + 8) * MiB + 1000 * DISK_INDEX_BYTES_PER_ENTRY);
    });

    it("gives the heap the tier, its headroom, the disk index and half the rest; the other half is for mapped bodies", async () => {
        const { edgeRuntimeSettings, RUNTIME_RESERVE_BYTES } = await import("../../components");
        const s = edgeRuntimeSettings({ memoryLimitBytes: 512 * MiB, cpuLimitMillicores: 1000, memoryTierBytes: 256 * MiB, diskMaxEntries: 0 });
        // 96 + 256 + 64 = 416 MiB needed, 96 MiB spare: 48 to the heap, 48 to mapped bodies.
        assert.equal(s.heapHardLimitBytes, (256 + 64 + 48) * MiB);
        assert.equal(s.mappedBodyBytes, 48 * MiB);
        assert.equal(s.heapHardLimitBytes + s.mappedBodyBytes + RUNTIME_RESERVE_BYTES, 512 * MiB);
        assert.equal(s.env.DOTNET_GCHeapHardLimit, "0x" + ((256 + 64 + 48) * MiB).toString(16));
        assert.throws(() => edgeRuntimeSettings({ memoryLimitBytes: 112 * MiB, cpuLimitMillicores: 1000, memoryTierBytes: 64 * MiB }), /below/);
    });

    it("chooses workstation GC below two CPUs, and server GC with a heap per whole CPU from two", async () => {
        const { edgeRuntimeSettings } = await import("../../components");
        const gc = (millicores: number) => edgeRuntimeSettings({ memoryLimitBytes: 1024 * MiB, cpuLimitMillicores: millicores, memoryTierBytes: 64 * MiB }).env;
        for (const m of [250, 1000, 1500, 1999]) {
            assert.equal(gc(m).DOTNET_gcServer, "0", `${m}m`);
            assert.equal(gc(m).DOTNET_GCHeapCount, undefined, `${m}m`);
        }
        assert.deepEqual([gc(2000).DOTNET_gcServer, gc(2000).DOTNET_GCHeapCount, gc(2000).DOTNET_GCNoAffinitize], ["1", "0x2", "1"]);
        assert.equal(gc(3500).DOTNET_GCHeapCount, "0x3");
        assert.equal(gc(16000).DOTNET_GCHeapCount, "0x10");
    });

    it("derives the disk tier's entry cap from what the limit leaves, never above one entry per 4 KiB of disk", async () => {
        const { defaultDiskMaxEntries, DISK_INDEX_BYTES_PER_ENTRY } = await import("../../components");
        assert.equal(defaultDiskMaxEntries(512 * MiB, 256 * MiB, 1024 * MiB), Math.floor(48 * MiB / DISK_INDEX_BYTES_PER_ENTRY));
        assert.equal(defaultDiskMaxEntries(4096 * MiB, 256 * MiB, 64 * MiB), 64 * MiB / 4096);
        assert.equal(defaultDiskMaxEntries(300 * MiB, 256 * MiB, 1024 * MiB), 0);
    });
});

describe("the memory rule in the stack config", () => {
    it("refuses the 112 MiB container with a 64 MiB tier that was OOM-killed, naming the fields", async () => {
        const errors = await errorsOf("small", devWith({ resources: { cpu: { request: "250m", limit: "1" }, memory: { request: "112Mi", limit: "112Mi" } }, cache: { memoryBytes: 64 * MiB } }));
        assert.ok(errors.some((e) => /^edge\.resources\.memory\.limit: 112Mi is below the 200 MiB the edge node needs: 96 MiB for the \.NET runtime \+ the 64 MiB tier \(edge\.cache\.memoryBytes\)/.test(e)), errors.join("\n"));
    });

    it("refuses a disk index that does not fit, naming edge.cache.diskMaxEntries", async () => {
        const errors = await errorsOf("entries", devWith({ cache: { diskMaxEntries: 1_000_000 } }));
        assert.ok(errors.some((e) => e.startsWith("edge.resources.memory.limit: 512Mi is below") && e.includes("edge.cache.diskMaxEntries 1000000")), errors.join("\n"));
    });

    it("refuses a limit that leaves the disk tier no index at all", async () => {
        // 96 + 256 + 64 = 416 MiB: 420 MiB leaves 4 MiB, 2 for the index, ~1,600 entries; 416 leaves none.
        const errors = await errorsOf("no-index", devWith({ resources: { cpu: { request: "250m", limit: "1" }, memory: { request: "416Mi", limit: "416Mi" } } }));
        assert.ok(errors.some((e) => e.startsWith("edge.resources.memory.limit: 416Mi leaves no room for the disk tier's index")), errors.join("\n"));
    });
});

for (const stack of ["dev", "prod"]) {
    describe(`the edge Deployment's runtime settings (${stack})`, () => {
        it("sets the heap limit, the GC mode and the disk cap from the formula and the stack's limits", async () => {
            const { defaultDiskMaxEntries, edgeRuntimeSettings, parseByteQuantity, parseCdnConfig, parseCpuQuantity } = await import("../../components");
            const cfg = parseCdnConfig(stackConfig(stack)).edge;
            const limit = parseByteQuantity(cfg.resources.memory.limit)!;
            assert.equal(cfg.cache.diskMaxEntries, defaultDiskMaxEntries(limit, cfg.cache.memoryBytes, cfg.cache.diskBytes));
            const expected = edgeRuntimeSettings({
                memoryLimitBytes: limit, cpuLimitMillicores: parseCpuQuantity(cfg.resources.cpu.limit)!,
                memoryTierBytes: cfg.cache.memoryBytes, diskMaxEntries: cfg.cache.diskMaxEntries,
            });
            const built = await buildCdn(`edgecdn-${stack}`, stackConfig(stack));
            const deployments = ofType("kubernetes:apps/v1:Deployment", edgeOnly(built.resources));
            assert.ok(deployments.length >= 2);
            for (const d of deployments) {
                const env = d.inputs.spec.template.spec.containers[0].env as { name: string; value?: string }[];
                const value = (name: string) => env.find((e) => e.name === name)?.value;
                assert.equal(value("DOTNET_GCHeapHardLimit"), expected.env.DOTNET_GCHeapHardLimit);
                assert.equal(value("DOTNET_gcServer"), expected.gcServer ? "1" : "0");
                assert.equal(value("DOTNET_GCHeapCount"), expected.env.DOTNET_GCHeapCount);
                assert.ok(expected.heapHardLimitBytes >= cfg.cache.memoryBytes, "the heap holds at least the tier");
            }
            for (const cm of ofType("kubernetes:core/v1:ConfigMap", edgeOnly(built.resources))) {
                const data = Object.values(cm.inputs.data as Record<string, string>)[0];
                assert.equal((JSON.parse(data) as { cache: { disk: { maxEntries: number } } }).cache.disk.maxEntries, cfg.cache.diskMaxEntries);
            }
        });
    });
}

// How an edge container's memory limit is shared out, and the .NET runtime settings that hold the node to it. One
// formula for the config rule (edge.ts), the Deployment's environment (edgeNodes.ts) and bench/memory.py; the edge
// server checks the same sums at start (edge-image/EdgeCache/Hosting/MemoryBudget.cs). Measurements: docs/decisions/0026.

const MiB = 1024 * 1024;

/**
 * What the node uses outside its garbage-collected heap: the runtime's and the framework's code mapped from the image
 * (~51 MiB, charged to the container that first reads it), the runtime's own shared memory (~16 MiB), native memory and
 * thread stacks under load (~20 MiB), and the kernel's share for the pod. Measured idle at 78-81 MiB resident.
 */
export const RUNTIME_RESERVE_BYTES = 96 * MiB;

/** What the heap needs beyond what it holds for the cache: garbage between collections and requests in flight. */
export function heapHeadroomBytes(memoryTierBytes: number): number {
    return 32 * MiB + Math.floor(memoryTierBytes / 8);
}

/** What the disk tier's index keeps on the heap per entry (its keys, file path and bookkeeping): measured 1.1-1.25 KB with 50-character URLs, and each character more costs two bytes. */
export const DISK_INDEX_BYTES_PER_ENTRY = 1536;

/** No more disk entries than the volume has 4 KiB blocks: a file takes at least one. */
export const DISK_BLOCK_BYTES = 4096;

/** Below this the server keeps one heap (workstation GC): server GC needs a core per heap to gain anything. */
export const SERVER_GC_MIN_MILLICORES = 2000;

export interface EdgeRuntimeInput {
    /** The container's memory limit. */
    memoryLimitBytes: number;
    /** The container's CPU limit. */
    cpuLimitMillicores: number;
    /** cache.memoryBytes. */
    memoryTierBytes: number;
    /** cache.disk.maxEntries; 0 without a disk tier. */
    diskMaxEntries?: number;
}

export interface EdgeRuntimeSettings {
    /** DOTNET_GCHeapHardLimit: the tier, its headroom, the disk index, and half of what the limit leaves beyond them. */
    heapHardLimitBytes: number;
    /**
     * What the limit leaves for bodies the node maps into in-memory files (sendfile): outside the heap, so outside its
     * limit. The node derives the same figure from its cgroup and its heap limit at start and maps no more.
     */
    mappedBodyBytes: number;
    gcServer: boolean;
    /** Server GC only: one heap per whole CPU of the limit. */
    gcHeapCount?: number;
    /** The container's environment for these settings. */
    env: Record<string, string>;
}

/** The smallest memory limit a node with this tier and disk index fits in. */
export function minimumMemoryLimitBytes(memoryTierBytes: number, diskMaxEntries = 0): number {
    return RUNTIME_RESERVE_BYTES + memoryTierBytes + heapHeadroomBytes(memoryTierBytes) + diskMaxEntries * DISK_INDEX_BYTES_PER_ENTRY;
}

/**
 * The default cache.disk.maxEntries: the index may take half of what the limit leaves beyond the runtime, the tier and
 * its headroom, and there are never more entries than the disk has blocks. 0 when nothing is left.
 */
export function defaultDiskMaxEntries(memoryLimitBytes: number, memoryTierBytes: number, diskBytes: number): number {
    const spare = memoryLimitBytes - minimumMemoryLimitBytes(memoryTierBytes);
    return Math.max(0, Math.min(Math.floor(spare / 2 / DISK_INDEX_BYTES_PER_ENTRY), Math.floor(diskBytes / DISK_BLOCK_BYTES)));
}

/** The runtime settings for a container with these limits; throws if the tier does not fit (the config rule says why first). */
export function edgeRuntimeSettings(input: EdgeRuntimeInput): EdgeRuntimeSettings {
    const needed = minimumMemoryLimitBytes(input.memoryTierBytes, input.diskMaxEntries ?? 0);
    const spare = input.memoryLimitBytes - needed;
    if (spare < 0) {
        throw new Error(`a memory limit of ${input.memoryLimitBytes} bytes is below the ${needed} the cache needs`);
    }
    const heapHardLimitBytes = needed - RUNTIME_RESERVE_BYTES + Math.floor(spare / 2);
    const gcServer = input.cpuLimitMillicores >= SERVER_GC_MIN_MILLICORES;
    const gcHeapCount = gcServer ? Math.floor(input.cpuLimitMillicores / 1000) : undefined;
    const env: Record<string, string> = {
        DOTNET_GCHeapHardLimit: "0x" + heapHardLimitBytes.toString(16),
        DOTNET_gcServer: gcServer ? "1" : "0",
    };
    if (gcHeapCount !== undefined) {
        env.DOTNET_GCHeapCount = "0x" + gcHeapCount.toString(16);
        // Otherwise the runtime pins the heaps' threads to the node's first cores, the same ones in every pod.
        env.DOTNET_GCNoAffinitize = "1";
    }
    return {
        heapHardLimitBytes,
        mappedBodyBytes: input.memoryLimitBytes - RUNTIME_RESERVE_BYTES - heapHardLimitBytes,
        gcServer,
        gcHeapCount,
        env,
    };
}

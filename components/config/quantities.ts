// Kubernetes quantities: the edge pod's CPU and memory, and its cache volume's size.

const QUANTITY_SUFFIX: Record<string, number> = {
    "": 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3, Ti: 1024 ** 4,
};

/** Bytes of a Kubernetes memory/storage quantity ("512Mi", "2Gi", "1G"), or undefined when it is not one. */
export function parseByteQuantity(q: string): number | undefined {
    const m = /^([0-9]+(?:\.[0-9]+)?)(Ki|Mi|Gi|Ti|k|M|G|T)?$/.exec(q);
    return m ? Math.floor(parseFloat(m[1]) * QUANTITY_SUFFIX[m[2] ?? ""]) : undefined;
}

/** Millicores of a CPU quantity ("250m", "1", "1.5"), or undefined. */
export function parseCpuQuantity(q: string): number | undefined {
    const m = /^([0-9]+(?:\.[0-9]+)?)(m)?$/.exec(q);
    if (!m) { return undefined; }
    return m[2] ? parseFloat(m[1]) : parseFloat(m[1]) * 1000;
}

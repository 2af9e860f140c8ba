// IPv4 networks: the VPC of a created cluster and its subnets, and who may reach the admin port and the Kubernetes
// API from outside.

import { Checker, describe } from "./checker";
import { AdminConfig, KubernetesApiConfig } from "./types";

const CIDR = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/;

export function parseCidr(cidr: string): { base: number; prefix: number } | undefined {
    const m = CIDR.exec(cidr);
    if (!m) { return undefined; }
    const octets = m.slice(1, 5).map(Number);
    const prefix = Number(m[5]);
    if (octets.some((o) => o > 255) || prefix > 32) { return undefined; }
    const base = ((octets[0] << 24) >>> 0) + (octets[1] << 16) + (octets[2] << 8) + octets[3];
    const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
    if ((base & ~mask) >>> 0 !== 0) { return undefined; }
    return { base, prefix };
}

/** The i-th subnet of `cidr` with `newBits` more prefix bits ("10.0.0.0/16", 4, 1 → "10.0.16.0/20"). */
export function subnetCidr(cidr: string, newBits: number, index: number): string {
    const parsed = parseCidr(cidr);
    if (!parsed) { throw new Error(`${cidr} is not an IPv4 CIDR`); }
    const prefix = parsed.prefix + newBits;
    const addr = (parsed.base + index * 2 ** (32 - prefix)) >>> 0;
    return `${addr >>> 24}.${(addr >>> 16) & 255}.${(addr >>> 8) & 255}.${addr & 255}/${prefix}`;
}

export function parseAdmin(c: Checker, v: unknown): AdminConfig | undefined {
    const o = v === undefined ? {} : c.object("admin", v, ["allowedCidrs"]);
    if (!o) { return undefined; }
    if (o.allowedCidrs === undefined) { return { allowedCidrs: [] }; }
    const list = c.array("admin.allowedCidrs", o.allowedCidrs);
    if (!list) { return undefined; }
    const out: string[] = [];
    for (const [i, cidr] of list.entries()) {
        const s = c.string(`admin.allowedCidrs[${i}]`, cidr, { expected: "an IPv4 CIDR such as 203.0.113.0/24" });
        if (s === undefined) { continue; }
        if (!parseCidr(s)) {
            c.add(`admin.allowedCidrs[${i}]`, `${describe(s)} is not an IPv4 network in CIDR form (expected e.g. 203.0.113.0/24)`);
        } else if (s.endsWith("/0")) {
            c.add(`admin.allowedCidrs[${i}]`, `${describe(s)} would open the purge API to the whole internet; leave allowedCidrs empty to keep it inside the cluster`);
        } else {
            out.push(s);
        }
    }
    return out.length === list.length ? { allowedCidrs: out } : undefined;
}

/**
 * Who may reach the API endpoints of the clusters the stack creates from outside their VPCs. Required when a cluster
 * is created; the whole internet only when allowPublicApiFromAnywhere says so (the API still needs credentials, but
 * an endpoint nobody can reach cannot be attacked).
 */
export function parseKubernetesApi(c: Checker, v: unknown, createsClusters: boolean): KubernetesApiConfig | undefined {
    if (v === undefined) {
        if (createsClusters) {
            c.add("kubernetesApi.publicAccessCidrs", "is required when the stack creates a cluster: the networks (IPv4 CIDRs) where pulumi up and kubectl run, e.g. [203.0.113.0/24]; [] keeps the API endpoint private to the VPC");
            return undefined;
        }
        return { publicAccessCidrs: [] };
    }
    const o = c.object("kubernetesApi", v, ["publicAccessCidrs", "allowPublicApiFromAnywhere"]);
    if (!o) { return undefined; }
    const anywhere = c.boolean("kubernetesApi.allowPublicApiFromAnywhere", o.allowPublicApiFromAnywhere, false);
    const list = c.array("kubernetesApi.publicAccessCidrs", o.publicAccessCidrs);
    if (!list) { return undefined; }
    const out: string[] = [];
    for (const [i, cidr] of list.entries()) {
        const at = `kubernetesApi.publicAccessCidrs[${i}]`;
        const s = c.string(at, cidr, { expected: "an IPv4 CIDR such as 203.0.113.0/24" });
        if (s === undefined) { continue; }
        if (!parseCidr(s)) {
            c.add(at, `${describe(s)} is not an IPv4 network in CIDR form (expected e.g. 203.0.113.0/24)`);
        } else if (s.endsWith("/0") && !anywhere) {
            c.add(at, `${describe(s)} would let the whole internet reach the EKS API endpoints; list the networks pulumi up and kubectl run from, or set kubernetesApi.allowPublicApiFromAnywhere: true to mean it`);
        } else {
            out.push(s);
        }
    }
    return out.length === list.length ? { publicAccessCidrs: out } : undefined;
}

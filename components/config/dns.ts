// The viewer domain, the Route 53 hosted zone it lives in, the regional names each certificate covers, and the
// health checks latency routing relies on.

import { DEFAULT_HEALTH_CHECK_QUOTA, HEALTH_CHECKER_REGIONS } from "./aws";
import { Checker, describe } from "./checker";
import { HealthCheckConfig, RegionConfig } from "./types";

const DNS_NAME = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]([a-z0-9-]{0,61}[a-z0-9])?$/;
const ZONE_ID = /^Z[A-Z0-9]{4,32}$/;

export function parseDomain(c: Checker, v: unknown): string | undefined {
    const domain = c.string("domain", v, {
        pattern: DNS_NAME, expected: "the viewer hostname in lower case, e.g. cdn.example.com",
    });
    if (domain !== undefined && domain.length > 64) {
        c.add("domain", `${describe(domain)} is ${domain.length} characters; ACM certificates allow at most 64 in the first domain name`);
    }
    return domain;
}

/** The per-region names each regional certificate covers besides the viewer domain. */
export function regionalNames(domain: string, region: string): { regional: string; admin: string } & Iterable<string> {
    const regional = `${region}.${domain}`;
    const admin = `admin.${region}.${domain}`;
    return { regional, admin, *[Symbol.iterator]() { yield regional; yield admin; } };
}

export function parseHostedZone(c: Checker, v: unknown, domain: string | undefined): string | undefined {
    const zone = c.string("hostedZone", v, { expected: "the Route 53 hosted zone's name (example.com) or id (Z0123456789ABC)" });
    if (zone === undefined) { return undefined; }
    if (ZONE_ID.test(zone)) { return zone; }
    const name = zone.replace(/\.$/, "");
    if (!DNS_NAME.test(name)) {
        c.add("hostedZone", `${describe(zone)} is neither a hosted zone name nor a zone id (expected e.g. example.com or Z0123456789ABC)`);
        return undefined;
    }
    if (domain && domain !== name && !domain.endsWith(`.${name}`)) {
        c.add("domain", `${describe(domain)} is not inside the hosted zone ${name} (expected ${name} or a name ending in .${name})`);
    }
    return name;
}

/** Each region's own names (<region>.<domain>, admin.<region>.<domain>) must be valid DNS names too. */
export function checkRegionalNames(c: Checker, domain: string, regions: RegionConfig[]): void {
    for (const [i, r] of regions.entries()) {
        for (const name of regionalNames(domain, r.name)) {
            if (name.length > 253 || name.split(".").some((l) => l.length > 63)) {
                c.add(`regions[${i}].name`, `the regional name ${name} is not a valid DNS name (too long); use a shorter domain`);
            }
        }
    }
}

export function parseHealthCheck(c: Checker, v: unknown, regionCount: number | undefined): HealthCheckConfig | undefined {
    const o = v === undefined ? {} : c.object("healthCheck", v, [
        "intervalSeconds", "failureThreshold", "measureLatency", "checkerRegions", "accountQuota", "existingInAccount",
    ]);
    if (!o) { return undefined; }
    const intervalSeconds = c.oneOf("healthCheck.intervalSeconds", o.intervalSeconds, [10, 30] as const, 30);
    const failureThreshold = c.integer("healthCheck.failureThreshold", o.failureThreshold, 1, 10, 3);
    const measureLatency = c.boolean("healthCheck.measureLatency", o.measureLatency, false);
    let checkerRegions: string[] | undefined;
    if (o.checkerRegions !== undefined) {
        const list = c.array("healthCheck.checkerRegions", o.checkerRegions);
        if (list) {
            const parsed = list.map((r, i) => c.oneOf(`healthCheck.checkerRegions[${i}]`, r, HEALTH_CHECKER_REGIONS));
            if (list.length < 3) {
                c.add("healthCheck.checkerRegions", `has ${list.length}; Route 53 needs at least 3 health-checker regions`);
            } else if (parsed.every((r) => r !== undefined)) {
                checkerRegions = parsed as string[];
            }
        }
    }
    const accountQuota = c.integer("healthCheck.accountQuota", o.accountQuota, 1, 100000, DEFAULT_HEALTH_CHECK_QUOTA);
    const existingInAccount = c.integer("healthCheck.existingInAccount", o.existingInAccount, 0, 100000, 0);
    if (regionCount !== undefined && accountQuota !== undefined && existingInAccount !== undefined &&
        regionCount + existingInAccount > accountQuota) {
        c.add("regions", `${regionCount} regions need ${regionCount} Route 53 health checks; with the ${existingInAccount} the account already has (healthCheck.existingInAccount) that exceeds the account's quota of ${accountQuota} health checks (healthCheck.accountQuota; Route 53's default is ${DEFAULT_HEALTH_CHECK_QUOTA} per account, raise it through Service Quotas)`);
        return undefined;
    }
    if (!intervalSeconds || !failureThreshold || !accountQuota || existingInAccount === undefined) { return undefined; }
    return { intervalSeconds, failureThreshold, measureLatency, checkerRegions, accountQuota, existingInAccount };
}

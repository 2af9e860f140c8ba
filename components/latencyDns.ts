// Latency-based steering: a Route 53 health check per region on the regional NLB, and one latency record per region
// (A and AAAA, alias to that NLB, evaluate target health, health check attached). A failing region drops out and
// viewers go to the next nearest. When EVERY region is unhealthy Route 53 fails open: it answers as if all were healthy.

import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { HealthCheckConfig, MAX_LATENCY_RECORDS_PER_NAME_AND_TYPE } from "./config";
import { HTTPS_PORT, VIEWER_HEALTH_PATH } from "./constants";

export interface RegionalEndpoint {
    region: string;
    /** The regional NLB's DNS name. */
    hostname: pulumi.Input<string>;
    /** Canonical hosted zone of NLBs in that region (for the alias). */
    loadBalancerZoneId: pulumi.Input<string>;
    /** `<region>.<domain>`: a plain alias to this region's NLB, for operators and tests of one region. */
    regionalName: string;
    /** Admin NLB and its name, when the admin port is exposed. */
    admin?: { hostname: pulumi.Input<string>; name: string };
}

export interface LatencyDnsArgs {
    zoneId: pulumi.Input<string>;
    domain: string;
    endpoints: RegionalEndpoint[];
    healthCheck: HealthCheckConfig;
    tags?: Record<string, string>;
}

export class LatencyDns extends pulumi.ComponentResource {
    /** Health check id, keyed by region. */
    public readonly healthCheckIds: Record<string, pulumi.Output<string>> = {};

    constructor(name: string, args: LatencyDnsArgs, opts?: pulumi.ComponentResourceOptions) {
        const regions = args.endpoints.map((e) => e.region);
        if (regions.length === 0) { throw new Error("LatencyDns: at least one regional endpoint is required"); }
        if (new Set(regions).size !== regions.length) { throw new Error(`LatencyDns: a region appears twice in ${regions.join(", ")}`); }
        if (regions.length > MAX_LATENCY_RECORDS_PER_NAME_AND_TYPE) {
            throw new Error(`LatencyDns: Route 53 allows at most ${MAX_LATENCY_RECORDS_PER_NAME_AND_TYPE} latency records per name and type`);
        }
        super("edgecdn:index:LatencyDns", name, {}, opts);
        const parent = { parent: this };

        for (const e of args.endpoints) {
            const base = `${name}-${e.region}`;
            const check = new aws.route53.HealthCheck(base, {
                type: "HTTPS",
                fqdn: e.hostname,
                port: HTTPS_PORT,
                resourcePath: VIEWER_HEALTH_PATH,
                // The NLB presents the domain's certificate; Route 53 does not verify it, SNI just makes it choose one.
                enableSni: true,
                requestInterval: args.healthCheck.intervalSeconds,
                failureThreshold: args.healthCheck.failureThreshold,
                measureLatency: args.healthCheck.measureLatency,
                regions: args.healthCheck.checkerRegions,
                tags: { ...args.tags, Name: `${args.domain} ${e.region}` },
            }, parent);
            this.healthCheckIds[e.region] = check.id;

            for (const type of ["A", "AAAA"] as const) {
                new aws.route53.Record(`${base}-${type.toLowerCase()}`, {
                    zoneId: args.zoneId,
                    name: args.domain,
                    type,
                    setIdentifier: e.region,
                    latencyRoutingPolicies: [{ region: e.region }],
                    aliases: [{ name: e.hostname, zoneId: e.loadBalancerZoneId, evaluateTargetHealth: true }],
                    healthCheckId: check.id,
                }, parent);
            }

            new aws.route53.Record(`${base}-regional`, {
                zoneId: args.zoneId,
                name: e.regionalName,
                type: "A",
                aliases: [{ name: e.hostname, zoneId: e.loadBalancerZoneId, evaluateTargetHealth: false }],
            }, parent);
            if (e.admin) {
                new aws.route53.Record(`${base}-admin`, {
                    zoneId: args.zoneId,
                    name: e.admin.name,
                    type: "A",
                    aliases: [{ name: e.admin.hostname, zoneId: e.loadBalancerZoneId, evaluateTargetHealth: false }],
                }, parent);
            }
        }
        this.registerOutputs({ healthCheckIds: this.healthCheckIds });
    }
}

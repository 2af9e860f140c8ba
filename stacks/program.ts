// Reads the stack's `edgecdn:*` config, parses it into the typed config the Cdn component takes, and builds the Cdn.
// Every key under the namespace is passed to the parser, so a misspelt key is reported as unknown instead of silently
// ignored, and a bad config stops `pulumi up` with every problem listed before any resource is registered.

import * as pulumi from "@pulumi/pulumi";
import * as path from "path";
import { Cdn, CdnArgs, parseCdnConfig } from "../components";

/** Namespace of this project's config keys (the `name` in Pulumi.yaml). */
export const CONFIG_NAMESPACE = "edgecdn";

/** The raw `edgecdn:*` values; structured values (lists, objects) arrive from the engine as JSON text. */
export function readRawConfig(all: Record<string, string> = pulumi.runtime.allConfig()): Record<string, unknown> {
    const raw: Record<string, unknown> = {};
    const prefix = `${CONFIG_NAMESPACE}:`;
    for (const [key, value] of Object.entries(all)) {
        if (!key.startsWith(prefix)) { continue; }
        const name = key.slice(prefix.length);
        raw[name] = /^\s*[[{]/.test(value) ? parseJson(value) : value;
    }
    return raw;
}

function parseJson(value: string): unknown {
    try {
        return JSON.parse(value);
    } catch {
        return value;
    }
}

/**
 * Validates raw config (throwing one CdnConfigError with every problem) and builds the Cdn named `name` from the typed
 * result. `now` is the day Kubernetes versions are checked against the EKS calendar; default: today.
 */
export function createCdn(name: string, raw: unknown, args: Omit<CdnArgs, "config"> & { now?: Date },
    opts?: pulumi.ComponentResourceOptions): Cdn {
    const { now, ...rest } = args;
    const config = parseCdnConfig(raw, { now, name });
    return new Cdn(name, { ...rest, config }, opts);
}

/** Builds the CDN for the current stack and returns what the stack exports. */
export function createCdnStack(raw: Record<string, unknown> = readRawConfig()) {
    const cdn = createCdn(`edgecdn-${pulumi.getStack()}`, raw, { projectRoot: path.resolve(__dirname, "..") });
    const regions = Object.entries(cdn.regions);
    const byRegion = <T>(pick: (r: (typeof regions)[number][1]) => T) => Object.fromEntries(regions.map(([name, r]) => [name, pick(r)]));
    return {
        viewerUrl: cdn.viewerUrl,
        regions: cdn.regions,
        endpoints: byRegion((r) => r.endpoint),
        healthCheckIds: byRegion((r) => r.healthCheckId),
        images: byRegion((r) => r.image),
        adminEndpoints: byRegion((r) => r.adminEndpoint),
        buckets: cdn.buckets,
        adminToken: cdn.adminToken,
        controlBucket: cdn.controlBucket,
        controlBucketRegion: cdn.controlBucketRegion,
        invalidatorPolicyArn: cdn.invalidatorPolicyArn,
        metricsWorkspaceId: cdn.observability.workspace?.id,
        metricsWorkspaceArn: cdn.observability.workspace?.arn,
        metricsQueryUrl: cdn.observability.workspace?.queryUrl,
        metricsRemoteWriteUrl: cdn.observability.remoteWriteUrl,
        alertRules: cdn.observability.alertRules,
        accessLogBucket: cdn.observability.accessLogs?.bucket,
        accessLogBucketRegion: cdn.observability.accessLogs?.region,
    };
}

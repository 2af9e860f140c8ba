// Names the stack derives from its own name (the Cdn component's, edgecdn-<stack>) and AWS's limits on them, so a long
// stack, region or origin name fails config validation with a clear message instead of failing `pulumi up` halfway.
// The components name their resources after their own names; tests check these patterns against what they register.

import { CdnConfigError, Checker, describe } from "./checker";
import { CdnConfig, ObservabilityConfig, OriginConfig, RegionConfig } from "./types";

/** Pulumi auto-names AWS resources `<resource name>-<7 random hex characters>`. */
export const AUTONAME_SUFFIX_LENGTH = 8;
export const IAM_ROLE_NAME_MAX = 64;
export const EKS_NODE_GROUP_NAME_MAX = 63;
export const EKS_CLUSTER_NAME_MAX = 100;

/** The IAM roles (resource names, before auto-naming) of one region, by what they are for. */
export function regionalRoleNames(cdnName: string, region: string,
    opts: { createsCluster: boolean; autoscaler: boolean; metricsAgent?: boolean; logShipper?: boolean }): Record<string, string> {
    const base = `${cdnName}-${region}`;
    return {
        "the edge service account": `${base}-edge`,
        ...(opts.createsCluster ? {
            "the EKS cluster": `${base}-cluster`,
            "the nodes": `${base}-nodes`,
            "the VPC CNI": `${base}-vpc-cni`,
            "the AWS Load Balancer Controller": `${base}-lb-controller-irsa`,
        } : {}),
        ...(opts.autoscaler ? { "the Cluster Autoscaler": `${base}-cluster-autoscaler-irsa` } : {}),
        ...(opts.metricsAgent ? { "the metrics agent": `${base}-metrics-agent-irsa` } : {}),
        ...(opts.logShipper ? { "the log shipper": `${base}-log-shipper-irsa` } : {}),
    };
}

/** The S3 replication role of a created origin. */
export function replicationRoleName(cdnName: string, origin: string): string {
    return `${cdnName}-origins-${origin}-replication`;
}

/** The EKS cluster of a region (a fixed name, see EdgeRegion) and its node groups (auto-named). */
export function clusterName(cdnName: string, region: string): string {
    return `${cdnName}-${region}`;
}

export function nodeGroupNames(cdnName: string, region: string, zones: number, autoscaler: boolean): string[] {
    const base = `${cdnName}-${region}-nodes`;
    return autoscaler ? Array.from({ length: zones }, (_, i) => `${base}-${i}`) : [base];
}

/** The longest an auto-named resource name may be to fit `max` characters. */
export function autonamedLength(resourceName: string): number {
    return resourceName.length + AUTONAME_SUFFIX_LENGTH;
}

/**
 * AWS's name limits on what the stack names after itself: IAM roles (64), EKS node groups (63), the EKS cluster
 * (100). Auto-named resources get 8 more characters. A long stack, region or origin name is reported here, before
 * anything exists, rather than by IAM halfway through `pulumi up`.
 */
export function addDerivedNameErrors(c: Checker, cdnName: string, regions: RegionConfig[], primaryRegion: string, origins: OriginConfig[],
    observability?: ObservabilityConfig): void {
    const shorten = `shorten the stack name (the CDN is named ${describe(cdnName)} after it)`;
    const tooLong = (at: string, what: string, name: string, length: number, max: number, how: string) => {
        if (length > max) {
            c.add(at, `${what} would be named ${describe(name)}${length > name.length ? " plus an 8-character suffix" : ""}, ${length} characters; AWS allows ${max}: ${how}`);
        }
    };
    regions.forEach((r, i) => {
        const at = `regions[${i}].name`;
        const create = "create" in r.cluster ? r.cluster.create : undefined;
        const roles = regionalRoleNames(cdnName, r.name, {
            createsCluster: create !== undefined,
            autoscaler: create?.clusterAutoscaler.enabled ?? false,
            metricsAgent: observability !== undefined && observability.metrics.kind !== "off",
            logShipper: observability?.accessLogs.enabled ?? false,
        });
        for (const [what, role] of Object.entries(roles)) {
            tooLong(at, `the IAM role of ${what} in ${r.name}`, role, autonamedLength(role), IAM_ROLE_NAME_MAX, shorten);
        }
        if (create) {
            const cluster = clusterName(cdnName, r.name);
            tooLong(at, `the EKS cluster in ${r.name}`, cluster, cluster.length, EKS_CLUSTER_NAME_MAX, shorten);
            for (const group of nodeGroupNames(cdnName, r.name, create.availabilityZones, create.clusterAutoscaler.enabled)) {
                tooLong(at, `the EKS node group ${group}`, group, autonamedLength(group), EKS_NODE_GROUP_NAME_MAX, shorten);
            }
        }
    });
    origins.forEach((o, i) => {
        if (o.type !== "s3" || o.kind !== "created" || !o.replicate || !regions.some((r) => r.name !== primaryRegion)) { return; }
        const role = replicationRoleName(cdnName, o.name);
        tooLong(`origins[${i}].name`, `the S3 replication role of origin ${o.name}`, role, autonamedLength(role), IAM_ROLE_NAME_MAX,
            `shorten the origin's name or the stack name (the CDN is named ${describe(cdnName)})`);
    });
}

/**
 * The same check for a config parsed without the CDN's name: throws a CdnConfigError naming every name that would be
 * too long, so the Cdn stops before registering anything.
 */
export function checkDerivedNames(cdnName: string, config: Pick<CdnConfig, "regions" | "primaryRegion" | "origins"> & Partial<Pick<CdnConfig, "observability">>): void {
    // The day only matters to version checks, which this does not run.
    const c = new Checker(new Date());
    addDerivedNameErrors(c, cdnName, config.regions, config.primaryRegion, config.origins, config.observability);
    if (c.errors.length > 0) { throw new CdnConfigError(c.errors); }
}

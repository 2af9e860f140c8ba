// Names the stack derives from its own name (the Cdn component's, edgecdn-<stack>) and AWS's limits on them, so a long
// stack, region or origin name fails config validation with a clear message instead of failing `pulumi up` halfway.
// The components name their resources after their own names; tests check these patterns against what they register.

/** Pulumi auto-names AWS resources `<resource name>-<7 random hex characters>`. */
export const AUTONAME_SUFFIX_LENGTH = 8;
export const IAM_ROLE_NAME_MAX = 64;
export const EKS_NODE_GROUP_NAME_MAX = 63;
export const EKS_CLUSTER_NAME_MAX = 100;

/** The IAM roles (resource names, before auto-naming) of one region, by what they are for. */
export function regionalRoleNames(cdnName: string, region: string, opts: { createsCluster: boolean; autoscaler: boolean }): Record<string, string> {
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

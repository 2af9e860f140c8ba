// The stack config: parseCdnConfig turns the raw `edgecdn:*` values into the typed CdnConfig the components take.
// One file per section (behaviors, origins, regions, cluster, edge, dns, network, image), the Checker they report
// to, and the tables they read (aws.ts, names.ts, versions.ts).

export * from "./types";
export { CdnConfigError } from "./checker";
export { parseCdnConfig, TOP_LEVEL_KEYS } from "./parse";
export { AWS_REGIONS, DEFAULT_HEALTH_CHECK_QUOTA, HEALTH_CHECKER_REGIONS, MAX_LATENCY_RECORDS_PER_NAME_AND_TYPE } from "./aws";
export { EDGE_SCHEMA_PATH } from "./edgeSchema";
export { checkEdgeServerConfig } from "./edgeRules";
export { isGraviton } from "./cluster";
export { INVALIDATION_DEFAULTS } from "./invalidation";
export { DEFAULT_CLUSTER_AUTOSCALER_CHART_VERSION } from "./clusterVersions";
export { regionalNames } from "./dns";
export { parseCidr, subnetCidr } from "./network";
export { LOCAL_MEMBER_SUFFIX, PRIMARY_MEMBER_SUFFIX } from "./origins";
export { DEFAULT_ACCESS_LOG_EXPIRE_DAYS, DEFAULT_ALERT_THRESHOLDS } from "./observability";
export { parseByteQuantity, parseCpuQuantity } from "./quantities";
export {
    DISK_BLOCK_BYTES, DISK_INDEX_BYTES_PER_ENTRY, RUNTIME_RESERVE_BYTES, SERVER_GC_MIN_MILLICORES, defaultDiskMaxEntries, edgeRuntimeSettings,
    EdgeRuntimeInput, EdgeRuntimeSettings, heapHeadroomBytes, minimumMemoryLimitBytes,
} from "./runtime";
export {
    AUTONAME_SUFFIX_LENGTH, autonamedLength, checkDerivedNames, clusterName, EKS_CLUSTER_NAME_MAX, EKS_NODE_GROUP_NAME_MAX,
    IAM_ROLE_NAME_MAX, nodeGroupNames, regionalRoleNames, replicationRoleName,
} from "./names";
export * from "./versions";

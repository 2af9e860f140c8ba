// The stack config's shape after validation, with defaults applied: what the components take. parseCdnConfig
// (./parse.ts) produces it from the raw `edgecdn:*` values.

/** A cache behavior: exactly the edge server's schema `$defs/behavior`, so it round-trips into the ConfigMap. */
export interface Behavior {
    pathPattern: string;
    origin: string;
    minTtlSeconds?: number;
    defaultTtlSeconds?: number;
    maxTtlSeconds?: number;
    staleIfErrorSeconds?: number;
    allowedMethods?: string[];
    compress?: boolean;
    cacheKey?: {
        queryStrings?: "none" | "all" | "allowList";
        queryStringNames?: string[];
        headers?: string[];
        cookies?: string[];
    };
    /** Named headers and cookies, or every one: "allViewer" / "allViewerExceptHost" and "all" (see docs/configuration.md). */
    originRequest?: { headers?: string[] | "allViewer" | "allViewerExceptHost"; cookies?: string[] | "all"; allQueryStrings?: boolean };
    cacheSetCookieResponses?: boolean;
    respectViewerCacheControl?: boolean;
    stripCdnCacheControl?: boolean;
}

/** A bucket the stack creates in the primary region, replicated to every edge region when `replicate` is on. */
export interface CreatedS3Origin {
    name: string;
    type: "s3";
    kind: "created";
    replicate: boolean;
    keyPrefix?: string;
    noncurrentVersionDays: number;
    /** S3 Replication Time Control (15-minute SLA, $0.015/GB) with replication metrics, on every replication rule. */
    replicationTimeControl: boolean;
}

/** A bucket that already exists; every region reads it where it is. */
export interface ExistingS3Origin {
    name: string;
    type: "s3";
    kind: "existing";
    bucket: string;
    region: string;
    keyPrefix?: string;
    /** The bucket's SSE-KMS key: the edge role may use it to decrypt, through S3 only. */
    kmsKeyArn?: string;
}

export interface HttpOrigin {
    name: string;
    type: "http";
    url: string;
    hostHeader?: string;
    connectTimeoutMs?: number;
    readTimeoutMs?: number;
    maxConnections?: number;
    /** A separate pool for requests forwarded for one viewer (uploads, cache bypasses); see edgecache.schema.json. */
    maxPassThroughConnections?: number;
    healthPath?: string;
}

export type OriginConfig = CreatedS3Origin | ExistingS3Origin | HttpOrigin;

export interface CreateClusterConfig {
    kubernetesVersion: string;
    instanceTypes: string[];
    nodes: { min: number; desired: number; max: number };
    availabilityZones: number;
    vpcCidr: string;
    diskSizeGb: number;
    /** The Kubernetes Cluster Autoscaler, which resizes the node groups between nodes.min and nodes.max. */
    clusterAutoscaler: ClusterAutoscalerConfig;
    /** NAT gateways for the private subnets' egress: one per availability zone, or one for the region. */
    natGateways: "perZone" | "one";
    /** ECR (api, dkr) and STS interface endpoints in the private subnets. */
    interfaceEndpoints: boolean;
}

export interface KubernetesApiConfig {
    /** Networks that may reach created clusters' API endpoints from outside their VPC; empty: private endpoint only. */
    publicAccessCidrs: string[];
}

export interface ClusterAutoscalerConfig {
    /** Default: on when nodes.min < nodes.max (with min = max there is nothing to scale). */
    enabled: boolean;
    /** Version of the `cluster-autoscaler` Helm chart. */
    chartVersion: string;
    /** The autoscaler image's tag; default v<kubernetesVersion>.0, since its minor version should match the cluster's. */
    imageTag: string;
}

export interface ExistingClusterConfig {
    /** Look the cluster up by name (endpoint, CA, OIDC issuer) and reach it with `aws eks get-token`. */
    clusterName?: string;
    /** Or reach it with this kubeconfig; then `oidcIssuer` is needed for IRSA. */
    kubeconfig?: string;
    oidcIssuer?: string;
}

export type ClusterConfig = { create: CreateClusterConfig } | { existing: ExistingClusterConfig };

export interface RegionConfig {
    name: string;
    cluster: ClusterConfig;
    /** Edge pods: the HPA keeps the count between min and max (no HPA when they are equal). */
    replicas: { min: number; max: number };
}

export type ImageConfig =
    | { build: { context: string; dockerfile: string; platform: string; keepImages: number; manageRegistryReplication: boolean } }
    | { ref: string };

export interface HealthCheckConfig {
    intervalSeconds: 10 | 30;
    failureThreshold: number;
    measureLatency: boolean;
    /** Route 53 checker regions; undefined = Route 53's default set. */
    checkerRegions?: string[];
    /** Route 53's per-account health-check quota (default 200) and how many the account already uses. */
    accountQuota: number;
    existingInAccount: number;
}

export interface EdgeSettings {
    namespace: string;
    resources: {
        cpu: { request: string; limit: string };
        memory: { request: string; limit: string };
    };
    cache: {
        memoryBytes: number;
        maxObjectBytes: number;
        /** emptyDir sizeLimit of /var/cache/edgecache. */
        volumeSize: string;
        /** Disk tier budget; kept below volumeSize so the kubelet never evicts the pod for filling it. */
        diskBytes: number;
        /**
         * Most entries the disk tier keeps (cache.disk.maxEntries): its index is on the heap, so it shares the memory
         * limit. Default: half of what the limit leaves beyond the runtime, the memory tier and its headroom.
         */
        diskMaxEntries: number;
    };
    targetCpuUtilization: number;
    zoneSpread: "required" | "preferred";
    accessLog: boolean;
    /**
     * The ALPN policy of the NLB's TLS listener: HTTP2Preferred when true, HTTP1Only when false. Turn on only when the
     * edge server speaks HTTP/2 (cleartext, prior knowledge) on its viewer port, since the NLB forwards what it negotiated.
     */
    http2: boolean;
    /** A pod being stopped keeps serving this long, while the load balancer and endpoints stop sending it new connections. */
    preStopSleepSeconds: number;
    /** The node's shutdown.gracePeriodSeconds: how long it lets in-flight responses finish after SIGTERM. */
    shutdownGracePeriodSeconds: number;
    /** The pod's terminationGracePeriodSeconds: must exceed preStopSleepSeconds + shutdownGracePeriodSeconds. */
    terminationGracePeriodSeconds: number;
}

/** The nodes' settings for following the invalidation log (edgecache.schema.json, `invalidation`). */
export interface InvalidationSettings {
    /** How often a node GETs the log's head (If-None-Match): the main cost of the log, and its latency. */
    pollSeconds: number;
    /** How long a starting node waits to catch up with the log before it serves viewers anyway. */
    startTimeoutSeconds: number;
    /** How often a node rewrites its heartbeat; edgecdn counts a node alive for three of these. */
    heartbeatSeconds: number;
}

export interface AdminConfig {
    /** Empty: the admin port stays inside the cluster (kubectl port-forward). Otherwise an NLB limited to these. */
    allowedCidrs: string[];
}

/** Where every cluster's metrics agent sends the nodes' metrics. */
export type MetricsConfig =
    | { kind: "off" }
    /** An Amazon Managed Service for Prometheus workspace the stack creates in the primary region. */
    | { kind: "created" }
    /** An existing workspace (in this account), by id and region. */
    | { kind: "existing"; workspaceId: string; region: string }
    /** A Prometheus the team runs, by its remote-write URL (no alert rules are loaded there). */
    | { kind: "remoteWrite"; url: string };

/** The thresholds observability/alerts.template.yml is rendered with. */
export interface AlertThresholds {
    /** 5xx responses over all responses of a region, over 5 minutes. */
    http5xxRatio: number;
    /** The last hour's hit ratio over the same hour yesterday's. */
    hitRatioDropFactor: number;
    invalidationLagSeconds: number;
    restartsPerHour: number;
    /** Working set over the container's memory limit. */
    memoryLimitRatio: number;
    /** Where docs/operations.md is published; each alert's runbook annotation links a section of it. */
    runbookUrl: string;
}

export interface ObservabilityConfig {
    metrics: MetricsConfig;
    alerts: AlertThresholds;
    /** The nodes' access logs shipped to a log bucket in the primary region, expired after expireDays. */
    accessLogs: { enabled: boolean; expireDays: number };
}

export interface CdnConfig {
    domain: string;
    /** Hosted zone name ("example.com") or id ("Z0123456789ABC"). */
    hostedZone: string;
    primaryRegion: string;
    regions: RegionConfig[];
    origins: OriginConfig[];
    behaviors: Behavior[];
    image: ImageConfig;
    healthCheck: HealthCheckConfig;
    edge: EdgeSettings;
    invalidation: InvalidationSettings;
    admin: AdminConfig;
    kubernetesApi: KubernetesApiConfig;
    observability: ObservabilityConfig;
    tags: Record<string, string>;
    /** Problems that do not stop a deploy but cost money or need attention (the Cdn logs each as a warning). */
    warnings: string[];
}

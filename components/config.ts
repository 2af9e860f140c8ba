// Typed stack config and its validation. Every check runs and every failure is collected, so a bad Pulumi.<env>.yaml
// fails once with the whole list (each line names the field path and what was expected) before any resource exists.

import * as fs from "fs";
import * as path from "path";
import Ajv2020, { ErrorObject, ValidateFunction } from "ajv/dist/2020";
import {
    CLUSTER_AUTOSCALER_CHART_APP_VERSIONS, CLUSTER_AUTOSCALER_CHARTS, DEFAULT_KUBERNETES_VERSION, EKS_EXTENDED_SUPPORT_PER_HOUR,
    EKS_STANDARD_SUPPORT_PER_HOUR, eksSupportOn, HOURS_PER_MONTH, newestInStandardSupport,
} from "./config/versions";
import {
    autonamedLength, clusterName, EKS_CLUSTER_NAME_MAX, EKS_NODE_GROUP_NAME_MAX, IAM_ROLE_NAME_MAX, nodeGroupNames, regionalRoleNames,
    replicationRoleName,
} from "./config/names";

// ---------------------------------------------------------------------------------------------------------------
// Types (the shape after validation, defaults applied)
// ---------------------------------------------------------------------------------------------------------------

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
    originRequest?: { headers?: string[]; cookies?: string[]; allQueryStrings?: boolean };
    cacheSetCookieResponses?: boolean;
    respectViewerCacheControl?: boolean;
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

export interface AdminConfig {
    /** Empty: the admin port stays inside the cluster (kubectl port-forward). Otherwise an NLB limited to these. */
    allowedCidrs: string[];
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
    admin: AdminConfig;
    kubernetesApi: KubernetesApiConfig;
    tags: Record<string, string>;
    /** Problems that do not stop a deploy but cost money or need attention (the Cdn logs each as a warning). */
    warnings: string[];
}

// ---------------------------------------------------------------------------------------------------------------
// Limits and reference data
// ---------------------------------------------------------------------------------------------------------------

/** AWS commercial regions (aws partition), where EKS, ECR, S3 replication and Route 53 latency routing all work. */
export const AWS_REGIONS: readonly string[] = [
    "af-south-1", "ap-east-1", "ap-east-2", "ap-northeast-1", "ap-northeast-2", "ap-northeast-3", "ap-south-1",
    "ap-south-2", "ap-southeast-1", "ap-southeast-2", "ap-southeast-3", "ap-southeast-4", "ap-southeast-5",
    "ap-southeast-7", "ca-central-1", "ca-west-1", "eu-central-1", "eu-central-2", "eu-north-1", "eu-south-1",
    "eu-south-2", "eu-west-1", "eu-west-2", "eu-west-3", "il-central-1", "me-central-1", "me-south-1", "mx-central-1",
    "sa-east-1", "us-east-1", "us-east-2", "us-west-1", "us-west-2",
];

/** Regions Route 53 health checkers run from (a health check needs at least three). */
export const HEALTH_CHECKER_REGIONS: readonly string[] = [
    "us-east-1", "us-west-1", "us-west-2", "eu-west-1", "ap-southeast-1", "ap-southeast-2", "ap-northeast-1", "sa-east-1",
];

/** Route 53: at most 100 latency records with the same name and type. */
export const MAX_LATENCY_RECORDS_PER_NAME_AND_TYPE = 100;

/** Route 53's default quota of health checks per AWS account. */
export const DEFAULT_HEALTH_CHECK_QUOTA = 200;

/**
 * The `cluster-autoscaler` Helm chart version a cluster of the default Kubernetes version gets unless the stack config
 * says otherwise; pinned so `pulumi up` never picks up a new chart by surprise. Other versions get theirs from
 * CLUSTER_AUTOSCALER_CHARTS (components/config/versions.ts).
 */
export const DEFAULT_CLUSTER_AUTOSCALER_CHART_VERSION = CLUSTER_AUTOSCALER_CHARTS[DEFAULT_KUBERNETES_VERSION].chartVersion;

/** A created S3 origin with a replica renders as a group; its members get these suffixes (ids stay <= 63 chars). */
export const LOCAL_MEMBER_SUFFIX = "-local";
export const PRIMARY_MEMBER_SUFFIX = "-primary";
const MAX_ORIGIN_NAME = 40;

/** The edge server's JSON Schema: behaviors are checked against its `$defs/behavior` here, before anything exists. */
export const EDGE_SCHEMA_PATH = path.join(__dirname, "..", "edge-image", "EdgeCache", "edgecache.schema.json");

const TTL_DEFAULTS = { minTtlSeconds: 0, defaultTtlSeconds: 86400, maxTtlSeconds: 31536000 };
const FORBIDDEN_FORWARD_HEADERS = new Set([
    "host", "connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade",
    "proxy-authorization", "proxy-authenticate", "content-length", "expect",
]);

export class CdnConfigError extends Error {
    constructor(public readonly errors: string[]) {
        super(`Invalid CDN stack config (${errors.length} problem${errors.length === 1 ? "" : "s"}):\n` +
            errors.map((e) => `  - ${e}`).join("\n"));
        this.name = "CdnConfigError";
    }
}

// ---------------------------------------------------------------------------------------------------------------
// A small collector of typed reads: each returns the value when valid, otherwise records an error and returns undefined.
// ---------------------------------------------------------------------------------------------------------------

type Obj = Record<string, unknown>;

class Checker {
    readonly errors: string[] = [];
    readonly warnings: string[] = [];

    /** `now` is the day versions are compared with the EKS calendar. */
    constructor(readonly now: Date) {}

    add(at: string, message: string): void {
        this.errors.push(`${at}: ${message}`);
    }

    warn(at: string, message: string): void {
        this.warnings.push(`${at}: ${message}`);
    }

    isObject(v: unknown): v is Obj {
        return typeof v === "object" && v !== null && !Array.isArray(v);
    }

    object(at: string, v: unknown, known: readonly string[], required = true): Obj | undefined {
        if (v === undefined || v === null) {
            if (required) { this.add(at, "is required (expected an object)"); }
            return undefined;
        }
        if (!this.isObject(v)) {
            this.add(at, `${describe(v)} is not an object`);
            return undefined;
        }
        for (const key of Object.keys(v)) {
            if (!known.includes(key)) {
                this.add(`${join(at, key)}`, `is not a known field (expected one of: ${known.join(", ")})`);
            }
        }
        return v;
    }

    array(at: string, v: unknown, required = true): unknown[] | undefined {
        if (v === undefined || v === null) {
            if (required) { this.add(at, "is required (expected a list)"); }
            return undefined;
        }
        if (!Array.isArray(v)) {
            this.add(at, `${describe(v)} is not a list`);
            return undefined;
        }
        return v;
    }

    string(at: string, v: unknown, opts: { required?: boolean; pattern?: RegExp; expected?: string } = {}): string | undefined {
        if (v === undefined || v === null || v === "") {
            if (opts.required ?? true) { this.add(at, `is required${opts.expected ? ` (expected ${opts.expected})` : ""}`); }
            return undefined;
        }
        if (typeof v !== "string") {
            this.add(at, `${describe(v)} is not a string${opts.expected ? ` (expected ${opts.expected})` : ""}`);
            return undefined;
        }
        if (opts.pattern && !opts.pattern.test(v)) {
            this.add(at, `${describe(v)} is not valid (expected ${opts.expected ?? `to match ${opts.pattern}`})`);
            return undefined;
        }
        return v;
    }

    integer(at: string, v: unknown, min: number, max: number, fallback?: number): number | undefined {
        if (v === undefined || v === null) {
            if (fallback === undefined) { this.add(at, `is required (expected an integer from ${min} to ${max})`); }
            return fallback;
        }
        if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) {
            this.add(at, `${describe(v)} is not an integer from ${min} to ${max}`);
            return undefined;
        }
        return v;
    }

    boolean(at: string, v: unknown, fallback: boolean): boolean {
        if (v === undefined || v === null) { return fallback; }
        if (typeof v !== "boolean") {
            this.add(at, `${describe(v)} is not true or false`);
            return fallback;
        }
        return v;
    }

    oneOf<T extends string | number>(at: string, v: unknown, allowed: readonly T[], fallback?: T): T | undefined {
        if (v === undefined || v === null) {
            if (fallback === undefined) { this.add(at, `is required (expected one of: ${allowed.join(", ")})`); }
            return fallback;
        }
        if (!(allowed as readonly unknown[]).includes(v)) {
            this.add(at, `${describe(v)} is not one of: ${allowed.join(", ")}`);
            return undefined;
        }
        return v as T;
    }

    region(at: string, v: unknown, what = "an AWS region"): string | undefined {
        const s = this.string(at, v, { expected: "an AWS region such as us-east-1" });
        if (s === undefined) { return undefined; }
        if (!AWS_REGIONS.includes(s)) {
            this.add(at, `${describe(s)} is not ${what} (expected one of ${AWS_REGIONS.join(", ")})`);
            return undefined;
        }
        return s;
    }
}

function join(at: string, key: string): string {
    return at === "" ? key : `${at}.${key}`;
}

function describe(v: unknown): string {
    if (typeof v === "string") { return JSON.stringify(v); }
    if (v === null || v === undefined) { return String(v); }
    if (Array.isArray(v)) { return "a list"; }
    if (typeof v === "object") { return "an object"; }
    return String(v);
}

/** Graviton instance families (t4g, m7g, c7gn, ...) run arm64; the g-series GPU instances (g5, ...) do not. */
export function isGraviton(instanceType: string): boolean {
    return /^[a-z]+[0-9]+[a-z]*g[a-z]*\./.test(instanceType) && !/^g[0-9]/.test(instanceType);
}

// ---------------------------------------------------------------------------------------------------------------
// Kubernetes quantities, IPv4 CIDRs, DNS names
// ---------------------------------------------------------------------------------------------------------------

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

const DNS_NAME = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]([a-z0-9-]{0,61}[a-z0-9])?$/;
const ZONE_ID = /^Z[A-Z0-9]{4,32}$/;

// ---------------------------------------------------------------------------------------------------------------
// The edge server's behavior schema (ajv, 2020-12 dialect)
// ---------------------------------------------------------------------------------------------------------------

let behaviorValidator: ValidateFunction | undefined;

function behaviorSchemaValidator(): ValidateFunction {
    if (!behaviorValidator) {
        const schema = JSON.parse(fs.readFileSync(EDGE_SCHEMA_PATH, "utf8")) as { $id: string };
        const ajv = new Ajv2020({ allErrors: true, strict: false });
        ajv.addSchema(schema);
        behaviorValidator = ajv.getSchema(`${schema.$id}#/$defs/behavior`);
        if (!behaviorValidator) { throw new Error(`${EDGE_SCHEMA_PATH} has no $defs/behavior`); }
    }
    return behaviorValidator;
}

function ajvMessage(at: string, e: ErrorObject): string {
    const where = at + e.instancePath.split("/").slice(1).map((p) => (/^\d+$/.test(p) ? `[${p}]` : `.${p}`)).join("");
    switch (e.keyword) {
        case "additionalProperties":
            return `${where}.${String(e.params.additionalProperty)}: is not a known field of a behavior (see $defs/behavior in edgecache.schema.json)`;
        case "enum":
            return `${where}: is not one of: ${(e.params.allowedValues as unknown[]).join(", ")}`;
        case "required":
            return `${where}.${String(e.params.missingProperty)}: is required`;
        default:
            return `${where}: ${e.message ?? "is not valid"} (edgecache.schema.json $defs/behavior)`;
    }
}

// ---------------------------------------------------------------------------------------------------------------
// parseCdnConfig
// ---------------------------------------------------------------------------------------------------------------

export const TOP_LEVEL_KEYS = [
    "domain", "hostedZone", "primaryRegion", "regions", "origins", "behaviors", "image", "healthCheck", "edge", "admin",
    "kubernetesApi", "tags",
] as const;

/**
 * Validates raw stack config (the values of the `edgecdn:*` keys) and applies defaults.
 * Throws one CdnConfigError listing every problem.
 */
export function parseCdnConfig(raw: unknown, opts: { now?: Date; name?: string } = {}): CdnConfig {
    const c = new Checker(opts.now ?? new Date());
    const root = c.object("config", raw, TOP_LEVEL_KEYS) ?? {};
    // Paths are reported relative to the stack config (domain, regions[0].name, ...), not "config.domain".
    const domain = c.string("domain", root.domain, {
        pattern: DNS_NAME, expected: "the viewer hostname in lower case, e.g. cdn.example.com",
    });
    if (domain !== undefined && domain.length > 64) {
        c.add("domain", `${describe(domain)} is ${domain.length} characters; ACM certificates allow at most 64 in the first domain name`);
    }
    const hostedZone = parseHostedZone(c, root.hostedZone, domain);

    const regions = parseRegions(c, root.regions);
    const primaryRegion = root.primaryRegion === undefined
        ? regions?.[0]?.name
        : c.region("primaryRegion", root.primaryRegion);

    const origins = parseOrigins(c, root.origins);
    // Names of every origin entry that has one, so a behavior's reference is checked even when another origin is bad.
    const originNames = Array.isArray(root.origins)
        ? root.origins.flatMap((o) => (c.isObject(o) && typeof o.name === "string" ? [o.name] : []))
        : undefined;
    const behaviors = parseBehaviors(c, root.behaviors, originNames);
    const image = parseImage(c, root.image);
    const healthCheck = parseHealthCheck(c, root.healthCheck, regions?.length);
    const edge = parseEdge(c, root.edge);
    const admin = parseAdmin(c, root.admin);
    const kubernetesApi = parseKubernetesApi(c, root.kubernetesApi, regions?.some((r) => "create" in r.cluster) ?? false);
    const tags = parseTags(c, root.tags);

    // The nodes must be able to run the image: x86 instance types for linux/amd64, Graviton for linux/arm64.
    if (regions && image && "build" in image) {
        for (const [i, r] of regions.entries()) {
            if (!("create" in r.cluster)) { continue; }
            r.cluster.create.instanceTypes.forEach((t, j) => {
                const arch = isGraviton(t) ? "linux/arm64" : "linux/amd64";
                if (arch !== image.build.platform) {
                    c.add(`regions[${i}].cluster.create.instanceTypes[${j}]`, `${t} runs ${arch} but image.build.platform is ${image.build.platform}; choose matching instance types or platform`);
                }
            });
        }
    }

    // ECR replicates a registry to at most 25 destinations.
    if (regions && image && "build" in image && image.build.manageRegistryReplication && regions.length - 1 > 25) {
        c.add("regions", `${regions.length} regions need ${regions.length - 1} ECR replication destinations; ECR allows 25 per registry (use image.ref with an image you distribute, or image.build.manageRegistryReplication: false with your own replication)`);
    }

    if (regions && domain) {
        for (const [i, r] of regions.entries()) {
            for (const name of regionalNames(domain, r.name)) {
                if (name.length > 253 || name.split(".").some((l) => l.length > 63)) {
                    c.add(`regions[${i}].name`, `the regional name ${name} is not a valid DNS name (too long); use a shorter domain`);
                }
            }
        }
    }

    if (opts.name !== undefined && regions && origins && primaryRegion) { checkDerivedNames(c, opts.name, regions, primaryRegion, origins); }

    if (c.errors.length > 0 || !domain || !hostedZone || !regions || !primaryRegion || !origins || !behaviors ||
        !image || !healthCheck || !edge || !admin || !kubernetesApi || !tags) {
        throw new CdnConfigError(c.errors.length > 0 ? c.errors : ["config: could not be read"]);
    }
    return {
        domain, hostedZone, primaryRegion, regions, origins, behaviors, image, healthCheck, edge, admin, kubernetesApi, tags,
        warnings: c.warnings,
    };
}

/**
 * AWS's name limits on what the stack names after itself: IAM roles (64), EKS node groups (63), the EKS cluster
 * (100). Auto-named resources get 8 more characters. A long stack, region or origin name is reported here, before
 * anything exists, rather than by IAM halfway through `pulumi up`.
 */
function checkDerivedNames(c: Checker, cdnName: string, regions: RegionConfig[], primaryRegion: string, origins: OriginConfig[]): void {
    const shorten = `shorten the stack name (the CDN is named ${describe(cdnName)} after it)`;
    const tooLong = (at: string, what: string, name: string, length: number, max: number, how: string) => {
        if (length > max) {
            c.add(at, `${what} would be named ${describe(name)}${length > name.length ? " plus an 8-character suffix" : ""}, ${length} characters; AWS allows ${max}: ${how}`);
        }
    };
    regions.forEach((r, i) => {
        const at = `regions[${i}].name`;
        const create = "create" in r.cluster ? r.cluster.create : undefined;
        const roles = regionalRoleNames(cdnName, r.name, { createsCluster: create !== undefined, autoscaler: create?.clusterAutoscaler.enabled ?? false });
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

/** The per-region names each regional certificate covers besides the viewer domain. */
export function regionalNames(domain: string, region: string): { regional: string; admin: string } & Iterable<string> {
    const regional = `${region}.${domain}`;
    const admin = `admin.${region}.${domain}`;
    return { regional, admin, *[Symbol.iterator]() { yield regional; yield admin; } };
}

function parseHostedZone(c: Checker, v: unknown, domain: string | undefined): string | undefined {
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

function parseRegions(c: Checker, v: unknown): RegionConfig[] | undefined {
    const list = c.array("regions", v);
    if (!list) { return undefined; }
    if (list.length === 0) {
        c.add("regions", "is empty (expected at least one edge region)");
        return undefined;
    }
    if (list.length > MAX_LATENCY_RECORDS_PER_NAME_AND_TYPE) {
        c.add("regions", `${list.length} regions need ${list.length} latency records per name and type; Route 53 allows at most ${MAX_LATENCY_RECORDS_PER_NAME_AND_TYPE} latency records with the same name and type`);
    }
    const seen = new Map<string, number>();
    const out: RegionConfig[] = [];
    for (const [i, item] of list.entries()) {
        const at = `regions[${i}]`;
        const r = c.object(at, item, ["name", "cluster", "replicas"]);
        if (!r) { continue; }
        const name = c.region(`${at}.name`, r.name);
        if (name !== undefined) {
            const first = seen.get(name);
            if (first !== undefined) {
                c.add(`${at}.name`, `${describe(name)} is already regions[${first}]; each region may appear once (one latency record per region)`);
            } else {
                seen.set(name, i);
            }
        }
        const cluster = parseCluster(c, `${at}.cluster`, r.cluster);
        const replicas = parseReplicas(c, `${at}.replicas`, r.replicas);
        if (name && cluster && replicas) { out.push({ name, cluster, replicas }); }
    }
    return out.length === list.length ? out : undefined;
}

function parseCluster(c: Checker, at: string, v: unknown): ClusterConfig | undefined {
    const o = c.object(at, v, ["create", "existing"]);
    if (!o) { return undefined; }
    if ((o.create === undefined) === (o.existing === undefined)) {
        c.add(at, "needs exactly one of create (a new EKS cluster) or existing (a cluster you already run)");
        return undefined;
    }
    if (o.create !== undefined) {
        const cr = c.object(`${at}.create`, o.create, [
            "kubernetesVersion", "instanceTypes", "nodes", "availabilityZones", "vpcCidr", "diskSizeGb", "clusterAutoscaler",
            "natGateways", "interfaceEndpoints",
        ]);
        if (!cr) { return undefined; }
        const kubernetesVersion = checkKubernetesVersion(c, `${at}.create.kubernetesVersion`, cr.kubernetesVersion === undefined
            ? DEFAULT_KUBERNETES_VERSION
            : c.string(`${at}.create.kubernetesVersion`, typeof cr.kubernetesVersion === "number" ? String(cr.kubernetesVersion) : cr.kubernetesVersion,
                { pattern: /^1\.[0-9]{2}$/, expected: "an EKS Kubernetes version such as \"1.35\" (quote it in YAML: 1.30 unquoted reads as 1.3)" }));
        const types = cr.instanceTypes === undefined ? ["t3.medium"] : c.array(`${at}.create.instanceTypes`, cr.instanceTypes);
        let instanceTypes: string[] | undefined;
        if (types) {
            if (types.length === 0) { c.add(`${at}.create.instanceTypes`, "is empty (expected at least one EC2 instance type)"); }
            const parsed = types.map((t, j) => c.string(`${at}.create.instanceTypes[${j}]`, t, {
                pattern: /^[a-z][a-z0-9-]*\.[a-z0-9]+$/, expected: "an EC2 instance type such as t3.medium",
            }));
            instanceTypes = parsed.every((t) => t !== undefined) && parsed.length > 0 ? parsed as string[] : undefined;
        }
        const n = c.object(`${at}.create.nodes`, cr.nodes, ["min", "desired", "max"]);
        let nodes: CreateClusterConfig["nodes"] | undefined;
        if (n) {
            const min = c.integer(`${at}.create.nodes.min`, n.min, 1, 450);
            const max = c.integer(`${at}.create.nodes.max`, n.max, 1, 450);
            const desired = c.integer(`${at}.create.nodes.desired`, n.desired, 1, 450, min);
            if (min !== undefined && max !== undefined && desired !== undefined) {
                if (min > max) {
                    c.add(`${at}.create.nodes.min`, `${min} is greater than nodes.max (${max})`);
                } else if (desired < min || desired > max) {
                    c.add(`${at}.create.nodes.desired`, `${desired} is not between nodes.min (${min}) and nodes.max (${max})`);
                } else {
                    nodes = { min, desired, max };
                }
            }
        }
        const availabilityZones = c.integer(`${at}.create.availabilityZones`, cr.availabilityZones, 2, 6, 2);
        const vpcCidr = cr.vpcCidr === undefined ? "10.0.0.0/16" : c.string(`${at}.create.vpcCidr`, cr.vpcCidr, { expected: "an IPv4 CIDR from /16 to /20, e.g. 10.0.0.0/16" });
        let cidrOk = vpcCidr !== undefined;
        if (vpcCidr !== undefined) {
            const p = parseCidr(vpcCidr);
            if (!p || p.prefix < 16 || p.prefix > 20) {
                c.add(`${at}.create.vpcCidr`, `${describe(vpcCidr)} is not an IPv4 network from /16 to /20 (expected e.g. 10.0.0.0/16; each AZ gets a sixteenth of it)`);
                cidrOk = false;
            }
        }
        const diskSizeGb = c.integer(`${at}.create.diskSizeGb`, cr.diskSizeGb, 20, 16384, 20);
        const clusterAutoscaler = parseClusterAutoscaler(c, `${at}.create.clusterAutoscaler`, cr.clusterAutoscaler, kubernetesVersion, nodes);
        const natGateways = c.oneOf(`${at}.create.natGateways`, cr.natGateways, ["perZone", "one"] as const, "perZone");
        const interfaceEndpoints = c.boolean(`${at}.create.interfaceEndpoints`, cr.interfaceEndpoints, false);
        // With the autoscaler, each zone has its own node group (so a zone-spread pod can make its zone grow), and
        // each group needs room for at least one node.
        if (clusterAutoscaler?.enabled && nodes && availabilityZones && nodes.max < availabilityZones) {
            c.add(`${at}.create.nodes.max`, `${nodes.max} is less than availabilityZones (${availabilityZones}); with the Cluster Autoscaler each zone has its own node group, which needs a maximum of at least one node`);
            return undefined;
        }
        if (!kubernetesVersion || !instanceTypes || !nodes || !availabilityZones || !cidrOk || !vpcCidr || !diskSizeGb ||
            !clusterAutoscaler || !natGateways) {
            return undefined;
        }
        return {
            create: {
                kubernetesVersion, instanceTypes, nodes, availabilityZones, vpcCidr, diskSizeGb, clusterAutoscaler, natGateways,
                interfaceEndpoints,
            },
        };
    }
    const ex = c.object(`${at}.existing`, o.existing, ["clusterName", "kubeconfig", "oidcIssuer"]);
    if (!ex) { return undefined; }
    const clusterName = c.string(`${at}.existing.clusterName`, ex.clusterName, {
        required: false, pattern: /^[0-9A-Za-z][A-Za-z0-9\-_]{0,99}$/, expected: "an EKS cluster name",
    });
    const kubeconfig = c.string(`${at}.existing.kubeconfig`, ex.kubeconfig, { required: false, expected: "a kubeconfig document" });
    const oidcIssuer = c.string(`${at}.existing.oidcIssuer`, ex.oidcIssuer, {
        required: false, pattern: /^https:\/\/[^\s/]+(\/[^\s]*)?$/, expected: "the cluster's OIDC issuer URL, https://oidc.eks.<region>.amazonaws.com/id/<ID>",
    });
    if ((ex.clusterName === undefined) === (ex.kubeconfig === undefined)) {
        c.add(`${at}.existing`, "needs exactly one of clusterName (looked up in this region) or kubeconfig");
        return undefined;
    }
    if (ex.kubeconfig !== undefined && ex.oidcIssuer === undefined) {
        c.add(`${at}.existing.oidcIssuer`, "is required with kubeconfig: the edge service account's IAM role (IRSA) trusts this issuer");
        return undefined;
    }
    if ((ex.clusterName !== undefined && !clusterName) || (ex.kubeconfig !== undefined && !kubeconfig) ||
        (ex.oidcIssuer !== undefined && !oidcIssuer)) {
        return undefined;
    }
    return { existing: { clusterName, kubeconfig, oidcIssuer } };
}

/**
 * A version past EKS standard support is billed six times the standard rate per cluster; one past extended support
 * cannot be created at all. The calendar is EKS_VERSIONS (components/config/versions.ts).
 */
function checkKubernetesVersion(c: Checker, at: string, version: string | undefined): string | undefined {
    if (version === undefined) { return undefined; }
    const support = eksSupportOn(version, c.now);
    const newest = newestInStandardSupport(c.now);
    const use = newest ? `${newest} (standard support until ${eksSupportOn(newest, c.now).info?.endOfStandardSupport})` : "a newer version";
    const month = (perHour: number) => `$${perHour.toFixed(2)}/h (about $${Math.round(perHour * HOURS_PER_MONTH)}/month)`;
    switch (support.phase) {
        case "ended":
            c.add(at, `${version} left EKS extended support on ${support.info?.endOfExtendedSupport}; EKS no longer creates clusters of it (use ${newest ?? "a newer version"})`);
            return undefined;
        case "extended":
            c.warn(at, `${version} left EKS standard support on ${support.info?.endOfStandardSupport}, so its control plane is billed at the extended-support rate: ${month(EKS_EXTENDED_SUPPORT_PER_HOUR)} instead of ${month(EKS_STANDARD_SUPPORT_PER_HOUR)} per cluster. Use ${use}.`);
            return version;
        case "unknown":
            c.warn(at, `${version} is not in this stack's EKS calendar (EKS_VERSIONS in components/config/versions.ts), so its support dates and cost are not checked; add it there.`);
            return version;
        default:
            return version;
    }
}

function parseClusterAutoscaler(c: Checker, at: string, v: unknown, kubernetesVersion: string | undefined,
    nodes: CreateClusterConfig["nodes"] | undefined): ClusterAutoscalerConfig | undefined {
    const o = v === undefined ? {} : c.object(at, v, ["enabled", "chartVersion", "imageTag"]);
    if (!o) { return undefined; }
    const scalable = nodes !== undefined && nodes.min < nodes.max;
    const enabled = c.boolean(`${at}.enabled`, o.enabled, scalable);
    if (enabled && nodes !== undefined && !scalable) {
        c.add(`${at}.enabled`, `is true but nodes.min equals nodes.max (${nodes.max}), so there is nothing to scale; raise nodes.max or leave clusterAutoscaler out`);
    }
    const pinned = kubernetesVersion ? CLUSTER_AUTOSCALER_CHARTS[kubernetesVersion] : undefined;
    let chartVersion = c.string(`${at}.chartVersion`, o.chartVersion, {
        required: false, pattern: /^\d+\.\d+\.\d+$/, expected: `a cluster-autoscaler Helm chart version such as ${DEFAULT_CLUSTER_AUTOSCALER_CHART_VERSION}`,
    }) ?? (o.chartVersion === undefined ? pinned?.chartVersion : undefined);
    // The chart's RBAC is written for its appVersion: a chart for an older autoscaler may lack permissions the
    // cluster's autoscaler needs (it then waits forever for an informer and never scales), so the pair is checked.
    const appVersion = chartVersion ? CLUSTER_AUTOSCALER_CHART_APP_VERSIONS[chartVersion] : undefined;
    if (enabled && kubernetesVersion && o.chartVersion === undefined && !pinned) {
        c.add(`${at}.chartVersion`, `no cluster-autoscaler chart is pinned for Kubernetes ${kubernetesVersion}; add one to CLUSTER_AUTOSCALER_CHARTS in components/config/versions.ts`);
        return undefined;
    }
    if (enabled && chartVersion && !appVersion) {
        c.add(`${at}.chartVersion`, `chart ${chartVersion} is not one whose appVersion this stack has checked (known: ${Object.keys(CLUSTER_AUTOSCALER_CHART_APP_VERSIONS).join(", ")}); add it to CLUSTER_AUTOSCALER_CHART_APP_VERSIONS in components/config/versions.ts`);
        chartVersion = undefined;
    } else if (enabled && chartVersion && appVersion && kubernetesVersion && !appVersion.startsWith(`${kubernetesVersion}.`)) {
        c.add(`${at}.chartVersion`, `chart ${chartVersion} installs cluster-autoscaler ${appVersion}, not one for Kubernetes ${kubernetesVersion}${pinned ? ` (use ${pinned.chartVersion})` : ""}; a mismatched chart's RBAC can leave the autoscaler waiting forever for a cache it may not list`);
        chartVersion = undefined;
    }
    const imageTag = c.string(`${at}.imageTag`, o.imageTag, {
        required: false, pattern: /^v1\.\d+\.\d+$/, expected: "a cluster-autoscaler release tag such as v1.35.0",
    }) ?? (o.imageTag === undefined && kubernetesVersion ? `v${appVersion ?? `${kubernetesVersion}.0`}` : undefined);
    if (imageTag && kubernetesVersion && o.imageTag !== undefined && !imageTag.startsWith(`v${kubernetesVersion}.`)) {
        c.add(`${at}.imageTag`, `${describe(imageTag)} is not for Kubernetes ${kubernetesVersion} (expected v${kubernetesVersion}.<patch>: the autoscaler's minor version must match the cluster's)`);
        return undefined;
    }
    if (!chartVersion || !imageTag) { return undefined; }
    return { enabled, chartVersion, imageTag };
}

function parseReplicas(c: Checker, at: string, v: unknown): RegionConfig["replicas"] | undefined {
    if (v === undefined) { return { min: 2, max: 2 }; }
    const o = c.object(at, v, ["min", "max"]);
    if (!o) { return undefined; }
    const min = c.integer(`${at}.min`, o.min, 1, 100);
    const max = c.integer(`${at}.max`, o.max, 1, 100, min);
    if (min === undefined || max === undefined) { return undefined; }
    if (min > max) {
        c.add(`${at}.min`, `${min} is greater than replicas.max (${max})`);
        return undefined;
    }
    return { min, max };
}

const ORIGIN_NAME = new RegExp(`^[a-z0-9][a-z0-9-]{0,${MAX_ORIGIN_NAME - 1}}$`);
const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const HTTP_URL = /^https?:\/\/[^/?#@]+(\/[^?#]*)?$/;
const KMS_KEY_ARN = /^arn:aws:kms:[a-z]{2}(-[a-z]+)+-[0-9]:[0-9]{12}:key\/[0-9a-f-]{36}$|^arn:aws:kms:[a-z]{2}(-[a-z]+)+-[0-9]:[0-9]{12}:key\/mrk-[0-9a-f]{32}$/;

function parseOrigins(c: Checker, v: unknown): OriginConfig[] | undefined {
    const list = c.array("origins", v);
    if (!list) { return undefined; }
    if (list.length === 0) {
        c.add("origins", "is empty (expected at least one origin)");
        return undefined;
    }
    const seen = new Map<string, number>();
    const out: OriginConfig[] = [];
    for (const [i, item] of list.entries()) {
        const at = `origins[${i}]`;
        if (!c.isObject(item)) {
            c.add(at, `${describe(item)} is not an object`);
            continue;
        }
        const name = c.string(`${at}.name`, item.name, {
            pattern: ORIGIN_NAME, expected: `1-${MAX_ORIGIN_NAME} lower-case letters, digits or '-', starting with a letter or digit`,
        });
        if (name !== undefined) {
            const first = seen.get(name);
            if (first !== undefined) {
                c.add(`${at}.name`, `${describe(name)} is already origins[${first}]; origin names must be unique`);
            } else {
                seen.set(name, i);
            }
        }
        const type = c.oneOf(`${at}.type`, item.type, ["s3", "http"] as const);
        if (type === "http") {
            c.object(at, item, ["name", "type", "url", "hostHeader", "connectTimeoutMs", "readTimeoutMs", "maxConnections", "healthPath"]);
            const url = c.string(`${at}.url`, item.url, {
                pattern: HTTP_URL, expected: "an http:// or https:// base URL without query, fragment or user info",
            });
            const hostHeader = c.string(`${at}.hostHeader`, item.hostHeader, { required: false });
            const connectTimeoutMs = item.connectTimeoutMs === undefined ? undefined : c.integer(`${at}.connectTimeoutMs`, item.connectTimeoutMs, 1, 120000);
            const readTimeoutMs = item.readTimeoutMs === undefined ? undefined : c.integer(`${at}.readTimeoutMs`, item.readTimeoutMs, 1, 600000);
            const maxConnections = item.maxConnections === undefined ? undefined : c.integer(`${at}.maxConnections`, item.maxConnections, 1, 65536);
            const healthPath = c.string(`${at}.healthPath`, item.healthPath, { required: false, pattern: /^\//, expected: "a path starting with /" });
            if (name && url) {
                out.push(strip({ name, type, url, hostHeader, connectTimeoutMs, readTimeoutMs, maxConnections, healthPath }));
            }
        } else if (type === "s3") {
            const keyPrefix = c.string(`${at}.keyPrefix`, item.keyPrefix, {
                required: false, pattern: /^(?!\/)(?!.*\.\.).*$/, expected: "a key prefix without a leading '/' or '..'",
            });
            if (item.bucket !== undefined || item.region !== undefined) {
                c.object(at, item, ["name", "type", "bucket", "region", "keyPrefix", "kmsKeyArn"]);
                const bucket = c.string(`${at}.bucket`, item.bucket, { pattern: BUCKET_NAME, expected: "an existing S3 bucket's name" });
                const region = c.region(`${at}.region`, item.region);
                const kmsKeyArn = c.string(`${at}.kmsKeyArn`, item.kmsKeyArn, {
                    required: false, pattern: KMS_KEY_ARN,
                    expected: "the key's ARN, arn:aws:kms:<region>:<account>:key/<key id> (not an alias: IAM grants kms:Decrypt on keys)",
                });
                const keyRegion = kmsKeyArn?.split(":")[3];
                if (kmsKeyArn && region && keyRegion !== region) {
                    c.add(`${at}.kmsKeyArn`, `is in ${keyRegion} but the bucket ${bucket ?? ""} is in ${region}; S3 can only use a KMS key of its own region`);
                } else if (name && bucket && region && (item.kmsKeyArn === undefined || kmsKeyArn)) {
                    out.push(strip({ name, type, kind: "existing", bucket, region, keyPrefix, kmsKeyArn }));
                }
            } else {
                c.object(at, item, ["name", "type", "replicate", "keyPrefix", "noncurrentVersionDays", "replicationTimeControl"]);
                const replicate = c.boolean(`${at}.replicate`, item.replicate, true);
                const noncurrentVersionDays = c.integer(`${at}.noncurrentVersionDays`, item.noncurrentVersionDays, 1, 3650, 30);
                const replicationTimeControl = c.boolean(`${at}.replicationTimeControl`, item.replicationTimeControl, false);
                if (replicationTimeControl && !replicate) {
                    c.add(`${at}.replicationTimeControl`, "is true but replicate is false; there is no replication to time");
                } else if (name && noncurrentVersionDays) {
                    out.push(strip({ name, type, kind: "created", replicate, keyPrefix, noncurrentVersionDays, replicationTimeControl }));
                }
            }
        }
    }
    return out.length === list.length ? out : undefined;
}

function parseBehaviors(c: Checker, v: unknown, originNames: string[] | undefined): Behavior[] | undefined {
    const list = c.array("behaviors", v);
    if (!list) { return undefined; }
    if (list.length === 0) {
        c.add("behaviors", "is empty (expected at least one behavior; the last one is the default and must have pathPattern '*')");
        return undefined;
    }
    const validate = behaviorSchemaValidator();
    const before = c.errors.length;
    for (const [i, item] of list.entries()) {
        const at = `behaviors[${i}]`;
        const isLast = i === list.length - 1;
        if (!validate(item)) {
            for (const e of validate.errors ?? []) {
                // The schema's own messages for oneOf/if branches repeat what a clearer error already says.
                if (e.keyword === "if") { continue; }
                c.errors.push(ajvMessage(at, e));
            }
        }
        if (!c.isObject(item)) { continue; }
        const b = item as Partial<Behavior>;
        if (typeof b.pathPattern === "string") {
            if (isLast && b.pathPattern !== "*") {
                c.add(`${at}.pathPattern`, `the last behavior is the default and must be '*' (found ${describe(b.pathPattern)}); add a default behavior with pathPattern '*' at the end`);
            } else if (!isLast && b.pathPattern === "*") {
                c.add(`${at}.pathPattern`, "'*' matches every path, so the behaviors after it could never match; only the last behavior may be '*'");
            }
        }
        if (typeof b.origin === "string" && originNames && !originNames.includes(b.origin)) {
            c.add(`${at}.origin`, `${describe(b.origin)} is not a configured origin (known: ${[...originNames].sort().join(", ")})`);
        }
        const ttl = (k: keyof typeof TTL_DEFAULTS): { value: number; note: string } => {
            const raw = b[k];
            return raw === undefined ? { value: TTL_DEFAULTS[k], note: ", the default" } : { value: raw, note: "" };
        };
        const min = ttl("minTtlSeconds"), def = ttl("defaultTtlSeconds"), max = ttl("maxTtlSeconds");
        // The ordering only means something between valid TTLs; the schema already reported the others.
        const ttlsValid = [min, def, max].every((t) => Number.isInteger(t.value) && t.value >= 0);
        if (ttlsValid && min.value > max.value) {
            c.add(`${at}.minTtlSeconds`, `${min.value} is greater than maxTtlSeconds (${max.value}${max.note}); expected min <= default <= max`);
        } else if (ttlsValid && min.value > def.value) {
            c.add(`${at}.minTtlSeconds`, `${min.value} is greater than defaultTtlSeconds (${def.value}${def.note}); expected min <= default <= max`);
        } else if (ttlsValid && def.value > max.value) {
            c.add(`${at}.defaultTtlSeconds`, `${def.value}${def.note ? " (the default)" : ""} is greater than maxTtlSeconds (${max.value}${max.note}); expected min <= default <= max`);
        }
        if (Array.isArray(b.allowedMethods) && b.allowedMethods.length > 0 &&
            !(b.allowedMethods.includes("GET") && b.allowedMethods.includes("HEAD"))) {
            c.add(`${at}.allowedMethods`, "must include GET and HEAD");
        }
        const key = b.cacheKey;
        if (c.isObject(key)) {
            const names = Array.isArray(key.queryStringNames) ? key.queryStringNames : [];
            if (key.queryStrings === "allowList" && names.length === 0) {
                c.add(`${at}.cacheKey.queryStringNames`, "queryStrings \"allowList\" needs at least one name");
            } else if (key.queryStrings !== "allowList" && names.length > 0) {
                c.add(`${at}.cacheKey.queryStringNames`, `only used with queryStrings "allowList" (found ${describe(key.queryStrings ?? "none")})`);
            }
        }
        for (const [field, headers] of [["cacheKey.headers", key?.headers], ["originRequest.headers", b.originRequest?.headers]] as const) {
            if (!Array.isArray(headers)) { continue; }
            headers.forEach((h, j) => {
                if (typeof h === "string" && FORBIDDEN_FORWARD_HEADERS.has(h.toLowerCase())) {
                    c.add(`${at}.${field}[${j}]`, `${describe(h)} is never forwarded from viewers (hop-by-hop, framing or Host)`);
                }
            });
        }
    }
    return c.errors.length === before ? list as Behavior[] : undefined;
}

function parseImage(c: Checker, v: unknown): ImageConfig | undefined {
    const defaults = { context: "edge-image", dockerfile: "edge-image/Dockerfile", platform: "linux/amd64", keepImages: 10, manageRegistryReplication: true };
    if (v === undefined) { return { build: defaults }; }
    const o = c.object("image", v, ["build", "ref"]);
    if (!o) { return undefined; }
    if ((o.build === undefined) === (o.ref === undefined)) {
        c.add("image", "needs exactly one of build (build edge-image/ and push it to ECR in every region) or ref (an image reference used as is)");
        return undefined;
    }
    if (o.ref !== undefined) {
        const ref = c.string("image.ref", o.ref, {
            pattern: /^[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]+)?(\.[a-z0-9-]+)*(\/[a-z0-9]+([._-][a-z0-9]+)*)*(:[\w][\w.-]{0,127})?(@sha256:[a-f0-9]{64})?$/,
            expected: "an image reference such as 123456789012.dkr.ecr.us-east-1.amazonaws.com/edgecache:1.2.3",
        });
        return ref ? { ref } : undefined;
    }
    const b = o.build === null ? {} : c.object("image.build", o.build, ["context", "dockerfile", "platform", "keepImages", "manageRegistryReplication", "tag"]);
    if (!b) { return undefined; }
    if (b.tag !== undefined) {
        c.add("image.build.tag", "is no longer set by hand: the image is tagged with a hash of its build input, since the ECR repositories are immutable; remove it");
        return undefined;
    }
    const context = c.string("image.build.context", b.context, { required: false }) ?? defaults.context;
    const dockerfile = c.string("image.build.dockerfile", b.dockerfile, { required: false }) ?? defaults.dockerfile;
    const platform = c.oneOf("image.build.platform", b.platform, ["linux/amd64", "linux/arm64"] as const, "linux/amd64");
    const keepImages = c.integer("image.build.keepImages", b.keepImages, 1, 1000, defaults.keepImages);
    const manageRegistryReplication = c.boolean("image.build.manageRegistryReplication", b.manageRegistryReplication, true);
    if (!platform || !keepImages) { return undefined; }
    return { build: { context, dockerfile, platform, keepImages, manageRegistryReplication } };
}

function parseHealthCheck(c: Checker, v: unknown, regionCount: number | undefined): HealthCheckConfig | undefined {
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

function parseEdge(c: Checker, v: unknown): EdgeSettings | undefined {
    const o = v === undefined ? {} : c.object("edge", v, [
        "namespace", "resources", "cache", "targetCpuUtilization", "zoneSpread", "accessLog", "http2",
        "preStopSleepSeconds", "shutdownGracePeriodSeconds", "terminationGracePeriodSeconds",
    ]);
    if (!o) { return undefined; }
    const namespace = c.string("edge.namespace", o.namespace, {
        required: false, pattern: /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/, expected: "a Kubernetes namespace name",
    }) ?? "edgecache";

    const res = o.resources === undefined ? {} : c.object("edge.resources", o.resources, ["cpu", "memory"]);
    const pair = (what: "cpu" | "memory", fallback: { request: string; limit: string }) => {
        const at = `edge.resources.${what}`;
        const p = res?.[what] === undefined ? {} : c.object(at, res?.[what], ["request", "limit"]);
        if (!p) { return undefined; }
        const parse = what === "cpu" ? parseCpuQuantity : parseByteQuantity;
        const expected = what === "cpu" ? "a CPU quantity such as 250m or 1" : "a memory quantity such as 512Mi or 2Gi";
        const request = c.string(`${at}.request`, p.request, { required: false, expected }) ?? fallback.request;
        const limit = c.string(`${at}.limit`, p.limit, { required: false, expected }) ?? fallback.limit;
        const rq = parse(request), lm = parse(limit);
        if (rq === undefined) { c.add(`${at}.request`, `${describe(request)} is not ${expected}`); }
        if (lm === undefined) { c.add(`${at}.limit`, `${describe(limit)} is not ${expected}`); }
        if (rq !== undefined && lm !== undefined && rq > lm) {
            c.add(`${at}.request`, `${request} is more than the limit (${limit})`);
            return undefined;
        }
        return rq !== undefined && lm !== undefined ? { request, limit } : undefined;
    };
    const cpu = pair("cpu", { request: "250m", limit: "1" });
    const memory = pair("memory", { request: "512Mi", limit: "512Mi" });

    const ca = o.cache === undefined ? {} : c.object("edge.cache", o.cache, ["memoryBytes", "maxObjectBytes", "volumeSize", "diskBytes"]);
    let cache: EdgeSettings["cache"] | undefined;
    if (ca) {
        const memoryBytes = c.integer("edge.cache.memoryBytes", ca.memoryBytes, 1048576, Number.MAX_SAFE_INTEGER, 268435456);
        const maxObjectBytes = c.integer("edge.cache.maxObjectBytes", ca.maxObjectBytes, 1024, Number.MAX_SAFE_INTEGER, 8388608);
        const volumeSize = c.string("edge.cache.volumeSize", ca.volumeSize, { required: false }) ?? "1Gi";
        const volumeBytes = parseByteQuantity(volumeSize);
        if (volumeBytes === undefined || volumeBytes < 2 * 1048576) {
            c.add("edge.cache.volumeSize", `${describe(volumeSize)} is not a storage quantity of at least 2Mi (expected e.g. 1Gi)`);
        }
        // 80% of the emptyDir: the kubelet evicts a pod whose emptyDir passes its sizeLimit.
        const diskDefault = volumeBytes === undefined ? undefined : Math.floor(volumeBytes * 0.8);
        const diskBytes = c.integer("edge.cache.diskBytes", ca.diskBytes, 1048576, Number.MAX_SAFE_INTEGER, diskDefault);
        if (diskBytes !== undefined && volumeBytes !== undefined && diskBytes > volumeBytes * 0.9) {
            c.add("edge.cache.diskBytes", `${diskBytes} leaves less than 10% of edge.cache.volumeSize (${volumeSize}) free; the kubelet evicts a pod whose emptyDir passes its sizeLimit`);
        }
        if (memoryBytes !== undefined && maxObjectBytes !== undefined && maxObjectBytes > memoryBytes) {
            c.add("edge.cache.maxObjectBytes", `${maxObjectBytes} exceeds edge.cache.memoryBytes (${memoryBytes})`);
        }
        const limitBytes = memory ? parseByteQuantity(memory.limit) : undefined;
        // The .NET GC caps its heap at 75% of the container's limit by default; the memory tier (which counts what its
        // entries keep alive, not just bodies) must leave room under that cap for the server itself and for garbage.
        if (memoryBytes !== undefined && limitBytes !== undefined && memoryBytes > limitBytes * 0.6) {
            c.add("edge.cache.memoryBytes", `${memoryBytes} is more than 60% of edge.resources.memory.limit (${memory?.limit}); the .NET heap may use 75% of it and the server and its garbage need the difference, or the container is OOM-killed`);
        }
        if (memoryBytes && maxObjectBytes && diskBytes && volumeBytes && diskBytes <= volumeBytes * 0.9 &&
            maxObjectBytes <= memoryBytes) {
            cache = { memoryBytes, maxObjectBytes, volumeSize, diskBytes };
        }
    }
    const targetCpuUtilization = c.integer("edge.targetCpuUtilization", o.targetCpuUtilization, 10, 100, 70);
    const zoneSpread = c.oneOf("edge.zoneSpread", o.zoneSpread, ["required", "preferred"] as const, "preferred");
    const accessLog = c.boolean("edge.accessLog", o.accessLog, true);
    const http2 = c.boolean("edge.http2", o.http2, false);
    const grace = parseGrace(c, o);
    if (!cpu || !memory || !cache || !targetCpuUtilization || !zoneSpread || !grace) { return undefined; }
    return { namespace, resources: { cpu, memory }, cache, targetCpuUtilization, zoneSpread, accessLog, http2, ...grace };
}

/**
 * The stop sequence of an edge pod: the kubelet runs the preStop sleep, then sends SIGTERM, and kills the container
 * terminationGracePeriodSeconds after the start of it all; the node needs its whole shutdown grace inside that.
 */
function parseGrace(c: Checker, o: Obj): Pick<EdgeSettings, "preStopSleepSeconds" | "shutdownGracePeriodSeconds" | "terminationGracePeriodSeconds"> | undefined {
    const preStopSleepSeconds = c.integer("edge.preStopSleepSeconds", o.preStopSleepSeconds, 0, 300, 15);
    const shutdownGracePeriodSeconds = c.integer("edge.shutdownGracePeriodSeconds", o.shutdownGracePeriodSeconds, 0, 3600, 25);
    if (preStopSleepSeconds === undefined || shutdownGracePeriodSeconds === undefined) { return undefined; }
    const needed = preStopSleepSeconds + shutdownGracePeriodSeconds;
    const terminationGracePeriodSeconds = c.integer("edge.terminationGracePeriodSeconds", o.terminationGracePeriodSeconds, 1, 7200, needed + 5);
    if (terminationGracePeriodSeconds === undefined) { return undefined; }
    if (terminationGracePeriodSeconds <= needed) {
        c.add("edge.terminationGracePeriodSeconds", `${terminationGracePeriodSeconds} is not more than edge.preStopSleepSeconds (${preStopSleepSeconds}) + edge.shutdownGracePeriodSeconds (${shutdownGracePeriodSeconds}) = ${needed}; the kubelet would kill the node before it has finished its in-flight responses (expected at least ${needed + 1})`);
        return undefined;
    }
    return { preStopSleepSeconds, shutdownGracePeriodSeconds, terminationGracePeriodSeconds };
}

function parseAdmin(c: Checker, v: unknown): AdminConfig | undefined {
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
function parseKubernetesApi(c: Checker, v: unknown, createsClusters: boolean): KubernetesApiConfig | undefined {
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

function parseTags(c: Checker, v: unknown): Record<string, string> | undefined {
    if (v === undefined) { return {}; }
    const o = c.object("tags", v, Object.keys(c.isObject(v) ? v : {}));
    if (!o) { return undefined; }
    let ok = true;
    for (const [k, val] of Object.entries(o)) {
        if (typeof val !== "string") {
            c.add(`tags.${k}`, `${describe(val)} is not a string`);
            ok = false;
        }
    }
    return ok ? o as Record<string, string> : undefined;
}

function strip<T extends object>(o: T): T {
    return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

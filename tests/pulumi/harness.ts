// Pulumi mocks for the unit tests: no engine, no cloud. Import this module FIRST in every test file, so the mocks are
// in place before any component module (and so any resource) is loaded. Every registered resource and every invoke is
// recorded, with plausible outputs for what the program reads back (bucket names, NLB hostnames, OIDC issuers, ...).

import * as pulumi from "@pulumi/pulumi";
import * as fs from "fs";
import * as path from "path";
import { parse as parseYaml } from "yaml";
import assert from "node:assert/strict";

export const ACCOUNT_ID = "123456789012";
export const MOCK_ZONE_ID = "Z0MOCKZONE1234";
export const REPO_ROOT = path.resolve(__dirname, "..", "..");
/** The day the tests run on: config validation compares Kubernetes versions with the EKS calendar on this day. */
export const TODAY = new Date("2026-12-07T12:00:00Z");

export interface Recorded {
    type: string;
    name: string;
    // Test code reads arbitrary input shapes; typing each resource's inputs here would only restate the providers.
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    inputs: any;
    provider?: string;
    custom: boolean;
}

export const resources: Recorded[] = [];
export const invokes: { token: string; inputs: Record<string, unknown> }[] = [];

/** What the engine is asked to register: type, name and parent, with the URNs the mock monitor answers. */
export interface Registration {
    type: string;
    name: string;
    /** The mock monitor's URN of the parent ("" for a top-level resource). */
    parent: string;
    /** The mock monitor's URN of this resource (its type part holds only the parent's type, not the whole chain). */
    urn: string;
}

export const registrations: Registration[] = [];

const REGION_IN_NAME = /(af|ap|ca|eu|il|me|mx|sa|us)-(north|south|east|west|central|northeast|southeast|southwest|northwest)-[0-9]/;

/** The canonical hosted zone ids of NLBs in a few regions (the real table lives in the AWS provider). */
export const NLB_ZONE_IDS: Record<string, string> = {
    "us-east-1": "Z26RNL4JYFTOTI",
    "us-west-2": "Z18D5FSROUN65G",
    "eu-west-1": "Z2IFOLAFXWLO4F",
    "eu-central-1": "Z3F0SRJ5LGBH90",
    "ap-southeast-1": "ZKVM4W9LS7TM",
    "ap-northeast-1": "Z31USIVHYNEOWT",
    "sa-east-1": "ZTK26PT1VY4CU",
};

function regionOf(args: { inputs: Record<string, unknown>; name: string }): string {
    if (typeof args.inputs.region === "string") { return args.inputs.region; }
    return REGION_IN_NAME.exec(args.name)?.[0] ?? "us-east-1";
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
function outputsFor(type: string, name: string, inputs: any): Record<string, unknown> {
    const region = regionOf({ inputs, name });
    switch (type) {
        case "aws:s3/bucket:Bucket": {
            const bucket = `${inputs.bucketPrefix ?? `${name}-`}20251125abcdef0123456789`.slice(0, 63);
            return { bucket, arn: `arn:aws:s3:::${bucket}`, id: bucket, region };
        }
        case "aws:ecr/repository:Repository": {
            const repo = inputs.name ?? `${name}-repo`;
            return { name: repo, registryId: ACCOUNT_ID, repositoryUrl: `${ACCOUNT_ID}.dkr.ecr.${region}.amazonaws.com/${repo}` };
        }
        case "docker-build:index:Image":
            return { digest: `sha256:${"ab".repeat(32)}`, ref: `${inputs.tags?.[0] ?? name}@sha256:${"ab".repeat(32)}` };
        case "aws:eks/cluster:Cluster":
            return {
                name: inputs.name,
                arn: `arn:aws:eks:${region}:${ACCOUNT_ID}:cluster/${inputs.name}`,
                endpoint: `https://${inputs.name}.gr7.${region}.eks.amazonaws.com`,
                certificateAuthority: { data: "bW9jay1jYQ==" },
                identities: [{ oidcs: [{ issuer: `https://oidc.eks.${region}.amazonaws.com/id/MOCK${region.replace(/-/g, "").toUpperCase()}` }] }],
            };
        case "aws:ec2/launchTemplate:LaunchTemplate":
            return { latestVersion: 1 };
        case "aws:iam/role:Role":
            return { name: `${name}-role`, arn: `arn:aws:iam::${ACCOUNT_ID}:role/${name}-role` };
        case "aws:iam/openIdConnectProvider:OpenIdConnectProvider":
            return { arn: `arn:aws:iam::${ACCOUNT_ID}:oidc-provider/${String(inputs.url).replace(/^https:\/\//, "")}` };
        case "aws:acm/certificate:Certificate":
            return {
                arn: `arn:aws:acm:${region}:${ACCOUNT_ID}:certificate/${name}`,
                // ACM gives the same validation record for a name in every region of an account.
                domainValidationOptions: [inputs.domainName, ...(inputs.subjectAlternativeNames ?? [])].map((d: string) => ({
                    domainName: d,
                    resourceRecordName: `_0123abcd.${d}.`,
                    resourceRecordType: "CNAME",
                    resourceRecordValue: `_4567ef.${d.replace(/\./g, "-")}.acm-validations.aws.`,
                })),
            };
        case "aws:acm/certificateValidation:CertificateValidation":
            return { certificateArn: inputs.certificateArn };
        case "aws:route53/record:Record":
            return { fqdn: inputs.name };
        case "aws:route53/healthCheck:HealthCheck":
            return { id: `hc-${name}` };
        case "random:index/randomPassword:RandomPassword":
            return { result: "m".repeat(inputs.length ?? 32) };
        case "kubernetes:core/v1:Service":
            return {
                status: {
                    loadBalancer: {
                        ingress: [{ hostname: `a${name.replace(/[^a-z0-9]/g, "").slice(-20)}-0123456789abcdef.elb.${region}.amazonaws.com` }],
                    },
                },
            };
        default:
            return {};
    }
}

/** Pulumi's wire signature of a secret value ({ [SECRET_SIG]: SECRET_VALUE_SIG, value }). */
const SECRET_SIG = "4dabf18193072939515e22adb298388d";

/** Inputs as the provider would see them, with secret wrappers replaced by their values. */
function unwrapSecrets(v: unknown): unknown {
    if (Array.isArray(v)) { return v.map(unwrapSecrets); }
    if (typeof v === "object" && v !== null) {
        const o = v as Record<string, unknown>;
        if (SECRET_SIG in o) { return unwrapSecrets(o.value); }
        return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, unwrapSecrets(x)]));
    }
    return v;
}

pulumi.runtime.setMocks({
    newResource(args: pulumi.runtime.MockResourceArgs): { id: string; state: Record<string, unknown> } {
        resources.push({ type: args.type, name: args.name, inputs: unwrapSecrets(args.inputs), provider: args.provider, custom: args.custom ?? true });
        const extra = outputsFor(args.type, args.name, args.inputs);
        const state: Record<string, unknown> = { ...args.inputs, ...extra };
        if (args.type.startsWith("kubernetes:") && typeof args.inputs.metadata === "object") {
            // The Kubernetes provider auto-names objects without a name (name + random suffix).
            state.metadata = { ...args.inputs.metadata, name: args.inputs.metadata.name ?? `${args.name}-x1y2z3` };
        }
        if (!("arn" in state) && args.type.startsWith("aws:")) { state.arn = `arn:aws:mock:::${args.name}`; }
        return { id: typeof extra.id === "string" ? extra.id : `${args.name}-id`, state };
    },
    call(args: pulumi.runtime.MockCallArgs): Record<string, unknown> {
        invokes.push({ token: args.token, inputs: args.inputs });
        const region = typeof args.inputs.region === "string" ? args.inputs.region : "us-east-1";
        switch (args.token) {
            case "aws:index/getCallerIdentity:getCallerIdentity":
                return { accountId: ACCOUNT_ID, arn: `arn:aws:iam::${ACCOUNT_ID}:user/deployer`, userId: "AIDAMOCK", id: ACCOUNT_ID };
            case "aws:route53/getZone:getZone":
                return { zoneId: MOCK_ZONE_ID, id: MOCK_ZONE_ID, name: args.inputs.name };
            case "aws:index/getAvailabilityZones:getAvailabilityZones":
                return { id: region, names: ["a", "b", "c"].map((s) => `${region}${s}`), zoneIds: ["1", "2", "3"].map((s) => `use1-az${s}`) };
            case "aws:lb/getHostedZoneId:getHostedZoneId":
                return { id: NLB_ZONE_IDS[region] ?? `ZNLB${region.replace(/-/g, "").toUpperCase()}`, region };
            case "aws:ecr/getAuthorizationToken:getAuthorizationToken":
                return { id: region, userName: "AWS", password: "mock-ecr-password", authorizationToken: "QVdTOm1vY2s=", proxyEndpoint: `https://${ACCOUNT_ID}.dkr.ecr.${region}.amazonaws.com` };
            case "aws:eks/getCluster:getCluster":
                return {
                    id: args.inputs.name,
                    name: args.inputs.name,
                    endpoint: `https://${String(args.inputs.name)}.existing.${region}.eks.amazonaws.com`,
                    certificateAuthorities: [{ data: "ZXhpc3RpbmctY2E=" }],
                    identities: [{ oidcs: [{ issuer: `https://oidc.eks.${region}.amazonaws.com/id/EXISTING` }] }],
                };
            default:
                return {};
        }
    },
}, "edgecdn", "test", false);

// The mocks' newResource sees no parent, and the mock monitor's URNs name only the immediate parent's type; the
// registration requests carry the parent, so the real URN (the whole type chain) can be rebuilt from them.
type MonitorCallback = (err: Error | null, resp?: { getUrn(): string }) => void;
interface RegisterRequest { getType(): string; getName(): string; getParent(): string }
// eslint-disable-next-line @typescript-eslint/no-require-imports
const mockMonitor = (require("@pulumi/pulumi/runtime/settings") as { getMonitor(): unknown }).getMonitor() as {
    registerResource(req: RegisterRequest, callback: MonitorCallback): Promise<void>;
    readResource(req: RegisterRequest, callback: MonitorCallback): Promise<void>;
};
for (const method of ["registerResource", "readResource"] as const) {
    const original = mockMonitor[method].bind(mockMonitor);
    mockMonitor[method] = (req, callback) => original(req, (err, resp) => {
        if (!err && resp) {
            registrations.push({ type: req.getType(), name: req.getName(), parent: req.getParent(), urn: resp.getUrn() });
        }
        callback(err, resp);
    });
}

/**
 * The URNs the engine would give what was registered, each with its parent's URN: `urn:pulumi:<stack>::edgecdn::`
 * then the types from the top-level component down to the resource, joined by `$`, then `::<name>`.
 */
export function registeredUrns(stack: string, from: Registration[] = registrations): Record<string, string> {
    const byMockUrn = new Map<string, Registration>();
    for (const r of from) {
        if (byMockUrn.has(r.urn)) { throw new Error(`two registrations share the mock URN ${r.urn}; the type chain cannot be rebuilt`); }
        byMockUrn.set(r.urn, r);
    }
    const chain = (r: Registration): string => {
        const parent = r.parent === "" ? undefined : byMockUrn.get(r.parent);
        if (r.parent !== "" && !parent) { throw new Error(`${r.name}'s parent ${r.parent} was not registered`); }
        return parent ? `${chain(parent)}$${r.type}` : r.type;
    };
    const urn = (r: Registration) => `urn:pulumi:${stack}::edgecdn::${chain(r)}::${r.name}`;
    const out: Record<string, string> = {};
    for (const r of [...from].sort((a, b) => urn(a).localeCompare(urn(b)))) {
        const parent = r.parent === "" ? undefined : byMockUrn.get(r.parent);
        out[urn(r)] = parent ? urn(parent) : "";
    }
    return out;
}

/** Forget what earlier tests registered. */
export function reset(): void {
    resources.length = 0;
    invokes.length = 0;
    registrations.length = 0;
}

/** Waits until the program's outstanding registrations and invokes have all been answered by the mocks. */
export async function settle(): Promise<void> {
    // waitForRPCs is @internal in @pulumi/pulumi (used by disconnect); it waits for the RPC queue to drain.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const settings = require("@pulumi/pulumi/runtime/settings") as { waitForRPCs?: () => Promise<void> };
    for (let i = 0; i < 3; i++) {
        await settings.waitForRPCs?.();
        await new Promise((r) => setImmediate(r));
    }
}

/** The value of an Output (mocks run as `pulumi up`, so every value is known). */
export function valueOf<T>(o: pulumi.Input<T> | undefined): Promise<T> {
    return new Promise((resolve) => pulumi.output(o).apply((v) => { resolve(v as T); return v; }));
}

/** Raw `edgecdn:*` config of Pulumi.<stack>.yaml, keys without the namespace. */
export function stackConfig(stack: string): Record<string, unknown> {
    const doc = parseYaml(fs.readFileSync(path.join(REPO_ROOT, `Pulumi.${stack}.yaml`), "utf8")) as { config: Record<string, unknown> };
    return Object.fromEntries(Object.entries(doc.config)
        .filter(([k]) => k.startsWith("edgecdn:"))
        .map(([k, v]) => [k.slice("edgecdn:".length), v]));
}

/** A deep copy to mutate into a variant. */
export function clone<T>(v: T): T {
    return JSON.parse(JSON.stringify(v)) as T;
}

/** Registered resources of one type (e.g. "aws:route53/record:Record"). */
export function ofType(type: string, from: Recorded[] = resources): Recorded[] {
    return from.filter((r) => r.type === type);
}

/** One statement of an IAM policy document, as the tests read them. */
export interface PolicyStatement {
    Sid?: string;
    Effect: string;
    Principal?: "*" | { Federated?: string; Service?: string | string[]; AWS?: string | string[] };
    Action: string | string[];
    Resource: string | string[];
    Condition?: Record<string, Record<string, string>>;
}

/** The statements of a policy document given as JSON. */
export function statements(policy: string): PolicyStatement[] {
    return (JSON.parse(policy) as { Statement: PolicyStatement[] }).Statement;
}

/** A trust statement's web-identity provider: its Principal's Federated. */
export function federated(s: PolicyStatement): string | undefined {
    return typeof s.Principal === "object" ? s.Principal.Federated : undefined;
}

/** The one resource of that type and name; fails the test when there is none, or more than one. */
export function byName(from: Recorded[], type: string, name: string): Recorded {
    const found = from.filter((r) => r.type === type && r.name === name);
    assert.equal(found.length, 1, `expected one ${type} named ${name}, found ${found.length}`);
    return found[0];
}

/** Count of registered resources per type. */
export function countByType(from: Recorded[] = resources): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const r of from) { counts[r.type] = (counts[r.type] ?? 0) + 1; }
    return counts;
}

export interface Built {
    // The Cdn component (typed loosely so this module never imports the program before the mocks are set).
    cdn: import("../../components").Cdn;
    resources: Recorded[];
    registrations: Registration[];
}

/** Builds a Cdn from raw config under the mocks, the way the program does, and returns it with what it registered. */
export async function buildCdn(name: string, config: unknown, opts?: pulumi.ComponentResourceOptions,
    args?: { awsCredentials?: { profile?: string; roleArn?: string } }): Promise<Built> {
    const { createCdn } = await import("../../stacks/program");
    reset();
    const cdn = createCdn(name, config, { projectRoot: REPO_ROOT, now: TODAY, ...args }, opts);
    await settle();
    return { cdn, resources: [...resources], registrations: [...registrations] };
}

/** Registers nothing if the config is bad: returns the thrown error and how many resources were registered. */
export async function buildExpectingError(name: string, config: unknown): Promise<{ error: unknown; registered: number }> {
    const { createCdn } = await import("../../stacks/program");
    reset();
    let error: unknown;
    try {
        createCdn(name, config, { projectRoot: REPO_ROOT, now: TODAY });
    } catch (e) {
        error = e;
    }
    await settle();
    return { error, registered: resources.length };
}

/** The fleet's metrics and access-log resources (workspace, agents, log bucket, shippers), by their names. */
export const OBSERVABILITY_NAME = /-(metrics|metrics-agent|log-shipper|access-logs)(-|$)/;

/** What serves viewers, without the observability resources beside it. */
export function edgeOnly(from: Recorded[]): Recorded[] {
    return from.filter((r) => !OBSERVABILITY_NAME.test(r.name));
}

/** Resources whose name carries the region (every per-region resource does). */
export function inRegion(region: string, from: Recorded[]): Recorded[] {
    return from.filter((r) => new RegExp(`-${region}(-|$)`).test(r.name));
}

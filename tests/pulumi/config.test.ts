// Bad stack configs fail before anything is created, with one message naming every bad field.
import { buildExpectingError, clone, stackConfig } from "./harness";
import assert from "node:assert/strict";
import { describe, it } from "node:test";

type Raw = Record<string, unknown> & { regions: Record<string, unknown>[]; behaviors: Record<string, unknown>[]; origins: Record<string, unknown>[] };

function dev(): Raw {
    return clone(stackConfig("dev")) as Raw;
}

/** Builds with a bad config and checks: a CdnConfigError, nothing registered, and each expected line in the message. */
async function rejects(name: string, config: unknown, ...expected: (string | RegExp)[]): Promise<string[]> {
    const { CdnConfigError } = await import("../../components");
    const { error, registered } = await buildExpectingError(name, config);
    assert.ok(error instanceof CdnConfigError, `expected a CdnConfigError, got ${String(error)}`);
    assert.equal(registered, 0, "a bad config must not register any resource");
    for (const e of expected) {
        assert.ok(error.errors.some((line) => (typeof e === "string" ? line.includes(e) : e.test(line))),
            `expected an error matching ${String(e)} in:\n${error.message}`);
    }
    // One thrown message carries every line.
    for (const line of error.errors) { assert.ok(error.message.includes(line)); }
    return error.errors;
}

describe("stack config validation", () => {
    it("accepts the committed dev and prod configs", async () => {
        const { parseCdnConfig } = await import("../../components");
        for (const stack of ["dev", "prod"]) {
            const cfg = parseCdnConfig(stackConfig(stack));
            assert.ok(cfg.regions.length >= 2, stack);
        }
        assert.equal(parseCdnConfig(stackConfig("dev")).regions.length, 2);
        assert.ok(parseCdnConfig(stackConfig("prod")).regions.length >= 3);
    });

    it("rejects an unknown region, naming the field and the expected values", async () => {
        const c = dev();
        c.regions.push({ ...clone(c.regions[1]), name: "us-moon-1" });
        await rejects("bad-region", c, /^regions\[2\]\.name: "us-moon-1" is not an AWS region \(expected one of .*us-east-1/);
    });

    it("rejects a duplicate region", async () => {
        const c = dev();
        c.regions[1].name = "us-east-1";
        await rejects("dup-region", c, /^regions\[1\]\.name: "us-east-1" is already regions\[0\]/);
    });

    it("rejects behaviors without a default '*' behavior last", async () => {
        const c = dev();
        c.behaviors.pop();
        await rejects("no-default", c, /^behaviors\[1\]\.pathPattern: the last behavior is the default and must be '\*'/);
    });

    it("rejects a behavior whose min TTL exceeds its max TTL", async () => {
        const c = dev();
        Object.assign(c.behaviors[0], { minTtlSeconds: 7200, defaultTtlSeconds: 7200, maxTtlSeconds: 3600 });
        await rejects("ttl", c, /^behaviors\[0\]\.minTtlSeconds: 7200 is greater than maxTtlSeconds \(3600\)/);
    });

    it("rejects a min TTL above the server's default max TTL when max is not given", async () => {
        const c = dev();
        c.behaviors[2] = { pathPattern: "*", origin: "app", minTtlSeconds: 40000000 };
        await rejects("ttl-default", c, /^behaviors\[2\]\.minTtlSeconds: 40000000 is greater than maxTtlSeconds \(31536000, the default\)/);
    });

    it("rejects a missing domain", async () => {
        const c = dev();
        delete c.domain;
        await rejects("no-domain", c, /^domain: is required \(expected the viewer hostname/);
    });

    it("rejects a behavior naming an origin that does not exist", async () => {
        const c = dev();
        c.behaviors[0].origin = "images";
        await rejects("bad-origin-ref", c, /^behaviors\[0\]\.origin: "images" is not a configured origin \(known: app, assets\)/);
    });

    it("takes an http origin's maxPassThroughConnections within 1-65536 and passes it to the edge server", async () => {
        const { parseCdnConfig, renderEdgeConfig } = await import("../../components");
        const c = dev();
        assert.equal(c.origins[1].name, "app");
        c.origins[1].maxPassThroughConnections = 64;
        const cfg = parseCdnConfig(c);
        const rendered = renderEdgeConfig({
            region: "us-east-1", origins: cfg.origins.filter((o) => o.type === "http"), behaviors: [], edge: cfg.edge, buckets: {},
        });
        assert.equal(rendered.origins.find((o) => o.id === "app")?.maxPassThroughConnections, 64);
        c.origins[1].maxPassThroughConnections = 0;
        await rejects("pass-through", c, /^origins\[1\]\.maxPassThroughConnections: /);
    });

    it("lists every problem of a config at once", async () => {
        const c = dev();
        delete c.domain;
        c.regions[0].name = "us-moon-1";
        c.regions[1].name = "eu-west-1";
        c.behaviors[0].origin = "images";
        c.behaviors[1].maxTtlSeconds = -1;
        c.origins[1].url = "ftp://nope";
        c.colour = "blue";
        const errors = await rejects("many", c,
            "domain:", "regions[0].name:", "behaviors[0].origin:", "behaviors[1].maxTtlSeconds:", "origins[1].url:", "config.colour: is not a known field");
        assert.ok(errors.length >= 6);
    });

    it("rejects a domain outside the hosted zone", async () => {
        const c = dev();
        c.domain = "cdn.example.org";
        await rejects("zone", c, /^domain: "cdn\.example\.org" is not inside the hosted zone example\.com/);
    });

    it("checks behaviors against the edge server's schema ($defs/behavior)", async () => {
        const c = dev();
        c.behaviors[0].ttl = 5;
        (c.behaviors[1].cacheKey as Record<string, unknown>).queryStrings = "some";
        await rejects("schema", c,
            /^behaviors\[0\]\.ttl: is not a known field of a behavior/,
            /^behaviors\[1\]\.cacheKey\.queryStrings: is not one of: none, all, allowList/);
    });

    it("rejects more regions than Route 53's 100 latency records per name and type", async () => {
        const c = dev();
        c.regions = Array.from({ length: 101 }, () => clone(c.regions[0]));
        await rejects("too-many", c, /Route 53 allows at most 100 latency records with the same name and type/);
    });

    it("rejects more health checks than the account's Route 53 quota", async () => {
        const c = dev();
        c.healthCheck = { existingInAccount: 199 };
        await rejects("quota", c, /^regions: 2 regions need 2 Route 53 health checks; .*199.*quota of 200 health checks/);
    });

    it("rejects an existing cluster given by kubeconfig without its OIDC issuer (needed for IRSA)", async () => {
        const c = dev();
        c.regions[1].cluster = { existing: { kubeconfig: "apiVersion: v1\nkind: Config\n" } };
        await rejects("kubeconfig", c, /^regions\[1\]\.cluster\.existing\.oidcIssuer: is required with kubeconfig/);
    });

    it("rejects a cluster that is both created and existing, and bad node counts", async () => {
        const c = dev();
        (c.regions[0].cluster as Record<string, unknown>).existing = { clusterName: "x" };
        ((c.regions[1].cluster as { create: { nodes: Record<string, number> } }).create.nodes) = { min: 3, desired: 1, max: 2 };
        await rejects("cluster", c, /^regions\[0\]\.cluster: needs exactly one of create/, /^regions\[1\]\.cluster\.create\.nodes\.min: 3 is greater than nodes\.max \(2\)/);
    });

    it("rejects a cache that does not fit the container's memory limit", async () => {
        const c = dev();
        // 70% of the 512Mi limit: under the .NET heap's 75% cap, but with no room left for the server and its garbage.
        c.edge = { ...(c.edge as object), cache: { memoryBytes: 367001600 } };
        await rejects("memory", c, /^edge\.cache\.memoryBytes: 367001600 is more than 60% of edge\.resources\.memory\.limit \(512Mi\)/);
    });

    it("rejects node instance types that cannot run the image's platform", async () => {
        const c = dev();
        ((c.regions[1].cluster as { create: { instanceTypes: string[] } }).create.instanceTypes) = ["t4g.medium"];
        await rejects("arch", c, /^regions\[1\]\.cluster\.create\.instanceTypes\[0\]: t4g\.medium runs linux\/arm64 but image\.build\.platform is linux\/amd64/);
    });

    it("rejects a Cluster Autoscaler for a node group that cannot grow, for another Kubernetes version, or unpinned", async () => {
        const c = dev();
        type Create = { create: { nodes: Record<string, number>; clusterAutoscaler?: unknown } };
        // dev's node groups are 1-1: asking for the autoscaler there is a mistake, not something to ignore.
        (c.regions[0].cluster as Create).create.clusterAutoscaler = { enabled: true };
        (c.regions[1].cluster as Create).create.nodes = { min: 1, desired: 1, max: 3 };
        (c.regions[1].cluster as Create).create.clusterAutoscaler = { imageTag: "v1.30.2", chartVersion: "latest" };
        await rejects("autoscaler", c,
            /^regions\[0\]\.cluster\.create\.clusterAutoscaler\.enabled: is true but nodes\.min equals nodes\.max \(1\)/,
            /^regions\[1\]\.cluster\.create\.clusterAutoscaler\.imageTag: "v1\.30\.2" is not for Kubernetes 1\.33/,
            /^regions\[1\]\.cluster\.create\.clusterAutoscaler\.chartVersion: "latest" is not valid \(expected a cluster-autoscaler Helm chart version/);
    });

    it("defaults the Cluster Autoscaler on exactly when nodes.min < nodes.max, its image following the Kubernetes version", async () => {
        const { parseCdnConfig, DEFAULT_CLUSTER_AUTOSCALER_CHART_VERSION } = await import("../../components");
        const autoscalers = (stack: string) => parseCdnConfig(stackConfig(stack)).regions
            .map((r) => ("create" in r.cluster ? r.cluster.create.clusterAutoscaler : undefined));
        for (const a of autoscalers("dev")) { assert.equal(a?.enabled, false); }
        for (const a of autoscalers("prod")) {
            assert.deepEqual(a, { enabled: true, chartVersion: DEFAULT_CLUSTER_AUTOSCALER_CHART_VERSION, imageTag: "v1.33.0" });
        }
    });

    it("rejects an admin network open to the whole internet", async () => {
        const c = dev();
        c.admin = { allowedCidrs: ["0.0.0.0/0"] };
        await rejects("admin", c, /^admin\.allowedCidrs\[0\]: "0\.0\.0\.0\/0" would open the purge API to the whole internet/);
    });
});

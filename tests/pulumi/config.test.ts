// Bad stack configs fail before anything is created, with one message naming every bad field.
import { buildExpectingError, clone, REPO_ROOT, reset, resources, settle, stackConfig, TODAY } from "./harness";
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
        await rejects("ttl-default", c, /^behaviors\[2\]\.minTtlSeconds: 40000000 is greater than maxTtlSeconds \(31536000\)/);
    });

    it("rejects a missing domain", async () => {
        const c = dev();
        delete c.domain;
        await rejects("no-domain", c, /^domain: is required \(expected the viewer hostname/);
    });

    it("rejects a behavior naming an origin that does not exist", async () => {
        const c = dev();
        c.behaviors[0].origin = "images";
        await rejects("bad-origin-ref", c, /^behaviors\[0\]\.origin: 'images' is not a configured origin \(known: app, assets\)/);
    });

    it("takes an http origin's maxPassThroughConnections within 1-65536 and passes it to the edge server", async () => {
        const { parseCdnConfig, renderEdgeConfig } = await import("../../components");
        const c = dev();
        assert.equal(c.origins[1].name, "app");
        c.origins[1].maxPassThroughConnections = 64;
        const cfg = parseCdnConfig(c);
        const rendered = renderEdgeConfig({
            region: "us-east-1", origins: cfg.origins.filter((o) => o.type === "http"), behaviors: [{ pathPattern: "*", origin: "app" }], edge: cfg.edge, buckets: {},
        });
        assert.equal(rendered.origins.find((o) => o.id === "app")?.maxPassThroughConnections, 64);
        c.origins[1].maxPassThroughConnections = 0;
        await rejects("pass-through", c, /^origins\[1\]\.maxPassThroughConnections: /);
    });

    it("rejects an http origin's hostHeader that is not a host, since it is sent as the Host header", async () => {
        for (const bad of ["www.example.com\r\nX-Injected: 1", "www example.com", "user@www.example.com", "www.example.com/path"]) {
            const c = dev();
            c.origins[1].hostHeader = bad;
            await rejects("host-header", c, /^origins\[1\]\.hostHeader: .* is not a host name or address with an optional port/);
        }
        const { parseCdnConfig } = await import("../../components");
        const c = dev();
        c.origins[1].hostHeader = "www.example.com:8443";
        const app = parseCdnConfig(c).origins.find((o) => o.name === "app");
        assert.equal(app?.type === "http" ? app.hostHeader : undefined, "www.example.com:8443");
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
            /^behaviors\[0\]\.ttl: is not a known field/,
            /^behaviors\[1\]\.cacheKey\.queryStrings: 'some' is not one of 'none', 'all', 'allowList'/);
    });

    it("rejects more regions than Route 53's 100 latency records per name and type", async () => {
        const c = dev();
        c.regions = Array.from({ length: 101 }, () => clone(c.regions[0]));
        await rejects("too-many", c, /Route 53 allows at most 100 latency records with the same name and type/);
    });

    it("rejects more regions than ECR can replicate an image to", async () => {
        const { AWS_REGIONS } = await import("../../components");
        const c = dev();
        c.regions = AWS_REGIONS.slice(0, 27).map((name) => ({ ...clone(c.regions[0]), name }));
        await rejects("ecr-fanout", c, /^regions: 27 regions need 26 ECR replication destinations; ECR allows 25 per registry/);
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
        // 70% of the 512Mi limit: with the runtime's reserve and the heap's headroom, more than the container holds.
        c.edge = { ...(c.edge as object), cache: { memoryBytes: 367001600 } };
        await rejects("memory", c, /^edge\.resources\.memory\.limit: 512Mi is below the 522 MiB the edge node needs: 96 MiB for the \.NET runtime \+ the 350 MiB tier \(edge\.cache\.memoryBytes\)/);
    });

    it("rejects node instance types that cannot run the image's platform", async () => {
        const c = dev();
        ((c.regions[1].cluster as { create: { instanceTypes: string[] } }).create.instanceTypes) = ["t4g.medium"];
        await rejects("arch", c, /^regions\[1\]\.cluster\.create\.instanceTypes\[0\]: t4g\.medium runs linux\/arm64 but image\.build\.platform is linux\/amd64/);
    });

    it("defaults to the newest Kubernetes version in EKS standard support, and the committed stacks pin none past it", async () => {
        const { parseCdnConfig, newestInStandardSupport, DEFAULT_KUBERNETES_VERSION, EKS_VERSIONS } = await import("../../components");
        assert.equal(newestInStandardSupport(TODAY), "1.35");
        assert.equal(DEFAULT_KUBERNETES_VERSION, newestInStandardSupport(TODAY));
        const c = dev();
        for (const r of c.regions) { delete (r.cluster as { create: Record<string, unknown> }).create.kubernetesVersion; }
        const cfg = parseCdnConfig(c, { now: TODAY });
        for (const r of cfg.regions) { assert.equal("create" in r.cluster && r.cluster.create.kubernetesVersion, "1.35"); }
        for (const stack of ["dev", "prod"]) {
            assert.deepEqual(parseCdnConfig(stackConfig(stack), { now: TODAY }).warnings, [], stack);
        }
        // The calendar itself: each version's standard support is 14 months, extended 12 more.
        for (const [v, d] of Object.entries(EKS_VERSIONS)) {
            const months = (a: string, b: string) => (Number(b.slice(0, 4)) - Number(a.slice(0, 4))) * 12 + Number(b.slice(5, 7)) - Number(a.slice(5, 7));
            assert.equal(months(d.released, d.endOfStandardSupport), 14, v);
            assert.equal(months(d.endOfStandardSupport, d.endOfExtendedSupport), 12, v);
        }
    });

    it("warns, with the cost, about a Kubernetes version past EKS standard support, and refuses one past extended support", async () => {
        const { parseCdnConfig } = await import("../../components");
        const c = dev();
        (c.regions[0].cluster as { create: Record<string, unknown> }).create.kubernetesVersion = "1.33";
        const cfg = parseCdnConfig(c, { now: TODAY });
        assert.deepEqual(cfg.warnings, [
            "regions[0].cluster.create.kubernetesVersion: 1.33 left EKS standard support on 2026-07-29, so its control plane is billed at the extended-support rate: $0.60/h (about $438/month) instead of $0.10/h (about $73/month) per cluster. Use 1.35 (standard support until 2027-03-27).",
        ]);
        (c.regions[1].cluster as { create: Record<string, unknown> }).create.kubernetesVersion = "1.31";
        await rejects("k8s-ended", c, /^regions\[1\]\.cluster\.create\.kubernetesVersion: 1\.31 left EKS extended support on 2026-11-26; EKS no longer creates clusters of it \(use 1\.35\)/);
    });

    it("pins the Cluster Autoscaler chart whose appVersion is the cluster's minor version, and refuses one that is not", async () => {
        const { parseCdnConfig, CLUSTER_AUTOSCALER_CHARTS, EKS_VERSIONS } = await import("../../components");
        // Every version EKS still runs has a checked chart for the same minor version.
        for (const v of Object.keys(EKS_VERSIONS)) {
            assert.ok(CLUSTER_AUTOSCALER_CHARTS[v], v);
            assert.equal(CLUSTER_AUTOSCALER_CHARTS[v].appVersion.split(".").slice(0, 2).join("."), v);
        }
        const c = clone(stackConfig("prod")) as Raw;
        const cfg = parseCdnConfig(c, { now: TODAY });
        for (const r of cfg.regions) {
            assert.ok("create" in r.cluster);
            assert.deepEqual(r.cluster.create.clusterAutoscaler, { enabled: true, chartVersion: "9.59.0", imageTag: "v1.35.0" });
        }
        (c.regions[0].cluster as { create: Record<string, unknown> }).create.clusterAutoscaler = { chartVersion: "9.51.0" };
        (c.regions[1].cluster as { create: Record<string, unknown> }).create.clusterAutoscaler = { chartVersion: "9.99.0" };
        await rejects("ca-chart", c,
            /^regions\[0\]\.cluster\.create\.clusterAutoscaler\.chartVersion: chart 9\.51\.0 installs cluster-autoscaler 1\.33\.0, not one for Kubernetes 1\.35 \(use 9\.59\.0\); a mismatched chart's RBAC can leave the autoscaler waiting forever/,
            /^regions\[1\]\.cluster\.create\.clusterAutoscaler\.chartVersion: chart 9\.99\.0 is not one whose appVersion this stack has checked \(known: .*9\.59\.0.*\); add it to CLUSTER_AUTOSCALER_CHART_APP_VERSIONS in components\/config\/versions\.ts/);
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
            /^regions\[1\]\.cluster\.create\.clusterAutoscaler\.imageTag: "v1\.30\.2" is not for Kubernetes 1\.35/,
            /^regions\[1\]\.cluster\.create\.clusterAutoscaler\.chartVersion: "latest" is not valid \(expected a cluster-autoscaler Helm chart version/);
    });

    it("defaults the Cluster Autoscaler on exactly when nodes.min < nodes.max, its image following the Kubernetes version", async () => {
        const { parseCdnConfig } = await import("../../components");
        const autoscalers = (stack: string) => parseCdnConfig(stackConfig(stack), { now: TODAY }).regions
            .map((r) => ("create" in r.cluster ? r.cluster.create.clusterAutoscaler : undefined));
        for (const a of autoscalers("dev")) { assert.equal(a?.enabled, false); }
        for (const a of autoscalers("prod")) {
            assert.deepEqual(a, { enabled: true, chartVersion: "9.59.0", imageTag: "v1.35.0" });
        }
    });

    it("rejects a pod termination grace that does not cover the preStop sleep and the node's drain", async () => {
        const c = dev();
        c.edge = { ...(c.edge as object), preStopSleepSeconds: 15, shutdownGracePeriodSeconds: 25, terminationGracePeriodSeconds: 35 };
        await rejects("grace", c, /^edge\.terminationGracePeriodSeconds: 35 is not more than edge\.preStopSleepSeconds \(15\) \+ edge\.shutdownGracePeriodSeconds \(25\) = 40; the kubelet would kill the node before it has finished its in-flight responses/);
        const { parseCdnConfig } = await import("../../components");
        // The default follows the two: 15 + 25 + 5.
        assert.equal(parseCdnConfig(stackConfig("dev")).edge.terminationGracePeriodSeconds, 45);
    });

    it("rejects a KMS key that is not a key ARN in the existing bucket's region, or on a bucket the stack creates", async () => {
        const c = clone(stackConfig("prod")) as Raw;
        c.origins[1].kmsKeyArn = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";
        c.origins[0].kmsKeyArn = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";
        await rejects("kms-region", c,
            /^origins\[1\]\.kmsKeyArn: is in eu-west-1 but the bucket acme-media-archive is in us-east-1; S3 can only use a KMS key of its own region/,
            /^origins\[0\]\.kmsKeyArn: is not a known field/);
        const d = clone(stackConfig("prod")) as Raw;
        d.origins[1].kmsKeyArn = "arn:aws:kms:us-east-1:123456789012:alias/media";
        await rejects("kms-alias", d, /^origins\[1\]\.kmsKeyArn: "arn:aws:kms:us-east-1:123456789012:alias\/media" is not valid \(expected the key's ARN, arn:aws:kms:<region>:<account>:key\/<key id> \(not an alias: IAM grants kms:Decrypt on keys\)\)/);
    });

    it("rejects Replication Time Control on an origin that does not replicate", async () => {
        const c = dev();
        Object.assign(c.origins[0], { replicate: false, replicationTimeControl: true });
        await rejects("rtc", c, /^origins\[0\]\.replicationTimeControl: is true but replicate is false; there is no replication to time/);
    });

    it("refuses an EKS API open to the whole internet unless the stack says so, and requires the list when it creates clusters", async () => {
        const c = clone(stackConfig("prod")) as Raw;
        c.kubernetesApi = { publicAccessCidrs: ["203.0.113.0/24", "0.0.0.0/0"] };
        await rejects("api-open", c, /^kubernetesApi\.publicAccessCidrs\[1\]: "0\.0\.0\.0\/0" would let the whole internet reach the EKS API endpoints; list the networks pulumi up and kubectl run from, or set kubernetesApi\.allowPublicApiFromAnywhere: true to mean it/);
        const { parseCdnConfig } = await import("../../components");
        c.kubernetesApi = { publicAccessCidrs: ["0.0.0.0/0"], allowPublicApiFromAnywhere: true };
        assert.deepEqual(parseCdnConfig(c, { now: TODAY }).kubernetesApi, { publicAccessCidrs: ["0.0.0.0/0"] });
        delete c.kubernetesApi;
        await rejects("api-missing", c, /^kubernetesApi\.publicAccessCidrs: is required when the stack creates a cluster/);
        c.kubernetesApi = { publicAccessCidrs: ["10.0.0.300/8"] };
        await rejects("api-bad", c, /^kubernetesApi\.publicAccessCidrs\[0\]: "10\.0\.0\.300\/8" is not an IPv4 network in CIDR form/);
        // Existing clusters only: nothing to configure.
        const e = dev();
        delete e.kubernetesApi;
        for (const r of e.regions) { r.cluster = { existing: { clusterName: "platform" } }; }
        assert.deepEqual(parseCdnConfig(e, { now: TODAY }).kubernetesApi, { publicAccessCidrs: [] });
    });

    it("rejects an autoscaled node maximum that cannot give each zone's node group a node, and an unknown NAT layout", async () => {
        const c = clone(stackConfig("prod")) as Raw;
        (c.regions[0].cluster as { create: Record<string, unknown> }).create.nodes = { min: 1, desired: 1, max: 2 };
        (c.regions[1].cluster as { create: Record<string, unknown> }).create.natGateways = "two";
        await rejects("per-zone", c,
            /^regions\[0\]\.cluster\.create\.nodes\.max: 2 is less than availabilityZones \(3\); with the Cluster Autoscaler each zone has its own node group/,
            /^regions\[1\]\.cluster\.create\.natGateways: "two" is not one of: perZone, one/);
    });

    it("rejects a stack name that makes a derived AWS name too long, naming the resource and the limit", async () => {
        const { parseCdnConfig } = await import("../../components");
        // edgecdn-prod fits everywhere: its longest role, the autoscaler's in ap-southeast-1, is 51 + 8 characters.
        assert.doesNotThrow(() => parseCdnConfig(stackConfig("prod"), { now: TODAY, name: "edgecdn-prod" }));
        const c = clone(stackConfig("prod")) as Raw;
        c.origins[0].name = "static-assets-for-the-main-website";
        const errors = await rejects("edgecdn-production", c,
            /^regions\[2\]\.name: the IAM role of the Cluster Autoscaler in ap-southeast-1 would be named "edgecdn-production-ap-southeast-1-cluster-autoscaler-irsa" plus an 8-character suffix, 65 characters; AWS allows 64: shorten the stack name \(the CDN is named "edgecdn-production" after it\)/,
            /^origins\[0\]\.name: the S3 replication role of origin static-assets-for-the-main-website would be named "edgecdn-production-origins-static-assets-for-the-main-website-replication" plus an 8-character suffix, 81 characters; AWS allows 64: shorten the origin's name or the stack name/);
        // The same roles in the shorter region names fit.
        assert.ok(!errors.some((e) => e.startsWith("regions[0]")), errors.join("\n"));
    });

    it("the Cdn itself refuses a typed config whose derived names its own name makes too long, before registering anything", async () => {
        const { Cdn, CdnConfigError, parseCdnConfig } = await import("../../components");
        // Parsed without the CDN's name, so only the component can check the names derived from it.
        const config = parseCdnConfig(stackConfig("prod"), { now: TODAY });
        reset();
        let error: unknown;
        try {
            new Cdn("edgecdn-production", { config, projectRoot: REPO_ROOT });
        } catch (e) {
            error = e;
        }
        await settle();
        assert.ok(error instanceof CdnConfigError, `expected a CdnConfigError, got ${String(error)}`);
        assert.equal(resources.length, 0, "a bad config must not register any resource");
        assert.ok(error.errors.some((e) => /^regions\[2\]\.name: the IAM role of the Cluster Autoscaler in ap-southeast-1 would be named "edgecdn-production-ap-southeast-1-cluster-autoscaler-irsa" plus an 8-character suffix, 65 characters; AWS allows 64/.test(e)),
            error.message);
    });

    it("rejects a fixed image tag: tags are derived from the build's content, and the repositories refuse to move one", async () => {
        const c = dev();
        c.image = { build: { tag: "latest" } };
        await rejects("tag", c, /^image\.build\.tag: is no longer set by hand: the image is tagged with a hash of its build input, since the ECR repositories are immutable; remove it/);
    });

    it("rejects an admin network open to the whole internet", async () => {
        const c = dev();
        c.admin = { allowedCidrs: ["0.0.0.0/0"] };
        await rejects("admin", c, /^admin\.allowedCidrs\[0\]: "0\.0\.0\.0\/0" would open the purge API to the whole internet/);
    });
});

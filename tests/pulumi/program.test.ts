// The Pulumi program itself (stacks/index.ts, Pulumi.yaml's main) run against Pulumi.dev.yaml's config as the
// engine would pass it, and the stack outputs it exports.
import { REPO_ROOT, reset, resources, settle, stackConfig, valueOf } from "./harness";
import * as pulumi from "@pulumi/pulumi";
import * as fs from "fs";
import * as path from "path";
import { parse as parseYaml } from "yaml";
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";

/** Pulumi.<stack>.yaml's config the way the engine hands it to a program: structured values as JSON text. */
function engineConfig(stack: string): Record<string, string> {
    const doc = parseYaml(fs.readFileSync(path.join(REPO_ROOT, `Pulumi.${stack}.yaml`), "utf8")) as { config: Record<string, unknown> };
    return Object.fromEntries(Object.entries(doc.config).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)]));
}

describe("stacks/index.ts with Pulumi.dev.yaml", () => {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    let stack: any;
    before(async () => {
        pulumi.runtime.setAllConfig(engineConfig("dev"));
        stack = await import("../../stacks");
        await settle();
    });

    it("Pulumi.yaml runs stacks/ with the TypeScript runtime", () => {
        const project = parseYaml(fs.readFileSync(path.join(REPO_ROOT, "Pulumi.yaml"), "utf8")) as { name: string; main: string; runtime: { name: string } };
        assert.equal(project.name, "edgecdn");
        assert.equal(project.runtime.name, "nodejs");
        assert.equal(project.main, "stacks/");
        assert.ok(fs.existsSync(path.join(REPO_ROOT, project.main, "index.ts")));
    });

    it("builds the CDN named after the stack", () => {
        assert.ok(resources.some((r) => r.type === "edgecdn:index:Cdn" && r.name === "edgecdn-test"));
        assert.equal(resources.filter((r) => r.type === "aws:eks/cluster:Cluster").length, 2);
    });

    it("exports the viewer URL, each region's endpoint and health check, bucket names, images and purge endpoints", async () => {
        assert.equal(stack.viewerUrl, "https://cdn-dev.example.com/");
        const regions = ["us-east-1", "eu-west-1"];
        const endpoints = await valueOf(stack.endpoints) as Record<string, string>;
        const checks = await valueOf(stack.healthCheckIds) as Record<string, string>;
        const images = await valueOf(stack.images) as Record<string, string>;
        const admin = await valueOf(stack.adminEndpoints) as Record<string, string>;
        for (const r of regions) {
            assert.match(endpoints[r], new RegExp(`\\.elb\\.${r}\\.amazonaws\\.com$`));
            assert.equal(checks[r], `hc-edgecdn-test-dns-${r}`);
            assert.match(images[r], new RegExp(`^\\d+\\.dkr\\.ecr\\.${r}\\.amazonaws\\.com/.+@sha256:[a-f0-9]{64}$`));
            assert.match(admin[r], /\/purge/);
        }
        const buckets = await valueOf(stack.buckets) as Record<string, { primary: string; replicas: Record<string, string> }>;
        assert.match(buckets.assets.primary, /^edgecdn-test-origins-assets-primary-/);
        assert.deepEqual(Object.keys(buckets.assets.replicas), ["eu-west-1"]);
        const regionOut = await valueOf(stack.regions) as Record<string, { regionalUrl: string }>;
        assert.equal(regionOut["eu-west-1"].regionalUrl, "https://eu-west-1.cdn-dev.example.com/");
    });

    it("exports the control bucket and its region, which edgecdn --stack reads, and the invalidator policy", async () => {
        assert.match(await valueOf(stack.controlBucket) as string, /^edgecdn-test-control-us-east-1-/);
        assert.equal(await valueOf(stack.controlBucketRegion), "us-east-1");
        assert.equal(await valueOf(stack.invalidatorPolicyArn), "arn:aws:mock:::edgecdn-test-control-invalidator");
        const config = resources.find((r) => r.type === "kubernetes:core/v1:ConfigMap" && r.name === "edgecdn-test-eu-west-1-edge-config");
        assert.equal(JSON.parse(config?.inputs.data["edgecache.json"]).invalidation.bucket, await valueOf(stack.controlBucket));
    });

    it("exports the purge token as a secret", async () => {
        assert.equal(await pulumi.isSecret(stack.adminToken), true);
        assert.ok((await valueOf(stack.adminToken) as string).length >= 32);
    });

    it("stops on a bad config with every problem listed, before registering any resource", async () => {
        const { createCdnStack, readRawConfig } = await import("../../stacks/program");
        const { CdnConfigError } = await import("../../components");
        const raw = readRawConfig({ ...engineConfig("dev"), "edgecdn:domain": "CDN.example.com", "edgecdn:healthcheck": "{}" });
        reset();
        let error: unknown;
        try {
            createCdnStack(raw);
        } catch (e) {
            error = e;
        }
        await settle();
        assert.ok(error instanceof CdnConfigError, `expected a CdnConfigError, got ${String(error)}`);
        assert.equal(resources.length, 0, "a bad config must not register any resource");
        assert.ok(error.errors.some((e) => e.startsWith("domain: \"CDN.example.com\" is not valid")), error.message);
        assert.ok(error.errors.some((e) => e.startsWith("config.healthcheck: is not a known field")), error.message);
    });

    it("reports a misspelt config key instead of ignoring it", async () => {
        const { readRawConfig } = await import("../../stacks/program");
        const { parseCdnConfig } = await import("../../components");
        const raw = readRawConfig({ ...engineConfig("dev"), "edgecdn:healthcheck": "{\"intervalSeconds\":10}" });
        assert.deepEqual(raw.regions, stackConfig("dev").regions);
        assert.throws(() => parseCdnConfig(raw), /config\.healthcheck: is not a known field \(expected one of: .*healthCheck/);
    });
});

// The edge image: built once from edge-image/ with the docker-build provider (not during previews), tagged with a hash
// of what the build reads, pushed to one ECR repository and replicated by ECR to the same-named repository of every
// other edge region; every repository refuses to move a tag; nodes run their own region's copy pinned by digest.
import { ACCOUNT_ID, Built, buildCdn, clone, invokes, ofType, REPO_ROOT, stackConfig, valueOf } from "./harness";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";

const DIGEST = `sha256:${"ab".repeat(32)}`;

for (const stack of ["dev", "prod"]) {
    describe(`edge image build (${stack})`, () => {
        let built: Built;
        let ecrTokenRegions: unknown[];
        const cfg = stackConfig(stack) as { regions: { name: string }[]; image: { build: { context: string; dockerfile: string; platform: string } } };
        const regions = cfg.regions.map((r) => r.name);
        const repoName = `edgecdn-${stack}-image`;
        const repoUrl = (region: string) => `${ACCOUNT_ID}.dkr.ecr.${region}.amazonaws.com/${repoName}`;
        before(async () => {
            built = await buildCdn(`edgecdn-${stack}`, stackConfig(stack));
            ecrTokenRegions = invokes.filter((i) => i.token === "aws:ecr/getAuthorizationToken:getAuthorizationToken").map((i) => i.inputs.region);
        });

        it("builds edge-image/ with its Dockerfile, once, for the configured platform, and not during previews", () => {
            const images = ofType("docker-build:index:Image", built.resources);
            assert.equal(images.length, 1);
            const [image] = images;
            assert.equal(image.name, `edgecdn-${stack}-image-build`);
            assert.equal(image.inputs.context.location, path.join(REPO_ROOT, "edge-image"));
            assert.equal(image.inputs.dockerfile.location, path.join(REPO_ROOT, "edge-image", "Dockerfile"));
            assert.ok(fs.existsSync(image.inputs.dockerfile.location), image.inputs.dockerfile.location);
            assert.deepEqual(image.inputs.platforms, [cfg.image.build.platform]);
            assert.equal(image.inputs.push, true);
            // `pulumi preview` needs neither Docker nor a cross-build.
            assert.equal(image.inputs.buildOnPreview, false);
        });

        it("tags the image with a hash of its build input and pushes it to the first region's repository only", async () => {
            const { buildContextHash } = await import("../../components/contextHash");
            const [image] = ofType("docker-build:index:Image", built.resources);
            const hash = buildContextHash(path.join(REPO_ROOT, "edge-image"), path.join(REPO_ROOT, "edge-image", "Dockerfile"), cfg.image.build.platform);
            assert.deepEqual(image.inputs.tags, [`${repoUrl(regions[0])}:${hash.slice(0, 32)}`]);
            assert.deepEqual(image.inputs.registries.map((r: { address: string }) => r.address), [`${ACCOUNT_ID}.dkr.ecr.${regions[0]}.amazonaws.com`]);
            assert.equal(image.inputs.registries[0].password, "mock-ecr-password");
            assert.deepEqual(ecrTokenRegions, [regions[0]]);
        });

        it("keeps a same-named repository in every region that refuses to move a tag, and replicates into them", () => {
            const repos = ofType("aws:ecr/repository:Repository", built.resources);
            assert.deepEqual(repos.map((r) => r.inputs.region), regions);
            for (const r of repos) {
                assert.equal(r.inputs.name, repoName);
                assert.equal(r.inputs.imageTagMutability, "IMMUTABLE");
                assert.equal(r.inputs.imageScanningConfiguration.scanOnPush, true);
            }
            const replication = ofType("aws:ecr/replicationConfiguration:ReplicationConfiguration", built.resources);
            assert.equal(replication.length, 1);
            assert.equal(replication[0].inputs.region, regions[0]);
            assert.deepEqual(replication[0].inputs.replicationConfiguration, {
                rules: [{
                    destinations: regions.slice(1).map((region) => ({ region, registryId: ACCOUNT_ID })),
                    repositoryFilters: [{ filter: repoName, filterType: "PREFIX_MATCH" }],
                }],
            });
        });

        it("runs each region's nodes on its own region's copy, pinned by the build's digest", async () => {
            for (const region of regions) {
                assert.equal(await valueOf(built.cdn.regions[region].image), `${repoUrl(region)}@${DIGEST}`);
                const d = built.resources.find((r) => r.name === `edgecdn-${stack}-${region}-edge-deployment`);
                assert.equal(d?.inputs.spec.template.spec.containers[0].image, `${repoUrl(region)}@${DIGEST}`);
            }
        });
    });
}

describe("edge image build follows the config", () => {
    it("an arm64 build with its own context and Dockerfile on Graviton nodes", async () => {
        const c = clone(stackConfig("dev")) as Record<string, unknown> & { regions: { cluster: { create: { instanceTypes: string[] } } }[] };
        for (const r of c.regions) { r.cluster.create.instanceTypes = ["t4g.medium"]; }
        c.image = { build: { context: "edge-image/EdgeCache", dockerfile: "edge-image/Dockerfile", platform: "linux/arm64", keepImages: 3 } };
        const built = await buildCdn("edgecdn-arm", c);
        const [image] = ofType("docker-build:index:Image", built.resources);
        assert.deepEqual(image.inputs.platforms, ["linux/arm64"]);
        assert.equal(image.inputs.context.location, path.join(REPO_ROOT, "edge-image", "EdgeCache"));
        assert.match(image.inputs.tags[0], new RegExp(`^${ACCOUNT_ID}\\.dkr\\.ecr\\.us-east-1\\.amazonaws\\.com/edgecdn-arm-image:[0-9a-f]{32}$`));
        for (const ng of ofType("aws:eks/nodeGroup:NodeGroup", built.resources)) { assert.equal(ng.inputs.amiType, "AL2023_ARM_64_STANDARD"); }
    });

    it("leaves the registry's replication configuration to the account when asked (ECR has one per registry)", async () => {
        const c = clone(stackConfig("dev")) as Record<string, unknown>;
        c.image = { build: { manageRegistryReplication: false } };
        const built = await buildCdn("edgecdn-shared-registry", c);
        assert.equal(ofType("aws:ecr/replicationConfiguration:ReplicationConfiguration", built.resources).length, 0);
        assert.equal(ofType("aws:ecr/repository:Repository", built.resources).length, 2);
    });
});

describe("build context hash", () => {
    it("changes with a file the build reads, the Dockerfile or the platform, and not with what .dockerignore excludes", async () => {
        const { buildContextHash } = await import("../../components/contextHash");
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "edgecdn-ctx-"));
        try {
            fs.mkdirSync(path.join(dir, "src"));
            fs.mkdirSync(path.join(dir, "src", "bin"));
            fs.writeFileSync(path.join(dir, ".dockerignore"), "**/bin/\nDockerfile\n");
            fs.writeFileSync(path.join(dir, "src", "a.cs"), "class A {}");
            fs.writeFileSync(path.join(dir, "src", "bin", "a.dll"), "one");
            fs.writeFileSync(path.join(dir, "Dockerfile"), "FROM scratch\n");
            const df = path.join(dir, "Dockerfile");
            const first = buildContextHash(dir, df, "linux/amd64");
            assert.match(first, /^[0-9a-f]{64}$/);
            assert.equal(buildContextHash(dir, df, "linux/amd64"), first, "the same input, the same hash");
            fs.writeFileSync(path.join(dir, "src", "bin", "a.dll"), "two");
            assert.equal(buildContextHash(dir, df, "linux/amd64"), first, "an ignored build output does not count");
            assert.notEqual(buildContextHash(dir, df, "linux/arm64"), first);
            fs.writeFileSync(df, "FROM scratch\nUSER 10001\n");
            const second = buildContextHash(dir, df, "linux/amd64");
            assert.notEqual(second, first, "the Dockerfile counts even though .dockerignore excludes it from the context");
            fs.writeFileSync(path.join(dir, "src", "a.cs"), "class A { }");
            assert.notEqual(buildContextHash(dir, df, "linux/amd64"), second);
            fs.renameSync(path.join(dir, "src", "a.cs"), path.join(dir, "src", "b.cs"));
            assert.notEqual(buildContextHash(dir, df, "linux/amd64"), second, "a renamed file is a different input");
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});

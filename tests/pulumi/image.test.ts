// The edge image: built once from edge-image/ with the docker-build provider, for the configured platform, and pushed to
// the ECR repository of every edge region with that region's registry credentials; nodes run it pinned by digest.
import { ACCOUNT_ID, Built, buildCdn, clone, invokes, ofType, REPO_ROOT, stackConfig, valueOf } from "./harness";
import * as fs from "fs";
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
        const repoUrl = (region: string) => `${ACCOUNT_ID}.dkr.ecr.${region}.amazonaws.com/edgecdn-${stack}-image-${region}-repo`;
        before(async () => {
            built = await buildCdn(`edgecdn-${stack}`, stackConfig(stack));
            ecrTokenRegions = invokes.filter((i) => i.token === "aws:ecr/getAuthorizationToken:getAuthorizationToken").map((i) => i.inputs.region);
        });

        it("builds edge-image/ with its Dockerfile, once, for the configured platform, and pushes it", () => {
            const images = ofType("docker-build:index:Image", built.resources);
            assert.equal(images.length, 1);
            const [image] = images;
            assert.equal(image.name, `edgecdn-${stack}-image-build`);
            assert.equal(cfg.image.build.context, "edge-image");
            assert.equal(image.inputs.context.location, path.join(REPO_ROOT, "edge-image"));
            assert.equal(image.inputs.dockerfile.location, path.join(REPO_ROOT, "edge-image", "Dockerfile"));
            // What the build points at is the real image source.
            assert.ok(fs.existsSync(image.inputs.dockerfile.location), image.inputs.dockerfile.location);
            assert.deepEqual(image.inputs.platforms, [cfg.image.build.platform]);
            assert.equal(image.inputs.push, true);
        });

        it("tags the image in every region's ECR repository and logs in to each region's registry", () => {
            const [image] = ofType("docker-build:index:Image", built.resources);
            assert.deepEqual(image.inputs.tags, regions.map((r) => `${repoUrl(r)}:latest`));
            assert.deepEqual(image.inputs.registries.map((r: { address: string }) => r.address),
                regions.map((r) => `${ACCOUNT_ID}.dkr.ecr.${r}.amazonaws.com`));
            for (const reg of image.inputs.registries) {
                assert.equal(reg.username, "AWS");
                assert.equal(reg.password, "mock-ecr-password");
            }
            // One ECR token per region, each asked of that region's ECR.
            assert.deepEqual(ecrTokenRegions, regions);
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
    it("an arm64 build with its own tag, context and Dockerfile on Graviton nodes", async () => {
        const c = clone(stackConfig("dev")) as Record<string, unknown> & { regions: { cluster: { create: { instanceTypes: string[] } } }[] };
        for (const r of c.regions) { r.cluster.create.instanceTypes = ["t4g.medium"]; }
        c.image = { build: { context: "edge-image/EdgeCache", dockerfile: "edge-image/Dockerfile", platform: "linux/arm64", tag: "v7", keepImages: 3 } };
        const built = await buildCdn("edgecdn-arm", c);
        const [image] = ofType("docker-build:index:Image", built.resources);
        assert.deepEqual(image.inputs.platforms, ["linux/arm64"]);
        assert.equal(image.inputs.context.location, path.join(REPO_ROOT, "edge-image", "EdgeCache"));
        assert.deepEqual(image.inputs.tags, ["us-east-1", "eu-west-1"].map((r) => `${ACCOUNT_ID}.dkr.ecr.${r}.amazonaws.com/edgecdn-arm-image-${r}-repo:v7`));
        for (const ng of ofType("aws:eks/nodeGroup:NodeGroup", built.resources)) { assert.equal(ng.inputs.amiType, "AL2023_ARM_64_STANDARD"); }
    });
});

// The ConfigMap's JSON is a valid edge server config (its JSON Schema, 2020-12 dialect), carries the stack's behaviors
// unchanged, reads each region's own replica, and is mounted where the server is told to look.
import { Built, buildCdn, edgeOnly, ofType, Recorded, REPO_ROOT, stackConfig } from "./harness";
import Ajv2020 from "ajv/dist/2020";
import * as fs from "fs";
import * as path from "path";
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";

const schema = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, "edge-image", "EdgeCache", "edgecache.schema.json"), "utf8"));
const validate = new Ajv2020({ allErrors: true, strict: false }).compile(schema);

interface EdgeJson {
    node: { region: string };
    listen: { viewerPort: number; adminPort: number; proxyProtocol?: boolean; httpsRedirectPort?: number };
    readiness?: { requireOrigins?: boolean };
    shutdown?: { gracePeriodSeconds?: number };
    origins: { id: string; type: string; bucket?: string; region?: string; primary?: string; secondary?: string; url?: string; keyPrefix?: string }[];
    behaviors: unknown[];
    cache: { memoryBytes: number; disk: { directory: string; maxBytes: number } };
}

function configOf(built: Built, region: string): EdgeJson {
    const name = built.resources.find((r) => r.type === "edgecdn:index:Cdn")?.name;
    const cm = built.resources.find((r) => r.type === "kubernetes:core/v1:ConfigMap" && r.name === `${name}-${region}-edge-config`);
    assert.ok(cm, `no ConfigMap for ${region}`);
    return JSON.parse(cm.inputs.data["edgecache.json"]) as EdgeJson;
}

describe("the schema itself", () => {
    it("rejects what the server rejects (so a pass below means something)", () => {
        assert.equal(validate({ origins: [], behaviors: [] }), false);
        assert.equal(validate({ origins: [{ id: "a", type: "s3", bucket: "b" }], behaviors: [{ pathPattern: "*", origin: "a" }] }), false);
        assert.equal(validate({ origins: [{ id: "a", type: "http", url: "http://o" }], behaviors: [{ pathPattern: "*", origin: "a", ttl: 1 }] }), false);
        // The listen fields the stack sets are the schema's own (a misspelt one is refused).
        const base = { origins: [{ id: "a", type: "http", url: "http://o" }], behaviors: [{ pathPattern: "*", origin: "a" }] };
        assert.equal(validate({ ...base, listen: { proxyProtocol: true, httpsRedirectPort: 8088 } }), true);
        assert.equal(validate({ ...base, listen: { proxyProtocl: true } }), false);
        assert.equal(validate({ ...base, listen: { httpsRedirectPort: 0 } }), false);
    });
});

for (const stack of ["dev", "prod"]) {
    describe(`edge server config (${stack})`, () => {
        let built: Built;
        const cfg = stackConfig(stack) as { regions: { name: string }[]; primaryRegion: string; behaviors: unknown[] };
        const regions = cfg.regions.map((r) => r.name);
        before(async () => { built = await buildCdn(`edgecdn-${stack}`, stackConfig(stack)); });

        it("validates against edge-image/EdgeCache/edgecache.schema.json in every region", () => {
            for (const region of regions) {
                const ok = validate(configOf(built, region));
                assert.ok(ok, `${region}: ${JSON.stringify(validate.errors, null, 2)}`);
            }
        });

        it("keeps a node ready while its origins are down: readiness.requireOrigins is not rendered (its default is false)", () => {
            for (const region of regions) {
                const json = configOf(built, region);
                assert.equal(json.readiness?.requireOrigins, undefined, region);
            }
        });

        it("expects proxy protocol v2 from the NLB on the viewer ports and serves the HTTPS redirect on its own port", async () => {
            const { HTTPS_REDIRECT_PORT, VIEWER_PORT, ADMIN_PORT } = await import("../../components/constants");
            for (const region of regions) {
                const json = configOf(built, region);
                assert.deepEqual(json.listen, { viewerPort: VIEWER_PORT, adminPort: ADMIN_PORT, proxyProtocol: true, httpsRedirectPort: HTTPS_REDIRECT_PORT });
                const d = built.resources.find((r) => r.name === `edgecdn-${stack}-${region}-edge-deployment`) as Recorded;
                const ports = d.inputs.spec.template.spec.containers[0].ports as { name: string; containerPort: number }[];
                assert.equal(ports.find((p) => p.name === "redirect")?.containerPort, HTTPS_REDIRECT_PORT);
            }
        });

        it("renders the node's shutdown grace from the stack, below the pod's termination grace", () => {
            for (const region of regions) {
                const json = configOf(built, region);
                const d = built.resources.find((r) => r.name === `edgecdn-${stack}-${region}-edge-deployment`) as Recorded;
                const pod = d.inputs.spec.template.spec;
                const preStop = pod.containers[0].lifecycle.preStop.sleep.seconds as number;
                assert.ok(typeof json.shutdown?.gracePeriodSeconds === "number");
                assert.ok(pod.terminationGracePeriodSeconds > preStop + json.shutdown.gracePeriodSeconds,
                    `${pod.terminationGracePeriodSeconds} <= ${preStop} + ${json.shutdown.gracePeriodSeconds}`);
            }
        });

        it("round-trips the stack's behaviors unchanged", () => {
            for (const region of regions) {
                assert.deepEqual(configOf(built, region).behaviors, cfg.behaviors);
            }
        });

        it("reads the region's own replica and falls over to the primary; the primary region reads the primary", () => {
            const buckets = ofType("aws:s3/bucket:Bucket", built.resources);
            const bucketName = (b: Recorded | undefined) => { assert.ok(b); return `${String(b.inputs.bucketPrefix)}20251125abcdef0123456789`.slice(0, 63); };
            const primary = bucketName(buckets.find((b) => b.name.endsWith("-assets-primary")));
            for (const region of regions) {
                const json = configOf(built, region);
                assert.equal(json.node.region, region);
                const assets = json.origins.filter((o) => o.id.startsWith("assets"));
                if (region === cfg.primaryRegion) {
                    assert.deepEqual(assets, [{ id: "assets", type: "s3", bucket: primary, region }]);
                } else {
                    const local = bucketName(buckets.find((b) => b.name.endsWith(`-assets-${region}`)));
                    assert.deepEqual(assets[0], {
                        id: "assets", type: "group", primary: "assets-local", secondary: "assets-primary",
                        failoverStatusCodes: [403, 404, 500, 502, 503, 504],
                    });
                    assert.deepEqual(assets.slice(1), [
                        { id: "assets-local", type: "s3", bucket: local, region },
                        { id: "assets-primary", type: "s3", bucket: primary, region: cfg.primaryRegion },
                    ]);
                }
                const app = json.origins.find((o) => o.id === "app");
                assert.equal(app?.type, "http");
                if (stack === "prod") {
                    assert.deepEqual(json.origins.find((o) => o.id === "media"),
                        { id: "media", type: "s3", bucket: "acme-media-archive", region: "us-east-1", keyPrefix: "public/" });
                }
            }
        });

        it("turns on the disk tier inside the cache volume, below its size limit", () => {
            for (const region of regions) {
                const json = configOf(built, region);
                assert.equal(json.cache.disk.directory, "/var/cache/edgecache");
                const d = built.resources.find((r) => r.name === `edgecdn-${stack}-${region}-edge-deployment`) as Recorded;
                const vol = d.inputs.spec.template.spec.volumes.find((v: { name: string }) => v.name === "cache");
                const limit = /^(\d+)Gi$/.exec(vol.emptyDir.sizeLimit);
                assert.ok(limit);
                assert.ok(json.cache.disk.maxBytes <= Number(limit[1]) * 1024 ** 3 * 0.9);
            }
        });

        it("mounts the config at /etc/edgecache/edgecache.json and points EDGECACHE_CONFIG at it", () => {
            for (const d of ofType("kubernetes:apps/v1:Deployment", edgeOnly(built.resources))) {
                const pod = d.inputs.spec.template.spec;
                const c = pod.containers[0];
                const env = Object.fromEntries(c.env.filter((e: { value?: string }) => e.value).map((e: { name: string; value: string }) => [e.name, e.value]));
                assert.equal(env.EDGECACHE_CONFIG, "/etc/edgecache/edgecache.json");
                const mount = c.volumeMounts.find((m: { name: string }) => m.name === "config");
                assert.equal(mount.mountPath, "/etc/edgecache");
                assert.equal(mount.readOnly, true);
                const vol = pod.volumes.find((v: { name: string }) => v.name === "config");
                const region = d.name.replace(`edgecdn-${stack}-`, "").replace("-edge-deployment", "");
                assert.equal(vol.configMap.name, `edgecdn-${stack}-${region}-edge-config-x1y2z3`);
            }
        });
    });
}

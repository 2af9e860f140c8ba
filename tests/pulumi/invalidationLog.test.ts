// The fleet's invalidation log on AWS: one private control bucket in the primary region whose records expire, the
// nodes' exact permissions on it (read the log, write only their own region's acks and heartbeats), the managed
// policy for edgecdn, the node config that points every node at it, and the stack settings that tune it.
import { ACCOUNT_ID, buildCdn, buildExpectingError, Built, byName, clone, ofType, Recorded, REPO_ROOT, stackConfig, statements, TODAY, valueOf } from "./harness";
import Ajv2020 from "ajv/dist/2020";
import * as fs from "fs";
import * as path from "path";
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";

const schema = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, "edge-image", "EdgeCache", "edgecache.schema.json"), "utf8"));
const validate = new Ajv2020({ allErrors: true, strict: false }).compile(schema);

function controlBucketOf(built: Built): Recorded {
    const found = ofType("aws:s3/bucket:Bucket", built.resources).filter((b) => b.inputs.tags?.["edgecdn:role"] === "control");
    assert.equal(found.length, 1, "one control bucket");
    return found[0];
}

/** The bucket name and ARN the mocks give a bucket (its prefix and a fixed suffix). */
function nameOf(bucket: Recorded): string {
    return `${String(bucket.inputs.bucketPrefix)}20251125abcdef0123456789`.slice(0, 63);
}

function edgeJson(built: Built, cdn: string, region: string): Record<string, unknown> & { node: { region: string }; invalidation?: Record<string, unknown> } {
    const cm = byName(built.resources, "kubernetes:core/v1:ConfigMap", `${cdn}-${region}-edge-config`);
    return JSON.parse(cm.inputs.data["edgecache.json"]);
}

for (const stack of ["dev", "prod"]) {
    describe(`invalidation log (${stack})`, () => {
        const cdn = `edgecdn-${stack}`;
        const cfg = stackConfig(stack) as { regions: { name: string }[]; primaryRegion: string };
        const regions = cfg.regions.map((r) => r.name);
        let built: Built;
        let control: Recorded;
        let arn: string;
        before(async () => {
            built = await buildCdn(cdn, stackConfig(stack));
            control = controlBucketOf(built);
            arn = `arn:aws:s3:::${nameOf(control)}`;
        });

        it("creates one control bucket, in the primary region, private, encrypted, versioned and TLS 1.2+ only", () => {
            assert.equal(control.inputs.region, cfg.primaryRegion);
            assert.match(String(control.inputs.bucketPrefix), new RegExp(`^${cdn}-control-${cfg.primaryRegion}-$`));
            const of = (type: string, suffix: string) => byName(built.resources, type, `${control.name}-${suffix}`).inputs;
            const pab = of("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "public-access");
            assert.deepEqual([pab.blockPublicAcls, pab.blockPublicPolicy, pab.ignorePublicAcls, pab.restrictPublicBuckets], [true, true, true, true]);
            assert.equal(of("aws:s3/bucketOwnershipControls:BucketOwnershipControls", "ownership").rule.objectOwnership, "BucketOwnerEnforced");
            assert.equal(of("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration", "encryption")
                .rules[0].applyServerSideEncryptionByDefault.sseAlgorithm, "AES256");
            assert.equal(of("aws:s3/bucketVersioning:BucketVersioning", "versioning").versioningConfiguration.status, "Enabled");
            const policy = statements(of("aws:s3/bucketPolicy:BucketPolicy", "tls-only").policy);
            assert.deepEqual(policy.map((s) => [s.Effect, s.Action, s.Resource, s.Condition]), [
                ["Deny", "s3:*", [arn, `${arn}/*`], { Bool: { "aws:SecureTransport": "false" } }],
                ["Deny", "s3:*", [arn, `${arn}/*`], { NumericLessThan: { "s3:TlsVersion": "1.2" } }],
            ]);
            for (const suffix of ["ownership", "public-access", "encryption", "versioning", "lifecycle", "tls-only"]) {
                assert.equal(built.resources.find((r) => r.name === `${control.name}-${suffix}`)?.inputs.region, cfg.primaryRegion, suffix);
            }
        });

        it("expires invalidation records and acks after 30 days, heartbeats and old versions after a day", () => {
            const lc = byName(built.resources, "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", `${control.name}-lifecycle`);
            assert.deepEqual(lc.inputs.rules, [
                { id: "expire-invalidations", status: "Enabled", filter: { prefix: "invalidations/" }, expiration: { days: 30 } },
                { id: "expire-acks", status: "Enabled", filter: { prefix: "acks/" }, expiration: { days: 30 } },
                { id: "expire-heartbeats", status: "Enabled", filter: { prefix: "nodes/" }, expiration: { days: 1 } },
                {
                    id: "expire-old-versions", status: "Enabled", filter: {},
                    noncurrentVersionExpiration: { noncurrentDays: 1 }, expiration: { expiredObjectDeleteMarker: true },
                },
                { id: "abort-incomplete-uploads", status: "Enabled", filter: {}, abortIncompleteMultipartUpload: { daysAfterInitiation: 1 } },
            ]);
            // head.json is under no expiring prefix: it is the log's entry point and is only ever replaced.
        });

        it("lets each region's edge role read the log and write only that region's acks and heartbeats", () => {
            for (const region of regions) {
                const policy = byName(built.resources, "aws:iam/rolePolicy:RolePolicy", `${cdn}-${region}-edge-invalidation-log`);
                // Attached to the role the region's edge service account assumes.
                assert.equal(policy.inputs.role, `${cdn}-${region}-edge-id`);
                const sa = byName(built.resources, "kubernetes:core/v1:ServiceAccount", `${cdn}-${region}-edge-sa`);
                assert.equal(sa.inputs.metadata.annotations["eks.amazonaws.com/role-arn"], `arn:aws:iam::${ACCOUNT_ID}:role/${cdn}-${region}-edge-role`);
                assert.deepEqual(statements(policy.inputs.policy), [
                    { Sid: "ReadInvalidationLog", Effect: "Allow", Action: ["s3:GetObject"], Resource: [`${arn}/head.json`, `${arn}/invalidations/*`] },
                    {
                        Sid: "ListInvalidationRecords", Effect: "Allow", Action: ["s3:ListBucket"], Resource: arn,
                        Condition: { StringLike: { "s3:prefix": ["invalidations/*", "head.json"] } },
                    },
                    {
                        Sid: "WriteOwnRegionAcksAndHeartbeats", Effect: "Allow", Action: ["s3:PutObject"],
                        Resource: [`${arn}/acks/*/${region}/*`, `${arn}/nodes/${region}/*`],
                    },
                ], region);
            }
        });

        it("gives no role of the stack a way to delete from the control bucket, and only the invalidator writes the log", () => {
            const policies = [...ofType("aws:iam/rolePolicy:RolePolicy", built.resources), ...ofType("aws:iam/policy:Policy", built.resources)];
            const writers = new Set<string>();
            for (const p of policies) {
                for (const st of statements(p.inputs.policy)) {
                    const resources = ([] as string[]).concat(st.Resource);
                    if (!resources.some((r) => r === arn || r.startsWith(`${arn}/`))) { continue; }
                    const actions = ([] as string[]).concat(st.Action);
                    assert.ok(actions.every((a) => ["s3:GetObject", "s3:ListBucket", "s3:PutObject"].includes(a)), `${p.name}: ${actions.join(", ")}`);
                    if (actions.includes("s3:PutObject") && resources.some((r) => r.includes("/invalidations/") || r.endsWith("/head.json"))) {
                        writers.add(p.name);
                    }
                }
            }
            assert.deepEqual([...writers], [`${cdn}-control-invalidator`]);
        });

        it("makes a managed policy with exactly what edgecdn needs", () => {
            const policy = byName(built.resources, "aws:iam/policy:Policy", `${cdn}-control-invalidator`);
            assert.deepEqual(statements(policy.inputs.policy), [
                { Sid: "WriteInvalidations", Effect: "Allow", Action: ["s3:PutObject"], Resource: [`${arn}/invalidations/*`, `${arn}/head.json`] },
                {
                    Sid: "ReadInvalidationLogAndHeartbeats", Effect: "Allow", Action: ["s3:GetObject"],
                    Resource: [`${arn}/head.json`, `${arn}/invalidations/*`, `${arn}/nodes/*`],
                },
                {
                    Sid: "ListInvalidationLog", Effect: "Allow", Action: ["s3:ListBucket"], Resource: arn,
                    Condition: { StringLike: { "s3:prefix": ["head.json", "invalidations/*", "acks/*", "nodes/*"] } },
                },
            ]);
        });

        it("points every node at the control bucket, in the primary region, with the server's default timings", () => {
            for (const region of regions) {
                const json = edgeJson(built, cdn, region);
                assert.equal(json.node.region, region);
                assert.deepEqual(json.invalidation, {
                    bucket: nameOf(control), region: cfg.primaryRegion, pollSeconds: 1, startTimeoutSeconds: 10, heartbeatSeconds: 30,
                }, region);
                assert.ok(validate(json), `${region}: ${JSON.stringify(validate.errors, null, 2)}`);
            }
        });

        it("exposes the control bucket, its region and the invalidator policy on the Cdn", async () => {
            assert.equal(await valueOf(built.cdn.controlBucket), nameOf(control));
            assert.equal(built.cdn.controlBucketRegion, cfg.primaryRegion);
            assert.equal(await valueOf(built.cdn.invalidatorPolicyArn), `arn:aws:mock:::${cdn}-control-invalidator`);
        });
    });
}

describe("invalidation settings in the stack config", () => {
    it("renders pollSeconds, startTimeoutSeconds and heartbeatSeconds, and gives a longer catch-up as much more startup time", async () => {
        const raw = clone(stackConfig("dev")) as Record<string, unknown>;
        raw.invalidation = { pollSeconds: 5, startTimeoutSeconds: 70, heartbeatSeconds: 60 };
        const built = await buildCdn("edgecdn-dev", raw);
        for (const region of ["us-east-1", "eu-west-1"]) {
            const json = edgeJson(built, "edgecdn-dev", region);
            assert.deepEqual({ ...json.invalidation, bucket: undefined }, {
                bucket: undefined, region: "us-east-1", pollSeconds: 5, startTimeoutSeconds: 70, heartbeatSeconds: 60,
            });
            assert.ok(validate(json), `${region}: ${JSON.stringify(validate.errors, null, 2)}`);
            const deployment = byName(built.resources, "kubernetes:apps/v1:Deployment", `edgecdn-dev-${region}-edge-deployment`);
            const probe = deployment.inputs.spec.template.spec.containers[0].startupProbe;
            // 60 s for the rest of start-up and the default 10 s catch-up, plus the 60 s more this one may take.
            assert.equal(probe.periodSeconds * probe.failureThreshold, 120);
        }
    });

    it("keeps the startup probe as it was with the default catch-up", async () => {
        const built = await buildCdn("edgecdn-dev", stackConfig("dev"));
        const deployment = byName(built.resources, "kubernetes:apps/v1:Deployment", "edgecdn-dev-us-east-1-edge-deployment");
        const probe = deployment.inputs.spec.template.spec.containers[0].startupProbe;
        assert.deepEqual([probe.periodSeconds, probe.failureThreshold], [2, 30]);
    });

    it("refuses values outside the server's ranges and unknown fields, naming each, before anything is registered", async () => {
        const raw = clone(stackConfig("dev")) as Record<string, unknown>;
        raw.invalidation = { pollSeconds: 0, startTimeoutSeconds: 601, heartbeatSeconds: "30", pollInterval: 2 };
        const { error, registered } = await buildExpectingError("edgecdn-dev", raw);
        const { CdnConfigError } = await import("../../components");
        assert.ok(error instanceof CdnConfigError, String(error));
        assert.equal(registered, 0);
        assert.deepEqual(error.errors.filter((e) => e.startsWith("invalidation")), [
            "invalidation.pollInterval: is not a known field (expected one of: pollSeconds, startTimeoutSeconds, heartbeatSeconds)",
            "invalidation.pollSeconds: 0 is not an integer from 1 to 3600",
            "invalidation.startTimeoutSeconds: 601 is not an integer from 0 to 600",
            "invalidation.heartbeatSeconds: \"30\" is not an integer from 1 to 3600",
        ]);
    });

    it("accepts exactly the server's ranges (edgecache.schema.json)", async () => {
        const { parseCdnConfig, CdnConfigError } = await import("../../components");
        const props = schema.properties.invalidation.properties as Record<string, { minimum: number; maximum: number }>;
        for (const field of ["pollSeconds", "startTimeoutSeconds", "heartbeatSeconds"]) {
            const { minimum, maximum } = props[field];
            const parse = (value: number) => {
                const raw = clone(stackConfig("dev")) as Record<string, unknown>;
                raw.invalidation = { [field]: value };
                return parseCdnConfig(raw, { now: TODAY });
            };
            for (const ok of [minimum, maximum]) {
                assert.equal((parse(ok).invalidation as unknown as Record<string, number>)[field], ok, `${field} ${ok}`);
            }
            for (const bad of [minimum - 1, maximum + 1]) {
                assert.throws(() => parse(bad), (e: unknown) => e instanceof CdnConfigError && e.errors.some((x) => x.startsWith(`invalidation.${field}: ${bad} `)), `${field} ${bad}`);
            }
        }
    });
});

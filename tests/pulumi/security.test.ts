// Security properties: private, encrypted, TLS-only buckets; an edge role that may only GetObject on its region's
// origin buckets; containers that run as non-root with a read-only root filesystem.
import { ACCOUNT_ID, buildCdn, Built, byName, clone, edgeOnly, ofType, Recorded, stackConfig, statements } from "./harness";
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";

for (const stack of ["dev", "prod"]) {
    describe(`security (${stack})`, () => {
        let built: Built;
        before(async () => { built = await buildCdn(`edgecdn-${stack}`, stackConfig(stack)); });

        it("blocks all public access to every bucket and disables ACLs", () => {
            const buckets = ofType("aws:s3/bucket:Bucket", built.resources);
            assert.ok(buckets.length >= 2);
            for (const b of buckets) {
                const pab = byName(built.resources, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", `${b.name}-public-access`);
                assert.deepEqual(
                    [pab.inputs.blockPublicAcls, pab.inputs.blockPublicPolicy, pab.inputs.ignorePublicAcls, pab.inputs.restrictPublicBuckets],
                    [true, true, true, true], b.name);
                assert.equal(pab.inputs.region, b.inputs.region);
                const own = byName(built.resources, "aws:s3/bucketOwnershipControls:BucketOwnershipControls", `${b.name}-ownership`);
                assert.equal(own.inputs.rule.objectOwnership, "BucketOwnerEnforced");
            }
        });

        it("encrypts every origin bucket, versions it, and expires old versions", () => {
            // The access-log bucket holds no versions (observability.test.ts checks its encryption and expiry).
            for (const b of ofType("aws:s3/bucket:Bucket", edgeOnly(built.resources))) {
                const sse = byName(built.resources, "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration", `${b.name}-encryption`);
                assert.equal(sse.inputs.rules[0].applyServerSideEncryptionByDefault.sseAlgorithm, "AES256");
                const v = byName(built.resources, "aws:s3/bucketVersioning:BucketVersioning", `${b.name}-versioning`);
                assert.equal(v.inputs.versioningConfiguration.status, "Enabled");
                const lc = byName(built.resources, "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", `${b.name}-lifecycle`);
                const rule = lc.inputs.rules.find((r: { id: string }) => r.id === "expire-old-versions");
                assert.equal(rule.status, "Enabled");
                assert.ok(rule.noncurrentVersionExpiration.noncurrentDays >= 1);
            }
        });

        it("denies every request to every bucket that is not over TLS", () => {
            for (const b of ofType("aws:s3/bucket:Bucket", built.resources)) {
                const policy = byName(built.resources, "aws:s3/bucketPolicy:BucketPolicy", `${b.name}-tls-only`);
                const arn = `arn:aws:s3:::${String(b.inputs.bucketPrefix)}`;
                const deny = statements(policy.inputs.policy).find((s) => s.Condition?.Bool?.["aws:SecureTransport"] === "false");
                assert.ok(deny, `${b.name}: no aws:SecureTransport=false statement`);
                assert.equal(deny.Effect, "Deny");
                assert.equal(deny.Principal, "*");
                assert.equal(deny.Action, "s3:*");
                const resources = deny.Resource as string[];
                assert.equal(resources.length, 2);
                assert.ok(resources[0].startsWith(arn) && resources[1] === `${resources[0]}/*`, resources.join(", "));
                // Nothing in the policy allows anything.
                assert.ok(statements(policy.inputs.policy).every((s) => s.Effect === "Deny"));
            }
        });

        it("denies every request to every bucket over TLS older than 1.2", () => {
            for (const b of ofType("aws:s3/bucket:Bucket", built.resources)) {
                const policy = byName(built.resources, "aws:s3/bucketPolicy:BucketPolicy", `${b.name}-tls-only`);
                const arn = `arn:aws:s3:::${String(b.inputs.bucketPrefix)}`;
                const deny = statements(policy.inputs.policy).filter((s) => s.Condition?.NumericLessThan !== undefined);
                assert.equal(deny.length, 1, `${b.name}: expected one TLS-version statement`);
                assert.deepEqual(deny[0].Condition, { NumericLessThan: { "s3:TlsVersion": "1.2" } });
                assert.equal(deny[0].Effect, "Deny");
                assert.equal(deny[0].Principal, "*");
                assert.equal(deny[0].Action, "s3:*");
                const resources = deny[0].Resource as string[];
                assert.ok(resources.length === 2 && resources[0].startsWith(arn) && resources[1] === `${resources[0]}/*`, resources.join(", "));
            }
        });

        it("lets each region's edge role read that region's origin buckets (GetObject, and ListBucket under the key prefix) and nothing else", () => {
            const cfg = stackConfig(stack) as { regions: { name: string }[]; primaryRegion: string };
            const buckets = ofType("aws:s3/bucket:Bucket", built.resources);
            const primary = buckets.find((b) => b.name.endsWith("-primary"));
            assert.ok(primary);
            for (const { name: region } of cfg.regions) {
                const policy = byName(built.resources, "aws:iam/rolePolicy:RolePolicy", `edgecdn-${stack}-${region}-edge-read-origins`);
                const all = statements(policy.inputs.policy);
                const reads = all.filter((st) => (st.Action as string[]).includes("s3:GetObject"));
                const lists = all.filter((st) => (st.Action as string[]).includes("s3:ListBucket"));
                assert.equal(reads.length + lists.length, all.length, "no statement grants anything else");
                for (const st of all) {
                    assert.equal(st.Effect, "Allow");
                    assert.ok((st.Action as string[]).length === 1, JSON.stringify(st.Action));
                }
                assert.equal(reads.length, 1);
                const [only] = reads;
                const replica = buckets.find((b) => b.name.endsWith(`-assets-${region}`));
                const expected: string[] = [primary, ...(replica ? [replica] : [])].map((b: Recorded) => `arn:aws:s3:::${String(b.inputs.bucketPrefix)}`);
                const resources = only.Resource as string[];
                for (const prefix of expected) {
                    assert.ok(resources.some((r) => r.startsWith(prefix) && r.endsWith("/*")), `${region}: no object access to ${prefix}`);
                }
                // Never another region's replica.
                for (const other of buckets.filter((b) => b !== primary && b !== replica)) {
                    assert.ok(!JSON.stringify(all).includes(`arn:aws:s3:::${String(other.inputs.bucketPrefix)}`), `${region} can read ${other.name}`);
                }
                assert.ok(resources.every((r) => /\/[^/]*\*$/.test(r)), resources.join(", "));
                // ListBucket on each bucket it reads, so that a missing key is a 404 and not a 403 (S3 answers 403 to a
                // reader that may not list); on a bucket with a key prefix, only under that prefix.
                const listed = lists.map((st) => st.Resource as string);
                assert.equal(new Set(listed).size, listed.length);
                for (const prefix of expected) {
                    const st = lists.find((l) => (l.Resource as string).startsWith(prefix));
                    assert.ok(st, `${region}: no ListBucket on ${prefix}`);
                    assert.ok(!(st.Resource as string).includes("/"), "ListBucket is granted on the bucket, not on objects");
                    assert.equal(st.Condition, undefined, "a created origin without keyPrefix owns its whole bucket");
                }
                if (stack === "prod") {
                    // The existing bucket, under its key prefix only, for reading and for listing.
                    assert.ok(resources.includes("arn:aws:s3:::acme-media-archive/public/*"), resources.join(", "));
                    assert.equal(resources.length, expected.length + 1);
                    const media = lists.find((l) => l.Resource === "arn:aws:s3:::acme-media-archive");
                    assert.deepEqual(media?.Condition, { StringLike: { "s3:prefix": ["public/*"] } });
                    assert.equal(lists.length, expected.length + 1);
                } else {
                    assert.equal(resources.length, expected.length);
                    assert.equal(lists.length, expected.length);
                }
                assert.ok(!JSON.stringify(all).includes("kms:"), "no KMS access unless an origin names its key");
            }
        });

        it("lets only the edge service account in its namespace assume the edge role, through the cluster's OIDC provider", () => {
            for (const role of ofType("aws:iam/role:Role", built.resources).filter((r) => r.name.endsWith("-edge"))) {
                const [trust] = statements(role.inputs.assumeRolePolicy);
                assert.equal(trust.Action, "sts:AssumeRoleWithWebIdentity");
                const federated = (trust.Principal as { Federated: string }).Federated;
                assert.match(federated, new RegExp(`^arn:aws:iam::${ACCOUNT_ID}:oidc-provider/oidc\\.eks\\.`));
                const issuer = federated.split("oidc-provider/")[1];
                assert.deepEqual(trust.Condition?.StringEquals, {
                    [`${issuer}:sub`]: "system:serviceaccount:edgecache:edgecache",
                    [`${issuer}:aud`]: "sts.amazonaws.com",
                });
            }
            for (const sa of ofType("kubernetes:core/v1:ServiceAccount", edgeOnly(built.resources))) {
                assert.match(sa.inputs.metadata.annotations["eks.amazonaws.com/role-arn"], /^arn:aws:iam::\d+:role\/.*-edge-role$/);
            }
        });

        it("runs the edge container as non-root uid 10001 with a read-only root filesystem and no privileges", () => {
            const deployments = ofType("kubernetes:apps/v1:Deployment", edgeOnly(built.resources));
            assert.equal(deployments.length, (stackConfig(stack).regions as unknown[]).length);
            for (const d of deployments) {
                const pod = d.inputs.spec.template.spec;
                assert.equal(pod.securityContext.runAsNonRoot, true);
                assert.equal(pod.securityContext.runAsUser, 10001);
                assert.equal(pod.automountServiceAccountToken, false);
                for (const c of pod.containers) {
                    assert.equal(c.securityContext.runAsNonRoot, true);
                    assert.equal(c.securityContext.runAsUser, 10001);
                    assert.equal(c.securityContext.readOnlyRootFilesystem, true);
                    assert.equal(c.securityContext.allowPrivilegeEscalation, false);
                    assert.deepEqual(c.securityContext.capabilities.drop, ["ALL"]);
                    // Writable only where the server writes: the cache and /tmp, both emptyDirs.
                    const writable = c.volumeMounts.filter((m: { readOnly?: boolean }) => !m.readOnly).map((m: { mountPath: string }) => m.mountPath).sort();
                    assert.deepEqual(writable, ["/tmp", "/var/cache/edgecache"]);
                }
            }
            for (const ns of ofType("kubernetes:core/v1:Namespace", edgeOnly(built.resources))) {
                assert.equal(ns.inputs.metadata.labels["pod-security.kubernetes.io/enforce"], "restricted");
            }
        });

        it("keeps the purge token in a Secret, generated, and never in the ConfigMap", () => {
            const [token] = ofType("random:index/randomPassword:RandomPassword", built.resources);
            assert.ok(token.inputs.length >= 32);
            for (const d of ofType("kubernetes:apps/v1:Deployment", edgeOnly(built.resources))) {
                const env = d.inputs.spec.template.spec.containers[0].env as { name: string; value?: string; valueFrom?: { secretKeyRef: { key: string } } }[];
                const admin = env.find((e) => e.name === "EDGECACHE_ADMIN_TOKEN");
                assert.ok(admin?.valueFrom?.secretKeyRef, "EDGECACHE_ADMIN_TOKEN must come from a Secret");
                assert.equal(admin.value, undefined);
            }
            for (const cm of ofType("kubernetes:core/v1:ConfigMap", built.resources)) {
                assert.ok(!JSON.stringify(cm.inputs).includes("m".repeat(32)));
            }
        });

        it("scans images on push and keeps only the last N in ECR", () => {
            const keep = (stackConfig(stack).image as { build: { keepImages: number } }).build.keepImages;
            for (const repo of ofType("aws:ecr/repository:Repository", built.resources)) {
                assert.equal(repo.inputs.imageScanningConfiguration.scanOnPush, true);
            }
            for (const lp of ofType("aws:ecr/lifecyclePolicy:LifecyclePolicy", built.resources)) {
                const [rule] = JSON.parse(lp.inputs.policy).rules;
                assert.deepEqual(rule.selection, { tagStatus: "any", countType: "imageCountMoreThan", countNumber: keep });
                assert.equal(rule.action.type, "expire");
            }
        });

        it("limits the replication role to reading the primary and writing the replicas", () => {
            const [policy] = ofType("aws:iam/rolePolicy:RolePolicy", built.resources).filter((r) => r.name.endsWith("-replication"));
            const st = statements(policy.inputs.policy);
            const actions = st.flatMap((s) => s.Action as string[]);
            assert.ok(actions.every((a) => /^s3:(GetReplicationConfiguration|ListBucket|GetObjectVersion\w+|Replicate\w+)$/.test(a)), actions.join());
            const writes = st.find((s) => (s.Action as string[]).includes("s3:ReplicateObject"));
            assert.ok(writes);
            assert.ok((writes.Resource as string[]).every((r) => !r.includes("-primary-")));
        });
    });
}

describe("security (existing clusters)", () => {
    let built: Built;
    const LOOKED_UP_ISSUER = "oidc.eks.us-east-1.amazonaws.com/id/EXISTING";
    const GIVEN_ISSUER = "oidc.eks.eu-west-1.amazonaws.com/id/ABC123";
    before(async () => {
        const c = clone(stackConfig("dev")) as { regions: Record<string, unknown>[] };
        // One found by name (its issuer looked up from EKS), one reached by kubeconfig with the issuer given.
        c.regions[0].cluster = { existing: { clusterName: "platform-use1" } };
        c.regions[1].cluster = { existing: { kubeconfig: "apiVersion: v1\nkind: Config\n", oidcIssuer: `https://${GIVEN_ISSUER}` } };
        built = await buildCdn("edgecdn-existing", c);
    });

    it("trusts each existing cluster's own OIDC provider, and only the edge service account, for the edge role", () => {
        for (const [region, issuer] of [["us-east-1", LOOKED_UP_ISSUER], ["eu-west-1", GIVEN_ISSUER]]) {
            const role = byName(built.resources, "aws:iam/role:Role", `edgecdn-existing-${region}-edge`);
            const [trust, ...rest] = statements(role.inputs.assumeRolePolicy);
            assert.equal(rest.length, 0);
            assert.equal(trust.Effect, "Allow");
            assert.equal(trust.Action, "sts:AssumeRoleWithWebIdentity");
            // The cluster's existing IAM OIDC provider, named by its issuer in this account (not created by the stack).
            assert.deepEqual(trust.Principal, { Federated: `arn:aws:iam::${ACCOUNT_ID}:oidc-provider/${issuer}` });
            assert.deepEqual(trust.Condition, {
                StringEquals: {
                    [`${issuer}:sub`]: "system:serviceaccount:edgecache:edgecache",
                    [`${issuer}:aud`]: "sts.amazonaws.com",
                },
            });
        }
        assert.equal(ofType("aws:iam/openIdConnectProvider:OpenIdConnectProvider", built.resources).length, 0);
    });

    it("prefers a configured OIDC issuer over the one the EKS lookup reports", async () => {
        const c = clone(stackConfig("dev")) as { regions: Record<string, unknown>[] };
        c.regions[0].cluster = { existing: { clusterName: "platform-use1", oidcIssuer: "https://oidc.eks.us-east-1.amazonaws.com/id/OVERRIDE" } };
        const b = await buildCdn("edgecdn-override", c);
        const role = byName(b.resources, "aws:iam/role:Role", "edgecdn-override-us-east-1-edge");
        const [trust] = statements(role.inputs.assumeRolePolicy);
        assert.equal((trust.Principal as { Federated: string }).Federated, `arn:aws:iam::${ACCOUNT_ID}:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/OVERRIDE`);
    });
});

describe("security (an existing bucket encrypted with SSE-KMS)", () => {
    it("grants kms:Decrypt on the origin's key, only when S3 in the bucket's region asks", async () => {
        const c = clone(stackConfig("prod")) as { origins: Record<string, unknown>[] };
        const key = `arn:aws:kms:us-east-1:${ACCOUNT_ID}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;
        c.origins.find((o) => o.name === "media")!.kmsKeyArn = key;
        const b = await buildCdn("edgecdn-kms", c);
        for (const region of ["us-east-1", "eu-west-1", "ap-southeast-1"]) {
            const policy = byName(b.resources, "aws:iam/rolePolicy:RolePolicy", `edgecdn-kms-${region}-edge-read-origins`);
            const kms = statements(policy.inputs.policy).filter((st) => JSON.stringify(st.Action).includes("kms:"));
            assert.equal(kms.length, 1, region);
            assert.deepEqual(kms[0].Action, ["kms:Decrypt"]);
            assert.equal(kms[0].Resource, key);
            // Through S3 only, in the bucket's region (where an SSE-KMS key lives), whichever region the node runs in.
            assert.deepEqual(kms[0].Condition, { StringEquals: { "kms:ViaService": "s3.us-east-1.amazonaws.com" } });
        }
    });
});

describe("S3 replication", () => {
    it("lets S3 assume the replication role only for this account's primary bucket (confused-deputy conditions)", async () => {
        for (const stack of ["dev", "prod"]) {
            const b = await buildCdn(`edgecdn-${stack}`, stackConfig(stack));
            const role = byName(b.resources, "aws:iam/role:Role", `edgecdn-${stack}-origins-assets-replication`);
            const [trust, ...rest] = statements(role.inputs.assumeRolePolicy);
            assert.equal(rest.length, 0);
            assert.deepEqual(trust.Principal, { Service: "s3.amazonaws.com" });
            assert.equal(trust.Action, "sts:AssumeRole");
            const primary = byName(b.resources, "aws:s3/bucket:Bucket", `edgecdn-${stack}-origins-assets-primary`);
            assert.deepEqual(trust.Condition, {
                StringEquals: { "aws:SourceAccount": ACCOUNT_ID },
                ArnLike: { "aws:SourceArn": `arn:aws:s3:::${String(primary.inputs.bucketPrefix)}20251125abcdef0123456789`.slice(0, 13 + 63) },
            });
        }
    });

    it("turns on Replication Time Control with its metrics only when an origin asks for it", async () => {
        const plain = await buildCdn("edgecdn-prod", stackConfig("prod"));
        for (const rule of ofType("aws:s3/bucketReplicationConfig:BucketReplicationConfig", plain.resources)[0].inputs.rules) {
            assert.equal(rule.destination.replicationTime, undefined);
            assert.equal(rule.destination.metrics, undefined);
        }
        const c = clone(stackConfig("prod")) as { origins: Record<string, unknown>[] };
        c.origins[0].replicationTimeControl = true;
        const rtc = await buildCdn("edgecdn-rtc", c);
        const [config] = ofType("aws:s3/bucketReplicationConfig:BucketReplicationConfig", rtc.resources);
        assert.equal(config.inputs.rules.length, 2);
        for (const rule of config.inputs.rules) {
            // S3's SLA of 15 minutes, and the metrics (latency, pending operations) that show when it is done.
            assert.deepEqual(rule.destination.replicationTime, { status: "Enabled", time: { minutes: 15 } });
            assert.deepEqual(rule.destination.metrics, { status: "Enabled", eventThreshold: { minutes: 15 } });
        }
    });
});

// The dev and prod stack configs produce the expected resources per region, counted and named; a one-region and a
// five-region config scale the same way.
import { Built, buildCdn, clone, countByType, edgeOnly, inRegion, ofType, Recorded, stackConfig } from "./harness";
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";

const BUCKET_SET = [
    "aws:s3/bucket:Bucket", "aws:s3/bucketOwnershipControls:BucketOwnershipControls",
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    "aws:s3/bucketVersioning:BucketVersioning", "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
    "aws:s3/bucketPolicy:BucketPolicy",
];

/** What one region should hold. */
function expectedForRegion(o: {
    createdCluster?: { azs: number; natGateways: number; clusterAutoscaler?: boolean };
    autoscaled: boolean;
    replicaBuckets: number;
    adminExposed: boolean;
    builtImage: boolean;
    readsS3: boolean;
    /** The metrics agent and the log shipper (on by default). */
    observability?: boolean;
}): Record<string, number> {
    const e: Record<string, number> = {};
    const add = (type: string, n = 1) => { if (n > 0) { e[type] = (e[type] ?? 0) + n; } };
    // Certificate for domain + <region>.<domain> + admin.<region>.<domain>, each validated through Route 53.
    add("edgecdn:index:EdgeCertificate");
    add("aws:acm/certificate:Certificate");
    add("aws:acm/certificateValidation:CertificateValidation");
    add("aws:route53/record:Record", 3);
    // The region's cluster.
    add("edgecdn:index:EdgeRegion");
    add("pulumi:providers:kubernetes");
    if (o.createdCluster) {
        const { azs, natGateways } = o.createdCluster;
        for (const t of ["aws:ec2/vpc:Vpc", "aws:ec2/internetGateway:InternetGateway", "aws:ec2/vpcEndpoint:VpcEndpoint",
            "aws:eks/cluster:Cluster", "aws:iam/openIdConnectProvider:OpenIdConnectProvider", "aws:ec2/launchTemplate:LaunchTemplate"]) { add(t); }
        // A public and a private subnet per zone; the public route table and one per private subnet.
        add("aws:ec2/subnet:Subnet", 2 * azs);
        add("aws:ec2/routeTableAssociation:RouteTableAssociation", 2 * azs);
        add("aws:ec2/routeTable:RouteTable", 1 + azs);
        add("aws:ec2/natGateway:NatGateway", natGateways);
        add("aws:ec2/eip:Eip", natGateways);
        // One node group per zone when the autoscaler sizes them.
        add("aws:eks/nodeGroup:NodeGroup", o.createdCluster.clusterAutoscaler ? azs : 1);
        // metrics-server and the VPC CNI (on its own IRSA role).
        add("aws:eks/addon:Addon", 2);
        // Cluster, nodes and VPC CNI roles: the cluster policy, the two node policies, the CNI policy.
        add("aws:iam/role:Role", 3);
        add("aws:iam/rolePolicyAttachment:RolePolicyAttachment", 4);
        // The AWS Load Balancer Controller: its IRSA role and policy, and its Helm chart.
        add("edgecdn:index:LoadBalancerController");
        add("aws:iam/role:Role");
        add("aws:iam/rolePolicy:RolePolicy");
        add("kubernetes:helm.sh/v3:Release");
        if (o.createdCluster.clusterAutoscaler) {
            // Its IRSA role and policy, and the official Helm chart on the region's cluster.
            add("edgecdn:index:ClusterAutoscaler");
            add("aws:iam/role:Role");
            add("aws:iam/rolePolicy:RolePolicy");
            add("kubernetes:helm.sh/v3:Release");
        }
    }
    // The edge role: reading the origins (when the region reads S3) and following the invalidation log (always).
    add("aws:iam/role:Role");
    add("aws:iam/rolePolicy:RolePolicy", o.readsS3 ? 2 : 1);
    // Edge nodes.
    for (const t of ["edgecdn:index:EdgeNodes", "kubernetes:core/v1:Namespace", "kubernetes:core/v1:ServiceAccount",
        "kubernetes:core/v1:ConfigMap", "kubernetes:core/v1:Secret", "kubernetes:apps/v1:Deployment",
        "kubernetes:policy/v1:PodDisruptionBudget"]) { add(t); }
    add("kubernetes:core/v1:Service", 2);
    if (o.autoscaled) { add("kubernetes:autoscaling/v2:HorizontalPodAutoscaler"); }
    // Image repository.
    if (o.builtImage) {
        add("aws:ecr/repository:Repository");
        add("aws:ecr/lifecyclePolicy:LifecyclePolicy");
    }
    // Latency DNS: health check, A + AAAA latency records, <region>.<domain>, admin.<region>.<domain>.
    add("aws:route53/healthCheck:HealthCheck");
    add("aws:route53/record:Record", 3 + (o.adminExposed ? 1 : 0));
    // Origin replicas in this region.
    for (const t of BUCKET_SET) { add(t, o.replicaBuckets); }
    if (o.observability ?? true) {
        // The metrics agent: its namespace, IRSA role and policy, service account, pod discovery in the edge
        // namespace, config and Deployment; the log shipper: the same but for the discovery, as a DaemonSet.
        for (const t of ["edgecdn:index:MetricsAgent", "edgecdn:index:LogShipper"]) { add(t); }
        for (const t of ["kubernetes:core/v1:Namespace", "aws:iam/role:Role", "aws:iam/rolePolicy:RolePolicy",
            "kubernetes:core/v1:ServiceAccount", "kubernetes:core/v1:ConfigMap"]) { add(t, 2); }
        for (const t of ["kubernetes:rbac.authorization.k8s.io/v1:Role", "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding",
            "kubernetes:apps/v1:Deployment", "kubernetes:apps/v1:DaemonSet"]) { add(t); }
    }
    return e;
}

function sorted(o: Record<string, number>): Record<string, number> {
    return Object.fromEntries(Object.entries(o).sort(([a], [b]) => a.localeCompare(b)));
}

/**
 * Resources that belong to no region: the components at the top, the primary buckets, replication, the build, the
 * control bucket.
 */
function globals(from: Recorded[], regions: string[]): Recorded[] {
    return from.filter((r) => !regions.some((region) => new RegExp(`-${region}(-|$)`).test(r.name)));
}

function expectedGlobals(o: { createdOrigins: number; replicating: boolean; builtImage: boolean; observability?: boolean }): Record<string, number> {
    const e: Record<string, number> = {
        "edgecdn:index:Cdn": 1, "edgecdn:index:Origins": 1, "edgecdn:index:EdgeImage": 1, "edgecdn:index:LatencyDns": 1,
        "random:index/randomPassword:RandomPassword": 1,
        // The control bucket of the invalidation log, and the managed policy for edgecdn.
        "edgecdn:index:ControlBucket": 1, "aws:iam/policy:Policy": 1,
    };
    // One build, and ECR's replication of it to the other regions (when there are others).
    if (o.builtImage) { e["docker-build:index:Image"] = 1; }
    if (o.builtImage && o.replicating) { e["aws:ecr/replicationConfiguration:ReplicationConfiguration"] = 1; }
    for (const t of BUCKET_SET) { e[t] = o.createdOrigins + 1; }
    if (o.replicating) {
        e["aws:iam/role:Role"] = o.createdOrigins;
        e["aws:iam/rolePolicy:RolePolicy"] = o.createdOrigins;
        e["aws:s3/bucketReplicationConfig:BucketReplicationConfig"] = o.createdOrigins;
    }
    if (o.observability ?? true) {
        // The metrics workspace with its alert rules, and the access-log bucket (private, encrypted, TLS only,
        // expiring; not versioned).
        for (const t of ["edgecdn:index:MetricsWorkspace", "aws:amp/workspace:Workspace", "aws:amp/ruleGroupNamespace:RuleGroupNamespace",
            "edgecdn:index:AccessLogBucket"]) { e[t] = 1; }
        for (const t of BUCKET_SET.filter((t) => t !== "aws:s3/bucketVersioning:BucketVersioning")) { e[t] = (e[t] ?? 0) + 1; }
    }
    return Object.fromEntries(Object.entries(e).filter(([, n]) => n > 0));
}

describe("dev stack (Pulumi.dev.yaml)", () => {
    let built: Built;
    before(async () => { built = await buildCdn("edgecdn-dev", stackConfig("dev")); });

    it("creates per region: certificate, EKS cluster in a 2-AZ VPC, IRSA role, edge nodes with HPA, ECR repo, health check, latency records", () => {
        assert.deepEqual(sorted(countByType(inRegion("us-east-1", built.resources))),
            sorted(expectedForRegion({ createdCluster: { azs: 2, natGateways: 1 }, autoscaled: true, replicaBuckets: 0, adminExposed: false, builtImage: true, readsS3: true })));
        // eu-west-1 also holds the replica of the assets bucket.
        assert.deepEqual(sorted(countByType(inRegion("eu-west-1", built.resources))),
            sorted(expectedForRegion({ createdCluster: { azs: 2, natGateways: 1 }, autoscaled: true, replicaBuckets: 1, adminExposed: false, builtImage: true, readsS3: true })));
    });

    it("creates once: the primary bucket, its replication, the image build and the admin token", () => {
        assert.deepEqual(sorted(countByType(globals(built.resources, ["us-east-1", "eu-west-1"]))),
            sorted(expectedGlobals({ createdOrigins: 1, replicating: true, builtImage: true })));
    });

    it("names resources after the stack, the region and their role", () => {
        const names = new Set(built.resources.map((r) => r.name));
        for (const n of [
            "edgecdn-dev", "edgecdn-dev-origins", "edgecdn-dev-origins-assets-primary", "edgecdn-dev-origins-assets-eu-west-1",
            "edgecdn-dev-origins-assets-replication", "edgecdn-dev-image-build", "edgecdn-dev-image-us-east-1", "edgecdn-dev-image-eu-west-1",
            "edgecdn-dev-us-east-1", "edgecdn-dev-us-east-1-cluster", "edgecdn-dev-us-east-1-nodes", "edgecdn-dev-us-east-1-edge",
            "edgecdn-dev-us-east-1-edge-deployment", "edgecdn-dev-us-east-1-cert", "edgecdn-dev-dns-us-east-1",
            "edgecdn-dev-dns-us-east-1-a", "edgecdn-dev-dns-us-east-1-aaaa", "edgecdn-dev-dns-eu-west-1-a", "edgecdn-dev-eu-west-1-k8s",
        ]) {
            assert.ok(names.has(n), `missing ${n}`);
        }
        // EKS cluster names are fixed (docs and the autoscaler name them; a replacement deletes the old one first).
        assert.deepEqual(ofType("aws:eks/cluster:Cluster", built.resources).map((c) => c.inputs.name).sort(),
            ["edgecdn-dev-eu-west-1", "edgecdn-dev-us-east-1"]);
    });

    it("sizes dev small: one t3.medium node per region, 1-2 edge pods", () => {
        for (const ng of ofType("aws:eks/nodeGroup:NodeGroup", built.resources)) {
            assert.deepEqual(ng.inputs.scalingConfig, { minSize: 1, desiredSize: 1, maxSize: 1 });
            assert.deepEqual(ng.inputs.instanceTypes, ["t3.medium"]);
        }
        for (const hpa of ofType("kubernetes:autoscaling/v2:HorizontalPodAutoscaler", built.resources)) {
            assert.equal(hpa.inputs.spec.minReplicas, 1);
            assert.equal(hpa.inputs.spec.maxReplicas, 2);
        }
    });

    it("puts every regional AWS resource in its own region", () => {
        for (const region of ["us-east-1", "eu-west-1"]) {
            for (const r of inRegion(region, built.resources)) {
                if (r.type.startsWith("aws:") && "region" in r.inputs) { assert.equal(r.inputs.region, region, r.name); }
            }
        }
    });
});

describe("prod stack (Pulumi.prod.yaml)", () => {
    let built: Built;
    const regions = ["us-east-1", "eu-west-1", "ap-southeast-1"];
    before(async () => { built = await buildCdn("edgecdn-prod", stackConfig("prod")); });

    it("creates per region: a 3-AZ cluster, autoscaled edge nodes, admin NLB and name, health check, latency records", () => {
        for (const region of regions) {
            assert.deepEqual(sorted(countByType(inRegion(region, built.resources))),
                sorted(expectedForRegion({
                    createdCluster: { azs: 3, natGateways: 3, clusterAutoscaler: true }, autoscaled: true, replicaBuckets: region === "us-east-1" ? 0 : 1,
                    adminExposed: true, builtImage: true, readsS3: true,
                })), region);
        }
    });

    it("creates once: one primary bucket (the existing one is only read), two replication rules, one build", () => {
        assert.deepEqual(sorted(countByType(globals(built.resources, regions))),
            sorted(expectedGlobals({ createdOrigins: 1, replicating: true, builtImage: true })));
        const [replication] = ofType("aws:s3/bucketReplicationConfig:BucketReplicationConfig", built.resources);
        assert.deepEqual(replication.inputs.rules.map((r: { id: string }) => r.id), ["to-eu-west-1", "to-ap-southeast-1"]);
        assert.equal(replication.inputs.region, "us-east-1");
    });

    it("autoscales: HPA 3-12 pods on CPU, node groups 3-6, no fixed replica count fighting the HPA", () => {
        for (const hpa of ofType("kubernetes:autoscaling/v2:HorizontalPodAutoscaler", built.resources)) {
            assert.equal(hpa.inputs.spec.minReplicas, 3);
            assert.equal(hpa.inputs.spec.maxReplicas, 12);
            assert.equal(hpa.inputs.spec.metrics[0].resource.target.averageUtilization, 65);
        }
        for (const d of ofType("kubernetes:apps/v1:Deployment", edgeOnly(built.resources))) {
            assert.equal(d.inputs.spec.replicas, undefined);
        }
        // Three zones' node groups of 1-2 nodes each: 3-6 per region.
        for (const ng of ofType("aws:eks/nodeGroup:NodeGroup", built.resources)) {
            assert.deepEqual(ng.inputs.scalingConfig, { minSize: 1, desiredSize: 1, maxSize: 2 });
        }
        assert.equal(ofType("aws:eks/nodeGroup:NodeGroup", built.resources).length, 9);
    });
});

describe("scaling the region list", () => {
    it("one region: no replicas, no replication, one of everything regional", async () => {
        const c = clone(stackConfig("dev")) as { regions: unknown[] };
        c.regions = c.regions.slice(0, 1);
        const built = await buildCdn("edgecdn-one", c);
        assert.deepEqual(sorted(countByType(inRegion("us-east-1", built.resources))),
            sorted(expectedForRegion({ createdCluster: { azs: 2, natGateways: 1 }, autoscaled: true, replicaBuckets: 0, adminExposed: false, builtImage: true, readsS3: true })));
        assert.deepEqual(sorted(countByType(globals(built.resources, ["us-east-1"]))),
            sorted(expectedGlobals({ createdOrigins: 1, replicating: false, builtImage: true })));
        assert.equal(ofType("aws:route53/healthCheck:HealthCheck", built.resources).length, 1);
    });

    it("five regions: five clusters, four replicas, five health checks and ten latency records", async () => {
        const c = clone(stackConfig("dev")) as { regions: { name: string; cluster: { create: { vpcCidr: string } } }[] };
        const names = ["us-east-1", "us-west-2", "eu-central-1", "ap-northeast-1", "sa-east-1"];
        c.regions = names.map((name, i) => {
            const r = clone(c.regions[0]);
            r.name = name;
            r.cluster.create.vpcCidr = `10.${i + 1}.0.0/16`;
            return r;
        });
        const built = await buildCdn("edgecdn-five", c);
        for (const region of names) {
            assert.deepEqual(sorted(countByType(inRegion(region, built.resources))),
                sorted(expectedForRegion({
                    createdCluster: { azs: 2, natGateways: 1 }, autoscaled: true, replicaBuckets: region === "us-east-1" ? 0 : 1,
                    adminExposed: false, builtImage: true, readsS3: true,
                })), region);
        }
        assert.equal(ofType("aws:eks/cluster:Cluster", built.resources).length, 5);
        assert.equal(ofType("aws:route53/healthCheck:HealthCheck", built.resources).length, 5);
        const latency = ofType("aws:route53/record:Record", built.resources).filter((r) => r.inputs.setIdentifier);
        assert.equal(latency.length, 10);
        const [replication] = ofType("aws:s3/bucketReplicationConfig:BucketReplicationConfig", built.resources);
        assert.equal(replication.inputs.rules.length, 4);
    });

    it("existing clusters and a given image: no VPC, cluster or ECR, and the image used as is", async () => {
        const c = clone(stackConfig("dev")) as Record<string, unknown> & { regions: Record<string, unknown>[] };
        c.regions[0].cluster = { existing: { clusterName: "platform-use1" } };
        c.regions[1].cluster = { existing: { kubeconfig: "apiVersion: v1\nkind: Config\n", oidcIssuer: "https://oidc.eks.eu-west-1.amazonaws.com/id/ABC" } };
        c.image = { ref: "ghcr.io/acme/edgecache:1.2.3" };
        const built = await buildCdn("edgecdn-existing", c);
        for (const [region, replicas] of [["us-east-1", 0], ["eu-west-1", 1]] as const) {
            assert.deepEqual(sorted(countByType(inRegion(region, built.resources))),
                sorted(expectedForRegion({ autoscaled: true, replicaBuckets: replicas, adminExposed: false, builtImage: false, readsS3: true })), region);
        }
        for (const d of ofType("kubernetes:apps/v1:Deployment", edgeOnly(built.resources))) {
            assert.equal(d.inputs.spec.template.spec.containers[0].image, "ghcr.io/acme/edgecache:1.2.3");
        }
        assert.equal(ofType("docker-build:index:Image", built.resources).length, 0);
    });
});

describe("derived names", () => {
    it("are the ones config validation checks: every IAM role, node group and cluster the stacks register", async () => {
        const { clusterName, nodeGroupNames, regionalRoleNames, replicationRoleName, parseCdnConfig } = await import("../../components");
        for (const stack of ["dev", "prod"]) {
            const cdnName = `edgecdn-${stack}`;
            const built = await buildCdn(cdnName, stackConfig(stack));
            const cfg = parseCdnConfig(stackConfig(stack));
            const roles = new Set<string>();
            const groups = new Set<string>();
            for (const r of cfg.regions) {
                const create = "create" in r.cluster ? r.cluster.create : undefined;
                const observed = { metricsAgent: cfg.observability.metrics.kind !== "off", logShipper: cfg.observability.accessLogs.enabled };
                for (const n of Object.values(regionalRoleNames(cdnName, r.name, { createsCluster: !!create, autoscaler: create?.clusterAutoscaler.enabled ?? false, ...observed }))) { roles.add(n); }
                if (create) { for (const g of nodeGroupNames(cdnName, r.name, create.availabilityZones, create.clusterAutoscaler.enabled)) { groups.add(g); } }
            }
            for (const o of cfg.origins) { if (o.type === "s3" && o.kind === "created") { roles.add(replicationRoleName(cdnName, o.name)); } }
            assert.deepEqual(ofType("aws:iam/role:Role", built.resources).map((r) => r.name).sort(), [...roles].sort(), stack);
            assert.deepEqual(ofType("aws:eks/nodeGroup:NodeGroup", built.resources).map((r) => r.name).sort(), [...groups].sort(), stack);
            assert.deepEqual(ofType("aws:eks/cluster:Cluster", built.resources).map((r) => r.inputs.name).sort(),
                cfg.regions.map((r) => clusterName(cdnName, r.name)).sort(), stack);
        }
    });
});

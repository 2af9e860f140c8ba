// Node autoscaling: a cluster the stack creates with nodes.min < nodes.max gets the Kubernetes Cluster Autoscaler (the
// official Helm chart, on that region's cluster) with an IRSA role that may resize only that cluster's node groups;
// fixed-size node groups and existing clusters get none.
import { ACCOUNT_ID, buildCdn, Built, byName, clone, federated, inRegion, ofType, PolicyStatement, Recorded, stackConfig, statements } from "./harness";
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";

type Raw = Record<string, unknown> & {
    regions: { name: string; cluster: Record<string, Record<string, unknown>>; replicas?: unknown }[];
};

const RELEASE = "kubernetes:helm.sh/v3:Release";

/** The Cluster Autoscaler's Helm releases (the load balancer controller has its own). */
function autoscalerReleases(from: Recorded[]): Recorded[] {
    return ofType(RELEASE, from).filter((r) => r.inputs.chart === "cluster-autoscaler");
}

function actions(s: PolicyStatement): string[] {
    return typeof s.Action === "string" ? [s.Action] : s.Action;
}

describe("Cluster Autoscaler (prod: created clusters, nodes 3-6)", () => {
    let built: Built;
    const regions = ["us-east-1", "eu-west-1", "ap-southeast-1"];
    before(async () => { built = await buildCdn("edgecdn-prod", stackConfig("prod")); });

    it("installs the official cluster-autoscaler chart in kube-system of each region's own cluster, pinned", () => {
        const releases = autoscalerReleases(built.resources);
        assert.equal(releases.length, regions.length);
        for (const region of regions) {
            const base = `edgecdn-prod-${region}`;
            const r = byName(built.resources, RELEASE, `${base}-cluster-autoscaler-chart`);
            assert.equal(r.inputs.chart, "cluster-autoscaler");
            assert.deepEqual(r.inputs.repositoryOpts, { repo: "https://kubernetes.github.io/autoscaler" });
            assert.match(r.inputs.version, /^\d+\.\d+\.\d+$/, "the chart version is pinned");
            assert.equal(r.inputs.namespace, "kube-system");
            // On this region's cluster, not another region's and not the ambient kubeconfig.
            assert.match(r.provider ?? "", new RegExp(`pulumi:providers:kubernetes::${base}-k8s::`));
            const v = r.inputs.values;
            assert.equal(v.cloudProvider, "aws");
            assert.equal(v.awsRegion, region);
            // Auto-discovery by the cluster's name: the EKS cluster this stack created in the region.
            const [cluster] = inRegion(region, ofType("aws:eks/cluster:Cluster", built.resources));
            assert.equal(v.autoDiscovery.clusterName, cluster.inputs.name);
            assert.equal(v.autoDiscovery.clusterName, base);
            // The chart and the autoscaler are the ones for the cluster's Kubernetes minor version (prod runs "1.35"):
            // chart 9.59.0's appVersion is 1.35.0, and its ClusterRole grants what autoscaler 1.35 watches.
            assert.equal(cluster.inputs.version, "1.35");
            assert.equal(r.inputs.version, "9.59.0");
            assert.equal(v.image.tag, "v1.35.0");
            // Nodes running edge pods (emptyDir cache) must be removable, or the cluster could never shrink.
            assert.equal(v.extraArgs["skip-nodes-with-local-storage"], false);
        }
    });

    it("binds the chart's service account to an IRSA role that only kube-system/cluster-autoscaler can assume", () => {
        for (const region of regions) {
            const base = `edgecdn-prod-${region}`;
            const role = byName(built.resources, "aws:iam/role:Role", `${base}-cluster-autoscaler-irsa`);
            const release = byName(built.resources, RELEASE, `${base}-cluster-autoscaler-chart`);
            const sa = release.inputs.values.rbac.serviceAccount;
            assert.equal(sa.create, true);
            assert.equal(sa.name, "cluster-autoscaler");
            assert.equal(sa.annotations["eks.amazonaws.com/role-arn"], `arn:aws:iam::${ACCOUNT_ID}:role/${base}-cluster-autoscaler-irsa-role`);

            const [trust, ...rest] = statements(role.inputs.assumeRolePolicy);
            assert.equal(rest.length, 0);
            assert.equal(trust.Action, "sts:AssumeRoleWithWebIdentity");
            // Through this region's cluster's OIDC provider (the one the stack created for it).
            const oidc = byName(built.resources, "aws:iam/openIdConnectProvider:OpenIdConnectProvider", `${base}-oidc`);
            const issuer = String(oidc.inputs.url).replace(/^https:\/\//, "");
            assert.match(issuer, new RegExp(`^oidc\\.eks\\.${region}\\.amazonaws\\.com/id/`));
            assert.equal(federated(trust), `arn:aws:iam::${ACCOUNT_ID}:oidc-provider/${issuer}`);
            assert.deepEqual(trust.Condition?.StringEquals, {
                [`${issuer}:sub`]: "system:serviceaccount:kube-system:cluster-autoscaler",
                [`${issuer}:aud`]: "sts.amazonaws.com",
            });
        }
    });

    it("lets the autoscaler resize only Auto Scaling groups tagged for its own cluster, in its region and account", () => {
        for (const region of regions) {
            const base = `edgecdn-prod-${region}`;
            const policy = byName(built.resources, "aws:iam/rolePolicy:RolePolicy", `${base}-cluster-autoscaler-irsa`);
            const st = statements(policy.inputs.policy);
            assert.ok(st.every((s) => s.Effect === "Allow"));

            const mutating = ["autoscaling:SetDesiredCapacity", "autoscaling:TerminateInstanceInAutoScalingGroup"];
            const resize = st.filter((s) => actions(s).some((a) => mutating.includes(a)));
            assert.equal(resize.length, 1, "the resizing actions are granted in exactly one statement");
            assert.deepEqual([...actions(resize[0])].sort(), mutating);
            assert.equal(resize[0].Resource, `arn:aws:autoscaling:${region}:${ACCOUNT_ID}:autoScalingGroup:*:autoScalingGroupName/*`);
            assert.deepEqual(resize[0].Condition, {
                StringEquals: {
                    "aws:ResourceTag/k8s.io/cluster-autoscaler/enabled": "true",
                    [`aws:ResourceTag/k8s.io/cluster-autoscaler/${base}`]: "owned",
                },
            });

            // Node groups: this cluster's only.
            const nodegroups = st.filter((s) => actions(s).includes("eks:DescribeNodegroup"));
            assert.equal(nodegroups.length, 1);
            assert.equal(nodegroups[0].Resource, `arn:aws:eks:${region}:${ACCOUNT_ID}:nodegroup/${base}/*`);

            // Whatever is left on "*" only reads (Describe*/Get*), and there are no wildcard actions anywhere.
            for (const s of st.filter((x) => x !== resize[0] && x !== nodegroups[0])) {
                for (const a of actions(s)) { assert.match(a, /^(autoscaling|ec2):(Describe|Get)\w+$/, a); }
                assert.equal(s.Condition, undefined);
            }
            for (const s of st) { for (const a of actions(s)) { assert.ok(!a.includes("*"), a); } }
            // Never another region's cluster.
            for (const other of regions.filter((r) => r !== region)) { assert.ok(!policy.inputs.policy.includes(`edgecdn-prod-${other}`)); }
        }
    });

    it("gives each zone's node group its share of min/max and the auto-discovery tags", () => {
        for (const region of regions) {
            const base = `edgecdn-prod-${region}`;
            for (const i of [0, 1, 2]) {
                const ng = byName(built.resources, "aws:eks/nodeGroup:NodeGroup", `${base}-nodes-${i}`);
                // nodes 3-6 over three zones.
                assert.deepEqual(ng.inputs.scalingConfig, { minSize: 1, desiredSize: 1, maxSize: 2 });
                assert.equal(ng.inputs.tags["k8s.io/cluster-autoscaler/enabled"], "true");
                assert.equal(ng.inputs.tags[`k8s.io/cluster-autoscaler/${base}`], "owned");
                assert.equal(ng.inputs.tags.environment, "prod", "the stack's own tags are kept");
            }
        }
    });
});

describe("Cluster Autoscaler: only for created clusters that can grow", () => {
    it("dev (nodes 1-1): no autoscaler, no chart, no auto-discovery tags", async () => {
        const built = await buildCdn("edgecdn-dev", stackConfig("dev"));
        assert.equal(ofType("edgecdn:index:ClusterAutoscaler", built.resources).length, 0);
        assert.equal(autoscalerReleases(built.resources).length, 0);
        assert.ok(!ofType("aws:iam/role:Role", built.resources).some((r) => r.name.includes("cluster-autoscaler")));
        for (const ng of ofType("aws:eks/nodeGroup:NodeGroup", built.resources)) {
            assert.ok(!Object.keys(ng.inputs.tags).some((k) => k.startsWith("k8s.io/cluster-autoscaler/")), ng.name);
        }
    });

    it("dev with one region's nodes raised to 1-3: an autoscaler in that region only, for its Kubernetes version", async () => {
        const c = clone(stackConfig("dev")) as Raw;
        c.regions[1].cluster.create.nodes = { min: 1, desired: 1, max: 3 };
        c.regions[1].cluster.create.kubernetesVersion = "1.32";
        c.regions[1].cluster.create.clusterAutoscaler = { chartVersion: "9.46.6" };
        const built = await buildCdn("edgecdn-grow", c);
        const releases = autoscalerReleases(built.resources);
        assert.deepEqual(releases.map((r) => r.name), ["edgecdn-grow-eu-west-1-cluster-autoscaler-chart"]);
        assert.equal(releases[0].inputs.values.image.tag, "v1.32.0");
        assert.equal(releases[0].inputs.version, "9.46.6");
        assert.equal(releases[0].inputs.values.autoDiscovery.clusterName, "edgecdn-grow-eu-west-1");
        const tagged = ofType("aws:eks/nodeGroup:NodeGroup", built.resources)
            .filter((ng) => ng.inputs.tags["k8s.io/cluster-autoscaler/enabled"] === "true").map((ng) => ng.name);
        assert.deepEqual(tagged, ["edgecdn-grow-eu-west-1-nodes-0", "edgecdn-grow-eu-west-1-nodes-1"]);
    });

    it("prod with an existing cluster in one region and the autoscaler turned off in another: only the third gets one", async () => {
        const c = clone(stackConfig("prod")) as Raw;
        c.regions[0].cluster = { existing: { clusterName: "platform-use1" } };
        c.regions[1].cluster.create.clusterAutoscaler = { enabled: false };
        const built = await buildCdn("edgecdn-mixed", c);
        assert.deepEqual(ofType("edgecdn:index:ClusterAutoscaler", built.resources).map((r) => r.name),
            ["edgecdn-mixed-ap-southeast-1-cluster-autoscaler"]);
        assert.deepEqual(autoscalerReleases(built.resources).map((r) => r.name), ["edgecdn-mixed-ap-southeast-1-cluster-autoscaler-chart"]);
        const ng = byName(built.resources, "aws:eks/nodeGroup:NodeGroup", "edgecdn-mixed-eu-west-1-nodes");
        assert.equal(ng.inputs.tags["k8s.io/cluster-autoscaler/enabled"], undefined);
        // An existing cluster's nodes are its operators' business: nothing touches them.
        assert.equal(inRegion("us-east-1", built.resources).filter((r) => r.name.includes("autoscaler")).length, 0);
    });

    it("the component itself refuses a node group that cannot grow", async () => {
        const { ClusterAutoscaler } = await import("../../components");
        assert.throws(() => new ClusterAutoscaler("ca-fixed", {
            region: "us-east-1", clusterName: "c", provider: undefined as never, oidcProviderArn: "arn", issuerUrl: "https://i",
            accountId: ACCOUNT_ID, nodes: { min: 2, max: 2 }, chartVersion: "9.43.1", imageTag: "v1.33.0",
        }), /nodes\.min \(2\) must be less than nodes\.max \(2\)/);
    });
});

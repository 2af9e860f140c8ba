// The regional NLB as the AWS Load Balancer Controller makes it: IP targets (no NodePort), TLS on 443 to the viewer
// port, port 80 to the HTTPS redirect port, proxy protocol v2 on both, ALPN per edge.http2, target health from the
// admin port's readiness; and the controller itself, installed on each created cluster with its IRSA role.
import { ACCOUNT_ID, buildCdn, Built, byName, clone, edgeOnly, federated, ofType, PolicyStatement, stackConfig, statements } from "./harness";
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";

const A = "service.beta.kubernetes.io/aws-load-balancer";
const RELEASE = "kubernetes:helm.sh/v3:Release";

for (const stack of ["dev", "prod"]) {
    describe(`viewer load balancer (${stack})`, () => {
        let built: Built;
        const regions = (stackConfig(stack).regions as { name: string }[]).map((r) => r.name);
        before(async () => { built = await buildCdn(`edgecdn-${stack}`, stackConfig(stack)); });

        it("is an internet-facing NLB of the AWS Load Balancer Controller with IP targets and no NodePort", () => {
            for (const region of regions) {
                const svc = byName(built.resources, "kubernetes:core/v1:Service", `edgecdn-${stack}-${region}-edge-viewer`);
                const a = svc.inputs.metadata.annotations;
                assert.equal(svc.inputs.spec.type, "LoadBalancer");
                assert.equal(svc.inputs.spec.loadBalancerClass, "service.k8s.aws/nlb");
                assert.equal(svc.inputs.spec.allocateLoadBalancerNodePorts, false);
                assert.equal(svc.inputs.spec.externalTrafficPolicy, undefined);
                assert.equal(a[`${A}-type`], "external");
                assert.equal(a[`${A}-nlb-target-type`], "ip");
                assert.equal(a[`${A}-scheme`], "internet-facing");
                // The viewer's address arrives in the proxy protocol header, not as the packets' source.
                assert.match(a[`${A}-target-group-attributes`], /(^|,)preserve_client_ip\.enabled=false(,|$)/);
            }
        });

        it("terminates TLS on 443 to the viewer port and sends port 80 to the HTTPS redirect port, both with proxy protocol v2", async () => {
            const { HTTPS_REDIRECT_PORT, VIEWER_PORT } = await import("../../components/constants");
            for (const region of regions) {
                const svc = byName(built.resources, "kubernetes:core/v1:Service", `edgecdn-${stack}-${region}-edge-viewer`);
                const a = svc.inputs.metadata.annotations;
                assert.deepEqual(svc.inputs.spec.ports, [
                    { name: "https", port: 443, targetPort: "viewer", protocol: "TCP" },
                    { name: "http", port: 80, targetPort: "redirect", protocol: "TCP" },
                ]);
                assert.equal(a[`${A}-ssl-ports`], "443", "only 443 is TLS; 80 stays plain for the redirect");
                assert.match(a[`${A}-ssl-cert`], new RegExp(`^arn:aws:acm:${region}:\\d+:certificate/edgecdn-${stack}-${region}-cert$`));
                assert.equal(a[`${A}-ssl-negotiation-policy`], "ELBSecurityPolicy-TLS13-1-2-2021-06");
                // "*": every target group of the Service, the redirect one included.
                assert.equal(a[`${A}-proxy-protocol`], "*");
                const d = byName(built.resources, "kubernetes:apps/v1:Deployment", `edgecdn-${stack}-${region}-edge-deployment`);
                const ports = d.inputs.spec.template.spec.containers[0].ports as { name: string; containerPort: number }[];
                assert.equal(ports.find((p) => p.name === "viewer")?.containerPort, VIEWER_PORT);
                assert.equal(ports.find((p) => p.name === "redirect")?.containerPort, HTTPS_REDIRECT_PORT);
            }
        });

        it("offers HTTP/1.1 only over ALPN while edge.http2 is off", () => {
            for (const region of regions) {
                const svc = byName(built.resources, "kubernetes:core/v1:Service", `edgecdn-${stack}-${region}-edge-viewer`);
                assert.equal(svc.inputs.metadata.annotations[`${A}-alpn-policy`], "HTTP1Only");
            }
        });

        it("health-checks targets on the admin port's /readyz, which needs no proxy protocol header and means 'can serve viewers'", () => {
            for (const region of regions) {
                const a = byName(built.resources, "kubernetes:core/v1:Service", `edgecdn-${stack}-${region}-edge-viewer`).inputs.metadata.annotations;
                assert.equal(a[`${A}-healthcheck-protocol`], "HTTP");
                assert.equal(a[`${A}-healthcheck-port`], "9090");
                assert.equal(a[`${A}-healthcheck-path`], "/readyz");
            }
        });

        it("holds new pods unready until the NLB sees them healthy (readiness gate injection on the namespace)", () => {
            for (const ns of ofType("kubernetes:core/v1:Namespace", edgeOnly(built.resources))) {
                assert.equal(ns.inputs.metadata.labels["elbv2.k8s.aws/pod-readiness-gate-inject"], "enabled");
            }
        });

        it("installs the AWS Load Balancer Controller chart, pinned, on each region's cluster with its VPC and region given", () => {
            const releases = ofType(RELEASE, built.resources).filter((r) => r.inputs.chart === "aws-load-balancer-controller");
            assert.equal(releases.length, regions.length);
            for (const region of regions) {
                const base = `edgecdn-${stack}-${region}`;
                const r = byName(built.resources, RELEASE, `${base}-lb-controller-chart`);
                assert.deepEqual(r.inputs.repositoryOpts, { repo: "https://aws.github.io/eks-charts" });
                assert.match(r.inputs.version, /^\d+\.\d+\.\d+$/);
                assert.equal(r.inputs.namespace, "kube-system");
                assert.match(r.provider ?? "", new RegExp(`pulumi:providers:kubernetes::${base}-k8s::`));
                const v = r.inputs.values;
                assert.equal(v.clusterName, base);
                assert.equal(v.region, region);
                // Pods cannot read instance metadata (hop limit 1), so the controller is told its VPC.
                assert.equal(v.vpcId, `${base}-vpc-id`);
                const role = byName(built.resources, "aws:iam/role:Role", `${base}-lb-controller-irsa`);
                assert.deepEqual(v.serviceAccount, {
                    create: true, name: "aws-load-balancer-controller",
                    annotations: { "eks.amazonaws.com/role-arn": `arn:aws:iam::${ACCOUNT_ID}:role/${role.name}-role` },
                });
                const [trust] = statements(role.inputs.assumeRolePolicy);
                const issuer = String(federated(trust)).split("oidc-provider/")[1];
                assert.deepEqual(trust.Condition?.StringEquals, {
                    [`${issuer}:sub`]: "system:serviceaccount:kube-system:aws-load-balancer-controller", [`${issuer}:aud`]: "sts.amazonaws.com",
                });
            }
        });

        it("gives the controller its published policy: writes only to what it created and tagged", () => {
            for (const region of regions) {
                const policy = byName(built.resources, "aws:iam/rolePolicy:RolePolicy", `edgecdn-${stack}-${region}-lb-controller-irsa`);
                const st = statements(policy.inputs.policy);
                const actions = (s: PolicyStatement) => (typeof s.Action === "string" ? [s.Action] : s.Action);
                for (const s of st) {
                    assert.equal(s.Effect, "Allow");
                    for (const a of actions(s)) { assert.ok(!a.includes("*"), a); }
                }
                const granting = (action: string) => st.filter((s) => actions(s).includes(action));
                // Destructive load balancer and security group calls only on resources tagged by the controller.
                for (const a of ["elasticloadbalancing:DeleteLoadBalancer", "elasticloadbalancing:DeleteTargetGroup", "ec2:DeleteSecurityGroup"]) {
                    assert.ok(granting(a).length > 0, a);
                    for (const s of granting(a)) { assert.deepEqual(s.Condition, { Null: { "aws:ResourceTag/elbv2.k8s.aws/cluster": "false" } }, a); }
                }
                for (const s of granting("elasticloadbalancing:CreateLoadBalancer")) {
                    assert.deepEqual(s.Condition, { Null: { "aws:RequestTag/elbv2.k8s.aws/cluster": "false" } });
                }
                assert.deepEqual(granting("iam:CreateServiceLinkedRole")[0].Condition,
                    { StringEquals: { "iam:AWSServiceName": "elasticloadbalancing.amazonaws.com" } });
            }
        });
    });
}

describe("viewer load balancer options", () => {
    it("prefers HTTP/2 over ALPN when edge.http2 is on", async () => {
        const c = clone(stackConfig("dev")) as Record<string, unknown>;
        c.edge = { ...(c.edge as object), http2: true };
        const built = await buildCdn("edgecdn-h2", c);
        for (const svc of ofType("kubernetes:core/v1:Service", built.resources).filter((s) => s.name.endsWith("-viewer"))) {
            assert.equal(svc.inputs.metadata.annotations[`${A}-alpn-policy`], "HTTP2Preferred");
        }
    });

    it("limits the admin NLB to the configured networks through its own security group, with no proxy protocol", async () => {
        const built = await buildCdn("edgecdn-prod", stackConfig("prod"));
        for (const svc of ofType("kubernetes:core/v1:Service", built.resources).filter((s) => s.name.endsWith("-admin"))) {
            const a = svc.inputs.metadata.annotations;
            assert.equal(svc.inputs.spec.loadBalancerClass, "service.k8s.aws/nlb");
            assert.equal(a[`${A}-nlb-target-type`], "ip");
            assert.equal(a[`${A}-proxy-protocol`], undefined, "the admin port parses no proxy protocol header");
            assert.deepEqual(svc.inputs.spec.loadBalancerSourceRanges, ["203.0.113.0/24"]);
            assert.equal(svc.inputs.spec.allocateLoadBalancerNodePorts, false);
        }
    });

    it("installs no controller on an existing cluster (its operators run their own)", async () => {
        const c = clone(stackConfig("dev")) as { regions: Record<string, unknown>[] };
        c.regions[0].cluster = { existing: { clusterName: "platform-use1" } };
        const built = await buildCdn("edgecdn-existing-lb", c);
        assert.deepEqual(ofType(RELEASE, built.resources).map((r) => r.name), ["edgecdn-existing-lb-eu-west-1-lb-controller-chart"]);
    });
});

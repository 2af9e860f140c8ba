// Every Kubernetes object the program creates validates against the Kubernetes OpenAPI schemas, offline
// (kubernetes-models bundles them; it catches wrong types and missing required fields).
import { buildCdn, clone, OBSERVABILITY_NAME, Recorded, stackConfig } from "./harness";
import * as pulumi from "@pulumi/pulumi";
import { DaemonSet } from "kubernetes-models/apps/v1/DaemonSet";
import { Deployment } from "kubernetes-models/apps/v1/Deployment";
import { HorizontalPodAutoscaler } from "kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler";
import { PodDisruptionBudget } from "kubernetes-models/policy/v1/PodDisruptionBudget";
import { Role } from "kubernetes-models/rbac.authorization.k8s.io/v1/Role";
import { RoleBinding } from "kubernetes-models/rbac.authorization.k8s.io/v1/RoleBinding";
import { ConfigMap } from "kubernetes-models/v1/ConfigMap";
import { Namespace } from "kubernetes-models/v1/Namespace";
import { Secret } from "kubernetes-models/v1/Secret";
import { Service } from "kubernetes-models/v1/Service";
import { ServiceAccount } from "kubernetes-models/v1/ServiceAccount";
import assert from "node:assert/strict";
import { describe, it } from "node:test";

// The Pulumi type token of each kind the program creates, and its model.
const MODELS: Record<string, { new(data: never): { validate(): void } }> = {
    "kubernetes:core/v1:Namespace": Namespace,
    "kubernetes:core/v1:ServiceAccount": ServiceAccount,
    "kubernetes:core/v1:ConfigMap": ConfigMap,
    "kubernetes:core/v1:Secret": Secret,
    "kubernetes:core/v1:Service": Service,
    "kubernetes:apps/v1:Deployment": Deployment,
    "kubernetes:apps/v1:DaemonSet": DaemonSet,
    "kubernetes:rbac.authorization.k8s.io/v1:Role": Role,
    "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding": RoleBinding,
    "kubernetes:policy/v1:PodDisruptionBudget": PodDisruptionBudget,
    "kubernetes:autoscaling/v2:HorizontalPodAutoscaler": HorizontalPodAutoscaler,
};

const HELM_RELEASE = "kubernetes:helm.sh/v3:Release";

/** Kubernetes objects the program writes itself (a Helm release is not one: the chart renders its own objects). */
function kubernetesObjects(resources: Recorded[]): Recorded[] {
    return resources.filter((r) => r.type.startsWith("kubernetes:") && r.custom && r.type !== HELM_RELEASE);
}

function validateObject(r: Recorded): void {
    const Model = MODELS[r.type];
    assert.ok(Model, `no schema model for ${r.type}: add it to MODELS`);
    // What Pulumi sends to the Kubernetes provider: apiVersion, kind and the spec as written.
    const obj = JSON.parse(JSON.stringify(r.inputs));
    assert.equal(`kubernetes:${obj.apiVersion.includes("/") ? obj.apiVersion : `core/${obj.apiVersion}`}:${obj.kind}`, r.type);
    new Model(obj as never).validate();
}

describe("Kubernetes objects against the Kubernetes schemas", () => {
    it("a wrong object fails validation (so a pass means something)", () => {
        assert.throws(() => new Deployment({ apiVersion: "apps/v1", kind: "Deployment", spec: { replicas: "two" } } as never).validate());
        assert.throws(() => new Service({ apiVersion: "v1", kind: "Service", spec: { ports: [{ name: "x" }] } } as never).validate());
    });

    const variants: [string, () => unknown][] = [
        ["dev", () => stackConfig("dev")],
        ["prod", () => stackConfig("prod")],
        ["dev with fixed replicas (no HPA) and an existing cluster", () => {
            const c = clone(stackConfig("dev")) as { regions: Record<string, unknown>[] };
            c.regions[0].replicas = { min: 2, max: 2 };
            c.regions[1].cluster = { existing: { clusterName: "platform" } };
            return c;
        }],
    ];
    for (const [label, config] of variants) {
        it(`every object of ${label} validates`, async () => {
            const built = await buildCdn(`edgecdn-k8s-${label.split(" ")[0]}`, config());
            const objects = kubernetesObjects(built.resources);
            assert.ok(objects.length >= 16, `only ${objects.length} objects`);
            for (const r of objects) {
                try {
                    validateObject(r);
                } catch (e) {
                    assert.fail(`${r.name} (${r.type}): ${String(e)}`);
                }
                // Everything of the edge nodes but the namespace lives in the edge namespace; the metrics agent and log
                // shipper in their own, but for the agent's permission to list pods, which is the edge namespace's.
                const own = r.name.includes("-metrics-agent-") ? "edgecdn-metrics" : r.name.includes("-log-shipper-") ? "edgecdn-logs" : "edgecache";
                const where = r.type.startsWith("kubernetes:rbac.authorization.k8s.io/") ? "edgecache" : own;
                if (r.type !== "kubernetes:core/v1:Namespace") { assert.equal(r.inputs.metadata.namespace, where, r.name); }
                if (r.type === "kubernetes:core/v1:Namespace" && OBSERVABILITY_NAME.test(r.name)) { assert.equal(r.inputs.metadata.name, own, r.name); }
                // On the region's own cluster, never the ambient kubeconfig.
                assert.match(r.provider ?? "", /pulumi:providers:kubernetes::edgecdn-k8s-\w+-[a-z]+-[a-z]+-\d-k8s::/, r.name);
            }
            // Helm releases (prod's Cluster Autoscaler) also go to the region's own cluster.
            for (const r of built.resources.filter((x) => x.type === HELM_RELEASE)) {
                assert.match(r.provider ?? "", /pulumi:providers:kubernetes::edgecdn-k8s-\w+-[a-z]+-[a-z]+-\d-k8s::/, r.name);
            }
            // The edge Deployments; the metrics agent's always runs one replica.
            const fixed = objects.filter((r) => r.type === "kubernetes:apps/v1:Deployment" && !OBSERVABILITY_NAME.test(r.name) && r.inputs.spec.replicas !== undefined);
            if (label.startsWith("dev with")) { assert.equal(fixed.length, 1); }
        });
    }
});

describe("kubeconfig credentials", () => {
    const users = async (name: string, args?: { awsCredentials?: { profile?: string; roleArn?: string } }) => {
        const built = await buildCdn(name, stackConfig("dev"), undefined, args);
        const providers = built.resources.filter((r) => r.type === "pulumi:providers:kubernetes");
        assert.equal(providers.length, 2);
        return providers.map((p) => (JSON.parse(p.inputs.kubeconfig) as { users: { user: { exec: { args: string[]; env?: { name: string; value: string }[] } } }[] }).users[0].user.exec);
    };

    it("runs aws eks get-token with the stack's AWS profile and assumed role, as the AWS provider does", async () => {
        for (const exec of await users("edgecdn-creds", { awsCredentials: { profile: "cdn-deployer", roleArn: "arn:aws:iam::123456789012:role/cdn-deploy" } })) {
            assert.deepEqual(exec.env, [{ name: "AWS_PROFILE", value: "cdn-deployer" }]);
            assert.deepEqual(exec.args.slice(-2), ["--role-arn", "arn:aws:iam::123456789012:role/cdn-deploy"]);
            assert.deepEqual(exec.args.slice(0, 3), ["eks", "get-token", "--cluster-name"]);
        }
    });

    it("reads them from the stack's aws:profile and aws:assumeRoles by default", async () => {
        const before = pulumi.runtime.allConfig();
        pulumi.runtime.setAllConfig({ ...before, "aws:profile": "from-stack", "aws:assumeRoles": JSON.stringify([{ roleArn: "arn:aws:iam::123456789012:role/first" }, { roleArn: "arn:aws:iam::123456789012:role/last" }]) });
        try {
            for (const exec of await users("edgecdn-stackcreds")) {
                assert.deepEqual(exec.env, [{ name: "AWS_PROFILE", value: "from-stack" }]);
                assert.deepEqual(exec.args.slice(-2), ["--role-arn", "arn:aws:iam::123456789012:role/last"]);
            }
        } finally {
            pulumi.runtime.setAllConfig(before);
        }
        // Without them, get-token uses the default credential chain, as before.
        for (const exec of await users("edgecdn-nocreds")) {
            assert.equal(exec.env, undefined);
            assert.ok(!exec.args.includes("--role-arn"));
        }
    });
});

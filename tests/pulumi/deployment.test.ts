// The edge Deployment and its companions: spread across zones, a rolling update that never
// drops below capacity, the configured requests and limits, a PodDisruptionBudget over the same pods, an
// internet-facing NLB, an admin NLB limited to the configured networks, and the IRSA-bound service account.
import { ACCOUNT_ID, buildCdn, Built, byName, clone, stackConfig } from "./harness";
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";

interface EdgeCfg {
    resources: { cpu: { request: string; limit: string }; memory: { request: string; limit: string } };
    zoneSpread: "required" | "preferred";
    cache: { volumeSize: string };
}

const SCHEME = "service.beta.kubernetes.io/aws-load-balancer-scheme";

for (const stack of ["dev", "prod"]) {
    describe(`edge Deployment and companions (${stack})`, () => {
        let built: Built;
        const cfg = stackConfig(stack) as { regions: { name: string }[]; edge: EdgeCfg; admin?: { allowedCidrs: string[] } };
        const regions = cfg.regions.map((r) => r.name);
        const base = (region: string) => `edgecdn-${stack}-${region}-edge`;
        const deployment = (region: string) => byName(built.resources, "kubernetes:apps/v1:Deployment", `${base(region)}-deployment`);
        before(async () => { built = await buildCdn(`edgecdn-${stack}`, stackConfig(stack)); });

        it(`spreads pods across zones (${cfg.edge.zoneSpread}) and nodes, over exactly the Deployment's pods`, () => {
            const zoneWhen = cfg.edge.zoneSpread === "required" ? "DoNotSchedule" : "ScheduleAnyway";
            for (const region of regions) {
                const spec = deployment(region).inputs.spec;
                const podLabels = spec.template.metadata.labels;
                assert.deepEqual(spec.selector.matchLabels, podLabels);
                const constraints = spec.template.spec.topologySpreadConstraints as {
                    topologyKey: string; maxSkew: number; whenUnsatisfiable: string; labelSelector: { matchLabels: Record<string, string> };
                }[];
                assert.deepEqual(constraints.map((t) => t.topologyKey), ["topology.kubernetes.io/zone", "kubernetes.io/hostname"]);
                const [zone, host] = constraints;
                assert.equal(zone.maxSkew, 1);
                assert.equal(zone.whenUnsatisfiable, zoneWhen);
                // Per node it is only a preference: a region with fewer nodes than pods must still schedule them.
                assert.equal(host.whenUnsatisfiable, "ScheduleAnyway");
                for (const t of constraints) { assert.deepEqual(t.labelSelector.matchLabels, podLabels); }
            }
        });

        it("rolls updates out surge-first and never below the running pod count", () => {
            for (const region of regions) {
                const strategy = deployment(region).inputs.spec.strategy;
                assert.equal(strategy.type, "RollingUpdate");
                assert.equal(strategy.rollingUpdate.maxUnavailable, 0);
                assert.ok(strategy.rollingUpdate.maxSurge >= 1, "with maxUnavailable 0 the rollout needs a surge to progress");
            }
        });

        it("gives the edge container the configured CPU and memory requests and limits, and ephemeral storage for its cache volume", () => {
            const { cpu, memory } = cfg.edge.resources;
            for (const region of regions) {
                const [c] = deployment(region).inputs.spec.template.spec.containers;
                assert.deepEqual(c.resources, {
                    // The scheduler only places the pod where its disk tier fits.
                    requests: { cpu: cpu.request, memory: memory.request, "ephemeral-storage": cfg.edge.cache.volumeSize },
                    limits: { cpu: cpu.limit, memory: memory.limit },
                });
                const vol = deployment(region).inputs.spec.template.spec.volumes.find((v: { name: string }) => v.name === "cache");
                assert.equal(vol.emptyDir.sizeLimit, c.resources.requests["ephemeral-storage"]);
            }
        });

        it("keeps a stopping pod serving until the load balancer has stopped sending to it, then drains it", () => {
            for (const region of regions) {
                const pod = deployment(region).inputs.spec.template.spec;
                const [c] = pod.containers;
                // The kubelet's own sleep action: the image has no shell to run `sleep`.
                assert.deepEqual(Object.keys(c.lifecycle.preStop), ["sleep"]);
                assert.ok(c.lifecycle.preStop.sleep.seconds >= 10, "the NLB needs several seconds to stop routing to a deregistered target");
                assert.ok(pod.terminationGracePeriodSeconds > c.lifecycle.preStop.sleep.seconds + 25);
            }
        });

        it("has a PodDisruptionBudget over the same pods that lets at most one go at a time", () => {
            for (const region of regions) {
                const pdb = byName(built.resources, "kubernetes:policy/v1:PodDisruptionBudget", `${base(region)}-pdb`);
                const spec = deployment(region).inputs.spec;
                assert.deepEqual(pdb.inputs.spec, { maxUnavailable: 1, selector: { matchLabels: spec.template.metadata.labels } });
                assert.equal(pdb.inputs.metadata.namespace, deployment(region).inputs.metadata.namespace);
                assert.equal(pdb.provider, deployment(region).provider);
            }
        });

        it("makes the viewer Service an internet-facing NLB", () => {
            for (const region of regions) {
                const svc = byName(built.resources, "kubernetes:core/v1:Service", `${base(region)}-viewer`);
                assert.equal(svc.inputs.metadata.annotations[SCHEME], "internet-facing");
                // An NLB of the AWS Load Balancer Controller ("external"), with the pods as targets.
                assert.equal(svc.inputs.metadata.annotations["service.beta.kubernetes.io/aws-load-balancer-type"], "external");
                assert.equal(svc.inputs.metadata.annotations["service.beta.kubernetes.io/aws-load-balancer-nlb-target-type"], "ip");
                assert.deepEqual(svc.inputs.spec.selector, deployment(region).inputs.spec.template.metadata.labels);
            }
        });

        const allowed = cfg.admin?.allowedCidrs ?? [];
        it(allowed.length > 0
            ? `limits the admin NLB to ${allowed.join(", ")}`
            : "keeps the admin Service inside the cluster (no load balancer, no source ranges)", () => {
            for (const region of regions) {
                const svc = byName(built.resources, "kubernetes:core/v1:Service", `${base(region)}-admin`);
                if (allowed.length > 0) {
                    assert.equal(svc.inputs.spec.type, "LoadBalancer");
                    assert.deepEqual(svc.inputs.spec.loadBalancerSourceRanges, allowed);
                    assert.equal(svc.inputs.metadata.annotations[SCHEME], "internet-facing");
                    assert.deepEqual(svc.inputs.spec.ports.map((p: { targetPort: string }) => p.targetPort), ["admin"]);
                } else {
                    assert.equal(svc.inputs.spec.type, "ClusterIP");
                    assert.equal(svc.inputs.spec.loadBalancerSourceRanges, undefined);
                    assert.equal(svc.inputs.metadata.annotations, undefined);
                }
            }
        });

        it("runs the pods as the service account that is bound to the region's edge IRSA role", () => {
            for (const region of regions) {
                const sa = byName(built.resources, "kubernetes:core/v1:ServiceAccount", `${base(region)}-sa`);
                const pod = deployment(region).inputs.spec.template.spec;
                assert.equal(pod.serviceAccountName, sa.inputs.metadata.name);
                assert.equal(sa.inputs.metadata.namespace, deployment(region).inputs.metadata.namespace);
                const role = byName(built.resources, "aws:iam/role:Role", `edgecdn-${stack}-${region}-edge`);
                assert.equal(sa.inputs.metadata.annotations["eks.amazonaws.com/role-arn"],
                    `arn:aws:iam::${ACCOUNT_ID}:role/${role.name}-role`);
            }
        });
    });
}

describe("edge Deployment follows the config, not constants", () => {
    it("other resources, zone spread and admin networks come out as configured", async () => {
        const c = clone(stackConfig("dev")) as Record<string, unknown>;
        c.edge = {
            ...(c.edge as object),
            resources: { cpu: { request: "300m", limit: "1500m" }, memory: { request: "768Mi", limit: "1Gi" } },
            zoneSpread: "required",
        };
        c.admin = { allowedCidrs: ["198.51.100.0/24", "192.0.2.10/32"] };
        const built = await buildCdn("edgecdn-tuned", c);
        const d = byName(built.resources, "kubernetes:apps/v1:Deployment", "edgecdn-tuned-eu-west-1-edge-deployment");
        const pod = d.inputs.spec.template.spec;
        assert.deepEqual(pod.containers[0].resources, {
            requests: { cpu: "300m", memory: "768Mi", "ephemeral-storage": "1Gi" }, limits: { cpu: "1500m", memory: "1Gi" },
        });
        assert.equal(pod.topologySpreadConstraints[0].whenUnsatisfiable, "DoNotSchedule");
        const admin = byName(built.resources, "kubernetes:core/v1:Service", "edgecdn-tuned-eu-west-1-edge-admin");
        assert.deepEqual(admin.inputs.spec.loadBalancerSourceRanges, ["198.51.100.0/24", "192.0.2.10/32"]);
    });

    it("a region that reads no S3 bucket still gets an IRSA role, allowed only the invalidation log", async () => {
        const c = clone(stackConfig("dev")) as Record<string, unknown> & { origins: { type: string }[]; behaviors: { origin: string }[] };
        c.origins = c.origins.filter((o) => o.type === "http");
        c.behaviors = c.behaviors.filter((b) => b.origin === "app");
        const built = await buildCdn("edgecdn-http", c);
        for (const region of ["us-east-1", "eu-west-1"]) {
            const base = `edgecdn-http-${region}-edge`;
            byName(built.resources, "aws:iam/role:Role", base);
            const policies = built.resources.filter((r) => r.type === "aws:iam/rolePolicy:RolePolicy" && r.inputs.role === `${base}-id`);
            assert.deepEqual(policies.map((p) => p.name), [`${base}-invalidation-log`]);
            const sa = byName(built.resources, "kubernetes:core/v1:ServiceAccount", `${base}-sa`);
            assert.equal(sa.inputs.metadata.annotations["eks.amazonaws.com/role-arn"], `arn:aws:iam::${ACCOUNT_ID}:role/${base}-role`);
        }
    });
});

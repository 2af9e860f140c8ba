// Steering: one latency record per region and type, aliased to that region's NLB with its health check attached;
// health checks and the NLB probe the server's real viewer-side health path.
import { Built, buildCdn, clone, edgeOnly, MOCK_ZONE_ID, NLB_ZONE_IDS, ofType, Recorded, stackConfig, valueOf } from "./harness";
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";

for (const stack of ["dev", "prod"]) {
    describe(`latency DNS (${stack})`, () => {
        let built: Built;
        let constants: typeof import("../../components/constants");
        const cfg = stackConfig(stack) as { domain: string; regions: { name: string }[]; healthCheck: { intervalSeconds: number; failureThreshold: number; measureLatency?: boolean } };
        const regions = cfg.regions.map((r) => r.name);

        /** The hostname the mock gave this region's viewer Service (the NLB). */
        function nlbHostname(region: string): string {
            const svc = built.resources.find((r) => r.type === "kubernetes:core/v1:Service" && r.name === `edgecdn-${stack}-${region}-edge-viewer`);
            assert.ok(svc);
            return `a${svc.name.replace(/[^a-z0-9]/g, "").slice(-20)}-0123456789abcdef.elb.${region}.amazonaws.com`;
        }
        const healthChecks = () => ofType("aws:route53/healthCheck:HealthCheck", built.resources);
        const latencyRecords = () => ofType("aws:route53/record:Record", built.resources).filter((r) => r.inputs.setIdentifier !== undefined);

        before(async () => {
            constants = await import("../../components/constants");
            built = await buildCdn(`edgecdn-${stack}`, stackConfig(stack));
        });

        it("has exactly one A and one AAAA latency record per region, all for the viewer domain", () => {
            const records = latencyRecords();
            assert.equal(records.length, 2 * regions.length);
            for (const type of ["A", "AAAA"]) {
                const ofT = records.filter((r) => r.inputs.type === type);
                assert.deepEqual(ofT.map((r) => r.inputs.setIdentifier).sort(), [...regions].sort());
                for (const r of ofT) {
                    assert.equal(r.inputs.name, cfg.domain);
                    assert.equal(r.inputs.zoneId, MOCK_ZONE_ID);
                }
            }
        });

        it("routes each record by its region to that region's NLB, evaluating target health, with its health check", () => {
            for (const r of latencyRecords()) {
                const region = r.inputs.setIdentifier as string;
                assert.deepEqual(r.inputs.latencyRoutingPolicies, [{ region }]);
                assert.deepEqual(r.inputs.aliases, [{ name: nlbHostname(region), zoneId: NLB_ZONE_IDS[region], evaluateTargetHealth: true }]);
                const check = healthChecks().find((h) => h.name === `edgecdn-${stack}-dns-${region}`);
                assert.ok(check);
                assert.equal(r.inputs.healthCheckId, `hc-${check.name}`);
                assert.equal(r.inputs.ttl, undefined, "alias records carry no TTL");
            }
        });

        it("health-checks each region's NLB over HTTPS on 443 at the server's viewer health path, with the configured timing", () => {
            assert.equal(constants.VIEWER_HEALTH_PATH, "/.edge/healthz");
            assert.equal(healthChecks().length, regions.length);
            for (const region of regions) {
                const h = healthChecks().find((c) => c.name === `edgecdn-${stack}-dns-${region}`) as Recorded;
                assert.equal(h.inputs.type, "HTTPS");
                assert.equal(h.inputs.port, 443);
                assert.equal(h.inputs.fqdn, nlbHostname(region));
                assert.equal(h.inputs.resourcePath, constants.VIEWER_HEALTH_PATH);
                assert.equal(h.inputs.requestInterval, cfg.healthCheck.intervalSeconds);
                assert.equal(h.inputs.failureThreshold, cfg.healthCheck.failureThreshold);
            }
        });

        it(`measures latency ${cfg.healthCheck.measureLatency ? "(as configured)" : "only when asked (off by default)"}, from Route 53's default checker regions`, () => {
            for (const h of healthChecks()) {
                assert.equal(h.inputs.measureLatency, cfg.healthCheck.measureLatency ?? false, h.name);
                // No checkerRegions in the config: Route 53 picks its default set.
                assert.equal(h.inputs.regions, undefined, h.name);
            }
        });

        it("terminates TLS at the NLB with the region's validated certificate and forwards 443 to the viewer port", () => {
            for (const region of regions) {
                const svc = built.resources.find((r) => r.name === `edgecdn-${stack}-${region}-edge-viewer`) as Recorded;
                const a = svc.inputs.metadata.annotations;
                assert.equal(svc.inputs.spec.type, "LoadBalancer");
                assert.equal(a["service.beta.kubernetes.io/aws-load-balancer-type"], "external");
                assert.equal(a["service.beta.kubernetes.io/aws-load-balancer-ssl-ports"], "443");
                assert.match(a["service.beta.kubernetes.io/aws-load-balancer-ssl-cert"], new RegExp(`^arn:aws:acm:${region}:\\d+:certificate/edgecdn-${stack}-${region}-cert$`));
                // The NLB's own target check asks the admin port whether the pod can serve viewers (the viewer port
                // wants a proxy protocol header, which NLB health checks do not send); Route 53 checks the viewer path.
                assert.equal(a["service.beta.kubernetes.io/aws-load-balancer-healthcheck-path"], constants.READINESS_PATH);
                assert.equal(a["service.beta.kubernetes.io/aws-load-balancer-healthcheck-port"], String(constants.ADMIN_PORT));
                assert.deepEqual(svc.inputs.spec.ports[0], { name: "https", port: 443, targetPort: "viewer", protocol: "TCP" });
                const d = built.resources.find((r) => r.name === `edgecdn-${stack}-${region}-edge-deployment`) as Recorded;
                const ports = d.inputs.spec.template.spec.containers[0].ports;
                assert.deepEqual(ports.find((p: { name: string }) => p.name === "viewer").containerPort, constants.VIEWER_PORT);
            }
        });

        it("probes liveness and readiness on the admin port's /healthz and /readyz", () => {
            for (const d of ofType("kubernetes:apps/v1:Deployment", edgeOnly(built.resources))) {
                const c = d.inputs.spec.template.spec.containers[0];
                assert.deepEqual(c.livenessProbe.httpGet, { path: "/healthz", port: "admin" });
                assert.deepEqual(c.readinessProbe.httpGet, { path: "/readyz", port: "admin" });
                assert.equal(c.ports.find((p: { name: string }) => p.name === "admin").containerPort, 9090);
            }
        });

        it("validates each region's certificate through the hosted zone, for the domain and the region's own names", () => {
            for (const region of regions) {
                const cert = built.resources.find((r) => r.type === "aws:acm/certificate:Certificate" && r.name === `edgecdn-${stack}-${region}-cert`) as Recorded;
                assert.equal(cert.inputs.region, region);
                assert.equal(cert.inputs.domainName, cfg.domain);
                assert.deepEqual(cert.inputs.subjectAlternativeNames, [`${region}.${cfg.domain}`, `admin.${region}.${cfg.domain}`]);
                assert.equal(cert.inputs.validationMethod, "DNS");
                const validations = ofType("aws:route53/record:Record", built.resources).filter((r) => r.name.startsWith(`edgecdn-${stack}-${region}-cert-validation-`));
                assert.equal(validations.length, 3);
                for (const v of validations) {
                    assert.equal(v.inputs.type, "CNAME");
                    assert.equal(v.inputs.allowOverwrite, true, "every region writes the shared viewer-domain record");
                }
            }
        });

        it("exports each region's endpoint, health-check id and purge endpoint", async () => {
            for (const region of regions) {
                const out = built.cdn.regions[region];
                assert.equal(await valueOf(out.endpoint), nlbHostname(region));
                assert.equal(await valueOf(out.healthCheckId), `hc-edgecdn-${stack}-dns-${region}`);
                const admin = await valueOf(out.adminEndpoint);
                if (stack === "prod") {
                    assert.equal(admin, `https://admin.${region}.${cfg.domain}/purge`);
                } else {
                    assert.match(admin, /port-forward svc\/edgecache-admin 9090:9090.*POST http:\/\/127\.0\.0\.1:9090\/purge/);
                }
            }
            assert.equal(built.cdn.viewerUrl, `https://${cfg.domain}/`);
        });
    });
}

describe("health-check options follow the config", () => {
    it("checker regions and latency measurement reach every region's health check", async () => {
        const c = clone(stackConfig("dev")) as Record<string, unknown>;
        c.healthCheck = { intervalSeconds: 10, failureThreshold: 2, measureLatency: true, checkerRegions: ["us-east-1", "eu-west-1", "ap-southeast-1"] };
        const built = await buildCdn("edgecdn-checkers", c);
        const checks = ofType("aws:route53/healthCheck:HealthCheck", built.resources);
        assert.equal(checks.length, 2);
        for (const h of checks) {
            assert.equal(h.inputs.measureLatency, true);
            assert.deepEqual(h.inputs.regions, ["us-east-1", "eu-west-1", "ap-southeast-1"]);
            assert.equal(h.inputs.requestInterval, 10);
            assert.equal(h.inputs.failureThreshold, 2);
        }
    });
});

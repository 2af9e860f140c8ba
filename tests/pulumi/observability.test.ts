// The fleet's metrics, alerts and access logs: the metrics workspace and its alert rules (promtool-checked), a metrics
// agent per cluster on its own least-privilege IRSA role, the switch to an existing workspace or a remote-write URL,
// the access-log bucket (private, encrypted, TLS only, expiring) and a log shipper per cluster that may only write
// its region's prefix; the dashboard's shape. The queries themselves run against Prometheus in the .NET end-to-end
// test (tests/EdgeCache.Tests/EndToEnd/FleetObservabilityTests.cs).
import { ACCOUNT_ID, buildCdn, buildExpectingError, Built, clone, ofType, Recorded, REPO_ROOT, stackConfig, statements, valueOf } from "./harness";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parse as parseYaml, stringify as toYaml } from "yaml";
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";

type Raw = Record<string, unknown>;

function one(from: Recorded[], type: string, name: string): Recorded {
    const found = from.filter((r) => r.type === type && r.name === name);
    assert.equal(found.length, 1, `expected one ${type} named ${name}, found ${found.length}`);
    return found[0];
}

function withObservability(observability: unknown, stack = "dev"): Raw {
    const c = clone(stackConfig(stack)) as Raw;
    c.observability = observability;
    return c;
}

/** promtool from Debian's prometheus package (./test.sh installs it); undefined where it is not installed. */
function promtool(): string | undefined {
    for (const dir of (process.env.PATH ?? "").split(":").concat("/usr/bin")) {
        const p = path.join(dir, "promtool");
        if (fs.existsSync(p)) { return p; }
    }
    return undefined;
}

function runPromtool(args: string[], file: string, text: string): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "promtool-"));
    try {
        fs.writeFileSync(path.join(dir, file), text);
        return execFileSync(promtool() as string, [...args, path.join(dir, file)], { encoding: "utf8", stdio: "pipe" });
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

const ALERTS = ["EdgeRegionNoReadyNodes", "EdgeHigh5xxRatio", "EdgeOriginDown", "EdgeHitRatioHalved", "EdgeDiskTierDegraded",
    "EdgeInvalidationLag", "EdgeNodeRestarting", "EdgeMemoryNearLimit"];

interface RuleFile { groups: { name: string; rules: { alert: string; expr: string; for: string; annotations: Record<string, string>; labels: Record<string, string> }[] }[] }

describe("metrics workspace and alert rules (dev: created in the primary region)", () => {
    let built: Built;
    before(async () => { built = await buildCdn("edgecdn-dev", stackConfig("dev")); });

    it("creates one Amazon Managed Service for Prometheus workspace, in the primary region", () => {
        const workspaces = ofType("aws:amp/workspace:Workspace", built.resources);
        assert.equal(workspaces.length, 1);
        assert.equal(workspaces[0].inputs.region, "us-east-1");
        assert.equal(workspaces[0].inputs.alias, "edgecdn-dev-metrics");
    });

    it("loads the eight alerts, rendered with the default thresholds, into the workspace's rule groups", async () => {
        const [ns] = ofType("aws:amp/ruleGroupNamespace:RuleGroupNamespace", built.resources);
        assert.equal(ns.inputs.region, "us-east-1");
        assert.equal(ns.inputs.workspaceId, "edgecdn-dev-metrics-workspace-id");
        const rules = parseYaml(ns.inputs.data) as RuleFile;
        const all = rules.groups.flatMap((g) => g.rules);
        assert.deepEqual(all.map((r) => r.alert), ALERTS);
        const expr = (alert: string) => all.find((r) => r.alert === alert)?.expr.trim() ?? "";
        assert.match(expr("EdgeHigh5xxRatio"), /> 0\.05$/);
        assert.match(expr("EdgeHitRatioHalved"), /offset 1d[\s\S]*< 0\.5$/);
        assert.match(expr("EdgeInvalidationLag"), /> 60$/);
        assert.match(expr("EdgeNodeRestarting"), /> 3$/);
        assert.match(expr("EdgeMemoryNearLimit"), /> 0\.9$/);
        assert.ok(!ns.inputs.data.includes("${"), "a placeholder was left in the rules");
        assert.equal(ns.inputs.data, built.cdn.observability.alertRules);
    });

    it("links each alert's runbook to its own section of docs/operations.md", () => {
        const [ns] = ofType("aws:amp/ruleGroupNamespace:RuleGroupNamespace", built.resources);
        const doc = fs.readFileSync(path.join(REPO_ROOT, "docs", "operations.md"), "utf8");
        // GitHub's anchors: the heading in lower case, spaces to hyphens, punctuation dropped.
        const anchors = new Set([...doc.matchAll(/^#{2,4} (.+)$/gm)].map((m) => m[1].toLowerCase().replace(/[^a-z0-9 -]/g, "").replace(/ /g, "-")));
        for (const rule of (parseYaml(ns.inputs.data) as RuleFile).groups.flatMap((g) => g.rules)) {
            const [file, anchor] = rule.annotations.runbook.split("#");
            assert.equal(file, "docs/operations.md", rule.alert);
            assert.equal(anchor, rule.alert.toLowerCase());
            assert.ok(anchors.has(anchor), `docs/operations.md has no section #${anchor}`);
            assert.ok(rule.labels.severity === "critical" || rule.labels.severity === "warning", rule.alert);
            assert.match(rule.for, /^\d+m$/, rule.alert);
        }
    });

    it("promtool accepts the rendered rules", { skip: promtool() ? false : "promtool is not installed (./test.sh installs Debian's prometheus)" }, () => {
        const out = runPromtool(["check", "rules"], "rules.yml", built.cdn.observability.alertRules);
        assert.match(out, /SUCCESS: 8 rules found/);
    });

    it("exports the workspace, its query URL and the rules", async () => {
        const w = built.cdn.observability.workspace;
        assert.ok(w);
        assert.equal(await valueOf(w.id), "edgecdn-dev-metrics-workspace-id");
        assert.equal(await valueOf(w.queryUrl), "https://aps-workspaces.us-east-1.amazonaws.com/workspaces/edgecdn-dev-metrics-workspace-id/api/v1/query");
        assert.equal(await valueOf(built.cdn.observability.remoteWriteUrl),
            "https://aps-workspaces.us-east-1.amazonaws.com/workspaces/edgecdn-dev-metrics-workspace-id/api/v1/remote_write");
    });
});

describe("metrics agents (dev: one per cluster)", () => {
    let built: Built;
    const regions = ["us-east-1", "eu-west-1"];
    before(async () => { built = await buildCdn("edgecdn-dev", stackConfig("dev")); });

    it("runs Prometheus in agent mode, pinned, non-root and read-only, on each region's own cluster", () => {
        for (const region of regions) {
            const d = one(built.resources, "kubernetes:apps/v1:Deployment", `edgecdn-dev-${region}-metrics-agent-deployment`);
            assert.match(d.provider ?? "", new RegExp(`pulumi:providers:kubernetes::edgecdn-dev-${region}-k8s::`));
            assert.equal(d.inputs.metadata.namespace, "edgecdn-metrics");
            assert.equal(d.inputs.spec.replicas, 1);
            const pod = d.inputs.spec.template.spec;
            const [c] = pod.containers;
            assert.equal(c.image, "quay.io/prometheus/prometheus:v3.5.0");
            assert.ok(c.args.includes("--agent"));
            assert.equal(c.securityContext.runAsNonRoot, true);
            assert.equal(c.securityContext.readOnlyRootFilesystem, true);
            assert.deepEqual(c.securityContext.capabilities.drop, ["ALL"]);
            const ns = one(built.resources, "kubernetes:core/v1:Namespace", `edgecdn-dev-${region}-metrics-agent-ns`);
            assert.equal(ns.inputs.metadata.labels["pod-security.kubernetes.io/enforce"], "restricted");
        }
    });

    it("scrapes the edge pods' admin port with region and node labels, and remote-writes to the workspace with SigV4", () => {
        for (const region of regions) {
            const cm = one(built.resources, "kubernetes:core/v1:ConfigMap", `edgecdn-dev-${region}-metrics-agent-config`);
            const config = parseYaml(cm.inputs.data["prometheus.yml"]);
            const [job] = config.scrape_configs;
            assert.deepEqual(job.kubernetes_sd_configs, [{ role: "pod", namespaces: { names: ["edgecache"] } }]);
            const relabel = job.relabel_configs as { source_labels?: string[]; target_label?: string; replacement?: string; regex?: string; action?: string }[];
            assert.deepEqual(relabel.find((r) => r.target_label === "region"), { target_label: "region", replacement: region });
            assert.deepEqual(relabel.find((r) => r.target_label === "node")?.source_labels, ["__meta_kubernetes_pod_name"]);
            assert.deepEqual(relabel.find((r) => r.source_labels?.[0] === "__meta_kubernetes_pod_container_port_name"), {
                source_labels: ["__meta_kubernetes_pod_container_port_name"], regex: "admin", action: "keep",
            });
            assert.equal(config.remote_write.length, 1);
            assert.equal(config.remote_write[0].url, "https://aps-workspaces.us-east-1.amazonaws.com/workspaces/edgecdn-dev-metrics-workspace-id/api/v1/remote_write");
            assert.deepEqual(config.remote_write[0].sigv4, { region: "us-east-1" });
        }
    });

    it("promtool accepts the agent's config (with the pods put on static targets: Debian's build has no Kubernetes discovery)",
        { skip: promtool() ? false : "promtool is not installed" }, () => {
            const cm = one(built.resources, "kubernetes:core/v1:ConfigMap", "edgecdn-dev-eu-west-1-metrics-agent-config");
            const config = parseYaml(cm.inputs.data["prometheus.yml"]);
            delete config.scrape_configs[0].kubernetes_sd_configs;
            config.scrape_configs[0].static_configs = [{ targets: ["127.0.0.1:9090"] }];
            assert.match(runPromtool(["check", "config", "--agent"], "prometheus.yml", toYaml(config)), /SUCCESS/);
        });

    it("signs as an IRSA role only its service account can assume, allowed aps:RemoteWrite on this workspace alone", () => {
        for (const region of regions) {
            const role = one(built.resources, "aws:iam/role:Role", `edgecdn-dev-${region}-metrics-agent-irsa`);
            const [trust] = statements(role.inputs.assumeRolePolicy);
            assert.equal(trust.Action, "sts:AssumeRoleWithWebIdentity");
            const issuer = `oidc.eks.${region}.amazonaws.com/id/MOCK${region.replace(/-/g, "").toUpperCase()}`;
            assert.deepEqual(trust.Principal, { Federated: `arn:aws:iam::${ACCOUNT_ID}:oidc-provider/${issuer}` });
            assert.deepEqual(trust.Condition?.StringEquals, {
                [`${issuer}:sub`]: "system:serviceaccount:edgecdn-metrics:metrics-agent",
                [`${issuer}:aud`]: "sts.amazonaws.com",
            });
            const policy = one(built.resources, "aws:iam/rolePolicy:RolePolicy", `edgecdn-dev-${region}-metrics-agent-irsa`);
            assert.deepEqual(statements(policy.inputs.policy), [{
                Sid: "RemoteWriteToTheFleetWorkspace", Effect: "Allow", Action: "aps:RemoteWrite", Resource: "arn:aws:mock:::edgecdn-dev-metrics-workspace",
            }]);
            const sa = one(built.resources, "kubernetes:core/v1:ServiceAccount", `edgecdn-dev-${region}-metrics-agent-sa`);
            assert.equal(sa.inputs.metadata.name, "metrics-agent");
            assert.equal(sa.inputs.metadata.annotations["eks.amazonaws.com/role-arn"], `arn:aws:iam::${ACCOUNT_ID}:role/edgecdn-dev-${region}-metrics-agent-irsa-role`);
        }
    });

    it("may list and watch pods in the edge namespace only (a Role there, no ClusterRole)", () => {
        assert.equal(ofType("kubernetes:rbac.authorization.k8s.io/v1:ClusterRole", built.resources).length, 0);
        for (const region of regions) {
            const role = one(built.resources, "kubernetes:rbac.authorization.k8s.io/v1:Role", `edgecdn-dev-${region}-metrics-agent-discovery`);
            assert.equal(role.inputs.metadata.namespace, "edgecache");
            assert.deepEqual(role.inputs.rules, [{ apiGroups: [""], resources: ["pods"], verbs: ["get", "list", "watch"] }]);
            const binding = one(built.resources, "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding", `edgecdn-dev-${region}-metrics-agent-discovery`);
            assert.deepEqual(binding.inputs.subjects, [{ kind: "ServiceAccount", name: "metrics-agent", namespace: "edgecdn-metrics" }]);
        }
    });
});

describe("the metrics switch", () => {
    it("an existing workspace: nothing created, agents write to it and the rules are loaded into it", async () => {
        const id = "ws-12345678-abcd-1234-abcd-123456789012";
        const built = await buildCdn("edgecdn-dev", withObservability({ metrics: { workspaceId: id, workspaceRegion: "eu-west-1" } }));
        assert.equal(ofType("aws:amp/workspace:Workspace", built.resources).length, 0);
        const [ns] = ofType("aws:amp/ruleGroupNamespace:RuleGroupNamespace", built.resources);
        assert.equal(ns.inputs.workspaceId, id);
        assert.equal(ns.inputs.region, "eu-west-1");
        const policy = one(built.resources, "aws:iam/rolePolicy:RolePolicy", "edgecdn-dev-us-east-1-metrics-agent-irsa");
        assert.equal(statements(policy.inputs.policy)[0].Resource, `arn:aws:aps:eu-west-1:${ACCOUNT_ID}:workspace/${id}`);
        const config = parseYaml(one(built.resources, "kubernetes:core/v1:ConfigMap", "edgecdn-dev-us-east-1-metrics-agent-config").inputs.data["prometheus.yml"]);
        assert.equal(config.remote_write[0].url, `https://aps-workspaces.eu-west-1.amazonaws.com/workspaces/${id}/api/v1/remote_write`);
        assert.deepEqual(config.remote_write[0].sigv4, { region: "eu-west-1" });
        assert.equal(await valueOf(built.cdn.observability.workspace?.queryUrl), `https://aps-workspaces.eu-west-1.amazonaws.com/workspaces/${id}/api/v1/query`);
    });

    it("a Prometheus the team runs: no workspace, no rules loaded, no AWS role; the agents write to its URL unsigned", async () => {
        const url = "https://prometheus.example.com/api/v1/write";
        const built = await buildCdn("edgecdn-dev", withObservability({ metrics: { remoteWriteUrl: url } }));
        assert.equal(ofType("aws:amp/workspace:Workspace", built.resources).length, 0);
        assert.equal(ofType("aws:amp/ruleGroupNamespace:RuleGroupNamespace", built.resources).length, 0);
        assert.ok(!built.resources.some((r) => r.name.includes("metrics-agent-irsa")));
        const config = parseYaml(one(built.resources, "kubernetes:core/v1:ConfigMap", "edgecdn-dev-eu-west-1-metrics-agent-config").inputs.data["prometheus.yml"]);
        assert.deepEqual(config.remote_write.map((w: { url: string; sigv4?: unknown }) => [w.url, w.sigv4]), [[url, undefined]]);
        assert.equal(one(built.resources, "kubernetes:core/v1:ServiceAccount", "edgecdn-dev-eu-west-1-metrics-agent-sa").inputs.metadata.annotations, undefined);
        // The rules still come out, for that Prometheus to load.
        assert.match(built.cdn.observability.alertRules, /alert: EdgeOriginDown/);
        assert.equal(built.cdn.observability.workspace, undefined);
    });

    it("off: no workspace and no agents", async () => {
        const built = await buildCdn("edgecdn-dev", withObservability({ metrics: { enabled: false } }));
        assert.equal(ofType("aws:amp/workspace:Workspace", built.resources).length, 0);
        assert.equal(ofType("edgecdn:index:MetricsAgent", built.resources).length, 0);
    });

    it("thresholds come from the stack config", async () => {
        const built = await buildCdn("edgecdn-dev", withObservability({
            alerts: { http5xxRatio: 0.02, hitRatioDropFactor: 0.25, invalidationLagSeconds: 300, restartsPerHour: 5, memoryLimitRatio: 0.8, runbookUrl: "https://wiki.example.com/cdn/operations" },
        }));
        const [ns] = ofType("aws:amp/ruleGroupNamespace:RuleGroupNamespace", built.resources);
        const rules = (parseYaml(ns.inputs.data) as RuleFile).groups[0].rules;
        const expr = (alert: string) => rules.find((r) => r.alert === alert)?.expr.trim() ?? "";
        assert.match(expr("EdgeHigh5xxRatio"), /> 0\.02$/);
        assert.match(expr("EdgeHitRatioHalved"), /< 0\.25$/);
        assert.match(expr("EdgeInvalidationLag"), /> 300$/);
        assert.match(expr("EdgeNodeRestarting"), /> 5$/);
        assert.match(expr("EdgeMemoryNearLimit"), /> 0\.8$/);
        assert.equal(rules[0].annotations.runbook, "https://wiki.example.com/cdn/operations#edgeregionnoreadynodes");
    });

    it("refuses bad values, naming each field, before anything is registered", async () => {
        const { CdnConfigError } = await import("../../components");
        const { error, registered } = await buildExpectingError("edgecdn-dev", withObservability({
            metrics: { workspaceId: "ws-1", remoteWriteUrl: "ftp://x" },
            alerts: { http5xxRatio: 5, hitRatioDropFactor: 0, invalidationLagSeconds: -1, runbookUrl: "has space", threshold: 1 },
            accessLogs: { expireDays: 0 },
        }));
        assert.ok(error instanceof CdnConfigError, String(error));
        assert.equal(registered, 0);
        for (const field of ["observability.metrics.workspaceId", "observability.metrics.remoteWriteUrl", "observability.alerts.http5xxRatio",
            "observability.alerts.hitRatioDropFactor", "observability.alerts.invalidationLagSeconds", "observability.alerts.runbookUrl",
            "observability.alerts.threshold", "observability.accessLogs.expireDays"]) {
            assert.ok(error.errors.some((e) => e.startsWith(`${field}:`)), `no error for ${field} in:\n${error.message}`);
        }
        const both = await buildExpectingError("edgecdn-dev", withObservability({
            metrics: { workspaceId: "ws-12345678-abcd-1234-abcd-123456789012", remoteWriteUrl: "https://prometheus.example.com/api/v1/write" },
        }));
        assert.match(String(both.error), /observability\.metrics: sets both workspaceId and remoteWriteUrl/);
        const noLog = clone(stackConfig("dev")) as Raw & { edge: Raw };
        noLog.edge.accessLog = false;
        assert.match(String((await buildExpectingError("edgecdn-dev", noLog)).error), /observability\.accessLogs\.enabled: is true but edge\.accessLog is false/);
    });
});

describe("access logs (prod)", () => {
    let built: Built;
    const regions = ["us-east-1", "eu-west-1", "ap-southeast-1"];
    before(async () => { built = await buildCdn("edgecdn-prod", stackConfig("prod")); });

    it("one log bucket in the primary region: private, encrypted, TLS only, expired after 90 days by default", () => {
        const bucket = one(built.resources, "aws:s3/bucket:Bucket", "edgecdn-prod-access-logs");
        assert.equal(bucket.inputs.region, "us-east-1");
        const pab = one(built.resources, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "edgecdn-prod-access-logs-public-access");
        assert.deepEqual([pab.inputs.blockPublicAcls, pab.inputs.blockPublicPolicy, pab.inputs.ignorePublicAcls, pab.inputs.restrictPublicBuckets], [true, true, true, true]);
        assert.equal(one(built.resources, "aws:s3/bucketOwnershipControls:BucketOwnershipControls", "edgecdn-prod-access-logs-ownership").inputs.rule.objectOwnership, "BucketOwnerEnforced");
        const sse = one(built.resources, "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration", "edgecdn-prod-access-logs-encryption");
        assert.equal(sse.inputs.rules[0].applyServerSideEncryptionByDefault.sseAlgorithm, "AES256");
        const tls = statements(one(built.resources, "aws:s3/bucketPolicy:BucketPolicy", "edgecdn-prod-access-logs-tls-only").inputs.policy);
        assert.ok(tls.some((s) => s.Effect === "Deny" && s.Condition?.Bool?.["aws:SecureTransport"] === "false"));
        assert.ok(tls.every((s) => s.Effect === "Deny"));
        const lc = one(built.resources, "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", "edgecdn-prod-access-logs-lifecycle");
        assert.deepEqual(lc.inputs.rules.find((r: { id: string }) => r.id === "expire-access-logs").expiration, { days: 90 });
    });

    it("expiry from the stack config; none of it when access logs are off", async () => {
        const kept = await buildCdn("edgecdn-dev", withObservability({ accessLogs: { expireDays: 30 } }));
        const lc = one(kept.resources, "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", "edgecdn-dev-access-logs-lifecycle");
        assert.deepEqual(lc.inputs.rules.find((r: { id: string }) => r.id === "expire-access-logs").expiration, { days: 30 });
        const off = await buildCdn("edgecdn-dev", withObservability({ accessLogs: { enabled: false } }));
        assert.equal(ofType("edgecdn:index:AccessLogBucket", off.resources).length, 0);
        assert.equal(ofType("edgecdn:index:LogShipper", off.resources).length, 0);
        assert.equal(off.cdn.observability.accessLogs, undefined);
    });

    it("a Fluent Bit DaemonSet per cluster reads the edge containers' logs read-only and ships the access log to its region's prefix", () => {
        for (const region of regions) {
            const ds = one(built.resources, "kubernetes:apps/v1:DaemonSet", `edgecdn-prod-${region}-log-shipper-daemonset`);
            assert.match(ds.provider ?? "", new RegExp(`pulumi:providers:kubernetes::edgecdn-prod-${region}-k8s::`));
            const pod = ds.inputs.spec.template.spec;
            const [c] = pod.containers;
            assert.equal(c.image, "cr.fluentbit.io/fluent/fluent-bit:4.0.8");
            assert.equal(c.securityContext.readOnlyRootFilesystem, true);
            assert.equal(c.securityContext.allowPrivilegeEscalation, false);
            assert.deepEqual(c.securityContext.capabilities.drop, ["ALL"]);
            assert.equal(c.volumeMounts.find((m: { name: string }) => m.name === "varlog").readOnly, true);
            assert.equal(pod.automountServiceAccountToken, false);
            const conf = one(built.resources, "kubernetes:core/v1:ConfigMap", `edgecdn-prod-${region}-log-shipper-config`).inputs.data["fluent-bit.conf"] as string;
            assert.match(conf, /Path\s+\/var\/log\/containers\/\*_edgecache_edgecache-\*\.log/);
            assert.match(conf, /Regex\s+Category \^EdgeCache\\\.AccessLog\$/);
            assert.match(conf, /bucket\s+edgecdn-prod-access-logs-20251125abcdef0123456789/);
            assert.match(conf, /\n\s+region\s+us-east-1\n/);
            assert.ok(conf.includes(`s3_key_format     /access-logs/region=${region}/date=%Y-%m-%d/`), conf);
            assert.match(conf, new RegExp(`Add\\s+region ${region}`));
        }
    });

    it("each shipper's IRSA role may only put objects under its own region's prefix", () => {
        for (const region of regions) {
            const role = one(built.resources, "aws:iam/role:Role", `edgecdn-prod-${region}-log-shipper-irsa`);
            const [trust] = statements(role.inputs.assumeRolePolicy);
            assert.ok(Object.values(trust.Condition?.StringEquals ?? {}).includes("system:serviceaccount:edgecdn-logs:log-shipper"));
            const policy = one(built.resources, "aws:iam/rolePolicy:RolePolicy", `edgecdn-prod-${region}-log-shipper-irsa`);
            assert.deepEqual(statements(policy.inputs.policy), [{
                Sid: "PutThisRegionsAccessLogs", Effect: "Allow", Action: "s3:PutObject",
                Resource: `arn:aws:s3:::edgecdn-prod-access-logs-20251125abcdef0123456789/access-logs/region=${region}/*`,
            }]);
        }
    });

    it("exports the bucket", async () => {
        assert.equal(await valueOf(built.cdn.observability.accessLogs?.bucket), "edgecdn-prod-access-logs-20251125abcdef0123456789");
        assert.equal(built.cdn.observability.accessLogs?.region, "us-east-1");
    });
});

describe("the Grafana dashboard (observability/grafana/edgecdn.json)", () => {
    const dashboard = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, "observability", "grafana", "edgecdn.json"), "utf8"));
    const panels = (dashboard.panels as { type: string; title: string; targets?: { expr: string; legendFormat: string; datasource: { uid: string } }[] }[])
        .filter((p) => p.type !== "row");

    it("has a Prometheus data source, region and node variables, and the panels operators ask for", () => {
        const vars = Object.fromEntries((dashboard.templating.list as { name: string; type: string; includeAll?: boolean; multi?: boolean }[]).map((v) => [v.name, v]));
        assert.equal(vars.datasource.type, "datasource");
        for (const v of ["region", "node"]) { assert.equal(vars[v].type, "query"); assert.equal(vars[v].includeAll, true); assert.equal(vars[v].multi, true); }
        const titles = panels.map((p) => p.title);
        for (const wanted of [/by cache status/, /by region/, /Hit ratio \(requests\)/, /Hit ratio \(bytes\)/, /Origin fetches/, /Origin latency/,
            /Origin errors/, /Viewer latency p50 and p99/, /4xx and 5xx/, /Collapsed waiters/, /Memory and disk tier fill/, /Evictions/,
            /Disk tier degraded/, /Invalidation lag/, /Last applied invalidation/, /GC pauses/]) {
            assert.ok(titles.some((t) => wanted.test(t)), `no panel ${wanted}`);
        }
    });

    it("every query filters by the region and node variables and reads the chosen data source", () => {
        for (const p of panels) {
            assert.ok(p.targets && p.targets.length > 0, p.title);
            for (const t of p.targets) {
                assert.equal(t.datasource.uid, "${datasource}", p.title);
                for (const selector of t.expr.match(/\{[^}]*\}/g) ?? []) {
                    assert.ok(selector.includes('region=~"$region"') && selector.includes('node=~"$node"'), `${p.title}: ${selector}`);
                }
            }
        }
    });
});

// One cluster's metrics agent: Prometheus in agent mode (no local queries or rules, a write-ahead log only), running
// the repository's scrape job (observability/scrape.template.yml) over this region's edge pods and remote-writing
// every series, labelled with region and node, to the fleet's workspace, signed as its own IRSA role that may only
// write to that workspace. Why an agent and not the managed scraper or ADOT: docs/decisions/0025-metrics-agent.md.

import * as aws from "@pulumi/aws";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { irsaTrustPolicy, metricsRemoteWritePolicy } from "./iam";
import { metricsAgentConfig } from "./observabilityFiles";

/** Prometheus's image (LTS release): the agent mode and SigV4 remote write are in the official binary. */
export const METRICS_AGENT_IMAGE = "quay.io/prometheus/prometheus:v3.5.0";
export const METRICS_AGENT_NAMESPACE = "edgecdn-metrics";
export const METRICS_AGENT_SERVICE_ACCOUNT = "metrics-agent";
const AGENT_UID = 65534;

export interface MetricsAgentArgs {
    region: string;
    provider: k8s.Provider;
    /** The edge nodes' namespace: the only one whose pods the agent may list, and scrapes. */
    edgeNamespace: pulumi.Input<string>;
    /** An AMP workspace (SigV4 as the agent's role, allowed aps:RemoteWrite on it alone) or a plain remote-write URL. */
    remoteWrite: { workspaceArn: pulumi.Input<string>; url: pulumi.Input<string>; workspaceRegion: string } | { url: string };
    /** The cluster's IAM OIDC provider and issuer, which the IRSA role trusts. */
    oidcProviderArn: pulumi.Input<string>;
    issuerUrl: pulumi.Input<string>;
    tags?: Record<string, string>;
    dependsOn?: pulumi.Resource[];
}

export class MetricsAgent extends pulumi.ComponentResource {
    /** The agent's IRSA role; undefined when it writes to a URL without SigV4. */
    public readonly roleArn?: pulumi.Output<string>;

    constructor(name: string, args: MetricsAgentArgs, opts?: pulumi.ComponentResourceOptions) {
        if (!("workspaceArn" in args.remoteWrite) && !/^https?:\/\//.test(args.remoteWrite.url)) {
            throw new Error(`MetricsAgent: remote-write URL ${JSON.stringify(args.remoteWrite.url)} is not http(s)`);
        }
        super("edgecdn:index:MetricsAgent", name, {}, opts);
        const o = { parent: this, provider: args.provider };
        const labels = { "app.kubernetes.io/name": "metrics-agent", "app.kubernetes.io/instance": name, "app.kubernetes.io/part-of": "edgecdn" };

        const ns = new k8s.core.v1.Namespace(`${name}-ns`, {
            metadata: { name: METRICS_AGENT_NAMESPACE, labels: { ...labels, "pod-security.kubernetes.io/enforce": "restricted" } },
        }, { ...o, dependsOn: args.dependsOn });
        const namespace = ns.metadata.name;

        const rw = args.remoteWrite;
        let annotations: Record<string, pulumi.Input<string>> | undefined;
        if ("workspaceArn" in rw) {
            const role = new aws.iam.Role(`${name}-irsa`, {
                description: `EdgeCache metrics agent in ${args.region} (service account ${METRICS_AGENT_NAMESPACE}/${METRICS_AGENT_SERVICE_ACCOUNT})`,
                assumeRolePolicy: pulumi.all([args.oidcProviderArn, args.issuerUrl]).apply(([arn, issuer]) =>
                    irsaTrustPolicy(arn, issuer, METRICS_AGENT_NAMESPACE, METRICS_AGENT_SERVICE_ACCOUNT)),
                tags: args.tags,
            }, { parent: this });
            new aws.iam.RolePolicy(`${name}-irsa`, {
                role: role.id,
                policy: pulumi.output(rw.workspaceArn).apply(metricsRemoteWritePolicy),
            }, { parent: this });
            this.roleArn = role.arn;
            annotations = { "eks.amazonaws.com/role-arn": role.arn };
        }

        const serviceAccount = new k8s.core.v1.ServiceAccount(`${name}-sa`, {
            metadata: { name: METRICS_AGENT_SERVICE_ACCOUNT, namespace, labels, annotations },
        }, o);

        // Pod discovery in the edge namespace only: a Role there, not a ClusterRole.
        const role = new k8s.rbac.v1.Role(`${name}-discovery`, {
            metadata: { namespace: args.edgeNamespace, labels },
            rules: [{ apiGroups: [""], resources: ["pods"], verbs: ["get", "list", "watch"] }],
        }, o);
        new k8s.rbac.v1.RoleBinding(`${name}-discovery`, {
            metadata: { namespace: args.edgeNamespace, labels },
            roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: role.metadata.name },
            subjects: [{ kind: "ServiceAccount", name: serviceAccount.metadata.name, namespace }],
        }, o);

        const config = new k8s.core.v1.ConfigMap(`${name}-config`, {
            // Auto-named: a changed config is a new ConfigMap, and the Deployment's reference to it restarts the agent.
            metadata: { namespace, labels },
            data: {
                "prometheus.yml": pulumi.all([args.edgeNamespace, rw.url]).apply(([edgeNamespace, url]) =>
                    metricsAgentConfig(args.region, edgeNamespace, { url, sigv4Region: "workspaceRegion" in rw ? rw.workspaceRegion : undefined })),
            },
        }, o);

        const probe = (path: string) => ({ httpGet: { path, port: "http" }, periodSeconds: 10, timeoutSeconds: 2, failureThreshold: 3 });
        new k8s.apps.v1.Deployment(`${name}-deployment`, {
            metadata: { name: "metrics-agent", namespace, labels },
            spec: {
                replicas: 1,
                selector: { matchLabels: labels },
                // One writer at a time: two agents would send every sample twice.
                strategy: { type: "Recreate" },
                template: {
                    metadata: { labels },
                    spec: {
                        serviceAccountName: serviceAccount.metadata.name,
                        securityContext: {
                            runAsNonRoot: true, runAsUser: AGENT_UID, runAsGroup: AGENT_UID, fsGroup: AGENT_UID,
                            seccompProfile: { type: "RuntimeDefault" },
                        },
                        containers: [{
                            name: "prometheus",
                            image: METRICS_AGENT_IMAGE,
                            args: [
                                "--agent",
                                "--config.file=/etc/prometheus/prometheus.yml",
                                "--storage.agent.path=/data",
                                "--web.listen-address=:9090",
                            ],
                            ports: [{ name: "http", containerPort: 9090, protocol: "TCP" }],
                            env: [{ name: "AWS_REGION", value: args.region }],
                            resources: { requests: { cpu: "100m", memory: "256Mi" }, limits: { memory: "512Mi" } },
                            readinessProbe: probe("/-/ready"),
                            livenessProbe: probe("/-/healthy"),
                            securityContext: {
                                runAsNonRoot: true, runAsUser: AGENT_UID, runAsGroup: AGENT_UID, readOnlyRootFilesystem: true,
                                allowPrivilegeEscalation: false, privileged: false, capabilities: { drop: ["ALL"] },
                                seccompProfile: { type: "RuntimeDefault" },
                            },
                            volumeMounts: [
                                { name: "config", mountPath: "/etc/prometheus", readOnly: true },
                                { name: "data", mountPath: "/data" },
                            ],
                        }],
                        volumes: [
                            { name: "config", configMap: { name: config.metadata.name } },
                            // The write-ahead log of samples not yet sent: lost with the pod, as an agent's may be.
                            { name: "data", emptyDir: { sizeLimit: "2Gi" } },
                        ],
                    },
                },
            },
        }, o);

        this.registerOutputs({ roleArn: this.roleArn });
    }
}

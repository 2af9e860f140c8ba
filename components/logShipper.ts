// One cluster's log shipper: Fluent Bit on every node, reading the edge containers' stdout from the node's log files,
// keeping the access-log lines and writing them to the log bucket under region=<region>/date=<day>/ (observability
// files: components/observabilityFiles.ts), signed as its own IRSA role that may only put objects there.

import * as aws from "@pulumi/aws";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { irsaTrustPolicy, logShipperPolicy } from "./iam";
import { ACCESS_LOG_PREFIX, fluentBitConfig } from "./observabilityFiles";

export const LOG_SHIPPER_IMAGE = "cr.fluentbit.io/fluent/fluent-bit:4.0.8";
export const LOG_SHIPPER_NAMESPACE = "edgecdn-logs";
export const LOG_SHIPPER_SERVICE_ACCOUNT = "log-shipper";
/** On the node: the tail position database and the upload buffer, kept across the shipper's restarts. */
const STATE_DIR = "/var/lib/edgecdn-log-shipper";

export interface LogShipperArgs {
    region: string;
    provider: k8s.Provider;
    /** The edge nodes' namespace, whose edgecache containers' logs are read. */
    edgeNamespace: pulumi.Input<string>;
    bucket: pulumi.Input<string>;
    bucketArn: pulumi.Input<string>;
    bucketRegion: string;
    oidcProviderArn: pulumi.Input<string>;
    issuerUrl: pulumi.Input<string>;
    tags?: Record<string, string>;
    dependsOn?: pulumi.Resource[];
}

export class LogShipper extends pulumi.ComponentResource {
    public readonly roleArn: pulumi.Output<string>;
    /** The key prefix this region's logs go under (and the only one its role may write). */
    public readonly prefix: string;

    constructor(name: string, args: LogShipperArgs, opts?: pulumi.ComponentResourceOptions) {
        super("edgecdn:index:LogShipper", name, {}, opts);
        const o = { parent: this, provider: args.provider };
        const labels = { "app.kubernetes.io/name": "log-shipper", "app.kubernetes.io/instance": name, "app.kubernetes.io/part-of": "edgecdn" };
        this.prefix = `${ACCESS_LOG_PREFIX}region=${args.region}/`;

        const ns = new k8s.core.v1.Namespace(`${name}-ns`, {
            metadata: {
                name: LOG_SHIPPER_NAMESPACE,
                labels: {
                    ...labels,
                    // Reading the node's log files takes hostPath volumes, which the baseline and restricted standards
                    // refuse; nothing but the shipper runs here, and it reads them read-only, without capabilities.
                    "pod-security.kubernetes.io/enforce": "privileged",
                    "pod-security.kubernetes.io/warn": "restricted",
                },
            },
        }, { ...o, dependsOn: args.dependsOn });
        const namespace = ns.metadata.name;

        const role = new aws.iam.Role(`${name}-irsa`, {
            description: `EdgeCache log shipper in ${args.region} (service account ${LOG_SHIPPER_NAMESPACE}/${LOG_SHIPPER_SERVICE_ACCOUNT})`,
            assumeRolePolicy: pulumi.all([args.oidcProviderArn, args.issuerUrl]).apply(([arn, issuer]) =>
                irsaTrustPolicy(arn, issuer, LOG_SHIPPER_NAMESPACE, LOG_SHIPPER_SERVICE_ACCOUNT)),
            tags: args.tags,
        }, { parent: this });
        new aws.iam.RolePolicy(`${name}-irsa`, {
            role: role.id,
            policy: pulumi.output(args.bucketArn).apply((arn) => logShipperPolicy(arn, this.prefix)),
        }, { parent: this });
        this.roleArn = role.arn;

        const serviceAccount = new k8s.core.v1.ServiceAccount(`${name}-sa`, {
            metadata: { name: LOG_SHIPPER_SERVICE_ACCOUNT, namespace, labels, annotations: { "eks.amazonaws.com/role-arn": role.arn } },
        }, o);

        const files = pulumi.all([args.edgeNamespace, args.bucket]).apply(([edgeNamespace, bucket]) => fluentBitConfig({
            region: args.region, namespace: edgeNamespace, bucket, bucketRegion: args.bucketRegion, stateDir: STATE_DIR,
        }));
        const config = new k8s.core.v1.ConfigMap(`${name}-config`, {
            metadata: { namespace, labels },
            data: { "fluent-bit.conf": files.main, "parsers.conf": files.parsers },
        }, o);

        new k8s.apps.v1.DaemonSet(`${name}-daemonset`, {
            metadata: { name: "log-shipper", namespace, labels },
            spec: {
                selector: { matchLabels: labels },
                updateStrategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 1 } },
                template: {
                    metadata: { labels },
                    spec: {
                        serviceAccountName: serviceAccount.metadata.name,
                        // It never calls the Kubernetes API (the pod's name is in the log file's); IRSA mounts its own token.
                        automountServiceAccountToken: false,
                        // Wherever an edge pod may run, whatever the node's taints.
                        tolerations: [{ operator: "Exists" }],
                        priorityClassName: "system-node-critical",
                        containers: [{
                            name: "fluent-bit",
                            image: LOG_SHIPPER_IMAGE,
                            args: ["--config=/fluent-bit/etc/edgecdn/fluent-bit.conf"],
                            ports: [{ name: "http", containerPort: 2020, protocol: "TCP" }],
                            env: [{ name: "AWS_REGION", value: args.bucketRegion }],
                            resources: { requests: { cpu: "50m", memory: "64Mi" }, limits: { memory: "256Mi" } },
                            livenessProbe: { httpGet: { path: "/api/v1/health", port: "http" }, periodSeconds: 30, timeoutSeconds: 2 },
                            securityContext: {
                                // The node's log files belong to root (0640); root without any capability reads them.
                                runAsUser: 0, runAsGroup: 0, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false,
                                privileged: false, capabilities: { drop: ["ALL"] }, seccompProfile: { type: "RuntimeDefault" },
                            },
                            volumeMounts: [
                                { name: "config", mountPath: "/fluent-bit/etc/edgecdn", readOnly: true },
                                { name: "varlog", mountPath: "/var/log", readOnly: true },
                                { name: "state", mountPath: STATE_DIR },
                            ],
                        }],
                        volumes: [
                            { name: "config", configMap: { name: config.metadata.name } },
                            { name: "varlog", hostPath: { path: "/var/log", type: "Directory" } },
                            { name: "state", hostPath: { path: STATE_DIR, type: "DirectoryOrCreate" } },
                        ],
                    },
                },
            },
        }, o);

        this.registerOutputs({ roleArn: this.roleArn });
    }
}

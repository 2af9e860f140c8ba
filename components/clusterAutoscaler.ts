// The Kubernetes Cluster Autoscaler for an EKS cluster the stack creates: the HorizontalPodAutoscaler adds edge pods,
// and this adds nodes when pods do not fit (and removes idle ones), within the node group's min and max. It is the
// official `cluster-autoscaler` Helm chart, with an IRSA role allowed to resize only this cluster's Auto Scaling groups.

import * as aws from "@pulumi/aws";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { DEFAULT_CLUSTER_AUTOSCALER_CHART_VERSION } from "./config";
import { clusterAutoscalerPolicy, irsaTrustPolicy } from "./iam";

/** Where the chart lives (https://github.com/kubernetes/autoscaler/tree/master/charts/cluster-autoscaler). */
export const CLUSTER_AUTOSCALER_CHART_REPO = "https://kubernetes.github.io/autoscaler";
export const CLUSTER_AUTOSCALER_CHART = "cluster-autoscaler";
export const CLUSTER_AUTOSCALER_NAMESPACE = "kube-system";
export const CLUSTER_AUTOSCALER_SERVICE_ACCOUNT = "cluster-autoscaler";

export interface ClusterAutoscalerArgs {
    region: string;
    /** The EKS cluster's name: auto-discovery and the IAM policy match its node groups by it. */
    clusterName: pulumi.Input<string>;
    /** Provider for the cluster (the chart is installed into its kube-system namespace). */
    provider: k8s.Provider;
    /** The cluster's IAM OIDC provider and issuer URL, which the IRSA role trusts. */
    oidcProviderArn: pulumi.Input<string>;
    issuerUrl: pulumi.Input<string>;
    accountId: pulumi.Input<string>;
    /** The node group's bounds; the autoscaler only makes sense when min < max. */
    nodes: { min: number; max: number };
    /** Helm chart version of `cluster-autoscaler`. */
    chartVersion: string;
    /** Image tag, e.g. v1.33.0: the autoscaler's minor version should be the cluster's Kubernetes minor version. */
    imageTag: string;
    tags?: Record<string, string>;
}

export class ClusterAutoscaler extends pulumi.ComponentResource {
    /** ARN of the IAM role the autoscaler's service account assumes. */
    public readonly roleArn: pulumi.Output<string>;
    public readonly releaseName: pulumi.Output<string>;

    constructor(name: string, args: ClusterAutoscalerArgs, opts?: pulumi.ComponentResourceOptions) {
        if (!(args.nodes.min < args.nodes.max)) {
            throw new Error(`ClusterAutoscaler: nodes.min (${args.nodes.min}) must be less than nodes.max (${args.nodes.max}); there is nothing to scale`);
        }
        if (!/^\d+\.\d+\.\d+$/.test(args.chartVersion)) {
            throw new Error(`ClusterAutoscaler: chartVersion ${JSON.stringify(args.chartVersion)} is not a chart version such as ${DEFAULT_CLUSTER_AUTOSCALER_CHART_VERSION}`);
        }
        if (!/^v1\.\d+\.\d+$/.test(args.imageTag)) {
            throw new Error(`ClusterAutoscaler: imageTag ${JSON.stringify(args.imageTag)} is not a cluster-autoscaler release tag such as v1.33.0`);
        }
        super("edgecdn:index:ClusterAutoscaler", name, {}, opts);

        const role = new aws.iam.Role(`${name}-irsa`, {
            description: `Kubernetes Cluster Autoscaler in ${args.region} (service account ${CLUSTER_AUTOSCALER_NAMESPACE}/${CLUSTER_AUTOSCALER_SERVICE_ACCOUNT})`,
            assumeRolePolicy: pulumi.all([args.oidcProviderArn, args.issuerUrl]).apply(([arn, issuer]) =>
                irsaTrustPolicy(arn, issuer, CLUSTER_AUTOSCALER_NAMESPACE, CLUSTER_AUTOSCALER_SERVICE_ACCOUNT)),
            tags: args.tags,
        }, { parent: this });
        const policy = new aws.iam.RolePolicy(`${name}-irsa`, {
            role: role.id,
            policy: pulumi.all([args.clusterName, args.accountId]).apply(([cluster, account]) =>
                clusterAutoscalerPolicy(cluster, args.region, account)),
        }, { parent: this });

        const release = new k8s.helm.v3.Release(`${name}-chart`, {
            name: "cluster-autoscaler",
            chart: CLUSTER_AUTOSCALER_CHART,
            version: args.chartVersion,
            repositoryOpts: { repo: CLUSTER_AUTOSCALER_CHART_REPO },
            namespace: CLUSTER_AUTOSCALER_NAMESPACE,
            // A failed install or upgrade is rolled back instead of leaving a half-configured autoscaler.
            atomic: true,
            values: {
                cloudProvider: "aws",
                awsRegion: args.region,
                autoDiscovery: { clusterName: args.clusterName },
                fullnameOverride: "cluster-autoscaler",
                image: { tag: args.imageTag },
                rbac: {
                    serviceAccount: {
                        create: true,
                        name: CLUSTER_AUTOSCALER_SERVICE_ACCOUNT,
                        annotations: { "eks.amazonaws.com/role-arn": role.arn },
                    },
                },
                extraArgs: {
                    // The node group spans the AZs; keep them even so the edge pods' zone spread can be met.
                    "balance-similar-node-groups": true,
                    expander: "least-waste",
                    // The edge pods' emptyDir cache is disposable (the PDB limits how many go at once); without this
                    // no node running an edge pod could ever be scaled down.
                    "skip-nodes-with-local-storage": false,
                    "skip-nodes-with-system-pods": false,
                },
                priorityClassName: "system-cluster-critical",
                resources: { requests: { cpu: "100m", memory: "300Mi" }, limits: { memory: "600Mi" } },
                securityContext: { runAsNonRoot: true, runAsUser: 65534, runAsGroup: 65534, seccompProfile: { type: "RuntimeDefault" } },
                containerSecurityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] } },
            },
        }, { parent: this, provider: args.provider, dependsOn: [policy] });

        this.roleArn = role.arn;
        this.releaseName = release.name;
        this.registerOutputs({ roleArn: this.roleArn, releaseName: this.releaseName });
    }
}

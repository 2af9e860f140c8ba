// The Kubernetes Cluster Autoscaler for an EKS cluster the stack creates: the HorizontalPodAutoscaler adds edge pods,
// and this adds nodes when pods do not fit (and removes idle ones), within the node group's min and max. It is the
// official `cluster-autoscaler` Helm chart, with an IRSA role allowed to resize only this cluster's Auto Scaling groups.

import * as aws from "@pulumi/aws";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { DEFAULT_CLUSTER_AUTOSCALER_CHART_VERSION } from "./config";
import { irsaTrustPolicy } from "./edgeRegion";

/** Where the chart lives (https://github.com/kubernetes/autoscaler/tree/master/charts/cluster-autoscaler). */
export const CLUSTER_AUTOSCALER_CHART_REPO = "https://kubernetes.github.io/autoscaler";
export const CLUSTER_AUTOSCALER_CHART = "cluster-autoscaler";
export const CLUSTER_AUTOSCALER_NAMESPACE = "kube-system";
export const CLUSTER_AUTOSCALER_SERVICE_ACCOUNT = "cluster-autoscaler";

/** The Auto Scaling group tags auto-discovery looks for (EKS puts both on a managed node group's group). */
export function autoDiscoveryTags(clusterName: string): Record<string, string> {
    return {
        "k8s.io/cluster-autoscaler/enabled": "true",
        [`k8s.io/cluster-autoscaler/${clusterName}`]: "owned",
    };
}

/**
 * The autoscaler's permissions, after the least-privilege policy in the EKS best-practices guide
 * (aws.github.io/aws-eks-best-practices/cluster-autoscaling): it may change the size of, or terminate instances in,
 * only Auto Scaling groups in this account and region that carry this cluster's auto-discovery tags; it may describe
 * node groups of this cluster only; the Describe* calls it needs to find groups and instance types do not support
 * resource-level permissions, so they stay on "*".
 */
export function clusterAutoscalerPolicy(clusterName: string, region: string, accountId: string): string {
    const tagConditions = Object.fromEntries(Object.entries(autoDiscoveryTags(clusterName))
        .map(([k, v]) => [`aws:ResourceTag/${k}`, v]));
    return JSON.stringify({
        Version: "2012-10-17",
        Statement: [
            {
                Sid: "ResizeThisClustersNodeGroups",
                Effect: "Allow",
                Action: ["autoscaling:SetDesiredCapacity", "autoscaling:TerminateInstanceInAutoScalingGroup"],
                Resource: `arn:aws:autoscaling:${region}:${accountId}:autoScalingGroup:*:autoScalingGroupName/*`,
                Condition: { StringEquals: tagConditions },
            },
            {
                Sid: "DescribeThisClustersNodeGroups",
                Effect: "Allow",
                Action: ["eks:DescribeNodegroup"],
                Resource: `arn:aws:eks:${region}:${accountId}:nodegroup/${clusterName}/*`,
            },
            {
                Sid: "DiscoverGroupsAndInstanceTypes",
                Effect: "Allow",
                Action: [
                    "autoscaling:DescribeAutoScalingGroups",
                    "autoscaling:DescribeAutoScalingInstances",
                    "autoscaling:DescribeLaunchConfigurations",
                    "autoscaling:DescribeScalingActivities",
                    "autoscaling:DescribeTags",
                    "ec2:DescribeImages",
                    "ec2:DescribeInstanceTypes",
                    "ec2:DescribeLaunchTemplateVersions",
                    "ec2:GetInstanceTypesFromInstanceRequirements",
                ],
                Resource: "*",
            },
        ],
    });
}

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

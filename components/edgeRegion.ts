// One edge region's Kubernetes: a new EKS cluster (its VPC from regionNetwork.ts, the cluster and node groups from
// eksCluster.ts, the AWS Load Balancer Controller, and the Cluster Autoscaler when the node groups can grow) or an
// existing cluster, a Kubernetes provider for it, and the IAM role the edge service account assumes, allowed only to
// read the origin buckets that region uses and to follow the fleet's invalidation log.

import * as aws from "@pulumi/aws";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { ClusterAutoscaler } from "./clusterAutoscaler";
import { ClusterConfig } from "./config";
import { createEksCluster, EksCluster } from "./eksCluster";
import { edgeInvalidationLogPolicy, edgeReadPolicy, irsaTrustPolicy } from "./iam";
import { eksKubeconfig, KubeconfigCredentials } from "./kubeconfig";
import { LoadBalancerController } from "./loadBalancerController";
import { createRegionNetwork } from "./regionNetwork";

export interface ReadableBucket {
    arn: pulumi.Input<string>;
    /** Objects under this prefix only. */
    keyPrefix?: string;
    /** SSE-KMS key of an existing bucket, and the bucket's region (S3 calls KMS there on the reader's behalf). */
    kms?: { keyArn: string; bucketRegion: string };
}

export interface EdgeRegionArgs {
    region: string;
    cluster: ClusterConfig;
    /** Namespace and service account of the edge nodes, which the IRSA role trusts (and nothing else). */
    namespace: string;
    serviceAccountName: string;
    /** The S3 buckets this region's edge nodes read. */
    readBuckets: ReadableBucket[];
    /** The control bucket whose invalidation log the nodes follow. No IRSA role without it and without readBuckets. */
    invalidationLog?: { bucketArn: pulumi.Input<string> };
    accountId: pulumi.Input<string>;
    /** Networks that may reach a created cluster's API endpoint from outside its VPC; empty: private only. */
    apiPublicAccessCidrs: string[];
    /** The credentials `aws eks get-token` uses in the kubeconfig: the stack's AWS profile and assumed role. */
    awsCredentials?: KubeconfigCredentials;
    tags?: Record<string, string>;
}

export class EdgeRegion extends pulumi.ComponentResource {
    public readonly provider: k8s.Provider;
    public readonly clusterName: pulumi.Output<string>;
    /** ARN of the edge service account's role; undefined when the nodes need no AWS access (no S3 origin, no log). */
    public readonly edgeRoleArn?: pulumi.Output<string>;
    public readonly kubeconfig: pulumi.Output<string>;
    /** The cluster's IAM OIDC provider and issuer URL: what every IRSA role in this region trusts. */
    public readonly oidcProviderArn: pulumi.Output<string>;
    public readonly issuerUrl: pulumi.Output<string>;
    /** Present when the stack created the cluster and its node group can grow (nodes.min < nodes.max). */
    public readonly clusterAutoscaler?: ClusterAutoscaler;
    /** Present when the stack created the cluster; an existing cluster must run its own (see docs/deploy.md). */
    public readonly loadBalancerController?: LoadBalancerController;
    /** What the region's workloads wait for: the controller whose webhook and load balancers they need. */
    public readonly workloadDependencies: pulumi.Resource[] = [];

    constructor(name: string, args: EdgeRegionArgs, opts?: pulumi.ComponentResourceOptions) {
        if ("create" in args.cluster && args.cluster.create.nodes.min > args.cluster.create.nodes.max) {
            throw new Error("EdgeRegion: nodes.min is greater than nodes.max");
        }
        if ("create" in args.cluster && args.cluster.create.clusterAutoscaler.enabled &&
            args.cluster.create.nodes.min === args.cluster.create.nodes.max) {
            throw new Error("EdgeRegion: clusterAutoscaler.enabled needs nodes.min < nodes.max");
        }
        super("edgecdn:index:EdgeRegion", name, {}, opts);

        let issuerUrl: pulumi.Output<string>;
        let oidcProviderArn: pulumi.Output<string>;
        let providerDependsOn: pulumi.Resource[] = [];
        let created: (EksCluster & { vpc: aws.ec2.Vpc }) | undefined;
        if ("create" in args.cluster) {
            const network = createRegionNetwork(this, name, args.region, args.cluster.create, args.tags);
            const eks = createEksCluster(this, name, args.region, args.cluster.create, network, args.apiPublicAccessCidrs, args.tags);
            created = { ...eks, vpc: network.vpc };
            this.clusterName = created.cluster.name;
            this.kubeconfig = pulumi.all([created.cluster.name, created.cluster.endpoint, created.cluster.certificateAuthority])
                .apply(([n, endpoint, ca]) => eksKubeconfig(n, args.region, endpoint, ca.data ?? "", args.awsCredentials));
            issuerUrl = created.issuerUrl;
            oidcProviderArn = created.oidcProvider.arn;
            // Workloads need nodes to become ready; waiting here keeps the Deployment's await from timing out.
            providerDependsOn = created.nodeGroups;
        } else {
            const existing = args.cluster.existing;
            if (existing.clusterName) {
                const found = aws.eks.getClusterOutput({ name: existing.clusterName, region: args.region }, { parent: this });
                this.clusterName = found.name;
                this.kubeconfig = pulumi.all([found.name, found.endpoint, found.certificateAuthorities])
                    .apply(([n, endpoint, cas]) => eksKubeconfig(n, args.region, endpoint, cas[0]?.data ?? "", args.awsCredentials));
                issuerUrl = existing.oidcIssuer
                    ? pulumi.output(existing.oidcIssuer)
                    : found.identities.apply((ids) => ids[0]?.oidcs[0]?.issuer ?? "");
            } else {
                this.clusterName = pulumi.output(`${name} (kubeconfig)`);
                this.kubeconfig = pulumi.secret(existing.kubeconfig ?? "");
                issuerUrl = pulumi.output(existing.oidcIssuer ?? "");
            }
            // The cluster's IAM OIDC provider must already exist (eksctl utils associate-iam-oidc-provider).
            oidcProviderArn = pulumi.interpolate`arn:aws:iam::${args.accountId}:oidc-provider/${issuerUrl.apply((u) => u.replace(/^https:\/\//, ""))}`;
        }

        this.oidcProviderArn = oidcProviderArn;
        this.issuerUrl = issuerUrl;
        this.provider = new k8s.Provider(`${name}-k8s`, {
            kubeconfig: this.kubeconfig,
            enableServerSideApply: true,
        }, { parent: this, dependsOn: providerDependsOn });

        if (created && "create" in args.cluster && args.cluster.create.clusterAutoscaler.enabled) {
            const cfg = args.cluster.create;
            this.clusterAutoscaler = new ClusterAutoscaler(`${name}-cluster-autoscaler`, {
                region: args.region,
                clusterName: created.cluster.name,
                provider: this.provider,
                oidcProviderArn: created.oidcProvider.arn,
                issuerUrl: created.issuerUrl,
                accountId: args.accountId,
                nodes: { min: cfg.nodes.min, max: cfg.nodes.max },
                chartVersion: cfg.clusterAutoscaler.chartVersion,
                imageTag: cfg.clusterAutoscaler.imageTag,
                tags: args.tags,
            }, { parent: this, dependsOn: created.nodeGroups });
        }
        if (created) {
            this.loadBalancerController = new LoadBalancerController(`${name}-lb-controller`, {
                region: args.region,
                clusterName: created.cluster.name,
                vpcId: created.vpc.id,
                provider: this.provider,
                oidcProviderArn: created.oidcProvider.arn,
                issuerUrl: created.issuerUrl,
                tags: args.tags,
            }, { parent: this, dependsOn: created.nodeGroups });
            this.workloadDependencies.push(this.loadBalancerController.release);
        }

        if (args.readBuckets.length > 0 || args.invalidationLog) {
            const role = new aws.iam.Role(`${name}-edge`, {
                description: `EdgeCache nodes in ${args.region} (service account ${args.namespace}/${args.serviceAccountName})`,
                assumeRolePolicy: pulumi.all([oidcProviderArn, issuerUrl]).apply(([arn, issuer]) =>
                    irsaTrustPolicy(arn, issuer, args.namespace, args.serviceAccountName)),
                tags: args.tags,
            }, { parent: this });
            if (args.readBuckets.length > 0) {
                new aws.iam.RolePolicy(`${name}-edge-read-origins`, {
                    role: role.id,
                    policy: pulumi.all(args.readBuckets.map((b) => pulumi.output(b.arn))).apply((arns) =>
                        edgeReadPolicy(arns.map((arn, i) => ({ arn, keyPrefix: args.readBuckets[i].keyPrefix, kms: args.readBuckets[i].kms })))),
                }, { parent: this });
            }
            if (args.invalidationLog) {
                // The nodes write acks and heartbeats under this region only: a node cannot ack for another region's.
                new aws.iam.RolePolicy(`${name}-edge-invalidation-log`, {
                    role: role.id,
                    policy: pulumi.output(args.invalidationLog.bucketArn).apply((arn) => edgeInvalidationLogPolicy(arn, args.region)),
                }, { parent: this });
            }
            this.edgeRoleArn = role.arn;
        }

        this.registerOutputs({ clusterName: this.clusterName, edgeRoleArn: this.edgeRoleArn });
    }
}


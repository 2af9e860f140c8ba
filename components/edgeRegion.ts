// One edge region's Kubernetes: a new EKS cluster (VPC, node group, OIDC provider for IRSA, and the Cluster Autoscaler
// when the node group can grow) or an existing cluster, a Kubernetes provider for it, and the IAM role the edge
// service account assumes, allowed only to read the origin buckets that region uses.

import * as aws from "@pulumi/aws";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { autoDiscoveryTags, ClusterAutoscaler } from "./clusterAutoscaler";
import { ClusterConfig, isGraviton, subnetCidr } from "./config";

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
    /** The S3 buckets this region's edge nodes read; no IRSA role when empty. */
    readBuckets: ReadableBucket[];
    accountId: pulumi.Input<string>;
    tags?: Record<string, string>;
}

/**
 * The IRSA role's permissions: s3:GetObject (which also serves HEAD, ranged and conditional reads) under each origin's
 * key prefix; s3:ListBucket on each bucket, limited to that prefix, because S3 answers a reader that may not list with
 * 403 for a missing key, which the node would have to treat as an origin failure rather than a 404; and kms:Decrypt
 * on an existing bucket's SSE-KMS key, only when S3 in that bucket's region makes the call.
 */
export function edgeReadPolicy(buckets: { arn: string; keyPrefix?: string; kms?: { keyArn: string; bucketRegion: string } }[]): string {
    const lists = buckets.map((b, i) => ({
        Sid: `ListOriginKeys${i}`,
        Effect: "Allow",
        Action: ["s3:ListBucket"],
        Resource: b.arn,
        ...(b.keyPrefix ? { Condition: { StringLike: { "s3:prefix": [`${b.keyPrefix}*`] } } } : {}),
    }));
    const keys = [...new Map(buckets.flatMap((b) => (b.kms ? [[b.kms.keyArn, b.kms] as const] : []))).values()];
    const decrypts = keys.map((k, i) => ({
        Sid: `DecryptOriginObjects${i}`,
        Effect: "Allow",
        Action: ["kms:Decrypt"],
        Resource: k.keyArn,
        Condition: { StringEquals: { "kms:ViaService": `s3.${k.bucketRegion}.amazonaws.com` } },
    }));
    return JSON.stringify({
        Version: "2012-10-17",
        Statement: [
            {
                Sid: "ReadOriginObjects",
                Effect: "Allow",
                Action: ["s3:GetObject"],
                Resource: buckets.map((b) => `${b.arn}/${b.keyPrefix ?? ""}*`),
            },
            ...lists,
            ...decrypts,
        ],
    });
}

/** Trust policy: only the given service account, through the cluster's OIDC provider, for STS. */
export function irsaTrustPolicy(oidcProviderArn: string, issuerUrl: string, namespace: string, serviceAccount: string): string {
    const issuer = issuerUrl.replace(/^https:\/\//, "");
    return JSON.stringify({
        Version: "2012-10-17",
        Statement: [{
            Effect: "Allow",
            Principal: { Federated: oidcProviderArn },
            Action: "sts:AssumeRoleWithWebIdentity",
            Condition: {
                StringEquals: {
                    [`${issuer}:sub`]: `system:serviceaccount:${namespace}:${serviceAccount}`,
                    [`${issuer}:aud`]: "sts.amazonaws.com",
                },
            },
        }],
    });
}

/** A kubeconfig that authenticates with `aws eks get-token` (short-lived tokens, nothing long-lived in state). */
export function eksKubeconfig(clusterName: string, region: string, endpoint: string, caData: string): string {
    return JSON.stringify({
        apiVersion: "v1",
        kind: "Config",
        clusters: [{ name: clusterName, cluster: { server: endpoint, "certificate-authority-data": caData } }],
        contexts: [{ name: clusterName, context: { cluster: clusterName, user: clusterName } }],
        "current-context": clusterName,
        users: [{
            name: clusterName,
            user: {
                exec: {
                    apiVersion: "client.authentication.k8s.io/v1beta1",
                    command: "aws",
                    args: ["eks", "get-token", "--cluster-name", clusterName, "--region", region, "--output", "json"],
                },
            },
        }],
    });
}

const ASSUME_ROLE = (service: string) => JSON.stringify({
    Version: "2012-10-17",
    Statement: [{ Effect: "Allow", Principal: { Service: service }, Action: "sts:AssumeRole" }],
});

export class EdgeRegion extends pulumi.ComponentResource {
    public readonly provider: k8s.Provider;
    public readonly clusterName: pulumi.Output<string>;
    /** ARN of the edge service account's role; undefined when the region reads no S3 bucket. */
    public readonly edgeRoleArn?: pulumi.Output<string>;
    public readonly kubeconfig: pulumi.Output<string>;
    /** Present when the stack created the cluster and its node group can grow (nodes.min < nodes.max). */
    public readonly clusterAutoscaler?: ClusterAutoscaler;

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
        let created: ReturnType<EdgeRegion["createCluster"]> | undefined;
        if ("create" in args.cluster) {
            created = this.createCluster(name, args.region, args.cluster.create, args.tags);
            this.clusterName = created.cluster.name;
            this.kubeconfig = pulumi.all([created.cluster.name, created.cluster.endpoint, created.cluster.certificateAuthority])
                .apply(([n, endpoint, ca]) => eksKubeconfig(n, args.region, endpoint, ca.data ?? ""));
            issuerUrl = created.issuerUrl;
            oidcProviderArn = created.oidcProvider.arn;
            // Workloads need nodes to become ready; waiting here keeps the Deployment's await from timing out.
            providerDependsOn = [created.nodeGroup];
        } else {
            const existing = args.cluster.existing;
            if (existing.clusterName) {
                const found = aws.eks.getClusterOutput({ name: existing.clusterName, region: args.region }, { parent: this });
                this.clusterName = found.name;
                this.kubeconfig = pulumi.all([found.name, found.endpoint, found.certificateAuthorities])
                    .apply(([n, endpoint, cas]) => eksKubeconfig(n, args.region, endpoint, cas[0]?.data ?? ""));
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
            }, { parent: this, dependsOn: [created.nodeGroup] });
        }

        if (args.readBuckets.length > 0) {
            const role = new aws.iam.Role(`${name}-edge`, {
                description: `EdgeCache nodes in ${args.region} (service account ${args.namespace}/${args.serviceAccountName})`,
                assumeRolePolicy: pulumi.all([oidcProviderArn, issuerUrl]).apply(([arn, issuer]) =>
                    irsaTrustPolicy(arn, issuer, args.namespace, args.serviceAccountName)),
                tags: args.tags,
            }, { parent: this });
            new aws.iam.RolePolicy(`${name}-edge-read-origins`, {
                role: role.id,
                policy: pulumi.all(args.readBuckets.map((b) => pulumi.output(b.arn))).apply((arns) =>
                    edgeReadPolicy(arns.map((arn, i) => ({ arn, keyPrefix: args.readBuckets[i].keyPrefix, kms: args.readBuckets[i].kms })))),
            }, { parent: this });
            this.edgeRoleArn = role.arn;
        }

        this.registerOutputs({ clusterName: this.clusterName, edgeRoleArn: this.edgeRoleArn });
    }

    private createCluster(name: string, region: string, cfg: Extract<ClusterConfig, { create: unknown }>["create"],
        tags: Record<string, string> | undefined) {
        const parent = { parent: this };
        // The cluster's name is fixed (not auto-named) because the in-tree load-balancer controller finds its subnets
        // by the kubernetes.io/cluster/<name> tag.
        const clusterName = name.slice(0, 100);
        const zones = aws.getAvailabilityZonesOutput({ region, state: "available" }, parent);

        const vpc = new aws.ec2.Vpc(`${name}-vpc`, {
            region,
            cidrBlock: cfg.vpcCidr,
            enableDnsHostnames: true,
            enableDnsSupport: true,
            tags: { ...tags, Name: `${name}-vpc` },
        }, parent);
        const igw = new aws.ec2.InternetGateway(`${name}-igw`, { region, vpcId: vpc.id, tags: { ...tags, Name: name } }, parent);
        const routes = new aws.ec2.RouteTable(`${name}-public`, {
            region,
            vpcId: vpc.id,
            routes: [{ cidrBlock: "0.0.0.0/0", gatewayId: igw.id }],
            tags: { ...tags, Name: `${name}-public` },
        }, parent);
        // Public subnets only: edge nodes serve the internet anyway, and no NAT gateway ($32+/month per AZ) is needed.
        const subnets = Array.from({ length: cfg.availabilityZones }, (_, i) => {
            const subnet = new aws.ec2.Subnet(`${name}-public-${i}`, {
                region,
                vpcId: vpc.id,
                cidrBlock: subnetCidr(cfg.vpcCidr, 4, i),
                availabilityZone: zones.names.apply((n) => {
                    if (n.length <= i) { throw new Error(`${region} has ${n.length} availability zones; the cluster asks for ${cfg.availabilityZones}`); }
                    return n[i];
                }),
                mapPublicIpOnLaunch: true,
                tags: {
                    ...tags,
                    Name: `${name}-public-${i}`,
                    "kubernetes.io/role/elb": "1",
                    [`kubernetes.io/cluster/${clusterName}`]: "shared",
                },
            }, parent);
            new aws.ec2.RouteTableAssociation(`${name}-public-${i}`, { region, subnetId: subnet.id, routeTableId: routes.id }, parent);
            return subnet;
        });
        // S3 traffic (origin reads) stays on the AWS network and costs no internet transfer.
        new aws.ec2.VpcEndpoint(`${name}-s3`, {
            region,
            vpcId: vpc.id,
            serviceName: `com.amazonaws.${region}.s3`,
            vpcEndpointType: "Gateway",
            routeTableIds: [routes.id],
            tags: { ...tags, Name: `${name}-s3` },
        }, parent);

        const clusterRole = new aws.iam.Role(`${name}-cluster`, { assumeRolePolicy: ASSUME_ROLE("eks.amazonaws.com"), tags }, parent);
        const clusterPolicy = new aws.iam.RolePolicyAttachment(`${name}-cluster`, {
            role: clusterRole.name, policyArn: "arn:aws:iam::aws:policy/AmazonEKSClusterPolicy",
        }, parent);
        const cluster = new aws.eks.Cluster(`${name}-cluster`, {
            region,
            name: clusterName,
            version: cfg.kubernetesVersion,
            roleArn: clusterRole.arn,
            vpcConfig: { subnetIds: subnets.map((s) => s.id), endpointPublicAccess: true, endpointPrivateAccess: true },
            // Access entries only (no aws-auth ConfigMap); whoever runs `pulumi up` becomes cluster admin.
            accessConfig: { authenticationMode: "API", bootstrapClusterCreatorAdminPermissions: true },
            tags,
        }, { parent: this, dependsOn: [clusterPolicy] });

        const nodeRole = new aws.iam.Role(`${name}-nodes`, { assumeRolePolicy: ASSUME_ROLE("ec2.amazonaws.com"), tags }, parent);
        const nodePolicies = ["AmazonEKSWorkerNodePolicy", "AmazonEKS_CNI_Policy", "AmazonEC2ContainerRegistryReadOnly"].map((p) =>
            new aws.iam.RolePolicyAttachment(`${name}-nodes-${p}`, { role: nodeRole.name, policyArn: `arn:aws:iam::aws:policy/${p}` }, parent));
        const autoscaled = cfg.clusterAutoscaler.enabled;
        const nodeGroup = new aws.eks.NodeGroup(`${name}-nodes`, {
            region,
            clusterName: cluster.name,
            nodeRoleArn: nodeRole.arn,
            subnetIds: subnets.map((s) => s.id),
            instanceTypes: cfg.instanceTypes,
            amiType: isGraviton(cfg.instanceTypes[0]) ? "AL2023_ARM_64_STANDARD" : "AL2023_x86_64_STANDARD",
            diskSize: cfg.diskSizeGb,
            scalingConfig: { minSize: cfg.nodes.min, desiredSize: cfg.nodes.desired, maxSize: cfg.nodes.max },
            updateConfig: { maxUnavailable: 1 },
            // EKS itself puts the auto-discovery tags on the managed node group's Auto Scaling group (which the
            // autoscaler's IAM policy is scoped by); on the node group they record that it is autoscaled.
            tags: autoscaled ? { ...tags, ...autoDiscoveryTags(clusterName) } : tags,
        }, {
            parent: this,
            dependsOn: nodePolicies,
            // The Cluster Autoscaler owns the desired size; a later `pulumi up` must not reset it to the config's.
            ignoreChanges: autoscaled ? ["scalingConfig.desiredSize"] : undefined,
        });

        const issuerUrl = cluster.identities.apply((ids) => ids[0]?.oidcs?.[0]?.issuer ?? "");
        const oidcProvider = new aws.iam.OpenIdConnectProvider(`${name}-oidc`, {
            url: issuerUrl,
            clientIdLists: ["sts.amazonaws.com"],
            tags,
        }, parent);
        // The HorizontalPodAutoscaler needs the resource metrics API.
        new aws.eks.Addon(`${name}-metrics-server`, {
            region,
            clusterName: cluster.name,
            addonName: "metrics-server",
            resolveConflictsOnCreate: "OVERWRITE",
            tags,
        }, { parent: this, dependsOn: [nodeGroup] });

        return { cluster, nodeGroup, oidcProvider, issuerUrl };
    }
}

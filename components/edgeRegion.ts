// One edge region's Kubernetes: a new EKS cluster (VPC, node group, OIDC provider for IRSA, and the Cluster Autoscaler
// when the node group can grow) or an existing cluster, a Kubernetes provider for it, and the IAM role the edge
// service account assumes, allowed only to read the origin buckets that region uses.

import * as aws from "@pulumi/aws";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { ClusterAutoscaler } from "./clusterAutoscaler";
import { ClusterConfig, isGraviton, subnetCidr } from "./config";
import { autoDiscoveryTags, edgeReadPolicy, irsaTrustPolicy, serviceTrustPolicy } from "./iam";
import { LoadBalancerController } from "./loadBalancerController";

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
    /** Networks that may reach a created cluster's API endpoint from outside its VPC; empty: private only. */
    apiPublicAccessCidrs: string[];
    /** The credentials `aws eks get-token` uses in the kubeconfig: the stack's AWS profile and assumed role. */
    awsCredentials?: KubeconfigCredentials;
    tags?: Record<string, string>;
}

export interface KubeconfigCredentials {
    /** A named AWS CLI profile (aws:profile), passed to get-token as AWS_PROFILE. */
    profile?: string;
    /** A role to assume (the last of aws:assumeRoles), passed to get-token as --role-arn. */
    roleArn?: string;
}

/**
 * A kubeconfig that authenticates with `aws eks get-token` (short-lived tokens, nothing long-lived in state), as the
 * same identity the stack's AWS provider uses: its profile and assumed role, as pulumi-eks passes them. Without them
 * get-token would use whatever default credentials the shell has, and Kubernetes calls could run as someone else.
 */
export function eksKubeconfig(clusterName: string, region: string, endpoint: string, caData: string,
    credentials: KubeconfigCredentials = {}): string {
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
                    args: [
                        "eks", "get-token", "--cluster-name", clusterName, "--region", region, "--output", "json",
                        ...(credentials.roleArn ? ["--role-arn", credentials.roleArn] : []),
                    ],
                    ...(credentials.profile ? { env: [{ name: "AWS_PROFILE", value: credentials.profile }] } : {}),
                },
            },
        }],
    });
}

export class EdgeRegion extends pulumi.ComponentResource {
    public readonly provider: k8s.Provider;
    public readonly clusterName: pulumi.Output<string>;
    /** ARN of the edge service account's role; undefined when the region reads no S3 bucket. */
    public readonly edgeRoleArn?: pulumi.Output<string>;
    public readonly kubeconfig: pulumi.Output<string>;
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
        let created: ReturnType<EdgeRegion["createCluster"]> | undefined;
        if ("create" in args.cluster) {
            created = this.createCluster(name, args.region, args.cluster.create, args.apiPublicAccessCidrs, args.tags);
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
        apiPublicAccessCidrs: string[], tags: Record<string, string> | undefined) {
        const parent = { parent: this };
        // The cluster's name is fixed, so the commands in docs/deploy.md and the autoscaler's tags can name it; a
        // replacement therefore deletes the old cluster first (the other regions take its traffic meanwhile).
        const clusterName = name;
        const zones = aws.getAvailabilityZonesOutput({ region, state: "available" }, parent);
        const zone = (i: number) => zones.names.apply((n) => {
            if (n.length <= i) { throw new Error(`${region} has ${n.length} availability zones; the cluster asks for ${cfg.availabilityZones}`); }
            return n[i];
        });
        const azs = Array.from({ length: cfg.availabilityZones }, (_, i) => i);

        const vpc = new aws.ec2.Vpc(`${name}-vpc`, {
            region,
            cidrBlock: cfg.vpcCidr,
            enableDnsHostnames: true,
            enableDnsSupport: true,
            tags: { ...tags, Name: `${name}-vpc` },
        }, parent);
        const igw = new aws.ec2.InternetGateway(`${name}-igw`, { region, vpcId: vpc.id, tags: { ...tags, Name: name } }, parent);
        const publicRoutes = new aws.ec2.RouteTable(`${name}-public`, {
            region,
            vpcId: vpc.id,
            routes: [{ cidrBlock: "0.0.0.0/0", gatewayId: igw.id }],
            tags: { ...tags, Name: `${name}-public` },
        }, parent);
        // Public subnets hold only the NLBs and the NAT gateways; they keep the first sixteenths of the VPC (as before
        // nodes moved out of them), and the private subnets, where nodes and pods get their addresses, the second half.
        const publicSubnets = azs.map((i) => {
            const subnet = new aws.ec2.Subnet(`${name}-public-${i}`, {
                region,
                vpcId: vpc.id,
                cidrBlock: subnetCidr(cfg.vpcCidr, 4, i),
                availabilityZone: zone(i),
                mapPublicIpOnLaunch: false,
                // Where the AWS Load Balancer Controller puts internet-facing load balancers.
                tags: { ...tags, Name: `${name}-public-${i}`, "kubernetes.io/role/elb": "1" },
            }, parent);
            new aws.ec2.RouteTableAssociation(`${name}-public-${i}`, { region, subnetId: subnet.id, routeTableId: publicRoutes.id }, parent);
            return subnet;
        });
        const natCount = cfg.natGateways === "perZone" ? cfg.availabilityZones : 1;
        const nats = Array.from({ length: natCount }, (_, i) => {
            const eip = new aws.ec2.Eip(`${name}-nat-${i}`, { region, domain: "vpc", tags: { ...tags, Name: `${name}-nat-${i}` } }, parent);
            return new aws.ec2.NatGateway(`${name}-nat-${i}`, {
                region,
                subnetId: publicSubnets[i].id,
                allocationId: eip.id,
                tags: { ...tags, Name: `${name}-nat-${i}` },
            }, { parent: this, dependsOn: [igw] });
        });
        const privateRoutes: aws.ec2.RouteTable[] = [];
        const privateSubnets = azs.map((i) => {
            const subnet = new aws.ec2.Subnet(`${name}-private-${i}`, {
                region,
                vpcId: vpc.id,
                cidrBlock: subnetCidr(cfg.vpcCidr, 4, 8 + i),
                availabilityZone: zone(i),
                mapPublicIpOnLaunch: false,
                tags: { ...tags, Name: `${name}-private-${i}`, "kubernetes.io/role/internal-elb": "1" },
            }, parent);
            // Egress (HTTP origins, AWS APIs) through the zone's own NAT gateway when there is one per zone.
            const routes = new aws.ec2.RouteTable(`${name}-private-${i}`, {
                region,
                vpcId: vpc.id,
                routes: [{ cidrBlock: "0.0.0.0/0", natGatewayId: nats[natCount === 1 ? 0 : i].id }],
                tags: { ...tags, Name: `${name}-private-${i}` },
            }, parent);
            new aws.ec2.RouteTableAssociation(`${name}-private-${i}`, { region, subnetId: subnet.id, routeTableId: routes.id }, parent);
            privateRoutes.push(routes);
            return subnet;
        });
        // S3 (origin reads, and the layers of ECR images, which ECR serves from S3) stays on the AWS network: no NAT
        // processing charge and no internet transfer.
        new aws.ec2.VpcEndpoint(`${name}-s3`, {
            region,
            vpcId: vpc.id,
            serviceName: `com.amazonaws.${region}.s3`,
            vpcEndpointType: "Gateway",
            routeTableIds: [publicRoutes.id, ...privateRoutes.map((r) => r.id)],
            tags: { ...tags, Name: `${name}-s3` },
        }, parent);
        if (cfg.interfaceEndpoints) {
            this.interfaceEndpoints(name, region, vpc, cfg.vpcCidr, privateSubnets, tags);
        }

        const clusterRole = new aws.iam.Role(`${name}-cluster`, { assumeRolePolicy: serviceTrustPolicy("eks.amazonaws.com"), tags }, parent);
        const clusterPolicy = new aws.iam.RolePolicyAttachment(`${name}-cluster`, {
            role: clusterRole.name, policyArn: "arn:aws:iam::aws:policy/AmazonEKSClusterPolicy",
        }, parent);
        const cluster = new aws.eks.Cluster(`${name}-cluster`, {
            region,
            name: clusterName,
            version: cfg.kubernetesVersion,
            roleArn: clusterRole.arn,
            vpcConfig: {
                subnetIds: [...privateSubnets, ...publicSubnets].map((s) => s.id),
                // Nodes reach the API through its private endpoint; from outside the VPC only the configured networks.
                endpointPrivateAccess: true,
                endpointPublicAccess: apiPublicAccessCidrs.length > 0,
                publicAccessCidrs: apiPublicAccessCidrs.length > 0 ? apiPublicAccessCidrs : undefined,
            },
            // Access entries only (no aws-auth ConfigMap); whoever runs `pulumi up` becomes cluster admin.
            accessConfig: { authenticationMode: "API", bootstrapClusterCreatorAdminPermissions: true },
            tags,
        }, { parent: this, dependsOn: [clusterPolicy], deleteBeforeReplace: true });

        const issuerUrl = cluster.identities.apply((ids) => ids[0]?.oidcs?.[0]?.issuer ?? "");
        const oidcProvider = new aws.iam.OpenIdConnectProvider(`${name}-oidc`, {
            url: issuerUrl,
            clientIdLists: ["sts.amazonaws.com"],
            tags,
        }, parent);

        // The VPC CNI (aws-node) calls EC2 for pod addresses with its own IRSA role, so the node role, which every pod
        // could use before IMDS was limited, needs no network permissions. Installed before the nodes, which wait for it.
        const cniRole = new aws.iam.Role(`${name}-vpc-cni`, {
            description: `Amazon VPC CNI in ${region} (service account kube-system/aws-node)`,
            assumeRolePolicy: pulumi.all([oidcProvider.arn, issuerUrl]).apply(([arn, issuer]) => irsaTrustPolicy(arn, issuer, "kube-system", "aws-node")),
            tags,
        }, parent);
        const cniPolicy = new aws.iam.RolePolicyAttachment(`${name}-vpc-cni`, {
            role: cniRole.name, policyArn: "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy",
        }, parent);
        const vpcCni = new aws.eks.Addon(`${name}-vpc-cni`, {
            region,
            clusterName: cluster.name,
            addonName: "vpc-cni",
            serviceAccountRoleArn: cniRole.arn,
            resolveConflictsOnCreate: "OVERWRITE",
            resolveConflictsOnUpdate: "OVERWRITE",
            tags,
        }, { parent: this, dependsOn: [cniPolicy] });

        const nodeRole = new aws.iam.Role(`${name}-nodes`, { assumeRolePolicy: serviceTrustPolicy("ec2.amazonaws.com"), tags }, parent);
        const nodePolicies = ["AmazonEKSWorkerNodePolicy", "AmazonEC2ContainerRegistryReadOnly"].map((p) =>
            new aws.iam.RolePolicyAttachment(`${name}-nodes-${p}`, { role: nodeRole.name, policyArn: `arn:aws:iam::aws:policy/${p}` }, parent));
        // IMDSv2 only, one hop: a pod's packets take a second hop, so no pod can read the node role's credentials.
        // Pods get AWS credentials from IRSA; the add-ons that used to read the region or VPC from IMDS get them as values.
        const launchTemplate = new aws.ec2.LaunchTemplate(`${name}-nodes`, {
            region,
            metadataOptions: { httpEndpoint: "enabled", httpTokens: "required", httpPutResponseHopLimit: 1 },
            blockDeviceMappings: [{
                deviceName: "/dev/xvda",
                ebs: { volumeSize: cfg.diskSizeGb, volumeType: "gp3", encrypted: "true", deleteOnTermination: "true" },
            }],
            updateDefaultVersion: true,
            tags,
        }, parent);
        const autoscaled = cfg.clusterAutoscaler.enabled;
        const amiType = isGraviton(cfg.instanceTypes[0]) ? "AL2023_ARM_64_STANDARD" : "AL2023_x86_64_STANDARD";
        const nodeGroup = (resourceName: string, subnets: aws.ec2.Subnet[], scaling: { min: number; desired: number; max: number }) =>
            new aws.eks.NodeGroup(resourceName, {
                region,
                clusterName: cluster.name,
                nodeRoleArn: nodeRole.arn,
                subnetIds: subnets.map((s) => s.id),
                instanceTypes: cfg.instanceTypes,
                amiType,
                launchTemplate: { id: launchTemplate.id, version: launchTemplate.latestVersion.apply(String) },
                scalingConfig: { minSize: scaling.min, desiredSize: scaling.desired, maxSize: scaling.max },
                updateConfig: { maxUnavailable: 1 },
                // EKS itself puts the auto-discovery tags on the managed node group's Auto Scaling group (which the
                // autoscaler's IAM policy is scoped by); on the node group they record that it is autoscaled.
                tags: autoscaled ? { ...tags, ...autoDiscoveryTags(clusterName) } : tags,
            }, {
                parent: this,
                dependsOn: [...nodePolicies, vpcCni],
                // The Cluster Autoscaler owns the desired size; a later `pulumi up` must not reset it to the config's.
                ignoreChanges: autoscaled ? ["scalingConfig.desiredSize"] : undefined,
            });
        // With the autoscaler, one group per zone: a pod that must go to a given zone (zone spread DoNotSchedule) can
        // only make that zone's group grow; one group across zones may add its node anywhere.
        const nodeGroups = autoscaled
            ? azs.map((i) => nodeGroup(`${name}-nodes-${i}`, [privateSubnets[i]], {
                min: splitAcross(cfg.nodes.min, cfg.availabilityZones)[i],
                desired: splitAcross(cfg.nodes.desired, cfg.availabilityZones)[i],
                max: splitAcross(cfg.nodes.max, cfg.availabilityZones)[i],
            }))
            : [nodeGroup(`${name}-nodes`, privateSubnets, cfg.nodes)];

        // The HorizontalPodAutoscaler needs the resource metrics API.
        new aws.eks.Addon(`${name}-metrics-server`, {
            region,
            clusterName: cluster.name,
            addonName: "metrics-server",
            resolveConflictsOnCreate: "OVERWRITE",
            tags,
        }, { parent: this, dependsOn: nodeGroups });

        return { cluster, nodeGroups, oidcProvider, issuerUrl, vpc };
    }

    /**
     * ECR (api, dkr) and STS interface endpoints, for a VPC whose nodes should pull images and exchange IRSA tokens
     * without NAT. Off by default: image layers already come through the S3 gateway endpoint, and the rest is small.
     */
    private interfaceEndpoints(name: string, region: string, vpc: aws.ec2.Vpc, vpcCidr: string, subnets: aws.ec2.Subnet[],
        tags: Record<string, string> | undefined): void {
        const sg = new aws.ec2.SecurityGroup(`${name}-endpoints`, {
            region,
            vpcId: vpc.id,
            description: "AWS service interface endpoints, reachable from the VPC",
            ingress: [{ protocol: "tcp", fromPort: 443, toPort: 443, cidrBlocks: [vpcCidr], description: "HTTPS from the VPC" }],
            tags: { ...tags, Name: `${name}-endpoints` },
        }, { parent: this });
        for (const service of ["ecr.api", "ecr.dkr", "sts"]) {
            new aws.ec2.VpcEndpoint(`${name}-${service.replace(".", "-")}`, {
                region,
                vpcId: vpc.id,
                serviceName: `com.amazonaws.${region}.${service}`,
                vpcEndpointType: "Interface",
                subnetIds: subnets.map((s) => s.id),
                securityGroupIds: [sg.id],
                privateDnsEnabled: true,
                tags: { ...tags, Name: `${name}-${service}` },
            }, { parent: this });
        }
    }
}

/** `total` spread over `parts` as evenly as possible, the first parts taking the remainder (7 over 3: 3, 2, 2). */
export function splitAcross(total: number, parts: number): number[] {
    return Array.from({ length: parts }, (_, i) => Math.floor(total / parts) + (i < total % parts ? 1 : 0));
}

// A created EKS cluster in one region: the control plane (its API private to the VPC, and public only to the
// configured networks), the OIDC provider IRSA roles trust, the VPC CNI with its own role, the nodes (IMDSv2, one
// hop) in one managed node group, or one per zone when the Cluster Autoscaler runs, and metrics-server for the HPA.
// Like the network (regionNetwork.ts), these are children of the EdgeRegion that calls this, named after it.

import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { CreateClusterConfig, isGraviton } from "./config";
import { autoDiscoveryTags, irsaTrustPolicy, serviceTrustPolicy } from "./iam";
import { RegionNetwork } from "./regionNetwork";

export interface EksCluster {
    cluster: aws.eks.Cluster;
    /** What workloads wait for: nodes to schedule on. */
    nodeGroups: aws.eks.NodeGroup[];
    oidcProvider: aws.iam.OpenIdConnectProvider;
    issuerUrl: pulumi.Output<string>;
}

export function createEksCluster(parent: pulumi.Resource, name: string, region: string, cfg: CreateClusterConfig,
    network: RegionNetwork, apiPublicAccessCidrs: string[], tags: Record<string, string> | undefined): EksCluster {
    const opts = { parent };
    // The cluster's name is fixed, so the commands in docs/deploy.md and the autoscaler's tags can name it; a
    // replacement therefore deletes the old cluster first (the other regions take its traffic meanwhile).
    const clusterName = name;
    const { privateSubnets, publicSubnets } = network;
    const azs = Array.from({ length: cfg.availabilityZones }, (_, i) => i);

    const clusterRole = new aws.iam.Role(`${name}-cluster`, { assumeRolePolicy: serviceTrustPolicy("eks.amazonaws.com"), tags }, opts);
    const clusterPolicy = new aws.iam.RolePolicyAttachment(`${name}-cluster`, {
        role: clusterRole.name, policyArn: "arn:aws:iam::aws:policy/AmazonEKSClusterPolicy",
    }, opts);
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
    }, { parent, dependsOn: [clusterPolicy], deleteBeforeReplace: true });

    const issuerUrl = cluster.identities.apply((ids) => ids[0]?.oidcs?.[0]?.issuer ?? "");
    const oidcProvider = new aws.iam.OpenIdConnectProvider(`${name}-oidc`, {
        url: issuerUrl,
        clientIdLists: ["sts.amazonaws.com"],
        tags,
    }, opts);

    // The VPC CNI (aws-node) calls EC2 for pod addresses with its own IRSA role, so the node role, which every pod
    // could use before IMDS was limited, needs no network permissions. Installed before the nodes, which wait for it.
    const cniRole = new aws.iam.Role(`${name}-vpc-cni`, {
        description: `Amazon VPC CNI in ${region} (service account kube-system/aws-node)`,
        assumeRolePolicy: pulumi.all([oidcProvider.arn, issuerUrl]).apply(([arn, issuer]) => irsaTrustPolicy(arn, issuer, "kube-system", "aws-node")),
        tags,
    }, opts);
    const cniPolicy = new aws.iam.RolePolicyAttachment(`${name}-vpc-cni`, {
        role: cniRole.name, policyArn: "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy",
    }, opts);
    const vpcCni = new aws.eks.Addon(`${name}-vpc-cni`, {
        region,
        clusterName: cluster.name,
        addonName: "vpc-cni",
        serviceAccountRoleArn: cniRole.arn,
        resolveConflictsOnCreate: "OVERWRITE",
        resolveConflictsOnUpdate: "OVERWRITE",
        tags,
    }, { parent, dependsOn: [cniPolicy] });

    const nodeRole = new aws.iam.Role(`${name}-nodes`, { assumeRolePolicy: serviceTrustPolicy("ec2.amazonaws.com"), tags }, opts);
    const nodePolicies = ["AmazonEKSWorkerNodePolicy", "AmazonEC2ContainerRegistryReadOnly"].map((p) =>
        new aws.iam.RolePolicyAttachment(`${name}-nodes-${p}`, { role: nodeRole.name, policyArn: `arn:aws:iam::aws:policy/${p}` }, opts));
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
    }, opts);
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
            parent,
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
    }, { parent, dependsOn: nodeGroups });

    return { cluster, nodeGroups, oidcProvider, issuerUrl };
}

/** `total` spread over `parts` as evenly as possible, the first parts taking the remainder (7 over 3: 3, 2, 2). */
export function splitAcross(total: number, parts: number): number[] {
    return Array.from({ length: parts }, (_, i) => Math.floor(total / parts) + (i < total % parts ? 1 : 0));
}

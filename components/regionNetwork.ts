// A created cluster's network in one region: a VPC with a public subnet (load balancers, NAT gateways) and a private
// subnet (nodes, pods) in each availability zone, NAT for egress, and the S3 gateway endpoint. The resources are
// children of the EdgeRegion that calls this and are named after it: under a component of their own their URNs would
// change, and `pulumi up` would replace a live VPC.

import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { CreateClusterConfig, subnetCidr } from "./config";

export interface RegionNetwork {
    vpc: aws.ec2.Vpc;
    /** One per availability zone, in zone order. */
    publicSubnets: aws.ec2.Subnet[];
    privateSubnets: aws.ec2.Subnet[];
}

export function createRegionNetwork(parent: pulumi.Resource, name: string, region: string, cfg: CreateClusterConfig,
    tags: Record<string, string> | undefined): RegionNetwork {
    const opts = { parent };
    const zones = aws.getAvailabilityZonesOutput({ region, state: "available" }, opts);
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
    }, opts);
    const igw = new aws.ec2.InternetGateway(`${name}-igw`, { region, vpcId: vpc.id, tags: { ...tags, Name: name } }, opts);
    const publicRoutes = new aws.ec2.RouteTable(`${name}-public`, {
        region,
        vpcId: vpc.id,
        routes: [{ cidrBlock: "0.0.0.0/0", gatewayId: igw.id }],
        tags: { ...tags, Name: `${name}-public` },
    }, opts);
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
        }, opts);
        new aws.ec2.RouteTableAssociation(`${name}-public-${i}`, { region, subnetId: subnet.id, routeTableId: publicRoutes.id }, opts);
        return subnet;
    });
    const natCount = cfg.natGateways === "perZone" ? cfg.availabilityZones : 1;
    const nats = Array.from({ length: natCount }, (_, i) => {
        const eip = new aws.ec2.Eip(`${name}-nat-${i}`, { region, domain: "vpc", tags: { ...tags, Name: `${name}-nat-${i}` } }, opts);
        return new aws.ec2.NatGateway(`${name}-nat-${i}`, {
            region,
            subnetId: publicSubnets[i].id,
            allocationId: eip.id,
            tags: { ...tags, Name: `${name}-nat-${i}` },
        }, { parent, dependsOn: [igw] });
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
        }, opts);
        // Egress (HTTP origins, AWS APIs) through the zone's own NAT gateway when there is one per zone.
        const routes = new aws.ec2.RouteTable(`${name}-private-${i}`, {
            region,
            vpcId: vpc.id,
            routes: [{ cidrBlock: "0.0.0.0/0", natGatewayId: nats[natCount === 1 ? 0 : i].id }],
            tags: { ...tags, Name: `${name}-private-${i}` },
        }, opts);
        new aws.ec2.RouteTableAssociation(`${name}-private-${i}`, { region, subnetId: subnet.id, routeTableId: routes.id }, opts);
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
    }, opts);
    if (cfg.interfaceEndpoints) {
        interfaceEndpoints(parent, name, region, vpc, cfg.vpcCidr, privateSubnets, tags);
    }

    return { vpc, publicSubnets, privateSubnets };
}

/**
 * ECR (api, dkr) and STS interface endpoints, for a VPC whose nodes should pull images and exchange IRSA tokens
 * without NAT. Off by default: image layers already come through the S3 gateway endpoint, and the rest is small.
 */
function interfaceEndpoints(parent: pulumi.Resource, name: string, region: string, vpc: aws.ec2.Vpc, vpcCidr: string,
    subnets: aws.ec2.Subnet[], tags: Record<string, string> | undefined): void {
    const sg = new aws.ec2.SecurityGroup(`${name}-endpoints`, {
        region,
        vpcId: vpc.id,
        description: "AWS service interface endpoints, reachable from the VPC",
        ingress: [{ protocol: "tcp", fromPort: 443, toPort: 443, cidrBlocks: [vpcCidr], description: "HTTPS from the VPC" }],
        tags: { ...tags, Name: `${name}-endpoints` },
    }, { parent });
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
        }, { parent });
    }
}

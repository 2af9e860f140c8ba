// The network of a created cluster: nodes in private subnets with no public address, reaching the internet through
// NAT (one per zone in prod, one in dev) and S3 through a gateway endpoint; the EKS API reachable only from the
// configured networks; nodes whose instance metadata pods cannot reach; the VPC CNI on its own IRSA role; one node
// group per zone when the Cluster Autoscaler sizes them.
import { ACCOUNT_ID, buildCdn, Built, byName, clone, federated, inRegion, ofType, Recorded, stackConfig, statements } from "./harness";
import * as pulumi from "@pulumi/pulumi";
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";

type Raw = Record<string, unknown> & { regions: { name: string; cluster: { create: Record<string, unknown> } }[] };

const SUBNET = "aws:ec2/subnet:Subnet";
const ROUTES = "aws:ec2/routeTable:RouteTable";
const NAT = "aws:ec2/natGateway:NatGateway";

/** The route table each subnet is associated with, by subnet resource name. */
function routeTableOf(from: Recorded[], subnet: Recorded): Recorded {
    const assoc = ofType("aws:ec2/routeTableAssociation:RouteTableAssociation", from).filter((a) => a.inputs.subnetId === `${subnet.name}-id`);
    assert.equal(assoc.length, 1, subnet.name);
    const table = ofType(ROUTES, from).find((t) => `${t.name}-id` === assoc[0].inputs.routeTableId);
    assert.ok(table, subnet.name);
    return table;
}

for (const stack of ["dev", "prod"]) {
    describe(`network (${stack})`, () => {
        let built: Built;
        const cfg = stackConfig(stack) as Raw;
        const regions = cfg.regions.map((r) => r.name);
        const zones = stack === "prod" ? 3 : 2;
        before(async () => { built = await buildCdn(`edgecdn-${stack}`, stackConfig(stack)); });

        it("puts every node group in private subnets that give no public address and route to the internet through NAT", () => {
            for (const region of regions) {
                const here = inRegion(region, built.resources);
                const groups = ofType("aws:eks/nodeGroup:NodeGroup", here);
                assert.ok(groups.length >= 1);
                for (const g of groups) {
                    for (const id of g.inputs.subnetIds as string[]) {
                        const subnet = ofType(SUBNET, here).find((s) => `${s.name}-id` === id);
                        assert.ok(subnet, `${g.name}: unknown subnet ${id}`);
                        assert.match(subnet.name, /-private-\d$/);
                        assert.equal(subnet.inputs.mapPublicIpOnLaunch, false, subnet.name);
                        const routes = routeTableOf(here, subnet).inputs.routes as { cidrBlock: string; natGatewayId?: string; gatewayId?: string }[];
                        assert.deepEqual(routes.map((r) => r.cidrBlock), ["0.0.0.0/0"]);
                        assert.ok(routes[0].natGatewayId && !routes[0].gatewayId, `${subnet.name} must reach the internet through NAT only`);
                    }
                }
                // The public subnets hold only the load balancers and NAT gateways, and hand out no public addresses either.
                for (const s of ofType(SUBNET, here).filter((x) => /-public-\d$/.test(x.name))) {
                    assert.equal(s.inputs.mapPublicIpOnLaunch, false, s.name);
                    assert.equal(s.inputs.tags["kubernetes.io/role/elb"], "1");
                }
                for (const s of ofType(SUBNET, here).filter((x) => /-private-\d$/.test(x.name))) {
                    assert.equal(s.inputs.tags["kubernetes.io/role/internal-elb"], "1");
                }
                assert.equal(ofType(SUBNET, here).length, 2 * zones);
            }
        });

        it(`runs ${stack === "prod" ? "one NAT gateway per zone" : "one NAT gateway"} per region, each in a public subnet with its own address`, () => {
            for (const region of regions) {
                const here = inRegion(region, built.resources);
                const nats = ofType(NAT, here);
                assert.equal(nats.length, stack === "prod" ? zones : 1, region);
                const eips = ofType("aws:ec2/eip:Eip", here);
                assert.equal(eips.length, nats.length);
                for (const n of nats) {
                    const subnet = ofType(SUBNET, here).find((s) => `${s.name}-id` === n.inputs.subnetId);
                    assert.match(subnet?.name ?? "", /-public-\d$/);
                    assert.ok(eips.some((e) => `${e.name}-id` === n.inputs.allocationId));
                }
                // With one per zone, each private subnet uses the NAT gateway of its own zone.
                if (stack === "prod") {
                    for (let i = 0; i < zones; i++) {
                        const subnet = byName(here, SUBNET, `edgecdn-prod-${region}-private-${i}`);
                        const nat = routeTableOf(here, subnet).inputs.routes[0].natGatewayId;
                        const natSubnet = ofType(SUBNET, here).find((s) => `${s.name}-id` === nats.find((x) => `${x.name}-id` === nat)?.inputs.subnetId);
                        assert.equal(natSubnet?.inputs.availabilityZone, subnet.inputs.availabilityZone, `private-${i}`);
                    }
                }
            }
        });

        it("carries S3 traffic (origins and image layers) through a gateway endpoint on every route table", () => {
            for (const region of regions) {
                const here = inRegion(region, built.resources);
                const s3 = ofType("aws:ec2/vpcEndpoint:VpcEndpoint", here).filter((e) => e.inputs.serviceName === `com.amazonaws.${region}.s3`);
                assert.equal(s3.length, 1);
                assert.equal(s3[0].inputs.vpcEndpointType, "Gateway");
                assert.deepEqual([...s3[0].inputs.routeTableIds].sort(), ofType(ROUTES, here).map((t) => `${t.name}-id`).sort());
                // No interface endpoints unless asked for (see docs/deploy.md: they do not pay off here).
                assert.equal(ofType("aws:ec2/vpcEndpoint:VpcEndpoint", here).length, 1);
            }
        });

        it("opens nothing to 0.0.0.0/0: no security group rule of the stack admits the internet", () => {
            const sgs = ofType("aws:ec2/securityGroup:SecurityGroup", built.resources);
            const rules = [
                ...sgs.flatMap((g) => (g.inputs.ingress ?? []) as { cidrBlocks?: string[] }[]),
                ...ofType("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", built.resources).map((r) => ({ cidrBlocks: [r.inputs.cidrIpv4] })),
                ...ofType("aws:ec2/securityGroupRule:SecurityGroupRule", built.resources).map((r) => r.inputs),
            ];
            for (const r of rules) { assert.ok(!(r.cidrBlocks ?? []).includes("0.0.0.0/0"), JSON.stringify(r)); }
        });

        it("lets only the configured networks reach the EKS API from outside the VPC; nodes use its private endpoint", () => {
            const api = cfg.kubernetesApi as { publicAccessCidrs: string[] };
            for (const c of ofType("aws:eks/cluster:Cluster", built.resources)) {
                assert.deepEqual(c.inputs.vpcConfig.publicAccessCidrs, api.publicAccessCidrs);
                assert.equal(c.inputs.vpcConfig.endpointPublicAccess, true);
                assert.equal(c.inputs.vpcConfig.endpointPrivateAccess, true);
            }
            if (stack === "prod") { assert.ok(!api.publicAccessCidrs.includes("0.0.0.0/0")); }
        });

        it("launches nodes whose instance metadata needs a token and is one hop away, so pods cannot take the node role", () => {
            for (const region of regions) {
                const here = inRegion(region, built.resources);
                const [lt, ...more] = ofType("aws:ec2/launchTemplate:LaunchTemplate", here);
                assert.equal(more.length, 0);
                assert.deepEqual(lt.inputs.metadataOptions, { httpEndpoint: "enabled", httpTokens: "required", httpPutResponseHopLimit: 1 });
                const disk = (stackConfig(stack).regions as Raw["regions"])[0].cluster.create.diskSizeGb ?? 20;
                assert.deepEqual(lt.inputs.blockDeviceMappings, [{
                    deviceName: "/dev/xvda", ebs: { volumeSize: disk, volumeType: "gp3", encrypted: "true", deleteOnTermination: "true" },
                }]);
                for (const g of ofType("aws:eks/nodeGroup:NodeGroup", here)) {
                    assert.deepEqual(g.inputs.launchTemplate, { id: `${lt.name}-id`, version: "1" });
                    // The disk is the launch template's: EKS refuses diskSize together with a launch template.
                    assert.equal(g.inputs.diskSize, undefined);
                }
            }
        });

        it("gives the VPC CNI its own IRSA role (kube-system/aws-node) instead of the node role", () => {
            for (const region of regions) {
                const base = `edgecdn-${stack}-${region}`;
                const here = inRegion(region, built.resources);
                const attached = ofType("aws:iam/rolePolicyAttachment:RolePolicyAttachment", here);
                const nodeRole = byName(here, "aws:iam/role:Role", `${base}-nodes`);
                assert.deepEqual(attached.filter((a) => a.inputs.role === `${nodeRole.name}-role`).map((a) => a.inputs.policyArn.split("/").pop()).sort(),
                    ["AmazonEC2ContainerRegistryReadOnly", "AmazonEKSWorkerNodePolicy"]);
                const cniRole = byName(here, "aws:iam/role:Role", `${base}-vpc-cni`);
                assert.deepEqual(attached.filter((a) => a.inputs.role === `${cniRole.name}-role`).map((a) => a.inputs.policyArn),
                    ["arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy"]);
                const [trust] = statements(cniRole.inputs.assumeRolePolicy);
                const issuer = String(federated(trust)).split("oidc-provider/")[1];
                assert.equal(federated(trust), `arn:aws:iam::${ACCOUNT_ID}:oidc-provider/${issuer}`);
                assert.deepEqual(trust.Condition?.StringEquals, { [`${issuer}:sub`]: "system:serviceaccount:kube-system:aws-node", [`${issuer}:aud`]: "sts.amazonaws.com" });
                const addon = byName(here, "aws:eks/addon:Addon", `${base}-vpc-cni`);
                assert.equal(addon.inputs.addonName, "vpc-cni");
                assert.equal(addon.inputs.serviceAccountRoleArn, `arn:aws:iam::${ACCOUNT_ID}:role/${cniRole.name}-role`);
            }
        });

        it(stack === "prod"
            ? "runs one managed node group per zone for the Cluster Autoscaler, splitting nodes.min/max between them"
            : "runs one node group across the zones when the node count is fixed", () => {
            for (const region of regions) {
                const here = inRegion(region, built.resources);
                const groups = ofType("aws:eks/nodeGroup:NodeGroup", here);
                const privateIds = ofType(SUBNET, here).filter((s) => /-private-\d$/.test(s.name)).map((s) => `${s.name}-id`);
                if (stack === "prod") {
                    assert.equal(groups.length, zones);
                    assert.deepEqual(groups.map((g) => g.inputs.subnetIds.length), [1, 1, 1]);
                    assert.deepEqual(groups.flatMap((g) => g.inputs.subnetIds).sort(), privateIds.sort());
                    // nodes 3-6 over three zones: 1-2 each.
                    for (const g of groups) { assert.deepEqual(g.inputs.scalingConfig, { minSize: 1, desiredSize: 1, maxSize: 2 }); }
                } else {
                    assert.equal(groups.length, 1);
                    assert.deepEqual([...groups[0].inputs.subnetIds].sort(), privateIds.sort());
                }
            }
        });
    });
}

describe("network options", () => {
    it("adds ECR (api, dkr) and STS interface endpoints in the private subnets when asked, reachable from the VPC only", async () => {
        const c = clone(stackConfig("dev")) as Raw;
        c.regions[0].cluster.create.interfaceEndpoints = true;
        const built = await buildCdn("edgecdn-endpoints", c);
        const here = inRegion("us-east-1", built.resources);
        const endpoints = ofType("aws:ec2/vpcEndpoint:VpcEndpoint", here).filter((e) => e.inputs.vpcEndpointType === "Interface");
        assert.deepEqual(endpoints.map((e) => e.inputs.serviceName).sort(),
            ["com.amazonaws.us-east-1.ecr.api", "com.amazonaws.us-east-1.ecr.dkr", "com.amazonaws.us-east-1.sts"]);
        const privateIds = ofType(SUBNET, here).filter((s) => /-private-\d$/.test(s.name)).map((s) => `${s.name}-id`);
        const [sg] = ofType("aws:ec2/securityGroup:SecurityGroup", here);
        for (const e of endpoints) {
            assert.equal(e.inputs.privateDnsEnabled, true);
            assert.deepEqual([...e.inputs.subnetIds].sort(), privateIds.sort());
            assert.deepEqual(e.inputs.securityGroupIds, [`${sg.name}-id`]);
        }
        assert.deepEqual(sg.inputs.ingress, [{ protocol: "tcp", fromPort: 443, toPort: 443, cidrBlocks: ["10.10.0.0/16"], description: "HTTPS from the VPC" }]);
        assert.equal(ofType("aws:ec2/vpcEndpoint:VpcEndpoint", inRegion("eu-west-1", built.resources)).length, 1, "only where asked");
    });

    it("follows natGateways: one per zone or a single one", async () => {
        const c = clone(stackConfig("dev")) as Raw;
        c.regions[0].cluster.create.natGateways = "perZone";
        const built = await buildCdn("edgecdn-nat", c);
        assert.equal(ofType(NAT, inRegion("us-east-1", built.resources)).length, 2);
        assert.equal(ofType(NAT, inRegion("eu-west-1", built.resources)).length, 1);
    });

    it("replaces a cluster by deleting it first, since its name is fixed", async () => {
        const seen: Record<string, pulumi.CustomResourceOptions> = {};
        const record = (a: pulumi.ResourceTransformationArgs): undefined => { seen[`${a.type}::${a.name}`] = a.opts; return undefined; };
        await buildCdn("edgecdn-dbr", stackConfig("dev"), { transformations: [record] });
        for (const region of ["us-east-1", "eu-west-1"]) {
            assert.equal(seen[`aws:eks/cluster:Cluster::edgecdn-dbr-${region}-cluster`]?.deleteBeforeReplace, true, region);
        }
    });
});

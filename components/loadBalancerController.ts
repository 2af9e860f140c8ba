// The AWS Load Balancer Controller for an EKS cluster the stack creates: it makes the edge Services' NLBs with IP
// targets (the pods' own addresses), proxy protocol v2, TLS and ALPN on the listener, and security groups that admit
// only the NLB to the pods. The official `aws-load-balancer-controller` Helm chart, with an IRSA role that holds the
// controller's published IAM policy.

import * as aws from "@pulumi/aws";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { AWS_LOAD_BALANCER_CONTROLLER_CHART_VERSION } from "./config";
import { irsaTrustPolicy } from "./edgeRegion";

export const LOAD_BALANCER_CONTROLLER_CHART_REPO = "https://aws.github.io/eks-charts";
export const LOAD_BALANCER_CONTROLLER_CHART = "aws-load-balancer-controller";
export const LOAD_BALANCER_CONTROLLER_NAMESPACE = "kube-system";
export const LOAD_BALANCER_CONTROLLER_SERVICE_ACCOUNT = "aws-load-balancer-controller";

/** The class the controller serves: Services that name it are its alone (the in-tree controller leaves them). */
export const NLB_LOAD_BALANCER_CLASS = "service.k8s.aws/nlb";

/** The tag the controller puts on everything it creates; its write permissions are scoped by it. */
const CLUSTER_TAG = "elbv2.k8s.aws/cluster";

/**
 * The controller's IAM policy as published with its releases (docs/install/iam_policy.json of
 * kubernetes-sigs/aws-load-balancer-controller, the v2.13/v2.14 revision): reads are unscoped because the EC2 and ELB
 * Describe calls support no resource scoping; every create is tagged with CLUSTER_TAG and every change or delete is
 * limited to resources carrying it. ALB-only actions (WAF, Shield, Cognito) are part of the published policy and kept,
 * so the role matches what AWS documents and reviews.
 */
export function awsLoadBalancerControllerPolicy(): string {
    const tagged = { Null: { [`aws:ResourceTag/${CLUSTER_TAG}`]: "false" } };
    const lbArns = [
        "arn:aws:elasticloadbalancing:*:*:targetgroup/*/*",
        "arn:aws:elasticloadbalancing:*:*:loadbalancer/net/*/*",
        "arn:aws:elasticloadbalancing:*:*:loadbalancer/app/*/*",
    ];
    return JSON.stringify({
        Version: "2012-10-17",
        Statement: [
            {
                Sid: "CreateElbServiceLinkedRole",
                Effect: "Allow",
                Action: ["iam:CreateServiceLinkedRole"],
                Resource: "*",
                Condition: { StringEquals: { "iam:AWSServiceName": "elasticloadbalancing.amazonaws.com" } },
            },
            {
                Sid: "Describe",
                Effect: "Allow",
                Action: [
                    "ec2:DescribeAccountAttributes", "ec2:DescribeAddresses", "ec2:DescribeAvailabilityZones",
                    "ec2:DescribeInternetGateways", "ec2:DescribeVpcs", "ec2:DescribeVpcPeeringConnections",
                    "ec2:DescribeSubnets", "ec2:DescribeSecurityGroups", "ec2:DescribeInstances",
                    "ec2:DescribeNetworkInterfaces", "ec2:DescribeTags", "ec2:GetCoipPoolUsage", "ec2:DescribeCoipPools",
                    "ec2:GetSecurityGroupsForVpc",
                    "elasticloadbalancing:DescribeLoadBalancers", "elasticloadbalancing:DescribeLoadBalancerAttributes",
                    "elasticloadbalancing:DescribeListeners", "elasticloadbalancing:DescribeListenerCertificates",
                    "elasticloadbalancing:DescribeSSLPolicies", "elasticloadbalancing:DescribeRules",
                    "elasticloadbalancing:DescribeTargetGroups", "elasticloadbalancing:DescribeTargetGroupAttributes",
                    "elasticloadbalancing:DescribeTargetHealth", "elasticloadbalancing:DescribeTags",
                    "elasticloadbalancing:DescribeTrustStores", "elasticloadbalancing:DescribeListenerAttributes",
                    "elasticloadbalancing:DescribeCapacityReservation",
                ],
                Resource: "*",
            },
            {
                Sid: "CertificatesAndAlbProtection",
                Effect: "Allow",
                Action: [
                    "cognito-idp:DescribeUserPoolClient", "acm:ListCertificates", "acm:DescribeCertificate",
                    "iam:ListServerCertificates", "iam:GetServerCertificate",
                    "waf-regional:GetWebACL", "waf-regional:GetWebACLForResource", "waf-regional:AssociateWebACL",
                    "waf-regional:DisassociateWebACL", "wafv2:GetWebACL", "wafv2:GetWebACLForResource",
                    "wafv2:AssociateWebACL", "wafv2:DisassociateWebACL", "shield:GetSubscriptionState",
                    "shield:DescribeProtection", "shield:CreateProtection", "shield:DeleteProtection",
                ],
                Resource: "*",
            },
            { Sid: "SecurityGroupRules", Effect: "Allow", Action: ["ec2:AuthorizeSecurityGroupIngress", "ec2:RevokeSecurityGroupIngress"], Resource: "*" },
            { Sid: "CreateSecurityGroup", Effect: "Allow", Action: ["ec2:CreateSecurityGroup"], Resource: "*" },
            {
                Sid: "TagNewSecurityGroup",
                Effect: "Allow",
                Action: ["ec2:CreateTags"],
                Resource: "arn:aws:ec2:*:*:security-group/*",
                Condition: { StringEquals: { "ec2:CreateAction": "CreateSecurityGroup" }, Null: { [`aws:RequestTag/${CLUSTER_TAG}`]: "false" } },
            },
            {
                Sid: "RetagOwnSecurityGroups",
                Effect: "Allow",
                Action: ["ec2:CreateTags", "ec2:DeleteTags"],
                Resource: "arn:aws:ec2:*:*:security-group/*",
                Condition: { Null: { [`aws:RequestTag/${CLUSTER_TAG}`]: "true", [`aws:ResourceTag/${CLUSTER_TAG}`]: "false" } },
            },
            {
                Sid: "ChangeOwnSecurityGroups",
                Effect: "Allow",
                Action: ["ec2:AuthorizeSecurityGroupIngress", "ec2:RevokeSecurityGroupIngress", "ec2:DeleteSecurityGroup"],
                Resource: "*",
                Condition: tagged,
            },
            {
                Sid: "CreateTaggedLoadBalancers",
                Effect: "Allow",
                Action: ["elasticloadbalancing:CreateLoadBalancer", "elasticloadbalancing:CreateTargetGroup"],
                Resource: "*",
                Condition: { Null: { [`aws:RequestTag/${CLUSTER_TAG}`]: "false" } },
            },
            {
                Sid: "ListenersAndRules",
                Effect: "Allow",
                Action: [
                    "elasticloadbalancing:CreateListener", "elasticloadbalancing:DeleteListener",
                    "elasticloadbalancing:CreateRule", "elasticloadbalancing:DeleteRule",
                ],
                Resource: "*",
            },
            {
                Sid: "RetagOwnLoadBalancers",
                Effect: "Allow",
                Action: ["elasticloadbalancing:AddTags", "elasticloadbalancing:RemoveTags"],
                Resource: lbArns,
                Condition: { Null: { [`aws:RequestTag/${CLUSTER_TAG}`]: "true", [`aws:ResourceTag/${CLUSTER_TAG}`]: "false" } },
            },
            {
                Sid: "TagListenersAndRules",
                Effect: "Allow",
                Action: ["elasticloadbalancing:AddTags", "elasticloadbalancing:RemoveTags"],
                Resource: [
                    "arn:aws:elasticloadbalancing:*:*:listener/net/*/*/*",
                    "arn:aws:elasticloadbalancing:*:*:listener/app/*/*/*",
                    "arn:aws:elasticloadbalancing:*:*:listener-rule/net/*/*/*",
                    "arn:aws:elasticloadbalancing:*:*:listener-rule/app/*/*/*",
                ],
            },
            {
                Sid: "ChangeOwnLoadBalancers",
                Effect: "Allow",
                Action: [
                    "elasticloadbalancing:ModifyLoadBalancerAttributes", "elasticloadbalancing:SetIpAddressType",
                    "elasticloadbalancing:SetSecurityGroups", "elasticloadbalancing:SetSubnets",
                    "elasticloadbalancing:DeleteLoadBalancer", "elasticloadbalancing:ModifyTargetGroup",
                    "elasticloadbalancing:ModifyTargetGroupAttributes", "elasticloadbalancing:DeleteTargetGroup",
                    "elasticloadbalancing:ModifyListenerAttributes", "elasticloadbalancing:ModifyCapacityReservation",
                ],
                Resource: "*",
                Condition: tagged,
            },
            {
                Sid: "TagOnCreate",
                Effect: "Allow",
                Action: ["elasticloadbalancing:AddTags"],
                Resource: lbArns,
                Condition: {
                    StringEquals: { "elasticloadbalancing:CreateAction": ["CreateTargetGroup", "CreateLoadBalancer"] },
                    Null: { [`aws:RequestTag/${CLUSTER_TAG}`]: "false" },
                },
            },
            {
                Sid: "Targets",
                Effect: "Allow",
                Action: ["elasticloadbalancing:RegisterTargets", "elasticloadbalancing:DeregisterTargets"],
                Resource: "arn:aws:elasticloadbalancing:*:*:targetgroup/*/*",
            },
            {
                Sid: "ListenerSettings",
                Effect: "Allow",
                Action: [
                    "elasticloadbalancing:SetWebAcl", "elasticloadbalancing:ModifyListener",
                    "elasticloadbalancing:AddListenerCertificates", "elasticloadbalancing:RemoveListenerCertificates",
                    "elasticloadbalancing:ModifyRule",
                ],
                Resource: "*",
            },
        ],
    });
}

export interface LoadBalancerControllerArgs {
    region: string;
    clusterName: pulumi.Input<string>;
    /** Given explicitly: the controller would otherwise read it from instance metadata, which pods cannot reach. */
    vpcId: pulumi.Input<string>;
    provider: k8s.Provider;
    oidcProviderArn: pulumi.Input<string>;
    issuerUrl: pulumi.Input<string>;
    tags?: Record<string, string>;
}

export class LoadBalancerController extends pulumi.ComponentResource {
    public readonly roleArn: pulumi.Output<string>;
    /** The Helm release: workloads whose pods or Services the controller handles wait for it. */
    public readonly release: k8s.helm.v3.Release;

    constructor(name: string, args: LoadBalancerControllerArgs, opts?: pulumi.ComponentResourceOptions) {
        super("edgecdn:index:LoadBalancerController", name, {}, opts);

        const role = new aws.iam.Role(`${name}-irsa`, {
            description: `AWS Load Balancer Controller in ${args.region} (service account ${LOAD_BALANCER_CONTROLLER_NAMESPACE}/${LOAD_BALANCER_CONTROLLER_SERVICE_ACCOUNT})`,
            assumeRolePolicy: pulumi.all([args.oidcProviderArn, args.issuerUrl]).apply(([arn, issuer]) =>
                irsaTrustPolicy(arn, issuer, LOAD_BALANCER_CONTROLLER_NAMESPACE, LOAD_BALANCER_CONTROLLER_SERVICE_ACCOUNT)),
            tags: args.tags,
        }, { parent: this });
        const policy = new aws.iam.RolePolicy(`${name}-irsa`, {
            role: role.id,
            policy: awsLoadBalancerControllerPolicy(),
        }, { parent: this });

        this.release = new k8s.helm.v3.Release(`${name}-chart`, {
            name: "aws-load-balancer-controller",
            chart: LOAD_BALANCER_CONTROLLER_CHART,
            version: AWS_LOAD_BALANCER_CONTROLLER_CHART_VERSION,
            repositoryOpts: { repo: LOAD_BALANCER_CONTROLLER_CHART_REPO },
            namespace: LOAD_BALANCER_CONTROLLER_NAMESPACE,
            atomic: true,
            values: {
                clusterName: args.clusterName,
                region: args.region,
                vpcId: args.vpcId,
                serviceAccount: {
                    create: true,
                    name: LOAD_BALANCER_CONTROLLER_SERVICE_ACCOUNT,
                    annotations: { "eks.amazonaws.com/role-arn": role.arn },
                },
                // The edge Services name the controller's class themselves; no webhook rewrites other Services.
                enableServiceMutatorWebhook: false,
                priorityClassName: "system-cluster-critical",
            },
        }, { parent: this, provider: args.provider, dependsOn: [policy] });

        this.roleArn = role.arn;
        this.registerOutputs({ roleArn: this.roleArn });
    }
}

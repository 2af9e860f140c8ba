// The AWS Load Balancer Controller for an EKS cluster the stack creates: it makes the edge Services' NLBs with IP
// targets (the pods' own addresses), proxy protocol v2, TLS and ALPN on the listener, and security groups that admit
// only the NLB to the pods. The official `aws-load-balancer-controller` Helm chart, with an IRSA role that holds the
// controller's published IAM policy.

import * as aws from "@pulumi/aws";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { AWS_LOAD_BALANCER_CONTROLLER_CHART_VERSION } from "./config";
import { awsLoadBalancerControllerPolicy, irsaTrustPolicy } from "./iam";

export const LOAD_BALANCER_CONTROLLER_CHART_REPO = "https://aws.github.io/eks-charts";
export const LOAD_BALANCER_CONTROLLER_CHART = "aws-load-balancer-controller";
export const LOAD_BALANCER_CONTROLLER_NAMESPACE = "kube-system";
export const LOAD_BALANCER_CONTROLLER_SERVICE_ACCOUNT = "aws-load-balancer-controller";

/** The class the controller serves: Services that name it are its alone (the in-tree controller leaves them). */
export const NLB_LOAD_BALANCER_CLASS = "service.k8s.aws/nlb";

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

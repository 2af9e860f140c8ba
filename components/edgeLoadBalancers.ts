// The edge pods' Services: the viewer NLB (TLS on 443, the HTTPS redirect on 80, proxy protocol v2 to the pods) and
// the admin port, on its own NLB limited to the allowed networks or inside the cluster only. Children of the
// EdgeNodes that calls this, named after it, with its Kubernetes provider.

import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { EdgeSettings } from "./config";
import { ADMIN_PORT, HTTP_PORT, HTTPS_PORT, LIVENESS_PATH, READINESS_PATH } from "./constants";
import { NLB_LOAD_BALANCER_CLASS } from "./loadBalancerController";

export interface EdgeServicesArgs {
    edge: EdgeSettings;
    /** ACM certificate the NLBs' TLS listeners present. */
    certificateArn: pulumi.Input<string>;
    /** Non-empty: the admin port gets its own NLB, reachable only from these networks. */
    adminAllowedCidrs: string[];
    namespace: pulumi.Input<string>;
    /** The edge pods' labels, which the Services select. */
    labels: Record<string, string>;
    /** The edge Deployment: the Services are created after it. */
    deployment: k8s.apps.v1.Deployment;
}

export interface EdgeServices {
    viewer: k8s.core.v1.Service;
    admin: k8s.core.v1.Service;
    /** Hostname of the viewer NLB. */
    hostname: pulumi.Output<string>;
    /** Hostname of the admin NLB; undefined when the admin port stays inside the cluster. */
    adminHostname?: pulumi.Output<string>;
}

const NLB_ANNOTATION = "service.beta.kubernetes.io/aws-load-balancer";

/**
 * An internet-facing NLB made by the AWS Load Balancer Controller: IP targets (the pods' own addresses, so no NodePort
 * and nothing on the nodes is open to the internet; the controller lets only the NLB's security group reach the pods),
 * TLS terminated on 443 with the region's certificate.
 */
function nlbAnnotations(certificateArn: pulumi.Input<string>, listener: {
    /** Target group attributes beyond the defaults ("key=value,..."). */
    targetGroupAttributes: string;
    alpnPolicy: "HTTP1Only" | "HTTP2Preferred";
    proxyProtocol: boolean;
    healthCheck: { port: string; path: string };
}): Record<string, pulumi.Input<string>> {
    return {
        [`${NLB_ANNOTATION}-type`]: "external",
        [`${NLB_ANNOTATION}-nlb-target-type`]: "ip",
        [`${NLB_ANNOTATION}-scheme`]: "internet-facing",
        [`${NLB_ANNOTATION}-ssl-cert`]: certificateArn,
        [`${NLB_ANNOTATION}-ssl-ports`]: String(HTTPS_PORT),
        [`${NLB_ANNOTATION}-ssl-negotiation-policy`]: "ELBSecurityPolicy-TLS13-1-2-2021-06",
        [`${NLB_ANNOTATION}-alpn-policy`]: listener.alpnPolicy,
        [`${NLB_ANNOTATION}-backend-protocol`]: "tcp",
        [`${NLB_ANNOTATION}-target-group-attributes`]: listener.targetGroupAttributes,
        ...(listener.proxyProtocol ? { [`${NLB_ANNOTATION}-proxy-protocol`]: "*" } : {}),
        [`${NLB_ANNOTATION}-healthcheck-protocol`]: "HTTP",
        [`${NLB_ANNOTATION}-healthcheck-port`]: listener.healthCheck.port,
        [`${NLB_ANNOTATION}-healthcheck-path`]: listener.healthCheck.path,
        [`${NLB_ANNOTATION}-healthcheck-interval`]: "10",
        [`${NLB_ANNOTATION}-healthcheck-healthy-threshold`]: "2",
        [`${NLB_ANNOTATION}-healthcheck-unhealthy-threshold`]: "2",
    };
}

export function createEdgeServices(name: string, args: EdgeServicesArgs,
    opts: { parent: pulumi.Resource; provider: k8s.Provider }): EdgeServices {
    const { deployment, labels, namespace } = args;
    // Both listeners send a PROXY protocol v2 header with the viewer's address (the node requires it on these
    // ports). The NLB's target check goes to the admin port's /readyz, which needs no such header and answers
    // "can serve viewers"; Route 53 checks the viewer path end to end through the listener. A deregistered target
    // keeps its connections for the pod's whole termination grace.
    const viewerAnnotations = nlbAnnotations(args.certificateArn, {
        alpnPolicy: args.edge.http2 ? "HTTP2Preferred" : "HTTP1Only",
        proxyProtocol: true,
        targetGroupAttributes: `preserve_client_ip.enabled=false,deregistration_delay.timeout_seconds=${args.edge.terminationGracePeriodSeconds},deregistration_delay.connection_termination.enabled=true`,
        healthCheck: { port: String(ADMIN_PORT), path: READINESS_PATH },
    });
    const viewer = new k8s.core.v1.Service(`${name}-viewer`, {
        metadata: { name: "edgecache", namespace, labels, annotations: viewerAnnotations },
        spec: {
            type: "LoadBalancer",
            loadBalancerClass: NLB_LOAD_BALANCER_CLASS,
            // IP targets need no NodePort: none is opened on the nodes.
            allocateLoadBalancerNodePorts: false,
            selector: labels,
            ports: [
                { name: "https", port: HTTPS_PORT, targetPort: "viewer", protocol: "TCP" },
                { name: "http", port: HTTP_PORT, targetPort: "redirect", protocol: "TCP" },
            ],
        },
    }, { ...opts, dependsOn: [deployment], deleteBeforeReplace: true });
    const hostname = viewer.status.loadBalancer.ingress.apply((ingress) => ingress?.[0]?.hostname ?? ingress?.[0]?.ip ?? "");

    const exposeAdmin = args.adminAllowedCidrs.length > 0;
    const admin = new k8s.core.v1.Service(`${name}-admin`, {
        metadata: {
            name: "edgecache-admin",
            namespace,
            labels,
            annotations: exposeAdmin ? nlbAnnotations(args.certificateArn, {
                alpnPolicy: "HTTP1Only",
                proxyProtocol: false,
                targetGroupAttributes: "preserve_client_ip.enabled=false",
                healthCheck: { port: "traffic-port", path: LIVENESS_PATH },
            }) : undefined,
        },
        spec: exposeAdmin ? {
            type: "LoadBalancer",
            loadBalancerClass: NLB_LOAD_BALANCER_CLASS,
            allocateLoadBalancerNodePorts: false,
            // The controller turns these into the NLB's own security group: only they reach the listener.
            loadBalancerSourceRanges: args.adminAllowedCidrs,
            selector: labels,
            ports: [{ name: "https", port: HTTPS_PORT, targetPort: "admin", protocol: "TCP" }],
        } : {
            type: "ClusterIP",
            selector: labels,
            ports: [{ name: "admin", port: ADMIN_PORT, targetPort: "admin", protocol: "TCP" }],
        },
    }, { ...opts, dependsOn: [deployment], deleteBeforeReplace: true });
    const adminHostname = exposeAdmin
        ? admin.status.loadBalancer.ingress.apply((ingress) => ingress?.[0]?.hostname ?? "")
        : undefined;
    return { viewer, admin, hostname, adminHostname };
}

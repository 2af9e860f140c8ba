// The edge server on one region's cluster: namespace, IRSA service account, config, admin token, Deployment,
// internet-facing NLB (TLS on 443, the HTTPS redirect on 80, proxy protocol v2 to the pods), PodDisruptionBudget and
// HorizontalPodAutoscaler.

import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import {
    ADMIN_PORT, ADMIN_TOKEN_ENV, CACHE_DIR, CONFIG_DIR, CONFIG_ENV, CONFIG_FILE_NAME, CONFIG_PATH, EDGE_UID, HTTP_PORT, HTTPS_PORT,
    HTTPS_REDIRECT_PORT, LIVENESS_PATH, METRICS_PATH, READINESS_PATH, TMP_DIR, VIEWER_PORT,
} from "./constants";
import { EdgeSettings } from "./config";
import { NLB_LOAD_BALANCER_CLASS } from "./loadBalancerController";

export interface EdgeNodesArgs {
    region: string;
    provider: k8s.Provider;
    edge: EdgeSettings;
    serviceAccountName: string;
    /** IRSA role the service account assumes; none when the region reads no S3 bucket. */
    roleArn?: pulumi.Input<string>;
    image: pulumi.Input<string>;
    /** The edge server's JSON config (edgecache.schema.json). */
    configJson: pulumi.Input<string>;
    adminToken: pulumi.Input<string>;
    /** ACM certificate the NLB's TLS listeners present. */
    certificateArn: pulumi.Input<string>;
    replicas: { min: number; max: number };
    /** Non-empty: the admin port gets its own NLB, reachable only from these networks. */
    adminAllowedCidrs: string[];
    /** What must run first: the AWS Load Balancer Controller (its webhook admits the pods, and it makes the NLBs). */
    dependsOn?: pulumi.Resource[];
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

export class EdgeNodes extends pulumi.ComponentResource {
    /** Hostname of the region's viewer NLB. */
    public readonly hostname: pulumi.Output<string>;
    /** Hostname of the admin NLB; undefined when the admin port stays inside the cluster. */
    public readonly adminHostname?: pulumi.Output<string>;
    public readonly namespace: pulumi.Output<string>;
    public readonly adminServiceName: pulumi.Output<string>;

    constructor(name: string, args: EdgeNodesArgs, opts?: pulumi.ComponentResourceOptions) {
        if (args.replicas.min < 1 || args.replicas.min > args.replicas.max) {
            throw new Error(`EdgeNodes: replicas must satisfy 1 <= min <= max (got ${args.replicas.min}..${args.replicas.max})`);
        }
        super("edgecdn:index:EdgeNodes", name, {}, opts);
        const o = { parent: this, provider: args.provider };
        const labels = { "app.kubernetes.io/name": "edgecache", "app.kubernetes.io/instance": name, "app.kubernetes.io/part-of": "edgecdn" };

        const ns = new k8s.core.v1.Namespace(`${name}-ns`, {
            metadata: {
                name: args.edge.namespace,
                labels: {
                    ...labels,
                    // The pod meets the restricted Pod Security Standard; enforce it so nothing weaker gets in.
                    "pod-security.kubernetes.io/enforce": "restricted",
                    // A new pod counts as ready only once the NLB sees it healthy, so a rollout never gets ahead of
                    // the load balancer's target registration (the controller adds the readiness gate).
                    "elbv2.k8s.aws/pod-readiness-gate-inject": "enabled",
                },
            },
        }, { ...o, dependsOn: args.dependsOn });
        const namespace = ns.metadata.name;

        const serviceAccount = new k8s.core.v1.ServiceAccount(`${name}-sa`, {
            metadata: {
                name: args.serviceAccountName,
                namespace,
                labels,
                annotations: args.roleArn ? { "eks.amazonaws.com/role-arn": args.roleArn } : undefined,
            },
        }, o);

        const config = new k8s.core.v1.ConfigMap(`${name}-config`, {
            // Auto-named: a changed config is a new ConfigMap, and the Deployment's reference to it rolls the pods.
            metadata: { namespace, labels },
            data: { [CONFIG_FILE_NAME]: args.configJson },
        }, o);

        const tokenSecret = new k8s.core.v1.Secret(`${name}-admin-token`, {
            metadata: { namespace, labels },
            type: "Opaque",
            stringData: { token: args.adminToken },
        }, o);

        const adminPortProbe = (path: string, period: number, failures: number) => ({
            httpGet: { path, port: "admin" }, periodSeconds: period, timeoutSeconds: 2, failureThreshold: failures,
        });
        const autoscaled = args.replicas.max > args.replicas.min;
        const spread = (topologyKey: string) => ({
            maxSkew: 1,
            topologyKey,
            whenUnsatisfiable: args.edge.zoneSpread === "required" && topologyKey.includes("zone") ? "DoNotSchedule" : "ScheduleAnyway",
            labelSelector: { matchLabels: labels },
        });

        const deployment = new k8s.apps.v1.Deployment(`${name}-deployment`, {
            metadata: { name: "edgecache", namespace, labels },
            spec: {
                // With an HPA the replica count is the HPA's; Pulumi setting it too would undo every scale-up.
                replicas: autoscaled ? undefined : args.replicas.min,
                selector: { matchLabels: labels },
                // Surge first, never remove a serving pod before its replacement is ready.
                strategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
                template: {
                    metadata: {
                        labels,
                        annotations: {
                            "prometheus.io/scrape": "true",
                            "prometheus.io/port": String(ADMIN_PORT),
                            "prometheus.io/path": METRICS_PATH,
                        },
                    },
                    spec: {
                        serviceAccountName: serviceAccount.metadata.name,
                        // The server never calls the Kubernetes API; IRSA mounts its own web-identity token.
                        automountServiceAccountToken: false,
                        // Above the preStop sleep plus the node's own drain (its shutdown.gracePeriodSeconds, rendered
                        // from the same settings); config validation checks the relation.
                        terminationGracePeriodSeconds: args.edge.terminationGracePeriodSeconds,
                        securityContext: {
                            runAsNonRoot: true,
                            runAsUser: EDGE_UID,
                            runAsGroup: EDGE_UID,
                            fsGroup: EDGE_UID,
                            seccompProfile: { type: "RuntimeDefault" },
                        },
                        topologySpreadConstraints: [spread("topology.kubernetes.io/zone"), spread("kubernetes.io/hostname")],
                        containers: [{
                            name: "edgecache",
                            image: args.image,
                            imagePullPolicy: "IfNotPresent",
                            ports: [
                                { name: "viewer", containerPort: VIEWER_PORT, protocol: "TCP" },
                                { name: "redirect", containerPort: HTTPS_REDIRECT_PORT, protocol: "TCP" },
                                { name: "admin", containerPort: ADMIN_PORT, protocol: "TCP" },
                            ],
                            env: [
                                { name: CONFIG_ENV, value: CONFIG_PATH },
                                { name: ADMIN_TOKEN_ENV, valueFrom: { secretKeyRef: { name: tokenSecret.metadata.name, key: "token" } } },
                                { name: "AWS_REGION", value: args.region },
                            ],
                            resources: {
                                requests: {
                                    cpu: args.edge.resources.cpu.request,
                                    memory: args.edge.resources.memory.request,
                                    // The disk tier fills its emptyDir: schedule the pod only where that much disk is free.
                                    "ephemeral-storage": args.edge.cache.volumeSize,
                                },
                                limits: { cpu: args.edge.resources.cpu.limit, memory: args.edge.resources.memory.limit },
                            },
                            // Endpoints and the NLB take several seconds to stop sending new connections to a pod
                            // being stopped; it keeps serving until then, and SIGTERM (the node's drain) comes after.
                            // The kubelet's sleep action, since the image has no shell.
                            lifecycle: { preStop: { sleep: { seconds: args.edge.preStopSleepSeconds } } },
                            startupProbe: adminPortProbe(LIVENESS_PATH, 2, 30),
                            livenessProbe: adminPortProbe(LIVENESS_PATH, 10, 3),
                            readinessProbe: adminPortProbe(READINESS_PATH, 5, 2),
                            securityContext: {
                                runAsNonRoot: true,
                                runAsUser: EDGE_UID,
                                runAsGroup: EDGE_UID,
                                readOnlyRootFilesystem: true,
                                allowPrivilegeEscalation: false,
                                privileged: false,
                                capabilities: { drop: ["ALL"] },
                                seccompProfile: { type: "RuntimeDefault" },
                            },
                            volumeMounts: [
                                { name: "config", mountPath: CONFIG_DIR, readOnly: true },
                                { name: "cache", mountPath: CACHE_DIR },
                                { name: "tmp", mountPath: TMP_DIR },
                            ],
                        }],
                        volumes: [
                            { name: "config", configMap: { name: config.metadata.name } },
                            { name: "cache", emptyDir: { sizeLimit: args.edge.cache.volumeSize } },
                            { name: "tmp", emptyDir: { sizeLimit: "64Mi" } },
                        ],
                    },
                },
            },
        }, o);

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
        }, { ...o, dependsOn: [deployment], deleteBeforeReplace: true });
        this.hostname = viewer.status.loadBalancer.ingress.apply((ingress) => ingress?.[0]?.hostname ?? ingress?.[0]?.ip ?? "");

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
        }, { ...o, dependsOn: [deployment], deleteBeforeReplace: true });
        this.adminServiceName = admin.metadata.name;
        if (exposeAdmin) {
            this.adminHostname = admin.status.loadBalancer.ingress.apply((ingress) => ingress?.[0]?.hostname ?? "");
        }

        new k8s.policy.v1.PodDisruptionBudget(`${name}-pdb`, {
            metadata: { name: "edgecache", namespace, labels },
            // One pod at a time during node drains and upgrades.
            spec: { maxUnavailable: 1, selector: { matchLabels: labels } },
        }, o);

        if (autoscaled) {
            new k8s.autoscaling.v2.HorizontalPodAutoscaler(`${name}-hpa`, {
                metadata: { name: "edgecache", namespace, labels },
                spec: {
                    scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: deployment.metadata.name },
                    minReplicas: args.replicas.min,
                    maxReplicas: args.replicas.max,
                    metrics: [{
                        type: "Resource",
                        resource: { name: "cpu", target: { type: "Utilization", averageUtilization: args.edge.targetCpuUtilization } },
                    }],
                    // Scale up at once, down slowly: a flapping cache node set loses its hot objects.
                    behavior: { scaleDown: { stabilizationWindowSeconds: 300 } },
                },
            }, o);
        }

        this.namespace = namespace;
        this.registerOutputs({ hostname: this.hostname, adminHostname: this.adminHostname, namespace: this.namespace });
    }
}

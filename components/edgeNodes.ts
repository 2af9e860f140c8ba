// The edge server on one region's cluster: namespace, IRSA service account, config, admin token, Deployment,
// internet-facing NLB (TLS on 443, the HTTPS redirect on 80, proxy protocol v2 to the pods; edgeLoadBalancers.ts),
// PodDisruptionBudget and HorizontalPodAutoscaler.

import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import {
    ADMIN_PORT, ADMIN_TOKEN_ENV, CACHE_DIR, CONFIG_DIR, CONFIG_ENV, CONFIG_FILE_NAME, CONFIG_PATH, EDGE_UID, HTTPS_REDIRECT_PORT,
    LIVENESS_PATH, METRICS_PATH, READINESS_PATH, TMP_DIR, VIEWER_PORT,
} from "./constants";
import { EdgeSettings, edgeRuntimeSettings, parseByteQuantity, parseCpuQuantity } from "./config";
import { createEdgeServices } from "./edgeLoadBalancers";

export interface EdgeNodesArgs {
    region: string;
    provider: k8s.Provider;
    edge: EdgeSettings;
    /** The node's invalidation.startTimeoutSeconds: it answers no probe while it catches up with the log. */
    invalidationStartTimeoutSeconds?: number;
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

/** The startup probe's period; with STARTUP_PROBE_FAILURES it gives a node 60 s to start. */
const STARTUP_PROBE_PERIOD_SECONDS = 2;
const STARTUP_PROBE_FAILURES = 30;
/** The catch-up those 60 s already leave room for (the server's default startTimeoutSeconds). */
const STARTUP_CATCH_UP_ALLOWANCE_SECONDS = 10;

/**
 * Failures the startup probe allows before the kubelet restarts a starting node. The node opens its ports only after
 * it has caught up with the invalidation log or waited startTimeoutSeconds, so a longer wait gets as much more time.
 */
export function startupProbeFailures(startTimeoutSeconds = STARTUP_CATCH_UP_ALLOWANCE_SECONDS): number {
    const extra = Math.max(0, startTimeoutSeconds - STARTUP_CATCH_UP_ALLOWANCE_SECONDS);
    return STARTUP_PROBE_FAILURES + Math.ceil(extra / STARTUP_PROBE_PERIOD_SECONDS);
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

        // The GC's heap limit and mode from the container's limits (config/runtime.ts): the runtime's own default, 75% of
        // the limit, leaves too little for the runtime beside a full tier in a small container, and too much heap in a
        // large one; server GC needs a core per heap.
        const runtime = edgeRuntimeSettings({
            memoryLimitBytes: parseByteQuantity(args.edge.resources.memory.limit)!,
            cpuLimitMillicores: parseCpuQuantity(args.edge.resources.cpu.limit)!,
            memoryTierBytes: args.edge.cache.memoryBytes,
            diskMaxEntries: args.edge.cache.diskMaxEntries,
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
                                ...Object.entries(runtime.env).map(([name, value]) => ({ name, value })),
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
                            startupProbe: adminPortProbe(LIVENESS_PATH, STARTUP_PROBE_PERIOD_SECONDS, startupProbeFailures(args.invalidationStartTimeoutSeconds)),
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

        const services = createEdgeServices(name, {
            edge: args.edge, certificateArn: args.certificateArn, adminAllowedCidrs: args.adminAllowedCidrs, namespace, labels, deployment,
        }, o);
        this.hostname = services.hostname;
        this.adminHostname = services.adminHostname;
        this.adminServiceName = services.admin.metadata.name;

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

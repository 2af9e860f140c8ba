// The whole CDN from one typed stack config (parseCdnConfig's result): origins, the control bucket of the fleet's
// invalidation log, the edge image, and per region a certificate, a cluster, the edge nodes; then latency DNS over
// every region.

import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { AccessLogBucket } from "./accessLogBucket";
import { EdgeCertificate } from "./certificate";
import { CdnConfig, checkDerivedNames, CreatedS3Origin, regionalNames } from "./config";
import { ADMIN_PORT, PURGE_PATH } from "./constants";
import { ControlBucket } from "./controlBucket";
import { BucketsForRegion, renderEdgeConfig } from "./edgeConfig";
import { EdgeImage } from "./edgeImage";
import { EdgeNodes } from "./edgeNodes";
import { EdgeRegion, ReadableBucket } from "./edgeRegion";
import { KubeconfigCredentials } from "./kubeconfig";
import { LatencyDns } from "./latencyDns";
import { LogShipper } from "./logShipper";
import { MetricsAgent, MetricsAgentArgs } from "./metricsAgent";
import { MetricsWorkspace } from "./metricsWorkspace";
import { renderAlertRules } from "./observabilityFiles";
import { Origins } from "./origins";

export interface CdnArgs {
    /**
     * The validated stack config: what parseCdnConfig returns for the `edgecdn:*` values (stacks/program.ts reads and
     * parses them, so a bad config is reported in full before this component exists).
     */
    config: CdnConfig;
    /** Directory image build paths are relative to (the Pulumi project root). */
    projectRoot: string;
    /**
     * Credentials the kubeconfigs' `aws eks get-token` uses; default: the stack's AWS provider config (aws:profile, and
     * the last role of aws:assumeRoles), so Kubernetes calls run as the same identity as the AWS ones.
     */
    awsCredentials?: KubeconfigCredentials;
}

export interface RegionOutputs {
    /** The regional NLB's hostname (what the latency record and health check point at). */
    endpoint: pulumi.Output<string>;
    /** https://<region>.<domain>/ — this region only, bypassing latency routing. */
    regionalUrl: string;
    healthCheckId: pulumi.Output<string>;
    image: pulumi.Output<string>;
    clusterName: pulumi.Output<string>;
    /** Where to POST a purge to one node of this region (the fleet's invalidations go through the control bucket). */
    adminEndpoint: pulumi.Output<string>;
}

/** Where the fleet's metrics and access logs are (stack outputs). */
export interface ObservabilityOutputs {
    /** The Amazon Managed Service for Prometheus workspace; absent with a remote-write URL or metrics off. */
    workspace?: { id: pulumi.Output<string>; arn: pulumi.Output<string>; region: string; queryUrl: pulumi.Output<string> };
    /** Where every cluster's agent remote-writes; absent with metrics off. */
    remoteWriteUrl?: pulumi.Output<string>;
    /** The rendered alert rules: loaded into the workspace, or for a Prometheus of your own to load. */
    alertRules: string;
    /** The access-log bucket; absent with access logs off. */
    accessLogs?: { bucket: pulumi.Output<string>; region: string; prefix: string };
}

export const EDGE_SERVICE_ACCOUNT = "edgecache";

export class Cdn extends pulumi.ComponentResource {
    public readonly config: CdnConfig;
    public readonly viewerUrl: string;
    public readonly regions: Record<string, RegionOutputs> = {};
    /** Bucket names of created origins: primary and per-region replicas. */
    public readonly buckets: Record<string, { primary: pulumi.Output<string>; replicas: Record<string, pulumi.Output<string>> }> = {};
    public readonly adminToken: pulumi.Output<string>;
    /** The bucket of the fleet's invalidation log, which `edgecdn --stack` reads from the stack outputs. */
    public readonly controlBucket: pulumi.Output<string>;
    public readonly controlBucketRegion: string;
    /** The managed policy that lets a role run edgecdn against this stack. */
    public readonly invalidatorPolicyArn: pulumi.Output<string>;
    public readonly observability: ObservabilityOutputs;

    constructor(name: string, args: CdnArgs, opts?: pulumi.ComponentResourceOptions) {
        // The IAM roles, clusters and node groups are named after this component: a name too long for AWS throws a
        // CdnConfigError here, before anything is registered, rather than failing halfway through `pulumi up`.
        checkDerivedNames(name, args.config);
        super("edgecdn:index:Cdn", name, {}, opts);
        const cfg = args.config;
        this.config = cfg;
        for (const w of cfg.warnings) { pulumi.log.warn(w, this); }
        const parent = { parent: this };
        const tags = { "edgecdn:stack": name, ...cfg.tags };
        const regionNames = cfg.regions.map((r) => r.name);

        const account = aws.getCallerIdentityOutput({}, parent);
        const awsCredentials = args.awsCredentials ?? {
            profile: aws.config.profile,
            roleArn: aws.config.assumeRoles?.[aws.config.assumeRoles.length - 1]?.roleArn,
        };
        const zoneId = /^Z[A-Z0-9]+$/.test(cfg.hostedZone)
            ? pulumi.output(cfg.hostedZone)
            : aws.route53.getZoneOutput({ name: cfg.hostedZone, privateZone: false }, parent).zoneId;

        const token = new random.RandomPassword(`${name}-admin-token`, { length: 48, special: false }, parent);
        this.adminToken = pulumi.secret(token.result);

        const created = cfg.origins.filter((o): o is CreatedS3Origin => o.type === "s3" && o.kind === "created");
        const origins = new Origins(`${name}-origins`, {
            origins: created, primaryRegion: cfg.primaryRegion, edgeRegions: regionNames, accountId: account.accountId, tags,
        }, parent);
        for (const [originName, b] of Object.entries(origins.buckets)) {
            this.buckets[originName] = {
                primary: b.primary.bucket,
                replicas: Object.fromEntries(Object.entries(b.replicas).map(([r, info]) => [r, info.bucket])),
            };
        }

        // Every node in every region follows one log, in the primary region.
        const control = new ControlBucket(`${name}-control`, { region: cfg.primaryRegion, stackName: name, tags }, parent);
        this.controlBucket = control.bucket;
        this.controlBucketRegion = control.region;
        this.invalidatorPolicyArn = control.invalidatorPolicyArn;
        // The fleet's metrics and access logs: one workspace and one log bucket in the primary region, an agent and a
        // shipper per cluster (below).
        const obs = cfg.observability;
        const workspace = obs.metrics.kind === "created" || obs.metrics.kind === "existing"
            ? new MetricsWorkspace(`${name}-metrics`, {
                region: obs.metrics.kind === "existing" ? obs.metrics.region : cfg.primaryRegion,
                existingWorkspaceId: obs.metrics.kind === "existing" ? obs.metrics.workspaceId : undefined,
                accountId: account.accountId,
                thresholds: obs.alerts,
                tags,
            }, parent)
            : undefined;
        const remoteWrite: MetricsAgentArgs["remoteWrite"] | undefined = workspace
            ? { workspaceArn: workspace.workspaceArn, url: workspace.remoteWriteUrl, workspaceRegion: obs.metrics.kind === "existing" ? obs.metrics.region : cfg.primaryRegion }
            : obs.metrics.kind === "remoteWrite" ? { url: obs.metrics.url } : undefined;
        const logBucket = obs.accessLogs.enabled
            ? new AccessLogBucket(`${name}-access-logs`, { region: cfg.primaryRegion, expireDays: obs.accessLogs.expireDays, tags }, parent)
            : undefined;
        this.observability = {
            workspace: workspace && {
                id: workspace.workspaceId, arn: workspace.workspaceArn, queryUrl: workspace.queryUrl,
                region: obs.metrics.kind === "existing" ? obs.metrics.region : cfg.primaryRegion,
            },
            remoteWriteUrl: remoteWrite && pulumi.output(remoteWrite.url),
            alertRules: workspace?.alertRules ?? renderAlertRules(obs.alerts),
            accessLogs: logBucket && { bucket: logBucket.bucket, region: logBucket.region, prefix: "access-logs/" },
        };

        const image = new EdgeImage(`${name}-image`, {
            image: cfg.image, regions: regionNames, projectRoot: args.projectRoot, accountId: account.accountId, tags,
        }, parent);

        const endpoints = cfg.regions.map((region) => {
            const r = region.name;
            const names = regionalNames(cfg.domain, r);
            const exposeAdmin = cfg.admin.allowedCidrs.length > 0;

            const cert = new EdgeCertificate(`${name}-${r}-cert`, {
                region: r, zoneId, domain: cfg.domain, alternativeNames: [...names], tags,
            }, parent);

            // What this region's nodes read: the local replica and the primary (failover) of created origins, and
            // existing buckets where they are.
            const readBuckets: ReadableBucket[] = [];
            const bucketNames: Record<string, { primary: pulumi.Output<string>; local?: pulumi.Output<string>; localRegion?: string }> = {};
            for (const o of cfg.origins) {
                if (o.type !== "s3") { continue; }
                if (o.kind === "existing") {
                    readBuckets.push({
                        arn: `arn:aws:s3:::${o.bucket}`,
                        keyPrefix: o.keyPrefix,
                        kms: o.kmsKeyArn ? { keyArn: o.kmsKeyArn, bucketRegion: o.region } : undefined,
                    });
                    continue;
                }
                const b = origins.buckets[o.name];
                const local = b.replicas[r];
                readBuckets.push({ arn: b.primary.arn, keyPrefix: o.keyPrefix });
                if (local) { readBuckets.push({ arn: local.arn, keyPrefix: o.keyPrefix }); }
                bucketNames[o.name] = { primary: b.primary.bucket, local: local?.bucket, localRegion: local?.region };
            }

            const edgeRegion = new EdgeRegion(`${name}-${r}`, {
                region: r,
                cluster: region.cluster,
                namespace: cfg.edge.namespace,
                serviceAccountName: EDGE_SERVICE_ACCOUNT,
                readBuckets,
                invalidationLog: { bucketArn: control.arn },
                accountId: account.accountId,
                apiPublicAccessCidrs: cfg.kubernetesApi.publicAccessCidrs,
                awsCredentials,
                tags,
            }, parent);

            const configJson = pulumi.all([bucketNames, control.bucket]).apply(([resolved, controlBucket]) => {
                const buckets: BucketsForRegion = {};
                for (const [o, b] of Object.entries(resolved)) {
                    buckets[o] = {
                        primary: { bucket: b.primary, region: cfg.primaryRegion },
                        local: b.local && b.localRegion ? { bucket: b.local, region: b.localRegion } : undefined,
                    };
                }
                return JSON.stringify(renderEdgeConfig({
                    region: r, origins: cfg.origins, behaviors: cfg.behaviors, edge: cfg.edge, buckets,
                    invalidation: { bucket: controlBucket, region: control.region, ...cfg.invalidation },
                }), null, 2);
            });

            const nodes = new EdgeNodes(`${name}-${r}-edge`, {
                region: r,
                provider: edgeRegion.provider,
                edge: cfg.edge,
                invalidationStartTimeoutSeconds: cfg.invalidation.startTimeoutSeconds,
                serviceAccountName: EDGE_SERVICE_ACCOUNT,
                roleArn: edgeRegion.edgeRoleArn,
                image: image.imageRefs[r],
                configJson,
                adminToken: token.result,
                certificateArn: cert.certificateArn,
                replicas: region.replicas,
                adminAllowedCidrs: cfg.admin.allowedCidrs,
                dependsOn: edgeRegion.workloadDependencies,
            }, parent);

            const observed = { region: r, provider: edgeRegion.provider, edgeNamespace: nodes.namespace, oidcProviderArn: edgeRegion.oidcProviderArn,
                issuerUrl: edgeRegion.issuerUrl, tags, dependsOn: edgeRegion.workloadDependencies };
            if (remoteWrite) {
                new MetricsAgent(`${name}-${r}-metrics-agent`, { ...observed, remoteWrite }, parent);
            }
            if (logBucket) {
                new LogShipper(`${name}-${r}-log-shipper`, {
                    ...observed, bucket: logBucket.bucket, bucketArn: logBucket.arn, bucketRegion: logBucket.region,
                }, parent);
            }

            const lbZoneId = aws.lb.getHostedZoneIdOutput({ loadBalancerType: "network", region: r }, parent).id;
            // Not exposed: reach it through the Kubernetes API.
            const kubeconfigStep = "existing" in region.cluster && region.cluster.existing.kubeconfig
                ? pulumi.output("with the region's kubeconfig from the stack config,")
                : pulumi.interpolate`aws eks update-kubeconfig --region ${r} --name ${edgeRegion.clusterName} &&`;
            const adminEndpoint = exposeAdmin
                ? pulumi.output(`https://${names.admin}${PURGE_PATH}`)
                : pulumi.interpolate`${kubeconfigStep} kubectl -n ${nodes.namespace} port-forward svc/${nodes.adminServiceName} ${ADMIN_PORT}:${ADMIN_PORT}, then POST http://127.0.0.1:${ADMIN_PORT}${PURGE_PATH}`;

            this.regions[r] = {
                endpoint: nodes.hostname,
                regionalUrl: `https://${names.regional}/`,
                healthCheckId: pulumi.output(""),
                image: image.imageRefs[r],
                clusterName: edgeRegion.clusterName,
                adminEndpoint,
            };
            return {
                region: r,
                hostname: nodes.hostname,
                loadBalancerZoneId: lbZoneId,
                regionalName: names.regional,
                admin: nodes.adminHostname ? { hostname: nodes.adminHostname, name: names.admin } : undefined,
            };
        });

        const dns = new LatencyDns(`${name}-dns`, {
            zoneId, domain: cfg.domain, endpoints, healthCheck: cfg.healthCheck, tags,
        }, parent);
        for (const r of regionNames) { this.regions[r].healthCheckId = dns.healthCheckIds[r]; }

        this.viewerUrl = `https://${cfg.domain}/`;
        this.registerOutputs({
            viewerUrl: this.viewerUrl, regions: this.regions, buckets: this.buckets, adminToken: this.adminToken,
            controlBucket: this.controlBucket, controlBucketRegion: this.controlBucketRegion, invalidatorPolicyArn: this.invalidatorPolicyArn,
            observability: this.observability,
        });
    }
}

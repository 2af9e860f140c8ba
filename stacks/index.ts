// The Pulumi program (Pulumi.yaml's `main`). `pulumi up` on a stack stands up the whole CDN from Pulumi.<stack>.yaml.

import { createCdnStack } from "./program";

const out = createCdnStack();

/** https://<domain>/ — what viewers use; Route 53 sends them to the nearest healthy region. */
export const viewerUrl = out.viewerUrl;
/** Per region: NLB endpoint, regional URL, health-check id, image, cluster, one node's purge endpoint. */
export const regions = out.regions;
export const endpoints = out.endpoints;
export const healthCheckIds = out.healthCheckIds;
export const images = out.images;
/**
 * Where to reach one node's admin /purge, per region (`pulumi stack output --show-secrets adminToken` is the bearer
 * token). Invalidating the whole fleet is `edgecdn --stack <stack> invalidate`.
 */
export const adminEndpoints = out.adminEndpoints;
export const buckets = out.buckets;
export const adminToken = out.adminToken;
/** The control bucket of the fleet's invalidation log and its region: what `edgecdn --stack <stack>` reads. */
export const controlBucket = out.controlBucket;
export const controlBucketRegion = out.controlBucketRegion;
/** A managed policy with what edgecdn needs; attach it to the role (a CI job's, an operator's) that invalidates. */
export const invalidatorPolicyArn = out.invalidatorPolicyArn;
/** The fleet's metrics: the Amazon Managed Service for Prometheus workspace and its query URL (SigV4; Grafana's data source). */
export const metricsWorkspaceId = out.metricsWorkspaceId;
export const metricsWorkspaceArn = out.metricsWorkspaceArn;
export const metricsQueryUrl = out.metricsQueryUrl;
export const metricsRemoteWriteUrl = out.metricsRemoteWriteUrl;
/** The alert rules as loaded (or to load into a Prometheus of your own). */
export const alertRules = out.alertRules;
/** The nodes' access logs: s3://<bucket>/access-logs/region=<region>/date=<yyyy-mm-dd>/ (docs/operations.md, Athena). */
export const accessLogBucket = out.accessLogBucket;
export const accessLogBucketRegion = out.accessLogBucketRegion;

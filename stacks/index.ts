// The Pulumi program (Pulumi.yaml's `main`). `pulumi up` on a stack stands up the whole CDN from Pulumi.<stack>.yaml.

import { createCdnStack } from "./program";

const out = createCdnStack();

/** https://<domain>/ — what viewers use; Route 53 sends them to the nearest healthy region. */
export const viewerUrl = out.viewerUrl;
/** Per region: NLB endpoint, regional URL, health-check id, image, cluster, purge endpoint. */
export const regions = out.regions;
export const endpoints = out.endpoints;
export const healthCheckIds = out.healthCheckIds;
export const images = out.images;
/** Where to send purges, per region (`pulumi stack output --show-secrets adminToken` is the bearer token). */
export const adminEndpoints = out.adminEndpoints;
export const buckets = out.buckets;
export const adminToken = out.adminToken;

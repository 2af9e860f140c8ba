// Renders the edge server's JSON config (edge-image/EdgeCache/edgecache.schema.json) for one region from the stack
// config, and checks it as the node will at start-up (its schema and its other rules), so that a config the node would
// refuse stops `pulumi up` instead of a rollout. Pure.

import { ADMIN_PORT, CACHE_DIR, HTTPS_REDIRECT_PORT, VIEWER_PORT } from "./constants";
import {
    Behavior, checkEdgeServerConfig, EdgeSettings, InvalidationSettings, LOCAL_MEMBER_SUFFIX, OriginConfig, PRIMARY_MEMBER_SUFFIX,
} from "./config";

/** Where one created S3 origin's objects live, as seen from one region. */
export interface S3Location {
    bucket: string;
    region: string;
}

/** For each created S3 origin: its primary bucket, and the replica in this region when there is one. */
export type BucketsForRegion = Record<string, { primary: S3Location; local?: S3Location }>;

/** Status codes on which a region's replica falls over to the primary: 403/404 cover objects not replicated yet. */
export const REPLICA_FAILOVER_STATUS_CODES = [403, 404, 500, 502, 503, 504];

/** The fleet's invalidation log the node follows: the control bucket, where it is, and the node's settings. */
export interface InvalidationLogConfig extends InvalidationSettings {
    bucket: string;
    region: string;
}

export interface EdgeServerConfig {
    node: { name: string; region: string };
    listen: { viewerPort: number; adminPort: number; proxyProtocol: boolean; httpsRedirectPort: number };
    cache: { memoryBytes: number; maxObjectBytes: number; disk: { directory: string; maxBytes: number; maxEntries: number } };
    accessLog: { enabled: boolean };
    shutdown: { gracePeriodSeconds: number };
    invalidation?: InvalidationLogConfig;
    origins: Record<string, unknown>[];
    behaviors: Behavior[];
}

export function renderEdgeConfig(args: {
    region: string;
    origins: OriginConfig[];
    behaviors: Behavior[];
    edge: EdgeSettings;
    buckets: BucketsForRegion;
    /** Without it the node has only its admin /purge. */
    invalidation?: InvalidationLogConfig;
}): EdgeServerConfig {
    const origins: Record<string, unknown>[] = [];
    for (const o of args.origins) {
        if (o.type === "http") {
            const { name, type, ...rest } = o;
            origins.push({ id: name, type, ...rest });
        } else if (o.kind === "existing") {
            origins.push(withPrefix({ id: o.name, type: "s3", bucket: o.bucket, region: o.region }, o.keyPrefix));
        } else {
            const b = args.buckets[o.name];
            if (!b) { throw new Error(`no bucket for origin ${o.name} in ${args.region}`); }
            if (!b.local) {
                origins.push(withPrefix({ id: o.name, type: "s3", ...b.primary }, o.keyPrefix));
            } else {
                // Read the replica in this region; fall over to the primary for what has not replicated yet or when
                // the regional bucket fails. Behaviors keep naming the origin: its id is the group's.
                const local = `${o.name}${LOCAL_MEMBER_SUFFIX}`, primary = `${o.name}${PRIMARY_MEMBER_SUFFIX}`;
                origins.push(
                    { id: o.name, type: "group", primary: local, secondary: primary, failoverStatusCodes: REPLICA_FAILOVER_STATUS_CODES },
                    withPrefix({ id: local, type: "s3", ...b.local }, o.keyPrefix),
                    withPrefix({ id: primary, type: "s3", ...b.primary }, o.keyPrefix),
                );
            }
        }
    }
    const config: EdgeServerConfig = {
        node: { name: `edge-${args.region}`, region: args.region },
        // The NLB's target groups send a PROXY protocol v2 header on every connection (viewer port and redirect
        // port alike), which carries the viewer's address; the node refuses connections without one.
        listen: { viewerPort: VIEWER_PORT, adminPort: ADMIN_PORT, proxyProtocol: true, httpsRedirectPort: HTTPS_REDIRECT_PORT },
        cache: {
            memoryBytes: args.edge.cache.memoryBytes,
            maxObjectBytes: args.edge.cache.maxObjectBytes,
            disk: { directory: CACHE_DIR, maxBytes: args.edge.cache.diskBytes, maxEntries: args.edge.cache.diskMaxEntries },
        },
        accessLog: { enabled: args.edge.accessLog },
        // No readiness.requireOrigins: a node that can serve viewers stays ready while an origin is down, so the
        // cache and stale-if-error keep answering; origin health is a metric, not a probe result.
        shutdown: { gracePeriodSeconds: args.edge.shutdownGracePeriodSeconds },
        // No nodeId: the node names its acks and heartbeat after its host name, which on Kubernetes is the pod's name.
        ...(args.invalidation ? { invalidation: { ...args.invalidation } } : {}),
        origins,
        // Unchanged: stack config behaviors have the schema's shape.
        behaviors: args.behaviors,
    };
    const errors = checkEdgeServerConfig(config);
    if (errors.length > 0) {
        throw new Error(`The edge node config for ${args.region} would be refused by the node:\n${errors.map((e) => `  - ${e}`).join("\n")}`);
    }
    return config;
}

function withPrefix<T extends Record<string, unknown>>(origin: T, keyPrefix: string | undefined): T {
    return keyPrefix === undefined ? origin : { ...origin, keyPrefix };
}

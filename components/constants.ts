// The edge server's fixed contract (edge-image/EdgeCache). One place, so the Deployment, the Service, the Route 53
// health checks and the tests cannot disagree about a port or a path.

/** Port the edge server serves viewers on; the NLB's TLS listener forwards 443 here. */
export const VIEWER_PORT = 8080;

/**
 * Plain-HTTP port on which the edge server answers every request with 301 to the same URL over https (the node's
 * listen.httpsRedirectPort); the NLB's port-80 listener forwards here.
 */
export const HTTPS_REDIRECT_PORT = 8088;

/** Port of /healthz, /readyz, /metrics and /purge. Never exposed to viewers. */
export const ADMIN_PORT = 9090;

/**
 * Health path the edge server answers on the VIEWER port (liveness only, no details). Route 53 and the NLB check
 * this path because the NLB forwards only to the viewer port, where the admin /healthz is not served.
 */
export const VIEWER_HEALTH_PATH = "/.edge/healthz";

/** Admin-port liveness (kubelet's livenessProbe). */
export const LIVENESS_PATH = "/healthz";

/**
 * Admin-port readiness: the node can serve viewers (config loaded, listening, disk tier indexed, invalidation log
 * caught up). Origin health is reported there and on /metrics but does not make a node unready.
 */
export const READINESS_PATH = "/readyz";

/** Admin-port Prometheus endpoint. */
export const METRICS_PATH = "/metrics";

/** Admin-port purge API (POST, bearer token). */
export const PURGE_PATH = "/purge";

/** Where the ConfigMap's JSON is mounted, and the environment variable that tells the server. */
export const CONFIG_DIR = "/etc/edgecache";
export const CONFIG_FILE_NAME = "edgecache.json";
export const CONFIG_PATH = `${CONFIG_DIR}/${CONFIG_FILE_NAME}`;
export const CONFIG_ENV = "EDGECACHE_CONFIG";

/** Bearer token of the purge API, from a Kubernetes Secret. The server refuses tokens shorter than 16 characters. */
export const ADMIN_TOKEN_ENV = "EDGECACHE_ADMIN_TOKEN";

/** Writable volumes of the read-only container: the disk cache tier and scratch space. */
export const CACHE_DIR = "/var/cache/edgecache";
export const TMP_DIR = "/tmp";

/** The non-root user the image runs as. */
export const EDGE_UID = 10001;

/** Port viewers reach the NLB on (TLS, terminated by the NLB with the region's ACM certificate). */
export const HTTPS_PORT = 443;

/** Plain-HTTP port of the NLB: forwarded to HTTPS_REDIRECT_PORT, which redirects to https. */
export const HTTP_PORT = 80;

/**
 * The fleet's invalidation log in the control bucket (edge-image/EdgeCache.InvalidationLog/ControlBucketKeys.cs): the
 * head every node polls, one immutable record per invalidation, the nodes' acks (acks/<id>/<region>/<node>) and
 * heartbeats (nodes/<region>/<node>). The IAM policies and the bucket's lifecycle are written against these.
 */
export const INVALIDATION_LOG_KEYS = {
    head: "head.json",
    records: "invalidations/",
    acks: "acks/",
    nodes: "nodes/",
} as const;

// Origins: S3 buckets the stack creates (replicated to every edge region), buckets that already exist, and HTTP
// origins.

import { Checker, describe, strip } from "./checker";
import { OriginConfig } from "./types";

/** A created S3 origin with a replica renders as a group; its members get these suffixes (ids stay <= 63 chars). */
export const LOCAL_MEMBER_SUFFIX = "-local";
export const PRIMARY_MEMBER_SUFFIX = "-primary";
const MAX_ORIGIN_NAME = 40;
const ORIGIN_NAME = new RegExp(`^[a-z0-9][a-z0-9-]{0,${MAX_ORIGIN_NAME - 1}}$`);
const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const HTTP_URL = /^https?:\/\/[^/?#@]+(\/[^?#]*)?$/;
/** The edge server's own check (edgecache.schema.json): it is sent as the Host header, so no spaces, line breaks or paths. */
const HOST_HEADER = /^([A-Za-z0-9._-]+|\[[0-9A-Fa-f:.]+\])(:[0-9]{1,5})?$/;
const KMS_KEY_ARN = /^arn:aws:kms:[a-z]{2}(-[a-z]+)+-[0-9]:[0-9]{12}:key\/[0-9a-f-]{36}$|^arn:aws:kms:[a-z]{2}(-[a-z]+)+-[0-9]:[0-9]{12}:key\/mrk-[0-9a-f]{32}$/;

export function parseOrigins(c: Checker, v: unknown): OriginConfig[] | undefined {
    const list = c.array("origins", v);
    if (!list) { return undefined; }
    if (list.length === 0) {
        c.add("origins", "is empty (expected at least one origin)");
        return undefined;
    }
    const seen = new Map<string, number>();
    const out: OriginConfig[] = [];
    for (const [i, item] of list.entries()) {
        const at = `origins[${i}]`;
        if (!c.isObject(item)) {
            c.add(at, `${describe(item)} is not an object`);
            continue;
        }
        const name = c.string(`${at}.name`, item.name, {
            pattern: ORIGIN_NAME, expected: `1-${MAX_ORIGIN_NAME} lower-case letters, digits or '-', starting with a letter or digit`,
        });
        if (name !== undefined) {
            const first = seen.get(name);
            if (first !== undefined) {
                c.add(`${at}.name`, `${describe(name)} is already origins[${first}]; origin names must be unique`);
            } else {
                seen.set(name, i);
            }
        }
        const type = c.oneOf(`${at}.type`, item.type, ["s3", "http"] as const);
        if (type === "http") {
            c.object(at, item, ["name", "type", "url", "hostHeader", "connectTimeoutMs", "readTimeoutMs", "maxConnections", "maxPassThroughConnections", "healthPath"]);
            const url = c.string(`${at}.url`, item.url, {
                pattern: HTTP_URL, expected: "an http:// or https:// base URL without query, fragment or user info",
            });
            const hostHeader = c.string(`${at}.hostHeader`, item.hostHeader, {
                required: false, pattern: HOST_HEADER, expected: "a host name or address with an optional port, sent to the origin as its Host header",
            });
            const connectTimeoutMs = item.connectTimeoutMs === undefined ? undefined : c.integer(`${at}.connectTimeoutMs`, item.connectTimeoutMs, 1, 120000);
            const readTimeoutMs = item.readTimeoutMs === undefined ? undefined : c.integer(`${at}.readTimeoutMs`, item.readTimeoutMs, 1, 600000);
            const maxConnections = item.maxConnections === undefined ? undefined : c.integer(`${at}.maxConnections`, item.maxConnections, 1, 65536);
            const maxPassThroughConnections = item.maxPassThroughConnections === undefined
                ? undefined : c.integer(`${at}.maxPassThroughConnections`, item.maxPassThroughConnections, 1, 65536);
            const healthPath = c.string(`${at}.healthPath`, item.healthPath, { required: false, pattern: /^\//, expected: "a path starting with /" });
            if (name && url) {
                out.push(strip({ name, type, url, hostHeader, connectTimeoutMs, readTimeoutMs, maxConnections, maxPassThroughConnections, healthPath }));
            }
        } else if (type === "s3") {
            const keyPrefix = c.string(`${at}.keyPrefix`, item.keyPrefix, {
                required: false, pattern: /^(?!\/)(?!.*\.\.).*$/, expected: "a key prefix without a leading '/' or '..'",
            });
            if (item.bucket !== undefined || item.region !== undefined) {
                c.object(at, item, ["name", "type", "bucket", "region", "keyPrefix", "kmsKeyArn"]);
                const bucket = c.string(`${at}.bucket`, item.bucket, { pattern: BUCKET_NAME, expected: "an existing S3 bucket's name" });
                const region = c.region(`${at}.region`, item.region);
                const kmsKeyArn = c.string(`${at}.kmsKeyArn`, item.kmsKeyArn, {
                    required: false, pattern: KMS_KEY_ARN,
                    expected: "the key's ARN, arn:aws:kms:<region>:<account>:key/<key id> (not an alias: IAM grants kms:Decrypt on keys)",
                });
                const keyRegion = kmsKeyArn?.split(":")[3];
                if (kmsKeyArn && region && keyRegion !== region) {
                    c.add(`${at}.kmsKeyArn`, `is in ${keyRegion} but the bucket ${bucket ?? ""} is in ${region}; S3 can only use a KMS key of its own region`);
                } else if (name && bucket && region && (item.kmsKeyArn === undefined || kmsKeyArn)) {
                    out.push(strip({ name, type, kind: "existing", bucket, region, keyPrefix, kmsKeyArn }));
                }
            } else {
                c.object(at, item, ["name", "type", "replicate", "keyPrefix", "noncurrentVersionDays", "replicationTimeControl"]);
                const replicate = c.boolean(`${at}.replicate`, item.replicate, true);
                const noncurrentVersionDays = c.integer(`${at}.noncurrentVersionDays`, item.noncurrentVersionDays, 1, 3650, 30);
                const replicationTimeControl = c.boolean(`${at}.replicationTimeControl`, item.replicationTimeControl, false);
                if (replicationTimeControl && !replicate) {
                    c.add(`${at}.replicationTimeControl`, "is true but replicate is false; there is no replication to time");
                } else if (name && noncurrentVersionDays) {
                    out.push(strip({ name, type, kind: "created", replicate, keyPrefix, noncurrentVersionDays, replicationTimeControl }));
                }
            }
        }
    }
    return out.length === list.length ? out : undefined;
}

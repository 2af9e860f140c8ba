// Origins: S3 buckets the stack creates (replicated to every edge region), buckets that already exist, and HTTP
// origins.

import { Checker, describe, strip } from "./checker";
import { schemaErrors } from "./edgeSchema";
import { HttpOrigin, OriginConfig } from "./types";

/** A created S3 origin with a replica renders as a group; its members get these suffixes (ids stay <= 63 chars). */
export const LOCAL_MEMBER_SUFFIX = "-local";
export const PRIMARY_MEMBER_SUFFIX = "-primary";
const MAX_ORIGIN_NAME = 40;
const ORIGIN_NAME = new RegExp(`^[a-z0-9][a-z0-9-]{0,${MAX_ORIGIN_NAME - 1}}$`);
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
            // Rendered as the node's http origin with the name as its id: the node's schema says what its fields may be.
            const fields = Object.fromEntries(Object.entries(item).filter(([k]) => k !== "name"));
            const errors = schemaErrors(at, { ...fields, id: "o" }, "origin");
            c.errors.push(...errors);
            if (name && errors.length === 0) {
                out.push(strip({ name, ...fields } as unknown as HttpOrigin));
            }
        } else if (type === "s3") {
            const prefixErrors = item.keyPrefix === undefined ? [] : schemaErrors(`${at}.keyPrefix`, item.keyPrefix, "keyPrefix");
            c.errors.push(...prefixErrors);
            const keyPrefix = prefixErrors.length === 0 ? item.keyPrefix as string | undefined : undefined;
            if (item.bucket !== undefined || item.region !== undefined) {
                c.object(at, item, ["name", "type", "bucket", "region", "keyPrefix", "kmsKeyArn"]);
                const bucket = c.string(`${at}.bucket`, item.bucket, { expected: "an existing S3 bucket's name" });
                const bucketErrors = bucket === undefined ? [] : schemaErrors(`${at}.bucket`, bucket, "bucketName");
                c.errors.push(...bucketErrors);
                const region = c.region(`${at}.region`, item.region);
                const kmsKeyArn = c.string(`${at}.kmsKeyArn`, item.kmsKeyArn, {
                    required: false, pattern: KMS_KEY_ARN,
                    expected: "the key's ARN, arn:aws:kms:<region>:<account>:key/<key id> (not an alias: IAM grants kms:Decrypt on keys)",
                });
                const keyRegion = kmsKeyArn?.split(":")[3];
                if (kmsKeyArn && region && keyRegion !== region) {
                    c.add(`${at}.kmsKeyArn`, `is in ${keyRegion} but the bucket ${bucket ?? ""} is in ${region}; S3 can only use a KMS key of its own region`);
                } else if (name && bucket && bucketErrors.length === 0 && region && (item.kmsKeyArn === undefined || kmsKeyArn)) {
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

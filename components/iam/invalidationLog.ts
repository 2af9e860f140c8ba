// Who may do what in the control bucket that holds the fleet's invalidation log (docs/operations.md, Invalidating):
// an edge node reads the log and writes only its own region's acks and heartbeats; an invalidator (edgecdn, a CI
// job) writes records and the head and reads the fleet's state. Nobody but the bucket's owner deletes anything: the
// bucket's lifecycle expires old objects.

import { INVALIDATION_LOG_KEYS as KEYS } from "../constants";

/** "" or the key prefix with one trailing '/', as the server's ControlBucketKeys makes it. */
function normalize(keyPrefix: string | undefined): string {
    const trimmed = (keyPrefix ?? "").replace(/^\/+|\/+$/g, "");
    return trimmed === "" ? "" : `${trimmed}/`;
}

/**
 * An edge node's permissions, for the nodes of one region (the region it names in its keys, `node.region`). The node
 * GETs the head (conditionally, If-None-Match: still s3:GetObject) and the records, lists the records, and PUTs acks
 * and heartbeats; that is every call the follower makes. s3:ListBucket is limited to the records and the head: the
 * follower lists only invalidations/, and S3 answers a GET of a missing key with 404 only to a caller that may list
 * that key (otherwise 403, which the node would count as the bucket being unreachable), and the head is missing until
 * the first invalidation is written.
 */
export function edgeInvalidationLogPolicy(bucketArn: string, region: string, keyPrefix?: string): string {
    const p = normalize(keyPrefix);
    return JSON.stringify({
        Version: "2012-10-17",
        Statement: [
            {
                Sid: "ReadInvalidationLog",
                Effect: "Allow",
                Action: ["s3:GetObject"],
                Resource: [`${bucketArn}/${p}${KEYS.head}`, `${bucketArn}/${p}${KEYS.records}*`],
            },
            {
                Sid: "ListInvalidationRecords",
                Effect: "Allow",
                Action: ["s3:ListBucket"],
                Resource: bucketArn,
                Condition: { StringLike: { "s3:prefix": [`${p}${KEYS.records}*`, `${p}${KEYS.head}`] } },
            },
            {
                Sid: "WriteOwnRegionAcksAndHeartbeats",
                Effect: "Allow",
                Action: ["s3:PutObject"],
                Resource: [`${bucketArn}/${p}${KEYS.acks}*/${region}/*`, `${bucketArn}/${p}${KEYS.nodes}${region}/*`],
            },
        ],
    });
}

/**
 * What `edgecdn` needs for every command: write a record (with If-None-Match, so two writers never overwrite each
 * other) and then the head; read the head, the records and the heartbeats; list the records, an invalidation's acks
 * and the heartbeats. No delete, and no write to acks/ or nodes/ (only nodes write those).
 */
export function invalidatorPolicy(bucketArn: string, keyPrefix?: string): string {
    const p = normalize(keyPrefix);
    return JSON.stringify({
        Version: "2012-10-17",
        Statement: [
            {
                Sid: "WriteInvalidations",
                Effect: "Allow",
                Action: ["s3:PutObject"],
                Resource: [`${bucketArn}/${p}${KEYS.records}*`, `${bucketArn}/${p}${KEYS.head}`],
            },
            {
                Sid: "ReadInvalidationLogAndHeartbeats",
                Effect: "Allow",
                Action: ["s3:GetObject"],
                Resource: [`${bucketArn}/${p}${KEYS.head}`, `${bucketArn}/${p}${KEYS.records}*`, `${bucketArn}/${p}${KEYS.nodes}*`],
            },
            {
                Sid: "ListInvalidationLog",
                Effect: "Allow",
                Action: ["s3:ListBucket"],
                Resource: bucketArn,
                Condition: {
                    StringLike: { "s3:prefix": [`${p}${KEYS.head}`, `${p}${KEYS.records}*`, `${p}${KEYS.acks}*`, `${p}${KEYS.nodes}*`] },
                },
            },
        ],
    });
}

// What the edge nodes may do in AWS: read their origins' objects, nothing else.

/**
 * The IRSA role's permissions: s3:GetObject (which also serves HEAD, ranged and conditional reads) under each origin's
 * key prefix; s3:ListBucket on each bucket, limited to that prefix, because S3 answers a reader that may not list with
 * 403 for a missing key, which the node would have to treat as an origin failure rather than a 404; and kms:Decrypt
 * on an existing bucket's SSE-KMS key, only when S3 in that bucket's region makes the call.
 */
export function edgeReadPolicy(buckets: { arn: string; keyPrefix?: string; kms?: { keyArn: string; bucketRegion: string } }[]): string {
    const lists = buckets.map((b, i) => ({
        Sid: `ListOriginKeys${i}`,
        Effect: "Allow",
        Action: ["s3:ListBucket"],
        Resource: b.arn,
        ...(b.keyPrefix ? { Condition: { StringLike: { "s3:prefix": [`${b.keyPrefix}*`] } } } : {}),
    }));
    const keys = [...new Map(buckets.flatMap((b) => (b.kms ? [[b.kms.keyArn, b.kms] as const] : []))).values()];
    const decrypts = keys.map((k, i) => ({
        Sid: `DecryptOriginObjects${i}`,
        Effect: "Allow",
        Action: ["kms:Decrypt"],
        Resource: k.keyArn,
        Condition: { StringEquals: { "kms:ViaService": `s3.${k.bucketRegion}.amazonaws.com` } },
    }));
    return JSON.stringify({
        Version: "2012-10-17",
        Statement: [
            {
                Sid: "ReadOriginObjects",
                Effect: "Allow",
                Action: ["s3:GetObject"],
                Resource: buckets.map((b) => `${b.arn}/${b.keyPrefix ?? ""}*`),
            },
            ...lists,
            ...decrypts,
        ],
    });
}

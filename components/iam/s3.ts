// Policies of the origin buckets: TLS only on every bucket, and the role S3 replication runs as.

/** Deny any request that is not over TLS 1.2 or later (AWS Foundational Security Best Practices S3.5). */
export function tlsOnlyPolicy(bucketArn: string): string {
    return JSON.stringify({
        Version: "2012-10-17",
        Statement: [
            {
                Sid: "DenyInsecureTransport",
                Effect: "Deny",
                Principal: "*",
                Action: "s3:*",
                Resource: [bucketArn, `${bucketArn}/*`],
                Condition: { Bool: { "aws:SecureTransport": "false" } },
            },
            {
                Sid: "DenyOutdatedTls",
                Effect: "Deny",
                Principal: "*",
                Action: "s3:*",
                Resource: [bucketArn, `${bucketArn}/*`],
                Condition: { NumericLessThan: { "s3:TlsVersion": "1.2" } },
            },
        ],
    });
}

/** Trust policy: S3 may assume the replication role only for this account's primary bucket. */
export function replicationTrustPolicy(accountId: string, sourceBucketArn: string): string {
    return JSON.stringify({
        Version: "2012-10-17",
        Statement: [{
            Effect: "Allow",
            Principal: { Service: "s3.amazonaws.com" },
            Action: "sts:AssumeRole",
            Condition: {
                StringEquals: { "aws:SourceAccount": accountId },
                ArnLike: { "aws:SourceArn": sourceBucketArn },
            },
        }],
    });
}

/** Replication reads the primary bucket's object versions and writes them, with deletes and tags, to the replicas. */
export function replicationPolicy(sourceBucketArn: string, destinationBucketArns: string[]): string {
    return JSON.stringify({
        Version: "2012-10-17",
        Statement: [
            { Effect: "Allow", Action: ["s3:GetReplicationConfiguration", "s3:ListBucket"], Resource: [sourceBucketArn] },
            {
                Effect: "Allow",
                Action: ["s3:GetObjectVersionForReplication", "s3:GetObjectVersionAcl", "s3:GetObjectVersionTagging"],
                Resource: [`${sourceBucketArn}/*`],
            },
            {
                Effect: "Allow",
                Action: ["s3:ReplicateObject", "s3:ReplicateDelete", "s3:ReplicateTags"],
                Resource: destinationBucketArns.map((d) => `${d}/*`),
            },
        ],
    });
}

// The bucket the nodes' access logs land in, as CloudFront's standard logs do: in the primary region, private (ACLs
// off, public access blocked), encrypted (SSE-S3), reachable over TLS only, and emptied by a lifecycle rule after the
// stack's retention. Each region's log shipper may only put objects under its own prefix (components/logShipper.ts).

import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { tlsOnlyPolicy } from "./iam";

export interface AccessLogBucketArgs {
    region: string;
    /** Log objects are deleted this many days after they were written. */
    expireDays: number;
    tags?: Record<string, string>;
}

export class AccessLogBucket extends pulumi.ComponentResource {
    public readonly bucket: pulumi.Output<string>;
    public readonly arn: pulumi.Output<string>;
    public readonly region: string;

    constructor(name: string, args: AccessLogBucketArgs, opts?: pulumi.ComponentResourceOptions) {
        if (!Number.isInteger(args.expireDays) || args.expireDays < 1) {
            throw new Error(`AccessLogBucket: expireDays must be a whole number of days, at least 1 (got ${args.expireDays})`);
        }
        super("edgecdn:index:AccessLogBucket", name, {}, opts);
        const parent = { parent: this };
        const region = args.region;
        const bucket = new aws.s3.Bucket(name, {
            region,
            bucketPrefix: `${name.toLowerCase().replace(/[^a-z0-9-]/g, "-").slice(0, 36)}-`,
            tags: { ...args.tags, "edgecdn:role": "access-logs" },
        }, parent);
        new aws.s3.BucketOwnershipControls(`${name}-ownership`, {
            region, bucket: bucket.id, rule: { objectOwnership: "BucketOwnerEnforced" },
        }, parent);
        const publicAccess = new aws.s3.BucketPublicAccessBlock(`${name}-public-access`, {
            region, bucket: bucket.id, blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true,
        }, parent);
        new aws.s3.BucketServerSideEncryptionConfiguration(`${name}-encryption`, {
            region,
            bucket: bucket.id,
            // SSE-S3: the shippers need no KMS permission, and Athena reads it as any object.
            rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" }, bucketKeyEnabled: true }],
        }, parent);
        new aws.s3.BucketLifecycleConfiguration(`${name}-lifecycle`, {
            region,
            bucket: bucket.id,
            rules: [
                { id: "expire-access-logs", status: "Enabled", filter: {}, expiration: { days: args.expireDays } },
                { id: "abort-incomplete-uploads", status: "Enabled", filter: {}, abortIncompleteMultipartUpload: { daysAfterInitiation: 1 } },
            ],
        }, parent);
        new aws.s3.BucketPolicy(`${name}-tls-only`, {
            region, bucket: bucket.id, policy: bucket.arn.apply(tlsOnlyPolicy),
        }, { parent: this, dependsOn: [publicAccess] });

        this.bucket = bucket.bucket;
        this.arn = bucket.arn;
        this.region = region;
        this.registerOutputs({ bucket: this.bucket, arn: this.arn });
    }
}

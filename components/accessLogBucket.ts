// The bucket the nodes' access logs land in, as CloudFront's standard logs do: in the primary region, private (ACLs
// off, public access blocked), encrypted (SSE-S3), reachable over TLS only, and emptied by a lifecycle rule after the
// stack's retention. Each region's log shipper may only put objects under its own prefix (components/logShipper.ts).

import * as pulumi from "@pulumi/pulumi";
import { createPrivateBucket } from "./privateBucket";

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
        // Log objects are written once and never overwritten: no versions to keep.
        const { bucket } = createPrivateBucket(this, name, {
            region: args.region,
            bucketPrefix: `${name.toLowerCase().replace(/[^a-z0-9-]/g, "-").slice(0, 36)}-`,
            tags: { ...args.tags, "edgecdn:role": "access-logs" },
            versioned: false,
            lifecycleRules: [
                { id: "expire-access-logs", status: "Enabled", filter: {}, expiration: { days: args.expireDays } },
                { id: "abort-incomplete-uploads", status: "Enabled", filter: {}, abortIncompleteMultipartUpload: { daysAfterInitiation: 1 } },
            ],
        });
        this.bucket = bucket.bucket;
        this.arn = bucket.arn;
        this.region = args.region;
        this.registerOutputs({ bucket: this.bucket, arn: this.arn });
    }
}

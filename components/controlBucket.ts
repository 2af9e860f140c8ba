// The control bucket: one private bucket in the primary region that holds the fleet's invalidation log, which every
// edge node follows (docs/operations.md, Invalidating), and the managed policy an operator's role needs for edgecdn.

import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { INVALIDATION_LOG_KEYS as KEYS } from "./constants";
import { invalidatorPolicy } from "./iam";
import { bucketPrefix } from "./origins";
import { createPrivateBucket } from "./privateBucket";

export interface ControlBucketArgs {
    /** The stack's primary region. */
    region: string;
    /** The stack's name, which the bucket's name starts with. */
    stackName: string;
    tags?: Record<string, string>;
}

/** How long invalidation records and acks are kept (edgecdn shows an invalidation's status until then). */
export const INVALIDATION_RETENTION_DAYS = 30;
/** A heartbeat is rewritten every few seconds while its node lives; a day after the node is gone it is deleted. */
export const HEARTBEAT_RETENTION_DAYS = 1;
/** Old versions of the head and the heartbeats (rewritten all the time) are of no use after a day. */
export const CONTROL_NONCURRENT_VERSION_DAYS = 1;

export class ControlBucket extends pulumi.ComponentResource {
    public readonly bucket: pulumi.Output<string>;
    public readonly arn: pulumi.Output<string>;
    public readonly region: string;
    /** A customer managed policy with what edgecdn needs; attach it to the roles of whoever invalidates. */
    public readonly invalidatorPolicyArn: pulumi.Output<string>;

    constructor(name: string, args: ControlBucketArgs, opts?: pulumi.ComponentResourceOptions) {
        super("edgecdn:index:ControlBucket", name, {}, opts);
        const expire = (id: string, prefix: string, days: number) => ({ id, status: "Enabled", filter: { prefix }, expiration: { days } });
        const { bucket } = createPrivateBucket(this, `${name}-bucket`, {
            region: args.region,
            bucketPrefix: bucketPrefix(args.stackName, "control", args.region),
            tags: { ...args.tags, "edgecdn:role": "control" },
            // It holds a log that expires by itself, not content: `pulumi destroy` may delete it with what is left.
            forceDestroy: true,
            lifecycleRules: [
                expire("expire-invalidations", KEYS.records, INVALIDATION_RETENTION_DAYS),
                expire("expire-acks", KEYS.acks, INVALIDATION_RETENTION_DAYS),
                expire("expire-heartbeats", KEYS.nodes, HEARTBEAT_RETENTION_DAYS),
                {
                    id: "expire-old-versions",
                    status: "Enabled",
                    filter: {},
                    noncurrentVersionExpiration: { noncurrentDays: CONTROL_NONCURRENT_VERSION_DAYS },
                    expiration: { expiredObjectDeleteMarker: true },
                },
                { id: "abort-incomplete-uploads", status: "Enabled", filter: {}, abortIncompleteMultipartUpload: { daysAfterInitiation: 1 } },
            ],
        });
        const policy = new aws.iam.Policy(`${name}-invalidator`, {
            description: `Invalidate through the EdgeCache invalidation log of ${args.stackName} (edgecdn invalidate, invalidations, nodes)`,
            policy: bucket.arn.apply((arn) => invalidatorPolicy(arn)),
            tags: args.tags,
        }, { parent: this });

        this.bucket = bucket.bucket;
        this.arn = bucket.arn;
        this.region = args.region;
        this.invalidatorPolicyArn = policy.arn;
        this.registerOutputs({ bucket: this.bucket, region: this.region, invalidatorPolicyArn: this.invalidatorPolicyArn });
    }
}

// A bucket no one outside the account can read, as every bucket the stack creates is made: ACLs off, public access
// blocked, SSE-S3, versioned unless the caller says otherwise, TLS 1.2+ only, with the caller's lifecycle rules. The resources are children of the
// component that calls this and are named after the bucket's resource name, so moving the code here changed no URN.

import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { tlsOnlyPolicy } from "./iam";

export type LifecycleRule = aws.types.input.s3.BucketLifecycleConfigurationRule;

export interface PrivateBucketArgs {
    region: string;
    /** At most 37 characters (S3's limit for a prefix); S3 adds a unique suffix. */
    bucketPrefix: string;
    /** Every rule applies after versioning is enabled (noncurrent-version rules need it). */
    lifecycleRules: LifecycleRule[];
    /** Keep old versions of overwritten objects (default true); a bucket of write-once objects needs none. */
    versioned?: boolean;
    tags?: Record<string, string>;
    /** Let `pulumi destroy` delete the bucket with whatever it holds (only for buckets that hold nothing to keep). */
    forceDestroy?: boolean;
}

export interface PrivateBucket {
    bucket: aws.s3.Bucket;
    versioning?: aws.s3.BucketVersioning;
}

export function createPrivateBucket(parent: pulumi.Resource, resourceName: string, args: PrivateBucketArgs): PrivateBucket {
    const { region } = args;
    const opts = { parent };
    const bucket = new aws.s3.Bucket(resourceName, {
        region,
        bucketPrefix: args.bucketPrefix,
        tags: args.tags,
        ...(args.forceDestroy ? { forceDestroy: true } : {}),
    }, opts);
    new aws.s3.BucketOwnershipControls(`${resourceName}-ownership`, {
        region, bucket: bucket.id, rule: { objectOwnership: "BucketOwnerEnforced" },
    }, opts);
    const publicAccess = new aws.s3.BucketPublicAccessBlock(`${resourceName}-public-access`, {
        region,
        bucket: bucket.id,
        blockPublicAcls: true,
        blockPublicPolicy: true,
        ignorePublicAcls: true,
        restrictPublicBuckets: true,
    }, opts);
    new aws.s3.BucketServerSideEncryptionConfiguration(`${resourceName}-encryption`, {
        region,
        bucket: bucket.id,
        // SSE-S3: readers need no kms:Decrypt and replication needs no KMS key per region.
        rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" }, bucketKeyEnabled: true }],
    }, opts);
    const versioning = args.versioned === false ? undefined : new aws.s3.BucketVersioning(`${resourceName}-versioning`, {
        region, bucket: bucket.id, versioningConfiguration: { status: "Enabled" },
    }, opts);
    new aws.s3.BucketLifecycleConfiguration(`${resourceName}-lifecycle`, {
        region,
        bucket: bucket.id,
        rules: args.lifecycleRules,
    }, { parent, dependsOn: versioning ? [versioning] : [] });
    new aws.s3.BucketPolicy(`${resourceName}-tls-only`, {
        region,
        bucket: bucket.id,
        policy: bucket.arn.apply(tlsOnlyPolicy),
    }, { parent, dependsOn: [publicAccess] });
    return { bucket, versioning };
}

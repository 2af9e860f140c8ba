// S3 origins: for each origin the stack creates, a private primary bucket and a replica in every other edge region,
// kept in sync by S3 replication, so each region's nodes read locally and fall over to the primary.

import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { CreatedS3Origin } from "./config";
import { replicationPolicy, replicationTrustPolicy } from "./iam";
import { createPrivateBucket, PrivateBucket } from "./privateBucket";

export interface OriginsArgs {
    /** Origins of kind "created"; existing buckets and HTTP origins need no resources. */
    origins: CreatedS3Origin[];
    /** Region of every primary bucket. */
    primaryRegion: string;
    /** Edge regions; replicating origins get a replica in each one other than the primary region. */
    edgeRegions: string[];
    /** The account the buckets are in: S3 may assume the replication role only on behalf of this account's bucket. */
    accountId: pulumi.Input<string>;
    tags?: Record<string, string>;
}

export interface BucketInfo {
    bucket: pulumi.Output<string>;
    arn: pulumi.Output<string>;
    region: string;
}

export interface OriginBuckets {
    primary: BucketInfo;
    /** Keyed by region. */
    replicas: Record<string, BucketInfo>;
}

/** A bucketPrefix (at most 37 characters, S3's limit) that keeps the origin and region and shortens the rest. */
export function bucketPrefix(stackName: string, origin: string, where: string): string {
    const tail = `-${origin}-${where}-`;
    const head = stackName.toLowerCase().replace(/[^a-z0-9-]/g, "-").slice(0, Math.max(0, 37 - tail.length));
    const prefix = (head + tail).replace(/^-+/, "").slice(0, 37);
    return prefix;
}

export class Origins extends pulumi.ComponentResource {
    /** Keyed by origin name. */
    public readonly buckets: Record<string, OriginBuckets> = {};

    constructor(name: string, args: OriginsArgs, opts?: pulumi.ComponentResourceOptions) {
        const names = args.origins.map((o) => o.name);
        const dup = names.find((n, i) => names.indexOf(n) !== i);
        if (dup) { throw new Error(`Origins: origin ${dup} appears twice`); }
        super("edgecdn:index:Origins", name, {}, opts);

        for (const origin of args.origins) {
            const base = `${name}-${origin.name}`;
            const primary = this.privateBucket(`${base}-primary`, name, origin, args.primaryRegion, "primary", args.tags);
            const replicas: Record<string, BucketInfo> = {};
            const replicaResources: ({ region: string } & PrivateBucket)[] = [];
            if (origin.replicate) {
                for (const region of args.edgeRegions.filter((r) => r !== args.primaryRegion)) {
                    const r = this.privateBucket(`${base}-${region}`, name, origin, region, region, args.tags);
                    replicas[region] = { bucket: r.bucket.bucket, arn: r.bucket.arn, region };
                    replicaResources.push({ region, ...r });
                }
            }
            if (replicaResources.length > 0) {
                this.replicate(base, origin, primary, replicaResources, args.primaryRegion, args.accountId, args.tags);
            }
            this.buckets[origin.name] = {
                primary: { bucket: primary.bucket.bucket, arn: primary.bucket.arn, region: args.primaryRegion },
                replicas,
            };
        }
        this.registerOutputs({ buckets: this.buckets });
    }

    /** A private bucket (createPrivateBucket) for one origin, its old versions kept for the origin's noncurrentVersionDays. */
    private privateBucket(resourceName: string, stackName: string, origin: CreatedS3Origin, region: string, where: string,
        tags: Record<string, string> | undefined): PrivateBucket {
        return createPrivateBucket(this, resourceName, {
            region,
            bucketPrefix: bucketPrefix(stackName, origin.name, where),
            tags: { ...tags, "edgecdn:origin": origin.name, "edgecdn:role": where === "primary" ? "primary" : "replica" },
            lifecycleRules: [
                {
                    id: "expire-old-versions",
                    status: "Enabled",
                    filter: {},
                    noncurrentVersionExpiration: { noncurrentDays: origin.noncurrentVersionDays },
                    expiration: { expiredObjectDeleteMarker: true },
                },
                { id: "abort-incomplete-uploads", status: "Enabled", filter: {}, abortIncompleteMultipartUpload: { daysAfterInitiation: 7 } },
            ],
        });
    }

    private replicate(base: string, origin: CreatedS3Origin, primary: PrivateBucket,
        replicas: ({ region: string } & PrivateBucket)[], primaryRegion: string,
        accountId: pulumi.Input<string>, tags: Record<string, string> | undefined): void {
        const role = new aws.iam.Role(`${base}-replication`, {
            description: "S3 replication of an EdgeCache origin to its regional replicas",
            // S3 may assume it only for this account's primary bucket, so no other bucket (or account) can borrow it.
            assumeRolePolicy: pulumi.all([accountId, primary.bucket.arn]).apply(([account, source]) => replicationTrustPolicy(account, source)),
            tags,
        }, { parent: this });
        new aws.iam.RolePolicy(`${base}-replication`, {
            role: role.id,
            policy: pulumi.all([primary.bucket.arn, ...replicas.map((r) => r.bucket.arn)]).apply(([source, ...destinations]) =>
                replicationPolicy(source, destinations)),
        }, { parent: this });
        new aws.s3.BucketReplicationConfig(`${base}-replication`, {
            region: primaryRegion,
            bucket: primary.bucket.id,
            role: role.arn,
            rules: replicas.map((r, i) => ({
                id: `to-${r.region}`,
                status: "Enabled",
                priority: i + 1,
                filter: {},
                deleteMarkerReplication: { status: "Enabled" },
                destination: {
                    bucket: r.bucket.arn,
                    storageClass: "STANDARD",
                    // S3's 15-minute replication SLA, and the metrics (latency, operations pending) that tell an
                    // operator when an upload has reached every region, so an invalidation after it is safe.
                    ...(origin.replicationTimeControl ? {
                        replicationTime: { status: "Enabled", time: { minutes: 15 } },
                        metrics: { status: "Enabled", eventThreshold: { minutes: 15 } },
                    } : {}),
                },
            })),
        }, { parent: this, dependsOn: [primary, ...replicas].flatMap((b) => (b.versioning ? [b.versioning] : [])) });
    }
}

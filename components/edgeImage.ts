// The edge node image: built once from edge-image/, tagged with a hash of its build input, pushed to the first edge
// region's ECR repository and replicated by ECR to the others (nodes pull from their own region), or a given image
// reference used as is.

import * as aws from "@pulumi/aws";
import * as dockerBuild from "@pulumi/docker-build";
import * as pulumi from "@pulumi/pulumi";
import * as path from "path";
import { ImageConfig } from "./config";
import { buildContextHash } from "./contextHash";

export interface EdgeImageArgs {
    image: ImageConfig;
    regions: string[];
    /** Directory that image.build.context and image.build.dockerfile are relative to (the Pulumi project root). */
    projectRoot: string;
    /** The account of the registries: replication's destinations are this account's registries in the other regions. */
    accountId: pulumi.Input<string>;
    tags?: Record<string, string>;
}

/** ECR lifecycle policy: expire all but the newest `keep` images, tagged or not. */
export function keepLastImagesPolicy(keep: number): string {
    return JSON.stringify({
        rules: [{
            rulePriority: 1,
            description: `keep the last ${keep} images`,
            selection: { tagStatus: "any", countType: "imageCountMoreThan", countNumber: keep },
            action: { type: "expire" },
        }],
    });
}

export class EdgeImage extends pulumi.ComponentResource {
    /** The image each region's nodes run, keyed by region (pinned by digest when built here). */
    public readonly imageRefs: Record<string, pulumi.Output<string>> = {};
    /** ECR repository URLs, keyed by region (empty for a given image reference). */
    public readonly repositoryUrls: Record<string, pulumi.Output<string>> = {};

    constructor(name: string, args: EdgeImageArgs, opts?: pulumi.ComponentResourceOptions) {
        if (args.regions.length === 0) { throw new Error("EdgeImage: at least one region is required"); }
        super("edgecdn:index:EdgeImage", name, {}, opts);

        if ("ref" in args.image) {
            for (const region of args.regions) { this.imageRefs[region] = pulumi.output(args.image.ref); }
            this.registerOutputs({ imageRefs: this.imageRefs });
            return;
        }

        const build = args.image.build;
        // The same repository name in every region: ECR replicates a repository into the same-named one.
        const repositoryName = name.toLowerCase();
        const repos = args.regions.map((region) => {
            const repo = new aws.ecr.Repository(`${name}-${region}`, {
                region,
                name: repositoryName,
                imageScanningConfiguration: { scanOnPush: true },
                // A tag names one build for good: the tag is the build input's hash, and nothing can move it.
                imageTagMutability: "IMMUTABLE",
                encryptionConfigurations: [{ encryptionType: "AES256" }],
                // Images are rebuilt from the repo; a teardown should not stop at a non-empty repository.
                forceDelete: true,
                tags: args.tags,
            }, { parent: this });
            new aws.ecr.LifecyclePolicy(`${name}-${region}`, {
                region, repository: repo.name, policy: keepLastImagesPolicy(build.keepImages),
            }, { parent: this });
            this.repositoryUrls[region] = repo.repositoryUrl;
            return { region, repo };
        });
        const [source, ...destinations] = repos;

        // ECR copies every push to the source repository into the other regions' (same digest), instead of the
        // build pushing to each region. ECR keeps one replication configuration per registry (account and region):
        // with manageRegistryReplication off, the account's own configuration must cover this repository.
        const replication = build.manageRegistryReplication && destinations.length > 0
            ? new aws.ecr.ReplicationConfiguration(`${name}-replication`, {
                region: source.region,
                replicationConfiguration: {
                    rules: [{
                        destinations: destinations.map((d) => ({ region: d.region, registryId: args.accountId })),
                        repositoryFilters: [{ filter: repositoryName, filterType: "PREFIX_MATCH" }],
                    }],
                },
            }, { parent: this, dependsOn: destinations.map((d) => d.repo) })
            : undefined;

        const context = path.resolve(args.projectRoot, build.context);
        const dockerfile = path.resolve(args.projectRoot, build.dockerfile);
        const tag = buildContextHash(context, dockerfile, build.platform).slice(0, 32);
        const auth = aws.ecr.getAuthorizationTokenOutput({ region: source.region, registryId: source.repo.registryId }, { parent: this });
        const image = new dockerBuild.Image(`${name}-build`, {
            context: { location: context },
            dockerfile: { location: dockerfile },
            platforms: [build.platform as dockerBuild.Platform],
            push: true,
            // `pulumi preview` then needs no Docker and no cross-build; the build and its push happen in `pulumi up`.
            buildOnPreview: false,
            tags: [pulumi.interpolate`${source.repo.repositoryUrl}:${tag}`],
            registries: [{
                address: source.repo.repositoryUrl.apply((u) => u.split("/")[0]),
                username: auth.userName,
                password: pulumi.secret(auth.password),
            }],
        }, { parent: this, dependsOn: replication ? [replication] : [] });

        for (const r of repos) {
            // By digest, which replication keeps: a new build rolls the Deployments, and each region pulls its own copy.
            // A region's nodes may wait (image pull back-off) for the copy to arrive, usually within minutes.
            this.imageRefs[r.region] = pulumi.interpolate`${r.repo.repositoryUrl}@${image.digest}`;
        }
        this.registerOutputs({ imageRefs: this.imageRefs, repositoryUrls: this.repositoryUrls });
    }
}

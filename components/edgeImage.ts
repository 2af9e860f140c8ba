// The edge node image: built once from edge-image/ and pushed to an ECR repository in every edge region (nodes pull
// from their own region), or a given image reference used as is.

import * as aws from "@pulumi/aws";
import * as dockerBuild from "@pulumi/docker-build";
import * as pulumi from "@pulumi/pulumi";
import * as path from "path";
import { ImageConfig } from "./config";

export interface EdgeImageArgs {
    image: ImageConfig;
    regions: string[];
    /** Directory that image.build.context and image.build.dockerfile are relative to (the Pulumi project root). */
    projectRoot: string;
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
        const repos = args.regions.map((region) => {
            const repo = new aws.ecr.Repository(`${name}-${region}`, {
                region,
                imageScanningConfiguration: { scanOnPush: true },
                imageTagMutability: "MUTABLE",
                encryptionConfigurations: [{ encryptionType: "AES256" }],
                // Images are rebuilt from the repo; a teardown should not stop at a non-empty repository.
                forceDelete: true,
                tags: args.tags,
            }, { parent: this });
            new aws.ecr.LifecyclePolicy(`${name}-${region}`, {
                region, repository: repo.name, policy: keepLastImagesPolicy(build.keepImages),
            }, { parent: this });
            this.repositoryUrls[region] = repo.repositoryUrl;
            const auth = aws.ecr.getAuthorizationTokenOutput({ region, registryId: repo.registryId }, { parent: this });
            return { region, repo, auth };
        });

        // One build, pushed to every region's repository.
        const image = new dockerBuild.Image(`${name}-build`, {
            context: { location: path.resolve(args.projectRoot, build.context) },
            dockerfile: { location: path.resolve(args.projectRoot, build.dockerfile) },
            platforms: [build.platform as dockerBuild.Platform],
            push: true,
            tags: repos.map((r) => pulumi.interpolate`${r.repo.repositoryUrl}:${build.tag}`),
            registries: repos.map((r) => ({
                address: r.repo.repositoryUrl.apply((u) => u.split("/")[0]),
                username: r.auth.userName,
                password: pulumi.secret(r.auth.password),
            })),
        }, { parent: this });

        for (const r of repos) {
            // By digest, so a new build rolls the Deployments and a moved tag never changes what runs.
            this.imageRefs[r.region] = pulumi.interpolate`${r.repo.repositoryUrl}@${image.digest}`;
        }
        this.registerOutputs({ imageRefs: this.imageRefs, repositoryUrls: this.repositoryUrls });
    }
}

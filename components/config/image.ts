// The edge image: built from edge-image/ and pushed to ECR in every region, or a reference used as is.

import { Checker } from "./checker";
import { ImageConfig } from "./types";

export function parseImage(c: Checker, v: unknown): ImageConfig | undefined {
    const defaults = { context: "edge-image", dockerfile: "edge-image/Dockerfile", platform: "linux/amd64", keepImages: 10, manageRegistryReplication: true };
    if (v === undefined) { return { build: defaults }; }
    const o = c.object("image", v, ["build", "ref"]);
    if (!o) { return undefined; }
    if ((o.build === undefined) === (o.ref === undefined)) {
        c.add("image", "needs exactly one of build (build edge-image/ and push it to ECR in every region) or ref (an image reference used as is)");
        return undefined;
    }
    if (o.ref !== undefined) {
        const ref = c.string("image.ref", o.ref, {
            pattern: /^[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]+)?(\.[a-z0-9-]+)*(\/[a-z0-9]+([._-][a-z0-9]+)*)*(:[\w][\w.-]{0,127})?(@sha256:[a-f0-9]{64})?$/,
            expected: "an image reference such as 123456789012.dkr.ecr.us-east-1.amazonaws.com/edgecache:1.2.3",
        });
        return ref ? { ref } : undefined;
    }
    const b = o.build === null ? {} : c.object("image.build", o.build, ["context", "dockerfile", "platform", "keepImages", "manageRegistryReplication", "tag"]);
    if (!b) { return undefined; }
    if (b.tag !== undefined) {
        c.add("image.build.tag", "is no longer set by hand: the image is tagged with a hash of its build input, since the ECR repositories are immutable; remove it");
        return undefined;
    }
    const context = c.string("image.build.context", b.context, { required: false }) ?? defaults.context;
    const dockerfile = c.string("image.build.dockerfile", b.dockerfile, { required: false }) ?? defaults.dockerfile;
    const platform = c.oneOf("image.build.platform", b.platform, ["linux/amd64", "linux/arm64"] as const, "linux/amd64");
    const keepImages = c.integer("image.build.keepImages", b.keepImages, 1, 1000, defaults.keepImages);
    const manageRegistryReplication = c.boolean("image.build.manageRegistryReplication", b.manageRegistryReplication, true);
    if (!platform || !keepImages) { return undefined; }
    return { build: { context, dockerfile, platform, keepImages, manageRegistryReplication } };
}

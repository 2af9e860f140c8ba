// parseCdnConfig: the raw `edgecdn:*` values in, the typed config (./types.ts) out. Each section's parser reports to
// one Checker, then the checks that span sections run; a bad Pulumi.<env>.yaml fails once with the whole list (each
// line names the field path and what was expected) before any resource exists.

import { parseBehaviors } from "./behaviors";
import { CdnConfigError, Checker, describe } from "./checker";
import { isGraviton } from "./cluster";
import { checkRegionalNames, parseDomain, parseHealthCheck, parseHostedZone } from "./dns";
import { parseEdge } from "./edge";
import { parseImage } from "./image";
import { parseInvalidation } from "./invalidation";
import { parseObservability } from "./observability";
import { addDerivedNameErrors } from "./names";
import { parseAdmin, parseKubernetesApi } from "./network";
import { parseOrigins } from "./origins";
import { parseRegions } from "./regions";
import { CdnConfig, ImageConfig, RegionConfig } from "./types";

export const TOP_LEVEL_KEYS = [
    "domain", "hostedZone", "primaryRegion", "regions", "origins", "behaviors", "image", "healthCheck", "edge", "invalidation",
    "admin", "kubernetesApi", "observability", "tags",
] as const;

/**
 * Validates raw stack config (the values of the `edgecdn:*` keys) and applies defaults. With `name` (the Cdn's), the
 * names the stack derives from it are checked against AWS's limits too.
 * Throws one CdnConfigError listing every problem.
 */
export function parseCdnConfig(raw: unknown, opts: { now?: Date; name?: string } = {}): CdnConfig {
    const c = new Checker(opts.now ?? new Date());
    const root = c.object("config", raw, TOP_LEVEL_KEYS) ?? {};
    // Paths are reported relative to the stack config (domain, regions[0].name, ...), not "config.domain".
    const domain = parseDomain(c, root.domain);
    const hostedZone = parseHostedZone(c, root.hostedZone, domain);

    const regions = parseRegions(c, root.regions);
    const primaryRegion = root.primaryRegion === undefined
        ? regions?.[0]?.name
        : c.region("primaryRegion", root.primaryRegion);

    const origins = parseOrigins(c, root.origins);
    // Names of every origin entry that has one, so a behavior's reference is checked even when another origin is bad.
    const originNames = Array.isArray(root.origins)
        ? root.origins.flatMap((o) => (c.isObject(o) && typeof o.name === "string" ? [o.name] : []))
        : undefined;
    const behaviors = parseBehaviors(c, root.behaviors, originNames);
    const image = parseImage(c, root.image);
    const healthCheck = parseHealthCheck(c, root.healthCheck, regions?.length);
    const edge = parseEdge(c, root.edge);
    const invalidation = parseInvalidation(c, root.invalidation);
    const admin = parseAdmin(c, root.admin);
    const kubernetesApi = parseKubernetesApi(c, root.kubernetesApi, regions?.some((r) => "create" in r.cluster) ?? false);
    const observability = parseObservability(c, root.observability, primaryRegion, edge?.accessLog);
    const tags = parseTags(c, root.tags);

    if (regions && image) { checkImageFitsRegions(c, image, regions); }
    if (regions && domain) { checkRegionalNames(c, domain, regions); }
    if (opts.name !== undefined && regions && origins && primaryRegion && observability) {
        addDerivedNameErrors(c, opts.name, regions, primaryRegion, origins, observability);
    }

    if (c.errors.length > 0 || !domain || !hostedZone || !regions || !primaryRegion || !origins || !behaviors ||
        !image || !healthCheck || !edge || !invalidation || !admin || !kubernetesApi || !observability || !tags) {
        throw new CdnConfigError(c.errors.length > 0 ? c.errors : ["config: could not be read"]);
    }
    return {
        domain, hostedZone, primaryRegion, regions, origins, behaviors, image, healthCheck, edge, invalidation, admin, kubernetesApi,
        observability, tags, warnings: c.warnings,
    };
}

/** A built image must run on every created cluster's nodes, and reach every region through ECR replication. */
function checkImageFitsRegions(c: Checker, image: ImageConfig, regions: RegionConfig[]): void {
    if (!("build" in image)) { return; }
    // The nodes must be able to run the image: x86 instance types for linux/amd64, Graviton for linux/arm64.
    for (const [i, r] of regions.entries()) {
        if (!("create" in r.cluster)) { continue; }
        r.cluster.create.instanceTypes.forEach((t, j) => {
            const arch = isGraviton(t) ? "linux/arm64" : "linux/amd64";
            if (arch !== image.build.platform) {
                c.add(`regions[${i}].cluster.create.instanceTypes[${j}]`, `${t} runs ${arch} but image.build.platform is ${image.build.platform}; choose matching instance types or platform`);
            }
        });
    }
    // ECR replicates a registry to at most 25 destinations.
    if (image.build.manageRegistryReplication && regions.length - 1 > 25) {
        c.add("regions", `${regions.length} regions need ${regions.length - 1} ECR replication destinations; ECR allows 25 per registry (use image.ref with an image you distribute, or image.build.manageRegistryReplication: false with your own replication)`);
    }
}

function parseTags(c: Checker, v: unknown): Record<string, string> | undefined {
    if (v === undefined) { return {}; }
    const o = c.object("tags", v, Object.keys(c.isObject(v) ? v : {}));
    if (!o) { return undefined; }
    let ok = true;
    for (const [k, val] of Object.entries(o)) {
        if (typeof val !== "string") {
            c.add(`tags.${k}`, `${describe(val)} is not a string`);
            ok = false;
        }
    }
    return ok ? o as Record<string, string> : undefined;
}

// The versions a created cluster runs: its Kubernetes version against the EKS calendar, and the Cluster Autoscaler
// chart and image that must match it (the tables are in ./versions.ts).

import { Checker, describe } from "./checker";
import { ClusterAutoscalerConfig, CreateClusterConfig } from "./types";
import {
    CLUSTER_AUTOSCALER_CHART_APP_VERSIONS, CLUSTER_AUTOSCALER_CHARTS, DEFAULT_KUBERNETES_VERSION, EKS_EXTENDED_SUPPORT_PER_HOUR,
    EKS_STANDARD_SUPPORT_PER_HOUR, eksSupportOn, HOURS_PER_MONTH, newestInStandardSupport,
} from "./versions";

/**
 * The `cluster-autoscaler` Helm chart version a cluster of the default Kubernetes version gets unless the stack config
 * says otherwise; pinned so `pulumi up` never picks up a new chart by surprise. Other versions get theirs from
 * CLUSTER_AUTOSCALER_CHARTS (components/config/versions.ts).
 */
export const DEFAULT_CLUSTER_AUTOSCALER_CHART_VERSION = CLUSTER_AUTOSCALER_CHARTS[DEFAULT_KUBERNETES_VERSION].chartVersion;

/**
 * A version past EKS standard support is billed six times the standard rate per cluster; one past extended support
 * cannot be created at all. The calendar is EKS_VERSIONS (components/config/versions.ts).
 */
export function checkKubernetesVersion(c: Checker, at: string, version: string | undefined): string | undefined {
    if (version === undefined) { return undefined; }
    const support = eksSupportOn(version, c.now);
    const newest = newestInStandardSupport(c.now);
    const use = newest ? `${newest} (standard support until ${eksSupportOn(newest, c.now).info?.endOfStandardSupport})` : "a newer version";
    const month = (perHour: number) => `$${perHour.toFixed(2)}/h (about $${Math.round(perHour * HOURS_PER_MONTH)}/month)`;
    switch (support.phase) {
        case "ended":
            c.add(at, `${version} left EKS extended support on ${support.info?.endOfExtendedSupport}; EKS no longer creates clusters of it (use ${newest ?? "a newer version"})`);
            return undefined;
        case "extended":
            c.warn(at, `${version} left EKS standard support on ${support.info?.endOfStandardSupport}, so its control plane is billed at the extended-support rate: ${month(EKS_EXTENDED_SUPPORT_PER_HOUR)} instead of ${month(EKS_STANDARD_SUPPORT_PER_HOUR)} per cluster. Use ${use}.`);
            return version;
        case "unknown":
            c.warn(at, `${version} is not in this stack's EKS calendar (EKS_VERSIONS in components/config/versions.ts), so its support dates and cost are not checked; add it there.`);
            return version;
        default:
            return version;
    }
}

export function parseClusterAutoscaler(c: Checker, at: string, v: unknown, kubernetesVersion: string | undefined,
    nodes: CreateClusterConfig["nodes"] | undefined): ClusterAutoscalerConfig | undefined {
    const o = v === undefined ? {} : c.object(at, v, ["enabled", "chartVersion", "imageTag"]);
    if (!o) { return undefined; }
    const scalable = nodes !== undefined && nodes.min < nodes.max;
    const enabled = c.boolean(`${at}.enabled`, o.enabled, scalable);
    if (enabled && nodes !== undefined && !scalable) {
        c.add(`${at}.enabled`, `is true but nodes.min equals nodes.max (${nodes.max}), so there is nothing to scale; raise nodes.max or leave clusterAutoscaler out`);
    }
    const pinned = kubernetesVersion ? CLUSTER_AUTOSCALER_CHARTS[kubernetesVersion] : undefined;
    let chartVersion = c.string(`${at}.chartVersion`, o.chartVersion, {
        required: false, pattern: /^\d+\.\d+\.\d+$/, expected: `a cluster-autoscaler Helm chart version such as ${DEFAULT_CLUSTER_AUTOSCALER_CHART_VERSION}`,
    }) ?? (o.chartVersion === undefined ? pinned?.chartVersion : undefined);
    // The chart's RBAC is written for its appVersion: a chart for an older autoscaler may lack permissions the
    // cluster's autoscaler needs (it then waits forever for an informer and never scales), so the pair is checked.
    const appVersion = chartVersion ? CLUSTER_AUTOSCALER_CHART_APP_VERSIONS[chartVersion] : undefined;
    if (enabled && kubernetesVersion && o.chartVersion === undefined && !pinned) {
        c.add(`${at}.chartVersion`, `no cluster-autoscaler chart is pinned for Kubernetes ${kubernetesVersion}; add one to CLUSTER_AUTOSCALER_CHARTS in components/config/versions.ts`);
        return undefined;
    }
    if (enabled && chartVersion && !appVersion) {
        c.add(`${at}.chartVersion`, `chart ${chartVersion} is not one whose appVersion this stack has checked (known: ${Object.keys(CLUSTER_AUTOSCALER_CHART_APP_VERSIONS).join(", ")}); add it to CLUSTER_AUTOSCALER_CHART_APP_VERSIONS in components/config/versions.ts`);
        chartVersion = undefined;
    } else if (enabled && chartVersion && appVersion && kubernetesVersion && !appVersion.startsWith(`${kubernetesVersion}.`)) {
        c.add(`${at}.chartVersion`, `chart ${chartVersion} installs cluster-autoscaler ${appVersion}, not one for Kubernetes ${kubernetesVersion}${pinned ? ` (use ${pinned.chartVersion})` : ""}; a mismatched chart's RBAC can leave the autoscaler waiting forever for a cache it may not list`);
        chartVersion = undefined;
    }
    const imageTag = c.string(`${at}.imageTag`, o.imageTag, {
        required: false, pattern: /^v1\.\d+\.\d+$/, expected: "a cluster-autoscaler release tag such as v1.35.0",
    }) ?? (o.imageTag === undefined && kubernetesVersion ? `v${appVersion ?? `${kubernetesVersion}.0`}` : undefined);
    if (imageTag && kubernetesVersion && o.imageTag !== undefined && !imageTag.startsWith(`v${kubernetesVersion}.`)) {
        c.add(`${at}.imageTag`, `${describe(imageTag)} is not for Kubernetes ${kubernetesVersion} (expected v${kubernetesVersion}.<patch>: the autoscaler's minor version must match the cluster's)`);
        return undefined;
    }
    if (!chartVersion || !imageTag) { return undefined; }
    return { enabled, chartVersion, imageTag };
}

// Versions the stack pins, and the dates and prices that make a version a trap: the EKS release calendar (end of
// standard and extended support) and the Cluster Autoscaler Helm chart that goes with each Kubernetes minor version.
// Config validation reads these tables; update them when EKS releases a version or the autoscaler a chart.

/** One Kubernetes minor version on EKS (dates are UTC days, from the EKS Kubernetes release calendar). */
export interface EksVersion {
    /** The day EKS released it. */
    released: string;
    /** From this day on, a cluster of this version is billed at the extended-support rate. */
    endOfStandardSupport: string;
    /** From this day on, EKS creates no cluster of this version and upgrades existing ones. */
    endOfExtendedSupport: string;
}

/**
 * The EKS release calendar (docs.aws.amazon.com/eks/latest/userguide/kubernetes-versions.html, as of 2026-12-07).
 * Standard support lasts 14 months from the EKS release, extended support 12 more.
 */
export const EKS_VERSIONS: Readonly<Record<string, EksVersion>> = {
    "1.29": { released: "2024-01-23", endOfStandardSupport: "2025-03-23", endOfExtendedSupport: "2026-03-23" },
    "1.30": { released: "2024-05-23", endOfStandardSupport: "2025-07-23", endOfExtendedSupport: "2026-07-23" },
    "1.31": { released: "2024-09-26", endOfStandardSupport: "2025-11-26", endOfExtendedSupport: "2026-11-26" },
    "1.32": { released: "2025-01-23", endOfStandardSupport: "2026-03-23", endOfExtendedSupport: "2027-03-23" },
    "1.33": { released: "2025-05-29", endOfStandardSupport: "2026-07-29", endOfExtendedSupport: "2027-07-29" },
    "1.34": { released: "2025-10-02", endOfStandardSupport: "2026-12-02", endOfExtendedSupport: "2027-12-02" },
    "1.35": { released: "2026-01-27", endOfStandardSupport: "2027-03-27", endOfExtendedSupport: "2028-03-27" },
};

/** What a created cluster runs unless the stack says otherwise: the newest version in the table above. */
export const DEFAULT_KUBERNETES_VERSION = "1.35";

/** EKS control-plane list prices per cluster-hour (us-east-1 and most regions). */
export const EKS_STANDARD_SUPPORT_PER_HOUR = 0.10;
export const EKS_EXTENDED_SUPPORT_PER_HOUR = 0.60;
export const HOURS_PER_MONTH = 730;

/**
 * The `cluster-autoscaler` chart (kubernetes.github.io/autoscaler) for each Kubernetes minor version: its appVersion
 * is that minor version, so the chart's RBAC matches what that autoscaler watches. Autoscaler 1.32 and later wait for
 * a VolumeAttachment informer before their first scaling loop; charts before 9.46.3 do not grant `volumeattachments`,
 * and such an autoscaler stays Ready and never scales.
 */
export const CLUSTER_AUTOSCALER_CHARTS: Readonly<Record<string, { chartVersion: string; appVersion: string }>> = {
    "1.29": { chartVersion: "9.35.0", appVersion: "1.29.0" },
    "1.30": { chartVersion: "9.37.0", appVersion: "1.30.0" },
    "1.31": { chartVersion: "9.38.0", appVersion: "1.31.0" },
    "1.32": { chartVersion: "9.46.6", appVersion: "1.32.0" },
    "1.33": { chartVersion: "9.51.0", appVersion: "1.33.0" },
    "1.34": { chartVersion: "9.53.0", appVersion: "1.34.2" },
    "1.35": { chartVersion: "9.59.0", appVersion: "1.35.0" },
};

/** Every chart version whose appVersion this stack has checked (the pinned ones and a few neighbours). */
export const CLUSTER_AUTOSCALER_CHART_APP_VERSIONS: Readonly<Record<string, string>> = {
    ...Object.fromEntries(Object.values(CLUSTER_AUTOSCALER_CHARTS).map((c) => [c.chartVersion, c.appVersion])),
    "9.45.0": "1.32.0",
    "9.47.0": "1.33.0",
    "9.50.1": "1.33.0",
    "9.52.0": "1.34.1",
    "9.52.1": "1.34.1",
};

/** The AWS Load Balancer Controller's Helm chart (aws.github.io/eks-charts) and the controller release it installs. */
export const AWS_LOAD_BALANCER_CONTROLLER_CHART_VERSION = "1.14.0";
export const AWS_LOAD_BALANCER_CONTROLLER_APP_VERSION = "v2.14.0";

/** Whole days from `from` to `to` (both YYYY-MM-DD or Dates), negative when `to` is earlier. */
export function daysBetween(from: Date, to: string): number {
    const day = 24 * 60 * 60 * 1000;
    const start = Date.UTC(from.getUTCFullYear(), from.getUTCMonth(), from.getUTCDate());
    return Math.round((Date.parse(`${to}T00:00:00Z`) - start) / day);
}

/** What a version costs per cluster on `now`: its support phase and the control plane's hourly price. */
export function eksSupportOn(version: string, now: Date):
    { phase: "standard" | "extended" | "ended" | "unknown"; perHour?: number; info?: EksVersion } {
    const info = EKS_VERSIONS[version];
    if (!info) { return { phase: "unknown" }; }
    if (daysBetween(now, info.endOfStandardSupport) > 0) { return { phase: "standard", perHour: EKS_STANDARD_SUPPORT_PER_HOUR, info }; }
    if (daysBetween(now, info.endOfExtendedSupport) > 0) { return { phase: "extended", perHour: EKS_EXTENDED_SUPPORT_PER_HOUR, info }; }
    return { phase: "ended", info };
}

/** The newest version in the table that is in standard support on `now`. */
export function newestInStandardSupport(now: Date): string | undefined {
    return Object.keys(EKS_VERSIONS)
        .filter((v) => eksSupportOn(v, now).phase === "standard")
        .sort((a, b) => Number(a.split(".")[1]) - Number(b.split(".")[1]))
        .pop();
}

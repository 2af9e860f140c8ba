// The fleet's metrics, alerts and access logs: where every cluster's metrics agent remote-writes (a workspace the
// stack creates, one that exists, or a Prometheus the team runs), the alert thresholds, and the access-log bucket.

import { Checker, describe } from "./checker";
import { ObservabilityConfig } from "./types";

/** Amazon Managed Service for Prometheus workspace ids: ws- and a UUID. */
const WORKSPACE_ID = /^ws-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The alert thresholds' defaults (observability/alerts.template.yml). */
export const DEFAULT_ALERT_THRESHOLDS = {
    http5xxRatio: 0.05,
    hitRatioDropFactor: 0.5,
    invalidationLagSeconds: 60,
    restartsPerHour: 3,
    memoryLimitRatio: 0.9,
    runbookUrl: "docs/operations.md",
} as const;

export const DEFAULT_ACCESS_LOG_EXPIRE_DAYS = 90;

export function parseObservability(c: Checker, v: unknown, primaryRegion: string | undefined, edgeAccessLog: boolean | undefined): ObservabilityConfig | undefined {
    const o = v === undefined ? {} : c.object("observability", v, ["metrics", "alerts", "accessLogs"]);
    if (!o) { return undefined; }

    const m = o.metrics === undefined ? {} : c.object("observability.metrics", o.metrics, ["enabled", "workspaceId", "workspaceRegion", "remoteWriteUrl"]);
    let metrics: ObservabilityConfig["metrics"] | undefined;
    if (m) {
        const enabled = c.boolean("observability.metrics.enabled", m.enabled, true);
        const workspaceId = c.string("observability.metrics.workspaceId", m.workspaceId, {
            required: false, pattern: WORKSPACE_ID, expected: "an Amazon Managed Service for Prometheus workspace id such as ws-12345678-abcd-1234-abcd-123456789012",
        });
        const workspaceRegion = m.workspaceRegion === undefined ? primaryRegion : c.region("observability.metrics.workspaceRegion", m.workspaceRegion);
        const remoteWriteUrl = c.string("observability.metrics.remoteWriteUrl", m.remoteWriteUrl, {
            required: false, pattern: /^https?:\/\/[^\s/]+(\/\S*)?$/, expected: "the http(s) URL of a Prometheus remote-write endpoint",
        });
        if (m.workspaceRegion !== undefined && m.workspaceId === undefined) {
            c.add("observability.metrics.workspaceRegion", "is set without workspaceId (it is the region of an existing workspace)");
        } else if (m.workspaceId !== undefined && m.remoteWriteUrl !== undefined) {
            c.add("observability.metrics", "sets both workspaceId and remoteWriteUrl; choose one place for the metrics");
        } else if (!enabled) {
            metrics = { kind: "off" };
        } else if (workspaceId && workspaceRegion) {
            metrics = { kind: "existing", workspaceId, region: workspaceRegion };
        } else if (remoteWriteUrl) {
            metrics = { kind: "remoteWrite", url: remoteWriteUrl };
        } else if (m.workspaceId === undefined && m.remoteWriteUrl === undefined) {
            metrics = { kind: "created" };
        }
    }

    const a = o.alerts === undefined ? {} : c.object("observability.alerts", o.alerts, Object.keys(DEFAULT_ALERT_THRESHOLDS));
    let alerts: ObservabilityConfig["alerts"] | undefined;
    if (a) {
        const d = DEFAULT_ALERT_THRESHOLDS;
        const http5xxRatio = fraction(c, "observability.alerts.http5xxRatio", a.http5xxRatio, d.http5xxRatio);
        const hitRatioDropFactor = fraction(c, "observability.alerts.hitRatioDropFactor", a.hitRatioDropFactor, d.hitRatioDropFactor);
        const memoryLimitRatio = fraction(c, "observability.alerts.memoryLimitRatio", a.memoryLimitRatio, d.memoryLimitRatio);
        const invalidationLagSeconds = c.integer("observability.alerts.invalidationLagSeconds", a.invalidationLagSeconds, 1, 86400, d.invalidationLagSeconds);
        const restartsPerHour = c.integer("observability.alerts.restartsPerHour", a.restartsPerHour, 1, 1000, d.restartsPerHour);
        // Goes into a YAML string and a link: no quotes, spaces or template braces.
        const runbookUrl = c.string("observability.alerts.runbookUrl", a.runbookUrl, {
            required: false, pattern: /^[^\s"'{}$\\]+$/, expected: "a URL (or path) of docs/operations.md, without spaces, quotes or braces",
        }) ?? d.runbookUrl;
        if (http5xxRatio !== undefined && hitRatioDropFactor !== undefined && memoryLimitRatio !== undefined &&
            invalidationLagSeconds !== undefined && restartsPerHour !== undefined) {
            alerts = { http5xxRatio, hitRatioDropFactor, invalidationLagSeconds, restartsPerHour, memoryLimitRatio, runbookUrl };
        }
    }

    const l = o.accessLogs === undefined ? {} : c.object("observability.accessLogs", o.accessLogs, ["enabled", "expireDays"]);
    let accessLogs: ObservabilityConfig["accessLogs"] | undefined;
    if (l) {
        const enabled = c.boolean("observability.accessLogs.enabled", l.enabled, true);
        const expireDays = c.integer("observability.accessLogs.expireDays", l.expireDays, 1, 3650, DEFAULT_ACCESS_LOG_EXPIRE_DAYS);
        if (enabled && edgeAccessLog === false) {
            c.add("observability.accessLogs.enabled", "is true but edge.accessLog is false: the nodes would write no access log to ship (turn one on, or the other off)");
        } else if (expireDays !== undefined) {
            accessLogs = { enabled, expireDays };
        }
    }
    if (!metrics || !alerts || !accessLogs) { return undefined; }
    return { metrics, alerts, accessLogs };
}

/** A number in (0, 1]: a share of responses, of a hit ratio, of a memory limit. */
function fraction(c: Checker, at: string, v: unknown, fallback: number): number | undefined {
    if (v === undefined || v === null) { return fallback; }
    if (typeof v !== "number" || !Number.isFinite(v) || v <= 0 || v > 1) {
        c.add(at, `${describe(v)} is not a number greater than 0 and at most 1`);
        return undefined;
    }
    return v;
}

// The repository's observability/ templates as the stack deploys them: the alert rules with the stack's thresholds,
// the metrics agent's Prometheus config around the clusters' scrape job, and the log shipper's Fluent Bit config.
// Pure functions of their arguments; the tests run promtool and Prometheus on what they return.

import * as fs from "fs";
import * as path from "path";
import { parse as parseYaml, stringify as toYaml } from "yaml";
import { AlertThresholds } from "./config";

/** observability/ at the repository root. */
export const OBSERVABILITY_DIR = path.resolve(__dirname, "..", "observability");

/** The container (each node's `edgecache`) whose log lines the shipper reads. */
export const EDGE_CONTAINER = "edgecache";

/** The key prefix under which the log shipper writes, one folder per region (region=<name>/date=<yyyy-mm-dd>/). */
export const ACCESS_LOG_PREFIX = "access-logs/";

/** Fills every `${name}` placeholder of an observability/ template; an unknown or unused value is an error. */
export function renderTemplate(file: string, values: Record<string, string | number>): string {
    const text = fs.readFileSync(path.join(OBSERVABILITY_DIR, file), "utf8");
    const used = new Set<string>();
    const out = text.replace(/\$\{([A-Za-z0-9]+)\}/g, (_, name: string) => {
        if (!(name in values)) { throw new Error(`${file}: no value for the placeholder \${${name}}`); }
        used.add(name);
        return String(values[name]);
    });
    const unused = Object.keys(values).filter((k) => !used.has(k));
    if (unused.length > 0) { throw new Error(`${file}: no placeholder for ${unused.join(", ")}`); }
    return out;
}

/** The Prometheus rule file the stack loads: observability/alerts.template.yml with the stack's thresholds. */
export function renderAlertRules(thresholds: AlertThresholds): string {
    return renderTemplate("alerts.template.yml", { ...thresholds });
}

/** The scrape job of one cluster: the edge pods of `namespace`, labelled with `region` and their pod name. */
export function scrapeJob(region: string, namespace: string): Record<string, unknown> {
    return parseYaml(renderTemplate("scrape.template.yml", { region, namespace })) as Record<string, unknown>;
}

/** Where the agent writes: an AMP workspace (SigV4, signed as the agent's IRSA role) or any remote-write URL. */
export type RemoteWriteTarget = { url: string; sigv4Region?: string };

/** The metrics agent's prometheus.yml (Prometheus in agent mode): the scrape job and one remote-write target. */
export function metricsAgentConfig(region: string, namespace: string, target: RemoteWriteTarget): string {
    return toYaml({
        global: { scrape_interval: "15s" },
        scrape_configs: [scrapeJob(region, namespace)],
        remote_write: [{
            url: target.url,
            ...(target.sigv4Region ? { sigv4: { region: target.sigv4Region } } : {}),
            // What Amazon Managed Service for Prometheus recommends for an agent's queue.
            queue_config: { capacity: 2500, max_samples_per_send: 1000, max_shards: 200 },
        }],
    });
}

/**
 * The log shipper's Fluent Bit config for one region: the edge containers' stdout (CRI log files on the node), the
 * access-log lines only, flattened (the request's fields at the top, with `node` from the pod's name and `region`),
 * to `<prefix>region=<region>/date=<yyyy-mm-dd>/` in the log bucket as gzipped JSON lines.
 */
export function fluentBitConfig(args: { region: string; namespace: string; bucket: string; bucketRegion: string; stateDir: string }): { main: string; parsers: string } {
    const main = `[SERVICE]
    Flush             5
    Log_Level         info
    Parsers_File      /fluent-bit/etc/edgecdn/parsers.conf
    HTTP_Server       On
    HTTP_Listen       0.0.0.0
    HTTP_Port         2020
    Health_Check      On

[INPUT]
    Name              tail
    Path              /var/log/containers/*_${args.namespace}_${EDGE_CONTAINER}-*.log
    Path_Key          file
    multiline.parser  cri
    Tag               edge
    DB                ${args.stateDir}/tail.db
    Mem_Buf_Limit     32MB
    Skip_Long_Lines   On
    Refresh_Interval  10

# The node's stdout line is JSON (its console logger): parse it, keep the access log's lines only.
[FILTER]
    Name              parser
    Match             edge
    Key_Name          log
    Parser            edgecdn_json
    Reserve_Data      On

[FILTER]
    Name              grep
    Match             edge
    Regex             Category ^EdgeCache\\.AccessLog$

# The pod's name (the metrics' node label) from the log file's name: <pod>_<namespace>_<container>-<id>.log.
[FILTER]
    Name              parser
    Match             edge
    Key_Name          file
    Parser            edgecdn_pod
    Reserve_Data      On

[FILTER]
    Name              nest
    Match             edge
    Operation         lift
    Nested_under      State

[FILTER]
    Name              modify
    Match             edge
    Remove            {OriginalFormat}
    Remove            EventId
    Remove            LogLevel
    Remove            Category
    Remove            Message
    Remove            stream
    Remove            _p
    Add               region ${args.region}

[OUTPUT]
    Name              s3
    Match             edge
    bucket            ${args.bucket}
    region            ${args.bucketRegion}
    use_put_object    On
    compression       gzip
    total_file_size   50M
    upload_timeout    5m
    store_dir         ${args.stateDir}/s3
    s3_key_format     /${ACCESS_LOG_PREFIX}region=${args.region}/date=%Y-%m-%d/%H%M%S-$UUID.json.gz
    json_date_key     false
`;
    const parsers = `[PARSER]
    Name        edgecdn_json
    Format      json

[PARSER]
    Name        edgecdn_pod
    Format      regex
    Regex       ^/var/log/containers/(?<node>[^_]+)_
`;
    return { main, parsers };
}

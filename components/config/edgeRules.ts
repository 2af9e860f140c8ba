// The edge node's config rules that its JSON Schema cannot express: comparisons between fields, references between
// origins and behaviors, the order of behaviors. The node keeps the same rules, with the same field paths and messages
// (edge-image/EdgeCache/Configuration/Validation); tests/config-corpus holds the configs both must refuse.

import * as net from "net";
import { edgeSchema, quote, schemaErrors } from "./edgeSchema";

type Obj = Record<string, unknown>;

const isObject = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

/** A field's default, from the schema's "default" (where the node's options take theirs too; a node test compares them). */
function schemaDefault(...path: string[]): unknown {
    let s: unknown = edgeSchema();
    for (const p of path) { s = isObject(s) ? s[p] : undefined; }
    return isObject(s) ? s.default : undefined;
}

/** The field's number, its default when absent, undefined when it is not a number (the schema reports that). */
function numberOr(v: unknown, ...defaultPath: string[]): number | undefined {
    return v === undefined ? schemaDefault(...defaultPath) as number : typeof v === "number" ? v : undefined;
}

/**
 * The behaviors' own rules: the default ('*') last and only last, each naming a configured origin (when
 * `originIds` is known), TTLs in order. Entries that are not objects, or fields of the wrong type, are left to the schema.
 */
export function behaviorRuleErrors(behaviors: unknown[], originIds: readonly string[] | undefined): string[] {
    const errors: string[] = [];
    const ttl = (b: Obj, k: string) => numberOr(b[k], "$defs", "behavior", "properties", k);
    behaviors.forEach((b, i) => {
        if (!isObject(b)) { return; }
        const at = `behaviors[${i}]`;
        const isLast = i === behaviors.length - 1;
        if (typeof b.pathPattern === "string") {
            if (isLast && b.pathPattern !== "*") {
                errors.push(`${at}.pathPattern: the last behavior is the default and must be '*' (found ${quote(b.pathPattern)})`);
            } else if (!isLast && b.pathPattern === "*") {
                errors.push(`${at}.pathPattern: '*' matches every path, so the behaviors after it could never match; only the last behavior may be '*'`);
            }
        }
        if (typeof b.origin === "string" && originIds && !originIds.includes(b.origin)) {
            errors.push(`${at}.origin: ${quote(b.origin)} is not a configured origin (known: ${[...originIds].sort().join(", ")})`);
        }
        const min = ttl(b, "minTtlSeconds"), def = ttl(b, "defaultTtlSeconds"), max = ttl(b, "maxTtlSeconds");
        // The order only means something between TTLs that are numbers; the schema reports the others.
        if (min === undefined || def === undefined || max === undefined) { return; }
        const expected = "expected min <= default <= max";
        if (min > max) {
            errors.push(`${at}.minTtlSeconds: ${min} is greater than maxTtlSeconds (${max}); ${expected}`);
        } else if (min > def) {
            errors.push(`${at}.minTtlSeconds: ${min} is greater than defaultTtlSeconds (${def}); ${expected}`);
        } else if (def > max) {
            errors.push(`${at}.defaultTtlSeconds: ${def} is greater than maxTtlSeconds (${max}); ${expected}`);
        }
    });
    return errors;
}

/** Origin ids unique; a group's members configured, not groups, and two different ones. Returns the errors and the ids. */
function originRuleErrors(list: unknown): { errors: string[]; ids: string[] } {
    const errors: string[] = [];
    const ids: string[] = [];
    const origins = Array.isArray(list) ? list.map((o) => (isObject(o) ? o : {})) : [];
    origins.forEach((o, i) => {
        if (typeof o.id !== "string") { return; }
        const id = o.id;
        if (ids.includes(id)) {
            errors.push(`origins[${i}].id: ${quote(id)} is used by another origin; ids must be unique`);
        } else {
            ids.push(id);
        }
    });
    origins.forEach((o, i) => {
        if (o.type !== "group") { return; }
        const at = `origins[${i}]`;
        for (const field of ["primary", "secondary"] as const) {
            const member = o[field];
            // Missing: the schema's to report.
            if (typeof member !== "string") { continue; }
            const target = origins.find((t) => t.id === member);
            if (!target) {
                const known = origins.filter((t) => t.type !== "group").map((t) => String(t.id)).sort().join(", ");
                errors.push(`${at}.${field}: ${quote(member)} is not a configured origin (known: ${known})`);
            } else if (target.type === "group") {
                errors.push(`${at}.${field}: ${quote(member)} is a group; a group's members must be http or s3 origins`);
            }
        }
        if (o.primary === o.secondary) {
            errors.push(`${at}.secondary: must differ from primary (${quote(String(o.primary))})`);
        }
    });
    return { errors, ids };
}

/**
 * Every problem of an edge node's config document, one "field: message" line each, as the node would refuse it at
 * start-up: the schema's, then those of the rules it cannot express (on the fields that are of their type).
 */
export function checkEdgeServerConfig(doc: unknown): string[] {
    const errors = schemaErrors("", doc);
    if (!isObject(doc)) { return errors; }
    const listen = isObject(doc.listen) ? doc.listen : {};
    const address = listen.address === undefined ? schemaDefault("properties", "listen", "properties", "address") : listen.address;
    if (typeof address === "string" && net.isIP(address) === 0) {
        errors.push(`listen.address: ${quote(address)} is not an IP address`);
    }
    const viewerPort = numberOr(listen.viewerPort, "properties", "listen", "properties", "viewerPort");
    const adminPort = numberOr(listen.adminPort, "properties", "listen", "properties", "adminPort");
    if (viewerPort !== undefined && viewerPort === adminPort) {
        errors.push(`listen.adminPort: must differ from listen.viewerPort (${viewerPort}); admin endpoints are never served to viewers`);
    }
    if (typeof listen.httpsRedirectPort === "number" && (listen.httpsRedirectPort === viewerPort || listen.httpsRedirectPort === adminPort)) {
        errors.push(`listen.httpsRedirectPort: ${listen.httpsRedirectPort} must differ from listen.viewerPort and listen.adminPort`);
    }
    const cache = isObject(doc.cache) ? doc.cache : {};
    const memoryBytes = numberOr(cache.memoryBytes, "properties", "cache", "properties", "memoryBytes");
    const maxObjectBytes = numberOr(cache.maxObjectBytes, "properties", "cache", "properties", "maxObjectBytes");
    if (maxObjectBytes !== undefined && memoryBytes !== undefined && maxObjectBytes > memoryBytes) {
        errors.push(`cache.maxObjectBytes: ${maxObjectBytes} exceeds cache.memoryBytes (${memoryBytes})`);
    }
    const origins = originRuleErrors(doc.origins);
    errors.push(...origins.errors, ...behaviorRuleErrors(Array.isArray(doc.behaviors) ? doc.behaviors : [], origins.ids));
    return errors;
}

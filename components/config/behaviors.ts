// Cache behaviors: each is checked against the edge server's own JSON Schema (`$defs/behavior` in
// edgecache.schema.json, with ajv), then for what the schema cannot say: the order of TTLs and of path patterns,
// the origin it names, and headers that are never forwarded.

import * as fs from "fs";
import * as path from "path";
import Ajv2020, { ErrorObject, ValidateFunction } from "ajv/dist/2020";
import { Checker, describe } from "./checker";
import { Behavior } from "./types";

/** The edge server's JSON Schema: behaviors are checked against its `$defs/behavior` here, before anything exists. */
export const EDGE_SCHEMA_PATH = path.join(__dirname, "..", "..", "edge-image", "EdgeCache", "edgecache.schema.json");

const TTL_DEFAULTS = { minTtlSeconds: 0, defaultTtlSeconds: 86400, maxTtlSeconds: 31536000 };
const FORBIDDEN_FORWARD_HEADERS = new Set([
    "host", "connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade",
    "proxy-authorization", "proxy-authenticate", "content-length", "expect",
]);

let behaviorValidator: ValidateFunction | undefined;

function behaviorSchemaValidator(): ValidateFunction {
    if (!behaviorValidator) {
        const schema = JSON.parse(fs.readFileSync(EDGE_SCHEMA_PATH, "utf8")) as { $id: string };
        const ajv = new Ajv2020({ allErrors: true, strict: false });
        ajv.addSchema(schema);
        behaviorValidator = ajv.getSchema(`${schema.$id}#/$defs/behavior`);
        if (!behaviorValidator) { throw new Error(`${EDGE_SCHEMA_PATH} has no $defs/behavior`); }
    }
    return behaviorValidator;
}

function ajvMessage(at: string, e: ErrorObject): string {
    const where = at + e.instancePath.split("/").slice(1).map((p) => (/^\d+$/.test(p) ? `[${p}]` : `.${p}`)).join("");
    switch (e.keyword) {
        case "additionalProperties":
            return `${where}.${String(e.params.additionalProperty)}: is not a known field of a behavior (see $defs/behavior in edgecache.schema.json)`;
        case "enum":
            return `${where}: is not one of: ${(e.params.allowedValues as unknown[]).join(", ")}`;
        case "required":
            return `${where}.${String(e.params.missingProperty)}: is required`;
        default:
            return `${where}: ${e.message ?? "is not valid"} (edgecache.schema.json $defs/behavior)`;
    }
}

export function parseBehaviors(c: Checker, v: unknown, originNames: string[] | undefined): Behavior[] | undefined {
    const list = c.array("behaviors", v);
    if (!list) { return undefined; }
    if (list.length === 0) {
        c.add("behaviors", "is empty (expected at least one behavior; the last one is the default and must have pathPattern '*')");
        return undefined;
    }
    const validate = behaviorSchemaValidator();
    const before = c.errors.length;
    for (const [i, item] of list.entries()) {
        const at = `behaviors[${i}]`;
        const isLast = i === list.length - 1;
        if (!validate(item)) {
            for (const e of validate.errors ?? []) {
                // The schema's own messages for oneOf/if branches repeat what a clearer error already says.
                if (e.keyword === "if") { continue; }
                c.errors.push(ajvMessage(at, e));
            }
        }
        if (!c.isObject(item)) { continue; }
        const b = item as Partial<Behavior>;
        if (typeof b.pathPattern === "string") {
            if (isLast && b.pathPattern !== "*") {
                c.add(`${at}.pathPattern`, `the last behavior is the default and must be '*' (found ${describe(b.pathPattern)}); add a default behavior with pathPattern '*' at the end`);
            } else if (!isLast && b.pathPattern === "*") {
                c.add(`${at}.pathPattern`, "'*' matches every path, so the behaviors after it could never match; only the last behavior may be '*'");
            }
        }
        if (typeof b.origin === "string" && originNames && !originNames.includes(b.origin)) {
            c.add(`${at}.origin`, `${describe(b.origin)} is not a configured origin (known: ${[...originNames].sort().join(", ")})`);
        }
        const ttl = (k: keyof typeof TTL_DEFAULTS): { value: number; note: string } => {
            const raw = b[k];
            return raw === undefined ? { value: TTL_DEFAULTS[k], note: ", the default" } : { value: raw, note: "" };
        };
        const min = ttl("minTtlSeconds"), def = ttl("defaultTtlSeconds"), max = ttl("maxTtlSeconds");
        // The ordering only means something between valid TTLs; the schema already reported the others.
        const ttlsValid = [min, def, max].every((t) => Number.isInteger(t.value) && t.value >= 0);
        if (ttlsValid && min.value > max.value) {
            c.add(`${at}.minTtlSeconds`, `${min.value} is greater than maxTtlSeconds (${max.value}${max.note}); expected min <= default <= max`);
        } else if (ttlsValid && min.value > def.value) {
            c.add(`${at}.minTtlSeconds`, `${min.value} is greater than defaultTtlSeconds (${def.value}${def.note}); expected min <= default <= max`);
        } else if (ttlsValid && def.value > max.value) {
            c.add(`${at}.defaultTtlSeconds`, `${def.value}${def.note ? " (the default)" : ""} is greater than maxTtlSeconds (${max.value}${max.note}); expected min <= default <= max`);
        }
        if (Array.isArray(b.allowedMethods) && b.allowedMethods.length > 0 &&
            !(b.allowedMethods.includes("GET") && b.allowedMethods.includes("HEAD"))) {
            c.add(`${at}.allowedMethods`, "must include GET and HEAD");
        }
        const key = b.cacheKey;
        if (c.isObject(key)) {
            const names = Array.isArray(key.queryStringNames) ? key.queryStringNames : [];
            if (key.queryStrings === "allowList" && names.length === 0) {
                c.add(`${at}.cacheKey.queryStringNames`, "queryStrings \"allowList\" needs at least one name");
            } else if (key.queryStrings !== "allowList" && names.length > 0) {
                c.add(`${at}.cacheKey.queryStringNames`, `only used with queryStrings "allowList" (found ${describe(key.queryStrings ?? "none")})`);
            }
        }
        for (const [field, headers] of [["cacheKey.headers", key?.headers], ["originRequest.headers", b.originRequest?.headers]] as const) {
            if (!Array.isArray(headers)) { continue; }
            headers.forEach((h, j) => {
                if (typeof h === "string" && FORBIDDEN_FORWARD_HEADERS.has(h.toLowerCase())) {
                    c.add(`${at}.${field}[${j}]`, `${describe(h)} is never forwarded from viewers (hop-by-hop, framing or Host)`);
                }
            });
        }
    }
    return c.errors.length === before ? list as Behavior[] : undefined;
}

// The edge server's JSON Schema (edge-image/EdgeCache/edgecache.schema.json), read once and checked with ajv: every
// rule the schema can express is written there, once, for the node (which checks the same file with JsonSchema.Net)
// and for this program. Errors are rendered as the node renders them (Configuration/ConfigSchema.cs): the field path,
// then the failing subschema's title or a message made from the failing keyword.

import * as fs from "fs";
import * as path from "path";
import Ajv2020, { ErrorObject, ValidateFunction } from "ajv/dist/2020";

export const EDGE_SCHEMA_PATH = path.join(__dirname, "..", "..", "edge-image", "EdgeCache", "edgecache.schema.json");

type Schema = Record<string, unknown>;

let loaded: { schema: Schema & { $id: string }; ajv: Ajv2020; validators: Map<string, ValidateFunction> } | undefined;

function load(): NonNullable<typeof loaded> {
    if (!loaded) {
        const schema = JSON.parse(fs.readFileSync(EDGE_SCHEMA_PATH, "utf8")) as Schema & { $id: string };
        // verbose: each error carries the subschema that failed and the value, which the messages need.
        const ajv = new Ajv2020({ allErrors: true, strict: false, verbose: true });
        ajv.addSchema(schema);
        loaded = { schema, ajv, validators: new Map() };
    }
    return loaded;
}

/** The schema as parsed (for its defaults). */
export function edgeSchema(): Schema {
    return load().schema;
}

function validator(def: string | undefined): ValidateFunction {
    const l = load();
    const key = def ?? "";
    let v = l.validators.get(key);
    if (!v) {
        v = l.ajv.getSchema(def === undefined ? l.schema.$id : `${l.schema.$id}#/$defs/${def}`);
        if (!v) { throw new Error(`${EDGE_SCHEMA_PATH} has no $defs/${def}`); }
        l.validators.set(key, v);
    }
    return v;
}

/**
 * "field: message" for every rule of the schema `value` breaks: the whole node config, or with `def` one of its
 * `$defs` (a behavior, an origin, a bucket name). `at` is the value's own field path ("behaviors[2]"), or "" for the root.
 */
export function schemaErrors(at: string, value: unknown, def?: string): string[] {
    const validate = validator(def);
    if (validate(value)) { return []; }
    const out: string[] = [];
    for (const e of validate.errors ?? []) {
        // A failing "if" only selects which "then" applies, and an item "contains" tried and passed over is not at
        // fault: the "then"'s own errors, and "contains" itself, say what is wrong.
        if (e.keyword === "if" || e.schemaPath.includes("/contains/")) { continue; }
        for (const line of render(at, e)) {
            if (!out.includes(line)) { out.push(line); }
        }
    }
    return out.length > 0 ? out : [`${at || "(root)"}: does not match edgecache.schema.json`];
}

function render(at: string, e: ErrorObject): string[] {
    const field = fieldPath(at, e.instancePath);
    const parent = (e.parentSchema ?? {}) as Schema;
    const title = typeof parent.title === "string" ? parent.title : undefined;
    const child = (name: string) => (field === "(root)" ? name : `${field}.${name}`);
    switch (e.keyword) {
        case "additionalProperties":
            return [`${child(String(e.params.additionalProperty))}: is not a known field (check the spelling against edgecache.schema.json)`];
        case "false schema":
            return [`${field}: is not a known field (check the spelling against edgecache.schema.json)`];
        case "required":
            return [`${child(String(e.params.missingProperty))}: ${title ?? "is required"}`];
    }
    const shown = describeValue(e.data);
    if (title !== undefined) {
        return [`${field}: ${isScalar(e.data) ? `${shown} ${title}` : title}`];
    }
    const arg = e.schema as unknown;
    const message = (() => {
        switch (e.keyword) {
            case "type": return `${shown} is not ${typeName(String(arg))}`;
            case "enum": return `${shown} is not one of ${(arg as unknown[]).map(describeValue).join(", ")}`;
            case "const": return `${shown} must be ${describeValue(arg)}`;
            case "minimum": return `${shown} is below the minimum of ${String(arg)}`;
            case "maximum": return `${shown} is above the maximum of ${String(arg)}`;
            case "exclusiveMinimum": return `${shown} must be greater than ${String(arg)}`;
            case "exclusiveMaximum": return `${shown} must be less than ${String(arg)}`;
            case "minLength": return `${shown} is shorter than ${String(arg)} characters`;
            case "maxLength": return `${shown} is longer than ${String(arg)} characters`;
            case "pattern": return `${shown} does not match ${String(arg)}`;
            case "minItems": return `must have at least ${String(arg)} item(s)`;
            case "maxItems": return `must have at most ${String(arg)} item(s)`;
            case "uniqueItems": return "has duplicate items";
            case "contains": {
                const c = (arg as Schema | undefined)?.const;
                return c === undefined ? "has no item of the kind required" : `must include ${describeValue(c)}`;
            }
            case "not": return `${shown} is not allowed`;
            default: return e.message ?? "is not valid";
        }
    })();
    return [`${field}: ${message}`];
}

/** "/behaviors/1/minTtlSeconds" under "" → "behaviors[1].minTtlSeconds"; under "behaviors[1]", "/cacheKey" → "behaviors[1].cacheKey". */
export function fieldPath(at: string, pointer: string): string {
    let out = at;
    for (const raw of pointer.split("/").slice(1)) {
        const segment = raw.replace(/~1/g, "/").replace(/~0/g, "~");
        out += /^\d+$/.test(segment) ? `[${segment}]` : out === "" ? segment : `.${segment}`;
    }
    return out === "" ? "(root)" : out;
}

function isScalar(v: unknown): boolean {
    return typeof v === "string" || typeof v === "number" || typeof v === "boolean";
}

/** A value as the node's messages show it: a string in single quotes with control characters escaped, so each error stays one line. */
export function describeValue(v: unknown): string {
    if (typeof v === "string") { return quote(v); }
    if (v === null || v === undefined) { return "null"; }
    if (Array.isArray(v)) { return "a list"; }
    if (typeof v === "object") { return "an object"; }
    return String(v);
}

/** Configuration/ConfigValueText.Quote's rendering. */
export function quote(s: string): string {
    let out = "'";
    for (const ch of s) {
        const code = ch.charCodeAt(0);
        out += ch === "\r" ? "\\r" : ch === "\n" ? "\\n" : ch === "\t" ? "\\t"
            : code < 0x20 || code === 0x7f ? `\\x${code.toString(16).padStart(2, "0")}` : ch;
    }
    return out + "'";
}

function typeName(type: string): string {
    switch (type) {
        case "integer": return "an integer";
        case "number": return "a number";
        case "boolean": return "true or false";
        case "object": return "an object";
        case "array": return "a list";
        case "string": return "a string";
        default: return type;
    }
}

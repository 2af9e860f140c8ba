// The collector every section's parser reports to: each typed read returns the value when valid, otherwise records
// "<field path>: <what is wrong>" and returns undefined, so one bad field never hides the next.

import { AWS_REGIONS } from "./aws";

/** Every problem of a stack config, one "<field path>: <message>" line each, thrown once before anything exists. */
export class CdnConfigError extends Error {
    constructor(public readonly errors: string[]) {
        super(`Invalid CDN stack config (${errors.length} problem${errors.length === 1 ? "" : "s"}):\n` +
            errors.map((e) => `  - ${e}`).join("\n"));
        this.name = "CdnConfigError";
    }
}

/** An object of the config as read from YAML, before its fields are checked. */
export type Obj = Record<string, unknown>;

/** Collects errors (which stop the deploy) and warnings (which the Cdn logs) for one parse. */
export class Checker {
    readonly errors: string[] = [];
    readonly warnings: string[] = [];

    /** `now` is the day versions are compared with the EKS calendar. */
    constructor(readonly now: Date) {}

    add(at: string, message: string): void {
        this.errors.push(`${at}: ${message}`);
    }

    warn(at: string, message: string): void {
        this.warnings.push(`${at}: ${message}`);
    }

    isObject(v: unknown): v is Obj {
        return typeof v === "object" && v !== null && !Array.isArray(v);
    }

    object(at: string, v: unknown, known: readonly string[], required = true): Obj | undefined {
        if (v === undefined || v === null) {
            if (required) { this.add(at, "is required (expected an object)"); }
            return undefined;
        }
        if (!this.isObject(v)) {
            this.add(at, `${describe(v)} is not an object`);
            return undefined;
        }
        for (const key of Object.keys(v)) {
            if (!known.includes(key)) {
                this.add(`${join(at, key)}`, `is not a known field (expected one of: ${known.join(", ")})`);
            }
        }
        return v;
    }

    array(at: string, v: unknown, required = true): unknown[] | undefined {
        if (v === undefined || v === null) {
            if (required) { this.add(at, "is required (expected a list)"); }
            return undefined;
        }
        if (!Array.isArray(v)) {
            this.add(at, `${describe(v)} is not a list`);
            return undefined;
        }
        return v;
    }

    string(at: string, v: unknown, opts: { required?: boolean; pattern?: RegExp; expected?: string } = {}): string | undefined {
        if (v === undefined || v === null || v === "") {
            if (opts.required ?? true) { this.add(at, `is required${opts.expected ? ` (expected ${opts.expected})` : ""}`); }
            return undefined;
        }
        if (typeof v !== "string") {
            this.add(at, `${describe(v)} is not a string${opts.expected ? ` (expected ${opts.expected})` : ""}`);
            return undefined;
        }
        if (opts.pattern && !opts.pattern.test(v)) {
            this.add(at, `${describe(v)} is not valid (expected ${opts.expected ?? `to match ${opts.pattern}`})`);
            return undefined;
        }
        return v;
    }

    integer(at: string, v: unknown, min: number, max: number, fallback?: number): number | undefined {
        if (v === undefined || v === null) {
            if (fallback === undefined) { this.add(at, `is required (expected an integer from ${min} to ${max})`); }
            return fallback;
        }
        if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) {
            this.add(at, `${describe(v)} is not an integer from ${min} to ${max}`);
            return undefined;
        }
        return v;
    }

    boolean(at: string, v: unknown, fallback: boolean): boolean {
        if (v === undefined || v === null) { return fallback; }
        if (typeof v !== "boolean") {
            this.add(at, `${describe(v)} is not true or false`);
            return fallback;
        }
        return v;
    }

    oneOf<T extends string | number>(at: string, v: unknown, allowed: readonly T[], fallback?: T): T | undefined {
        if (v === undefined || v === null) {
            if (fallback === undefined) { this.add(at, `is required (expected one of: ${allowed.join(", ")})`); }
            return fallback;
        }
        if (!(allowed as readonly unknown[]).includes(v)) {
            this.add(at, `${describe(v)} is not one of: ${allowed.join(", ")}`);
            return undefined;
        }
        return v as T;
    }

    region(at: string, v: unknown, what = "an AWS region"): string | undefined {
        const s = this.string(at, v, { expected: "an AWS region such as us-east-1" });
        if (s === undefined) { return undefined; }
        if (!AWS_REGIONS.includes(s)) {
            this.add(at, `${describe(s)} is not ${what} (expected one of ${AWS_REGIONS.join(", ")})`);
            return undefined;
        }
        return s;
    }
}

function join(at: string, key: string): string {
    return at === "" ? key : `${at}.${key}`;
}

export function describe(v: unknown): string {
    if (typeof v === "string") { return JSON.stringify(v); }
    if (v === null || v === undefined) { return String(v); }
    if (Array.isArray(v)) { return "a list"; }
    if (typeof v === "object") { return "an object"; }
    return String(v);
}

/** The object without its undefined fields (optional settings left out stay out of the rendered config). */
export function strip<T extends object>(o: T): T {
    return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

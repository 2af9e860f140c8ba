// The shared corpus of edge node configs (tests/config-corpus): the Pulumi side's node-config check refuses every
// invalid one naming the same field as the node does, and accepts the valid ones.
import { checkEdgeServerConfig } from "../../components/config";
import { REPO_ROOT } from "./harness";
import * as fs from "fs";
import * as path from "path";
import assert from "node:assert/strict";
import { describe, it } from "node:test";

const corpus = path.join(REPO_ROOT, "tests", "config-corpus");
const base = JSON.parse(fs.readFileSync(path.join(corpus, "base.json"), "utf8")) as unknown;

interface Case { patch: unknown; field?: string; message?: string; errors?: number }

/** RFC 7386: objects merge field by field, null removes a field, anything else replaces. */
function mergePatch(target: unknown, patch: unknown): unknown {
    if (typeof patch !== "object" || patch === null || Array.isArray(patch)) { return patch; }
    const out: Record<string, unknown> = typeof target === "object" && target !== null && !Array.isArray(target) ? { ...target as Record<string, unknown> } : {};
    for (const [k, v] of Object.entries(patch)) {
        if (v === null) { delete out[k]; } else { out[k] = mergePatch(out[k], v); }
    }
    return out;
}

function cases(kind: "invalid" | "valid"): [string, Case][] {
    const dir = path.join(corpus, kind);
    return fs.readdirSync(dir).filter((f) => f.endsWith(".json")).sort()
        .map((f) => [path.basename(f, ".json"), JSON.parse(fs.readFileSync(path.join(dir, f), "utf8")) as Case]);
}

describe("config corpus: invalid node configs are refused, naming the field", () => {
    const invalid = cases("invalid");
    it("has a case for each rule (at least 40)", () => assert.ok(invalid.length >= 40, `${invalid.length} cases`));
    for (const [name, c] of invalid) {
        it(name, () => {
            assert.ok(c.field, "the case names its field");
            const errors = checkEdgeServerConfig(mergePatch(base, c.patch));
            const line = errors.find((e) => e.startsWith(`${c.field}: `));
            assert.ok(line, `expected an error for ${c.field}, got:\n${errors.join("\n")}`);
            if (c.message) { assert.ok(line.includes(c.message), `"${line}" does not contain "${c.message}"`); }
            assert.ok(errors.every((e) => !e.includes("\n")), "one line per error");
            if (c.errors !== undefined) { assert.equal(errors.length, c.errors, `expected ${c.errors} error line(s), got:\n${errors.join("\n")}`); }
        });
    }
});

describe("config corpus: valid node configs are accepted", () => {
    for (const [name, c] of cases("valid")) {
        it(name, () => assert.deepEqual(checkEdgeServerConfig(mergePatch(base, c.patch)), []));
    }
});

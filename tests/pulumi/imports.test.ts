// The program's modules import one way: no module of components/ or stacks/ imports, through any chain, one that
// imports it back. A cycle makes load order decide which of the two sees the other's exports as undefined.
import { REPO_ROOT } from "./harness";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import assert from "node:assert/strict";
import { describe, it } from "node:test";

/** Every .ts file under the given folders of the repository. */
function sources(...dirs: string[]): string[] {
    const out: string[] = [];
    const walk = (dir: string) => {
        for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
            const full = path.join(dir, entry.name);
            if (entry.isDirectory()) { walk(full); } else if (entry.name.endsWith(".ts")) { out.push(full); }
        }
    };
    for (const d of dirs) { walk(path.join(REPO_ROOT, d)); }
    return out.sort();
}

/** The relative imports and re-exports of a file, resolved to files (`./x` is x.ts or x/index.ts). */
function localImports(file: string): string[] {
    const text = fs.readFileSync(file, "utf8");
    const specs = [...text.matchAll(/^\s*(?:import|export)\b[^;]*?\bfrom\s+"(\.[^"]+)"/gms)].map((m) => m[1]);
    return specs.map((spec) => {
        const base = path.resolve(path.dirname(file), spec);
        const resolved = [`${base}.ts`, path.join(base, "index.ts")].find((f) => fs.existsSync(f));
        if (!resolved) { throw new Error(`${path.relative(REPO_ROOT, file)} imports ${spec}, which is no file`); }
        return resolved;
    });
}

/** The import cycles reachable from `files`, each as the chain of files from a module back to itself. */
function cycles(files: string[]): string[][] {
    const graph = new Map<string, string[]>();
    const importsOf = (f: string): string[] => {
        if (!graph.has(f)) { graph.set(f, localImports(f)); }
        return graph.get(f) ?? [];
    };
    const found: string[][] = [];
    const state = new Map<string, "active" | "done">();
    const stack: string[] = [];
    const visit = (f: string) => {
        state.set(f, "active");
        stack.push(f);
        for (const next of importsOf(f)) {
            if (state.get(next) === "active") {
                found.push([...stack.slice(stack.indexOf(next)), next].map((x) => path.relative(REPO_ROOT, x)));
            } else if (!state.has(next)) {
                visit(next);
            }
        }
        stack.pop();
        state.set(f, "done");
    };
    for (const f of files) { if (!state.has(f)) { visit(f); } }
    return found;
}

describe("module imports", () => {
    it("finds a cycle when there is one (the check itself)", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "edgecdn-cycle-"));
        try {
            fs.writeFileSync(path.join(dir, "a.ts"), "import { b } from \"./b\";\nexport const a = b;\n");
            fs.writeFileSync(path.join(dir, "b.ts"), "export { c as b } from \"./c\";\n");
            fs.mkdirSync(path.join(dir, "c"));
            fs.writeFileSync(path.join(dir, "c", "index.ts"), "import {\n    a,\n} from \"../a\";\nexport const c = a;\n");
            const found = cycles([path.join(dir, "a.ts")]).map((c) => c.map((f) => path.relative(dir, path.resolve(REPO_ROOT, f))));
            assert.deepEqual(found, [["a.ts", "b.ts", path.join("c", "index.ts"), "a.ts"]]);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("components/ and stacks/ have no import cycle", () => {
        const files = sources("components", "stacks");
        assert.ok(files.length > 20, `only ${files.length} files found`);
        assert.deepEqual(cycles(files), []);
    });
});

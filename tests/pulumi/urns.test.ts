// The URN of every resource the stacks register, against a committed snapshot. A URN is a resource's identity in
// the stack's state: a resource whose URN changes (a new name, type, or parent component type) is deleted and
// created again by the next `pulumi up`, which for a cluster, a VPC or a bucket means an outage or lost data. A
// reshape of the program must leave this list as it is; a deliberate change to it needs `aliases` on the moved
// resources (and then this snapshot is regenerated with UPDATE_URN_SNAPSHOT=1).
import { buildCdn, clone, registeredUrns, REPO_ROOT, stackConfig } from "./harness";
import * as fs from "fs";
import * as path from "path";
import assert from "node:assert/strict";
import { describe, it } from "node:test";

const SNAPSHOT = path.join(REPO_ROOT, "tests", "pulumi", "urns.snapshot.json");

type Raw = Record<string, unknown> & { regions: { cluster: Record<string, unknown> }[] };

/** The committed stacks, and variants that reach the paths they do not: interface endpoints, existing clusters. */
const CASES: Record<string, { stack: string; config: () => unknown }> = {
    "dev": { stack: "dev", config: () => stackConfig("dev") },
    "prod": { stack: "prod", config: () => stackConfig("prod") },
    "prod with interface endpoints": {
        stack: "prod",
        config: () => {
            const c = clone(stackConfig("prod")) as Raw;
            for (const r of c.regions) { (r.cluster.create as Record<string, unknown>).interfaceEndpoints = true; }
            return c;
        },
    },
    "dev with existing clusters and an image reference": {
        stack: "dev",
        config: () => {
            const c = clone(stackConfig("dev")) as Raw;
            c.regions[0].cluster = { existing: { clusterName: "platform-use1" } };
            c.regions[1].cluster = { existing: { kubeconfig: "apiVersion: v1\nkind: Config\n", oidcIssuer: "https://oidc.eks.eu-west-1.amazonaws.com/id/ABC" } };
            c.image = { ref: "ghcr.io/acme/edgecache:1.2.3" };
            return c;
        },
    },
};

describe("resource URNs", () => {
    const snapshot = fs.existsSync(SNAPSHOT) ? JSON.parse(fs.readFileSync(SNAPSHOT, "utf8")) as Record<string, Record<string, string>> : {};
    const seen: Record<string, Record<string, string>> = {};
    for (const [label, { stack, config }] of Object.entries(CASES)) {
        it(`${label}: every resource keeps its URN and parent`, async () => {
            const built = await buildCdn(`edgecdn-${stack}`, config());
            const urns = registeredUrns(stack, built.registrations);
            seen[label] = urns;
            assert.ok(Object.keys(urns).length > 50, `${label}: only ${Object.keys(urns).length} resources registered`);
            if (process.env.UPDATE_URN_SNAPSHOT === "1") { return; }
            assert.ok(snapshot[label], `no snapshot for ${label}; run with UPDATE_URN_SNAPSHOT=1 once`);
            const was = snapshot[label];
            const gone = Object.keys(was).filter((u) => !(u in urns));
            const added = Object.keys(urns).filter((u) => !(u in was));
            assert.deepEqual({ gone, added }, { gone: [], added: [] }, `${label}: URNs changed`);
            assert.deepEqual(urns, was, `${label}: a resource has a new parent`);
        });
    }
    it("writes the snapshot when asked", { skip: process.env.UPDATE_URN_SNAPSHOT !== "1" }, () => {
        assert.deepEqual(Object.keys(seen).sort(), Object.keys(CASES).sort());
        fs.writeFileSync(SNAPSHOT, `${JSON.stringify(seen, null, 2)}\n`);
    });
});

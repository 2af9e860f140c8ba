// A behavior's request policy in the stack config: any method token, and originRequest's "all" keywords, checked
// against the edge server's own schema before anything is created.
import { buildExpectingError, clone, reset, stackConfig } from "./harness";
import assert from "node:assert/strict";
import { describe, it } from "node:test";

type Raw = Record<string, unknown> & { behaviors: Record<string, unknown>[] };

function dev(): Raw {
    return clone(stackConfig("dev")) as Raw;
}

describe("behavior request policy", () => {
    it("accepts extension methods and the allViewer / all keywords", async () => {
        const { parseCdnConfig } = await import("../../components");
        const c = dev();
        Object.assign(c.behaviors[0], {
            allowedMethods: ["GET", "HEAD", "PURGEX", "LINK"],
            originRequest: { headers: "allViewerExceptHost", cookies: "all" },
        });
        const parsed = parseCdnConfig(c);
        assert.deepEqual(parsed.behaviors[0].allowedMethods, ["GET", "HEAD", "PURGEX", "LINK"]);
        assert.equal(parsed.behaviors[0].originRequest?.headers, "allViewerExceptHost");
    });

    it("rejects a method that is not a token and an unknown keyword, naming each field", async () => {
        reset();
        const { CdnConfigError } = await import("../../components");
        const c = dev();
        Object.assign(c.behaviors[0], {
            allowedMethods: ["GET", "HEAD", "PUR GE"],
            originRequest: { headers: "allViewers", cookies: "everything" },
        });
        const { error } = await buildExpectingError("request-policy", c);
        assert.ok(error instanceof CdnConfigError, String(error));
        for (const field of ["behaviors[0].allowedMethods[2]", "behaviors[0].originRequest.headers", "behaviors[0].originRequest.cookies"]) {
            assert.ok(error.errors.some((line) => line.startsWith(field)), `no error for ${field} in:\n${error.message}`);
        }
    });
});

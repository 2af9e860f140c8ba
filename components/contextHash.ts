// A hash of what an image build reads, known before the build runs, so it can name the image: the immutable ECR tag
// changes exactly when the build's input does. The build provider's own context hash is an output of the build, too
// late to be its tag; AWS CDK names its image assets the same way (context files under .dockerignore, and the options).

import ignore from "@balena/dockerignore";
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";

/**
 * SHA-256 over every file of `contextDir` that `.dockerignore` does not exclude (Docker's matching rules, by
 * @balena/dockerignore), each as its path and content, then the Dockerfile's content (which may be excluded from the
 * context or live outside it) and the target platform. File order and timestamps do not matter; content and names do.
 */
export function buildContextHash(contextDir: string, dockerfile: string, platform: string): string {
    const ignoreFile = path.join(contextDir, ".dockerignore");
    const ig = ignore().add(fs.existsSync(ignoreFile) ? fs.readFileSync(ignoreFile, "utf8").split(/\r?\n/) : []);
    const files: string[] = [];
    const walk = (dir: string) => {
        for (const entry of fs.readdirSync(path.join(contextDir, dir), { withFileTypes: true })) {
            const rel = dir === "" ? entry.name : `${dir}/${entry.name}`;
            if (entry.isDirectory()) {
                // An excluded directory is still walked: a later `!` pattern may bring files inside it back.
                walk(rel);
            } else if (entry.isFile() && !ig.ignores(rel)) {
                files.push(rel);
            }
        }
    };
    walk("");
    const hash = crypto.createHash("sha256");
    for (const rel of files.sort()) {
        hash.update(`file\0${rel}\0`);
        hash.update(fs.readFileSync(path.join(contextDir, rel)));
        hash.update("\0");
    }
    hash.update(`dockerfile\0`);
    hash.update(fs.readFileSync(dockerfile));
    hash.update(`\0platform\0${platform}`);
    return hash.digest("hex");
}

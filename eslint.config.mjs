// ESLint flat config: typescript-eslint's recommended rules over the Pulumi program and its tests.
import eslint from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
    {
        // Only the TypeScript this config owns; the .NET tree, build output and dependencies are not linted here.
        ignores: ["node_modules/**", "bin/**", "obj/**", "edge-image/**", "tests/EdgeCache.Tests/**", "tests/s3rver/**", "bench/**", ".tmp/**"],
    },
    eslint.configs.recommended,
    ...tseslint.configs.recommended,
    {
        files: ["**/*.ts"],
        rules: {
            "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_" }],
            eqeqeq: ["error", "always"],
            "no-console": "error",
        },
    },
);

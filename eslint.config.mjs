import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["node_modules/", "bin/", "dist/", "coverage/", "test-artifacts/", "jest.config.js"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { parserOptions: { projectService: false } },
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/no-explicit-any": "error",
      "@typescript-eslint/consistent-type-imports": ["error", { fixStyle: "inline-type-imports" }],
      eqeqeq: ["error", "always", { null: "ignore" }],
      "no-console": ["error", { allow: ["error"] }],
      "prefer-const": "error",
      // Prettier wraps code at 140 (.prettierrc.json); this holds comments to the same width. Long messages stay
      // whole strings, so they can be found with grep.
      "max-len": ["error", { code: 140, ignoreStrings: true, ignoreTemplateLiterals: true, ignoreUrls: true, ignoreRegExpLiterals: true }],
      "no-restricted-properties": [
        "error",
        { object: "Math", property: "random", message: "Use node:crypto: every code and key comes from a CSPRNG." },
      ],
    },
  },
  {
    files: ["bench/**", "examples/**", "tests/**"],
    rules: { "no-console": "off" },
  },
);

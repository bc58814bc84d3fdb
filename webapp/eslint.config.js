// ESLint (flat config) for the dashboard's scripts: `npm run lint`, run by `inv lint`.
//
// src/js holds browser modules that esbuild bundles for es2020 (build.mjs), so the parser accepts that syntax and no
// later; build.mjs and this file run in Node.
import js from "@eslint/js";
import globals from "globals";

export default [
  { ignores: ["dist/", "node_modules/"] },
  js.configs.recommended,
  {
    files: ["src/**/*.js"],
    languageOptions: { ecmaVersion: 2020, sourceType: "module", globals: globals.browser },
  },
  {
    files: ["*.js", "*.mjs"],
    languageOptions: { ecmaVersion: "latest", sourceType: "module", globals: globals.node },
  },
  {
    rules: {
      // `x == null` is the idiom for "null or undefined"; every other comparison is strict.
      eqeqeq: ["error", "always", { null: "ignore" }],
      "no-var": "error",
      "prefer-const": "error",
      "object-shorthand": "error",
    },
  },
];

import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["dist/**", "node_modules/**", "src/wasm/*.wasm", "build/**"] },
  js.configs.recommended,
  ...tseslint.configs.strict,
  {
    rules: {
      "no-console": ["error", { allow: ["warn", "error"] }],
    },
  },
  {
    // Build and benchmark scripts run in Node (declaring its globals) and report on stdout.
    files: ["scripts/**/*.mjs"],
    rules: { "no-console": "off" },
  },
);

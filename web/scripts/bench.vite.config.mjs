// Vite config of the Chromium benchmark page (scripts/bench_page), built into a temp dir:
//   npx vite build --config scripts/bench.vite.config.mjs --outDir /tmp/terrabit-bench-page
/* global URL */
import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

export default defineConfig({
  root: fileURLToPath(new URL("./bench_page", import.meta.url)),
  base: "./",
  build: { emptyOutDir: true, target: "es2022", sourcemap: false },
  worker: { format: "es" },
  logLevel: "warn",
});

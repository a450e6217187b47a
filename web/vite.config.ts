import { defineConfig } from "vitest/config";

// The built app is shipped inside the Python package so that `pip install terrabit`
// can serve it (`terrabit serve`); `base: "./"` keeps it relocatable on any static host.
export default defineConfig({
  base: "./",
  build: {
    outDir: "../src/terrabit/web/static",
    emptyOutDir: true,
    target: "es2022",
    sourcemap: false,
    chunkSizeWarningLimit: 2000,
  },
  worker: { format: "es" },
  test: {
    include: ["tests/**/*.test.ts"],
    environment: "node",
  },
});

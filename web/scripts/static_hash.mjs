/* global Buffer, console, process */
// Fingerprint the app's sources and record it next to the build, so that a stale
// `src/terrabit/web/static/` is detected (tests/web/test_static_fresh.py).
//
// Usage (from web/, after `vite build`):  node scripts/static_hash.mjs
//   writes ../src/terrabit/web/static/build-info.json = {"source_hash": ..., "files": n}
// `node scripts/static_hash.mjs --print [--dir WEB_DIR]` only prints the hash (of WEB_DIR).
//
// The hash must equal Python's `terrabit.web.source_hash(web_dir)` (tested): the files are
// index.html, package-lock.json, vite.config.ts and everything under src/ and public/
// (names starting with "." skipped), sorted by their UTF-8 relative path; the hash is
// sha256 of the lines "<sha256 hex of the file>  <relative path>\n", as "sha256:<hex>".
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync, renameSync } from "node:fs";
import { dirname, join, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";

export const HASHED_FILES = ["index.html", "package-lock.json", "vite.config.ts"];
export const HASHED_DIRS = ["src", "public"];

function walk(root, dir, out) {
  for (const name of readdirSync(dir)) {
    if (name.startsWith(".")) continue;
    const full = join(dir, name);
    const st = statSync(full);
    if (st.isDirectory()) walk(root, full, out);
    else if (st.isFile()) out.push(relative(root, full).split(sep).join("/"));
  }
}

export function sourceFiles(webDir) {
  const files = [];
  for (const name of HASHED_FILES) {
    const full = join(webDir, name);
    if (existsSync(full) && statSync(full).isFile()) files.push(name);
  }
  for (const name of HASHED_DIRS) {
    const full = join(webDir, name);
    if (existsSync(full) && statSync(full).isDirectory()) walk(webDir, full, files);
  }
  return files.sort((a, b) => Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8")));
}

export function sourceHash(webDir) {
  const files = sourceFiles(webDir);
  const outer = createHash("sha256");
  for (const rel of files) {
    const inner = createHash("sha256").update(readFileSync(join(webDir, rel))).digest("hex");
    outer.update(`${inner}  ${rel}\n`, "utf8");
  }
  return { hash: `sha256:${outer.digest("hex")}`, files: files.length };
}

const isMain = process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1];
if (isMain) {
  const webDir = join(dirname(fileURLToPath(import.meta.url)), "..");
  const dirArg = process.argv.indexOf("--dir");
  if (process.argv.includes("--print")) {
    console.log(sourceHash(dirArg > 0 ? process.argv[dirArg + 1] : webDir).hash);
  } else {
    const { hash, files } = sourceHash(webDir);
    const outDir = join(webDir, "..", "src", "terrabit", "web", "static");
    if (!existsSync(join(outDir, "index.html"))) {
      console.error(`static_hash: ${outDir} has no index.html; run vite build first`);
      process.exit(1);
    }
    const target = join(outDir, "build-info.json");
    writeFileSync(`${target}.tmp`, JSON.stringify({ source_hash: hash, files }, null, 2) + "\n");
    renameSync(`${target}.tmp`, target);
    console.log(`static_hash: ${hash} (${files} files) -> ${relative(webDir, target)}`);
  }
}

/**
 * The query lives in the URL hash (`#bbox=…&pos=lon,lat;…&view=topk&k=20`): loading a
 * URL restores it (and runs it), changing a control rewrites it, editing the hash (or
 * going back) re-reads it. Parsing and formatting are the library's (`lib/urlstate`).
 */
import { DEFAULT_QUERY, formatHash, parseHash } from "../lib/urlstate";
import type { Query } from "../lib/types";
import type { QueryStore } from "./store";

function withHash(text: string): string {
  const bare = text.startsWith("#") ? text.slice(1) : text;
  return bare ? `#${bare}` : "";
}

/** The query in `hash` (defaults where absent) and the problems found in it. */
export function readHash(hash: string): { query: Query; errors: string[] } {
  const bare = hash.startsWith("#") ? hash.slice(1) : hash;
  if (!bare) return { query: { ...DEFAULT_QUERY }, errors: [] };
  return parseHash(bare);
}

/**
 * Keep `store` and `location.hash` in step. `onErrors` hears about parts of a hash that
 * could not be read (they are dropped, the rest is used).
 */
export function syncUrl(store: QueryStore, onErrors: (errors: string[]) => void): void {
  let written = location.hash;
  store.subscribe((query, source) => {
    if (source === "url") return;
    const next = withHash(formatHash(query));
    if (next === written) return;
    written = next;
    const url = `${location.pathname}${location.search}${next}`;
    history.replaceState(history.state, "", url);
  });
  window.addEventListener("hashchange", () => {
    if (location.hash === written) return;
    written = location.hash;
    const { query, errors } = readHash(location.hash);
    if (errors.length) onErrors(errors);
    store.update(query, "url");
  });
}

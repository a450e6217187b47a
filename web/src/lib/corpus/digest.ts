/**
 * SHA-256 digests of the corpus format: a shard footer's `footer_checksum`, and the
 * manifest's own digest (format 1.6, `terrabit.sha256` in its footer; spec §4.2).
 */
import { sha256 } from "@noble/hashes/sha2.js";
import type { FileMetaData } from "hyparquet";
import { TerrabitError } from "../errors";

/** The manifest footer key holding the manifest's own digest. */
export const DIGEST_KEY = "terrabit.sha256";
/** What the writer put in the digest's place before digesting the file (same length). */
const PLACEHOLDER = "sha256:" + "~".repeat(64);

/**
 * Lower-case hex SHA-256 of `bytes`: Web Crypto where the page is a secure context (https,
 * localhost), else `@noble/hashes` (a corpus served over plain http on a LAN address).
 */
export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const subtle = globalThis.crypto?.subtle as SubtleCrypto | undefined;
  const digest = subtle
    ? new Uint8Array(await subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>))
    : sha256(bytes);
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

function find(haystack: Uint8Array, needle: Uint8Array, from: number): number {
  outer: for (let i = Math.max(0, from); i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

/**
 * Check a manifest's own digest: the SHA-256 of every byte of the file, with the
 * placeholder back in the digest's place, equals the digest. Returns false when the
 * footer has no digest (manifests before format 1.6; the caller decides by the version).
 */
export async function checkSeal(bytes: ArrayBuffer, metadata: FileMetaData, where: string): Promise<boolean> {
  const value = metadata.key_value_metadata?.find((kv) => kv.key === DIGEST_KEY)?.value;
  if (value === undefined) return false;
  const fix = "the manifest is damaged — restore it from a copy or republish the corpus";
  const data = new Uint8Array(bytes);
  const footerAt = data.length - 8 - new DataView(bytes).getUint32(data.length - 8, true);
  const encoded = new TextEncoder().encode(value);
  const at = encoded.length === PLACEHOLDER.length && value.startsWith("sha256:") ? find(data, encoded, footerAt) : -1;
  if (at < 0) throw new TerrabitError(`${where}: its digest (${DIGEST_KEY}) is malformed; ${fix}`, "format");
  const unsealed = data.slice();
  unsealed.set(new TextEncoder().encode(PLACEHOLDER), at);
  if (`sha256:${await sha256Hex(unsealed)}` !== value) {
    throw new TerrabitError(`${where}: its bytes do not match its own digest (${DIGEST_KEY}); ${fix}`, "format");
  }
  return true;
}

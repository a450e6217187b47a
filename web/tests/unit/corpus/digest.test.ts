/// <reference types="node" />
import { afterEach, describe, expect, it, vi } from "vitest";
import { createHash } from "node:crypto";
import { sha256Hex } from "../../../src/lib/corpus/digest";

describe("sha256Hex", () => {
  afterEach(() => vi.unstubAllGlobals());
  const data = new TextEncoder().encode("terrabit manifest bytes ".repeat(1000));
  const expected = createHash("sha256").update(data).digest("hex"); // node's OpenSSL, the oracle

  it("uses Web Crypto in a secure context", async () => {
    expect(await sha256Hex(data)).toBe(expected);
  });

  it("falls back to @noble/hashes where the page has no crypto.subtle (plain http on a LAN)", async () => {
    vi.stubGlobal("crypto", {});
    expect(globalThis.crypto.subtle).toBeUndefined();
    expect(await sha256Hex(data)).toBe(expected);
    expect(await sha256Hex(new Uint8Array(0))).toBe(createHash("sha256").digest("hex"));
  });
});

/**
 * The library's error type: `message` is user-facing (says what was wrong and how to fix it).
 */
export class TerrabitError extends Error {
  /** A short machine-readable kind ("range", "http", "format", "input", "cap", "abort"). */
  readonly kind: string;

  constructor(message: string, kind = "input", options?: { cause?: unknown }) {
    super(message, options);
    this.name = "TerrabitError";
    this.kind = kind;
  }
}

/** Throw a TerrabitError("cancelled") when `signal` is aborted. */
export function checkAbort(signal: AbortSignal | undefined): void {
  if (signal?.aborted) {
    throw new TerrabitError("the search was cancelled", "abort");
  }
}

/** `values[:10]` formatted for an error message, with "(and N more)". */
export function firstTen(values: readonly unknown[]): string {
  const head = values.slice(0, 10).map((v) => JSON.stringify(v));
  const more = values.length > 10 ? ` (and ${values.length - 10} more)` : "";
  return `[${head.join(", ")}]${more}`;
}

/**
 * Long loops on the page's thread in slices: between slices the page handles input and
 * paints (a macrotask boundary), so no single task blocks it for long. A search over
 * 200K candidates runs its remaining main-thread loops (gathering the shards' rows,
 * building result rows) through a `TimeSlicer`.
 */

/** Let the page handle input and paint before going on (a macrotask boundary). */
export function yieldToMain(): Promise<void> {
  const scheduler = (globalThis as { scheduler?: { yield?: () => Promise<void> } }).scheduler;
  if (typeof scheduler?.yield === "function") return scheduler.yield();
  return new Promise((resolve) => setTimeout(resolve, 0));
}

/** Yields to the page once `budgetMs` have passed since the last yield. */
export class TimeSlicer {
  private since = performance.now();

  constructor(readonly budgetMs = 30) {}

  /** Yield if this slice has used its budget (cheap to call in a loop). */
  async tick(): Promise<void> {
    if (performance.now() - this.since < this.budgetMs) return;
    await yieldToMain();
    this.since = performance.now();
  }

  /** Yield now (between stages of a search). */
  async now(): Promise<void> {
    await yieldToMain();
    this.since = performance.now();
  }
}

/**
 * Undo for removals: removing a region or an example is one click, so every removal
 * is remembered and `undo()` (the Undo button or Ctrl/⌘+Z) puts the last one back.
 */
export interface UndoEntry {
  /** What the Undo button says ("region 2", "positive 12.3, 45.6"). */
  label: string;
  restore: () => void;
}

export class UndoStack {
  private readonly entries: UndoEntry[] = [];
  private readonly listeners: (() => void)[] = [];

  push(entry: UndoEntry): void {
    this.entries.push(entry);
    if (this.entries.length > 100) this.entries.shift();
    this.changed();
  }

  /** Restore the last removal; false when there is nothing to undo. */
  undo(): boolean {
    const entry = this.entries.pop();
    if (!entry) return false;
    entry.restore();
    this.changed();
    return true;
  }

  peek(): UndoEntry | undefined {
    return this.entries[this.entries.length - 1];
  }

  onChange(listener: () => void): void {
    this.listeners.push(listener);
  }

  private changed(): void {
    for (const l of this.listeners) l();
  }
}

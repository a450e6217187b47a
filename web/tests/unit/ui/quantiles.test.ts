import { describe, expect, it } from "vitest";

import { countAtMost, cutAt, positionOf, STEPS } from "../../../src/ui/quantiles";

describe("threshold quantiles", () => {
  // a long tail: 990 scores in 0..9, ten far outliers up to 10,000
  const scores = Float64Array.from({ length: 1000 }, (_, i) => (i < 990 ? i % 10 : 1000 * (i - 989)));
  const sorted = scores.slice().sort();

  it("each step adds about n / STEPS rows, whatever the outliers", () => {
    for (const pos of [100, 500, 900]) {
      const t = cutAt(sorted, pos);
      const shown = scores.filter((s) => s <= t).length;
      // discrete scores: the cut keeps whole ties, so at least the quantile's rows
      expect(shown).toBeGreaterThanOrEqual((pos / STEPS) * 1000);
      expect(shown).toBeLessThanOrEqual((pos / STEPS) * 1000 + 99);
    }
    expect(cutAt(sorted, 985)).toBe(9);
    expect(cutAt(sorted, STEPS)).toBe(10_000);
    expect(cutAt(sorted, 0)).toBe(0);
  });

  it("a cut-off maps back to the share of scores under it", () => {
    expect(countAtMost(sorted, 4)).toBe(scores.filter((s) => s <= 4).length);
    expect(countAtMost(sorted, -1)).toBe(0);
    expect(positionOf(sorted, 9)).toBe(990);
    expect(positionOf(sorted, cutAt(sorted, 990))).toBe(990);
    expect(positionOf(new Float64Array(0), 3)).toBe(0);
  });
});

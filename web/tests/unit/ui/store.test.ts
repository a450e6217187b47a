import { describe, expect, it } from "vitest";
import { classifierText } from "../../../src/ui/results";
import { runnable } from "../../../src/ui/store";
import { DEFAULT_QUERY } from "../../../src/lib/urlstate";
import type { Query } from "../../../src/lib/types";

const box: Query["regions"] = [{ kind: "bbox", bbox: [0, 0, 1, 1] }];
const point = { kind: "point" as const, lon: 0.5, lat: 0.5 };

describe("what a search needs before it runs", () => {
  it.each([
    [{ view: "change" }, null],
    [{ view: "outlier" }, null],
    [{ view: "topk" }, "Left-click the map to add a positive example."],
    [{ view: "change", score: "classifier" }, "The classifier learns from positive examples: left-click the map to add one (or pick Score: distance)."],
    [{ view: "change", score: "classifier", positives: [point] }, null],
  ] as [Partial<Query>, string | null][])("%o -> %s", (patch, why) => {
    expect(runnable({ ...DEFAULT_QUERY, regions: box, ...patch })).toBe(why);
  });
});

describe("the classifier's line under the status", () => {
  const info = { positives: 1, negatives: 0, background: 256, background_weight: 0.01, C: 1, iterations: 6, converged: true };
  it("says when the background alone is the negative class", () => {
    expect(classifierText(info)).toBe(
      "Classifier fitted on 1 positive and no negatives: the background alone (256 of the region's rows, weight 0.01 each) is the negative class; 6 Newton steps.",
    );
  });
  it("names negatives and a fit that did not converge", () => {
    expect(classifierText({ ...info, positives: 2, negatives: 1, iterations: 50, converged: false })).toBe(
      "Classifier fitted on 2 positives, 1 negative and a background (256 of the region's rows, weight 0.01 each); not converged after 50 Newton steps.",
    );
  });
});

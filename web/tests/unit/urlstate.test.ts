import { describe, expect, it } from "vitest";
import { DEFAULT_QUERY, formatHash, parseHash } from "../../src/lib/urlstate";
import type { Query } from "../../src/lib/types";

describe("urlstate", () => {
  it("parses the documented example", () => {
    const { query, errors } = parseHash("#bbox=-10,40,5,50&pos=2.35,48.85;-3.7,40.4&neg=0,45&combine=mean&view=topk&k=20");
    expect(errors).toEqual([]);
    expect(query.regions).toEqual([{ kind: "bbox", bbox: [-10, 40, 5, 50] }]);
    expect(query.positives).toEqual([
      { kind: "point", lon: 2.35, lat: 48.85 },
      { kind: "point", lon: -3.7, lat: 40.4 },
    ]);
    expect(query.negatives).toEqual([{ kind: "point", lon: 0, lat: 45 }]);
    expect(query.k).toBe(20);
  });
  it("round-trips every field", () => {
    const q: Query = {
      regions: [
        { kind: "bbox", bbox: [170, -10, -170, 10] },
        { kind: "bbox", bbox: [0, 0, 1, 1] },
        { kind: "polygon", geometry: { type: "Polygon", coordinates: [[[0, 0], [2, 0], [1, 1.5], [0, 0]]] } },
      ],
      positives: [{ kind: "point", lon: 1.123456, lat: -2.5 }, { kind: "id", id: "p 1;x" }],
      negatives: [{ kind: "id", id: "n2" }],
      combine: "xor",
      invert: true,
      view: "threshold",
      k: 7,
      threshold: 12.5,
      year: 2024,
      dedupe: true,
      global: true,
      asymmetric: true,
      score: "classifier",
      years: [2022, 2024],
    };
    const text = formatHash(q);
    const back = parseHash(text);
    expect(back.errors).toEqual([]);
    // ids with ";" are percent-encoded, so they survive
    expect(back.query.positives[1]).toEqual({ kind: "id", id: "p 1;x" });
    expect(back.query).toEqual({ ...q, positives: q.positives });
    expect(formatHash(back.query)).toBe(text);
    expect(text).toMatch(/&asym=1/);
    expect(text).toMatch(/&score=classifier&years=2022,2024$/);
  });
  it("reads score and the change view's years, leaving the defaults out of the hash", () => {
    const { query, errors } = parseHash("view=change&years=2024,2023&score=classifier");
    expect(errors).toEqual([]);
    expect(query.view).toBe("change");
    expect(query.years).toEqual([2023, 2024]); // earlier first
    expect(query.score).toBe("classifier");
    const plain = formatHash(DEFAULT_QUERY);
    expect(plain).not.toMatch(/score=|years=/);
  });
  it.each([
    ["score=ranking", /score "ranking" is not one of distance, classifier/],
    ["years=2023", /years "2023" is not two different years/],
    ["years=2023,2023", /years "2023,2023" is not two different years/],
    ["years=2023,20x4", /years "2023,20x4" is not two different years/],
  ])("%s is reported and dropped", (hash, message) => {
    const { query, errors } = parseHash(hash);
    expect(errors.join("\n")).toMatch(message);
    expect(query.score).toBe("distance");
    expect(query.years).toBeNull();
  });
  it("defaults and reports bad parts without losing the rest", () => {
    const { query, errors } = parseHash("k=0&view=nope&year=20x4&pos=200,0&bbox=1,2,3&combine=or&foo=1&asym=2");
    expect(query.combine).toBe("or");
    expect(query.asymmetric).toBe(false);
    expect(query.k).toBe(DEFAULT_QUERY.k);
    expect(query.view).toBe("topk");
    expect(errors.length).toBe(7);
    expect(errors.join("\n")).toMatch(/asym "2" is not 0 or 1/);
    expect(errors.join("\n")).toMatch(/unknown key "foo"/);
  });
});

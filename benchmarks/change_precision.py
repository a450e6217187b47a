"""Precision@50 of ``view="change"`` against the world's ground truth of changed places.

    .venv/bin/terrabit world demo-out/world --no-aef
    .venv/bin/terrabit publish demo-out/world/patches -o demo-out/corpus --codec binary \\
        --keep label,year
    .venv/bin/python benchmarks/change_precision.py demo-out/corpus

(``make demo`` writes the same corpus.) The world's second year (2024) differs from the
first (2023) by three known changes (``terrabit.world.landcover.changes``): new solar
farms, deforestation and urban growth. A place counts as changed when the world labels
its two rows differently; a "became like this" hit is a place whose label became the
exemplar's kind (``solar_farm``; ``cropland``/``grassland`` from ``forest``; ``urban``).

* **no exemplar**: places ranked by the Hamming distance between their two years' codes;
  hit = any change;
* **became like this**: one exemplar, a 2024 row of a place that changed that way (the
  demo's solar farm ``54970781-2024``; for the others the changed place with the smallest
  id), places ranked by ``d(2024, q) - d(2023, q)``, by distance and by the classifier.

Both over the whole world (100,000 places) and in the demo's region ``68,6,98,36``.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

import terrabit
from terrabit.corpus.reader import Corpus
from terrabit.search import search

REGIONS: dict[str, Any] = {"world": None, "north-west India": (68.0, 6.0, 98.0, 36.0)}
DEMO_SOLAR = "54970781-2024"
K = 50


def _became(kind: str, before: str, after: str) -> bool:
    """Whether a place's labels changed ``kind``'s way."""
    if before == after:
        return False
    if kind == "any":
        return True
    if kind == "deforestation":
        return before == "forest" and after in ("cropland", "grassland")
    return after == kind


def _exemplars(labels: dict[str, str]) -> dict[str, str]:
    """A 2024 row of a place that changed each way (the demo's solar farm for solar)."""
    out = {"solar_farm": DEMO_SOLAR}
    for kind in ("deforestation", "urban"):
        out[kind] = min(
            i
            for i, after in labels.items()
            if i.endswith("-2024") and _became(kind, labels.get(i[:-5] + "-2023", after), after)
        )
    return out


def _precision(
    corpus: Corpus, labels: dict[str, str], region: Any, kind: str, **kw: Any
) -> dict[str, Any]:
    """Precision@50, the places compared and how many of them changed ``kind``'s way."""
    table = search(corpus, region, view="change", k=K, **kw).table  # every place, by rank
    pairs = zip(table.column("earlier").to_pylist(), table.column("id").to_pylist(), strict=True)
    hit = [_became(kind, labels[a], labels[b]) for a, b in pairs]
    return {"places": len(hit), "changed": sum(hit), "p@50": sum(hit[:K]) / min(K, len(hit))}


def measure(path: str) -> list[dict[str, Any]]:
    """One row per (region, exemplar, score)."""
    rows: list[dict[str, Any]] = []
    with terrabit.open(path) as corpus:
        table = corpus.read(columns=["id", "label"])
        labels = dict(
            zip(table.column("id").to_pylist(), table.column("label").to_pylist(), strict=True)
        )
        exemplars = _exemplars(labels)
        for name, region in REGIONS.items():
            found = _precision(corpus, labels, region, "any")
            rows.append({"region": name, "exemplar": None, "score": "-", **found})
            for kind, ex in exemplars.items():
                for score in ("distance", "classifier"):
                    found = _precision(corpus, labels, region, kind, positives=[ex], score=score)
                    rows.append(
                        {"region": name, "exemplar": f"{kind} ({ex})", "score": score, **found}
                    )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("corpus", help="the demo corpus (published with --keep label,year)")
    parser.add_argument("--json", action="store_true", help="print the rows as JSON")
    args = parser.parse_args()
    rows = measure(args.corpus)
    if args.json:
        print(json.dumps(rows, indent=1))
        return
    print("| region | places | exemplar (became like it) | changed that way | score | p@50 |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        ex = r["exemplar"] or "none: any change"
        print(
            f"| {r['region']} | {r['places']:,} | {ex} | {r['changed']} | {r['score']} | "
            f"{r['p@50']:.2f} |"
        )


if __name__ == "__main__":
    main()

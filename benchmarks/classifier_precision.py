"""Precision@20 of ``score="distance"`` against ``score="classifier"`` on the demo's
north-west India solar-farm query, checked against the world's own labels.

    .venv/bin/terrabit world demo-out/world --no-aef
    .venv/bin/terrabit publish demo-out/world/patches -o demo-out/corpus --codec binary \\
        --keep label,year
    .venv/bin/python benchmarks/classifier_precision.py demo-out/corpus

(``make demo`` writes the same corpus.) The region is ``make demo``'s bbox ``68,6,98,36``,
searched one year at a time (2024, then 2023), and a result counts when the world labels
it ``solar_farm`` in that year. Two ways of picking exemplars:

* **the loop**: (a) the demo's positive ``54970781-2024`` alone; (b) that positive, plus
  the first solar farm of (a)'s distance ranking (confirmed, a second positive) and its
  first row that is not one (rejected, a negative), as a person clicking ✓ and ✗ would;
* **draws**: ``--draws`` seeded draws from the year's rows in the region, (a) one solar
  farm, (b) two solar farms and one other row; mean and worst precision@20.

The exemplars are left out of the candidates by the search itself.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

import numpy as np

import terrabit
from terrabit.corpus.reader import Corpus
from terrabit.search import search

BBOX = (68.0, 6.0, 98.0, 36.0)
DEMO_POSITIVE = "54970781-2024"
TARGET = "solar_farm"
K = 20


def _precision(corpus: Corpus, labels: dict[str, str], score: str, **kw: Any) -> float:
    shown = search(corpus, BBOX, k=K, score=score, **kw).shown  # type: ignore[arg-type]
    ids = shown.column("id").to_pylist()[:K]
    return sum(labels[i] == TARGET for i in ids) / len(ids)


def _loop_exemplars(corpus: Corpus, labels: dict[str, str], year: int) -> dict[str, Any]:
    """(b) of the loop: the demo positive, its first hit confirmed, its first miss rejected."""
    ranked = search(corpus, BBOX, positives=[DEMO_POSITIVE], year=year, k=200).shown
    ids = ranked.column("id").to_pylist()
    hit = next(i for i in ids if labels[i] == TARGET)
    miss = next(i for i in ids if labels[i] != TARGET)
    return {"positives": [DEMO_POSITIVE, hit], "negatives": [miss]}


def measure(path: str, draws: int, seed: int) -> list[dict[str, Any]]:
    """One row per (year, exemplars, method)."""
    rows: list[dict[str, Any]] = []
    with terrabit.open(path) as corpus:
        table = corpus.read(corpus.select(BBOX), columns=["id", "label", "year"])
        ids = np.array(table.column("id").to_pylist())
        label = np.array(table.column("label").to_pylist())
        year_of = np.asarray(table.column("year").to_numpy(), dtype=np.int64)
        labels = dict(zip(ids.tolist(), label.tolist(), strict=True))
        rng = np.random.default_rng(seed)
        for year in (2024, 2023):
            loop_b = _loop_exemplars(corpus, labels, year)
            hits = ids[(year_of == year) & (label == TARGET)]
            misses = ids[(year_of == year) & (label != TARGET)]
            picks = [
                (list(rng.choice(hits, 2, replace=False)), [str(rng.choice(misses))])
                for _ in range(draws)
            ]
            for score in ("distance", "classifier"):
                one = _precision(corpus, labels, score, positives=[DEMO_POSITIVE], year=year)
                two = _precision(corpus, labels, score, year=year, **loop_b)
                d1 = [
                    _precision(corpus, labels, score, positives=p[:1], year=year) for p, _ in picks
                ]
                d2 = [
                    _precision(corpus, labels, score, positives=p, negatives=n, year=year)
                    for p, n in picks
                ]
                rows.append(
                    {
                        "year": year,
                        "score": score,
                        "loop_1p": one,
                        "loop_2p1n": two,
                        "loop_exemplars": loop_b,
                        "draws_1p_mean": round(float(np.mean(d1)), 3),
                        "draws_1p_min": float(np.min(d1)),
                        "draws_2p1n_mean": round(float(np.mean(d2)), 3),
                        "draws_2p1n_min": float(np.min(d2)),
                        "solar_rows": int(hits.shape[0]),
                        "rows": int((year_of == year).sum()),
                    }
                )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("corpus", help="the demo corpus (published with --keep label,year)")
    parser.add_argument("--draws", type=int, default=20, help="seeded exemplar draws per year")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true", help="print the rows as JSON")
    args = parser.parse_args()
    rows = measure(args.corpus, args.draws, args.seed)
    if args.json:
        print(json.dumps(rows, indent=1))
        return
    print(
        "| year | score | 1 positive (demo) | 2 pos + 1 neg (loop) | "
        f"1 positive ({args.draws} draws: mean / worst) | 2 pos + 1 neg (draws: mean / worst) |"
    )
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['year']} | {r['score']} | {r['loop_1p']:.2f} | {r['loop_2p1n']:.2f} | "
            f"{r['draws_1p_mean']:.3f} / {r['draws_1p_min']:.2f} | "
            f"{r['draws_2p1n_mean']:.3f} / {r['draws_2p1n_min']:.2f} |"
        )
    for r in rows[::2]:
        ex = r["loop_exemplars"]
        print(
            f"loop exemplars {r['year']}: positives {ex['positives']}, negatives {ex['negatives']}"
            f"; {r['solar_rows']} solar-farm rows of {r['rows']} in the region"
        )


if __name__ == "__main__":
    main()

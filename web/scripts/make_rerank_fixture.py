"""Write ``web/tests/unit/fixtures/rerank/`` (a tiny corpus with an int8 ``rerank`` column)
and ``web/tests/unit/fixtures/rerank.search.json`` (Python search results on it), the
oracle of the browser library's re-rank test. Deterministic.

    /work/main/.venv/bin/python web/scripts/make_rerank_fixture.py
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

import terrabit
from terrabit.corpus import publish
from terrabit.corpus._fixture import write_input
from terrabit.search import search

OUT = Path(__file__).resolve().parents[1] / "tests" / "unit" / "fixtures"


def make(out: Path = OUT) -> dict[str, Any]:
    """Publish the corpus and run the cases; return the JSON data."""
    corpus = out / "rerank"
    if corpus.exists():
        shutil.rmtree(corpus)
    out.mkdir(parents=True, exist_ok=True)
    os.environ["SOURCE_DATE_EPOCH"] = "1767225600"
    old = Path.cwd()
    with tempfile.TemporaryDirectory() as tmp:
        os.chdir(tmp)
        try:
            write_input("input.parquet", rows=300, dims=32, seed=11, towns=5)
            publish(
                "input.parquet",
                corpus,
                codec="binary",
                rerank="int8",
                max_rows=120,
                row_group_rows=32,
                seed=11,
                show_progress=False,
            )
        finally:
            os.chdir(old)
    cases = []
    with terrabit.open(corpus) as c:
        ids = c.read(columns=["id"]).column("id").to_pylist()
        runs: list[tuple[str, dict[str, Any]]] = [
            ("rerank one positive", {"positives": [ids[5]], "k": 8}),
            (
                "rerank with a negative",
                {"positives": [ids[5], ids[40]], "negatives": [ids[90]], "k": 6},
            ),
            ("no rerank for xor", {"positives": [ids[5]], "k": 6, "combine": "xor"}),
        ]
        for name, kw in runs:
            r = search(c, None, rerank_shortlist=None, **kw)
            t = r.table
            rows = [
                {"id": i, "score": float(s), "rank": int(k), "shown": bool(sh)}
                for i, s, k, sh in zip(
                    t.column("id").to_pylist(),
                    t.column("score").to_pylist(),
                    t.column("rank").to_pylist(),
                    t.column("shown").to_pylist(),
                    strict=True,
                )
            ]
            cases.append(
                {
                    "name": name,
                    "query": {
                        "regions": [],
                        "positives": [{"kind": "id", "id": v} for v in kw["positives"]],
                        "negatives": [{"kind": "id", "id": v} for v in kw.get("negatives", [])],
                        "combine": kw.get("combine", "mean"),
                        "invert": False,
                        "view": "topk",
                        "k": kw["k"],
                        "threshold": None,
                        "year": None,
                        "dedupe": False,
                        "global": False,
                    },
                    "reranked": "reranked" in r.stats,
                    "rows": rows,
                }
            )
    return {"cases": cases}


def main(argv: list[str]) -> int:
    data = make()
    path = OUT / "rerank.search.json"
    path.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
    print(f"wrote {OUT / 'rerank'} and {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

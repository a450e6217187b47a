"""Global search: fraction of shards scanned for the exact global top-k, by summary size.

Usage::

    terrabit world W --no-aef                       # 200K rows x 1024-d (the default world)
    terrabit publish W/patches -o C --codec binary --keep label,year
    python benchmarks/global_search.py C [--queries 20] [-k 10] [--balls 1,16,64,256]

Exemplars: ``--queries`` corpus rows drawn (seeded) round-robin over the ``label``
classes, rarest first, so the needle classes (solar farms, mines, ...) are all in.

1. **Real runs**: ``search(corpus, positives=[id], k=k, global_=True)`` with the corpus's
   own manifest summary; each result must equal the brute-force top-k over every code
   (by ``(distance, id)``, the exemplar excluded), and the shard fraction is reported.
2. **Sweep** of the number of summary balls per shard: each shard's balls are rebuilt
   with :func:`terrabit.corpus.summary.summary_balls` (timed: the publish cost), the
   bounds and the best-first scan are replayed exactly as ``global_search`` does them,
   and the manifest bytes of the summary columns are measured (Parquet, ZSTD). The
   replay of the corpus's own setting must match the real runs shard for shard.
3. **Floor**: the same replay with each shard's *exact* minimum distance as its bound —
   the fraction no exact per-shard bound can beat.
4. **Tighter ball bounds** (``--balls``' default count): per ball, besides ``d(q, c) - r``,
   (a) the bits on which every member equals the centre (``stable``: a member differs from
   ``q`` on every stable bit where the centre does, so ``LB = d_stable + max(0, d_rest -
   r)``) and (b) the largest deviation of a member from the centre within each of ``B``
   bit blocks (``LB = sum_b max(0, d_b(q, c) - r_b)``); each is exact, each costs manifest
   bytes (a 128-byte mask, or ``B`` bytes, per ball). The replay reports what they scan.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from terrabit.corpus import open as open_corpus
from terrabit.corpus.summary import SUMMARY_BALLS, _nearest, summary_balls, summary_fields
from terrabit.kernels import hamming_distances
from terrabit.search.columns import fixed_codes
from terrabit.search.globalsearch import shard_lower_bounds
from terrabit.search.query import search


def load(root: Path, code_size: int) -> tuple[list[str], list[np.ndarray], list[list[str]], list]:
    """Per shard (manifest order): path, codes, ids and labels."""
    manifest = pq.read_table(root / "manifest.parquet")
    paths = manifest.column("path").to_pylist()
    codes, ids, labels = [], [], []
    for p in paths:
        cols = [c for c in ("id", "embedding", "label") if c in pq.read_schema(root / p).names]
        t = pq.read_table(root / p, columns=cols)
        codes.append(np.array(fixed_codes(t.column("embedding"), code_size)))
        ids.append(t.column("id").to_pylist())
        labels.append(t.column("label").to_pylist() if "label" in cols else ["all"] * t.num_rows)
    return paths, codes, ids, labels


def pick_queries(ids: list[list[str]], labels: list[list], n: int, seed: int) -> list[str]:
    """``n`` ids round-robin over the classes, rarest class first (seeded)."""
    flat_ids = [i for s in ids for i in s]
    flat_labels = np.array([str(v) for s in labels for v in s])
    classes, counts = np.unique(flat_labels, return_counts=True)
    rng = np.random.default_rng(seed)
    pools = {
        c: list(rng.permutation(np.flatnonzero(flat_labels == c)))
        for c in classes[counts.argsort()]
    }
    out: list[str] = []
    while len(out) < n and any(pools.values()):
        for pool in pools.values():
            if pool and len(out) < n:
                out.append(flat_ids[int(pool.pop())])
    return out


def replay(
    bounds: np.ndarray, paths: list[str], per_shard: list[tuple], k: int, budget: int = 0
) -> int:
    """Shards a best-first scan reads (the rule of ``global_search``)."""
    return scan(bounds, paths, per_shard, k, budget)[0]


def scan(
    bounds: np.ndarray, paths: list[str], per_shard: list[tuple], k: int, budget: int = 0
) -> tuple[int, list[tuple[int, str]]]:
    """Shards read and the top-k found, optionally within a budget of shards."""
    order = sorted(range(len(paths)), key=lambda i: (int(bounds[i]), paths[i]))
    best: list[tuple[int, str]] = []
    scanned = 0
    for i in order:
        if len(best) >= k and best[k - 1][0] < bounds[i]:
            break
        if budget and scanned >= budget:
            break
        d, shard_ids = per_shard[i]
        best = sorted(best + list(zip(d.tolist(), shard_ids, strict=True)))[:k]
        scanned += 1
    return scanned, best


def tighter_bounds(
    codes: list[np.ndarray], per_query: list[tuple], paths: list[str], k: int, balls: int
) -> dict[str, float]:
    """Mean fraction of shards scanned with the plain ball bound and the tighter ones."""
    blocks = (16, 64)
    built = []
    for c in codes:
        centres, radii = summary_balls(c, balls=balls)
        assign, _ = _nearest(centres, c)
        dev = np.unpackbits(c, axis=1) != np.unpackbits(centres, axis=1)[assign]
        unstable = np.zeros((len(centres), dev.shape[1]), bool)
        np.logical_or.at(unstable, assign, dev)
        block_r = {}
        for b in blocks:
            r_b = np.zeros((len(centres), b), np.int64)
            np.maximum.at(r_b, assign, dev.reshape(len(c), b, -1).sum(2))
            block_r[b] = r_b
        built.append((np.unpackbits(centres, axis=1), radii.astype(np.int64), unstable, block_r))
    names = ["ball", "stable bits", *(f"{b} block radii" for b in blocks)]
    fractions: dict[str, list[float]] = {n: [] for n in names}
    for q, shards, _truth in per_query:
        bits = np.unpackbits(q)
        bounds = {n: np.zeros(len(paths)) for n in names}
        for s, (centre_bits, r, unstable, block_r) in enumerate(built):
            diff = centre_bits != bits
            bounds["ball"][s] = np.maximum(0, diff.sum(1) - r).min()
            rest = (diff & unstable).sum(1)
            stable = (diff & ~unstable).sum(1) + np.maximum(0, rest - r)
            bounds["stable bits"][s] = stable.min()
            for b in blocks:
                d_b = diff.reshape(len(r), b, -1).sum(2)
                bounds[f"{b} block radii"][s] = np.maximum(0, d_b - block_r[b]).sum(1).min()
        for n in names:
            fractions[n].append(replay(bounds[n], paths, shards, k) / len(paths))
    return {n: round(float(np.mean(v)), 3) for n, v in fractions.items()}


def manifest_bytes(centres: list[np.ndarray], radii: list[np.ndarray], code_size: int) -> int:
    """Bytes of the two summary columns alone in a ZSTD Parquet file."""
    fields = summary_fields()
    table = pa.table(
        {
            fields[0].name: pa.array(
                [[row.tobytes() for row in c] for c in centres], fields[0].type
            ),
            fields[1].name: pa.array([r.tolist() for r in radii], fields[1].type),
        }
    )
    sink = io.BytesIO()
    pq.write_table(table, sink, compression="zstd")
    return len(sink.getvalue())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("corpus", type=Path)
    ap.add_argument("--queries", type=int, default=20)
    ap.add_argument("-k", type=int, default=10)
    ap.add_argument("--balls", default="1,16,64,256")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", type=Path, help="also write the figures here")
    args = ap.parse_args()

    with open_corpus(args.corpus) as corpus:
        code_size = int(corpus.metadata["code_size"])
        manifest = corpus.manifest
    paths, codes, ids, labels = load(args.corpus, code_size)
    n_rows = sum(len(c) for c in codes)
    all_codes = np.concatenate(codes)
    all_ids = [i for s in ids for i in s]
    shard_of = np.repeat(np.arange(len(paths)), [len(c) for c in codes])
    id_row = {v: r for r, v in enumerate(all_ids)}
    label_of = {
        i: str(v)
        for s_ids, s_lab in zip(ids, labels, strict=True)
        for i, v in zip(s_ids, s_lab, strict=True)
    }
    queries = pick_queries(ids, labels, args.queries, args.seed)
    print(
        f"{args.corpus}: {n_rows} rows, {len(paths)} shards, {8 * code_size}-bit codes",
        file=sys.stderr,
    )

    # brute force + per-shard distances, once per query
    per_query = []
    for qid in queries:
        q = all_codes[id_row[qid]]
        d = hamming_distances(q[None, :], all_codes)[0].astype(np.int64)
        d[id_row[qid]] = np.iinfo(np.int32).max  # the exemplar is excluded
        shards = []
        for s in range(len(paths)):
            rows = np.flatnonzero(shard_of == s)
            keep = rows != id_row[qid]
            shards.append((d[rows[keep]], [all_ids[r] for r in rows[keep]]))
        order = np.lexsort((np.array(all_ids, dtype=object).astype(str), d))[: args.k]
        truth = [(float(d[r]), all_ids[r]) for r in order]
        per_query.append((q, shards, truth))

    # 1. real runs with the corpus's own summary
    real = []
    with open_corpus(args.corpus) as corpus:
        for qid, (q, shards, truth) in zip(queries, per_query, strict=True):
            t0 = time.perf_counter()
            res = search(corpus, positives=[qid], k=args.k, global_=True)
            secs = time.perf_counter() - t0
            got = list(
                zip(
                    res.shown.column("score").to_pylist(),
                    res.shown.column("id").to_pylist(),
                    strict=True,
                )
            )
            if got != truth:
                raise SystemExit(
                    f"global search for {qid} differs from the brute force: {got} != {truth}"
                )
            own = replay(shard_lower_bounds(manifest, q), paths, shards, args.k)
            if own != res.stats["shards_scanned"]:
                raise SystemExit(f"replay {own} != real {res.stats['shards_scanned']} for {qid}")
            real.append(
                {
                    "id": qid,
                    "label": label_of[qid],
                    "kth": truth[-1][0],
                    "shards_scanned": res.stats["shards_scanned"],
                    "seconds": round(secs, 3),
                }
            )
    fractions = [r["shards_scanned"] / len(paths) for r in real]
    print(
        f"real runs: all {len(real)} equal the brute force; mean fraction {np.mean(fractions):.3f}",
        file=sys.stderr,
    )

    # 2. sweep the number of balls; 3. the floor
    sweep = []
    for balls in [int(b) for b in args.balls.split(",")]:
        t0 = time.perf_counter()
        built = [summary_balls(c, balls=balls) for c in codes]
        build_s = time.perf_counter() - t0
        centres = [b[0] for b in built]
        radii = [b[1].astype(np.int64) for b in built]
        flat = np.concatenate(centres)
        starts = np.concatenate([[0], np.cumsum([len(c) for c in centres])[:-1]])
        flat_r = np.concatenate(radii)
        fr = []
        for q, shards, _truth in per_query:
            per_ball = np.maximum(
                0, hamming_distances(q[None, :], flat)[0].astype(np.int64) - flat_r
            )
            fr.append(
                replay(np.minimum.reduceat(per_ball, starts), paths, shards, args.k) / len(paths)
            )
        sweep.append(
            {
                "balls": balls,
                "total_balls": len(flat),
                "fraction": round(float(np.mean(fr)), 3),
                "max_fraction": round(float(np.max(fr)), 3),
                "build_s": round(build_s, 2),
                "summary_bytes": manifest_bytes(centres, radii, code_size),
                "median_radius": float(np.median(flat_r)),
            }
        )
        print(sweep[-1], file=sys.stderr)
    tighter = tighter_bounds(codes, per_query, paths, args.k, SUMMARY_BALLS)
    print(tighter, file=sys.stderr)
    budget = max(1, int(0.25 * len(paths)) - 1)  # strictly under 25 % of the shards
    budget_recall = []
    for q, shards, truth in per_query:
        _, found = scan(shard_lower_bounds(manifest, q), paths, shards, args.k, budget)
        budget_recall.append(len({i for _, i in found} & {i for _, i in truth}) / len(truth))
    floor = []
    for _q, shards, _truth in per_query:
        exact = np.array([s[0].min() if len(s[0]) else np.iinfo(np.int32).max for s in shards])
        floor.append(replay(exact, paths, shards, args.k) / len(paths))

    out = {
        "corpus": str(args.corpus),
        "rows": n_rows,
        "shards": len(paths),
        "code_bits": 8 * code_size,
        "k": args.k,
        "default_balls": SUMMARY_BALLS,
        "real": real,
        "real_fraction": round(float(np.mean(fractions)), 3),
        "sweep": sweep,
        "floor_fraction": round(float(np.mean(floor)), 3),
        "tighter_bounds": tighter,
        "budget_shards": budget,
        "budget_recall_at_k": round(float(np.mean(budget_recall)), 3),
    }
    head = (
        "| balls per shard (max) | balls | mean fraction | worst | build (s) | bytes | median r |"
    )
    print(head)
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for s in sweep:
        cells = [s["balls"], s["total_balls"], s["fraction"], s["max_fraction"], s["build_s"]]
        cells += [f"{s['summary_bytes']:,}", s["median_radius"]]
        print("| " + " | ".join(str(c) for c in cells) + " |")
    print(f"| exact per-shard minimum (floor) | | {out['floor_fraction']} | | | | |")
    print(f"tighter bounds on {SUMMARY_BALLS} balls: mean fraction scanned {tighter}")
    print(
        f"budget {budget}/{len(paths)} shards ({SUMMARY_BALLS} balls): recall@{args.k} "
        f"{out['budget_recall_at_k']} against the exact top-{args.k}"
    )
    print(f"real runs ({SUMMARY_BALLS} balls): mean fraction {out['real_fraction']}, per query:")
    for r in real:
        scanned = f"{r['shards_scanned']}/{len(paths)} shards"
        print(f"  {r['label']:>14} {r['id']}: kth {r['kth']:.0f}, {scanned}, {r['seconds']} s")
    if args.json:
        args.json.write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()

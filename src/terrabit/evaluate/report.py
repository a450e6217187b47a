"""Run every evaluation task over a list of codecs and render the report.

:func:`evaluate` fits each codec once on ``x_train``, encodes both splits, and measures
kNN and probe accuracy, significance against float32, retrieval recall, storage and
speed; :class:`EvaluationReport` renders the results as a rich table, Markdown, JSON and
PNG plots.
"""

from __future__ import annotations

import json
import math
import os
import re
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np
from numpy.typing import ArrayLike

from terrabit._atomic import atomic_dir, make_dirs
from terrabit._progress import progress_bar
from terrabit.codecs.base import Codec
from terrabit.codecs.estimate import estimator, float_query_topk
from terrabit.errors import InvalidInputError, SpecError
from terrabit.evaluate._neighbors import search
from terrabit.evaluate.data import EvaluationData, check_arrays
from terrabit.evaluate.intrinsic import intrinsic_dimension
from terrabit.evaluate.knn import predict_from_neighbors
from terrabit.evaluate.probe import DEFAULT_CS, linear_probe
from terrabit.evaluate.recall import RECALL_KS, recall_curve
from terrabit.evaluate.speed import encode_throughput, search_qps
from terrabit.evaluate.stats import bootstrap_delta_ci, mcnemar, per_class_f1, worst_class_drop
from terrabit.evaluate.storage import disk_bytes_per_row, float32_codes

__all__ = [
    "RESULT_KEYS",
    "TASKS",
    "CodecLike",
    "EvaluationReport",
    "evaluate",
    "evaluate_data",
    "pareto_front",
    "parse_tasks",
    "split_codec_list",
]

#: Every task, in the order they run and are reported.
TASKS: tuple[str, ...] = ("knn", "probe", "significance", "recall", "id", "storage", "speed")

#: Keys of every per-codec result (``None`` where the task producing it was not run).
RESULT_KEYS: tuple[str, ...] = (
    "codec",
    "hamming",
    "bytes_per_vector",
    "fit_s",
    "knn_accuracy",
    "knn_hamming_accuracy",
    "probe_accuracy",
    "probe_C",
    "mcnemar_p",
    "mcnemar_b",
    "mcnemar_c",
    "accuracy_delta",
    "accuracy_delta_ci",
    "mcnemar_p_hamming",
    "accuracy_delta_hamming",
    "accuracy_delta_ci_hamming",
    "worst_class",
    "worst_class_f1_drop",
    "per_class_f1",
    "recall_at_10_cosine",
    "recall_at_10_euclidean",
    "float_scoring",
    "recall_at_10_float_query",
    "recall",
    "disk_bytes_per_row",
    "disk_ratio",
    "payload_ratio",
    "encode_per_s",
    "search_qps",
)

_KEY_VALUE = re.compile(r"^\s*[A-Za-z_]\w*\s*=")


@runtime_checkable
class CodecLike(Protocol):
    """What :func:`evaluate` needs of a codec (``terrabit.codecs.Codec`` satisfies it)."""

    @property
    def spec(self) -> str: ...

    @property
    def code_size(self) -> int: ...

    @property
    def hamming(self) -> bool: ...

    def fit(self, x: np.ndarray) -> Any: ...

    def encode(self, x: np.ndarray) -> np.ndarray: ...

    def decode(self, codes: np.ndarray) -> np.ndarray: ...


def split_codec_list(text: str) -> list[str]:
    """Split a codec list such as ``float32,int8,pq:m=8,bits=8,pca:64+int8``.

    Codecs are separated by ``;`` or ``,``. Because a spec's own parameters are also
    comma-separated, a comma-separated token of the form ``name=value`` continues the
    previous codec's parameters instead of starting a new codec.

    Examples
    --------
    >>> split_codec_list("float32,int8,pq:m=8,bits=8,binary:threshold=median")
    ['float32', 'int8', 'pq:m=8,bits=8', 'binary:threshold=median']
    >>> split_codec_list("pq:m=8,bits=8; rot+int4")
    ['pq:m=8,bits=8', 'rot+int4']
    """
    specs: list[str] = []
    for group in text.split(";"):
        if not group.strip():
            continue
        current: list[str] = []
        for token in group.split(","):
            if not token.strip():
                raise SpecError(f"empty codec in the list {text!r}; remove the doubled comma")
            if _KEY_VALUE.match(token):
                if not current:
                    raise SpecError(
                        f"{token.strip()!r} in {text!r} is a parameter without a codec; "
                        "write it after its codec, e.g. 'pq:m=8,bits=8'"
                    )
                current.append(token.strip())
            else:
                if current:
                    specs.append(",".join(current))
                current = [token.strip()]
        if current:
            specs.append(",".join(current))
    if not specs:
        raise SpecError(
            "the codec list is empty; pass e.g. codecs='float32,int8,binary'", params=("codecs",)
        )
    return specs


def parse_tasks(tasks: str | Iterable[str] | None) -> list[str]:
    """Tasks from a comma-separated string or a list, in canonical order (``all``: every).

    Examples
    --------
    >>> parse_tasks("recall,knn")
    ['knn', 'recall']
    >>> parse_tasks("knn,accuracy")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    terrabit.errors.SpecError: unknown task 'accuracy'; valid tasks: all, knn, probe, ...
    """
    if tasks is None:
        return list(TASKS)
    items = tasks.split(",") if isinstance(tasks, str) else list(tasks)
    names = [t.strip().lower() for t in items if t.strip()]
    if not names:
        raise SpecError(f"no tasks given; valid tasks: all, {', '.join(TASKS)}")
    for name in names:
        if name != "all" and name not in TASKS:
            raise SpecError(f"unknown task {name!r}; valid tasks: all, {', '.join(TASKS)}")
    if "all" in names:
        return list(TASKS)
    return [t for t in TASKS if t in names]


def pareto_front(cost: ArrayLike, value: ArrayLike) -> np.ndarray:
    """Boolean mask of points no other point beats (cost no higher and value no lower,
    one strictly better).

    Examples
    --------
    >>> pareto_front([1, 2, 4, 3], [0.5, 0.9, 0.95, 0.8]).tolist()
    [True, True, True, False]
    """
    c, v = np.asarray(cost, dtype=np.float64), np.asarray(value, dtype=np.float64)
    keep = np.ones(c.size, dtype=bool)
    for i in range(c.size):
        dominated = (c <= c[i]) & (v >= v[i]) & ((c < c[i]) | (v > v[i]))
        keep[i] = not dominated.any()
    return keep


def _resolve(codec: str | CodecLike) -> CodecLike:
    if isinstance(codec, str):
        from terrabit.codecs import parse

        parsed: CodecLike = parse(codec)
        return parsed
    if all(callable(getattr(codec, m, None)) for m in ("fit", "encode", "decode")):
        return codec
    raise InvalidInputError(
        f"codecs must be spec strings or codec objects, got {type(codec).__name__}"
    )


def _clean(value: Any) -> Any:
    """JSON-ready copy: numpy scalars/arrays to Python, NaN/inf to None."""
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if isinstance(value, np.ndarray):
        return [_clean(v) for v in value.tolist()]
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, (float, np.floating)):
        f = float(value)
        return f if math.isfinite(f) else None
    return value


@dataclass
class EvaluationReport:
    """Per-codec results, intrinsic dimension and dataset summary of one evaluation."""

    results: list[dict[str, Any]]
    dataset: dict[str, Any]
    tasks: list[str]
    intrinsic_dim: dict[str, Any] | None = None
    baseline: dict[str, Any] = field(default_factory=dict)
    seed: int = 0

    def result(self, codec: str) -> dict[str, Any]:
        """The result row of one codec spec."""
        for row in self.results:
            if row["codec"] == codec:
                return row
        raise KeyError(f"no result for codec {codec!r}; have {[r['codec'] for r in self.results]}")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict: ``results``, ``intrinsic_dim``, ``dataset``, ``tasks``, ..."""
        return _clean(
            {
                "results": self.results,
                "intrinsic_dim": self.intrinsic_dim,
                "dataset": self.dataset,
                "baseline": self.baseline,
                "tasks": self.tasks,
                "seed": self.seed,
            }
        )

    def to_json(self, *, indent: int | None = 2) -> str:
        """:meth:`to_dict` as a JSON string."""
        return json.dumps(self.to_dict(), indent=indent)

    def to_markdown(self) -> str:
        """The report as Markdown (``report.md``)."""
        from terrabit.evaluate._render import markdown

        return markdown(self)

    def table(self) -> Any:
        """The summary as a :class:`rich.table.Table`."""
        from terrabit.evaluate._render import rich_table

        return rich_table(self)

    def plot(self, directory: str | os.PathLike[str]) -> list[Path]:
        """Write the PNG plots into ``directory`` (created if needed); return their paths."""
        from terrabit.evaluate._render import plots

        return plots(self, make_dirs(directory))

    def write(self, directory: str | os.PathLike[str], *, overwrite: bool = False) -> Path:
        """Write ``report.md``, ``results.json`` and the plots atomically into ``directory``.

        An existing ``directory`` is refused unless ``overwrite``.
        """
        with atomic_dir(directory, overwrite=overwrite) as tmp:
            self.plot(tmp)
            (tmp / "results.json").write_text(self.to_json() + "\n")
            (tmp / "report.md").write_text(self.to_markdown())
        return Path(directory)


def _knn_stats(
    row: dict[str, Any],
    suffix: str,
    y_test: np.ndarray,
    ref: np.ndarray,
    pred: np.ndarray,
    seed: int,
) -> None:
    test = mcnemar(y_test, ref, pred)
    lo, hi = bootstrap_delta_ci(y_test, ref, pred, seed=seed)
    row[f"mcnemar_p{suffix}"] = test.p_value
    row[f"accuracy_delta{suffix}"] = float(np.mean(pred == y_test) - np.mean(ref == y_test))
    row[f"accuracy_delta_ci{suffix}"] = [lo, hi]
    if not suffix:
        row["mcnemar_b"], row["mcnemar_c"] = test.b, test.c


def _resolve_all(codecs: Sequence[str | CodecLike]) -> list[CodecLike]:
    """The codecs, parsed (every typo fails before any work), each listed once."""
    if not codecs:
        raise SpecError("no codecs given; pass e.g. codecs=['float32', 'int8', 'binary']")
    resolved = [_resolve(c) for c in codecs]
    specs = [c.spec for c in resolved]
    dupes = sorted({s for s in specs if specs.count(s) > 1})
    if dupes:
        raise SpecError(f"codec(s) listed twice: {', '.join(dupes)}; list each once")
    return resolved


def _baseline(
    baseline: dict[str, Any],
    data: EvaluationData,
    task_list: list[str],
    *,
    want_preds: bool,
    depth: int,
    k: int,
    storage_rows: int,
    seed: int,
) -> tuple[dict[str, np.ndarray], np.ndarray | None]:
    """Fill ``baseline`` with the float32 reference; return its neighbours and predictions.

    The neighbours are by metric (``cosine``; ``euclidean`` for the recall task); the
    predictions are the k-NN labels of the test rows (``None`` when no task needs them).
    """
    xtr, ytr, xte, yte = data.x_train, data.y_train, data.x_test, data.y_test
    truth: dict[str, np.ndarray] = {}
    ref_pred: np.ndarray | None = None
    if want_preds or "recall" in task_list:
        _, truth["cosine"] = search(xtr, xte, depth, metric="cosine")
    if want_preds:
        ref_pred = predict_from_neighbors(ytr, truth["cosine"], k)
        labels = np.arange(len(data.classes))
        baseline["knn_accuracy"] = float(np.mean(ref_pred == yte))
        baseline["per_class_f1"] = per_class_f1(yte, ref_pred, labels=labels).tolist()
    if "recall" in task_list:
        _, truth["euclidean"] = search(xtr, xte, depth, metric="euclidean")
    if "storage" in task_list:
        baseline["disk_bytes_per_row"] = disk_bytes_per_row(
            float32_codes(xtr[:storage_rows]), seed=seed
        )
        baseline["bytes_per_vector"] = 4 * xtr.shape[1]
    return truth, ref_pred


def _recall(
    row: dict[str, Any],
    truth: dict[str, np.ndarray],
    cosine_hits: np.ndarray,
    decoded: bool,
    dec_tr: np.ndarray,
    dec_te: np.ndarray,
    depth: int,
    ks: list[int],
) -> None:
    """Fill ``row``'s recall curves against the float32 neighbours ``truth``.

    ``cosine_hits`` are the codec's neighbours (its Hamming neighbours for a Hamming
    codec, used for both metrics); ``decoded`` codecs search their decoded vectors with
    the euclidean metric too.
    """
    curves: dict[str, dict[int, float]] = {}
    for metric in ("cosine", "euclidean"):
        got = cosine_hits
        if decoded and metric == "euclidean":
            _, got = search(dec_tr, dec_te, depth, metric="euclidean")
        curves[metric] = recall_curve(truth[metric], got, ks)
    row["recall"] = {m: {str(kk): v for kk, v in c.items()} for m, c in curves.items()}
    row["recall_at_10_cosine"] = curves["cosine"].get(10)
    row["recall_at_10_euclidean"] = curves["euclidean"].get(10)


def evaluate_data(
    data: EvaluationData,
    codecs: Sequence[str | CodecLike] = ("float32", "int8", "int4", "binary"),
    tasks: str | Iterable[str] | None = None,
    *,
    seed: int = 0,
    progress: bool | None = None,
    k: int = 5,
    recall_ks: Sequence[int] = RECALL_KS,
    probe_Cs: Sequence[float] = DEFAULT_CS,
    max_storage_rows: int = 20_000,
    max_speed_rows: int = 20_000,
    max_speed_queries: int = 200,
    max_id_samples: int = 2000,
    log: Callable[[str], None] | None = None,
) -> EvaluationReport:
    """:func:`evaluate` on an already-loaded :class:`~terrabit.evaluate.data.EvaluationData`."""
    task_list = parse_tasks(tasks)
    resolved = _resolve_all(codecs)
    xtr, ytr, xte, yte = data.x_train, data.y_train, data.x_test, data.y_test
    n_train = xtr.shape[0]
    if n_train < k:
        raise InvalidInputError(f"x_train has {n_train} rows; kNN with k={k} needs at least {k}")
    present = np.unique(ytr)
    if "probe" in task_list and present.size < 2:
        others = ",".join(t for t in task_list if t != "probe") or "knn"
        raise InvalidInputError(
            f"the probe task fits a classifier and needs at least 2 classes in y_train, but "
            f"{data.source} has one ({', '.join(data.classes[int(c)] for c in present)!r}); "
            f"pass embeddings labelled with several classes, or tasks='{others}' (without "
            "probe)",
            params=("tasks",),
        )
    ks = [int(v) for v in recall_ks if int(v) <= n_train]
    depth = max([k, *ks]) if "recall" in task_list else k
    want_preds = "knn" in task_list or "significance" in task_list
    classes = data.classes
    labels = np.arange(len(classes))
    say = log or (lambda _msg: None)

    per_codec = [t for t in task_list if t != "id"]
    total = len(resolved) * (1 + len(per_codec)) + 1 + ("id" in task_list)
    baseline: dict[str, Any] = {}
    intrinsic: dict[str, Any] | None = None
    results: list[dict[str, Any]] = []
    with progress_bar("evaluating", total=total, show=progress) as bar:
        bar.update(description="float32 baseline")
        truth, ref_pred = _baseline(
            baseline, data, task_list, want_preds=want_preds,
            depth=depth, k=k, storage_rows=max_storage_rows, seed=seed,
        )  # fmt: skip
        bar.advance()
        if "id" in task_list:
            bar.update(description="intrinsic dimension")
            say("intrinsic dimension")
            intrinsic = intrinsic_dimension(xtr, max_samples=max_id_samples, seed=seed).to_dict()
            bar.advance()

        for codec in resolved:
            spec = codec.spec
            row: dict[str, Any] = dict.fromkeys(RESULT_KEYS)
            row["codec"] = spec
            row["hamming"] = bool(getattr(codec, "hamming", False))
            bar.update(description=f"{spec}: fit")
            say(f"{spec}: fit + encode")
            start = time.perf_counter()
            codec.fit(xtr)
            row["fit_s"] = time.perf_counter() - start
            row["bytes_per_vector"] = int(codec.code_size)
            codes_tr, codes_te = codec.encode(xtr), codec.encode(xte)
            dec_tr = np.asarray(codec.decode(codes_tr), dtype=np.float32)
            dec_te = np.asarray(codec.decode(codes_te), dtype=np.float32)
            bar.advance()

            found: dict[str, np.ndarray] = {}
            ham_idx: np.ndarray | None = None
            pred = ham_pred = None
            if want_preds or "recall" in task_list:
                _, found["cosine"] = search(dec_tr, dec_te, depth, metric="cosine")
                pred = predict_from_neighbors(ytr, found["cosine"], k)
                if row["hamming"]:
                    _, ham_idx = search(codes_tr, codes_te, depth, metric="hamming")
                    ham_pred = predict_from_neighbors(ytr, ham_idx, k)
            for task in per_codec:
                bar.update(description=f"{spec}: {task}")
                say(f"{spec}: {task}")
                if task == "knn" and pred is not None:
                    row["knn_accuracy"] = float(np.mean(pred == yte))
                    if ham_pred is not None:
                        row["knn_hamming_accuracy"] = float(np.mean(ham_pred == yte))
                elif task == "probe":
                    probe = linear_probe(dec_tr, ytr, dec_te, yte, Cs=probe_Cs, seed=seed)
                    row["probe_accuracy"], row["probe_C"] = probe.accuracy, probe.C
                elif task == "significance" and pred is not None and ref_pred is not None:
                    _knn_stats(row, "", yte, ref_pred, pred, seed)
                    if ham_pred is not None:
                        _knn_stats(row, "_hamming", yte, ref_pred, ham_pred, seed)
                    f1 = per_class_f1(yte, pred, labels=labels)
                    worst, drop = worst_class_drop(np.asarray(baseline["per_class_f1"]), f1)
                    row["per_class_f1"] = f1.tolist()
                    row["worst_class"], row["worst_class_f1_drop"] = classes[worst], drop
                elif task == "recall":
                    hits = ham_idx if ham_idx is not None else found["cosine"]
                    _recall(row, truth, hits, ham_idx is None, dec_tr, dec_te, depth, ks)
                    fitted = codec if isinstance(codec, Codec) else None
                    how = estimator(fitted) if fitted is not None else None
                    if fitted is not None and how is not None:  # scored by its estimator
                        depth_f = min(depth, len(xtr))
                        got = float_query_topk(fitted, xte, xtr, k=depth_f, codes=codes_tr)
                        row["float_scoring"] = how
                        row["recall_at_10_float_query"] = recall_curve(
                            truth["cosine"], got, [10]
                        ).get(10)
                elif task == "storage":
                    disk = disk_bytes_per_row(codes_tr[:max_storage_rows], seed=seed)
                    row["disk_bytes_per_row"] = disk
                    row["disk_ratio"] = baseline["disk_bytes_per_row"] / disk
                    row["payload_ratio"] = 4 * xtr.shape[1] / codec.code_size
                elif task == "speed":
                    row["encode_per_s"] = encode_throughput(codec.encode, xtr[:max_speed_rows])
                    base, queries = (codes_tr, codes_te) if row["hamming"] else (dec_tr, xte)
                    row["search_qps"] = search_qps(
                        base[:max_speed_rows],
                        queries[:max_speed_queries],
                        metric="hamming" if row["hamming"] else "cosine",
                    )
                bar.advance()
            results.append(row)
    return EvaluationReport(
        results=results,
        dataset=data.describe(),
        tasks=task_list,
        intrinsic_dim=intrinsic,
        baseline=baseline,
        seed=seed,
    )


def evaluate(
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_test: np.ndarray,
    y_test: np.ndarray,
    codecs: Sequence[str | CodecLike] = ("float32", "int8", "int4", "binary"),
    tasks: str | Iterable[str] | None = None,
    *,
    seed: int = 0,
    progress: bool | None = None,
    classes: Sequence[str] | None = None,
    k: int = 5,
    recall_ks: Sequence[int] = RECALL_KS,
    probe_Cs: Sequence[float] = DEFAULT_CS,
    max_storage_rows: int = 20_000,
    max_speed_rows: int = 20_000,
    max_id_samples: int = 2000,
) -> EvaluationReport:
    """Evaluate codecs on labelled train/test embeddings.

    Each codec is fitted once, on ``x_train`` only, then both splits are encoded and
    decoded. Tasks (default all): ``knn`` (k=5 cosine on decoded vectors; Hamming on raw
    bits too for Hamming codecs), ``probe`` (scaled logistic regression, C by 3-fold CV),
    ``significance`` (exact McNemar and paired bootstrap CI of the kNN accuracy against
    float32, per-class F1), ``recall`` (recall@k against exact float32 neighbours of the
    held-out ``x_test`` in ``x_train``, cosine and Euclidean; for a 1-bit code with an
    estimator — ``rabitq``, sign bits — also of the float query scored against the codes,
    ``recall_at_10_float_query``, as ``search --vector`` ranks), ``id`` (intrinsic
    dimension), ``storage`` (bytes per vector, ZSTD Parquet bytes per row and ratio against
    float32) and ``speed`` (encode vectors/s, brute-force search QPS).

    Parameters
    ----------
    x_train, y_train, x_test, y_test : array-like
        Embeddings ``[n, d]`` and one integer or string label per row.
    codecs : sequence of str or codec
        Spec strings (``"int8"``, ``"pq:m=8,bits=8"``, ``"pca:64+int8"``) or codec objects.
    tasks : str or sequence of str, optional
        A subset of ``knn, probe, significance, recall, id, storage, speed``.
    seed : int
        Seeds the bootstrap, the probe's CV folds and every sample.
    progress : bool, optional
        Show a progress bar on stderr (``None``: only on a terminal).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=(200, 16)).astype(np.float32); y = (x[:, 0] > 0).astype(int)
    >>> rep = evaluate(x[:150], y[:150], x[150:], y[150:], ["float32", "int8"], "knn,recall")
    >>> r = rep.result("float32")
    >>> r["recall_at_10_cosine"], r["probe_accuracy"] is None
    (1.0, True)
    """
    data = check_arrays(x_train, y_train, x_test, y_test, classes=classes)
    return evaluate_data(
        data,
        codecs,
        tasks,
        seed=seed,
        progress=progress,
        k=k,
        recall_ks=recall_ks,
        probe_Cs=probe_Cs,
        max_storage_rows=max_storage_rows,
        max_speed_rows=max_speed_rows,
        max_id_samples=max_id_samples,
    )

"""Inputs of an evaluation: checked arrays, labelled ``.npz`` files and (Geo)Parquet tables.

Three inputs are accepted (:func:`load_input`):

* a labelled ``.npz`` with ``x_train``, ``y_train``, ``x_test``, ``y_test`` (optional
  ``classes``: names of integer labels), the layout ``terrabit world`` writes;
* a Parquet file with an embedding column (``fixed_size_list<float>`` or ``list<float>``)
  and a label column;
* a GeoParquet patch corpus: a folder holding ``patches/*.parquet`` (or ``*.parquet``).

A Parquet input with a ``split`` column (``train``/``test``) keeps that split. Otherwise,
when it has a WKB ``geometry`` column, the split is **spatial**: points fall in a grid of
square blocks (the extent divided 16 ways along its longer side), blocks are shuffled by
the seed and moved to the test side until it holds ``test_fraction`` of the rows, so no
place (and no second-year copy of it) is on both sides. Without geometry the split is a
seeded random permutation.

Provenance: the loaded data remembers its input path, and whether it is terrabit's
synthetic world — ``terrabit world`` writes a marker (:data:`WORLD_KEY`: a member of
``labelled.npz`` and a key of each patch file's schema metadata) — so that a report can
say which data its figures come from and warn that the world's figures are no result on
real embeddings (:meth:`EvaluationData.describe`).
"""

from __future__ import annotations

import json
import os
import zipfile
import zlib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from terrabit._validation import format_rows
from terrabit.blocks import spatial_split
from terrabit.codecs.base import check_matrix
from terrabit.errors import InvalidInputError
from terrabit.geoparquet import open_parquet

__all__ = [
    "NPZ_KEYS",
    "WORLD_KEY",
    "WORLD_WARNING",
    "EvaluationData",
    "check_arrays",
    "load_input",
    "load_npz",
    "load_parquet",
    "provenance",
    "spatial_split",
]

NPZ_KEYS = ("x_train", "y_train", "x_test", "y_test")

#: The marker ``terrabit world`` writes (``terrabit.world.patches.WORLD_KEY``): a member of
#: its ``labelled.npz`` and a key of its patch files' schema metadata, holding JSON.
WORLD_KEY = "terrabit_world"

#: What a report says when its input is the synthetic world.
WORLD_WARNING = (
    "these figures come from terrabit's synthetic world, not from a real model's "
    "embeddings: on their own they are no result on real data (a code can win on the "
    "world and lose on real embeddings); measure your own embeddings before choosing"
)


@dataclass(frozen=True)
class EvaluationData:
    """Float32 train/test embeddings with labels coded ``0..n_classes-1``.

    ``source`` names the input (a path, or ``"arrays"``); ``world`` is the marker of
    terrabit's synthetic world when the input carries one (``None``: not the world).
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    classes: list[str]
    source: str = "arrays"
    split: str = "given"
    extra: dict[str, Any] = field(default_factory=dict)
    world: dict[str, Any] | None = None

    def describe(self) -> dict[str, Any]:
        """JSON-ready summary: provenance (input, rows, split, synthetic world?), classes.

        Examples
        --------
        >>> d = check_arrays(np.ones((3, 2)), [0, 1, 0], np.ones((1, 2)), [1])
        >>> s = d.describe()
        >>> s["source"], s["rows"], s["n_train"], s["n_test"], s["dim"], s["synthetic_world"]
        ('arrays', 4, 3, 1, 2, False)
        """
        n_train, n_test = int(self.x_train.shape[0]), int(self.x_test.shape[0])
        return {
            "source": self.source,
            "rows": n_train + n_test,
            "n_train": n_train,
            "n_test": n_test,
            "dim": int(self.x_train.shape[1]),
            "n_classes": len(self.classes),
            "classes": list(self.classes),
            "split": self.split,
            "synthetic_world": self.world is not None,
            "world": self.world,
            "warning": None if self.world is None else WORLD_WARNING,
            **self.extra,
        }


def provenance(dataset: dict[str, Any]) -> list[str]:
    """Plain lines saying which data a report's figures come from (and warning about the world).

    Examples
    --------
    >>> ds = {"source": "w/labelled.npz", "rows": 5, "n_train": 4, "n_test": 1, "dim": 8,
    ...       "split": "given", "world": {"seed": 0, "patches": 200, "dim": 8},
    ...       "warning": "synthetic"}
    >>> for line in provenance(ds): print(line)
    data: w/labelled.npz — 5 rows used (4 train / 1 test, split: given), d = 8
    synthetic world: yes (terrabit world, seed 0, 200 patches, d = 8)
    WARNING: synthetic
    """
    lines = [
        f"data: {dataset.get('source')} — {dataset.get('rows')} rows used "
        f"({dataset.get('n_train')} train / {dataset.get('n_test')} test, "
        f"split: {dataset.get('split')}), d = {dataset.get('dim')}"
    ]
    world = dataset.get("world")
    if world is None:
        lines.append("synthetic world: no (the input has no terrabit world marker)")
        return lines
    parts = ["terrabit world"]
    for key, fmt in (("seed", "seed {}"), ("patches", "{} patches"), ("dim", "d = {}")):
        if isinstance(world.get(key), int):
            parts.append(fmt.format(f"{world[key]:,}"))
    lines.append(f"synthetic world: yes ({', '.join(parts)})")
    lines.append(f"WARNING: {dataset.get('warning')}")
    return lines


def _world_marker(raw: Any) -> dict[str, Any]:
    """The world marker's settings (JSON); an unreadable marker still marks the world."""
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
    try:
        meta = json.loads(text)
    except ValueError:
        meta = None
    return meta if isinstance(meta, dict) else {"marker": text}


def _labels(y: Any, name: str, n_rows: int, x_name: str) -> np.ndarray:
    if y is None:
        raise InvalidInputError(f"{name} is missing; pass one label per row of {x_name}")
    arr = np.asarray(y)
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim != 1:
        raise InvalidInputError(f"{name} must be a 1-D array of labels, got shape {arr.shape}")
    if arr.shape[0] != n_rows:
        raise InvalidInputError(
            f"{name} has {arr.shape[0]} labels but {x_name} has {n_rows} rows; "
            "pass one label per row"
        )
    if arr.dtype.kind == "f":
        bad = ~np.isfinite(arr)
        if bad.any():
            raise InvalidInputError(f"{name} has missing (NaN) labels in rows {format_rows(bad)}")
    elif arr.dtype.kind == "O":
        bad = np.array([v is None for v in arr], dtype=bool)
        if bad.any():
            raise InvalidInputError(f"{name} has missing (null) labels in rows {format_rows(bad)}")
        arr = arr.astype(str)
    elif arr.dtype.kind not in "biuUS":
        raise InvalidInputError(f"{name} must hold integer or string labels, got {arr.dtype}")
    return arr


def check_arrays(
    x_train: Any,
    y_train: Any,
    x_test: Any,
    y_test: Any,
    *,
    classes: Any = None,
    source: str = "arrays",
    split: str = "given",
) -> EvaluationData:
    """Validate train/test arrays and code their labels as ``0..n_classes-1``.

    ``classes`` optionally names integer labels (``classes[i]`` is label ``i``).

    Examples
    --------
    >>> d = check_arrays(np.ones((3, 2)), ["b", "a", "b"], np.ones((1, 2)), ["a"])
    >>> d.classes, d.y_train.tolist(), d.y_test.tolist()
    (['a', 'b'], [1, 0, 1], [0])
    >>> check_arrays(np.ones((3, 2)), [0, 1], np.ones((1, 2)), [0])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    terrabit.errors.InvalidInputError: y_train has 2 labels but x_train has 3 rows; ...
    """
    xtr = check_matrix(x_train, name="x_train")
    xte = check_matrix(x_test, name="x_test")
    if xte.shape[1] != xtr.shape[1]:
        raise InvalidInputError(
            f"x_train has {xtr.shape[1]} dims but x_test has {xte.shape[1]}; "
            "both must come from the same embedding model"
        )
    ytr = _labels(y_train, "y_train", xtr.shape[0], "x_train")
    yte = _labels(y_test, "y_test", xte.shape[0], "x_test")
    if ytr.dtype.kind in "US" or yte.dtype.kind in "US":
        ytr, yte = ytr.astype(str), yte.astype(str)
    try:
        uniq = np.unique(np.concatenate([ytr, yte]))
    except TypeError as exc:
        raise InvalidInputError(f"labels of mixed types cannot be compared: {exc}") from exc
    if uniq.dtype.kind == "f" and not np.all(uniq == np.round(uniq)):
        raise InvalidInputError(
            "labels are non-integer floats; pass class labels (integers or strings)"
        )
    names = None if classes is None else [str(c) for c in np.asarray(classes).ravel()]
    if (
        names is not None
        and uniq.dtype.kind in "iuf"
        and uniq.min() >= 0
        and uniq.max() < len(names)
    ):
        return EvaluationData(
            xtr, ytr.astype(np.int64), xte, yte.astype(np.int64), names, source, split
        )
    labels = [str(int(v)) if uniq.dtype.kind in "iuf" else str(v) for v in uniq]
    return EvaluationData(
        xtr,
        np.searchsorted(uniq, ytr).astype(np.int64),
        xte,
        np.searchsorted(uniq, yte).astype(np.int64),
        labels,
        source,
        split,
    )


def load_npz(path: str | os.PathLike[str]) -> EvaluationData:
    """Load a labelled ``.npz`` (``x_train, y_train, x_test, y_test``, optional ``classes``).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "s.npz"
    >>> np.savez(p, x_train=np.ones((2, 3)), y_train=[0, 1], x_test=np.ones((1, 3)))
    >>> load_npz(p)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    terrabit.errors.InvalidInputError: ... lacks key(s) y_test; a labelled .npz holds ...
    """
    p = Path(path)
    save_hint = (
        "save numeric arrays with numpy.savez(path, x_train=..., y_train=..., x_test=..., "
        "y_test=...)"
    )
    # numpy.load reads a file that is not a zip archive as a pickle (and its error then
    # suggests allow_pickle): refuse it here, never load a pickle
    if not p.is_file() or not zipfile.is_zipfile(p):
        raise InvalidInputError(
            f"{str(p)!r} is not a .npz file (a .npz is a zip archive of .npy arrays); {save_hint}"
        )
    try:
        npz = np.load(p, allow_pickle=False)
    except (OSError, ValueError, zipfile.BadZipFile) as exc:
        raise InvalidInputError(
            f"cannot read {str(p)!r} as a .npz file (a damaged zip archive); {save_hint}"
        ) from exc
    with npz:
        missing = [k for k in NPZ_KEYS if k not in npz.files]
        if missing:
            raise InvalidInputError(
                f"{str(p)!r} lacks key(s) {', '.join(missing)}; a labelled .npz holds "
                f"{', '.join(NPZ_KEYS)} (it has {', '.join(npz.files) or 'nothing'})"
            )
        wanted = [*NPZ_KEYS, *(k for k in ("classes", WORLD_KEY) if k in npz.files)]
        loaded = {k: _npz_array(npz, k, p, save_hint) for k in wanted}
    arrays = {k: loaded[k] for k in NPZ_KEYS}
    world = _world_marker(loaded[WORLD_KEY][()]) if WORLD_KEY in loaded else None
    data = check_arrays(**arrays, classes=loaded.get("classes"), source=str(p), split="given")
    return replace(data, world=world)


def _npz_array(npz: Any, key: str, path: Path, save_hint: str) -> np.ndarray:
    """Array ``key`` of an open ``.npz``; one that holds Python objects (a pickle) is
    refused, never loaded."""
    try:
        return np.asarray(npz[key])
    except ValueError as exc:  # object arrays need pickles
        raise InvalidInputError(
            f"{str(path)!r}: array {key!r} holds Python objects (a pickle), which terrabit "
            f"never loads; {save_hint}"
        ) from exc
    except (OSError, EOFError, zipfile.BadZipFile, zlib.error) as exc:
        raise InvalidInputError(
            f"{str(path)!r}: array {key!r} cannot be read (a damaged .npz); {save_hint}"
        ) from exc


def _embedding_matrix(column: pa.ChunkedArray, name: str) -> np.ndarray:
    arr = column.combine_chunks()
    if arr.null_count:
        mask = np.asarray(arr.is_null().to_numpy(zero_copy_only=False))
        raise InvalidInputError(
            f"{name} is null in rows {format_rows(mask)}; drop those rows first"
        )
    typ = arr.type
    if pa.types.is_fixed_size_list(typ):
        width = typ.list_size
        values = arr.flatten().to_numpy(zero_copy_only=False)
        return check_matrix(values.reshape(len(arr), width), name=name)
    if pa.types.is_list(typ) or pa.types.is_large_list(typ):
        lengths = np.asarray(arr.value_lengths().to_numpy(zero_copy_only=False))
        if lengths.size and (lengths != lengths[0]).any():
            bad = lengths != np.bincount(lengths).argmax()
            raise InvalidInputError(
                f"{name} holds vectors of different lengths; rows {format_rows(bad)} differ from "
                f"the common length {int(np.bincount(lengths).argmax())}"
            )
        values = arr.flatten().to_numpy(zero_copy_only=False)
        return check_matrix(
            values.reshape(len(arr), int(lengths[0]) if lengths.size else 0), name=name
        )
    raise InvalidInputError(
        f"{name} must be a list<float> or fixed_size_list<float> column, got {typ}; "
        "choose the embedding column with embedding_col",
        params=("embedding_col",),
    )


def _parquet_files(path: Path) -> list[Path]:
    if path.is_dir():
        files = sorted(path.glob("patches/*.parquet")) or sorted(path.glob("*.parquet"))
        if not files:
            raise InvalidInputError(
                f"{str(path)!r} holds no Parquet files (looked for patches/*.parquet and "
                "*.parquet); pass a .npz, a .parquet or a patch-corpus folder"
            )
        return files
    return [path]


def load_parquet(
    path: str | os.PathLike[str],
    *,
    embedding_col: str = "embedding",
    label_col: str = "label",
    split_col: str = "split",
    test_fraction: float = 0.2,
    seed: int = 0,
) -> EvaluationData:
    """Load embeddings and labels from a Parquet file or a GeoParquet patch folder.

    See the module docstring for how the train/test split is made.

    Examples
    --------
    >>> import tempfile, pathlib, pyarrow as pa, pyarrow.parquet as pq
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "e.parquet"
    >>> emb = pa.array([[0.0, 1.0]] * 10, pa.list_(pa.float32()))
    >>> pq.write_table(pa.table({"embedding": emb, "label": ["a", "b"] * 5}), p)
    >>> d = load_parquet(p)
    >>> d.split, d.x_train.shape, d.x_test.shape
    ('random', (8, 2), (2, 2))
    """
    if not 0.0 < test_fraction < 1.0:
        raise InvalidInputError(f"test_fraction must lie in (0, 1), got {test_fraction}")
    files = _parquet_files(Path(path))
    opened = [open_parquet(f) for f in files]  # each must be Parquet: named if not
    schema = opened[0].schema_arrow
    marker = (schema.metadata or {}).get(WORLD_KEY.encode())
    names = set(schema.names)
    for col, param in ((embedding_col, "embedding_col"), (label_col, "label_col")):
        if col not in names:
            raise InvalidInputError(
                f"{str(files[0])!r} has no column {col!r}; choose it with {param} "
                f"(columns: {', '.join(schema.names)})",
                params=(param,),
            )
    wanted = [c for c in (embedding_col, label_col, split_col, "geometry") if c in names]
    try:
        table = pa.concat_tables(
            [pq.read_table(f, columns=wanted) for f in files], promote_options="permissive"
        )
    except (OSError, pa.ArrowInvalid) as exc:
        raise InvalidInputError(f"cannot read the Parquet input {str(path)!r}: {exc}") from exc
    if table.num_rows < 2:
        raise InvalidInputError(f"{str(path)!r} has {table.num_rows} rows; need at least 2")
    x = _embedding_matrix(table.column(embedding_col), f"column {embedding_col!r}")
    labels_arr = table.column(label_col).combine_chunks()
    if labels_arr.null_count:
        mask = np.asarray(labels_arr.is_null().to_numpy(zero_copy_only=False))
        raise InvalidInputError(
            f"column {label_col!r} has missing labels in rows {format_rows(mask)}; drop those rows"
        )
    y = np.asarray(labels_arr.to_numpy(zero_copy_only=False))
    rng_seed = seed
    if split_col in table.column_names:
        split_vals = np.char.lower(
            np.asarray(table.column(split_col).to_numpy(zero_copy_only=False)).astype(str)
        )
        bad = ~np.isin(split_vals, ["train", "test"])
        if bad.any():
            raise InvalidInputError(
                f"column {split_col!r} must hold 'train' or 'test'; rows {format_rows(bad)} do not"
            )
        test, how = split_vals == "test", "given"
    elif "geometry" in table.column_names:
        import shapely

        geoms = shapely.from_wkb(table.column("geometry").to_numpy(zero_copy_only=False))
        xy = shapely.get_coordinates(shapely.centroid(geoms))
        if xy.shape[0] != table.num_rows:
            raise InvalidInputError("some geometries are empty; drop rows without a geometry")
        test, how = (
            spatial_split(xy[:, 0], xy[:, 1], test_fraction=test_fraction, seed=seed),
            ("spatial"),
        )
        if test.all() or not test.any():
            test, how = None, "random"
    else:
        test, how = None, "random"
    if test is None:
        perm = np.random.default_rng(rng_seed).permutation(table.num_rows)
        test = np.zeros(table.num_rows, dtype=bool)
        test[perm[: max(1, round(test_fraction * table.num_rows))]] = True
    if test.all() or not test.any():
        raise InvalidInputError(
            f"the {how} split left no {'train' if test.all() else 'test'} rows; "
            f"fix column {split_col!r} or change test_fraction"
        )
    data = check_arrays(x[~test], y[~test], x[test], y[test], source=str(path), split=how)
    return replace(data, world=None if marker is None else _world_marker(marker))


def load_input(
    path: str | os.PathLike[str],
    *,
    embedding_col: str = "embedding",
    label_col: str = "label",
    split_col: str = "split",
    test_fraction: float = 0.2,
    seed: int = 0,
) -> EvaluationData:
    """Load any supported input by its kind: ``.npz``, ``.parquet`` file or a folder.

    Examples
    --------
    >>> load_input("/nonexistent/x.npz")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    terrabit.errors.InvalidInputError: input '/nonexistent/x.npz' does not exist; pass a ...
    """
    p = Path(path)
    if not p.exists():
        raise InvalidInputError(
            f"input {str(p)!r} does not exist; pass a labelled .npz, a .parquet file or a "
            "patch-corpus folder"
        )
    if p.is_file() and p.suffix.lower() == ".npz":
        return load_npz(p)
    if p.is_dir() or p.suffix.lower() in (".parquet", ".geoparquet", ".pq"):
        return load_parquet(
            p,
            embedding_col=embedding_col,
            label_col=label_col,
            split_col=split_col,
            test_fraction=test_fraction,
            seed=seed,
        )
    raise InvalidInputError(
        f"cannot tell what {str(p)!r} is from its name; pass a .npz, a .parquet file or a "
        "patch-corpus folder"
    )

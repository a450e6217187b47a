"""A command-line search of a small corpus loads only what it needs (issue 18, fast start).

The real command runs in a fresh interpreter under ``-X importtime``, which lists every
module the process imports: the oracle is that list, not terrabit's own account. numba
(with the scipy it imports and LLVM) costs a third of a second of start-up, most of a
small search; only large jobs and the spatial views need it. pandas costs as much again
(pyarrow 26 imports it on its first conversion to or from numpy); a search converts through
``terrabit._arrow`` instead.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import shapely

#: Modules a plain search must not load: numba and what it pulls in, and the compiled
#: kernels that import it.
COMPILED = {
    "numba",
    "llvmlite",
    "scipy",
    "sklearn",
    "terrabit.kernels._popcount",
    "terrabit.kernels._bitsliced",
    "terrabit.search.geoneighbours",
    "terrabit.corpus._footer_walk",
}


def _search(*args: Any) -> tuple[dict[str, Any] | None, set[str]]:
    """``terrabit search …`` in a fresh process: its ``--json`` output (when asked) and
    every module it imported."""
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "terrabit", "search", *map(str, args)],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    imported = {
        line.rsplit("|", 1)[-1].strip()
        for line in proc.stderr.splitlines()
        if line.startswith("import time:")
    }
    return (json.loads(proc.stdout) if "--json" in args else None), imported


@pytest.fixture(scope="module")
def exemplar(all_rows: Any, busy_box: tuple[float, ...]) -> str:
    geoms = shapely.from_wkb(all_rows.column("geometry").to_numpy(zero_copy_only=False))
    inside = shapely.intersects(geoms, shapely.box(*busy_box))
    return str(all_rows.column("id")[int(inside.argmax())])


def _bbox(box: tuple[float, ...]) -> str:
    return ",".join(repr(v) for v in box)


@pytest.mark.parametrize("output", ["--json", "-o"])
def test_a_small_search_loads_no_compiled_kernel(
    corpus_dir: Path, busy_box: tuple[float, ...], exemplar: str, output: str, tmp_path: Path
) -> None:
    sink = ["--json"] if output == "--json" else ["-o", tmp_path / "found.parquet"]
    data, imported = _search(
        corpus_dir, "--bbox", _bbox(busy_box), "--positive", exemplar, "-k", 5, *sink
    )
    assert "terrabit.search.query" in imported  # the list is complete: the search ran
    assert sorted(COMPILED & imported) == []
    assert "pandas" not in imported  # pyarrow's pandas shim (terrabit._arrow converts)
    if data is not None:
        assert len(data["results"]) == 5
    else:
        assert (tmp_path / "found.parquet").is_file()


def test_a_spatial_view_still_loads_its_kernel(
    corpus_dir: Path, busy_box: tuple[float, ...]
) -> None:
    data, imported = _search(corpus_dir, "--bbox", _bbox(busy_box), "--view", "surprise",
                             "--json")  # fmt: skip
    assert data is not None and len(data["results"]) == data["stats"]["candidates"] > 0
    assert {"numba", "terrabit.search.geoneighbours"} <= imported


def test_a_search_does_not_load_pyarrow_dataset(
    corpus_dir: Path, busy_box: tuple[float, ...], exemplar: str
) -> None:
    _, imported = _search(
        corpus_dir, "--bbox", _bbox(busy_box), "--positive", exemplar, "-k", 5, "--json"
    )
    assert "pyarrow.dataset" not in imported


def test_a_global_search_does_not_load_pandas(corpus_dir: Path, exemplar: str) -> None:
    data, imported = _search(corpus_dir, "--global", "--positive", exemplar, "-k", 5, "--json")
    assert data is not None and len(data["results"]) == 5
    assert "pandas" not in imported

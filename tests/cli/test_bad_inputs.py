"""Issue 18's bad-input probes through the real ``terrabit`` command: each is one line on
stderr, exit 1, and leaves its input untouched."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from terrabit.cli.main import cli
from terrabit.corpus import publish
from terrabit.corpus._fixture import write_input
from terrabit.corpus.manifest import encode_manifest


@pytest.fixture(scope="module")
def input_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_input(tmp_path_factory.mktemp("in") / "in.parquet", rows=300, dims=16, seed=1)


@pytest.fixture(scope="module")
def corpus_dir(tmp_path_factory: pytest.TempPathFactory, input_file: Path) -> Path:
    out = tmp_path_factory.mktemp("corpus") / "c"
    publish(input_file, out, max_rows=100, show_progress=False)
    return out


def _digest(path: Path) -> dict[str, str]:
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    return {str(p): hashlib.sha256(p.read_bytes()).hexdigest() for p in files}


def _fails(*args: str | Path, inputs: tuple[Path, ...] = ()) -> str:
    """Run ``terrabit ARGS``; assert exit 1 with exactly one line on stderr, nothing on
    stdout, ``inputs`` unchanged; return that line."""
    before = [_digest(p) for p in inputs]
    result = CliRunner().invoke(cli, [str(a) for a in args])
    assert result.exit_code == 1, (result.output, result.exception)
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    assert result.stdout == ""
    assert [_digest(p) for p in inputs] == before
    return lines[0]


def _id(input_file: Path) -> str:
    return str(pq.read_table(input_file, columns=["id"]).column("id")[0].as_py())


def _search(corpus: Path, input_file: Path) -> list[str]:
    return ["search", str(corpus), "--bbox", "-180,-90,180,90", "--positive", _id(input_file)]


# ----------------------------------------------------------------- 3: the manifest
def _copy(corpus_dir: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(corpus_dir, tmp_path / "c"))


@pytest.mark.parametrize("where", ["xmin", "global"])
def test_a_flipped_bit_in_the_manifest_is_one_line_not_a_silent_result(
    corpus_dir: Path, input_file: Path, tmp_path: Path, where: str
) -> None:
    """Item 1: one flipped bit in the manifest's xmin chunk made a region search return
    [] with exit 0; a flip in the summary codes changed a --global top-k still reported
    exact. Now the manifest's own digest answers first, for every command."""
    bad = _copy(corpus_dir, tmp_path)
    raw = bytearray((bad / "manifest.parquet").read_bytes())
    column = "xmin" if where == "xmin" else "summary_codes"
    md = pq.read_metadata(bad / "manifest.parquet")
    names = [md.schema.column(j).path for j in range(md.num_columns)]
    chunk = md.row_group(0).column(next(j for j, n in enumerate(names) if n.startswith(column)))
    raw[chunk.data_page_offset + chunk.total_compressed_size - 3] ^= 0x01
    (bad / "manifest.parquet").write_bytes(bytes(raw))
    args = (
        _search(bad, input_file)
        if where == "xmin"
        else ["search", str(bad), "--positive", _id(input_file), "--global"]
    )
    assert _fails(*args, inputs=(bad,)) == (
        f"Error: {bad}/manifest.parquet: its bytes do not match its own digest "
        "(terrabit.sha256); the manifest is damaged — restore it from a copy or republish the "
        "corpus"
    )


def test_invalid_utf8_in_a_manifest_path(
    corpus_dir: Path, input_file: Path, tmp_path: Path
) -> None:
    bad = _copy(corpus_dir, tmp_path)
    table = pq.read_table(bad / "manifest.parquet")
    paths = [p.encode() for p in table.column("path").to_pylist()]
    paths[1] = paths[1].replace(b"shards/", b"shards/\xff")  # not UTF-8
    offsets = np.cumsum([0, *map(len, paths)]).astype(np.int32)
    column = pa.Array.from_buffers(
        pa.string(),
        len(paths),
        [None, pa.py_buffer(offsets.tobytes()), pa.py_buffer(b"".join(paths))],
    )
    table = table.set_column(0, table.schema.field("path"), column)
    meta = json.loads(table.schema.metadata[b"terrabit"])
    (bad / "manifest.parquet").write_bytes(encode_manifest(table, meta))  # sealed: damage within
    line = _fails(*_search(bad, input_file), inputs=(bad,))
    assert line == (
        f"Error: {bad}/manifest.parquet: column 'path' holds bytes that are not UTF-8 text "
        "(rows [1]); the manifest is damaged — restore it from a copy or republish the corpus "
        "with `terrabit publish`"
    )


@pytest.mark.parametrize(
    ("damage", "detail"),
    [
        (lambda c: c["state"]["threshold_"].update(base64="AAAA!"), "(buffer size must be"),
        (lambda c: c["state"]["threshold_"].update(base64="AAAAA"), "(Invalid base64"),
        (lambda c: c["state"].pop("threshold_"), "lacks fitted attributes ['threshold_'])"),
        (lambda c: c.update(spec="binary+"), "codec spec"),
    ],
    ids=["size", "base64", "missing-array", "spec"],
)
def test_a_damaged_codec_blob_names_the_manifest(
    corpus_dir: Path, input_file: Path, tmp_path: Path, damage: object, detail: str
) -> None:
    bad = _copy(corpus_dir, tmp_path)
    table = pq.read_table(bad / "manifest.parquet")
    meta = json.loads(table.schema.metadata[b"terrabit"])
    damage(meta["codec"])  # type: ignore[operator]
    (bad / "manifest.parquet").write_bytes(encode_manifest(table, meta))
    line = _fails(*_search(bad, input_file), inputs=(bad,))
    assert line.startswith(
        f"Error: {bad}/manifest.parquet: the 'codec' stored in its 'terrabit' metadata does "
        "not load ("
    )
    assert detail in line
    assert line.endswith(
        "the manifest is damaged — restore it from a copy or republish the corpus with "
        "`terrabit publish`"
    )


# ------------------------------------------------------ 13: advice given once
def test_validate_gives_its_advice_once(corpus_dir: Path, tmp_path: Path) -> None:
    bad = _copy(corpus_dir, tmp_path)
    shards = sorted((bad / "shards").glob("*.parquet"))
    raw = bytearray(shards[0].read_bytes())
    raw[100] ^= 0xFF
    shards[0].write_bytes(bytes(raw))
    shards[1].unlink()
    line = _fails("validate", bad, inputs=(bad,))
    assert line.count("republish") == 1, line
    assert f"shard {shards[0].relative_to(bad)} of {bad}: checksum" in line
    assert f"shard {shards[1].relative_to(bad)} of {bad}: the file is missing;" in line
    assert line.endswith("; republish the corpus with `terrabit publish`")


def test_a_search_on_a_damaged_shard_gives_its_advice_once(
    corpus_dir: Path, input_file: Path, tmp_path: Path
) -> None:
    bad = _copy(corpus_dir, tmp_path)
    for shard in (bad / "shards").glob("*.parquet"):
        shard.unlink()
    line = _fails(*_search(bad, input_file), inputs=(bad,))
    assert line.count("republish") == 1 and line.count("restore") == 1, line
    assert line.endswith(
        "the file is missing; the corpus changed after publishing — restore the shard or "
        "republish the corpus"
    )


# ------------------------------------------------------------ 4: publish inputs
@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            b"id,geometry\n1,POINT (0 0)\n",
            "is not a Parquet file (Parquet magic bytes not found in footer); check the file, "
            "or convert it to GeoParquet (e.g. with `ogr2ogr -f Parquet`)",
        ),
        (
            b"",
            "is empty (0 bytes); remove it from the inputs or put the GeoParquet file it "
            "should be in its place",
        ),
    ],
    ids=["text", "empty"],
)
def test_publish_a_file_that_is_not_parquet(tmp_path: Path, content: bytes, message: str) -> None:
    bad = tmp_path / "patches.parquet"
    bad.write_bytes(content)
    line = _fails("publish", bad, "-o", tmp_path / "c", inputs=(bad,))
    assert line == f"Error: input {str(bad.resolve())!r} {message}"
    assert not (tmp_path / "c").exists()


def test_publish_names_the_bad_file_among_good_ones(input_file: Path, tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(input_file, folder / "a.parquet")
    (folder / "b.parquet").write_text("not parquet")
    line = _fails("publish", folder, "-o", tmp_path / "c", inputs=(folder,))
    assert line.startswith(f"Error: input {str((folder / 'b.parquet').resolve())!r} is not a")


# -------------------------------------------------------- 5: -o under a file
def test_output_below_a_file(input_file: Path, corpus_dir: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "make.py"
    blocker.write_text("print('keep me')\n")
    fix = (
        f"{str(blocker)!r} is a file, not a folder; choose an output path outside it, or move "
        "that file away"
    )
    out = blocker / "sub" / "c"
    assert _fails("publish", input_file, "-o", out, inputs=(input_file, blocker)) == (
        f"Error: cannot write --output {out}: {fix}"
    )
    out = blocker / "x.parquet"
    line = _fails(*_search(corpus_dir, input_file), "-o", out, inputs=(corpus_dir, blocker))
    assert line == f"Error: cannot write {str(out)!r}: {fix}"
    assert _fails("world", blocker / "w", inputs=(blocker,)) == (
        f"Error: cannot write {str(blocker / 'w')!r}: {fix}"
    )


# ------------------------------------------------------------------ 8: evaluate
@pytest.fixture(scope="module")
def arrays() -> dict[str, np.ndarray]:
    x = np.random.default_rng(0).normal(size=(60, 8)).astype(np.float32)
    return {
        "x_train": x[:40],
        "y_train": np.arange(40) % 3,
        "x_test": x[40:],
        "y_test": np.arange(20) % 3,
    }


def test_evaluate_a_single_class_set(arrays: dict[str, np.ndarray], tmp_path: Path) -> None:
    path = tmp_path / "one.npz"
    np.savez(path, **{**arrays, "y_train": np.zeros(40, int), "y_test": np.zeros(20, int)})
    line = _fails(
        "evaluate", path, "--codecs", "binary", "--tasks", "knn,probe,recall", inputs=(path,)
    )
    assert line == (
        "Error: the probe task fits a classifier and needs at least 2 classes in y_train, but "
        f"{path} has one ('0'); pass embeddings labelled with several classes, or --tasks "
        "knn,recall (without probe)"
    )


def test_evaluate_refuses_a_pickle_without_suggesting_to_load_it(
    arrays: dict[str, np.ndarray], tmp_path: Path
) -> None:
    path = tmp_path / "pickled.npz"
    np.savez(path, **{**arrays, "x_train": np.array([{"a": 1}] * 40, dtype=object)})
    line = _fails("evaluate", path, "--codecs", "binary", inputs=(path,))
    assert line == (
        f"Error: {str(path)!r}: array 'x_train' holds Python objects (a pickle), which "
        "terrabit never loads; save numeric arrays with numpy.savez(path, x_train=..., "
        "y_train=..., x_test=..., y_test=...)"
    )
    assert "allow_pickle" not in line


@pytest.mark.parametrize("content", [b"just some text\n", b"", np.lib.format.MAGIC_PREFIX + b"x"])
def test_evaluate_a_file_that_is_not_npz(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "x.npz"
    path.write_bytes(content)
    line = _fails("evaluate", path, "--codecs", "binary", inputs=(path,))
    assert line == (
        f"Error: {str(path)!r} is not a .npz file (a .npz is a zip archive of .npy arrays); "
        "save numeric arrays with numpy.savez(path, x_train=..., y_train=..., x_test=..., "
        "y_test=...)"
    )
    assert "pickle" not in line


def test_evaluate_a_text_file_named_parquet(tmp_path: Path) -> None:
    path = tmp_path / "x.parquet"
    path.write_text("label,embedding\n")
    line = _fails("evaluate", path, inputs=(path,))
    assert line.startswith(f"Error: input {str(path)!r} is not a Parquet file (")

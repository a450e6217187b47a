"""The embedding false colour (format 1.5, spec §4.3): directions against scikit-learn's
PCA, colours against the spec's text written out in plain Python, the manifest round
trip, determinism, the fixture the browser checks, and corpora without one."""

from __future__ import annotations

import base64
import importlib.util
import json
import math
import shutil
import struct
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from sklearn.decomposition import PCA as SkPCA

from terrabit.cli.main import cli
from terrabit.corpus import falsecolour, publish, validate_corpus
from terrabit.corpus import format as fmt
from terrabit.corpus import open as open_corpus
from terrabit.corpus.falsecolour import FalseColour, false_colour, fit_false_colour
from terrabit.corpus.manifest import encode_manifest
from terrabit.errors import CorpusIntegrityError, InvalidInputError

FIXTURES = Path(__file__).resolve().parents[2] / "spec" / "fixtures"


# ------------------------------------------------------------------------- oracles


def _floats(entry: dict[str, Any]) -> list[float]:
    """A stored float32 array as Python floats, decoded with ``struct`` (not numpy)."""
    raw = base64.b64decode(entry["base64"])
    return list(struct.unpack(f"<{len(raw) // 4}f", raw))


def spec_colours(params: dict[str, Any], codes: list[bytes]) -> list[bytes]:
    """§4.3 "Colour (normative)" read literally: Python floats (IEEE doubles), the tables,
    the byte-by-byte sums and the bins, in the order the text writes them."""
    size = len(codes[0])
    comps, mean = _floats(params["components"]), _floats(params["mean"])
    bits = 8 * size
    tables = []
    for k in range(3):
        table = []
        for b in range(size):
            row = []
            for v in range(256):
                t = []
                for i in range(8):
                    s = 1.0 if (v >> (7 - i)) & 1 else -1.0
                    t.append(comps[k * bits + 8 * b + i] * (s - mean[8 * b + i]))
                total = t[0]
                for i in range(1, 8):
                    total = total + t[i]
                row.append(total)
            table.append(row)
        tables.append(table)
    out = []
    for code in codes:
        rgb = bytearray()
        for k in range(3):
            p = 0.0
            for b in range(size):
                p = p + tables[k][b][code[b]]
            lo, hi = params["lo"][k], params["hi"][k]
            rgb.append(min(255, max(0, math.floor(256 * ((p - lo) / (hi - lo))))))
        out.append(bytes(rgb))
    return out


def _codes(corpus_dir: Path) -> tuple[np.ndarray, pa.Table]:
    with open_corpus(corpus_dir) as c:
        table = c.read(columns=["id", "embedding"])
        size = int(c.metadata["code_size"])
    return np.frombuffer(b"".join(table.column("embedding").to_pylist()), np.uint8).reshape(
        -1, size
    ), table


def _rewrite_metadata(corpus: Path, change: Any) -> None:
    """Rewrite ``corpus``'s manifest with its ``terrabit`` metadata passed through ``change``."""
    path = corpus / fmt.MANIFEST_NAME
    table = pq.read_table(path)
    meta = json.loads(table.schema.metadata[fmt.METADATA_KEY])
    change(meta)
    path.write_bytes(encode_manifest(table, meta))


# ------------------------------------------------------------------------- fitting


def test_published_directions_are_scikit_learn_pca_of_the_bits(corpus_dir: Path) -> None:
    """The corpus (3000 rows: the whole input is the sample, all of it fitted) holds the
    top 3 principal axes of its codes' +-1 bits, signed so the largest loading is positive,
    their mean, and the 2nd/98th percentiles of the projections."""
    codes, _ = _codes(corpus_dir)
    X = np.unpackbits(codes, axis=1).astype(np.float64) * 2 - 1
    sk = SkPCA(n_components=3, svd_solver="full").fit(X)
    ratios = sk.explained_variance_[:-1] / sk.explained_variance_[1:]
    assert (ratios > 1.05).all()  # distinct eigenvalues: the axes are well defined
    with open_corpus(corpus_dir) as c:
        params = c.false_colour_params
    assert params is not None and params.rows == len(codes) == 3000
    for ours, theirs in zip(params.components.astype(np.float64), sk.components_, strict=True):
        assert abs(ours @ theirs) / np.linalg.norm(ours) == pytest.approx(1.0, abs=1e-6)
        assert ours[np.argmax(np.abs(ours))] > 0
    np.testing.assert_allclose(params.mean, X.mean(axis=0), atol=1e-6)
    projections = (
        (X - X.mean(axis=0))
        @ sk.components_.T
        * np.sign(np.sum(sk.components_ * params.components, axis=1))
    )
    lo, hi = np.percentile(projections, [2, 98], axis=0)
    np.testing.assert_allclose(params.lo, lo, atol=1e-4)
    np.testing.assert_allclose(params.hi, hi, atol=1e-4)


def test_fit_is_deterministic_and_seeded(monkeypatch: pytest.MonkeyPatch) -> None:
    codes = np.random.default_rng(5).integers(0, 256, size=(400, 6), dtype=np.uint8)
    monkeypatch.setattr(falsecolour, "FIT_ROWS", 100)
    first = json.dumps(fit_false_colour(codes, seed=1).to_dict())
    assert json.dumps(fit_false_colour(codes, seed=1).to_dict()) == first
    other = fit_false_colour(codes, seed=2)
    assert other.rows == 100 and json.dumps(other.to_dict()) != first
    # the subset is the documented draw, in row order
    pick = np.sort(np.random.default_rng(1).choice(400, 100, replace=False))
    assert json.dumps(fit_false_colour(codes[pick], seed=9).to_dict()) == first


@pytest.mark.parametrize(
    ("codes", "flat"),
    [
        (np.array([[0b1111_0000, 1], [0b0000_1111, 2]] * 20, np.uint8), [1, 2]),
        (np.array([[7, 7]] * 5, np.uint8), [0, 1, 2]),
        (np.array([[7, 9]], np.uint8), [0, 1, 2]),
    ],
    ids=["two-codes", "all-equal", "one-row"],
)
def test_directions_the_sample_does_not_vary_along_show_128(
    codes: np.ndarray, flat: list[int]
) -> None:
    params = fit_false_colour(codes)
    assert not params.components[flat].any()
    assert (params.colour(codes)[:, flat] == 128).all()
    assert all(lo < hi for lo, hi in zip(params.lo, params.hi, strict=True))


def test_fit_refuses_no_codes() -> None:
    with pytest.raises(InvalidInputError, match="0 codes"):
        fit_false_colour(np.zeros((0, 4), np.uint8))


# ------------------------------------------------------------------------- colours


@pytest.mark.parametrize("name", ["tiny", "tiny_rabitq", "tiny_twin"])
def test_colours_follow_the_spec_text_exactly(name: str) -> None:
    """Byte for byte what §4.3 says (16-, 13- and 8-byte codes), and close to the plain
    matrix product ``(x - m) @ C.T`` (another summation order)."""
    codes, _ = _codes(FIXTURES / name)
    with open_corpus(FIXTURES / name) as c:
        stored = c.metadata[falsecolour.KEY]
        got = c.false_colour(codes)
        params = c.false_colour_params
    assert params is not None
    want = spec_colours(stored, [bytes(r) for r in codes])
    assert [bytes(r) for r in got] == want
    X = np.unpackbits(codes, axis=1).astype(np.float64) * 2 - 1
    plain = (X - params.mean.astype(np.float64)) @ params.components.astype(np.float64).T
    np.testing.assert_allclose(params.project(codes), plain, rtol=0, atol=1e-9)
    assert len(set(want)) > len(want) // 2  # the colours tell rows apart
    assert sum(v in (0, 255) for row in want for v in row) > 0  # some saturate


def test_hand_worked_colours() -> None:
    """Directions on bits 0, 1 and 2 of one byte, mean 0, ends -1 and 1: +1 bits are at
    the top of the scale (256 clipped to 255), -1 bits at 0, and the mid-point is 128."""
    eye = np.eye(3, 8, dtype=np.float32)
    params = FalseColour(eye, np.zeros(8, np.float32), (-1.0, -1.0, -1.0), (1.0, 1.0, 1.0), 0)
    codes = np.array([[0b1110_0000], [0b0000_0000], [0b1010_0000]], np.uint8)
    assert false_colour(params, codes).tolist() == [[255, 255, 255], [0, 0, 0], [255, 0, 255]]
    half = FalseColour(eye, np.zeros(8, np.float32), (-1.0, -3.0, 0.0), (3.0, 1.0, 2.0), 0)
    # p = (1, -1, 1): (1+1)/4 * 256 = 128, (-1+3)/4 * 256 = 128, (1-0)/2 * 256 = 128
    assert false_colour(half, codes[2:]).tolist() == [[128, 128, 128]]


def test_the_order_of_the_sums_is_the_spec_s() -> None:
    """Terms 0.5, 2**53 and -2**53 sum to 0 left to right (2**53 + 0.5 rounds to 2**53)
    but to 0.5 in the reverse order (which would give 192): red sums them across bytes,
    green within one byte's table. Both must read 128."""
    big = 2.0**53
    comps = np.zeros((3, 32), np.float32)
    comps[0, [0, 8, 16]] = [0.5, big, big]  # the MSB of bytes 0, 1, 2
    comps[1, [24, 25, 26]] = [0.5, big, big]  # bits 0, 1, 2 of byte 3
    params = FalseColour(comps, np.zeros(32, np.float32), (-1.0,) * 3, (1.0,) * 3, 0)
    code = np.array([[0x80, 0x80, 0x00, 0b1100_0000]], np.uint8)
    assert params.colour(code).tolist() == [[128, 128, 128]]
    assert spec_colours(params.to_dict(), [code[0].tobytes()]) == [bytes([128, 128, 128])]


def test_fixture_for_the_browser_regenerates_and_matches_the_spec(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("make_fc", FIXTURES / "make_falsecolour.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    fresh = module.make(tmp_path / "falsecolour.json")
    assert fresh.read_bytes() == (FIXTURES / "falsecolour.json").read_bytes()
    for case in json.loads(fresh.read_text())["cases"]:
        with open_corpus(FIXTURES / case["corpus"]) as c:
            stored = c.metadata[falsecolour.KEY]
        codes = [bytes.fromhex(r["code"]) for r in case["rows"]]
        assert [bytes.fromhex(r["rgb"]) for r in case["rows"]] == spec_colours(stored, codes)
        assert case["saturated"] > 0


# ------------------------------------------------------------------- the manifest


def test_metadata_round_trip_is_exact(corpus_dir: Path) -> None:
    with open_corpus(corpus_dir) as c:
        raw = c.metadata[falsecolour.KEY]
        params = c.false_colour_params
    assert params is not None
    assert set(raw) == {"components", "mean", "lo", "hi", "rows"}
    assert raw["components"]["shape"] == [3, 64] and raw["components"]["dtype"] == "f4"
    back = FalseColour.from_dict(json.loads(json.dumps(params.to_dict())), code_size=8)
    assert back.components.tobytes() == params.components.tobytes()
    assert back.mean.tobytes() == params.mean.tobytes()
    assert (back.lo, back.hi, back.rows) == (params.lo, params.hi, params.rows)
    assert params.to_dict() == raw


def test_every_publish_writes_the_same_false_colour(input_file: Path, tmp_path: Path) -> None:
    """Published twice, the same bytes; the Arrow column and numpy codes colour alike."""
    for name in ("a", "b"):
        publish(input_file, tmp_path / name, show_progress=False)
    manifests = [(tmp_path / n / fmt.MANIFEST_NAME).read_bytes() for n in ("a", "b")]
    assert manifests[0] == manifests[1]
    with open_corpus(tmp_path / "a") as c:
        assert c.metadata["format_version"] == "1.6"
        column = c.read(columns=["embedding"]).column("embedding")
        codes = np.frombuffer(b"".join(column.to_pylist()), np.uint8).reshape(-1, 8)
        assert np.array_equal(c.false_colour(column), c.false_colour(codes))
        with pytest.raises(InvalidInputError, match="expected fixed_size_binary"):
            c.false_colour(pa.array([b"abc"], pa.binary(3)))
        with pytest.raises(InvalidInputError, match="codes of 8 bytes"):
            c.false_colour(np.zeros((2, 4), np.uint8))


def test_codecs_without_hamming_distance_have_no_false_colour(
    input_file: Path, tmp_path: Path
) -> None:
    publish(input_file, tmp_path / "c", codec="int8", show_progress=False)
    with open_corpus(tmp_path / "c") as c:
        assert falsecolour.KEY not in c.metadata
        assert c.false_colour_params is None and c.info()["false_colour"] is None
        with pytest.raises(InvalidInputError, match=r"codec 'int8' is not compared by Hamming"):
            c.false_colour(np.zeros((1, c.codec.code_size), np.uint8))
        assert validate_corpus(c) == []


def test_an_older_corpus_says_it_has_none(corpus_dir: Path, tmp_path: Path) -> None:
    old = tmp_path / "old"
    shutil.copytree(corpus_dir, old)

    def as_1_4(meta: dict[str, Any]) -> None:
        meta["format_version"] = "1.4"
        del meta[falsecolour.KEY]

    _rewrite_metadata(old, as_1_4)
    (old / "collection.json").unlink()  # a 1.4 corpus has none
    with open_corpus(old) as c:
        assert c.false_colour_params is None
        with pytest.raises(InvalidInputError, match=r"format 1\.4, before false colours"):
            c.false_colour(np.zeros((1, 8), np.uint8))
        assert validate_corpus(c) == []
    shown = CliRunner().invoke(cli, ["info", str(old)])
    assert shown.exit_code == 0
    assert "colour     - (no embedding false colour" in shown.output


def test_validator_and_reader_name_a_malformed_key(corpus_dir: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad"
    shutil.copytree(corpus_dir, bad)

    def break_it(meta: dict[str, Any]) -> None:
        fc = meta[falsecolour.KEY]
        fc["lo"] = [0.0, 5.0, float("nan")]
        fc["hi"] = [1.0, 4.0, 1.0]
        short = base64.b64decode(fc["mean"]["base64"])[:64]
        fc["mean"] = {**fc["mean"], "shape": [16], "base64": base64.b64encode(short).decode()}

    _rewrite_metadata(bad, break_it)
    with open_corpus(bad) as c:
        problems = [p for p in validate_corpus(c) if falsecolour.KEY in p]
        assert any("mean is f4 [16], expected f4 [64]" in p for p in problems)
        assert any("lo is [0.0, 5.0, nan], expected 3 finite numbers" in p for p in problems)
        with pytest.raises(CorpusIntegrityError, match="'false_colour' is malformed"):
            _ = c.false_colour_params


def test_info_describes_it(corpus_dir: Path) -> None:
    out = CliRunner().invoke(cli, ["info", str(corpus_dir), "--json"])
    assert out.exit_code == 0, out.output
    info = json.loads(out.output)["false_colour"]
    assert (info["directions"], info["bits"], info["rows"]) == (3, 64, 3000)
    text = CliRunner().invoke(cli, ["info", str(corpus_dir)]).output
    assert "embedding false colour: 3 principal directions of the 64 code bits" in text

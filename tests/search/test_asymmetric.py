"""Asymmetric scoring of float queries: RaBitQ's estimated cosine on a ``rabitq`` corpus
(numpy oracle on the stored codes and factors), its recall against exact float cosine
beside Hamming search, the automatic rule, ``--no-asymmetric`` and bad input."""

from __future__ import annotations

import glob
import json
from pathlib import Path
from typing import Any

import click
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from terrabit.cli.main import TerrabitGroup
from terrabit.cli.search import search as search_command
from terrabit.codecs.rabitq import rabitq_quantizer
from terrabit.corpus import format as fmt
from terrabit.corpus import open as open_corpus
from terrabit.corpus import publish
from terrabit.corpus._fixture import write_input
from terrabit.corpus.manifest import encode_manifest
from terrabit.errors import InvalidInputError
from terrabit.search.query import search

ROWS, DIMS, QUERIES = 3000, 64, 40


def _anisotropic(n: int, d: int, seed: int) -> np.ndarray:
    """Clusters in a randomly rotated space whose variance decays as ``j**-1.6`` over the
    directions, off the origin: sign bits lose most of what the float query keeps."""
    rng = np.random.default_rng(seed)
    scales = np.arange(1, d + 1) ** -0.8
    rotation = np.linalg.qr(rng.normal(size=(d, d)))[0]
    centres = rng.normal(size=(30, d)) * scales * 2
    X = (centres[rng.integers(0, 30, n)] + rng.normal(size=(n, d)) * scales) @ rotation + 0.5
    return X.astype(np.float32)


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, np.ndarray, np.ndarray]:
    """An input of ``ROWS`` anisotropic vectors, and ``QUERIES`` held-out ones."""
    root = tmp_path_factory.mktemp("asym_in")
    X = _anisotropic(ROWS + QUERIES, DIMS, seed=0)
    src = write_input(root / "base.parquet", rows=ROWS, dims=DIMS, seed=4)
    t = pq.read_table(src)
    emb = pa.FixedSizeListArray.from_arrays(pa.array(X[:ROWS].ravel()), DIMS)
    t = t.set_column(t.schema.get_field_index("embedding"), "embedding", emb)
    pq.write_table(t, root / "in.parquet")
    return root / "in.parquet", X[:ROWS], X[ROWS:]


@pytest.fixture(scope="module")
def corpora(
    data: tuple[Path, np.ndarray, np.ndarray], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("asym_corpora")
    out = {}
    for spec in ("rabitq", "norm+rabitq", "binary"):
        out[spec] = root / spec.replace("+", "_")
        publish(data[0], out[spec], codec=spec, max_rows=1000, show_progress=False)
    return out


def _stored(root: Path) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Ids, codes and factors (float64) of every row, read with pyarrow and numpy."""
    ids: list[str] = []
    codes, facs = [], []
    for f in sorted(glob.glob(str(root / "shards" / "*.parquet"))):
        t = pq.read_table(f, columns=["id", "embedding", "rabitq"])
        ids += t.column("id").to_pylist()
        codes.append(np.frombuffer(b"".join(t.column("embedding").to_pylist()), np.uint8))
        raw = b"".join(t.column("rabitq").to_pylist())
        facs.append(np.frombuffer(raw, "<f2").astype(np.float64))
    n = len(ids)
    return ids, np.concatenate(codes).reshape(n, -1), np.concatenate(facs).reshape(n, 3)


def _numpy_cos_distance(
    q: np.ndarray,
    codes: np.ndarray,
    fac: np.ndarray,
    rotation: np.ndarray,
    center: np.ndarray,
    query_bits: int | None = None,
) -> np.ndarray:
    """RaBitQ's estimated ``1 - cos`` written out in numpy (spec §3.4); with ``query_bits``,
    ``y - c`` rounded to ``2**query_bits`` evenly spaced values on its own range first."""
    y = q.astype(np.float64) @ rotation.astype(np.float64)
    c = center.astype(np.float64)
    d = y.shape[0]
    signs = np.unpackbits(codes, axis=1)[:, :d].astype(np.float64) * 2 - 1
    qr = y - c
    if query_bits is not None:
        step = (qr.max() - qr.min()) / (2**query_bits - 1)
        qr = qr.min() + step * np.round((qr - qr.min()) / step)
    est = fac[:, 0] / fac[:, 1] * (signs @ qr) / np.sqrt(d)
    ip = est + fac[:, 2] + y @ c
    o_norm = np.sqrt(fac[:, 0] ** 2 + 2 * fac[:, 2] + c @ c)
    return 1 - ip / (o_norm * np.linalg.norm(y))


@pytest.mark.parametrize("spec", ["rabitq", "norm+rabitq"])
def test_float_query_scores_equal_the_numpy_estimate(
    spec: str, data: tuple[Path, np.ndarray, np.ndarray], corpora: dict[str, Path]
) -> None:
    _, _, Q = data
    ids, codes, fac = _stored(corpora[spec])
    with open_corpus(corpora[spec]) as c:
        rq = rabitq_quantizer(c.codec)
        assert rq is not None
        result = search(c, vectors=Q[0], negative_vectors=Q[1], view="heatmap")
    assert result.query["asymmetric"] and [e.kind for e in result.exemplars] == ["vector"] * 2
    qs = Q[:2] if spec == "rabitq" else Q[:2] / np.linalg.norm(Q[:2], axis=1, keepdims=True)
    pos, neg = (_numpy_cos_distance(q, codes, fac, rq.rotation_, rq.center_) for q in qs)
    expected = dict(zip(ids, pos - neg, strict=True))
    table = result.table
    got = dict(zip(table.column("id").to_pylist(), table.column("score").to_pylist(), strict=True))
    assert set(got) == set(ids)
    # the codec rotates the query in float32, the oracle in float64
    np.testing.assert_allclose([got[i] for i in ids], [expected[i] for i in ids], atol=1e-6)


def test_query_bits_scores_equal_the_numpy_estimate_of_the_quantized_query(
    data: tuple[Path, np.ndarray, np.ndarray], corpora: dict[str, Path]
) -> None:
    """``query_bits=4`` (the browser's query): the estimate of the quantized query."""
    _, _, Q = data
    ids, codes, fac = _stored(corpora["rabitq"])
    with open_corpus(corpora["rabitq"]) as c:
        rq = rabitq_quantizer(c.codec)
        assert rq is not None
        runs = {
            bits: search(c, vectors=Q[0], negative_vectors=Q[1], view="heatmap", query_bits=bits)
            for bits in (None, 4)
        }
    assert runs[4].query["query_bits"] == 4 and runs[None].query["query_bits"] is None
    got = {}
    for bits, result in runs.items():
        t = result.table
        scores = dict(zip(t.column("id").to_pylist(), t.column("score").to_pylist(), strict=True))
        got[bits] = np.array([scores[i] for i in ids])
    pos, neg = (
        _numpy_cos_distance(q, codes, fac, rq.rotation_, rq.center_, query_bits=4) for q in Q[:2]
    )
    np.testing.assert_allclose(got[4], pos - neg, atol=1e-6)
    assert np.abs(got[4] - got[None]).max() > 1e-3  # the quantization is not a no-op


def _recall(result: Any, truth: set[str]) -> float:
    return len(truth & set(result.shown.column("id").to_pylist())) / 10


def test_recall_at_10_beats_hamming_on_the_same_corpus(
    data: tuple[Path, np.ndarray, np.ndarray], corpora: dict[str, Path]
) -> None:
    _, X, Q = data
    Xn = X.astype(np.float64) / np.linalg.norm(X, axis=1, keepdims=True)
    ids = pq.read_table(data[0], columns=["id"]).column("id").to_pylist()
    asym, ham = [], []
    with open_corpus(corpora["rabitq"]) as c:
        for q in Q:
            cos = Xn @ (q / np.linalg.norm(q))
            truth = {ids[i] for i in np.argsort(-cos, kind="stable")[:10]}
            asym.append(_recall(search(c, vectors=q, k=10), truth))
            ham.append(_recall(search(c, vectors=q, k=10, asymmetric=False), truth))
    # measured: 0.52 against 0.375 (40 queries)
    assert np.mean(asym) > np.mean(ham) + 0.08, (np.mean(asym), np.mean(ham))


def test_a_4_bit_query_recalls_as_the_float_query(
    data: tuple[Path, np.ndarray, np.ndarray], corpora: dict[str, Path]
) -> None:
    """``query_bits=4`` (the browser's query) ranks differently, but as well."""
    _, X, Q = data
    Xn = X.astype(np.float64) / np.linalg.norm(X, axis=1, keepdims=True)
    ids = pq.read_table(data[0], columns=["id"]).column("id").to_pylist()
    recall: dict[int | None, list[float]] = {None: [], 4: []}
    differ = 0
    with open_corpus(corpora["rabitq"]) as c:
        for q in Q:
            cos = Xn @ (q / np.linalg.norm(q))
            truth = {ids[i] for i in np.argsort(-cos, kind="stable")[:10]}
            tops = {}
            for bits in recall:
                result = search(c, vectors=q, k=10, query_bits=bits)
                recall[bits].append(_recall(result, truth))
                tops[bits] = result.shown.column("id").to_pylist()
            differ += tops[None] != tops[4]
    # measured: 0.520 (float) and 0.515 (4 bits); the top-10 lists (ids in order) differ for
    # all 40 queries
    assert abs(np.mean(recall[4]) - np.mean(recall[None])) <= 0.03, recall
    assert differ > len(Q) // 2


def test_automatic_rule(
    data: tuple[Path, np.ndarray, np.ndarray], corpora: dict[str, Path]
) -> None:
    _, _, Q = data
    with open_corpus(corpora["rabitq"]) as c:
        some_id = c.read(columns=["id"]).column("id")[0].as_py()
        cases: list[tuple[dict[str, Any], bool]] = [
            ({"vectors": Q[:3]}, True),
            ({"positives": [Q[0]], "negatives": [Q[1]]}, True),  # vectors given as exemplars
            ({"positives": [some_id]}, False),
            ({"positives": [some_id], "vectors": Q[0]}, False),  # mixed
            ({"vectors": Q[0], "negatives": [some_id]}, False),
            ({"vectors": Q[0], "combine": "majority"}, False),
            ({"vectors": Q[0], "asymmetric": False}, False),
        ]
        for kwargs, expected in cases:
            result = search(c, k=5, **kwargs)
            assert result.query["asymmetric"] is expected, kwargs
            # Hamming means over at most 3 exemplars are multiples of 1/6; cosines are not
            sixths = 6 * np.asarray(result.shown.column("score").to_numpy())
            assert np.array_equal(sixths, np.round(sixths)) is not expected, kwargs
        assert search(c, vectors=Q[0], k=3, global_=True).query["asymmetric"] is False
    with open_corpus(corpora["binary"]) as c:  # sign bits: asymmetric_scores, -cos
        result = search(c, vectors=Q[0], k=5)
        assert result.query["asymmetric"] and result.shown.column("score")[0].as_py() < 0


def test_a_rabitq_corpus_without_its_factors_scores_by_hamming(
    data: tuple[Path, np.ndarray, np.ndarray], corpora: dict[str, Path], tmp_path: Path
) -> None:
    """A 1.3 corpus (before the column) of a rabitq codec: automatic -> Hamming."""
    copy = tmp_path / "c"
    copy.mkdir()
    for item in corpora["rabitq"].rglob("*"):
        if item.is_file():
            target = copy / item.relative_to(corpora["rabitq"])
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(item.read_bytes())
    manifest = pq.read_table(copy / fmt.MANIFEST_NAME)
    meta = json.loads(manifest.schema.metadata[fmt.METADATA_KEY])
    meta["format_version"] = "1.3"
    meta["columns"] = [name for name in meta["columns"] if name != "rabitq"]
    (copy / fmt.MANIFEST_NAME).write_bytes(encode_manifest(manifest, meta))
    with open_corpus(copy) as c:
        assert search(c, vectors=data[2][0], k=5).query["asymmetric"] is False
        with pytest.raises(InvalidInputError, match="'rabitq' without its rabitq column") as info:
            search(c, vectors=data[2][0], asymmetric=True)
    assert info.value.params == ("asymmetric",)


@pytest.mark.parametrize(
    ("kwargs", "match", "params"),
    [
        ({"global_": True}, "a global search ranks by Hamming distance", ("asymmetric", "global_")),
        ({"invert": True}, "combine='mean' and no invert", ("asymmetric", "combine", "invert")),
    ],
)
def test_asymmetric_true_when_impossible_is_one_line(
    data: tuple[Path, np.ndarray, np.ndarray],
    corpora: dict[str, Path],
    kwargs: dict[str, Any],
    match: str,
    params: tuple[str, ...],
) -> None:
    with open_corpus(corpora["rabitq"]) as c:
        with pytest.raises(InvalidInputError, match=match) as info:
            search(c, vectors=data[2][0], asymmetric=True, **kwargs)
        assert "\n" not in str(info.value) and info.value.params == params
        some_id = c.read(columns=["id"]).column("id")[0].as_py()
        with pytest.raises(InvalidInputError, match="needs a float vector for exemplar") as info:
            search(c, positives=[some_id], asymmetric=True)  # no rerank column to decode
        assert "\n" not in str(info.value) and "rerank" in str(info.value)


def test_query_bits_where_it_cannot_apply_is_one_line(
    data: tuple[Path, np.ndarray, np.ndarray], corpora: dict[str, Path]
) -> None:
    q = data[2][0]
    bad: list[tuple[str, dict[str, Any], str]] = [
        ("rabitq", {"query_bits": 0}, "query_bits must be between 1 and 8, got 0"),
        ("rabitq", {"query_bits": 9}, "query_bits must be between 1 and 8, got 9"),
        ("rabitq", {"query_bits": 4.0}, "query_bits must be an integer"),
        ("rabitq", {"query_bits": 4, "asymmetric": False}, "scores by Hamming distance"),
        ("binary", {"query_bits": 4}, "on 'binary' scores asymmetrically by sign bits"),
    ]
    for spec, kwargs, match in bad:
        with open_corpus(corpora[spec]) as c, pytest.raises(InvalidInputError, match=match) as info:
            search(c, vectors=q, **kwargs)
        assert "\n" not in str(info.value) and info.value.params == ("query_bits",), kwargs


def test_vectors_argument_is_checked(corpora: dict[str, Path]) -> None:
    with open_corpus(corpora["rabitq"]) as c:
        with pytest.raises(InvalidInputError, match="vectors= holds 3-d vectors") as info:
            search(c, vectors=np.zeros((2, 3)))
        assert info.value.params == ("vectors",)
        bad = np.zeros(DIMS)
        bad[4] = np.inf
        with pytest.raises(InvalidInputError, match=r"negative_vectors=: rows \[0\] hold NaN"):
            search(c, vectors=np.ones(DIMS), negative_vectors=bad)


@click.group(cls=TerrabitGroup)
def cli() -> None:
    """Test group with the search command."""


cli.add_command(search_command)


def test_cli_vector_default_and_no_asymmetric(
    data: tuple[Path, np.ndarray, np.ndarray], corpora: dict[str, Path], tmp_path: Path
) -> None:
    q = data[2][:2]
    np.save(tmp_path / "q.npy", q)
    base = ["search", str(corpora["rabitq"]), "--bbox", "-180,-90,180,90", "-k", "5", "--json"]
    runs = {}
    for flag in ((), ("--no-asymmetric",), ("--asymmetric",)):
        res = CliRunner().invoke(cli, [*base, "--vector", str(tmp_path / "q.npy"), *flag])
        assert res.exit_code == 0, res.output
        runs[flag] = [(r["id"], r["score"]) for r in json.loads(res.stdout)["results"]]
    with open_corpus(corpora["rabitq"]) as c:
        for flag, asym in (((), None), (("--no-asymmetric",), False)):
            api = search(c, (-180, -90, 180, 90), vectors=q, k=5, asymmetric=asym)
            ids = api.shown.column("id").to_pylist()
            assert runs[flag] == list(zip(ids, api.shown.column("score").to_pylist(), strict=True))
    assert runs[()] == runs[("--asymmetric",)] != runs[("--no-asymmetric",)]
    assert all(float(2 * s).is_integer() for _, s in runs[("--no-asymmetric",)])  # mean of 2
    np.save(tmp_path / "one.npy", q[0])
    args = ["search", str(corpora["rabitq"]), "--global", "--asymmetric"]
    res = CliRunner().invoke(cli, [*args, "--vector", str(tmp_path / "one.npy")])
    assert res.exit_code != 0
    assert "a global search ranks by Hamming distance" in res.stderr


def test_cli_query_bits(
    data: tuple[Path, np.ndarray, np.ndarray], corpora: dict[str, Path], tmp_path: Path
) -> None:
    """``--query-bits 4`` ranks as ``search(..., query_bits=4)``; out of range or on a
    corpus without RaBitQ factors it is one line."""
    q = data[2][:1]
    np.save(tmp_path / "q.npy", q)
    args = ["--bbox", "-180,-90,180,90", "-k", "5", "--json", "--vector", str(tmp_path / "q.npy")]
    res = CliRunner().invoke(cli, ["search", str(corpora["rabitq"]), *args, "--query-bits", "4"])
    assert res.exit_code == 0, res.output
    got = [(r["id"], r["score"]) for r in json.loads(res.stdout)["results"]]
    with open_corpus(corpora["rabitq"]) as c:
        api = search(c, (-180, -90, 180, 90), vectors=q, k=5, query_bits=4)
        ids = api.shown.column("id").to_pylist()
    assert got == list(zip(ids, api.shown.column("score").to_pylist(), strict=True))
    res = CliRunner().invoke(cli, ["search", str(corpora["rabitq"]), *args, "--query-bits", "9"])
    assert res.exit_code != 0 and "9 is not in the range 1<=x<=8" in res.stderr
    res = CliRunner().invoke(cli, ["search", str(corpora["binary"]), *args, "--query-bits", "4"])
    assert res.exit_code != 0
    assert res.stderr.count("\n") == 1 and "scores asymmetrically by sign bits" in res.stderr

"""A published corpus read from a real S3-compatible server (moto) and a real nginx.

The corpus is published locally, uploaded to the moto bucket and copied under nginx's
root; ``terrabit.open("s3://…")`` and ``terrabit.open("http://…")`` must read the same
rows and give the same search results as the local corpus, by range requests.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

import terrabit
from terrabit.corpus import publish
from terrabit.corpus._fixture import write_input
from terrabit.errors import CorpusIntegrityError, CorpusNotFoundError
from terrabit.search import search

from .conftest import S3, S3_ENV, Nginx

#: Regions to read: everything, and a 60° box around the first row.
EVERYWHERE = (-180.0, -90.0, 180.0, 90.0)


@pytest.fixture(scope="module")
def local_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("remote_corpus")
    source = write_input(root / "in.parquet", rows=1500, dims=64, seed=5, row_group_rows=500)
    out = root / "corpus"
    publish(source, out, max_rows=300, row_group_rows=64, keep=["label"], show_progress=False)
    return out


@pytest.fixture(scope="module")
def on_nginx(nginx: Nginx, local_corpus: Path) -> str:
    shutil.copytree(local_corpus, nginx.root / "corpora" / "c")
    return f"{nginx.url}/corpora/c"


@pytest.fixture
def on_s3(s3_env: S3, local_corpus: Path) -> str:
    s3_env.upload(local_corpus, "corpora/c")
    return f"s3://{s3_env.bucket}/corpora/c"


def _near_first_row(corpus: Any) -> tuple[tuple[float, float, float, float], str]:
    first = corpus.read(EVERYWHERE, columns=["id", "bbox"]).slice(0, 1).to_pylist()[0]
    box = first["bbox"]
    x, y = (box["xmin"] + box["xmax"]) / 2, (box["ymin"] + box["ymax"]) / 2
    box = (max(-180.0, x - 30), max(-90.0, y - 30), min(180.0, x + 30), min(90.0, y + 30))
    return box, str(first["id"])


@pytest.fixture(scope="module")
def reference(local_corpus: Path) -> Iterator[dict[str, Any]]:
    with terrabit.open(local_corpus) as corpus:
        region, exemplar = _near_first_row(corpus)
        yield {
            "region": region,
            "exemplar": exemplar,
            "all": corpus.read(EVERYWHERE),
            "region_rows": corpus.read(region),
            "search": search(corpus, region, positives=[exemplar], k=15).table,
            "global": search(corpus, positives=[exemplar], k=10, global_=True).table,
            "shards": corpus.manifest.num_rows,
        }


def _same_as_reference(uri: str, reference: dict[str, Any]) -> dict[str, Any]:
    with terrabit.open(uri) as corpus:
        assert corpus.manifest.num_rows == reference["shards"] > 1
        assert corpus.read(EVERYWHERE).equals(reference["all"])
        rows = corpus.read(reference["region"])
        assert 0 < rows.num_rows < reference["all"].num_rows
        assert rows.equals(reference["region_rows"])
        found = search(corpus, reference["region"], positives=[reference["exemplar"]], k=15)
        assert found.table.equals(reference["search"])
        assert found.shown.num_rows == 15
        glob = search(corpus, positives=[reference["exemplar"]], k=10, global_=True)
        assert glob.table.equals(reference["global"]) and glob.shown.num_rows == 10
        return {"bytes_read": corpus.source.bytes_read, "requests": corpus.source.requests}


def test_s3_corpus_reads_like_local(on_s3: str, reference: dict[str, Any]) -> None:
    stats = _same_as_reference(on_s3, reference)
    assert stats["requests"] > 0


def test_http_corpus_on_nginx_reads_like_local(
    on_nginx: str, nginx: Nginx, reference: dict[str, Any], local_corpus: Path
) -> None:
    stats = _same_as_reference(on_nginx, reference)
    shard_gets = [r for r in nginx.requests() if r[0] == "GET" and "/shards/" in r[1]]
    assert shard_gets and all(
        status == 206 and rng.startswith("bytes=") for _, _, status, rng in shard_gets
    )
    total = sum(p.stat().st_size for p in local_corpus.rglob("*") if p.is_file())
    assert 0 < stats["bytes_read"] <= total


def test_region_read_over_http_fetches_part_of_the_shards(
    on_nginx: str, reference: dict[str, Any], local_corpus: Path
) -> None:
    with terrabit.open(on_nginx) as corpus:
        corpus.read(reference["region"], columns=["id"])
        fetched = corpus.source.bytes_read
    shards = sum(p.stat().st_size for p in (local_corpus / "shards").rglob("*") if p.is_file())
    assert 0 < fetched < shards / 2


def test_missing_corpus_on_s3_and_nginx(s3_env: S3, nginx: Nginx) -> None:
    with pytest.raises(CorpusNotFoundError, match=r"manifest\.parquet"):
        terrabit.open(f"s3://{s3_env.bucket}/no/such/corpus")
    with pytest.raises(CorpusNotFoundError, match=r"manifest\.parquet"):
        terrabit.open(f"{nginx.url}/no/such/corpus")


def test_s3_environment_names(s3_env: S3) -> None:
    """The variables obstore needs for a custom endpoint are the ones the fixture sets."""
    env = s3_env.env
    assert all(name in env for name in S3_ENV) and env["AWS_ALLOW_HTTP"] == "true"
    assert pa.__version__  # pyarrow reads the shards the sources fetch


def test_a_damaged_manifest_is_refused_over_s3_and_http(
    s3_env: S3, nginx: Nginx, local_corpus: Path, tmp_path: Path
) -> None:
    """The manifest's own digest is checked by every open, whatever the source (format 1.6):
    one flipped bit of its data, served by S3 or nginx, is one error naming the manifest."""
    damaged = Path(shutil.copytree(local_corpus, tmp_path / "damaged"))
    raw = bytearray((damaged / "manifest.parquet").read_bytes())
    raw[len(raw) // 3] ^= 0x10
    (damaged / "manifest.parquet").write_bytes(bytes(raw))
    s3_env.upload(damaged, "corpora/damaged")
    shutil.copytree(damaged, nginx.root / "corpora" / "damaged")
    for uri in (f"s3://{s3_env.bucket}/corpora/damaged", f"{nginx.url}/corpora/damaged"):
        with pytest.raises(CorpusIntegrityError) as info:
            terrabit.open(uri)
        assert str(info.value) == (
            f"{uri}/manifest.parquet: its bytes do not match its own digest (terrabit.sha256); "
            "the manifest is damaged — restore it from a copy or republish the corpus"
        )

"""``publish -o s3://…`` against a real S3-compatible server (moto, on loopback): the
objects equal a local publish's files, the manifest goes last, an interrupted upload
leaves no manifest, ``--resume`` finishes it without uploading twice, and bad outputs
are refused."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import terrabit
from terrabit.cli.main import cli
from terrabit.corpus import publish, sinks, validate_corpus
from terrabit.corpus._fixture import write_input
from terrabit.errors import InvalidInputError, OutputExistsError, ShardIOError

from ..conftest import digest_tree, validate_stac_offline
from .conftest import S3

#: ``name``: the id of collection.json (by default the output's last part: "c" locally,
#: "equal" for s3://…/pub/equal), so that the objects equal a local publish's files
OPTIONS: dict[str, Any] = {"max_rows": 200, "row_group_rows": 32, "seed": 4, "name": "c"}


def _remote_digest(s3: S3, prefix: str) -> dict[str, str]:
    import obstore

    store = s3.store()
    out = {}
    for chunk in obstore.list(store, prefix=f"{prefix}/"):
        for meta in chunk:
            data = bytes(obstore.get(store, meta["path"]).bytes())
            out[meta["path"][len(prefix) + 1 :]] = hashlib.sha256(data).hexdigest()
    return dict(sorted(out.items()))


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("s3_publish_in")
    return write_input(root / "in.parquet", rows=1200, dims=32, seed=8, row_group_rows=300)


@pytest.fixture(scope="module")
def local(source: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("s3_publish_local") / "c"
    publish(source, out, show_progress=False, **OPTIONS)
    return out


def test_publish_to_s3_equals_local_and_reads_back(
    s3_env: S3, source: Path, local: Path, tmp_path: Path
) -> None:
    url = f"s3://{s3_env.bucket}/pub/equal"
    result = publish(source, url, work_dir=tmp_path / "work", show_progress=False, **OPTIONS)
    assert result.path == url and result.shards > 2
    assert _remote_digest(s3_env, "pub/equal") == digest_tree(local)
    assert list((tmp_path / "work").iterdir()) == []  # the staging folder is gone
    with terrabit.open(url) as remote, terrabit.open(local) as here:
        everywhere = (-180.0, -90.0, 180.0, 90.0)
        assert remote.read(everywhere).equals(here.read(everywhere))


def test_overwrite_replaces_and_removes_stale_shards(
    s3_env: S3, source: Path, tmp_path: Path
) -> None:
    url = f"s3://{s3_env.bucket}/pub/over"
    publish(source, url, work_dir=tmp_path, show_progress=False, **{**OPTIONS, "max_rows": 100})
    with pytest.raises(OutputExistsError, match="already holds a corpus; pass overwrite=True"):
        publish(source, url, work_dir=tmp_path, show_progress=False, **OPTIONS)
    publish(source, url, work_dir=tmp_path, overwrite=True, show_progress=False, **OPTIONS)
    remote = _remote_digest(s3_env, "pub/over")
    with terrabit.open(url) as corpus:
        named = set(corpus.manifest.column("path").to_pylist())
        assert corpus.rows == 1200
    assert set(remote) == named | {"manifest.parquet", "collection.json"}  # no stale shard


def test_interrupted_upload_leaves_no_manifest_and_resumes(
    s3_env: S3, source: Path, local: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"s3://{s3_env.bucket}/pub/resume"
    # an old corpus is there: the new upload first removes its manifest
    publish(source, url, work_dir=tmp_path, show_progress=False, **{**OPTIONS, "max_rows": 100})
    real = sinks.ObjectStoreSink._put
    puts: list[str] = []

    def failing(self: Any, key: str, path: Path) -> None:
        puts.append(key)
        if len(puts) == 3:
            raise ShardIOError(f"could not upload {key}: connection reset")
        real(self, key, path)

    with monkeypatch.context() as m:
        m.setattr(sinks.ObjectStoreSink, "_put", failing)
        m.setattr(sinks, "UPLOAD_THREADS", 1)
        with pytest.raises(ShardIOError, match="connection reset"):
            publish(source, url, work_dir=tmp_path, overwrite=True, show_progress=False, **OPTIONS)
    assert "manifest.parquet" not in _remote_digest(s3_env, "pub/resume")  # never a lie
    uploaded_before = len(puts) - 1
    resumed: list[str] = []

    def counting(self: Any, key: str, path: Path) -> None:
        resumed.append(key)
        real(self, key, path)

    with monkeypatch.context() as m:
        m.setattr(sinks.ObjectStoreSink, "_put", counting)
        result = publish(
            source,
            url,
            work_dir=tmp_path,
            overwrite=True,
            resume=True,
            show_progress=False,
            **OPTIONS,
        )
    assert result.resumed
    assert resumed[-2:] == ["collection.json", "manifest.parquet"]  # the manifest last
    assert len(resumed) == result.shards - uploaded_before + 2  # shards not uploaded twice
    assert _remote_digest(s3_env, "pub/resume") == digest_tree(local)


def test_collection_on_s3_is_named_by_the_prefix_and_validates(
    s3_env: S3, source: Path, tmp_path: Path
) -> None:
    import obstore

    url = f"s3://{s3_env.bucket}/pub/coast-2024"
    options = {"max_rows": 200, "row_group_rows": 32, "work_dir": tmp_path, "show_progress": False}
    publish(source, url, **options)
    store = s3_env.store()
    doc = json.loads(bytes(obstore.get(store, "pub/coast-2024/collection.json").bytes()))
    assert doc["id"] == "coast-2024"  # the prefix's last part
    assert validate_stac_offline(doc) == [
        "https://schemas.stacspec.org/v1.1.0/collection-spec/json-schema/collection.json"
    ]
    with terrabit.open(url) as corpus:
        assert validate_corpus(corpus) == []
        assert doc["extent"]["spatial"]["bbox"] == [corpus.metadata["bbox"]]
    # a publish stopped between the collection and the manifest leaves no foreign object
    obstore.delete(store, "pub/coast-2024/manifest.parquet")
    assert publish(source, url, **options).rows == 1200


def test_foreign_prefix_and_read_only_outputs_are_refused(
    s3_env: S3, source: Path, tmp_path: Path
) -> None:
    import obstore

    obstore.put(s3_env.store(), "pub/foreign/photo.jpg", b"meow")
    with pytest.raises(OutputExistsError, match=r"not a terrabit corpus .*'photo\.jpg'"):
        publish(source, f"s3://{s3_env.bucket}/pub/foreign", work_dir=tmp_path, overwrite=True)
    with pytest.raises(InvalidInputError, match="http\\(s\\) hosts are read-only"):
        publish(source, "https://example.com/c")
    with pytest.raises(InvalidInputError, match="work_dir is for object-store outputs"):
        publish(source, tmp_path / "c", work_dir=tmp_path / "w")


def test_missing_credentials_name_the_variables(
    source: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_PROFILE", "AWS_SKIP_SIGNATURE"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(InvalidInputError, match="AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"):
        publish(source, "s3://bucket/c", work_dir=tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_cli_publish_to_s3(s3_env: S3, source: Path, local: Path, tmp_path: Path) -> None:
    url = f"s3://{s3_env.bucket}/pub/cli"
    res = CliRunner().invoke(
        cli,
        [
            "publish",
            str(source),
            "-o",
            url,
            "--max-rows",
            "200",
            "--row-group-rows",
            "32",
            "--seed",
            "4",
            "--work-dir",
            str(tmp_path),
            "--name",
            "c",
            "--json",
        ],
    )
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["rows"] == 1200
    assert _remote_digest(s3_env, "pub/cli") == digest_tree(local)


def test_inputs_from_an_s3_folder_or_glob(
    s3_env: S3, source: Path, local: Path, tmp_path: Path
) -> None:
    """Input files listed from a prefix or a glob give the same shards as local files."""
    import pyarrow.parquet as pq

    folder = tmp_path / "parts"
    folder.mkdir()
    whole = pq.read_table(source)
    for k in range(3):
        pq.write_table(whole.slice(400 * k, 400), folder / f"part-{k}.parquet")
    (folder / "README.txt").write_text("not an input")
    s3_env.upload(folder, "inputs/a")
    here = publish(folder, tmp_path / "here", show_progress=False, **OPTIONS)
    shards = {k: v for k, v in digest_tree(tmp_path / "here").items() if k != "manifest.parquet"}
    for spec in (
        f"s3://{s3_env.bucket}/inputs/a/",
        f"s3://{s3_env.bucket}/inputs/*/part-*.parquet",
    ):
        out = tmp_path / "remote"
        result = publish(spec, out, overwrite=True, show_progress=False, **OPTIONS)
        assert result.rows == here.rows == 1200
        got = {k: v for k, v in digest_tree(out).items() if k != "manifest.parquet"}
        assert got == shards
        with terrabit.open(out) as corpus:
            assert corpus.metadata["provenance"]["inputs"] == [
                f"s3://{s3_env.bucket}/inputs/a/part-{k}.parquet" for k in range(3)
            ]
    with pytest.raises(InvalidInputError, match="matches no object"):
        publish(f"s3://{s3_env.bucket}/inputs/zzz/*.parquet", tmp_path / "none")


def test_dask_engine_publishes_to_s3(
    s3_env: S3, source: Path, local: Path, dask_client: Any, tmp_path: Path
) -> None:
    url = f"s3://{s3_env.bucket}/pub/dask"
    publish(
        source,
        url,
        work_dir=tmp_path,
        engine="dask",
        scheduler=dask_client,
        show_progress=False,
        **OPTIONS,
    )
    assert _remote_digest(s3_env, "pub/dask") == digest_tree(local)

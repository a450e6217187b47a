"""``terrabit site``: the app copied byte for byte plus ``config.json``, URL validation,
atomic and overwrite-guarded output, and the CLI's ``--json``."""

from __future__ import annotations

import json
import os
import shutil
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner

from terrabit.errors import InvalidInputError, OutputExistsError, TerrabitError
from terrabit.web import site as site_mod
from terrabit.web.site import check_corpus_url, write_site


@pytest.fixture
def app(tmp_path: Path) -> Path:
    root = tmp_path / "app"
    (root / "assets").mkdir(parents=True)
    (root / "index.html").write_text("<!doctype html><title>terrabit</title>")
    (root / "assets" / "main.js").write_bytes(b"console.log(1);\n")
    (root / "assets" / "kernel.wasm").write_bytes(bytes(range(256)))
    (root / "config.json").write_text('{"corpus": "corpus/"}')  # a dev config: replaced
    return root


def tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_copies_app_and_writes_config(app: Path, tmp_path: Path) -> None:
    out = tmp_path / "out" / "site"
    result = write_site("https://data.example.org/corpus/", out, app_dir=app)
    got = tree(out)
    want = tree(app)
    assert json.loads(got.pop("config.json")) == {"corpus": "https://data.example.org/corpus/"}
    want.pop("config.json")
    assert got == want
    assert result.outdir == out and result.files == len(want) + 1
    assert result.bytes == sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    assert stat.S_IMODE(out.stat().st_mode) == 0o755
    assert [p.name for p in out.parent.iterdir()] == ["site"]  # no temporary folders left


def test_refuses_existing_output_unless_overwrite(app: Path, tmp_path: Path) -> None:
    out = tmp_path / "site"
    out.mkdir()
    (out / "stale.txt").write_text("old")
    with pytest.raises(OutputExistsError, match=r"OUTDIR .* already exists; pass --overwrite"):
        write_site("corpus/", out, app_dir=app)
    assert (out / "stale.txt").read_text() == "old"
    write_site("../corpus", out, app_dir=app, overwrite=True)
    assert not (out / "stale.txt").exists()
    assert json.loads((out / "config.json").read_text()) == {"corpus": "../corpus"}


def test_failure_leaves_nothing(app: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "site"

    def broken_copy(*args: object, **kwargs: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(shutil, "copytree", broken_copy)
    with pytest.raises(OSError, match="disk full"):
        write_site("corpus/", out, app_dir=app)
    assert os.listdir(tmp_path) == ["app"]


def test_unbuilt_app_and_output_inside_app(app: Path, tmp_path: Path) -> None:
    with pytest.raises(TerrabitError, match=r"not built.*npm run build"):
        write_site("corpus/", tmp_path / "site", app_dir=tmp_path / "nothing")
    with pytest.raises(InvalidInputError, match="inside the app folder"):
        write_site("corpus/", app / "site", app_dir=app)


@pytest.mark.parametrize(
    "url",
    [
        "https://data.example.org/corpus",
        "http://127.0.0.1:8000/corpus/",
        "HTTPS://EXAMPLE.ORG/c",
        "corpus/",
        "../data/corpus",
        "/data/corpus/",
        "https://example.org/my%20corpus/",
    ],
)
def test_accepted_urls(url: str) -> None:
    assert check_corpus_url(url) == url


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("", "is empty"),
        ("   ", "is empty"),
        ("s3://bucket/corpus", r"cannot read s3:// URLs.*https://BUCKET\.s3"),
        ("gs://bucket/corpus", r"https://storage\.googleapis\.com"),
        ("az://acct/c", r"blob\.core\.windows\.net"),
        ("ftp://example.org/corpus", "unsupported scheme 'ftp:'"),
        ("file:///data/corpus", "unsupported scheme 'file:'"),
        ("javascript:alert(1)", "unsupported scheme 'javascript:'"),
        ("https:///corpus", "has no host"),
        ("//example.org/corpus", "protocol-relative; write the scheme"),
        ("C:\\data\\corpus", "backslashes"),
        ("C:/data/corpus", "looks like a local path"),
        ("https://example.org/my corpus", "spaces"),
    ],
)
def test_rejected_urls(url: str, message: str, app: Path, tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match=message):
        write_site(url, tmp_path / "site", app_dir=app)
    assert not (tmp_path / "site").exists()


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, app: Path) -> object:
    from terrabit.cli import main

    monkeypatch.setitem(main.COMMANDS, "site", "terrabit.cli.web:site")
    monkeypatch.setattr(site_mod, "packaged_app_dir", lambda: app)
    return main.cli


def test_cli_site_json(cli: object, tmp_path: Path, app: Path) -> None:
    out = tmp_path / "site"
    args = ["site", "https://example.org/c/", str(out), "--json"]
    result = CliRunner().invoke(cli, args)  # type: ignore[arg-type]
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data == {
        "outdir": str(out),
        "corpus": "https://example.org/c/",
        "files": len(tree(app)),
        "bytes": sum(len(b) for b in tree(out).values()),
    }
    again = CliRunner().invoke(cli, args)  # type: ignore[arg-type]
    assert again.exit_code == 1 and "--overwrite" in again.output
    assert CliRunner().invoke(cli, [*args, "--overwrite"]).exit_code == 0  # type: ignore[arg-type]


def test_cli_site_bad_url(cli: object, tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["site", "s3://b/c", str(tmp_path / "s")])  # type: ignore[arg-type]
    assert result.exit_code == 1
    assert "Error: CORPUS_URL 's3://b/c': a browser cannot read s3://" in result.output


def test_site_of_packaged_app(built_app: Path, tmp_path: Path) -> None:
    """The real build: every file of the packaged app lands in the site."""
    result = write_site("https://example.org/corpus/", tmp_path / "site")
    want = tree(built_app)
    want.pop("config.json", None)
    got = tree(result.outdir)
    got.pop("config.json")
    assert got == want and "index.html" in got

"""``publish(codec="auto", rerank="auto")``: codes chosen on the seeded sample, recorded in
the manifest metadata, and byte-identical to publishing with the chosen specs directly."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from terrabit.cli.info import info
from terrabit.codecs.auto import CODE_CANDIDATES, RERANK_CANDIDATES
from terrabit.corpus import PublishOptions, publish
from terrabit.corpus import format as fmt
from terrabit.errors import InvalidInputError

from .test_inputs import _points


def _meta(root: Path) -> dict:
    return json.loads(pq.read_schema(root / fmt.MANIFEST_NAME).metadata[fmt.METADATA_KEY])


def _shards(root: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((root / fmt.SHARDS_DIR).rglob("*.parquet"))}


def test_auto_publish_equals_publishing_the_choice(input_file: Path, tmp_path: Path) -> None:
    publish(input_file, tmp_path / "a", codec="auto", rerank="auto", show_progress=False)
    choice = _meta(tmp_path / "a")["codec_choice"]
    codec, rerank = choice["code"]["chosen"], choice["rerank"]["chosen"]
    assert codec in CODE_CANDIDATES and rerank in RERANK_CANDIDATES
    assert "fallback" not in choice and choice["queries"] == 500
    publish(input_file, tmp_path / "b", codec=codec, rerank=rerank, show_progress=False)
    meta_a, meta_b = _meta(tmp_path / "a"), _meta(tmp_path / "b")
    assert meta_a["codec"] == meta_b["codec"] and meta_a["rerank_codec"] == meta_b["rerank_codec"]
    assert "codec_choice" not in meta_b
    assert _shards(tmp_path / "a") == _shards(tmp_path / "b")
    result = CliRunner().invoke(info, [str(tmp_path / "a"), "--json"])
    assert result.exit_code == 0, result.output
    shown = json.loads(result.stdout)
    assert shown["codec"] == meta_b["codec"]["spec"]
    assert shown["codec_choice"] == choice
    text = CliRunner().invoke(info, [str(tmp_path / "a")]).stdout
    assert f"code {codec} recall@10" in text


def test_auto_budget_and_fallback(input_file: Path, tmp_path: Path) -> None:
    publish(input_file, tmp_path / "a", rerank="auto:max-bytes=16", show_progress=False)
    choice = _meta(tmp_path / "a")["codec_choice"]
    assert choice["rerank"]["chosen"] == "int2" and choice["max_rerank_bytes"] == 16
    assert choice["code"]["chosen"] == "binary"  # a fixed codec is measured, not replaced
    publish(input_file, tmp_path / "b", codec="auto", sample_rows=1000, show_progress=False)
    small = _meta(tmp_path / "b")["codec_choice"]
    assert "too few" in small["fallback"] and _meta(tmp_path / "b")["codec"]["spec"] == "binary"


@pytest.mark.parametrize(
    ("rerank", "match"),
    [
        ("auto:max-bytes=0", "max-bytes must be a positive integer"),
        ("auto:max-bytes=x", "expected auto or auto:max-bytes=N"),
        ("auto:bytes=3", "expected auto or auto:max-bytes=N"),
    ],
)
def test_bad_auto_rerank(rerank: str, match: str) -> None:
    with pytest.raises(InvalidInputError, match=match) as err:
        PublishOptions(rerank=rerank)
    assert err.value.params == ("rerank",)


def test_auto_keeps_the_resume_key_and_refuses_packed_input(tmp_path: Path) -> None:
    assert PublishOptions(codec="auto", rerank="auto").canonical()["codec"] == "auto"
    packed = _points(tmp_path / "b.parquet", seed=4, packed=True)
    with pytest.raises(InvalidInputError, match="no float embeddings to measure"):
        publish(packed, tmp_path / "c", codec="auto", lon_col="lon", lat_col="lat")


def _cli(*args: object) -> tuple[int, str, str]:
    from terrabit.cli.main import cli

    result = CliRunner().invoke(cli, [str(a) for a in args])
    return result.exit_code, result.stdout, result.stderr


def test_cli_bad_auto_input_is_one_line_or_a_stated_fallback(
    input_file: Path, tmp_path: Path
) -> None:
    """``--codec auto`` on too small a sample falls back to binary, says so and records it;
    ``auto:max-bytes=0`` and ``auto`` on packed codes are one-line errors with the fix."""
    code, out, _ = _cli("publish", input_file, "-o", tmp_path / "a", "--codec", "auto",
                        "--sample-rows", "1000")  # fmt: skip
    assert code == 0, out
    (line,) = [x for x in out.splitlines() if x.startswith("auto chose:")]
    assert line.startswith("auto chose: fallback: 1000 sample rows are too few to measure")
    assert line.endswith("; chose binary")
    assert "too few" in _meta(tmp_path / "a")["codec_choice"]["fallback"]
    code, _, err = _cli("publish", input_file, "-o", tmp_path / "b", "--rerank",
                        "auto:max-bytes=0")  # fmt: skip
    assert code == 1 and len(err.strip().splitlines()) == 1
    assert "max-bytes must be a positive integer" in err and "auto:max-bytes=64" in err
    packed = _points(tmp_path / "p.parquet", seed=5, packed=True)
    code, _, err = _cli("publish", packed, "-o", tmp_path / "c", "--codec", "auto",
                        "--lon-col", "lon", "--lat-col", "lat")  # fmt: skip
    assert code == 1 and len(err.strip().splitlines()) == 1
    assert "no float embeddings to measure codecs on" in err and "use --codec binary" in err
    assert not (tmp_path / "c").exists()

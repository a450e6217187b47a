"""``terrabit info`` and ``terrabit validate``: describe and deep-check a corpus (thin
tools over :func:`terrabit.corpus.open`)."""

from __future__ import annotations

import click

from terrabit._progress import progress_bar
from terrabit.cli.options import echo_json, json_option
from terrabit.errors import CorpusIntegrityError

__all__ = ["info", "validate"]


@click.command("info")
@click.argument("corpus", metavar="CORPUS")
@click.option(
    "--check",
    is_flag=True,
    help="Also check every shard's size, footer checksum and row count against the manifest "
    "(reads each footer; `terrabit validate` checks everything).",
)
@json_option
def info(corpus: str, check: bool, as_json: bool) -> None:
    """Counts, codec, extent and size of CORPUS (a folder, http(s):// or s3:// root).

    Reads the manifest only, and says so; --check also verifies every shard's footer.
    """
    from terrabit.corpus import open as open_corpus
    from terrabit.errors import TerrabitError

    problems: list[str] = []
    with open_corpus(corpus) as c:
        data = c.info()
        if check:
            paths = c.manifest.column("path").to_pylist()
            with progress_bar("checking shard footers", len(paths)) as bar:
                for path in paths:
                    try:
                        c.footer(path)
                    except TerrabitError as exc:  # integrity or I/O, named by the reader
                        problems.append(str(exc))
                    bar.advance()
    data["checked"] = "shard footers" if check else "manifest only"
    if check:
        data["problems"] = problems
    if as_json:
        echo_json(data)
        if problems:
            raise SystemExit(1)
        return
    bbox = data["bbox"] or [float("nan")] * 4
    lines = [
        f"corpus     {data['uri']}",
        f"format     {data['format_version']}",
        f"rows       {data['rows']:,} in {data['shards']:,} shards",
        f"size       {data['bytes']:,} bytes ({data['bytes_per_row']:.1f} B/row)",
        f"codec      {data['codec']} ({data['dims']} dims -> {data['code_size']} bytes)",
        f"rerank     {data['rerank_codec'] or '-'}",
        f"extent     {bbox[0]:.4f}, {bbox[1]:.4f}, {bbox[2]:.4f}, {bbox[3]:.4f}",
        f"time       {data['tmin'] or '-'} .. {data['tmax'] or '-'}",
        f"columns    {', '.join(data['columns'])}",
    ]
    if data.get("codec_choice"):
        from terrabit.codecs.auto import summary

        lines.append(f"auto       {summary(data['codec_choice'])}")
    colour = data.get("false_colour")
    lines.append(
        f"colour     embedding false colour: {colour['directions']} principal directions of "
        f"the {colour['bits']} code bits, fitted on {colour['rows']:,} sample rows"
        if colour
        else "colour     - (no embedding false colour: published before format 1.5, or a "
        "codec not compared by Hamming distance)"
    )
    lines.append(
        f"stac       {data['collection']} (a STAC 1.1 Collection describing the corpus)"
        if data["collection"]
        else "stac       - (no collection.json: published before format 1.6)"
    )
    if check:
        lines.append(f"checked    every shard's size, footer and rows ({data['shards']:,} shards)")
    else:
        lines.append(
            "checked    the manifest only (--check: every shard's footer; "
            "`terrabit validate`: everything)"
        )
    if problems:
        click.echo("\n".join(lines[:-1]))
        shown = "; ".join(problems[:5])
        more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
        raise CorpusIntegrityError(f"{len(problems)} damaged shards: {shown}{more}")
    click.echo("\n".join(lines))


@click.command("validate")
@click.argument("corpus", metavar="CORPUS")
@json_option
def validate(corpus: str, as_json: bool) -> None:
    """Deep-check CORPUS: every shard against the manifest and spec/corpus-v1.md."""
    from terrabit.corpus import open as open_corpus
    from terrabit.corpus import validate_corpus

    with open_corpus(corpus, verify="full") as c:
        with progress_bar("validating shards", len(c.manifest)) as bar:
            problems = validate_corpus(c, on_shard=lambda _: bar.advance())
        shards = len(c.manifest)
    if as_json:
        echo_json({"valid": not problems, "shards": shards, "problems": problems})
        if problems:
            raise SystemExit(1)
        return
    if problems:
        shown = "; ".join(problems[:10])
        more = f" (and {len(problems) - 10} more)" if len(problems) > 10 else ""
        # the advice once: a problem that carries its own (restore or republish) says it
        advice = (
            ""
            if all("republish" in p for p in problems)
            else "; republish the corpus with `terrabit publish`"
        )
        raise CorpusIntegrityError(f"{corpus}: {len(problems)} problems: {shown}{more}{advice}")
    click.echo(f"{corpus}: valid ({shards} shards)")

"""``terrabit search``: region + exemplars -> ranked patches (a thin tool over
:func:`terrabit.search.query.search` and :func:`terrabit.search.export.export`)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from terrabit._arrow import to_numpy
from terrabit.cli.options import (
    bbox_option,
    echo_json,
    json_option,
    output_option,
    overwrite_option,
    year_option,
)
from terrabit.errors import InvalidInputError

if TYPE_CHECKING:
    from terrabit.region import Region

__all__ = ["search"]

_VIEWS = ("topk", "heatmap", "threshold", "outlier", "surprise", "gradient", "change")
_COMBINES = ("mean", "majority", "and", "or", "xor")
_SCORES = ("distance", "classifier")


def _years(text: str | None) -> tuple[int, int] | None:
    """``A,B`` -> ``(A, B)`` (the library checks them against the corpus)."""
    if text is None:
        return None
    parts = text.replace(" ", "").split(",")
    try:
        a, b = (int(p) for p in parts)
    except ValueError:
        raise click.BadParameter(
            f"{text!r} is not two comma-separated years; write it as A,B, e.g. --years 2023,2024",
            param_hint="--years",
        ) from None
    return a, b


def _exemplar(text: str, option: str) -> Any:
    """``LON,LAT`` -> a point tuple; anything else -> an id."""
    parts = text.split(",")
    if len(parts) == 2:
        try:
            return (float(parts[0]), float(parts[1]))
        except ValueError:
            pass
    if not text.strip():
        raise InvalidInputError(f"{option} got an empty value; pass an ID or LON,LAT")
    return text


@click.command("search")
@click.argument("corpus", metavar="CORPUS")
@bbox_option(
    "Search region minx,miny,maxx,maxy (lon/lat; minx > maxx crosses 180).", as_region=True
)
@click.option(
    "--region",
    "region_file",
    type=click.Path(dir_okay=False),
    default=None,
    help="Search region: a GeoJSON file (Polygon, MultiPolygon, Feature(Collection)).",
)
@click.option(
    "--positive", "positives", multiple=True, metavar="ID|LON,LAT", help="Look for this patch."
)
@click.option(
    "--negative", "negatives", multiple=True, metavar="ID|LON,LAT", help="Look away from it."
)
@click.option(
    "--vector",
    "vector_files",
    multiple=True,
    type=click.Path(dir_okay=False),
    help="Float vectors to look for: an .npy file ([n, d] or [d]) or a JSON array; each row "
    "is a positive.",
)
@click.option(
    "--negative-vector",
    "negative_vector_files",
    multiple=True,
    type=click.Path(dir_okay=False),
    help="Float vectors to look away from (as --vector).",
)
@click.option("--combine", type=click.Choice(_COMBINES), default="mean", show_default=True)
@click.option("--invert", is_flag=True, help="Search with the bitwise NOT of the query.")
@click.option(
    "--view",
    type=click.Choice(_VIEWS),
    default="topk",
    show_default=True,
    help="change: each place's two years (--years) ranked by how much its code changed; "
    "with exemplars, by how much closer it moved to them.",
)
@click.option(
    "--score",
    type=click.Choice(_SCORES),
    default="distance",
    show_default=True,
    help="classifier: a logistic regression on the codes' bits, fitted on the positives, the "
    "negatives and a background sample of the region; the score is 1 - its probability.",
)
@click.option(
    "--years",
    metavar="A,B",
    default=None,
    help="With --view change: the two years compared [default: the two latest in the region].",
)
@click.option(
    "--snap-m",
    type=float,
    default=None,
    help="A LON,LAT exemplar no footprint contains takes the nearest row within this many "
    "metres (says which and how far) [default: 3 footprint sizes, 1 km for points].",
)
@click.option("-k", "k", type=int, default=50, show_default=True, help="Rows a top-k shows.")
@year_option("Keep rows of this year only.")
@click.option("--dedupe", is_flag=True, help="One row per place (drop other years' copies).")
@click.option(
    "--global",
    "global_",
    is_flag=True,
    help="Exact top-k over the whole corpus, best shards first.",
)
@click.option(
    "--max-shards",
    type=int,
    default=None,
    help="With --global: scan at most this many shards (stats say if still exact).",
)
@click.option("--no-rerank", is_flag=True, help="Do not re-rank with the rerank column.")
@click.option(
    "--asymmetric/--no-asymmetric",
    default=None,
    help="Score the exemplars' float vectors against the 1-bit codes (rabitq: its "
    "estimated cosine with the correction factors) instead of Hamming distance. Default: "
    "asymmetric when every exemplar is a --vector/--negative-vector row and the codec "
    "allows it (sign bits, or rabitq with its factors), Hamming otherwise; --asymmetric "
    "also scores --positive/--negative patches by their decoded rerank codes; "
    "--no-asymmetric: Hamming always.",
)
@click.option(
    "--query-bits",
    type=click.IntRange(1, 8),
    default=None,
    help="RaBitQ asymmetric scoring only: quantize the float query to this many bits, as "
    "the browser does with 4 (the same ranking as the browser app) [default: float query].",
)
@output_option(
    "Write what is shown as GeoParquet: the examples and results with their label state "
    "(role), score, time and pass-through columns.",
    dir_okay=False,
)
@click.option(
    "--with-codes",
    is_flag=True,
    help="With --output: also each row's codes (code, rerank_code) and a spatial "
    "train/validation split column (whole grid blocks, as evaluate splits): training data.",
)
@overwrite_option
@json_option
def search(
    corpus: str,
    bbox: Region | None,
    region_file: str | None,
    positives: tuple[str, ...],
    negatives: tuple[str, ...],
    vector_files: tuple[str, ...],
    negative_vector_files: tuple[str, ...],
    combine: str,
    invert: bool,
    view: str,
    score: str,
    years: str | None,
    snap_m: float | None,
    k: int,
    year: int | None,
    dedupe: bool,
    global_: bool,
    max_shards: int | None,
    no_rerank: bool,
    asymmetric: bool | None,
    query_bits: int | None,
    out: Path | None,
    with_codes: bool,
    overwrite: bool,
    as_json: bool,
) -> None:
    """Rank the patches of CORPUS in a region by similarity to exemplars.

    Exemplars are corpus ids or LON,LAT points (the patch under the point, fetched even
    outside the region), or float vectors from --vector/--negative-vector files (scored by
    their float values against the codes when every exemplar is one; see --asymmetric).
    """
    import numpy as np

    from terrabit._atomic import check_output
    from terrabit.corpus import open as open_corpus
    from terrabit.region import Region
    from terrabit.search.export import export
    from terrabit.search.query import search as run_search
    from terrabit.search.vectors import read_vectors

    if bbox is not None and region_file is not None:
        raise click.UsageError("pass either --bbox or --region, not both")
    if bbox is None and region_file is None and not global_:
        raise click.UsageError("pass a region: --bbox minx,miny,maxx,maxy or --region FILE")
    if k < 1:
        raise click.BadParameter(f"must be at least 1, got {k}", param_hint="-k")
    if with_codes and out is None:
        raise click.UsageError(
            "--with-codes writes codes into the --output file; pass -o OUT.parquet"
        )
    if out is not None:
        check_output(out, overwrite=overwrite, option="--output")
    region = bbox  # converted by the option's type
    if region_file is not None:
        region = Region.from_file(region_file)
    pos: list[Any] = [_exemplar(p, "--positive") for p in positives]
    neg: list[Any] = [_exemplar(p, "--negative") for p in negatives]
    with open_corpus(corpus) as c:
        dims = int(c.metadata["dims"])
        vectors = [read_vectors(f, dims=dims) for f in vector_files]
        negative_vectors = [read_vectors(f, dims=dims) for f in negative_vector_files]
        result = run_search(
            c,
            region,
            positives=pos,
            negatives=neg,
            combine=combine,  # type: ignore[arg-type]
            invert=invert,
            view=view,  # type: ignore[arg-type]
            k=k,
            year=year,
            dedupe=dedupe,
            global_=global_,
            max_shards=max_shards,
            rerank=not no_rerank,
            asymmetric=asymmetric,
            query_bits=query_bits,
            vectors=np.concatenate(vectors) if vectors else None,
            negative_vectors=np.concatenate(negative_vectors) if negative_vectors else None,
            score=score,  # type: ignore[arg-type]
            years=_years(years),
            snap_m=snap_m,
        )
        attributes = {} if as_json else _attributes(c, result)
        if out is not None:
            export(result, out, corpus=c, with_codes=with_codes, overwrite=overwrite)
    snapped = [e.to_dict() for e in result.exemplars if e.snapped_m is not None]
    if as_json:
        echo_json({**result.to_json(), **({"snapped": snapped} if snapped else {})})
        return
    for e in snapped:
        click.echo(
            f"{e['role']} {e['key']}: no footprint contains the point; took the nearest row "
            f"{e['id']}, {e['snapped_m']:g} m away",
            err=True,
        )
    _print_table(result, out, attributes)


_LIMIT = 100  # rows the human table prints


def _attributes(corpus: Any, result: Any) -> dict[str, dict[str, Any]]:
    """Pass-through columns (label, year, ...) of the rows the table prints."""
    from terrabit.search.attributes import row_attributes

    return row_attributes(corpus, result.shown.slice(0, _LIMIT))


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _print_table(result: Any, output: Path | None, attributes: dict[str, dict[str, Any]]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    shown = result.shown
    stats = result.stats
    title = (
        f"{result.view}: {shown.num_rows} shown of {stats['candidates']} candidates "
        f"({stats['shards_read']} shards, {stats['bytes_read']:,} bytes, "
        f"{stats['seconds'] * 1000:.0f} ms)"
    )
    table = Table(title=title)
    extra = list(dict.fromkeys(name for attrs in attributes.values() for name in attrs))
    # the classifier's probability, the earlier year's id of a change view
    added = [name for name in ("probability", "earlier") if name in shown.column_names]
    for name in ("rank", "id", *added, "score", "value", "lon", "lat", *extra):
        table.add_column(name, justify="left" if name in ("id", "earlier") else "right")
    import shapely

    limit = _LIMIT
    geoms = shapely.from_wkb(to_numpy(shown.column("geometry").slice(0, limit)))
    centres = shapely.centroid(geoms) if len(geoms) else []
    for i, (rank, ident, score, value) in enumerate(
        zip(
            shown.column("rank").to_pylist()[:limit],
            shown.column("id").to_pylist()[:limit],
            shown.column("score").to_pylist()[:limit],
            shown.column("value").to_pylist()[:limit],
            strict=True,
        )
    ):
        pt = centres[i]
        attrs = attributes.get(ident, {})
        table.add_row(
            str(rank),
            ident,
            *(_cell(shown.column(name)[i].as_py()) for name in added),
            f"{score:.4g}",
            f"{value:.4g}",
            f"{pt.x:.5f}",
            f"{pt.y:.5f}",
            *(_cell(attrs.get(name)) for name in extra),
        )
    console.print(table)
    if shown.num_rows > limit:
        console.print(f"… {shown.num_rows - limit} more rows (use -o OUT.parquet or --json)")
    if result.reason:
        console.print(f"empty result: {result.reason}")
    if stats.get("exact") is False:
        console.print(
            f"not exact: --max-shards stopped the scan after {stats['shards_scanned']} of "
            f"{stats['shards_total']} shards while a better row could remain"
        )
    if output:
        console.print(f"wrote {output}")

"""``terrabit evaluate``: measure codecs on labelled embeddings (a thin tool over
:func:`terrabit.evaluate.evaluate_data`)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from terrabit._atomic import check_output
from terrabit.cli.options import (
    echo_json,
    json_option,
    output_option,
    overwrite_option,
    seed_option,
)

if TYPE_CHECKING:
    from terrabit.evaluate import EvaluationData

__all__ = ["evaluate"]

DEFAULT_CODECS = "float32,float16,int8,int4,int2,binary"


@click.command("evaluate")
@click.argument("input_path", metavar="INPUT", type=click.Path(path_type=Path))
@click.option(
    "--codecs",
    default=None,
    help="Codec specs separated by ',' or ';' (a ',name=value' token continues the previous "
    f"codec: 'float32,pq:m=8,bits=8,pca:64+int8'). Default: {DEFAULT_CODECS}.",
)
@click.option(
    "--codec",
    "codec_list",
    multiple=True,
    help="One codec spec; repeat the option for several (added to --codecs).",
)
@click.option(
    "--tasks",
    default="all",
    show_default=True,
    help="Comma-separated subset of knn,probe,significance,recall,id,storage,speed.",
)
@output_option("Folder to write report.md, results.json and the PNG plots into (atomically).")
@click.option("--label-col", default="label", show_default=True, help="Parquet label column.")
@click.option(
    "--embedding-col", default="embedding", show_default=True, help="Parquet embedding column."
)
@click.option(
    "--split-col",
    default="split",
    show_default=True,
    help="Parquet column holding 'train'/'test'; without it the split is spatial "
    "(by geometry blocks) or random.",
)
@click.option(
    "--test-fraction",
    type=click.FloatRange(0, 1, min_open=True, max_open=True),
    default=0.2,
    show_default=True,
    help="Share of Parquet rows held out for testing when there is no split column.",
)
@click.option(
    "--recommend",
    is_flag=True,
    help="Print the codes `publish --codec auto --rerank auto` would choose for these "
    "embeddings (recall@10 of each candidate on held-out rows) instead of the report.",
)
@json_option
@seed_option
@overwrite_option
@click.pass_context
def evaluate(
    ctx: click.Context,
    input_path: Path,
    codecs: str | None,
    codec_list: tuple[str, ...],
    tasks: str,
    out: Path | None,
    label_col: str,
    embedding_col: str,
    split_col: str,
    test_fraction: float,
    recommend: bool,
    as_json: bool,
    seed: int,
    overwrite: bool,
) -> None:
    """Measure how much each codec costs in accuracy, recall, storage and speed.

    INPUT is a labelled .npz (x_train, y_train, x_test, y_test), a Parquet file with
    embedding and label columns, or a GeoParquet patch-corpus folder (patches/*.parquet).

    \b
    Example:
      terrabit evaluate world/labelled.npz --codecs float32,int8,int4,binary,itq+binary -o eval
    """
    from rich.console import Console

    from terrabit.evaluate import (
        evaluate_data,
        load_input,
        parse_tasks,
        provenance,
        split_codec_list,
    )

    if out is not None:
        check_output(out, overwrite=overwrite, option="--output")
    specs: list[str] = []
    if codecs is not None or not codec_list:
        specs += split_codec_list(codecs or DEFAULT_CODECS)
    specs += [c.strip() for c in codec_list]
    task_list = parse_tasks(tasks)
    from terrabit.codecs import parse

    for spec in specs:
        parse(spec)  # a typo fails here, before the input is read
    data = load_input(
        input_path,
        embedding_col=embedding_col,
        label_col=label_col,
        split_col=split_col,
        test_fraction=test_fraction,
        seed=seed,
    )
    if recommend:
        _recommend(data, seed=seed, as_json=as_json)
        return
    quiet = bool((ctx.obj or {}).get("quiet"))
    err = Console(stderr=True)

    def log(message: str) -> None:
        if (ctx.obj or {}).get("verbose", 0) >= 1 and not quiet:
            err.print(f"[dim]{message}[/dim]")

    report = evaluate_data(data, specs, task_list, seed=seed, log=log)
    if out is not None:
        report.write(out, overwrite=overwrite)
        if not quiet:
            err.print(f"wrote {out}/report.md, results.json and plots")
    if as_json:
        echo_json(report.to_dict())
    else:
        console = Console(file=sys.stdout, width=max(160, Console().width))
        console.print(report.table())
        for line in provenance(report.dataset):
            console.print(line, markup=False, highlight=False, soft_wrap=True)


def _recommend(data: EvaluationData, *, seed: int, as_json: bool) -> None:
    """Print :func:`terrabit.codecs.auto.choose` on a seeded sample of the embeddings (the
    size publish samples), as a table or JSON, with the data it was measured on."""
    import numpy as np
    from rich.console import Console
    from rich.table import Table

    from terrabit.codecs.auto import choose
    from terrabit.corpus.options import PublishOptions
    from terrabit.evaluate import provenance

    x = np.concatenate([data.x_train, data.x_test]).astype(np.float32)
    rows = PublishOptions().sample_rows
    if x.shape[0] > rows:
        x = x[np.sort(np.random.default_rng(seed).choice(x.shape[0], rows, replace=False))]
    choice = choose(x, rerank=True, seed=seed)
    described = data.describe()
    described.pop("classes")
    described["rows_measured"] = int(x.shape[0])
    if as_json:
        echo_json(
            {
                "codec": choice.codec,
                "rerank": choice.rerank,
                "report": choice.report,
                "data": described,
            }
        )
        return
    table = Table(title="codes chosen by measurement (publish --codec auto --rerank auto)")
    columns = ("role", "spec", "bytes/row", "exemplar rows", "float query", "4-bit query")
    for column in (*columns, "recall@10 compared", "chosen"):
        table.add_column(column)
    keys = ("exemplar_recall_at_10", "float_recall_at_10", "float4_recall_at_10")
    for role, compared in (("code", "mean_recall_at_10"), ("rerank", "recall_at_10")):
        part = choice.report.get(role) or {}
        for cand in part.get("candidates", []):
            figures = [cand.get(key) for key in (*keys, compared)]
            table.add_row(
                role,
                cand["spec"],
                str(cand["bytes_per_row"]),
                *("" if f is None else f"{f:.3f}" for f in figures),
                "yes" if cand["spec"] == part.get("chosen") else "",
            )
    console = Console()
    console.print(table)
    if choice.report.get("fallback"):
        console.print(f"fallback: {choice.report['fallback']}")
    console.print(f"rule: {choice.report['rule']}")
    shortlist_by = (choice.report.get("rerank") or {}).get("shortlist_by")
    if shortlist_by:
        console.print(f"rerank shortlist: {shortlist_by}")
    for line in provenance(described):
        console.print(line, markup=False, highlight=False, soft_wrap=True)
    console.print(f"measured on a seeded sample of {x.shape[0]} of those rows")

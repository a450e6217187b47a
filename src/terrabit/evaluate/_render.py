"""Rendering of an :class:`~terrabit.evaluate.report.EvaluationReport`: table, Markdown, plots."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from terrabit.evaluate.data import provenance

if TYPE_CHECKING:
    from rich.table import Table

    from terrabit.evaluate.report import EvaluationReport

__all__ = ["PLOT_FILES", "available_plots", "markdown", "plots", "rich_table"]

#: File names of the plots (each written only when its data exists).
PLOT_FILES = {
    "pareto_knn": "pareto_knn.png",
    "pareto_probe": "pareto_probe.png",
    "recall": "recall_at_k.png",
    "f1_drop": "f1_drop_heatmap.png",
}


def _pct(v: Any, digits: int = 1) -> str:
    return "–" if v is None else f"{100 * v:.{digits}f}"


def _num(v: Any, fmt: str = "{:.3f}") -> str:
    return "–" if v is None else fmt.format(v)


def _ci(v: Any) -> str:
    return "–" if v is None else f"[{100 * v[0]:+.1f}, {100 * v[1]:+.1f}]"


def _p(v: Any) -> str:
    if v is None:
        return "–"
    return f"{v:.2g}" if v < 0.01 else f"{v:.2f}"


def _rate(v: Any) -> str:
    if v is None:
        return "–"
    for unit, div in (("M", 1e6), ("k", 1e3)):
        if v >= div:
            return f"{v / div:.1f}{unit}"
    return f"{v:.0f}"


def _columns(report: EvaluationReport) -> list[tuple[str, Any]]:
    tasks = set(report.tasks)
    has_ham = any(r["knn_hamming_accuracy"] is not None for r in report.results)
    cols: list[tuple[str, Any]] = [
        ("codec", lambda r: r["codec"]),
        ("B/vec", lambda r: str(r["bytes_per_vector"])),
    ]
    if "storage" in tasks:
        cols += [
            ("disk B/row", lambda r: _num(r["disk_bytes_per_row"], "{:.1f}")),
            ("disk ×", lambda r: _num(r["disk_ratio"], "{:.2f}")),
        ]
    if "knn" in tasks:
        cols.append(("kNN %", lambda r: _pct(r["knn_accuracy"])))
        if has_ham:
            cols.append(("kNN Ham %", lambda r: _pct(r["knn_hamming_accuracy"])))
    if "probe" in tasks:
        cols += [
            ("probe %", lambda r: _pct(r["probe_accuracy"])),
            ("C", lambda r: _num(r["probe_C"], "{:g}")),
        ]
    if "significance" in tasks:
        cols += [
            (
                "Δ kNN % [95% CI]",
                lambda r: f"{_pct(r['accuracy_delta'], 2)} {_ci(r['accuracy_delta_ci'])}",
            ),
            ("McNemar p", lambda r: _p(r["mcnemar_p"])),
            (
                "worst class (ΔF1)",
                lambda r: (
                    "–"
                    if r["worst_class"] is None
                    else f"{r['worst_class']} ({r['worst_class_f1_drop']:+.3f})"
                ),
            ),
        ]
    if "recall" in tasks:
        cols += [
            ("R@10 cos", lambda r: _num(r["recall_at_10_cosine"])),
            ("R@10 L2", lambda r: _num(r["recall_at_10_euclidean"])),
        ]
        if any(r["recall_at_10_float_query"] is not None for r in report.results):
            cols.append(("R@10 float q", lambda r: _num(r["recall_at_10_float_query"])))
    if "speed" in tasks:
        cols += [
            ("encode/s", lambda r: _rate(r["encode_per_s"])),
            ("QPS", lambda r: _rate(r["search_qps"])),
        ]
    return cols


def rich_table(report: EvaluationReport) -> Table:
    """The per-codec summary as a rich table."""
    from rich.table import Table

    ds = report.dataset
    table = Table(
        title=f"terrabit evaluate: {ds.get('n_train')} train / {ds.get('n_test')} test, "
        f"d={ds.get('dim')}, {ds.get('n_classes')} classes"
    )
    cols = _columns(report)
    for i, (name, _) in enumerate(cols):
        table.add_column(name, justify="left" if i == 0 else "right", no_wrap=i == 0)
    for row in report.results:
        table.add_row(*(fn(row) for _, fn in cols))
    return table


def markdown(report: EvaluationReport) -> str:
    """The whole report as Markdown."""
    ds = report.dataset
    lines = [
        "# terrabit evaluate report",
        "",
        "## Data",
        "",
        *(f"- {line}" for line in provenance(ds)[:2]),
        *(f"- **{line}**" for line in provenance(ds)[2:]),
        f"- {ds.get('n_classes')} classes; seed {report.seed}; tasks: {', '.join(report.tasks)}",
        "",
        "Every codec is fitted once on the training rows. kNN: k = 5, cosine, on decoded "
        "vectors (Hamming codecs also by Hamming distance on raw bits). Δ and McNemar compare "
        "each codec's kNN predictions with float32's on the same test rows (exact binomial "
        "McNemar; paired bootstrap 95 % CI). Recall@k: held-out test queries against the "
        "training rows, codec neighbours vs exact float32 neighbours (Hamming codecs searched "
        "by Hamming).",
        "",
        "## Summary",
        "",
    ]
    cols = _columns(report)
    lines.append("| " + " | ".join(name for name, _ in cols) + " |")
    lines.append("|" + "|".join("---" if i == 0 else "---:" for i in range(len(cols))) + "|")
    for row in report.results:
        lines.append("| " + " | ".join(str(fn(row)).replace("|", "\\|") for _, fn in cols) + " |")
    if report.baseline.get("knn_accuracy") is not None:
        lines += [
            "",
            f"float32 kNN accuracy (reference): {_pct(report.baseline['knn_accuracy'], 2)} %",
        ]
    if "significance" in report.tasks and report.results:
        lines += ["", "## Significance against float32", ""]
        for row in report.results:
            if row["mcnemar_p"] is None:
                continue
            verdict = "indistinguishable" if row["mcnemar_p"] > 0.05 else "different"
            text = (
                f"- `{row['codec']}`: Δ {_pct(row['accuracy_delta'], 2)} pp "
                f"{_ci(row['accuracy_delta_ci'])}, McNemar p = {_p(row['mcnemar_p'])} "
                f"(b = {row['mcnemar_b']}, c = {row['mcnemar_c']}: {verdict} at 0.05); "
                f"worst class {row['worst_class']} (F1 {row['worst_class_f1_drop']:+.3f})"
            )
            if row["mcnemar_p_hamming"] is not None:
                text += (
                    f"; Hamming kNN Δ {_pct(row['accuracy_delta_hamming'], 2)} pp, "
                    f"p = {_p(row['mcnemar_p_hamming'])}"
                )
            lines.append(text)
    recall_rows = [r for r in report.results if r["recall"]]
    if recall_rows:
        for metric in ("cosine", "euclidean"):
            ks = list(recall_rows[0]["recall"][metric])
            lines += ["", f"## Recall@k against float32 ({metric})", ""]
            lines.append("| codec | " + " | ".join(f"@{k}" for k in ks) + " |")
            lines.append("|---|" + "|".join("---:" for _ in ks) + "|")
            for r in recall_rows:
                vals = " | ".join(f"{r['recall'][metric][k]:.3f}" for k in ks)
                lines.append(f"| {r['codec']} | {vals} |")
    if report.intrinsic_dim:
        idd = report.intrinsic_dim
        lines += [
            "",
            "## Intrinsic dimension",
            "",
            f"On {idd['n_samples']} training rows ({idd['duplicates_removed']} exact "
            f"duplicates removed first): MLE (Levina-Bickel, k = 20) {idd['mle']:.1f}, "
            f"TwoNN {idd['twonn']:.1f}, local PCA (k = 100, Fukunaga-Olsen) {idd['lpca']:.1f}.",
            "",
            "| PCA components | " + " | ".join(idd["pca_cumulative_variance"]) + " |",
            "|---|" + "|".join("---:" for _ in idd["pca_cumulative_variance"]) + "|",
            "| cumulative variance | "
            + " | ".join(f"{v:.3f}" for v in idd["pca_cumulative_variance"].values())
            + " |",
        ]
    shown = available_plots(report)
    if shown:
        lines += ["", "## Plots", ""]
        lines += [f"![{key}]({PLOT_FILES[key]})" for key in shown]
    return "\n".join(lines) + "\n"


def available_plots(report: EvaluationReport) -> list[str]:
    """Keys of :data:`PLOT_FILES` whose data the report holds."""
    rows = report.results
    has = {
        "pareto_knn": any(r["knn_accuracy"] is not None for r in rows),
        "pareto_probe": any(r["probe_accuracy"] is not None for r in rows),
        "recall": any(r["recall"] for r in rows),
        "f1_drop": any(r["per_class_f1"] is not None for r in rows)
        and report.baseline.get("per_class_f1") is not None,
    }
    return [key for key in PLOT_FILES if has[key]]


def _pareto_plot(report: EvaluationReport, key: str, ylabel: str, path: Path) -> bool:
    from matplotlib.figure import Figure

    from terrabit.evaluate.report import pareto_front

    pts: list[tuple[float, float, str]] = []
    for r in report.results:
        if r[key] is not None:
            pts.append((float(r["bytes_per_vector"]), float(r[key]), r["codec"]))
        if key == "knn_accuracy" and r["knn_hamming_accuracy"] is not None:
            pts.append(
                (
                    float(r["bytes_per_vector"]),
                    float(r["knn_hamming_accuracy"]),
                    f"{r['codec']} (Hamming)",
                )
            )
    if not pts:
        return False
    cost = np.array([p[0] for p in pts])
    acc = np.array([p[1] for p in pts])
    front = pareto_front(cost, acc)
    fig = Figure(figsize=(8, 5.5), dpi=120)
    ax = fig.add_subplot()
    ax.scatter(cost[~front], 100 * acc[~front], color="#9aa5b1", s=36, label="dominated")
    order = np.argsort(cost[front])
    ax.plot(
        cost[front][order],
        100 * acc[front][order],
        "-o",
        color="#d1495b",
        lw=2,
        ms=7,
        label="Pareto front",
        drawstyle="steps-post",
    )
    for c, a, name in pts:
        ax.annotate(name, (c, 100 * a), textcoords="offset points", xytext=(5, 4), fontsize=8)
    ref = report.baseline.get("knn_accuracy") if key == "knn_accuracy" else None
    if ref is not None:
        ax.axhline(100 * ref, color="#555555", ls="--", lw=1, label="float32 reference")
    ax.set_xscale("log", base=2)
    ax.set_xlabel("bytes per vector (log scale)")
    ax.set_ylabel(ylabel)
    ax.set_title(f"Storage vs {ylabel}")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(path)
    return True


def _recall_plot(report: EvaluationReport, path: Path) -> bool:
    from matplotlib.figure import Figure

    rows = [r for r in report.results if r["recall"]]
    if not rows:
        return False
    fig = Figure(figsize=(11, 4.8), dpi=120)
    axes = fig.subplots(1, 2, sharey=True)
    for ax, metric in zip(axes, ("cosine", "euclidean"), strict=True):
        for r in rows:
            ks = [int(k) for k in r["recall"][metric]]
            ax.plot(ks, list(r["recall"][metric].values()), "-o", ms=4, label=r["codec"])
        ax.set_xscale("log")
        ax.set_xticks(ks, [str(k) for k in ks])
        ax.set_xlabel("k")
        ax.set_title(f"recall@k vs float32 ({metric})")
        ax.grid(True, alpha=0.3)
    axes[0].set_ylabel("recall@k")
    axes[0].set_ylim(0, 1.02)
    axes[1].legend(fontsize=7, loc="lower right", ncol=2)
    fig.tight_layout()
    fig.savefig(path)
    return True


def _f1_plot(report: EvaluationReport, path: Path) -> bool:
    from matplotlib.figure import Figure

    rows = [r for r in report.results if r["per_class_f1"] is not None]
    base = report.baseline.get("per_class_f1")
    if not rows or base is None:
        return False
    drop = np.array([np.asarray(base) - np.asarray(r["per_class_f1"]) for r in rows])
    classes = report.dataset.get("classes", [str(i) for i in range(drop.shape[1])])
    lim = max(float(np.abs(drop).max()), 1e-3)
    fig = Figure(figsize=(max(6, 0.6 * len(classes) + 3), max(3, 0.35 * len(rows) + 1.8)), dpi=120)
    ax = fig.add_subplot()
    im = ax.imshow(drop, cmap="RdBu_r", vmin=-lim, vmax=lim, aspect="auto")
    ax.set_xticks(range(len(classes)), classes, rotation=45, ha="right", fontsize=8)
    ax.set_yticks(range(len(rows)), [r["codec"] for r in rows], fontsize=8)
    if drop.size <= 400:
        for (i, j), v in np.ndenumerate(drop):
            colour = "white" if abs(v) > 0.6 * lim else "black"
            ax.text(j, i, f"{v:+.2f}", ha="center", va="center", fontsize=6, color=colour)
    fig.colorbar(im, ax=ax, label="F1 drop vs float32 (kNN)")
    ax.set_title("Per-class F1 drop (red: worse than float32)")
    fig.tight_layout()
    fig.savefig(path)
    return True


def plots(report: EvaluationReport, directory: Path) -> list[Path]:
    """Write every plot whose data exists into ``directory``; return the written paths."""
    written = []
    jobs = (
        ("pareto_knn", lambda p: _pareto_plot(report, "knn_accuracy", "kNN accuracy (%)", p)),
        ("pareto_probe", lambda p: _pareto_plot(report, "probe_accuracy", "probe accuracy (%)", p)),
        ("recall", lambda p: _recall_plot(report, p)),
        ("f1_drop", lambda p: _f1_plot(report, p)),
    )
    for key, job in jobs:
        path = directory / PLOT_FILES[key]
        if job(path):
            written.append(path)
    return written

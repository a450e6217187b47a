"""Quick models of a polygon attribute from its zonal features (PCA, OLS, logistic).

What the census-block study did: standardize the feature columns, keep the first
``pca`` principal components, then

* ``regression``: OLS of the target (optionally ``log1p``) on the components. Its
  in-sample R² is an **upper bound** of what the features explain (fitted and scored on
  the same rows); a 5-fold cross-validated R² is reported beside it.
* ``classification``: logistic regression, stratified 5-fold cross-validated accuracy
  ± std (scaler and PCA fitted inside each fold), against the majority-class baseline.

Both report the Pearson correlation of each component with every numeric attribute.

Examples
--------
>>> import numpy as np, pandas as pd
>>> rng = np.random.default_rng(0)
>>> x = rng.normal(size=(200, 6))
>>> frame = pd.DataFrame({f"A{i:02d}_mean": x[:, i] for i in range(6)})
>>> frame["UR"] = np.where(x[:, 0] + 0.3 * rng.normal(size=200) > 0, "U", "R")
>>> out = fit_models(frame, target="UR", pca=6)
>>> out["task"], out["accuracy"] > out["baseline"] + 0.2
('classification', True)
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from terrabit._atomic import atomic_dir
from terrabit._validation import check_choice, check_int_range
from terrabit.errors import InvalidInputError
from terrabit.zonal.features import FEATURE_PATTERN, feature_matrix

__all__ = ["fit_models", "write_report"]

_FOLDS = 5


def fit_models(
    frame: Any,
    *,
    target: str,
    task: Literal["regression", "classification"] | None = None,
    pca: int = 10,
    log: bool = False,
    seed: int = 0,
) -> dict[str, Any]:
    """Fit the quick models of ``target`` on the PCA of the feature columns of ``frame``.

    Parameters
    ----------
    frame : DataFrame
        A ``terrabit zonal stats`` table (feature columns ``*_mean``, ``*_std``, …).
    target : str
        Column to explain.
    task : {"regression", "classification"}, optional
        Default: regression for a numeric target with more than 10 distinct values.
    pca : int
        Principal components kept.
    log : bool
        Regress ``log1p(target)`` (counts such as population); needs a target >= 0.
    seed : int
        Seed of the cross-validation folds.

    Returns
    -------
    dict
        ``task``, ``rows``, ``dropped`` (rows without complete features or target),
        ``explained_variance`` (of the kept components), ``r2_in_sample`` and
        ``r2_cv`` (regression) or ``accuracy``, ``accuracy_std``, ``baseline`` and
        ``classes`` (classification), and ``correlations`` (component -> variable -> r).
    """
    from sklearn.decomposition import PCA
    from sklearn.linear_model import LinearRegression, LogisticRegression
    from sklearn.model_selection import KFold, StratifiedKFold, cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if target not in frame.columns:
        raise InvalidInputError(
            f"target {target!r} is not a column; the table has {list(frame.columns)[:10]}"
            f"{' …' if len(frame.columns) > 10 else ''}",
            params=("target",),
        )
    names, x, rows = feature_matrix(frame)
    y_all = frame[target].iloc[rows]
    numeric = pd.api.types.is_numeric_dtype(y_all)
    if task is None:
        chosen = "regression" if numeric and y_all.nunique() > 10 else "classification"
    else:
        chosen = check_choice("task", task, ("regression", "classification"))
    keep = y_all.notna().to_numpy()
    x, y_all, rows = x[keep], y_all[keep], rows[keep]
    k = check_int_range("pca", pca, 1, min(len(names), len(rows) - 1) if len(rows) > 2 else 1)
    pipe_pca = make_pipeline(StandardScaler(), PCA(n_components=k, random_state=seed))
    scores = pipe_pca.fit_transform(x)
    out: dict[str, Any] = {
        "task": chosen,
        "target": target,
        "rows": len(rows),
        "dropped": len(frame) - len(rows),
        "components": k,
        "explained_variance": float(pipe_pca[-1].explained_variance_ratio_.sum()),
    }
    if chosen == "regression":
        if not numeric:
            raise InvalidInputError(
                f"target {target!r} is not numeric; use task='classification'",
                params=("target", "task"),
            )
        y = y_all.to_numpy(dtype=np.float64)
        if log:
            if (y < 0).any():
                raise InvalidInputError(
                    f"log=True needs a target >= 0; {target!r} has negatives", params=("log",)
                )
            y = np.log1p(y)
        ols = LinearRegression().fit(scores, y)
        out["r2_in_sample"] = float(ols.score(scores, y))
        folds = KFold(_FOLDS, shuffle=True, random_state=seed)
        model = make_pipeline(
            StandardScaler(), PCA(n_components=k, random_state=seed), LinearRegression()
        )
        cv = cross_val_score(model, x, y, cv=folds, scoring="r2")
        out["r2_cv"] = float(cv.mean())
        out["r2_cv_std"] = float(cv.std())
        out["log"] = log
    else:
        labels = y_all.astype(str).to_numpy()
        classes, counts = np.unique(labels, return_counts=True)
        if len(classes) < 2 or counts.min() < _FOLDS:
            raise InvalidInputError(
                f"target {target!r} needs at least 2 classes with {_FOLDS} rows each for "
                f"stratified {_FOLDS}-fold validation; counts "
                f"{dict(zip(classes.tolist(), counts.tolist(), strict=True))}",
                params=("target",),
            )
        folds_s = StratifiedKFold(_FOLDS, shuffle=True, random_state=seed)
        model = make_pipeline(
            StandardScaler(),
            PCA(n_components=k, random_state=seed),
            LogisticRegression(max_iter=2000),
        )
        acc = cross_val_score(model, x, labels, cv=folds_s, scoring="accuracy")
        base = []
        for train, test in folds_s.split(x, labels):
            vals, cnt = np.unique(labels[train], return_counts=True)
            base.append(float(np.mean(labels[test] == vals[np.argmax(cnt)])))
        out.update(
            {
                "accuracy": float(acc.mean()),
                "accuracy_std": float(acc.std()),
                "baseline": float(np.mean(base)),
                "classes": {str(c): int(n) for c, n in zip(classes, counts, strict=True)},
            }
        )
    out["correlations"] = _correlations(frame.iloc[rows], scores, target)
    return out


def _correlations(frame: Any, scores: np.ndarray, target: str) -> dict[str, dict[str, float]]:
    """Pearson r of each component with each numeric attribute (and the target's classes)."""
    variables: dict[str, np.ndarray] = {}
    for col in frame.columns:
        if col == "geometry" or FEATURE_PATTERN.match(str(col)):
            continue
        series = frame[col]
        if pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):
            variables[str(col)] = series.to_numpy(dtype=np.float64)
    if target in frame.columns and not pd.api.types.is_numeric_dtype(frame[target]):
        labels = frame[target].astype(str)
        for value in sorted(labels.unique())[:10]:
            variables[f"{target}=={value}"] = (labels == value).to_numpy(dtype=np.float64)
    table: dict[str, dict[str, float]] = {}
    for i in range(scores.shape[1]):
        row: dict[str, float] = {}
        for name, v in variables.items():
            ok = np.isfinite(v)
            a, b = scores[ok, i], v[ok]
            r = np.nan if a.std() == 0 or b.std() == 0 else float(np.corrcoef(a, b)[0, 1])
            row[name] = r
        table[f"PC{i + 1}"] = row
    return table


def write_report(
    result: dict[str, Any], frame: Any, out_dir: str | os.PathLike[str], *, overwrite: bool = False
) -> Path:
    """Write ``report.md`` (+ ``pc1_map.png``, ``correlations.png``) into ``out_dir``, atomically.

    Examples
    --------
    >>> import tempfile, pathlib, numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> frame = pd.DataFrame({f"A{i:02d}_mean": rng.normal(size=60) for i in range(4)})
    >>> frame["POP"] = rng.integers(0, 100, 60)
    >>> result = fit_models(frame, target="POP", pca=2)
    >>> out = write_report(result, frame, pathlib.Path(tempfile.mkdtemp()) / "report")
    >>> sorted(p.name for p in out.iterdir())
    ['correlations.png', 'report.md']
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with atomic_dir(out_dir, overwrite=overwrite) as tmp:
        lines = [f"# Zonal model of `{result['target']}`", ""]
        lines.append(
            f"{result['rows']} polygons with complete features ({result['dropped']} dropped); "
            f"PCA-{result['components']} keeps {100 * result['explained_variance']:.1f} % of "
            "the variance of the standardized features."
        )
        lines.append("")
        if result["task"] == "regression":
            target = f"log1p({result['target']})" if result.get("log") else result["target"]
            lines += [
                f"- OLS of {target} on the components: in-sample R² = "
                f"{result['r2_in_sample']:.3f} (an **upper bound**: fitted and scored on "
                "the same rows)",
                f"- {_FOLDS}-fold cross-validated R² = {result['r2_cv']:.3f} ± "
                f"{result['r2_cv_std']:.3f}",
            ]
        else:
            lines += [
                f"- logistic regression, stratified {_FOLDS}-fold accuracy = "
                f"{100 * result['accuracy']:.1f} % ± {100 * result['accuracy_std']:.1f} %",
                f"- majority-class baseline = {100 * result['baseline']:.1f} % "
                f"(classes {result['classes']})",
            ]
        corr = pd.DataFrame(result["correlations"]).T
        lines += ["", "## Pearson r, components × variables", ""]
        if corr.empty or corr.shape[1] == 0:
            lines.append("(no numeric attribute to correlate)")
        else:
            cols = list(corr.columns)
            lines.append("| PC | " + " | ".join(cols) + " |")
            lines.append("|---|" + "---|" * len(cols))
            for pc, row in corr.iterrows():
                cells = " | ".join("" if math.isnan(v) else f"{v:+.2f}" for v in row)
                lines.append(f"| {pc} | {cells} |")
            fig, ax = plt.subplots(figsize=(1 + 0.6 * len(cols), 1 + 0.4 * len(corr)))
            im = ax.imshow(corr.to_numpy(dtype=float), cmap="RdBu_r", vmin=-1, vmax=1)
            ax.set_xticks(range(len(cols)), cols, rotation=45, ha="right")
            ax.set_yticks(range(len(corr)), list(corr.index))
            fig.colorbar(im, ax=ax, label="Pearson r")
            fig.tight_layout()
            fig.savefig(tmp / "correlations.png", dpi=100)
            plt.close(fig)
            lines += ["", "![correlations](correlations.png)"]
        if hasattr(frame, "geometry") and hasattr(frame, "plot"):
            _, x, rows = feature_matrix(frame)
            from sklearn.decomposition import PCA
            from sklearn.preprocessing import StandardScaler

            pc1 = PCA(n_components=1, random_state=0).fit_transform(
                StandardScaler().fit_transform(x)
            )
            shown = frame.iloc[rows].assign(PC1=pc1[:, 0])
            ax = shown.plot(column="PC1", cmap="viridis", legend=True, figsize=(7, 7))
            ax.set_title("PC1 of the zonal features")
            ax.figure.savefig(tmp / "pc1_map.png", dpi=100)
            plt.close(ax.figure)
            lines += ["", "![PC1 map](pc1_map.png)"]
        (tmp / "report.md").write_text("\n".join(lines) + "\n")
    return Path(out_dir)

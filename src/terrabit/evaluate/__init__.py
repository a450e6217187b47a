"""Measure what compressing embeddings costs: accuracy, significance, recall, storage, speed.

The entry point is :func:`evaluate` (the ``terrabit evaluate`` command); the metric
functions it combines are public too, each usable on plain arrays.

Examples
--------
>>> import numpy as np
>>> from terrabit.evaluate import evaluate, mcnemar
>>> rng = np.random.default_rng(0)
>>> x = rng.normal(size=(240, 16)).astype(np.float32); y = (x[:, 0] > 0).astype(int)
>>> report = evaluate(x[:180], y[:180], x[180:], y[180:], ["float32", "int8"], ["knn"])
>>> report.result("int8")["knn_accuracy"] > 0.7
True
"""

from terrabit.evaluate._neighbors import hamming_distances, search
from terrabit.evaluate.data import (
    EvaluationData,
    check_arrays,
    load_input,
    load_npz,
    load_parquet,
    provenance,
    spatial_split,
)
from terrabit.evaluate.intrinsic import (
    IntrinsicDimension,
    intrinsic_dimension,
    lpca_dimension,
    mle_dimension,
    pca_cumulative_variance,
    twonn_dimension,
)
from terrabit.evaluate.knn import (
    hamming_knn_accuracy,
    hamming_knn_predict,
    knn_accuracy,
    knn_predict,
)
from terrabit.evaluate.probe import ProbeResult, linear_probe, probe_accuracy
from terrabit.evaluate.recall import RECALL_KS, ground_truth, recall_at_k, recall_curve
from terrabit.evaluate.report import (
    TASKS,
    CodecLike,
    EvaluationReport,
    evaluate,
    evaluate_data,
    pareto_front,
    parse_tasks,
    split_codec_list,
)
from terrabit.evaluate.speed import encode_throughput, search_qps
from terrabit.evaluate.stats import (
    McNemarResult,
    bootstrap_delta_ci,
    mcnemar,
    per_class_f1,
    worst_class_drop,
)
from terrabit.evaluate.storage import disk_bytes_per_row

__all__ = [
    "RECALL_KS",
    "TASKS",
    "CodecLike",
    "EvaluationData",
    "EvaluationReport",
    "IntrinsicDimension",
    "McNemarResult",
    "ProbeResult",
    "bootstrap_delta_ci",
    "check_arrays",
    "disk_bytes_per_row",
    "encode_throughput",
    "evaluate",
    "evaluate_data",
    "ground_truth",
    "hamming_distances",
    "hamming_knn_accuracy",
    "hamming_knn_predict",
    "intrinsic_dimension",
    "knn_accuracy",
    "knn_predict",
    "linear_probe",
    "load_input",
    "load_npz",
    "load_parquet",
    "lpca_dimension",
    "mcnemar",
    "mle_dimension",
    "pareto_front",
    "parse_tasks",
    "pca_cumulative_variance",
    "per_class_f1",
    "probe_accuracy",
    "provenance",
    "recall_at_k",
    "recall_curve",
    "search",
    "search_qps",
    "spatial_split",
    "split_codec_list",
    "twonn_dimension",
    "worst_class_drop",
]

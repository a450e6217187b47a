"""k-nearest-neighbour classification accuracy on decoded vectors or on raw bit codes.

The vote matches :class:`sklearn.neighbors.KNeighborsClassifier` with uniform weights:
the most frequent label among the ``k`` nearest training rows, ties between labels broken
toward the smallest label; neighbours tied in distance are broken by training-row index.
"""

from __future__ import annotations

import numpy as np

from terrabit.evaluate._neighbors import Metric, search

__all__ = [
    "hamming_knn_accuracy",
    "hamming_knn_predict",
    "knn_accuracy",
    "knn_predict",
    "vote",
]


def vote(neighbor_labels: np.ndarray) -> np.ndarray:
    """Majority label of each row of ``neighbor_labels`` (ties: the smallest label).

    Examples
    --------
    >>> vote(np.array([[2, 1, 2], [0, 1, 2]])).tolist()
    [2, 0]
    """
    classes, inverse = np.unique(neighbor_labels, return_inverse=True)
    codes: np.ndarray = np.asarray(inverse).reshape(neighbor_labels.shape)
    n_rows, n_classes = codes.shape[0], classes.size
    counts = np.zeros((n_rows, n_classes), dtype=np.int64)
    np.add.at(counts, (np.repeat(np.arange(n_rows), codes.shape[1]), codes.ravel()), 1)
    return classes[np.argmax(counts, axis=1)]


def predict_from_neighbors(y_train: np.ndarray, neighbors: np.ndarray, k: int) -> np.ndarray:
    """Labels voted by the first ``k`` columns of a neighbour index matrix."""
    return vote(np.asarray(y_train)[neighbors[:, :k]])


def knn_predict(
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_test: np.ndarray,
    *,
    k: int = 5,
    metric: Metric = "cosine",
) -> np.ndarray:
    """Predict ``x_test`` labels by a k-NN vote over ``x_train`` (exact brute force).

    Examples
    --------
    >>> x = np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [0.1, 0.9]])
    >>> knn_predict(x, np.array([0, 0, 1, 1]), np.array([[1.0, 0.2]]), k=3).tolist()
    [0]
    """
    _, idx = search(x_train, x_test, k, metric=metric)
    return predict_from_neighbors(y_train, idx, k)


def knn_accuracy(
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_test: np.ndarray,
    y_test: np.ndarray,
    *,
    k: int = 5,
    metric: Metric = "cosine",
) -> float:
    """Accuracy of :func:`knn_predict` on ``(x_test, y_test)`` (k=5 cosine by default).

    Examples
    --------
    >>> x = np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [0.1, 0.9]])
    >>> knn_accuracy(x, np.array([0, 0, 1, 1]), x, np.array([0, 0, 1, 1]), k=1)
    1.0
    """
    pred = knn_predict(x_train, y_train, x_test, k=k, metric=metric)
    return float(np.mean(pred == np.asarray(y_test)))


def hamming_knn_predict(
    codes_train: np.ndarray, y_train: np.ndarray, codes_test: np.ndarray, *, k: int = 5
) -> np.ndarray:
    """k-NN vote by Hamming distance on bit-packed uint8 codes (ties: lowest train index).

    Examples
    --------
    >>> db = np.array([[0b1111_0000], [0b1110_0000], [0b0000_1111]], dtype=np.uint8)
    >>> hamming_knn_predict(db, np.array([0, 0, 1]), db[2:], k=1).tolist()
    [1]
    """
    _, idx = search(codes_train, codes_test, k, metric="hamming")
    return predict_from_neighbors(y_train, idx, k)


def hamming_knn_accuracy(
    codes_train: np.ndarray,
    y_train: np.ndarray,
    codes_test: np.ndarray,
    y_test: np.ndarray,
    *,
    k: int = 5,
) -> float:
    """Accuracy of :func:`hamming_knn_predict`.

    Examples
    --------
    >>> db = np.array([[0b1111_0000], [0b1110_0000], [0b0000_1111]], dtype=np.uint8)
    >>> hamming_knn_accuracy(db, np.array([0, 0, 1]), db, np.array([0, 0, 1]), k=1)
    1.0
    """
    pred = hamming_knn_predict(codes_train, y_train, codes_test, k=k)
    return float(np.mean(pred == np.asarray(y_test)))

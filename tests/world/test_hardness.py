"""The default world (d = 1024) is as hard as real models' embeddings: its variance spreads
over many principal directions and sign bits lose what they lose on real data. Oracles:
numpy's SVD, scikit-learn's exact cosine neighbours and faiss's binary index."""

from __future__ import annotations

import faiss
import numpy as np
import pyarrow.parquet as pq
import pytest
from sklearn.neighbors import NearestNeighbors

from terrabit.world.generate import WorldSummary, generate_world
from terrabit.world.hardness import binary_recall_at_10, pca_variance


@pytest.fixture(scope="module")
def wide(tmp_path_factory: pytest.TempPathFactory) -> tuple[np.ndarray, WorldSummary]:
    out = tmp_path_factory.mktemp("wide") / "w"
    summary = generate_world(out, n=6000, dim=1024, seed=0, aef=False)
    table = pq.read_table(out / "patches", columns=["embedding"])
    x = table.column("embedding").combine_chunks().values.to_numpy().reshape(table.num_rows, -1)
    return np.asarray(x, dtype=np.float32), summary


def test_variance_spreads_like_real_models(wide: tuple[np.ndarray, WorldSummary]) -> None:
    x, summary = wide
    power = np.linalg.svd(x.astype(np.float64) - x.mean(axis=0), compute_uv=False) ** 2
    kept = np.cumsum(power) / power.sum()
    assert kept[9] <= 0.60 and 0.55 <= kept[63] <= 0.85, (kept[9], kept[63])
    assert summary.pca_variance["10"] == pytest.approx(kept[9], abs=0.01)
    assert summary.pca_variance["64"] == pytest.approx(kept[63], abs=0.01)
    assert pca_variance(x, components=(10,))["10"] == pytest.approx(kept[9], abs=1e-4)


def test_sign_bits_recall_matches_faiss(wide: tuple[np.ndarray, WorldSummary]) -> None:
    """Sign bits' recall@10 (faiss IndexBinaryFlat on np.packbits(x > 0), sklearn cosine
    truth) lies near Clay v1.5's published 0.65, not near 1, and equals ours."""
    x, summary = wide
    rng = np.random.default_rng(0)
    order = rng.permutation(x.shape[0])
    q, db = x[order[:500]], x[order[500:]]
    truth = NearestNeighbors(n_neighbors=10, metric="cosine").fit(db).kneighbors(q)[1]
    index = faiss.IndexBinaryFlat(8 * ((x.shape[1] + 7) // 8))
    index.add(np.packbits(db > 0, axis=1))
    found = index.search(np.packbits(q > 0, axis=1), 10)[1]
    recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(found, truth, strict=True)])
    assert 0.59 <= recall <= 0.85, recall
    assert binary_recall_at_10(x, queries=500, seed=0) == pytest.approx(recall, abs=0.01)
    assert summary.binary_recall_at_10 is not None and 0.5 <= summary.binary_recall_at_10 <= 0.9

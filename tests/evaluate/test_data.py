"""Loading inputs: .npz, Parquet, GeoParquet patch folders; bad inputs name the problem."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from terrabit.errors import InvalidInputError
from terrabit.evaluate import check_arrays, load_input, load_npz, spatial_split


def test_npz_roundtrip_with_class_names(tmp_path, small, npz_writer) -> None:
    p = npz_writer(tmp_path / "s.npz", small, classes=["forest", "crop", "water"])
    d = load_npz(p)
    np.testing.assert_array_equal(d.x_train, small.x_train)
    np.testing.assert_array_equal(d.y_test, small.y_test)
    assert d.classes == ["forest", "crop", "water"]
    assert d.describe()["n_train"] == small.x_train.shape[0]


def test_npz_missing_keys_named(tmp_path, small) -> None:
    p = tmp_path / "bad.npz"
    np.savez(p, x_train=small.x_train, y_train=small.y_train)
    with pytest.raises(InvalidInputError, match=r"lacks key\(s\) x_test, y_test"):
        load_input(p)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((np.ones(5), [0] * 5, np.ones((2, 3)), [0, 1]), "x_train must be a 2-D array"),
        (
            (np.ones((5, 3)), [0] * 5, np.ones((2, 4)), [0, 1]),
            "x_train has 3 dims but x_test has 4",
        ),
        ((np.ones((5, 3)), [0] * 4, np.ones((2, 3)), [0, 1]), "y_train has 4 labels but x_train"),
        ((np.ones((5, 3)), None, np.ones((2, 3)), [0, 1]), "y_train is missing"),
        ((np.ones((5, 3)), [0] * 5, np.ones((2, 3)), [0.0, np.nan]), r"y_test has missing \(NaN\)"),
        ((np.ones((0, 3)), [], np.ones((2, 3)), [0, 1]), "at least one row"),
    ],
)
def test_bad_arrays(args, message) -> None:
    with pytest.raises(InvalidInputError, match=message):
        check_arrays(*args)


def test_nan_rows_named_first_ten() -> None:
    x = np.ones((30, 4))
    x[[2, 5, 7, 8, 9, 11, 12, 13, 14, 15, 20, 29], 1] = np.nan
    x[5, 0] = np.inf
    with pytest.raises(InvalidInputError) as info:
        check_arrays(x, [0] * 30, np.ones((2, 4)), [0, 1])
    assert (
        "x_train has NaN or inf in rows 2, 5, 7, 8, 9, 11, 12, 13, 14, 15 (first 10 of 12)"
        in str(info.value)
    )


def test_patch_folder_spatial_split(tmp_path, labelled, patch_writer) -> None:
    root = patch_writer(tmp_path / "world", labelled)
    d = load_input(root)
    n = labelled.x_train.shape[0] + labelled.x_test.shape[0]
    assert d.split == "spatial"
    assert d.x_train.shape[0] + d.x_test.shape[0] == n
    assert 0.15 < d.x_test.shape[0] / n < 0.4
    assert d.classes == sorted(["forest", "crop", "water", "urban", "grass"])
    again = load_input(root, seed=0)
    np.testing.assert_array_equal(again.x_test, d.x_test)
    other = load_input(root, seed=1)
    assert not np.array_equal(other.x_test[:5], d.x_test[:5])


def test_patch_list_column_and_split_column(tmp_path, small, patch_writer) -> None:
    root = patch_writer(tmp_path / "w", small, as_list=True)
    files = sorted((root / "patches").glob("*.parquet"))
    table = pq.read_table(files[0])
    split = ["test" if i % 4 == 0 else "train" for i in range(table.num_rows)]
    pq.write_table(table.append_column("split", pa.array(split)), tmp_path / "one.parquet")
    d = load_input(tmp_path / "one.parquet")
    assert d.split == "given"
    assert d.x_test.shape[0] == sum(s == "test" for s in split)


def test_spatial_split_keeps_blocks_whole() -> None:
    rng = np.random.default_rng(0)
    lon = np.r_[0.0, 16.0, rng.uniform(0, 16, 2000)]  # extent exactly 16: blocks of 1 degree
    lat = np.r_[0.0, 16.0, rng.uniform(0, 16, 2000)]
    test = spatial_split(lon, lat, test_fraction=0.25, seed=0)
    cell = np.floor(lon).astype(int) * 100 + np.floor(lat).astype(int)
    for c in np.unique(cell):
        assert len(set(test[cell == c])) == 1  # a block is all train or all test
    assert 0.24 <= test.mean() < 0.3


def test_parquet_bad_columns(tmp_path, small) -> None:
    emb = pa.array([[0.0, 1.0], [1.0], [0.5, 0.5]], pa.list_(pa.float32()))
    pq.write_table(pa.table({"embedding": emb, "label": ["a", "b", "a"]}), tmp_path / "r.parquet")
    with pytest.raises(InvalidInputError, match="different lengths; rows 1 differ"):
        load_input(tmp_path / "r.parquet")
    with pytest.raises(InvalidInputError, match="no column 'lab'; choose it with label_col"):
        load_input(tmp_path / "r.parquet", label_col="lab")
    emb = pa.array([[0.0, 1.0]] * 4, pa.list_(pa.float32()))
    pq.write_table(
        pa.table({"embedding": emb, "label": ["a", None, "b", "a"]}), tmp_path / "n.parquet"
    )
    with pytest.raises(InvalidInputError, match="missing labels in rows 1"):
        load_input(tmp_path / "n.parquet")
    with pytest.raises(InvalidInputError, match="does not exist"):
        load_input(tmp_path / "nope.npz")

"""The explorer's loop in the browser app (Chromium): label results with ✓ / ✗ (list and
map popup), failed examples marked and left out (never blocking), labels exported and
imported (GeoJSON, GeoParquet) with bad files explained.

Screenshots go to ``/tmp/terrabit-*.png`` (looked at when the UI changes).
"""

from __future__ import annotations

import io
import json
import math
import re
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq
import pytest
from appdriver import (
    K,
    assert_clean,
    hash_of,
    hash_params,
    open_app,
    python_search,
    result_rows,
    runs,
    status,
    wait_for_run,
)
from PIL import Image

import terrabit
from terrabit.search import search

playwright_api = pytest.importorskip("playwright.sync_api")


def chip_format(lon: float, lat: float) -> str:
    """A point as the chips write it ("8.375° S, 141.387° W")."""
    ns = "N" if lat >= 0 else "S"
    ew = "E" if lon >= 0 else "W"
    return f"{abs(lat):.3f}° {ns}, {abs(lon):.3f}° {ew}"


def chips(page: Any, which: str) -> Any:
    return page.locator(f"[data-testid={which}] .chip")


@pytest.fixture(scope="module")
def footprints(small_corpus: Path) -> dict[str, np.ndarray]:
    """Every row's id and bbox (the footprints are axis-aligned squares)."""
    with terrabit.open(small_corpus) as corpus:
        table = corpus.read(None, columns=["id", "bbox"])
    b = table.column("bbox").combine_chunks()
    return {
        "id": np.asarray(table.column("id").to_pylist()),
        "box": np.column_stack([b.field(f).to_numpy() for f in ("xmin", "ymin", "xmax", "ymax")]),
    }


def gap_point(footprints: dict[str, np.ndarray], near: tuple[float, float]) -> tuple[float, float]:
    """A point near `near` that no footprint covers (between the patches)."""
    box = footprints["box"]
    for step in range(1, 200):
        lon, lat = round(near[0] + 0.0031 * step, 6), round(near[1] + 0.0017 * step, 6)
        covered = (box[:, 0] <= lon) & (lon <= box[:, 2]) & (box[:, 1] <= lat) & (lat <= box[:, 3])
        if not covered.any():
            return lon, lat
    raise AssertionError("no gap near the point")


def with_points(q: dict[str, Any], key: str, points: list[tuple[float, float]]) -> str:
    return f"&{key}=" + ";".join(f"{lon:g},{lat:g}" for lon, lat in points)


# ------------------------------------------------------------------------ labelling


def test_check_and_cross_make_results_examples(
    page: Any, app_url: str, small_corpus: Path, query: dict
) -> None:
    """✓ on a row adds it as a positive (by id), ✗ as a negative; the list, the map popup
    and the chips agree, and the search equals Python's with those examples."""
    open_app(page, app_url, hash_of(query))
    assert page.evaluate("() => document.body.dataset.state") == "done", status(page)
    rows = result_rows(page)
    first, second = rows[0][0], rows[1][0]
    # every row has ✓ and ✗, and shows its year
    assert page.locator("[data-testid=result-row] [data-testid=mark-positive]").count() == K
    assert page.locator("[data-testid=result-row] [data-testid=mark-negative]").count() == K
    assert page.locator("[data-testid=result-row] .what").first.inner_text()[:4] in ("2023", "2024")
    before = runs(page)
    page.locator("[data-testid=result-row]").nth(1).locator("[data-testid=mark-positive]").click()
    assert chips(page, "positives").count() == 2
    assert hash_params(page)["ids"] == second
    assert wait_for_run(page, before) == "done", status(page)
    assert second not in [i for i, _ in result_rows(page)]  # an example is not a result
    assert second in chips(page, "positives").nth(1).inner_text()
    # the map popup of a result (pinned by a click in the list) has ✓ and ✗ too
    page.locator("[data-testid=result-row]").first.click()
    popup = page.locator(".maplibregl-popup [data-testid=popup]")
    popup.wait_for()
    target = result_rows(page)[0][0]
    assert target in popup.inner_text()
    before = runs(page)
    popup.locator("[data-testid=mark-negative]").click()
    assert chips(page, "negatives").count() == 1
    assert hash_params(page)["nids"] == target
    assert wait_for_run(page, before) == "done", status(page)
    with terrabit.open(small_corpus) as corpus:
        expected = search(
            corpus, query["bbox"], positives=[query["pos"], second], negatives=[target], k=K
        )
    assert result_rows(page) == [(r["id"], r["rank"]) for r in expected.to_json()["results"]]
    assert first != target or first not in [i for i, _ in result_rows(page)]
    # chips show their state: resolved to a row
    states = page.locator("[data-testid=positives] .chip, [data-testid=negatives] .chip")
    assert states.evaluate_all("els => els.map(e => e.dataset.state)") == ["resolved"] * 3
    page.set_viewport_size({"width": 1280, "height": 800})
    page.locator("[data-testid=result-row]").nth(3).click()
    page.wait_for_timeout(900)
    page.screenshot(path="/tmp/terrabit-labels-popup.png")
    assert_clean(page)


def test_failed_examples_are_marked_and_do_not_block(
    page: Any, app_url: str, small_corpus: Path, query: dict, footprints: dict
) -> None:
    """A click between patches and one outside the data: both marked failed with the
    chip's own format; the search runs with the good example; outlier needs none."""
    gap = gap_point(footprints, query["pos"])
    outside = (0.0, -89.5)
    with terrabit.open(small_corpus) as corpus:
        assert corpus.select_shards((*outside, *outside)).num_rows == 0
    open_app(page, app_url, hash_of(query) + with_points(query, "neg", [gap, outside]))
    assert page.evaluate("() => document.body.dataset.state") == "done", status(page)
    failed = page.locator("[data-testid=negatives] .chip[data-state=failed]")
    assert failed.count() == 2
    texts = page.locator("[data-testid=example-error]").all_inner_texts()
    # between the patches: in the (synthetic) corpus's ocean, or on land
    assert (
        f"Nothing at {chip_format(*gap)}: that is sea, with no patch of this corpus" in texts[0]
        or f"No patch at {chip_format(*gap)}: it falls between this corpus's patches" in texts[0]
    )
    assert f"Nothing at {chip_format(*outside)}: it lies outside this corpus's data" in texts[1]
    assert "-89.5" not in " ".join(texts) and f"{gap[0]:g},{gap[1]:g}" not in " ".join(texts)
    message = page.locator("[data-testid=message]").inner_text()
    assert "2 examples failed and were left out" in message
    # the search ran with the good example only
    assert result_rows(page) == [
        (r["id"], r["rank"]) for r in python_search(small_corpus, query).to_json()["results"]
    ]
    page.set_viewport_size({"width": 1280, "height": 900})
    page.screenshot(path="/tmp/terrabit-failed-examples.png")
    # the URL keeps them (a shared link shows the same marks); Retry tries again
    assert len(hash_params(page)["neg"].split(";")) == 2
    before = runs(page)
    page.locator("[data-testid=retry-example]").first.click()
    assert wait_for_run(page, before) == "done", status(page)
    assert failed.count() == 2
    assert_clean(page)


def test_failed_only_example_does_not_block_the_outlier_view(
    page: Any, app_url: str, small_corpus: Path, query: dict, footprints: dict
) -> None:
    gap = gap_point(footprints, query["pos"])
    fragment = "#bbox=" + ",".join(f"{v:g}" for v in query["bbox"])
    fragment += with_points(query, "pos", [gap]) + f"&view=outlier&k={K}"
    open_app(page, app_url, fragment)
    assert page.evaluate("() => document.body.dataset.state") == "done", status(page)
    assert chips(page, "positives").first.get_attribute("data-state") == "failed"
    with terrabit.open(small_corpus) as corpus:
        expected = search(corpus, query["bbox"], view="outlier", k=K)
    shown = [(r["id"], r["rank"]) for r in expected.to_json()["results"]][: len(result_rows(page))]
    assert result_rows(page) == shown
    # the topk view needs the failed positive: said, not a blocked app
    page.select_option("#view", "topk")
    page.wait_for_function("() => document.body.dataset.state === 'idle'")
    assert "Every positive example failed" in status(page)
    assert_clean(page)


def test_an_example_whose_fetch_fails_is_marked(
    page: Any, app_server: Any, small_corpus: Path, query: dict, footprints: dict
) -> None:
    """A far positive whose shard answers 500: marked failed, the rest searched."""
    x = (footprints["box"][:, 0] + footprints["box"][:, 2]) / 2
    y = (footprints["box"][:, 1] + footprints["box"][:, 3]) / 2
    far = int(np.flatnonzero(np.abs(x - query["pos"][0]) > 40)[0])
    point = (round(float(x[far]), 6), round(float(y[far]), 6))
    with terrabit.open(small_corpus) as corpus:
        shard_paths = corpus.select_shards((*point, *point)).column("path").to_pylist()
    broken = {"/corpus/" + p for p in shard_paths}
    url = app_server(fail=lambda path: 500 if path in broken else None)
    good = "pos={:g},{:g}".format(*query["pos"])
    open_app(page, url, hash_of(query).replace(good, good + ";{:g},{:g}".format(*point)))
    assert page.evaluate("() => document.body.dataset.state") == "done", status(page)
    chip = chips(page, "positives").nth(1)
    assert chip.get_attribute("data-state") == "failed"
    assert f"Could not read the patch at {chip_format(*point)}" in chip.inner_text()
    assert result_rows(page) == [
        (r["id"], r["rank"]) for r in python_search(small_corpus, query).to_json()["results"]
    ]


# --------------------------------------------------------------------------- labels


def test_labels_export_and_import(
    page: Any, app_url: str, small_corpus: Path, query: dict, tmp_path: Path
) -> None:
    gpd = pytest.importorskip("geopandas")
    open_app(page, app_url, hash_of(query))
    before = runs(page)
    page.locator("[data-testid=result-row]").nth(0).locator("[data-testid=mark-negative]").click()
    assert wait_for_run(page, before) == "done", status(page)
    with page.expect_download() as info:
        page.locator("[data-testid=export-labels]").click()
    path = tmp_path / "labels.geojson"
    info.value.save_as(path)
    data = json.loads(path.read_text())
    labels = {f["properties"]["id"]: f["properties"]["label"] for f in data["features"]}
    assert sorted(labels.values()) == ["negative", "positive"]
    neg_id = hash_params(page)["nids"]
    assert labels[neg_id] == "negative"
    with page.expect_download() as info:
        page.locator("[data-testid=export-labels-parquet]").click()
    pq_path = tmp_path / "labels.parquet"
    info.value.save_as(pq_path)
    frame = gpd.read_parquet(pq_path)
    assert frame.crs is not None and frame.crs.equals("OGC:CRS84")
    assert dict(zip(frame["id"], frame["label"], strict=True)) == labels
    # the footprints are the corpus's own
    with terrabit.open(small_corpus) as corpus:
        table = corpus.read(None, columns=["id", "geometry"])
    shapely = pytest.importorskip("shapely")
    geoms = shapely.from_wkb(table.column("geometry"))
    truth = dict(zip(table.column("id").to_pylist(), geoms, strict=True))
    assert all(truth[i].equals(g) for i, g in zip(frame["id"], frame.geometry, strict=True))

    # a fresh page with the region only: importing the labels restores the examples
    region_only = "#bbox=" + ",".join(f"{v:g}" for v in query["bbox"]) + f"&k={K}"
    for file in (path, pq_path):
        open_app(page, app_url + "?fresh=" + file.suffix, region_only)
        before = runs(page)
        page.locator("[data-testid=import-labels]").set_input_files(str(file))
        assert wait_for_run(page, before) == "done", status(page)
        assert "Imported 2 label(s)" in page.locator("[data-testid=labels-message]").inner_text()
        pos_id = next(i for i, v in labels.items() if v == "positive")
        with terrabit.open(small_corpus) as corpus:
            expected = search(corpus, query["bbox"], positives=[pos_id], negatives=[neg_id], k=K)
        assert result_rows(page) == [(r["id"], r["rank"]) for r in expected.to_json()["results"]]
    page.set_viewport_size({"width": 1280, "height": 900})
    page.screenshot(path="/tmp/terrabit-labels-imported.png")
    assert_clean(page)


def test_bad_labels_files_are_explained(
    page: Any, app_url: str, query: dict, footprints: dict, tmp_path: Path
) -> None:
    known = str(footprints["id"][0])
    square = {
        "type": "Polygon",
        "coordinates": [[[0, 0], [0.01, 0], [0.01, 0.01], [0, 0.01], [0, 0]]],
    }

    def feature(fid: str | None, label: str, geometry: Any = square) -> dict:
        props = {"label": label} | ({"id": fid} if fid is not None else {})
        return {"type": "Feature", "geometry": geometry, "properties": props}

    def collection(*features: dict, **extra: Any) -> str:
        return json.dumps({"type": "FeatureCollection", "features": list(features), **extra})

    utm = {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::32643"}}
    cases = {
        "unknown.geojson": (
            collection(feature("nope-1", "positive"), feature("nope-2", "negative")),
            "none of its 2 ids is in this corpus (“nope-1”, “nope-2”)",
        ),
        "partly.geojson": (
            collection(feature(known, "positive"), feature("nope-3", "negative")),
            "left out 1 whose ids are not in this corpus: “nope-3”",
        ),
        "nogeom.geojson": (
            collection(feature(known, "positive", None)),
            f"feature 1 (id “{known}”) has no geometry",
        ),
        "utm.geojson": (
            collection(feature(known, "positive"), crs=utm),
            'its CRS is "urn:ogc:def:crs:EPSG::32643", not lon/lat WGS 84',
        ),
        "projected.geojson": (
            collection(feature(known, "positive", {"type": "Point", "coordinates": [5e5, 3e6]})),
            "which are not lon/lat degrees",
        ),
        "notjson.geojson": ("id,label\nx,positive\n", "it is not JSON"),
    }
    open_app(page, app_url, hash_of(query))
    message = page.locator("[data-testid=labels-message]")
    for name, (text, expected) in cases.items():
        file = tmp_path / name
        file.write_text(text)
        page.locator("[data-testid=import-labels]").set_input_files(str(file))
        page.wait_for_function(
            "(n) => (document.querySelector('[data-testid=labels-message]')?.textContent ?? '')"
            ".includes(n) && !document.querySelector('[data-testid=labels-message]')"
            ".textContent.startsWith('Reading')",
            arg=name,
        )
        assert expected in message.inner_text(), (name, message.inner_text())
        assert message.is_visible()
    # only the partly-known file added an example; the app still searches
    assert chips(page, "positives").count() == 2
    page.wait_for_function("() => document.body.dataset.state === 'done'")
    page.set_viewport_size({"width": 1280, "height": 900})
    page.screenshot(path="/tmp/terrabit-labels-bad.png")
    assert_clean(page)


# ------------------------------------------------------------- fly to, legends, slider


def map_bounds(page: Any) -> tuple[float, ...]:
    page.wait_for_timeout(900)  # any flight has ended
    return tuple(float(v) for v in page.evaluate("() => document.body.dataset.bounds").split(","))


def test_the_map_flies_to_the_results(page: Any, app_url: str, query: dict) -> None:
    """Zoomed in on the example, the click's results are off screen: the map flies there."""
    region = "#bbox=" + ",".join(f"{v:g}" for v in query["bbox"]) + f"&k={K}"
    open_app(page, app_url, region)
    lon, lat = query["pos"]
    page.fill("#goto-input", f"{lat}, {lon}")
    page.keyboard.press("Enter")
    page.wait_for_timeout(1000)
    for _ in range(3):
        page.get_by_role("button", name="Zoom in").click()
    w, s, e, n = map_bounds(page)
    assert e - w < 0.2  # the example's patch fills the view
    before = runs(page)
    box = page.locator("#map").bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    assert wait_for_run(page, before) == "done", status(page)
    rows = page.locator("[data-testid=result-row]")
    assert rows.count() == K
    w, s, e, n = map_bounds(page)
    points = page.evaluate(
        "() => [...document.querySelectorAll('[data-testid=result-row] .where')]"
        ".map(e => e.textContent)"
    )
    for text in points:  # "8.265° S, 140.702° W"
        lat_t, lon_t = text.split(", ")
        y = float(lat_t.split("°")[0]) * (-1 if lat_t.endswith("S") else 1)
        x = float(lon_t.split("°")[0]) * (-1 if lon_t.endswith("W") else 1)
        assert w - 1e-3 <= x <= e + 1e-3 and s - 1e-3 <= y <= n + 1e-3, (text, (w, s, e, n))
    assert_clean(page)


def test_legends_tell_the_truth(page: Any, app_url: str, small_corpus: Path, query: dict) -> None:
    """One sign convention per view, stated; the list shows what the legend shows; the
    heatmap legend has real distances."""
    open_app(page, app_url, hash_of(query))
    legend = page.locator("[data-testid=legend]")

    def ticks() -> list[float]:
        return [float(t) for t in legend.locator(".legend-ticks span").all_inner_texts()]

    def listed() -> list[float]:
        return [float(t) for t in page.locator("[data-testid=result-row] .score").all_inner_texts()]

    assert (
        legend.locator("[data-testid=legend-note]").inner_text().startswith("lower = more similar")
    )
    for view in ("outlier", "surprise", "gradient", "heatmap"):
        before = runs(page)
        page.select_option("#view", view)
        assert wait_for_run(page, before) == "done", status(page)
        lo, _, hi = ticks()
        values = listed()
        note = legend.locator("[data-testid=legend-note]").inner_text()
        if view == "heatmap":
            expected = python_search(small_corpus, query, view="heatmap").to_json()["results"]
            scores = [r["score"] for r in expected]
            assert lo == pytest.approx(min(scores), abs=1e-3)
            assert hi == pytest.approx(max(scores), abs=1e-3)
            assert note.startswith("lower = more similar")
        else:
            assert note.startswith("higher = ")
            # the list shows the legend's values: the best (first) row is the highest
            assert values == sorted(values, reverse=True), view
            assert lo - 1e-3 <= min(values) and max(values) <= hi + 1e-3, (view, lo, hi)
        if view == "outlier":
            page.set_viewport_size({"width": 1280, "height": 800})
            page.screenshot(path="/tmp/terrabit-legend-outlier.png")
            page.set_viewport_size({"width": 1024, "height": 680})
    assert_clean(page)


def test_threshold_slider_steps_through_quantiles(
    page: Any, app_url: str, small_corpus: Path, query: dict
) -> None:
    open_app(page, app_url, hash_of(query, view="threshold"))
    assert page.evaluate("() => document.body.dataset.state") == "done", status(page)
    # every candidate's score (the heatmap lists them all; threshold only those shown)
    every = python_search(small_corpus, query, view="heatmap").to_json()["results"]
    scores = np.sort([r["score"] for r in every])
    axis = page.locator("[data-testid=histogram-axis] span").all_inner_texts()
    assert float(axis[0]) == pytest.approx(scores[0]) and float(axis[-1]) == pytest.approx(
        scores[-1]
    )
    slider = page.locator("#threshold")
    box = slider.bounding_box()
    assert box is not None
    # a drag of 40 px from the left end: about 40 / width of the rows, not a jump
    before = runs(page)
    page.mouse.move(box["x"] + 2, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.mouse.move(box["x"] + 2 + 40, box["y"] + box["height"] / 2, steps=4)
    page.mouse.up()
    assert wait_for_run(page, before) == "done", status(page)
    t = float(hash_params(page)["t"])
    n = len(scores)
    assert t in scores  # a cut-off is a score of the data (a quantile)
    shown = int((scores <= t).sum())
    assert status(page).startswith(f"{shown:,} shown")
    # the rows strictly under the cut are at most the dragged share of all rows
    dragged = 44 / box["width"]
    assert int((scores < t).sum()) <= np.ceil(dragged * n), (t, dragged)
    # the slider sits at the share of rows the cut keeps
    assert int(slider.input_value()) == round(shown / n * 1000)
    page.set_viewport_size({"width": 1280, "height": 800})
    page.screenshot(path="/tmp/terrabit-threshold.png")
    assert_clean(page)


# ------------------------------------------------------------------------------ see


def mercator_xy(page: Any, lon: float, lat: float) -> tuple[float, float]:
    """Page pixel of a lon/lat in the map's current view (Web Mercator)."""
    w, s, e, n = (float(v) for v in page.evaluate("() => document.body.dataset.bounds").split(","))
    box = page.locator("#map").bounding_box()
    assert box is not None

    def y(v: float) -> float:
        return math.log(math.tan(math.pi / 4 + math.radians(v) / 2))

    fx = (float(lon) - w) / (e - w)
    fy = (y(n) - y(lat)) / (y(n) - y(s))
    return box["x"] + fx * box["width"], box["y"] + fy * box["height"]


def region_rows(query: dict, footprints: dict) -> np.ndarray:
    """Which rows' footprints meet the query's bbox (a boolean mask)."""
    x0, y0, x1, y1 = query["bbox"]
    box = footprints["box"]
    return (box[:, 0] <= x1) & (box[:, 2] >= x0) & (box[:, 1] <= y1) & (box[:, 3] >= y0)


def wait_for_patches(page: Any, n: int) -> None:
    """Wait until the patch note says ``n`` patches are drawn."""
    page.wait_for_function(
        "(n) => document.querySelector('[data-testid=patch-note]').textContent"
        ".startsWith(n.toLocaleString('en-US') + ' patches drawn')",
        arg=n,
    )


def map_colours(page: Any) -> set[tuple[int, int, int]]:
    """The distinct colours of the map's pixels, 32 levels per channel."""
    shot = np.asarray(Image.open(io.BytesIO(page.locator("#map").screenshot())).convert("RGB"))
    return {tuple(int(v) for v in c) for c in np.unique(shot.reshape(-1, 3) // 8, axis=0)}


def test_patches_in_embedding_colour(
    page: Any, app_url: str, query: dict, footprints: dict, small_corpus: Path
) -> None:
    """The default patch colouring of a format 1.5 corpus: each patch in the false colour
    fitted at publish -- the colours Python's ``Corpus.false_colour`` gives those rows, many
    distinct ones -- with a legend line saying what they are."""
    region = "#bbox=" + ",".join(f"{v:g}" for v in query["bbox"]) + f"&k={K}"
    open_app(page, app_url, region)
    inside = region_rows(query, footprints)
    wait_for_patches(page, int(inside.sum()))
    menu = page.locator("#layer-patches")
    assert menu.input_value() == "embedding"
    option = page.locator("#layer-patches option[value=embedding]")
    assert option.inner_text() == "embedding colour" and not option.is_disabled()
    legend = page.locator("[data-testid=patch-legend] li")
    assert legend.all_inner_texts() == [
        "embedding colour: similar colours = similar embeddings; 3 principal directions "
        "fitted at publish"
    ]
    # the legend's strip shows colours drawn on the map: each is one Python gives a row
    with terrabit.open(small_corpus) as corpus:
        table = corpus.read(query["bbox"], columns=["id", "embedding"])
        python = {tuple(c) for c in corpus.false_colour(table.column("embedding")).tolist()}
    assert len(python) > 0.9 * table.num_rows  # the rows' colours tell them apart
    strip = legend.locator(".swatch").evaluate("e => getComputedStyle(e).backgroundImage")
    shown = {
        tuple(int(v) for v in m.split(",")) for m in re.findall(r"rgb\((\d+, \d+, \d+)\)", strip)
    }
    assert len(shown) >= 4 and shown <= python, (shown, strip)
    page.set_viewport_size({"width": 1280, "height": 900})
    page.locator("#settings-section").scroll_into_view_if_needed()
    page.wait_for_timeout(500)
    page.screenshot(path="/tmp/terrabit-patches-embedding.png")
    coloured = map_colours(page)
    # the same region plain: one patch colour, so far fewer distinct pixels
    page.select_option("#layer-patches", "plain")
    page.wait_for_function("() => document.querySelector('[data-testid=patch-legend]').hidden")
    page.wait_for_timeout(500)
    plain = map_colours(page)
    assert len(coloured - plain) > 50, (len(coloured), len(plain))
    assert_clean(page)


def test_embedding_colour_is_disabled_without_it(
    page: Any, app_server: Any, small_corpus: Path, tmp_path: Path
) -> None:
    """A corpus published before format 1.5: the entry is greyed out, its tooltip says why,
    and the patches fall back to their label colours."""
    old = tmp_path / "old"
    shutil.copytree(small_corpus, old)
    path = old / "manifest.parquet"
    manifest = pq.read_table(path)
    meta = json.loads(manifest.schema.metadata[b"terrabit"])
    meta["format_version"] = "1.4"
    del meta["false_colour"]
    pq.write_table(manifest.replace_schema_metadata({b"terrabit": json.dumps(meta)}), path)
    open_app(page, app_server(old))
    option = page.locator("#layer-patches option[value=embedding]")
    assert option.is_disabled()
    assert option.inner_text() == "embedding colour (not in this corpus)"
    assert "published in format 1.4, before embedding colours" in str(option.get_attribute("title"))
    assert page.locator("#layer-patches").input_value() == "col:label"
    assert_clean(page)


def test_patches_are_drawn_before_any_search(
    page: Any, app_url: str, query: dict, footprints: dict, small_corpus: Path
) -> None:
    """A drawn region shows its patches, coloured by label with a legend of real counts."""
    region = "#bbox=" + ",".join(f"{v:g}" for v in query["bbox"]) + f"&k={K}"
    open_app(page, app_url, region)
    note = page.locator("[data-testid=patch-note]")
    expected = int(region_rows(query, footprints).sum())
    wait_for_patches(page, expected)
    assert page.locator("#layer-patches").input_value() == "embedding"  # format 1.5's default
    page.select_option("#layer-patches", "col:label")
    page.wait_for_function(
        "() => { const li = document.querySelectorAll('[data-testid=patch-legend] li');"
        " return li.length > 0 && !li[0].textContent.startsWith('embedding colour'); }"
    )
    inside = region_rows(query, footprints)
    with terrabit.open(small_corpus) as corpus:
        labels = dict(
            zip(
                corpus.read(None, columns=["id"]).column("id").to_pylist(),
                corpus.read(None, columns=["label"]).column("label").to_pylist(),
                strict=True,
            )
        )
    counts: dict[str, int] = {}
    for pid in footprints["id"][inside]:
        counts[labels[str(pid)]] = counts.get(labels[str(pid)], 0) + 1
    legend = page.locator("[data-testid=patch-legend] li").all_inner_texts()
    assert sorted(legend) == sorted(f"{k} ({v})" for k, v in counts.items())
    assert "Left-click the map" in status(page)
    page.set_viewport_size({"width": 1280, "height": 900})
    page.locator("#settings-section").scroll_into_view_if_needed()
    page.screenshot(path="/tmp/terrabit-patches-region.png")
    # plain, then off: the note says so
    page.select_option("#layer-patches", "plain")
    page.wait_for_function("() => document.querySelector('[data-testid=patch-legend]').hidden")
    page.select_option("#layer-patches", "off")
    page.wait_for_function(
        "() => document.querySelector('[data-testid=patch-note]').textContent"
        ".startsWith('Patches are hidden')"
    )
    assert note.is_visible()
    assert_clean(page)


def test_a_click_near_a_patch_snaps_to_it(
    page: Any, app_url: str, query: dict, footprints: dict
) -> None:
    """Zoomed in, a click a few pixels off a patch takes that patch (its centre)."""
    open_app(page, app_url)
    lon, lat = query["pos"]
    page.fill("#goto-input", f"{lat}, {lon}")
    page.keyboard.press("Enter")
    page.wait_for_function(
        "() => / patches drawn/.test(document.querySelector('[data-testid=patch-note]')"
        ".textContent)"
    )
    page.wait_for_timeout(300)
    _, py = mercator_xy(page, lon, lat)
    centres = (footprints["box"][:, :2] + footprints["box"][:, 2:]) / 2
    row = int(np.argmin(np.hypot(centres[:, 0] - lon, centres[:, 1] - lat)))
    half = (footprints["box"][row, 2] - footprints["box"][row, 0]) / 2
    edge_x, _ = mercator_xy(page, lon + half, lat)
    # 3 px east of the footprint's east edge: off the patch, within the snap distance
    page.mouse.click(float(edge_x) + 3, float(py))
    chip = page.locator("[data-testid=positives] .chip").first
    assert "snapped" in page.locator("#map-hint").inner_text()
    pos = hash_params(page)["pos"]
    got = tuple(float(v) for v in pos.split(","))
    assert got == pytest.approx((lon, lat), abs=2e-5)
    page.wait_for_function(
        "() => document.querySelector('[data-testid=positives] .chip')"
        "?.dataset.state === 'resolved'"
    )
    assert str(footprints["id"][row]) in chip.inner_text()
    assert_clean(page)


def test_first_view_basemap_and_coverage(page: Any, app_url: str) -> None:
    """The first view is the populated land; no antimeridian lines; coverage drawn."""
    open_app(page, app_url)
    page.wait_for_timeout(1200)
    south = float(page.evaluate("() => document.body.dataset.bounds").split(",")[1])
    assert south > -62, "the first view should not open on Antarctica"
    shot = page.screenshot(path="/tmp/terrabit-first-view.png")
    image = np.asarray(Image.open(io.BytesIO(shot)).convert("RGB")).astype(int)
    coast = np.array([0x9F, 0xB4, 0xC8])

    def coast_pixels(lon: float, lat_a: float, lat_b: float) -> int:
        x, ya = mercator_xy(page, lon, lat_a)
        _, yb = mercator_xy(page, lon, lat_b)
        strip = image[int(min(ya, yb)) : int(max(ya, yb)), int(x) - 1 : int(x) + 2]
        return int((np.abs(strip - coast).sum(axis=2) <= 30).sum())

    # the Norwegian Sea at 0° E (the old lines at 65–72° N crossed it) and the South
    # Atlantic at 16° S (Fiji's line): open sea, no coastline
    assert coast_pixels(0.0, 64.0, 70.5) == 0
    assert coast_pixels(-10.0, -14.0, -19.0) == 0
    assert page.locator("#layer-coverage").is_checked()
    assert_clean(page)


def test_imagery_failure_falls_back_and_says_so(page: Any, app_url: str) -> None:
    open_app(page, app_url)
    page.route("https://server.arcgisonline.com/**", lambda route: route.abort())
    # a click, not check(): the failing imagery may untick the box before check() looks
    page.locator("#imagery").click()
    message = page.locator("[data-testid=imagery-message]")
    message.wait_for(state="visible")
    assert "could not be loaded" in message.inner_text()
    assert "bundled offline map" in message.inner_text()
    assert not page.locator("#imagery").is_checked()
    # the land is drawn again (not all blue)
    page.wait_for_timeout(500)
    shot = np.asarray(Image.open(io.BytesIO(page.locator("#map").screenshot())).convert("RGB"))
    land = (np.abs(shot.reshape(-1, 3).astype(int) - (0xF7, 0xF5, 0xEF)).sum(axis=1) <= 6).mean()
    assert land > 0.05
    # only the browser's own "failed to load" lines, nothing from the app
    assert [e for e in page.console_errors if "net::ERR_FAILED" not in e] == []


# ----------------------------------------------------------------------------- go to


@pytest.mark.parametrize(
    ("name", "kind", "extent"),
    [
        # Natural Earth's outlines: India about 68–97.4° E, 8–35.5° N; Rajasthan 69.5–78.3° E,
        # 23–30.2° N (Jaipur, its capital, at 75.8° E, 26.9° N)
        ("India", "country", (68.2, 8.1, 97.3, 35.5)),
        ("Rajasthan", "state, India", (69.5, 23.1, 78.2, 30.1)),
    ],
)
def test_go_to_countries_and_regions(
    page: Any, app_url: str, name: str, kind: str, extent: tuple[float, ...]
) -> None:
    open_app(page, app_url)
    page.fill("#goto-input", name)
    page.wait_for_selector("#goto-list li")
    first = page.locator("#goto-list li").first.inner_text()
    assert first.startswith(name) and kind in first
    page.keyboard.press("Enter")
    assert page.locator("#map-hint").inner_text() == f"Went to {name} ({kind})."
    w, s, e, n = map_bounds(page)
    x0, y0, x1, y1 = extent
    assert w <= x0 and e >= x1 and s <= y0 and n >= y1, (w, s, e, n)
    # fitted: the place fills much of the view
    assert (x1 - x0) / (e - w) > 0.3 or (y1 - y0) / (n - s) > 0.3
    if name == "Rajasthan":
        page.set_viewport_size({"width": 1280, "height": 800})
        page.wait_for_timeout(600)
        page.screenshot(path="/tmp/terrabit-goto-rajasthan.png")
    assert_clean(page)


def test_go_to_an_unknown_place_is_said(page: Any, app_url: str) -> None:
    open_app(page, app_url)
    page.fill("#goto-input", "Atlantis Prime")
    page.keyboard.press("Enter")
    page.wait_for_function("() => document.getElementById('map-hint').textContent !== ''")
    hint = page.locator("#map-hint").inner_text()
    assert "No place called “Atlantis Prime” in the bundled list" in hint
    assert page.evaluate("() => document.body.dataset.state") == "idle"


# ------------------------------------------------------------------ training data


def test_export_training_data_equals_python(
    page: Any, app_url: str, small_corpus: Path, query: dict, tmp_path: Path
) -> None:
    """The browser's export "with codes + split" holds what Python's ``export(...,
    corpus=, with_codes=True)`` writes for the same query: the same rows in the same order,
    label state, score, the list's pass-through columns, codes and train/validation split."""
    import pyarrow.parquet as pq

    from terrabit.search.export import export

    open_app(page, app_url, hash_of(query))
    assert page.locator("[data-testid=result-row]").count() == K
    page.locator("[data-testid=export-codes]").check()
    with page.expect_download() as info:
        page.locator("[data-testid=export]").click()
    mine = tmp_path / "browser.parquet"
    info.value.save_as(mine)
    page.screenshot(path="/tmp/terrabit-export-codes.png")
    with terrabit.open(small_corpus) as corpus:
        result = search(corpus, query["bbox"], positives=[query["pos"]], k=K)
        theirs = export(result, tmp_path / "python.parquet", corpus=corpus, with_codes=True)
    got, want = pq.read_table(mine), pq.read_table(theirs)
    for name in ("id", "role", "rank", "label", "year", "split"):
        assert got.column(name).to_pylist() == want.column(name).to_pylist(), name
    assert [bytes(c) for c in got.column("code").to_pylist()] == want.column("code").to_pylist()
    np.testing.assert_allclose(
        np.array(got.column("score").to_pylist()[1:], float),
        np.array(want.column("score").to_pylist()[1:], float),
    )
    assert got.column("datetime").cast("int64").to_pylist()[1:] == [
        v // 1000 for v in want.column("datetime").cast("int64").to_pylist()[1:]
    ]
    assert set(want.column("split").to_pylist()) == {"train", "validation"}
    hint = page.locator("#map-hint").inner_text()
    assert hint.startswith(f"Exported {K} rows (+ 1 examples), with codes"), hint
    assert_clean(page)


def test_patches_show_as_dots_zoomed_out(page: Any, app_url: str, footprints: dict) -> None:
    """A region the size of the corpus, seen whole (zoomed far out, each footprint far below
    a pixel): every patch is still a dot in its category's colour (footprints that small are
    dropped by the map's tiler, so the dots are drawn from the footprints' centres)."""
    page.set_viewport_size({"width": 1280, "height": 800})
    open_app(page, app_url, "#bbox=-179,-60,179,75&k=5")
    n = len(footprints["id"])
    drawn = (
        "(n) => document.querySelector('[data-testid=patch-note]').textContent"
        ".startsWith(n.toLocaleString('en-US') + ' patches drawn')"
    )
    page.wait_for_function(drawn, arg=n)  # in the embedding colour first
    page.select_option("#layer-patches", "col:label")
    page.wait_for_function(
        "(n) => document.querySelector('[data-testid=patch-note]').textContent"
        ".startsWith(n.toLocaleString('en-US') + ' patches drawn')",
        arg=n,
    )
    page.wait_for_timeout(800)
    swatches = page.evaluate(
        "() => [...document.querySelectorAll('[data-testid=patch-legend] .swatch')]"
        ".map(s => getComputedStyle(s).backgroundColor)"
    )
    colours = [tuple(int(v) for v in s[s.index("(") + 1 : -1].split(",")[:3]) for s in swatches]
    image = np.asarray(Image.open(io.BytesIO(page.locator("#map").screenshot())).convert("RGB"))
    pixels = image.reshape(-1, 3).astype(int)
    near = [int((np.abs(pixels - c).sum(axis=1) < 40).sum()) for c in colours]
    page.screenshot(path="/tmp/terrabit-patches-zoomed-out.png")
    assert sum(near) > n / 2, (near, n)  # dots overlap in the towns: about a pixel a patch
    assert_clean(page)


# ------------------------------------------------ score=classifier and view=change

#: The world's places fall in this box (north-west India): 1000 places x 2023 and 2024.
WORLD_BOX = (68.0, 22.0, 78.0, 32.0)


@pytest.fixture(scope="module")
def world_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A published synthetic world: 1000 places in ``WORLD_BOX``, each in 2023 and 2024
    with the same footprint, 64-d, in a few shards."""
    from terrabit.corpus import publish
    from terrabit.world.generate import generate_world

    root = tmp_path_factory.mktemp("web-world")
    generate_world(
        root / "world", n=2000, dim=64, seed=0, bbox=WORLD_BOX, aef=False, progress=False
    )
    out = root / "corpus"
    publish(root / "world" / "patches", out, keep=["label"], max_rows=400, show_progress=False)
    return out


def world_hash(**extra: Any) -> str:
    return (
        "#bbox="
        + ",".join(f"{v:g}" for v in WORLD_BOX)
        + "".join(f"&{key}={value}" for key, value in extra.items())
    )


def listed(page: Any) -> list[float]:
    """The values the result list shows, in list order."""
    return [float(t) for t in page.locator("[data-testid=result-row] .score").all_inner_texts()]


def legend_note(page: Any) -> str:
    return str(page.locator("[data-testid=legend] [data-testid=legend-note]").inner_text())


def test_classifier_search_on_a_world(page: Any, app_server: Any, world_corpus: Path) -> None:
    """score=classifier in the URL: the list equals Python's classifier search (ids, ranks,
    probabilities), the legend and the list show the probability (higher first), the line
    under the status says the background alone was the negative class; a ✗ adds a
    negative and the fit says so."""
    with terrabit.open(world_corpus) as corpus:
        ids = sorted(corpus.read(None, columns=["id"]).column("id").to_pylist())
        positive = ids[len(ids) // 3]
        expected = search(corpus, WORLD_BOX, positives=[positive], k=K, score="classifier")
    url = app_server(world_corpus)
    open_app(page, url, world_hash(ids=positive, score="classifier", k=K))
    assert page.evaluate("() => document.body.dataset.state") == "done", status(page)
    shown = expected.shown
    assert result_rows(page) == list(
        zip(shown.column("id").to_pylist(), shown.column("rank").to_pylist(), strict=True)
    )
    # the list shows each row's probability (3 digits), the best first
    probability = shown.column("probability").to_pylist()
    assert listed(page) == pytest.approx(probability, abs=5e-3)
    assert listed(page) == sorted(listed(page), reverse=True)
    assert page.locator(".results-head .value-head").text_content() == "probability"
    assert legend_note(page) == (
        "probability of being like the positives; higher = more like them (hotter)"
    )
    note = page.locator("[data-testid=classifier-note]").inner_text()
    assert note.startswith(
        "Classifier fitted on 1 positive and no negatives: the background alone (256 of the "
        "region's rows, weight 0.01 each) is the negative class"
    )
    assert expected.query["classifier"]["background"] == 256
    assert page.locator("#score").input_value() == "classifier"
    # the distance-only options are off
    assert page.locator("#combine").is_disabled() and page.locator("#global").is_disabled()
    page.set_viewport_size({"width": 1280, "height": 800})
    page.wait_for_timeout(600)
    page.screenshot(path="/tmp/terrabit-classifier.png")
    # ✗ on the last row: a negative, and the fit says so
    last = result_rows(page)[-1][0]
    before = runs(page)
    page.locator(f"[data-testid=result-row][data-id='{last}'] [data-testid=mark-negative]").click()
    assert wait_for_run(page, before) == "done", status(page)
    with terrabit.open(world_corpus) as corpus:
        again = search(
            corpus, WORLD_BOX, positives=[positive], negatives=[last], k=K, score="classifier"
        )
    assert [i for i, _ in result_rows(page)] == again.shown.column("id").to_pylist()
    note = page.locator("[data-testid=classifier-note]").inner_text()
    assert note.startswith("Classifier fitted on 1 positive, 1 negative and a background")
    assert hash_params(page)["score"] == "classifier"
    assert_clean(page)


def test_change_view_on_a_world(page: Any, app_server: Any, world_corpus: Path) -> None:
    """view=change: without examples the places most changed between the two latest years
    (Python's ranking, Hamming distances, higher first); the pair of years is a control
    kept in the URL; with a classifier and a positive, the places that became most like
    it (negative first); the classifier without a positive says what to do."""
    with terrabit.open(world_corpus) as corpus:
        plain = search(corpus, WORLD_BOX, view="change", k=15)
    url = app_server(world_corpus)
    open_app(page, url, world_hash(view="change", k=15))
    assert page.evaluate("() => document.body.dataset.state") == "done", status(page)
    rows = plain.shown
    assert result_rows(page) == list(
        zip(rows.column("id").to_pylist(), rows.column("rank").to_pylist(), strict=True)
    )
    assert listed(page) == rows.column("value").to_pylist()  # bits changed, higher first
    assert legend_note(page) == (
        "Hamming distance between the 2023 and 2024 codes; higher = changed more (hotter)"
    )
    assert page.locator(".results-head .value-head").text_content() == "bits changed"
    years = page.locator("#years")
    assert years.is_visible()
    assert years.locator("option").evaluate_all("els => els.map(e => e.value)") == [
        "",
        "2023,2024",
    ]
    assert page.locator("#year").is_disabled()  # a pair of years, not a year filter
    page.set_viewport_size({"width": 1280, "height": 800})
    page.wait_for_timeout(600)
    page.screenshot(path="/tmp/terrabit-change.png")
    before = runs(page)
    page.select_option("#years", "2023,2024")
    assert wait_for_run(page, before) == "done", status(page)
    assert hash_params(page)["years"] == "2023,2024"
    assert [i for i, _ in result_rows(page)] == rows.column("id").to_pylist()
    # the classifier without a positive: said, nothing runs; back to distances
    page.select_option("#score", "classifier")
    page.locator(
        "[data-testid=status]", has_text="The classifier learns from positive examples"
    ).wait_for()
    assert "pick Score: distance" in status(page)
    before = runs(page)
    page.select_option("#score", "distance")
    assert wait_for_run(page, before) == "done", status(page)
    # a positive (the most changed place's later row): the places whose distance to it fell
    target = rows.column("id")[0].as_py()
    with terrabit.open(world_corpus) as corpus:
        kw: dict[str, Any] = {"positives": [target], "view": "change", "years": (2023, 2024)}
        closer = search(corpus, WORLD_BOX, k=15, **kw)
        toward = search(corpus, WORLD_BOX, k=15, score="classifier", **kw)
    before = runs(page)
    row = page.locator(f"[data-testid=result-row][data-id='{target}']")
    row.locator("[data-testid=mark-positive]").click()
    assert wait_for_run(page, before) == "done", status(page)
    assert [i for i, _ in result_rows(page)] == closer.shown.column("id").to_pylist()
    assert listed(page) == closer.shown.column("value").to_pylist()
    assert page.locator(".results-head .value-head").text_content() == "Δ score"
    # the classifier: the places that became most like the positive by its probability
    before = runs(page)
    page.select_option("#score", "classifier")
    assert wait_for_run(page, before) == "done", status(page)
    shown = toward.shown
    assert result_rows(page) == list(
        zip(shown.column("id").to_pylist(), shown.column("rank").to_pylist(), strict=True)
    )
    assert listed(page) == pytest.approx(shown.column("value").to_pylist(), abs=5e-3)
    assert listed(page) == sorted(listed(page))  # most negative first
    assert legend_note(page) == (
        "later − earlier score (2023 → 2024); negative = became more like the examples (hotter)"
    )
    assert {"view", "years", "score", "ids"} <= set(hash_params(page))
    page.wait_for_timeout(600)
    page.screenshot(path="/tmp/terrabit-change-classifier.png")
    assert_clean(page)

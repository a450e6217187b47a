"""The browser app end to end, in Debian's Chromium (Python Playwright).

A 2000-row corpus is published, served with the built app (``app_url``), and driven like
a user would: the URL-hash query (whose ranked ids must equal ``terrabit``'s Python
search for the same query), clicks that add examples, drawing and Esc, every view's
legend, and the GeoParquet export read back with geopandas.
"""

from __future__ import annotations

import io
import math
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from appdriver import (
    TIMEOUT_MS,
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

VIEWS = ["topk", "heatmap", "threshold", "outlier", "surprise", "gradient"]
SCREENSHOT = Path("/tmp/terrabit-app.png")


# --------------------------------------------------------------------------- tests


def test_map_loads_without_console_errors(page: Any, app_url: str) -> None:
    open_app(page, app_url)
    assert page.locator("canvas.maplibregl-canvas").count() == 1
    # the bundled basemap is drawn: land and ocean colours both cover part of the map
    page.wait_for_timeout(500)
    shot = Image.open(io.BytesIO(page.locator("#map").screenshot())).convert("RGB")
    pixels = np.asarray(shot).reshape(-1, 3).astype(int)
    for name, rgb in {"land": (0xF7, 0xF5, 0xEF), "ocean": (0xDF, 0xE9, 0xF3)}.items():
        share = float((np.abs(pixels - rgb).sum(axis=1) <= 6).mean())
        assert share > 0.05, f"{name} covers only {share:.1%} of the map"
    # the bundled land layer has data (offline basemap, nothing fetched off-host)
    assert page.locator("#corpus-info").inner_text().startswith("2,000 places")
    assert "Draw a region" in status(page)
    assert page.locator("[data-testid=export]").is_disabled()
    # every form control has a label (keyboard and screen-reader users)
    unlabelled = page.evaluate(
        "() => [...document.querySelectorAll('#panel input, #panel select')]"
        ".filter(e => e.labels.length === 0 && !e.getAttribute('aria-label'))"
        ".map(e => e.id || e.outerHTML)"
    )
    assert unlabelled == []
    # go to a place by name (the offline list) and by "lat, lng"
    page.fill("#goto-input", "Paris")
    page.wait_for_selector("#goto-list li")
    assert "Paris" in page.locator("#goto-list li").first.inner_text()
    page.keyboard.press("Enter")
    assert page.locator("#map-hint").inner_text().startswith("Went to Paris")
    page.fill("#goto-input", "-33.87, 151.21")
    page.keyboard.press("Enter")
    assert "-33.87" in page.locator("#map-hint").inner_text()
    # keyboard only: the visible map becomes a region, the map centre an example
    page.get_by_role("button", name="Current view").focus()
    page.keyboard.press("Enter")
    assert page.locator("[data-testid=region-chips] .chip").count() == 1
    page.get_by_role("button", name="+ Map centre").focus()
    page.keyboard.press("Enter")
    assert page.locator("[data-testid=positives] .chip").count() == 1
    page.keyboard.press("Control+z")  # nothing was removed: undo does nothing
    assert page.locator("[data-testid=positives] .chip").count() == 1
    # offline first: nothing was fetched off-host (basemap, fonts, tiles all bundled)
    host = re.match(r"https?://[^/]+/", app_url)
    assert host is not None
    off_host = [u for u in page.requested if not u.startswith((host.group(0), "data:", "blob:"))]
    assert off_host == []
    assert_clean(page)


def test_hash_query_equals_python(page: Any, app_url: str, small_corpus: Path, query: dict) -> None:
    open_app(page, app_url, hash_of(query))
    assert page.evaluate("() => document.body.dataset.state") == "done", status(page)
    got = result_rows(page)
    expected = python_search(small_corpus, query).to_json()["results"]
    assert got == [(r["id"], r["rank"]) for r in expected]
    assert len(got) == K
    scores = page.locator("[data-testid=result-row] .score").all_inner_texts()
    assert [float(s) for s in scores] == pytest.approx([r["score"] for r in expected], rel=1e-3)
    assert re.search(rf"{K} shown of [\d,]+ candidates", status(page))
    # the legend and the example chip are there
    assert page.locator("[data-testid=legend]").is_visible()
    assert page.locator("[data-testid=positives] .chip").count() == 1
    page.set_viewport_size({"width": 1280, "height": 800})
    page.locator("[data-testid=result-row]").nth(2).hover()  # the hover preview
    page.wait_for_timeout(400)
    page.screenshot(path=str(SCREENSHOT))
    assert_clean(page)


def test_controls_rewrite_the_hash_and_reload_restores(
    page: Any, app_url: str, small_corpus: Path, query: dict
) -> None:
    open_app(page, app_url, hash_of(query))
    before = runs(page)
    page.locator(".options > summary").click()  # the options start folded
    page.select_option("#combine", "majority")
    page.check("#dedupe")
    page.select_option("#year", "2024")
    # every change marks a search pending (state "searching") until the last one is done
    page.wait_for_function("() => document.body.dataset.state === 'done'")
    assert runs(page) > before
    params = hash_params(page)
    assert params.get("combine") == "majority" and params.get("dedupe") == "1"
    assert params.get("year") == "2024"
    url = str(page.url)
    page.reload()
    page.wait_for_function("() => document.body.dataset.state === 'done'", timeout=TIMEOUT_MS)
    assert page.locator("#combine").input_value() == "majority"
    assert page.locator("#dedupe").is_checked()
    assert page.locator("#year").input_value() == "2024"
    assert page.url == url
    expected = python_search(small_corpus, query, combine="majority", dedupe=True, year=2024)
    assert result_rows(page) == [(r["id"], r["rank"]) for r in expected.to_json()["results"]]
    assert_clean(page)


def test_clicks_add_examples(page: Any, app_url: str, query: dict) -> None:
    open_app(page, app_url, hash_of(query))
    # fly to the first result, then click the map centre: a patch is there
    before = runs(page)
    page.locator("[data-testid=result-row]").first.click()
    page.wait_for_timeout(900)  # the flight
    box = page.locator("#map").bounding_box()
    assert box is not None
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.click(cx, cy)
    assert page.locator("[data-testid=positives] .chip").count() == 2
    assert wait_for_run(page, before) == "done", status(page)
    assert len(hash_params(page)["pos"].split(";")) == 2
    before = runs(page)
    page.mouse.click(cx + 3, cy + 3, button="right")
    assert page.locator("[data-testid=negatives] .chip").count() == 1
    wait_for_run(page, before)
    page.keyboard.down("Shift")
    page.mouse.click(cx - 3, cy - 3)
    page.keyboard.up("Shift")
    assert page.locator("[data-testid=negatives] .chip").count() == 2
    assert len(hash_params(page)["neg"].split(";")) == 2
    # removing a chip is undoable
    page.locator("[data-testid=negatives] .chip-remove").first.click()
    assert page.locator("[data-testid=negatives] .chip").count() == 1
    page.keyboard.press("Control+z")
    assert page.locator("[data-testid=negatives] .chip").count() == 2
    assert_clean(page)


def test_draw_rectangle_esc_cancels(page: Any, app_url: str, query: dict) -> None:
    open_app(page, app_url, hash_of(query))
    chips = page.locator("[data-testid=region-chips] .chip")
    assert chips.count() == 1
    box = page.locator("#map").bounding_box()
    assert box is not None
    x0, y0 = box["x"] + box["width"] * 0.3, box["y"] + box["height"] * 0.3
    # Esc in the middle of a drag: nothing is added, nothing is deleted
    page.get_by_role("button", name="Rectangle").click()
    page.mouse.move(x0, y0)
    page.mouse.down()
    page.mouse.move(x0 + 80, y0 + 60, steps=4)
    page.keyboard.press("Escape")
    page.mouse.up()
    assert chips.count() == 1
    assert page.get_by_role("button", name="Rectangle").get_attribute("aria-pressed") == "false"
    # a full drag adds a second region
    before = runs(page)
    page.get_by_role("button", name="Rectangle").click()
    page.mouse.move(x0, y0)
    page.mouse.down()
    page.mouse.move(x0 + 120, y0 + 90, steps=5)
    page.mouse.up()
    page.wait_for_function(  # the chip appears with the next frame, later under load
        "() => document.querySelectorAll('[data-testid=region-chips] .chip').length === 2"
    )
    assert chips.count() == 2
    assert len(hash_params(page)["bbox"].split("|")) == 2
    assert wait_for_run(page, before) == "done", status(page)
    # a freehand lasso adds a polygon region
    page.get_by_role("button", name="Freehand").click()
    page.mouse.move(x0, y0 + 150)
    page.mouse.down()
    for i in range(12):
        angle = 2 * math.pi * i / 12
        page.mouse.move(x0 + 60 + 50 * math.cos(angle), y0 + 150 + 40 * math.sin(angle))
    page.mouse.up()
    assert chips.count() == 3
    assert "poly" in hash_params(page)
    # remove + undo
    page.locator("[data-testid=region-chips] .chip-remove").nth(1).click()
    assert chips.count() == 2
    page.get_by_role("button", name=re.compile("Undo")).click()
    assert chips.count() == 3
    # a rectangle across the antimeridian is one region with minx > maxx
    page.fill("#goto-input", "0, 180")
    page.keyboard.press("Enter")
    page.wait_for_timeout(1000)
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.get_by_role("button", name="Rectangle").click()
    page.mouse.move(cx - 100, cy - 50)
    page.mouse.down()
    page.mouse.move(cx + 100, cy + 50, steps=3)
    page.mouse.up()
    assert chips.count() == 4
    minx, miny, maxx, maxy = (float(v) for v in hash_params(page)["bbox"].split("|")[-1].split(","))
    assert 170 < minx <= 180 and -180 <= maxx < -170 and miny < 0 < maxy
    assert_clean(page)


def test_full_flow_draw_click_views_export(
    page: Any, app_url: str, small_corpus: Path, query: dict, tmp_path: Path
) -> None:
    """From an empty page: go to a place, draw a region, click a patch, see the results
    (equal to Python's), switch through every view (each with a legend), export."""
    gpd = pytest.importorskip("geopandas")
    open_app(page, app_url)
    lon, lat = query["pos"]
    page.fill("#goto-input", f"{lat}, {lon}")
    page.keyboard.press("Enter")
    page.wait_for_timeout(1000)  # the flight: the example's patch is now at the centre
    box = page.locator("#map").bounding_box()
    assert box is not None
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.get_by_role("button", name="Rectangle").click()
    page.mouse.move(box["x"] + 40, box["y"] + 40)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] - 40, box["y"] + box["height"] - 40, steps=3)
    page.mouse.up()
    page.locator("[data-testid=status]", has_text="Left-click the map").wait_for()
    before = runs(page)
    page.mouse.click(cx, cy)
    assert wait_for_run(page, before) == "done", status(page)
    params = hash_params(page)
    region = tuple(float(v) for v in params["bbox"].split(","))
    point = tuple(float(v) for v in params["pos"].split(","))
    k = int(params.get("k", "20"))
    with terrabit.open(small_corpus) as corpus:
        expected = search(corpus, region, positives=[point], k=k)
    assert result_rows(page) == [(r["id"], r["rank"]) for r in expected.to_json()["results"]]
    assert expected.exemplars[0].id in page.locator("[data-testid=positives] .chip").inner_text()

    legend = page.locator("[data-testid=legend]")
    for view in VIEWS:
        if view != "topk":
            before = runs(page)
            page.select_option("#view", view)
            assert wait_for_run(page, before) == "done", f"{view}: {status(page)}"
        assert hash_params(page).get("view", "topk") == view  # the default is left out
        assert legend.is_visible(), view
        ticks = legend.locator(".legend-ticks span").all_inner_texts()
        lo, hi = float(ticks[0]), float(ticks[-1])
        assert math.isfinite(lo) and math.isfinite(hi) and lo <= hi, (view, ticks)
        assert legend.locator(".legend-title").inner_text().strip(), view
        assert page.locator("[data-testid=result-row]").count() > 0, view
        if view == "threshold":
            assert page.locator("#threshold").is_enabled()
            assert page.locator("canvas.histogram").is_visible()

    # export what the last view (gradient) shows, and read it back
    shown = result_rows(page)
    with page.expect_download() as info:
        page.locator("[data-testid=export]").click()
    path = tmp_path / "export.parquet"
    info.value.save_as(path)
    frame = gpd.read_parquet(path)
    assert frame.crs is not None and frame.crs.equals("OGC:CRS84")
    results = frame[frame["role"] == "result"]
    shown_text = re.search(r"([\d,]+) shown", status(page))
    assert shown_text is not None
    total = int(shown_text.group(1).replace(",", ""))
    assert len(results) == total
    # the list shows the first rows of the same ranking
    head = results.sort_values("rank").head(len(shown))
    assert list(zip(head["id"], head["rank"], strict=True)) == shown
    assert set(frame.loc[frame["role"] == "positive", "id"]) == {expected.exemplars[0].id}
    assert frame.geometry.is_valid.all()
    assert_clean(page)


def test_out_of_region_exemplar(page: Any, app_url: str, small_corpus: Path, query: dict) -> None:
    """A positive far outside the region is fetched by point and scores the region."""
    with terrabit.open(small_corpus) as corpus:
        table = corpus.read(None, columns=["id", "bbox"])
    bbox = table.column("bbox").combine_chunks()
    x = (bbox.field("xmin").to_numpy() + bbox.field("xmax").to_numpy()) / 2
    y = (bbox.field("ymin").to_numpy() + bbox.field("ymax").to_numpy()) / 2
    x0, y0, x1, y1 = query["bbox"]
    far = np.flatnonzero((np.abs(x - (x0 + x1) / 2) > 30) | (np.abs(y - (y0 + y1) / 2) > 30))
    assert far.size
    far_q = {"bbox": query["bbox"], "pos": (round(float(x[far[0]]), 6), round(float(y[far[0]]), 6))}
    open_app(page, app_url, hash_of(far_q))
    assert page.evaluate("() => document.body.dataset.state") == "done", status(page)
    expected = python_search(small_corpus, far_q)
    assert result_rows(page) == [(r["id"], r["rank"]) for r in expected.to_json()["results"]]
    # the chip names the row the click resolved to
    chip_text = page.locator("[data-testid=positives] .chip").inner_text()
    assert expected.exemplars[0].id in chip_text
    assert_clean(page)


def test_failed_shard_shown_and_retried(
    page: Any, app_server: Any, small_corpus: Path, query: dict
) -> None:
    """A shard answering 500 is counted, the rest still searched; Retry completes it."""
    lon, lat = query["pos"]
    box = (max(lon - 40, -180), max(lat - 30, -90), min(lon + 40, 180), min(lat + 30, 90))
    wide = {"bbox": tuple(round(v, 4) for v in box), "pos": query["pos"]}
    with terrabit.open(small_corpus) as corpus:
        shards = corpus.select_shards(wide["bbox"]).to_pylist()
    # a shard of the region that does not hold the example
    others = [
        s["path"]
        for s in shards
        if not (s["xmin"] <= lon <= s["xmax"] and s["ymin"] <= lat <= s["ymax"])
    ]
    assert others, "the fixture region should span several shards"
    broken = {"path": "/corpus/" + others[0], "on": True}

    def fail(path: str) -> int | None:
        return 500 if broken["on"] and path == broken["path"] else None

    url = app_server(fail=fail)
    open_app(page, url, hash_of(wide))
    failed = page.locator("[data-testid=failed]")
    assert failed.is_visible(), status(page)
    assert failed.inner_text().startswith("1 shard failed")
    broken["on"] = False
    before = runs(page)
    page.locator("[data-testid=retry]").click()
    assert wait_for_run(page, before) == "done", status(page)
    assert failed.is_hidden()
    expected = python_search(small_corpus, wide).to_json()["results"]
    assert result_rows(page) == [(r["id"], r["rank"]) for r in expected]


def test_server_without_range_is_explained_or_works(
    page: Any, app_server: Any, small_corpus: Path, query: dict
) -> None:
    """A server that ignores Range: small files are used whole, big ones explained."""
    url = app_server(ranges=False)
    open_app(page, url, hash_of(query))
    state = page.evaluate("() => document.body.dataset.state")
    if state == "error":
        assert "Range" in status(page)
    else:
        expected = python_search(small_corpus, query).to_json()["results"]
        assert result_rows(page) == [(r["id"], r["rank"]) for r in expected]


def test_hash_edits_rerun_and_bad_parts_are_reported(
    page: Any, app_url: str, small_corpus: Path, query: dict
) -> None:
    """Editing the hash (or going back) re-runs; unreadable parts are named, not fatal."""
    open_app(page, app_url, hash_of(query) + "&k=oops")
    assert page.evaluate("() => document.body.dataset.state") == "done", status(page)
    assert "Ignored in the URL" in page.locator("#map-hint").inner_text()
    assert "k" in page.locator("#map-hint").inner_text()
    before = runs(page)
    page.evaluate("(h) => { location.hash = h; }", hash_of(query).replace(f"k={K}", "k=5"))
    assert wait_for_run(page, before) == "done", status(page)
    assert [rank for _, rank in result_rows(page)] == [1, 2, 3, 4, 5]
    assert page.locator("#k").input_value() == "5"
    # global=1 and no region: shards ranked by their summary codes, the same top k
    before = runs(page)
    page.evaluate(
        "(h) => { location.hash = h; }", "#pos={:g},{:g}&k={}&global=1".format(*query["pos"], K)
    )
    assert wait_for_run(page, before) == "done", status(page)
    assert page.locator("#global").is_checked()
    assert page.locator("[data-testid=region-chips] .chip").count() == 0
    with terrabit.open(small_corpus) as corpus:
        expected = search(corpus, None, positives=[query["pos"]], k=K, global_=True)
    assert result_rows(page) == [(r["id"], r["rank"]) for r in expected.to_json()["results"]]
    assert_clean(page)


def test_missing_corpus_is_explained(page: Any, app_url: str) -> None:
    open_app(page, app_url + "?corpus=nowhere/")
    assert page.evaluate("() => document.body.dataset.state") == "error"
    text = status(page)
    assert "no corpus at" in text and "nowhere" in text


def test_cancel_stops_a_search_and_search_reruns_it(
    page: Any, app_server: Any, small_corpus: Path, query: dict
) -> None:
    import time

    slow_host = {"on": True}

    def slow(path: str) -> None:
        if slow_host["on"] and "/shards/" in path:
            time.sleep(4.0)  # a very slow static host: the search cannot end before Cancel
        return None

    url = app_server(fail=slow)
    page.goto(url + hash_of(query))
    page.wait_for_function("() => document.body.dataset.state === 'searching'")
    page.locator("[data-testid=cancel]").click()
    assert page.evaluate("() => document.body.dataset.state") == "idle"
    assert "cancelled" in status(page)
    assert page.locator("[data-testid=result-row]").count() == 0
    assert page.locator("[data-testid=cancel]").is_disabled()
    slow_host["on"] = False
    before = runs(page)
    page.locator("[data-testid=run]").click()
    assert wait_for_run(page, before) == "done", status(page)
    expected = python_search(small_corpus, query).to_json()["results"]
    assert result_rows(page) == [(r["id"], r["rank"]) for r in expected]
    assert page.console_errors == []

"""A newcomer's whole loop in the browser app (Chromium), on a published synthetic world, as
one test: **see** the region's patches, **pick** a solar farm on the map, **find** similar
places, **confirm / reject** results with ✓ / ✗, **classify**, watch **change** between the
years, and **export** training data. Each step's list is checked against Python's
``terrabit.search`` with the same query (the URL's), and the world's own labels say how
many results are solar farms.

Screenshots: ``/tmp/terrabit-loop-*.png`` (looked at when the UI changes).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from appdriver import (
    assert_clean,
    click_map_centre,
    hash_params,
    open_app,
    result_rows,
    runs,
    status,
    wait_for_run,
)

import terrabit
from terrabit.search import search

playwright_api = pytest.importorskip("playwright.sync_api")

#: North-west India, where the world puts solar farms (3,000 places x 2023 and 2024).
BOX = (68.0, 22.0, 78.0, 32.0)
K = 10


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The world's patches (with their labels: the truth) and its published corpus."""
    from terrabit.corpus import publish
    from terrabit.world.generate import generate_world

    root = tmp_path_factory.mktemp("newcomer")
    generate_world(root / "world", n=6000, dim=128, seed=0, bbox=BOX, aef=False, progress=False)
    publish(
        root / "world" / "patches",
        root / "corpus",
        keep=["label", "year"],
        max_rows=1500,
        show_progress=False,
    )
    rows = pq.read_table(root / "world" / "patches", columns=["id", "label", "year"])
    labels = dict(zip(rows["id"].to_pylist(), rows["label"].to_pylist(), strict=True))
    return {"corpus": root / "corpus", "labels": labels}


def python_expected(corpus: Path, page: Any) -> Any:
    """Python's search with the query the page's URL holds."""
    p = hash_params(page)

    def refs(key_ids: str, key_points: str) -> list[Any]:
        out: list[Any] = [i for i in p.get(key_ids, "").split(",") if i]
        for point in (v for v in p.get(key_points, "").split(";") if v):
            lon, lat = (float(x) for x in point.split(","))
            out.append((lon, lat))
        return out

    kwargs: dict[str, Any] = {
        "positives": refs("ids", "pos"),
        "negatives": refs("nids", "neg"),
        "k": int(p.get("k", K)),
        "view": p.get("view", "topk"),
        "score": p.get("score", "distance"),
    }
    if "year" in p and kwargs["view"] != "change":
        kwargs["year"] = int(p["year"])
    with terrabit.open(corpus) as c:
        return search(c, BOX, **kwargs)


def shown_ids(result: Any) -> list[str]:
    return [str(v) for v in result.shown.column("id").to_pylist()]


def solar(world: dict[str, Any], ids: list[str]) -> int:
    return sum(world["labels"][i] == "solar_farm" for i in ids)


def test_a_newcomers_loop(
    page: Any, app_server: Any, world: dict[str, Any], tmp_path: Path
) -> None:
    page.set_viewport_size({"width": 1280, "height": 800})
    url = app_server(world["corpus"])
    corpus = world["corpus"]

    # --- see: the region's patches are drawn before any search; the app says what to do
    open_app(page, url, "#bbox=" + ",".join(f"{v:g}" for v in BOX) + f"&year=2024&k={K}")
    page.wait_for_function(
        "() => / patches drawn/.test(document.querySelector('[data-testid=patch-note]')"
        ".textContent)"
    )
    assert "Left-click the map" in status(page)
    page.screenshot(path="/tmp/terrabit-loop-1-see.png")

    # --- pick: go to a 2024 solar farm and click it on the map
    with terrabit.open(corpus) as c:
        table = c.read(BOX, columns=["id", "bbox"])
    farm = sorted(
        i
        for i in table["id"].to_pylist()
        if i.endswith("-2024") and world["labels"][i] == "solar_farm"
    )[0]
    box = table.filter(pc.equal(table["id"], farm))["bbox"][0].as_py()
    lon, lat = (box["xmin"] + box["xmax"]) / 2, (box["ymin"] + box["ymax"]) / 2
    page.fill("#goto-input", f"{lat:.6f}, {lon:.6f}")
    page.keyboard.press("Enter")
    page.wait_for_timeout(1200)
    for _ in range(2):
        page.get_by_role("button", name="Zoom in").click()
    page.wait_for_timeout(900)
    assert click_map_centre(page) == "done", status(page)
    chip = page.locator("[data-testid=positives] .chip").first
    assert farm in chip.inner_text()

    # --- find: the list is Python's ranking for the same query; mostly solar farms
    expected = python_expected(corpus, page)
    found = [i for i, _ in result_rows(page)]
    assert found == shown_ids(expected)
    first = solar(world, found)
    assert first >= K // 2, [world["labels"][i] for i in found]
    page.wait_for_timeout(900)  # the flight to the results has ended
    page.screenshot(path="/tmp/terrabit-loop-2-find.png")

    # --- confirm / reject: ✓ a solar farm, ✗ the first miss (or the last row)
    hit = next(i for i in found if world["labels"][i] == "solar_farm")
    before = runs(page)
    page.locator(f"[data-testid=result-row][data-id='{hit}'] [data-testid=mark-positive]").click()
    assert wait_for_run(page, before) == "done", status(page)
    now = [i for i, _ in result_rows(page)]
    miss = next((i for i in now if world["labels"][i] != "solar_farm"), now[-1])
    before = runs(page)
    page.locator(f"[data-testid=result-row][data-id='{miss}'] [data-testid=mark-negative]").click()
    assert wait_for_run(page, before) == "done", status(page)
    assert page.locator("[data-testid=positives] .chip").count() == 2
    assert page.locator("[data-testid=negatives] .chip").count() == 1
    expected = python_expected(corpus, page)
    assert [i for i, _ in result_rows(page)] == shown_ids(expected)
    page.screenshot(path="/tmp/terrabit-loop-3-labels.png")

    # --- classify: a logistic regression on the labels; the list is Python's, by probability
    before = runs(page)
    page.select_option("#score", "classifier")
    assert wait_for_run(page, before) == "done", status(page)
    expected = python_expected(corpus, page)
    classified = [i for i, _ in result_rows(page)]
    assert classified == shown_ids(expected)
    assert solar(world, classified) >= K // 2, [world["labels"][i] for i in classified]
    assert (
        page.locator("[data-testid=classifier-note]")
        .inner_text()
        .startswith("Classifier fitted on 2 positives, 1 negative")
    )
    page.screenshot(path="/tmp/terrabit-loop-4-classify.png")

    # --- change: the places that became most like the examples between 2023 and 2024
    before = runs(page)
    page.select_option("#view", "change")
    assert wait_for_run(page, before) == "done", status(page)
    expected = python_expected(corpus, page)
    changed = [i for i, _ in result_rows(page)]
    assert changed == shown_ids(expected)
    assert solar(world, changed) >= K // 2  # new solar farms: 2024 rows that are farms
    assert "became more like the examples" in page.locator("[data-testid=legend]").inner_text()
    page.screenshot(path="/tmp/terrabit-loop-5-change.png")

    # --- export: training data (examples, results, codes and a spatial split)
    page.locator("[data-testid=export-codes]").check()
    with page.expect_download() as info:
        page.locator("[data-testid=export]").click()
    out = tmp_path / "training.parquet"
    info.value.save_as(out)
    exported = pq.read_table(out)
    roles = exported["role"].to_pylist()
    assert roles == ["positive", "positive", "negative"] + ["result"] * len(changed)
    assert exported["id"].to_pylist()[3:] == changed
    assert set(exported["split"].to_pylist()) <= {"train", "validation"}
    assert all(len(c) == 16 for c in exported["code"].to_pylist())  # 128 bits
    assert exported["label"].to_pylist()[3:] == [world["labels"][i] for i in changed]
    assert_clean(page)

"""A pixel corpus (the world's AEF tiles pooled to 8 x 8 px blocks) in the browser app: the
year's blocks are drawn and clickable, a click finds similar blocks, and the change view
pairs the annual layers; each list is Python's ``terrabit.search`` for the URL's query.

Screenshots: ``/tmp/terrabit-pixels-*.png``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow.compute as pc
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

#: lon/lat box of the tiles (sea at its south-west, two UTM zones), as tests/pixels uses.
BOX = (-66.025, 45.246, -65.99, 45.263)
K = 10


@pytest.fixture(scope="module")
def pixels(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from terrabit.pixels import publish_pixels
    from terrabit.world.aef import write_aef_tiles

    root = tmp_path_factory.mktemp("pixels-web")
    info = write_aef_tiles(
        root / "aef", seed=0, bbox=BOX, years=[2023, 2024], tile_px=128, show_progress=False
    )
    publish_pixels(root / "pixels", index=info["index"], patch_px=8, show_progress=False)
    return root / "pixels"


def python_ids(corpus: Path, page: Any) -> list[str]:
    """Python's shown ids for the query in the page's URL (one positive point)."""
    p = hash_params(page)
    lon, lat = (float(v) for v in p["pos"].split(","))
    bbox = tuple(float(v) for v in p["bbox"].split(","))
    kwargs: dict[str, Any] = {"k": int(p["k"]), "view": p.get("view", "topk")}
    if "year" in p:
        kwargs["year"] = int(p["year"])
    with terrabit.open(corpus) as c:
        found = search(c, bbox, positives=[(lon, lat)], **kwargs)
    return [str(v) for v in found.shown.column("id").to_pylist()]


def test_a_pixel_corpus_open_find_and_change(page: Any, app_server: Any, pixels: Path) -> None:
    url = app_server(pixels)
    with terrabit.open(pixels) as c:
        table = c.read(BOX, columns=["id", "bbox"])
    ids = table["id"].to_pylist()
    of_2024 = sorted(i for i in ids if i.endswith("-2024"))

    # --- open: the region's blocks of the year searched, drawn (not both years' on one spot)
    open_app(page, url, "#bbox=" + ",".join(f"{v:g}" for v in BOX) + f"&year=2024&k={K}")
    page.wait_for_function(
        "(n) => document.querySelector('[data-testid=patch-note]').textContent"
        ".startsWith(n.toLocaleString() + ' patches drawn')",
        arg=len(of_2024),
    )
    page.screenshot(path="/tmp/terrabit-pixels-1-open.png")

    # --- pick a block on the map: it resolves to that block's 2024 row
    block = of_2024[len(of_2024) // 2]
    box = table.filter(pc.equal(table["id"], block))["bbox"][0].as_py()
    lon, lat = (box["xmin"] + box["xmax"]) / 2, (box["ymin"] + box["ymax"]) / 2
    page.fill("#goto-input", f"{lat:.6f}, {lon:.6f}")
    page.keyboard.press("Enter")
    page.wait_for_timeout(1200)
    assert click_map_centre(page) == "done", status(page)
    assert block in page.locator("[data-testid=positives] .chip").first.inner_text()

    # --- find: Python's ranking for the same query, all of 2024
    found = [i for i, _ in result_rows(page)]
    assert found == python_ids(pixels, page)
    assert len(found) == K and all(i.endswith("-2024") for i in found)
    page.screenshot(path="/tmp/terrabit-pixels-2-find.png")

    # --- change: each row a block of 2024 paired with its own 2023 layer, as Python ranks
    before = runs(page)
    page.select_option("#view", "change")
    assert wait_for_run(page, before) == "done", status(page)
    changed = [i for i, _ in result_rows(page)]
    assert changed == python_ids(pixels, page) and len(changed) == K
    assert all(i.rsplit("-", 1)[0] + "-2023" in ids for i in changed)
    assert "2023 → 2024" in page.locator("[data-testid=legend]").inner_text()
    page.screenshot(path="/tmp/terrabit-pixels-3-change.png")
    assert_clean(page)

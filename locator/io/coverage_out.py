"""Coverage and plans out (issue 19): the API's JSON, GeoJSON, CSV and GeoPackage.

JSON, GeoJSON and CSV are written here without geopandas (an API answer must not load it);
only the GeoPackage imports it, inside coverage_gpkg. Every output names its source (GeoNames,
CC BY 4.0) and the data's limits. CSV cells a spreadsheet would run as formulas are guarded
(io/features.py guard_cell): settlement names come from files planners import.
"""

from __future__ import annotations

import csv
import io
import os
import tempfile
from typing import Any

from locator.domain.point import format_time
from locator.io.features import guard_cell
from locator.search.coverage import GEONAMES_CREDIT, GEONAMES_LIMITS, Coverage, Need, Reach, Totals

COLUMNS = (
    "name",
    "name_en",
    "region",
    "lat",
    "lon",
    "population",
    "source",
    "covered",
    "distance_m",
    "nearest_point",
)


def need_document(need: Need) -> dict[str, Any]:
    return {
        "services": sorted(need.services),
        "status": need.status,
        "kinds": need.kinds,
        "distance_km": need.distance_km,
        "at": format_time(need.at) if need.at else None,
    }


def source_document(imported: str = "") -> dict[str, str]:
    """Where the settlements come from and what they cannot tell."""
    if imported:
        return {"settlements": imported, "credit": "", "limits": "as the imported file states"}
    return {"settlements": "geonames", "credit": GEONAMES_CREDIT, "limits": GEONAMES_LIMITS}


def totals_document(totals: Totals) -> dict[str, int]:
    return {
        "settlements": totals.settlements,
        "covered_settlements": totals.covered_settlements,
        "uncovered_settlements": totals.uncovered_settlements,
        "population": totals.population,
        "covered_population": totals.covered_population,
        "uncovered_population": totals.uncovered_population,
    }


def reach_row(reach: Reach) -> dict[str, Any]:
    place = reach.settlement
    return {
        "name": place.name,
        "name_en": place.name_en,
        "region": place.region,
        "lat": place.lat,
        "lon": place.lon,
        "population": place.population,
        "source": place.source,
        "covered": reach.covered,
        "distance_m": None if reach.distance_m is None else round(reach.distance_m, 1),
        "nearest_point": reach.point_id,
    }


def coverage_document(result: Coverage, limit: int, imported: str = "") -> dict[str, Any]:
    """The JSON answer: need, moment, totals (country, regions), the first ``limit`` uncovered
    settlements by population, and the source's credit and limits."""
    uncovered = result.uncovered
    return {
        "need": need_document(result.need),
        "moment": format_time(result.moment),
        "country": totals_document(result.country),
        "regions": [{"region": name} | totals_document(t) for name, t in result.regions.items()],
        "uncovered": [reach_row(r) for r in uncovered[:limit]],
        "uncovered_total": len(uncovered),
        "source": source_document(imported),
    }


def coverage_geojson(result: Coverage, imported: str = "") -> dict[str, Any]:
    """Every settlement as a GeoJSON Point feature, covered or not (the map's layer)."""
    features = []
    for reach in result.reaches:
        properties = reach_row(reach)
        lat, lon = properties.pop("lat"), properties.pop("lon")
        features.append(
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [lon, lat]},
                "properties": properties,
            }
        )
    return {
        "type": "FeatureCollection",
        "features": features,
        "need": need_document(result.need),
        "moment": format_time(result.moment),
        "source": source_document(imported),
    }


def coverage_csv(result: Coverage, imported: str = "") -> str:
    """Every settlement, one row each, formulas guarded; the source's credit and limits are the
    last line, one cell beginning with "#"."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for reach in result.reaches:
        row = reach_row(reach)
        writer.writerow([guard_cell(_cell(row[name])) for name in COLUMNS])
    source = source_document(imported)
    writer.writerow([guard_cell(f"# {source['credit'] or source['settlements']}. {source['limits']}")])
    return out.getvalue()


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


def coverage_gpkg(result: Coverage, imported: str = "") -> bytes:
    """Every settlement as a GeoPackage layer "coverage" (EPSG:4326), and a table "source" with
    the credit and limits. geopandas is loaded here, on the planner's export only."""
    import geopandas as gpd
    import pandas as pd

    rows = [reach_row(r) for r in result.reaches]
    frame = gpd.GeoDataFrame(
        pd.DataFrame(rows, columns=list(COLUMNS)),
        geometry=gpd.points_from_xy([r["lon"] for r in rows], [r["lat"] for r in rows]),
        crs="EPSG:4326",
    )
    source = source_document(imported) | need_document(result.need) | {"moment": format_time(result.moment)}
    source["services"] = ",".join(source["services"])
    handle, name = tempfile.mkstemp(suffix=".gpkg")
    os.close(handle)
    try:
        os.unlink(name)  # the driver makes the file itself
        frame.to_file(name, layer="coverage", driver="GPKG")
        gpd.GeoDataFrame(pd.DataFrame([source]), geometry=[None], crs="EPSG:4326").to_file(
            name, layer="source", driver="GPKG"
        )
        with open(name, "rb") as data:
            return data.read()
    finally:
        if os.path.exists(name):
            os.unlink(name)

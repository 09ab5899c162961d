"""How residents type, folded into one comparable form.

Input may be NFC or NFD, any case, without diacritics, with đ typed as d, or with Telex/VNI
leftovers from a switched-off input method ("cais ddatj", "d9a81t"). Everything here is pure and
cheap: it runs on every search.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

_WORD_RE = re.compile(r"\w+", re.UNICODE)
_CONTROL_RE = re.compile(r"[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")
_TELEX_PAIRS = (("dd", "d"), ("aa", "a"), ("aw", "a"), ("ee", "e"), ("oo", "o"), ("ow", "o"), ("uw", "u"))
_TELEX_TONE_RE = re.compile(r"^([a-z]*[aeiouy][a-z]*?)([sfrxj])$")


def clean(text: str) -> str:
    """NFC, without control and direction characters, whitespace collapsed."""
    text = unicodedata.normalize("NFC", text)
    text = _CONTROL_RE.sub("", text)
    return " ".join(text.split())


@lru_cache(maxsize=65536)
def fold(word: str) -> str:
    """Lower case without any diacritic; đ becomes d (Unicode does not decompose đ)."""
    decomposed = unicodedata.normalize("NFD", word.lower().replace("đ", "d").replace("Đ", "d"))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def words(text: str) -> list[str]:
    """Lower-cased NFC words, diacritics kept."""
    return _WORD_RE.findall(clean(text).lower())


@lru_cache(maxsize=65536)
def untype(word: str) -> str:
    """Undo Telex or VNI leftovers in a folded word, if it looks like there are any.

    "ddatj" -> "dat", "teets" -> "tet", "d9a81t" -> "dat". Words without such marks come back as
    they are; the caller only uses this when the plain word matches nothing.
    """
    if any(ch.isdigit() for ch in word) and any(ch.isalpha() for ch in word):
        return "".join(ch for ch in word if not ch.isdigit())  # VNI: digits are marks
    out = word
    for pair, single in _TELEX_PAIRS:
        out = out.replace(pair, single)
    tone = _TELEX_TONE_RE.match(out)
    if tone and len(out) > 2:
        out = tone.group(1)
    # A tone letter typed before the final consonants: "caif" is fine above; "ddaatj" too;
    # "luwaf" -> "luaf" -> "lua". A tone in the middle ("tesst") is rare enough to ignore.
    return out.replace("w", "u")

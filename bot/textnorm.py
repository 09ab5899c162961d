"""How residents type, folded into one comparable form.

Input may be NFC or NFD, any case, without diacritics, with đ typed as d, or with Telex/VNI
leftovers from a switched-off input method ("cais ddatj", "d9a81t"); with the old or the new tone
placement ("hoà"/"hòa", "thuỷ"/"thủy", "khoẻ"/"khỏe"); with invisible format characters (soft
hyphen, zero-width space, direction overrides) or full-width forms ("ｖｎｅｉｄ") pasted in. Everything
here is pure and cheap: it runs on every search.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import phonenumbers

_WORD_RE = re.compile(r"\w+", re.UNICODE)
_TONES = "\u0300\u0301\u0303\u0309\u0323"  # huyền, sắc, ngã, hỏi, nặng (combining, after NFD)
# An open syllable "oa", "oe" or "uy" with its tone on the second vowel (the old placement: "hoà",
# "khoẻ", "thuỷ") is written with the tone on the first one ("hòa", "khỏe", "thủy"), as the guides are.
_OLD_TONE_RE = re.compile(f"(?<![qQ])([oO])([aAeE])([{_TONES}])$|(?<![qQ])([uU])([yY])([{_TONES}])$")
_TELEX_PAIRS = (("dd", "d"), ("aa", "a"), ("aw", "a"), ("ee", "e"), ("oo", "o"), ("ow", "o"), ("uw", "u"))
_LOWER_LETTERS_RE = re.compile(r"[a-z]+")


def _invisible(ch: str) -> bool:
    """A control or format character (Unicode Cc or Cf: soft hyphen, zero-width space and joiners, direction
    marks and overrides, BOM…), except the whitespace controls that separate words."""
    return unicodedata.category(ch) in ("Cc", "Cf") and not ch.isspace()


_ASCII_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_FULL_WIDTH = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}


def clean(text: str) -> str:
    """NFC, full-width forms folded to ASCII, without control and format characters, whitespace collapsed."""
    text = unicodedata.normalize("NFC", text.translate(_FULL_WIDTH))
    if text.isascii():  # the common case, cheap: only C0 controls and DEL can hide there
        text = _ASCII_CONTROL_RE.sub("", text)
    else:
        text = "".join(ch for ch in text if not _invisible(ch))
    return " ".join(text.split())


@lru_cache(maxsize=65536)
def retone(word: str) -> str:
    """One tone placement for "oa", "oe", "uy" at the end of a word: "hoà" → "hòa", "thuỷ" → "thủy"
    (after "q" the "u" is part of the consonant, so "quý" stays)."""
    decomposed = unicodedata.normalize("NFD", word)
    moved = _OLD_TONE_RE.sub(lambda m: (m[1] + m[3] + m[2]) if m[1] else (m[4] + m[6] + m[5]), decomposed)
    return word if moved == decomposed else unicodedata.normalize("NFC", moved)


@lru_cache(maxsize=65536)
def fold(word: str) -> str:
    """Lower case without any diacritic; đ becomes d (Unicode does not decompose đ)."""
    decomposed = unicodedata.normalize("NFD", word.lower().replace("đ", "d").replace("Đ", "d"))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def words(text: str) -> list[str]:
    """Lower-cased NFC words, diacritics kept (the tone in one placement, see `retone`)."""
    return [retone(w) for w in _WORD_RE.findall(clean(text).lower())]


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
    # a tone letter at the end of letters holding a vowel: tested without a regex, whose nested stars took
    # minutes on one long word ("a" repeated: every split of it tried), holding up the process
    if len(out) > 2 and out[-1] in "sfrxj" and _LOWER_LETTERS_RE.fullmatch(out) and any(
            v in out[:-1] for v in "aeiouy"):
        out = out[:-1]
    # A tone letter typed before the final consonants: "caif" is fine above; "ddaatj" too;
    # "luwaf" -> "luaf" -> "lua". A tone in the middle ("tesst") is rare enough to ignore.
    return out.replace("w", "u")


# --- numbers in free text ---------------------------------------------------------------------------
_DIGIT_RUN = re.compile(r"\d(?:[\s.\-]?\d){3,}")  # four digits or more, spaces, dots or dashes between them


def mask_digits(text: str, mark: str = "#") -> str:
    """Every run of four or more digits ("0901 234 567", "2024", "123456") replaced by `mark`: for text
    that is kept without its author (the search log), where a number can only be personal."""
    return _DIGIT_RUN.sub(mark, text)


def phone_e164(text: str) -> str | None:
    """A phone number, typed or shared, in E.164 ("+84901234567"); None if it is not a valid Vietnamese or
    international number. "0901 234 567", "+84 90 123 4567" and "84901234567" (a shared contact without
    its "+") all give "+84901234567"."""
    text = clean(text)
    if not text or len(text) > 32 or not re.fullmatch(r"[+\d\s().\-]+", text):
        return None
    tries = [text] if text.startswith("+") else [text, "+" + text]
    for candidate in tries:
        try:
            number = phonenumbers.parse(candidate, "VN")
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(number):
            return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return None


def replace_phones(text: str, mark: str) -> str:
    """Every valid phone number in a text (any country, written any usual way) replaced by `mark`."""
    matches = list(phonenumbers.PhoneNumberMatcher(text, "VN", leniency=phonenumbers.Leniency.VALID))
    for match in reversed(matches):
        text = text[:match.start] + mark + text[match.end:]
    return text


def has_phone(text: str) -> bool:
    """Whether a text (a name, say) contains a valid Vietnamese or international phone number."""
    text = clean(text)
    return any(True for _ in phonenumbers.PhoneNumberMatcher(text, "VN", leniency=phonenumbers.Leniency.VALID)) \
        or any(phone_e164(run.group()) for run in _DIGIT_RUN.finditer(text))

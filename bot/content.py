"""Guides, categories, wards, support points, phone lines and outcomes: plain TOML files under content/.

Ward officers edit these files; `python -m bot content check` tells them, file by file and
field by field, what is wrong. The loader refuses nothing silently: the app loads only content
that passes the check.
"""

from __future__ import annotations

import math
import re
import tomllib
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from bot.config import LOCALES

MIN_STEPS, MAX_STEPS = 4, 10  # short enough for a small screen, long enough to be worth a guide
ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,48}$")  # a deep-link parameter (<= 64) short enough for buttons
MAX_SENTENCE_WORDS = 25  # older readers on a small screen: one short sentence at a time
SENTENCE_END = re.compile(r"[.!?]")
REVIEW_WARN = timedelta(days=183)  # about 6 months: print a warning
REVIEW_FAIL = timedelta(days=365)  # 12 months: the guide must be checked again before it ships
# Vietnamese numbers a resident can dial: 3-4 digit short codes (1022), 1800/1900 lines (8 or 10 digits),
# or 0 + 9-10 digits. Spaces between groups are allowed ("1900 0368").
PHONE_RE = re.compile(r"^(?:\d{3,4}|1[89]00(?:\d{4}|\d{6})|0\d{9,10})$")


@dataclass(frozen=True)
class Text:
    """One piece of text in every language."""

    vi: str
    en: str

    def get(self, locale: str) -> str:
        return self.en if locale == "en" else self.vi


@dataclass(frozen=True)
class Step:
    text: Text
    warning: Text | None = None
    image: Path | None = None


@dataclass(frozen=True)
class Guide:
    id: str
    category: str
    title: Text
    summary: Text
    steps: tuple[Step, ...]
    keywords: Text  # space-joined keywords per language
    synonyms: tuple[str, ...]
    source: str
    reviewed: str


@dataclass(frozen=True)
class Category:
    id: str
    emoji: str
    name: Text


@dataclass(frozen=True)
class Ward:
    id: str
    name: Text
    aliases: tuple[str, ...]  # old ward names it took in (some old names point to several wards)


@dataclass(frozen=True)
class SupportPoint:
    id: str
    ward: str
    name: Text
    address: str
    hours: Text
    lat: float
    lon: float
    services: Text
    verified: bool


@dataclass(frozen=True)
class PhoneLine:
    """A phone line a resident may call, shown on the "reach a person" screen."""

    id: str
    number: str  # as dialled and shown, e.g. "1900 0368"
    name: Text
    purpose: Text  # what it is for; shown after the number ("1022: ...")
    hours: Text | None
    source: str  # an https link or a named source (newspaper, date)
    verified: bool


@dataclass(frozen=True)
class Outcome:
    """Something a resident achieved (content/outcomes.toml), counted per ward and day."""

    id: str
    name: Text
    categories: tuple[str, ...]  # guide categories it belongs to; empty = any topic
    guides: tuple[str, ...]  # guides whose end asks "Did you do it?" for it


@dataclass
class Content:
    categories: dict[str, Category] = field(default_factory=dict)
    guides: dict[str, Guide] = field(default_factory=dict)
    wards: dict[str, Ward] = field(default_factory=dict)
    points: dict[str, SupportPoint] = field(default_factory=dict)
    phone_lines: dict[str, PhoneLine] = field(default_factory=dict)  # in file order
    outcomes: dict[str, Outcome] = field(default_factory=dict)  # in file order
    warnings: list[str] = field(default_factory=list)  # not failures, e.g. a guide due for review

    def guides_in(self, category_id: str) -> list[Guide]:
        return [g for g in self.guides.values() if g.category == category_id]

    def nearest_points(self, lat: float, lon: float, n: int = 3) -> list[tuple[SupportPoint, float]]:
        """The n support points closest to (lat, lon), with their distance in km."""
        ranked = sorted((distance_km(lat, lon, p.lat, p.lon), p.id) for p in self.points.values())
        return [(self.points[pid], km) for km, pid in ranked[:n]]


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine); plenty precise inside one city."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371.0 * math.asin(math.sqrt(a))


class ContentError(Exception):
    def __init__(self, problems: list[str]):
        super().__init__(f"{len(problems)} content problem(s):\n" + "\n".join(problems))
        self.problems = problems


class _Checker:
    """Collects every problem instead of stopping at the first one."""

    def __init__(self, root: Path, today: date):
        self.root = root
        self.today = today
        self.problems: list[str] = []
        self.stale: list[str] = []  # guides not reviewed for 12 months: problems for the check only
        self.warnings: list[str] = []

    def _where(self, path: Path, where: str, what: str) -> str:
        shown = path.relative_to(self.root.parent) if path.is_relative_to(self.root.parent) else path
        return f"{shown}: {where}: {what}"

    def problem(self, path: Path, where: str, what: str) -> None:
        self.problems.append(self._where(path, where, what))

    def warning(self, path: Path, where: str, what: str) -> None:
        self.warnings.append(self._where(path, where, what))

    def read(self, path: Path) -> dict | None:
        try:
            return tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError) as exc:
            self.problem(path, "file", f"cannot read ({exc.__class__.__name__})")
        except tomllib.TOMLDecodeError as exc:
            self.problem(path, "file", f"not valid TOML ({exc})")
        return None

    def text(self, path: Path, data: dict, key: str, *, required: bool = True) -> Text | None:
        """A {vi, en} table (or vi/en keys on an item); both languages required."""
        value = data.get(key)
        if value is None:
            if required:
                self.problem(path, key, "missing (needs vi and en)")
            return None
        if not isinstance(value, dict):
            self.problem(path, key, "must have vi and en")
            return None
        out = {}
        for lang in LOCALES:
            s = value.get(lang)
            if not isinstance(s, str) or not s.strip():
                self.problem(path, f"{key}.{lang}", "missing or empty")
            else:
                out[lang] = s.strip()
        return Text(**out) if len(out) == len(LOCALES) else None

    def ident(self, path: Path, where: str, value: object) -> str | None:
        if not isinstance(value, str) or not ID_RE.match(value):
            self.problem(path, where, "must be 1-48 characters of A-Z a-z 0-9 _ - (deep links and buttons carry it)")
            return None
        return value

    def https(self, path: Path, where: str, value: object) -> None:
        if not isinstance(value, str) or not re.match(r"^https://[^\s/]+\.[^\s]+$", value):
            self.problem(path, where, f"must be an https:// link, got {value!r}")

    def sentences(self, path: Path, where: str, text: Text | None) -> None:
        """Every sentence (split on . ! ?) at most MAX_SENTENCE_WORDS words, in every language."""
        if text is None:
            return
        for lang in LOCALES:
            for sentence in SENTENCE_END.split(text.get(lang)):
                words = len(sentence.split())
                if words > MAX_SENTENCE_WORDS:
                    self.problem(path, f"{where}.{lang}", f"a sentence has {words} words (at most "
                                 f"{MAX_SENTENCE_WORDS}); split it: {' '.join(sentence.split()[:6])}…")

    def reviewed(self, path: Path, value: object) -> str:
        """The date a person last checked the guide against its source: warn at 6 months, refuse at 12."""
        if value is None:
            self.problem(path, "reviewed", "missing: the date someone last checked the guide, like 2026-11-28")
            return ""
        text = str(value)
        try:
            when = date.fromisoformat(text) if re.match(r"^\d{4}-\d{2}-\d{2}$", text) else None
        except ValueError:
            when = None
        if when is None:
            self.problem(path, "reviewed", "must be a date like 2026-11-28")
        elif when > self.today + timedelta(days=1):
            self.problem(path, "reviewed", f"{text} is in the future")
        elif self.today - when > REVIEW_FAIL:
            self.stale.append(self._where(path, "reviewed", f"{text} is more than 12 months ago; check the guide "
                                          "against its source and update the date"))
        elif self.today - when > REVIEW_WARN:
            self.warning(path, "reviewed", f"{text} is more than 6 months ago; check the guide again soon")
        return text

    def source(self, path: Path, where: str, value: object) -> str | None:
        """A link must be https; otherwise a named source (a newspaper and date) is accepted."""
        if not isinstance(value, str) or not value.strip():
            self.problem(path, where, "missing: an https:// link or a named source")
            return None
        value = value.strip()
        if "://" in value or value.lower().startswith("www."):
            self.https(path, where, value)
        return value

    def strings(self, path: Path, where: str, value: object) -> tuple[str, ...]:
        if value is None:
            return ()
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.problem(path, where, "must be a list of text in quotes")
            return ()
        return tuple(v.strip() for v in value if v.strip())


def _load_categories(c: _Checker, content: Content) -> None:
    path = c.root / "categories.toml"
    data = c.read(path) or {}
    for i, item in enumerate(data.get("category", []), 1):
        cid = c.ident(path, f"category {i}.id", item.get("id"))
        name = c.text(path, {"name": {k: item.get(k) for k in LOCALES}}, "name")
        emoji = item.get("emoji")
        if not isinstance(emoji, str) or not emoji.strip():
            c.problem(path, f"category {i}.emoji", "missing")
        if cid and cid in content.categories:
            c.problem(path, f"category {i}.id", f"duplicate id {cid!r}")
        elif cid and name and emoji:
            content.categories[cid] = Category(cid, emoji.strip(), name)


def _load_guide(c: _Checker, path: Path, content: Content, seen: dict[str, Path]) -> None:
    data = c.read(path)
    if data is None:
        return
    gid = c.ident(path, "id", data.get("id"))
    if gid and gid in seen:
        c.problem(path, "id", f"duplicate id {gid!r} (also in {seen[gid].name})")
        gid = None
    elif gid:
        seen[gid] = path
    category = data.get("category")
    if category not in content.categories:
        c.problem(path, "category", f"unknown category {category!r}; see categories.toml")
    title = c.text(path, data, "title")
    summary = c.text(path, data, "summary")
    kw = data.get("keywords", {})
    keywords = Text(" ".join(c.strings(path, "keywords.vi", kw.get("vi"))),
                    " ".join(c.strings(path, "keywords.en", kw.get("en"))))
    synonyms = c.strings(path, "synonyms", data.get("synonyms"))
    source = c.source(path, "source", data.get("source"))
    reviewed = c.reviewed(path, data.get("reviewed"))
    steps: list[Step] = []
    raw_steps = data.get("steps", [])
    if not isinstance(raw_steps, list) or not raw_steps:
        c.problem(path, "steps", "a guide needs at least one [[steps]]")
        raw_steps = []
    elif not MIN_STEPS <= len(raw_steps) <= MAX_STEPS:
        c.problem(path, "steps", f"has {len(raw_steps)} step(s); a guide has {MIN_STEPS} to {MAX_STEPS} short steps")
    for n, raw in enumerate(raw_steps, 1):
        text = c.text(path, {f"steps {n}": {k: raw.get(k) for k in LOCALES}}, f"steps {n}")
        warning = c.text(path, {f"steps {n}.warning": raw["warning"]}, f"steps {n}.warning") \
            if "warning" in raw else None
        c.sentences(path, f"steps {n}", text)
        c.sentences(path, f"steps {n}.warning", warning)
        image = None
        if "image" in raw:
            image = c.root / "images" / str(raw["image"])
            if not image.is_file():
                c.problem(path, f"steps {n}.image", f"no such file content/images/{raw['image']}")
        if text:
            steps.append(Step(text, warning, image))
    if gid and title and summary and category in content.categories and len(steps) == len(raw_steps):
        content.guides[gid] = Guide(gid, category, title, summary, tuple(steps), keywords,
                                    synonyms, str(source), reviewed)


def _load_wards(c: _Checker, content: Content) -> None:
    path = c.root / "wards.toml"
    data = c.read(path) or {}
    for i, item in enumerate(data.get("ward", []), 1):
        wid = c.ident(path, f"ward {i}.id", item.get("id"))
        name = c.text(path, {"name": {k: item.get(k) for k in LOCALES}}, "name")
        aliases = c.strings(path, f"ward {i}.aliases", item.get("aliases"))
        if wid and wid in content.wards:
            c.problem(path, f"ward {i}.id", f"duplicate id {wid!r}")
        elif wid and name:
            content.wards[wid] = Ward(wid, name, aliases)


def _load_points(c: _Checker, content: Content) -> None:
    path = c.root / "support_points.toml"
    data = c.read(path) or {}
    for i, item in enumerate(data.get("point", []), 1):
        where = f"point {i}"
        pid = c.ident(path, f"{where}.id", item.get("id"))
        ward = item.get("ward")
        if ward not in content.wards:
            c.problem(path, f"{where}.ward", f"unknown ward {ward!r}; see wards.toml")
        name = c.text(path, item, "name")
        hours = c.text(path, item, "hours")
        services = c.text(path, item, "services")
        address = item.get("address")
        if not isinstance(address, str) or not address.strip():
            c.problem(path, f"{where}.address", "missing")
        lat, lon = item.get("lat"), item.get("lon")
        if not (isinstance(lat, int | float) and 8 <= lat <= 24 and isinstance(lon, int | float)
                and 102 <= lon <= 110):
            c.problem(path, f"{where}.lat/lon", "must be numbers inside Vietnam")
        verified = item.get("verified")
        if not isinstance(verified, bool):
            c.problem(path, f"{where}.verified", "must be true or false")
        if pid and pid in content.points:
            c.problem(path, f"{where}.id", f"duplicate id {pid!r}")
        elif pid and name and hours and services and ward in content.wards and address \
                and isinstance(verified, bool) and isinstance(lat, int | float):
            content.points[pid] = SupportPoint(pid, ward, name, address.strip(), hours,
                                               float(lat), float(lon), services, verified)


def _load_phone_lines(c: _Checker, content: Content) -> None:
    path = c.root / "phone_lines.toml"
    data = c.read(path) or {}
    for i, item in enumerate(data.get("line", []), 1):
        where = f"line {i}"
        lid = c.ident(path, f"{where}.id", item.get("id"))
        number = item.get("number")
        if not isinstance(number, str) or not PHONE_RE.match(number.replace(" ", "")) \
                or not re.match(r"^\d[\d ]*\d$", number):
            c.problem(path, f"{where}.number", f"not a plausible Vietnamese phone number (a short code like 1022, "
                      f"1900/1800 + 4 or 6 digits, or 0 + 9-10 digits), got {number!r}")
            number = None
        name = c.text(path, {f"{where}.name": item.get("name")}, f"{where}.name")
        purpose = c.text(path, {f"{where}.for": item.get("for")}, f"{where}.for")
        hours = c.text(path, {f"{where}.hours": item["hours"]}, f"{where}.hours") if "hours" in item else None
        source = c.source(path, f"{where}.source", item.get("source"))
        verified = item.get("verified")
        if not isinstance(verified, bool):
            c.problem(path, f"{where}.verified", "must be true or false")
        if lid and lid in content.phone_lines:
            c.problem(path, f"{where}.id", f"duplicate id {lid!r}")
        elif lid and number and name and purpose and source and isinstance(verified, bool) \
                and ("hours" not in item or hours):
            content.phone_lines[lid] = PhoneLine(lid, number, name, purpose, hours, source, verified)


def _load_outcomes(c: _Checker, content: Content, guide_ids: set[str]) -> None:
    path = c.root / "outcomes.toml"
    if not path.exists():
        return  # optional: without it the bot asks no outcome questions
    data = c.read(path) or {}
    owner: dict[str, str] = {}  # guide id -> the outcome that claims it
    for i, item in enumerate(data.get("outcome", []), 1):
        where = f"outcome {i}"
        oid = c.ident(path, f"{where}.id", item.get("id"))
        name = c.text(path, {where: {k: item.get(k) for k in LOCALES}}, where)
        categories = c.strings(path, f"{where}.categories", item.get("categories"))
        guides = c.strings(path, f"{where}.guides", item.get("guides"))
        for cat in categories:
            if cat not in content.categories:
                c.problem(path, f"{where}.categories", f"unknown category {cat!r}; see categories.toml")
        for gid in guides:
            if gid not in guide_ids:
                c.problem(path, f"{where}.guides", f"unknown guide {gid!r}; see content/guides")
            elif gid in owner:
                c.problem(path, f"{where}.guides", f"guide {gid!r} already records {owner[gid]!r}: one outcome "
                          "per guide")
            elif oid:
                owner[gid] = oid
        if oid and oid in content.outcomes:
            c.problem(path, f"{where}.id", f"duplicate id {oid!r}")
        elif oid and name:
            content.outcomes[oid] = Outcome(oid, name, categories, guides)


def check(root: Path, today: date | None = None, *, stale_is_problem: bool = True) -> tuple[Content, list[str]]:
    """Load everything under root; return what loaded and every problem found.

    `today` (default: the computer's date) dates the review check. Warnings that are not failures land in
    `content.warnings`. With stale_is_problem=False a guide not reviewed for 12 months is only a warning.
    """
    c = _Checker(root, today or date.today())
    content = Content()
    _load_categories(c, content)
    seen: dict[str, Path] = {}
    for path in sorted((root / "guides").glob("*.toml")):
        _load_guide(c, path, content, seen)
    _load_wards(c, content)
    _load_points(c, content)
    _load_phone_lines(c, content)
    # a guide file with problems of its own (even unreadable) is reported there, not again by the outcomes
    _load_outcomes(c, content, set(seen) | {p.stem for p in (root / "guides").glob("*.toml")})
    content.warnings = c.warnings + ([] if stale_is_problem else c.stale)
    return content, c.problems + (c.stale if stale_is_problem else [])


def load(root: Path, today: date | None = None) -> Content:
    """What the app runs on: refuses broken content, but a guide overdue for review does not stop the bot
    (`python -m bot content check` refuses it, so it is caught before shipping)."""
    content, problems = check(root, today, stale_is_problem=False)
    if problems:
        raise ContentError(problems)
    return content

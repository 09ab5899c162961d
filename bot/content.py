"""Guides, categories, wards and support points: plain TOML files under content/.

Ward officers edit these files; `python -m bot content check` tells them, file by file and
field by field, what is wrong. The loader refuses nothing silently: the app loads only content
that passes the check.
"""

from __future__ import annotations

import math
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from bot.config import LOCALES

MIN_STEPS, MAX_STEPS = 4, 10  # short enough for a small screen, long enough to be worth a guide
ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,48}$")  # a deep-link parameter (<= 64) short enough for buttons


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


@dataclass
class Content:
    categories: dict[str, Category] = field(default_factory=dict)
    guides: dict[str, Guide] = field(default_factory=dict)
    wards: dict[str, Ward] = field(default_factory=dict)
    points: dict[str, SupportPoint] = field(default_factory=dict)

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

    def __init__(self, root: Path):
        self.root = root
        self.problems: list[str] = []

    def problem(self, path: Path, where: str, what: str) -> None:
        shown = path.relative_to(self.root.parent) if path.is_relative_to(self.root.parent) else path
        self.problems.append(f"{shown}: {where}: {what}")

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
    source = data.get("source")
    c.https(path, "source", source)
    reviewed = str(data.get("reviewed", ""))
    if not re.match(r"^\d{4}-\d{2}-\d{2}$", reviewed):
        c.problem(path, "reviewed", "must be a date like 2026-11-28")
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


def check(root: Path) -> tuple[Content, list[str]]:
    """Load everything under root; return what loaded and every problem found."""
    c = _Checker(root)
    content = Content()
    _load_categories(c, content)
    seen: dict[str, Path] = {}
    for path in sorted((root / "guides").glob("*.toml")):
        _load_guide(c, path, content, seen)
    _load_wards(c, content)
    _load_points(c, content)
    return content, c.problems


def load(root: Path) -> Content:
    content, problems = check(root)
    if problems:
        raise ContentError(problems)
    return content

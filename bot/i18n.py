"""Babel/gettext catalogs and locale-aware formatting.

msgids are English; Vietnamese is the default locale. Each user's stored locale picks the
catalog for every message. `.mo` files are built from the `.po` files (make i18n-compile); if
they are missing or older than the `.po` (a fresh clone run without make), they are compiled here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from babel.dates import format_datetime, format_timedelta
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from babel.support import Translations

from bot.config import LOCALES, ROOT

LOCALE_DIR = ROOT / "locales"


def N_(message: str) -> str:
    """Mark a string for extraction; it is translated later, where the user's locale is known."""
    return message


def compile_catalogs(locale_dir: Path = LOCALE_DIR) -> None:
    for lang in LOCALES:
        po = locale_dir / lang / "LC_MESSAGES" / "messages.po"
        mo = po.with_suffix(".mo")
        if po.exists() and (not mo.exists() or mo.stat().st_mtime < po.stat().st_mtime):
            with po.open("rb") as f:
                catalog = read_po(f, locale=lang)
            with mo.open("wb") as f:
                write_mo(f, catalog)


@dataclass(frozen=True)
class Translator:
    """Everything a reply needs in one user's language."""

    locale: str
    gettext: Callable[[str], str]
    ngettext: Callable[[str, str, int], str]
    tz: ZoneInfo

    def datetime(self, dt: datetime) -> str:
        """Local time: "09:05 28/11/2026" in Vietnamese, "28 Nov 2026, 09:05" in English."""
        pattern = "HH:mm dd/MM/yyyy" if self.locale == "vi" else "d MMM yyyy, HH:mm"
        return format_datetime(dt.astimezone(self.tz), pattern, locale=self.locale)

    def age(self, delta: timedelta) -> str:
        """How long something has waited, in words: "5 phút", "2 giờ", "3 days"."""
        return format_timedelta(delta, threshold=1.5, locale=self.locale)

    def number(self, n: float) -> str:
        return format_decimal(n, locale=self.locale)


class I18n:
    def __init__(self, default_locale: str, tz: ZoneInfo, locale_dir: Path = LOCALE_DIR):
        compile_catalogs(locale_dir)
        self.default = default_locale
        self._translators = {}
        for lang in LOCALES:
            t = Translations.load(str(locale_dir), [lang], domain="messages")
            self._translators[lang] = Translator(lang, t.gettext, t.ngettext, tz)

    def get(self, locale: str | None) -> Translator:
        return self._translators.get(locale or self.default) or self._translators[self.default]

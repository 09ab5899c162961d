import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from babel.messages.pofile import read_po

from bot.config import LOCALES
from bot.i18n import LOCALE_DIR, I18n

PLACEHOLDER = re.compile(r"\{[a-z_]*\}")


def catalog(lang: str):
    with (LOCALE_DIR / lang / "LC_MESSAGES" / "messages.po").open("rb") as f:
        return read_po(f, locale=lang)


def template_ids() -> set[str]:
    with (LOCALE_DIR / "messages.pot").open("rb") as f:
        return {m.id for m in read_po(f) if m.id}


@pytest.mark.parametrize("lang", LOCALES)
def test_every_message_is_translated_with_the_same_placeholders(lang):
    cat = catalog(lang)
    ids = template_ids()
    assert ids, "messages.pot is empty"
    problems = []
    for msgid in ids:
        message = cat.get(msgid)
        if message is None or not message.string:
            problems.append(f"untranslated: {msgid!r}")
        elif message.fuzzy:
            problems.append(f"fuzzy: {msgid!r}")
        elif sorted(PLACEHOLDER.findall(msgid)) != sorted(PLACEHOLDER.findall(message.string)):
            problems.append(f"placeholders differ: {msgid!r} -> {message.string!r}")
    assert problems == []


def test_template_matches_the_code():
    """messages.pot is extracted from the code: a string added without `make i18n-update` fails here."""
    import subprocess
    import sys
    import tempfile

    from tests.conftest import ROOT

    with tempfile.TemporaryDirectory() as tmp:
        out = f"{tmp}/m.pot"
        subprocess.run([sys.executable, "-m", "babel.messages.frontend", "extract", "-F", "babel.cfg", "-k", "N_",
                        "-o", out, "--no-location", "--sort-output", "."],
                       capture_output=True, cwd=ROOT, check=True, timeout=120)
        with open(out, "rb") as f:
            extracted = {m.id for m in read_po(f) if m.id}
    assert extracted == template_ids()


def test_dates_and_numbers_follow_the_locale():
    i18n = I18n("vi", ZoneInfo("Asia/Ho_Chi_Minh"))
    moment = datetime(2026, 11, 28, 2, 5, tzinfo=UTC)
    assert i18n.get("vi").datetime(moment) == "09:05 28/11/2026"
    assert i18n.get("en").datetime(moment) == "28 Nov 2026, 09:05"
    assert i18n.get("vi").number(1234.5) == "1.234,5"
    assert i18n.get("en").number(1234.5) == "1,234.5"
    assert i18n.get(None).locale == "vi"
    assert i18n.get("vi").gettext("🔎 Search") == "🔎 Tìm kiếm"

import shutil
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest

from bot.content import check, load
from tests.conftest import ROOT

CONTENT = ROOT / "content"


def test_shipped_content_passes_the_check():
    content, problems = check(CONTENT)
    assert problems == []
    assert {"vneid-install", "vietqr-pay", "scam-calls"} <= set(content.guides)
    assert all(g.category in content.categories for g in content.guides.values())
    assert {p.ward for p in content.points.values()} == set(content.wards)  # every ward has a point
    assert [(line.number, line.verified) for line in content.phone_lines.values()] == [
        ("1022", True), ("1900 0368", True)]
    assert check(CONTENT, date(2026, 11, 29))[0].warnings == []  # every guide reviewed within 6 months then


def test_cli_check_succeeds_on_shipped_content():
    result = subprocess.run([sys.executable, "-m", "bot", "content", "check"], cwd=ROOT, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("Content OK:")


@pytest.fixture
def broken(tmp_path: Path) -> Path:
    root = tmp_path / "content"
    shutil.copytree(CONTENT, root)
    return root


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path.name}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def problems_of(root: Path) -> list[str]:
    return check(root)[1]


def test_missing_english_title_is_reported_with_file_and_field(broken):
    guide = broken / "guides" / "vneid-install.toml"
    edit(guide, 'en = "Install VNeID', 'xx = "Install VNeID')
    assert problems_of(broken) == ["content/guides/vneid-install.toml: title.en: missing or empty"]


def test_duplicate_id(broken):
    shutil.copy(broken / "guides" / "vneid-install.toml", broken / "guides" / "zz-copy.toml")
    assert any("zz-copy.toml: id: duplicate id 'vneid-install'" in p for p in problems_of(broken))


def test_unknown_category(broken):
    edit(broken / "guides" / "vneid-install.toml", 'category = "vneid"', 'category = "nope"')
    assert problems_of(broken) == [
        "content/guides/vneid-install.toml: category: unknown category 'nope'; see categories.toml"]


def test_broken_image_path(broken):
    edit(broken / "guides" / "vneid-install.toml", "[[steps]]\n", '[[steps]]\nimage = "missing.png"\n')
    assert problems_of(broken) == [
        "content/guides/vneid-install.toml: steps 1.image: no such file content/images/missing.png"]


def test_non_https_link(broken):
    edit(broken / "guides" / "vneid-level2.toml", 'source = "https://', 'source = "http://')
    problems = problems_of(broken)
    assert len(problems) == 1 and "source: must be an https:// link" in problems[0]


def test_id_must_fit_a_deep_link(broken):
    edit(broken / "guides" / "vneid-install.toml", 'id = "vneid-install"', 'id = "vneid install!"')
    assert any("vneid-install.toml: id: must be 1-48 characters" in p for p in problems_of(broken))


def test_cli_exits_non_zero_and_names_each_problem(broken):
    edit(broken / "guides" / "vneid-install.toml", 'category = "vneid"', 'category = "nope"')
    result = subprocess.run([sys.executable, "-m", "bot", "content", "check"], cwd=ROOT, capture_output=True,
                            text=True, env={"PATH": "/usr/bin:/bin", "CONTENT_DIR": str(broken)}, timeout=60)
    assert result.returncode == 1
    assert "vneid-install.toml: category: unknown category 'nope'" in result.stdout
    assert "1 problem(s) found." in result.stderr


def test_load_refuses_broken_content(broken):
    edit(broken / "guides" / "vneid-install.toml", 'category = "vneid"', 'category = "nope"')
    with pytest.raises(Exception, match="unknown category"):
        load(broken)


def test_a_guide_has_four_to_ten_steps(broken):
    guide = broken / "guides" / "vneid-install.toml"
    text = guide.read_text(encoding="utf-8")
    first_step = text.index("[[steps]]")
    guide.write_text(text[:first_step] + text[first_step:].split("[[steps]]", 2)[1].join(["[[steps]]", ""]),
                     encoding="utf-8")
    assert problems_of(broken) == [
        "content/guides/vneid-install.toml: steps: has 1 step(s); a guide has 4 to 10 short steps"]


TODAY = date(2026, 11, 29)


def test_a_step_sentence_over_25_words_is_rejected(broken):
    long = " ".join(["từ"] * 26)
    edit(broken / "guides" / "vneid-install.toml", 'vi = "Bấm cài đặt.', f'vi = "{long}. Bấm cài đặt.')
    assert problems_of(broken) == [
        "content/guides/vneid-install.toml: steps 2.vi: a sentence has 26 words (at most 25); split it: "
        "từ từ từ từ từ từ…"]


def test_25_words_split_over_two_sentences_pass(broken):
    half = " ".join(["word"] * 20)
    edit(broken / "guides" / "vneid-install.toml", 'en = "Tap install.', f'en = "{half}! {half}? Tap install.')
    assert problems_of(broken) == []


def test_a_long_sentence_in_a_warning_is_rejected(broken):
    long = " ".join(["word"] * 30)
    edit(broken / "guides" / "vneid-install.toml", 'warning.en = "Only install', f'warning.en = "{long}. Only install')
    assert problems_of(broken) == [
        "content/guides/vneid-install.toml: steps 1.warning.en: a sentence has 30 words (at most 25); split it: "
        "word word word word word word…"]


def test_a_guide_without_reviewed_is_rejected(broken):
    edit(broken / "guides" / "vneid-install.toml", 'reviewed = "2026-11-29"\n', "")
    assert check(broken, TODAY)[1] == [
        "content/guides/vneid-install.toml: reviewed: missing: the date someone last checked the guide, "
        "like 2026-11-28"]


def test_a_guide_reviewed_over_12_months_ago_is_rejected_but_the_bot_still_starts(broken):
    edit(broken / "guides" / "vneid-install.toml", 'reviewed = "2026-11-29"', 'reviewed = "2025-11-28"')
    problem = ("content/guides/vneid-install.toml: reviewed: 2025-11-28 is more than 12 months ago; "
               "check the guide against its source and update the date")
    assert check(broken, TODAY)[1] == [problem]
    assert check(broken, date(2026, 11, 28))[1] == []  # exactly 365 days: still fine
    assert load(broken, TODAY).warnings == [problem]  # running the bot is not stopped by a date


def test_a_guide_reviewed_over_6_months_ago_is_only_a_warning(broken):
    edit(broken / "guides" / "vneid-install.toml", 'reviewed = "2026-11-29"', 'reviewed = "2026-05-01"')
    content, problems = check(broken, TODAY)
    assert problems == []
    assert content.warnings == [
        "content/guides/vneid-install.toml: reviewed: 2026-05-01 is more than 6 months ago; check the guide again soon"]


@pytest.mark.parametrize("reviewed", ["2026-13-01", "28/11/2026", "2027-01-01"])
def test_reviewed_must_be_a_real_past_date(broken, reviewed):
    edit(broken / "guides" / "vneid-install.toml", 'reviewed = "2026-11-29"', f'reviewed = "{reviewed}"')
    [problem] = check(broken, TODAY)[1]
    assert problem.startswith("content/guides/vneid-install.toml: reviewed: ")


def test_cli_prints_a_review_warning_but_succeeds(broken):
    old = (date.today() - timedelta(days=200)).isoformat()
    edit(broken / "guides" / "vneid-install.toml", 'reviewed = "2026-11-29"', f'reviewed = "{old}"')
    result = subprocess.run([sys.executable, "-m", "bot", "content", "check"], cwd=ROOT, capture_output=True,
                            text=True, env={"PATH": "/usr/bin:/bin", "CONTENT_DIR": str(broken)}, timeout=60)
    assert result.returncode == 0
    assert result.stdout.startswith("Content OK:") and "2 phone lines" in result.stdout
    assert f"warning: content/guides/vneid-install.toml: reviewed: {old} is more than 6 months ago" in result.stderr


def test_a_guide_source_may_be_named_but_a_link_must_be_https(broken):
    guide = broken / "guides" / "vneid-level2.toml"
    edit(guide, 'source = "https://vneid.gov.vn"', 'source = "Znews, 19/8/2025"')
    assert problems_of(broken) == []
    edit(guide, 'source = "Znews, 19/8/2025"', 'source = "www.vneid.gov.vn"')
    assert problems_of(broken) == [
        "content/guides/vneid-level2.toml: source: must be an https:// link, got 'www.vneid.gov.vn'"]


def test_phone_line_source_link_must_be_https(broken):
    edit(broken / "phone_lines.toml", 'source = "Znews', 'source = "http://znews.vn Znews')
    [problem] = problems_of(broken)
    assert problem.startswith("content/phone_lines.toml: line 2.source: must be an https:// link")


@pytest.mark.parametrize("number", ["1022", "113", "1900 0368", "1900 123 456", "1800 1234", "0912 345 678",
                                    "0283 123 4567"])
def test_plausible_vietnamese_numbers_pass(broken, number):
    edit(broken / "phone_lines.toml", 'number = "1900 0368"', f'number = "{number}"')
    assert problems_of(broken) == []


@pytest.mark.parametrize("number", ["12", "10222", "1900 03", "912 345 678", "0912 34", "+84 912 345 678",
                                    "1022a", "19000368000", ""])
def test_implausible_phone_numbers_are_rejected(broken, number):
    edit(broken / "phone_lines.toml", 'number = "1900 0368"', f'number = "{number}"')
    assert problems_of(broken) == [
        "content/phone_lines.toml: line 2.number: not a plausible Vietnamese phone number (a short code like "
        f"1022, 1900/1800 + 4 or 6 digits, or 0 + 9-10 digits), got {number!r}"]


def test_a_phone_line_needs_both_languages_and_a_verified_flag(broken):
    edit(broken / "phone_lines.toml", 'for.en = "the VNeID switchboard, for VNeID only"\n', "")
    edit(broken / "phone_lines.toml", "verified = true\n\n[[line]]", 'verified = "yes"\n\n[[line]]')
    assert problems_of(broken) == ["content/phone_lines.toml: line 1.verified: must be true or false",
                                   "content/phone_lines.toml: line 2.for.en: missing or empty"]

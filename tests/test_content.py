import shutil
import subprocess
import sys
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
    edit(broken / "guides" / "vneid-install.toml", 'source = "https://', 'source = "http://')
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

import json
import subprocess
import sys
import tomllib
import unicodedata
from pathlib import Path

import pytest

from bot.content import Guide, Step, Text, load
from bot.search import SearchIndex, normalise_query
from bot.textnorm import fold, untype
from tests.conftest import ROOT

CONTENT = load(ROOT / "content")
INDEX = SearchIndex(list(CONTENT.guides.values()))
QUERIES = tomllib.loads((ROOT / "tests" / "data" / "search_queries.toml").read_text(encoding="utf-8"))["query"]


def top(query: str, lang: str = "vi", n: int = 3) -> list[str]:
    return [h.guide.id for h in INDEX.search(query, lang)[:n]]


@pytest.mark.parametrize("case", QUERIES, ids=[q["text"] for q in QUERIES])
def test_residents_queries_find_the_intended_guide_in_top_3(case):
    assert case["expect"] in top(case["text"], case.get("lang", "vi")), top(case["text"], case.get("lang", "vi"))


@pytest.mark.parametrize("query", [
    "cài đặt VNeID", "cai dat vneid", "CAI DAT VNEID", "cài đặt vneid",
    "căn cước điện tử", "can cuoc dien tu", "dinh danh dien tu", "cafi ddawtj vneid", "c2a2i d9a85t vneid",
    "đăng ký tài khoản định danh", "dang ky tai khoan dinh danh",
])
def test_vneid_is_found_however_it_is_typed(query):
    assert top(query, n=1) == ["vneid-install"]


@pytest.mark.parametrize("query", ["vneid", "VNeID", "vnied", "vneld", "vn eid"])
def test_the_app_name_alone_lists_vneid_guides(query):
    found = top(query)
    assert "vneid-install" in found
    assert all(gid.startswith("vneid") for gid in found), found


def test_nfd_input_is_the_same_as_nfc():
    nfc = "căn cước điện tử"
    nfd = unicodedata.normalize("NFD", nfc)
    assert nfd != nfc
    assert INDEX.search(nfd) == INDEX.search(nfc)


def test_d_with_stroke_is_folded_both_ways():
    assert fold("Đăng ĐÍNH đặt") == "dang dinh dat"
    assert top("dat") == top("đặt")


def test_telex_and_vni_leftovers_are_repaired():
    assert untype("ddawngj") == "dang"
    assert untype("teets") == "tet"
    assert untype("d9a81t") == "dat"


def _guide(gid: str, title: str) -> Guide:
    return Guide(gid, "x", Text(title, title), Text("s", "s"), (Step(Text("a", "a")),), Text("", ""), (),
                 "https://example.org", "2026-11-28")


def test_exact_diacritics_rank_above_folded_matches():
    fillers = [_guide(f"filler-{n}", f"Chủ đề {n}") for n in range(8)]  # realistic word rarity
    index = SearchIndex([_guide("a-duong", "Dương lịch"), _guide("b-duong", "Đường phố"), *fillers])
    assert next(h.guide.id for h in index.search("đường")) == "b-duong"
    assert next(h.guide.id for h in index.search("dương")) == "a-duong"
    assert {h.guide.id for h in index.search("duong")} == {"a-duong", "b-duong"}  # no marks: both


def test_nonsense_and_empty_find_nothing():
    assert INDEX.search("") == []
    assert INDEX.search("😀😀") == []
    assert INDEX.search("xin chào") == []
    assert INDEX.search("qwxz") == []


def test_huge_query_is_cut_not_crashed():
    assert isinstance(INDEX.search("vneid " * 5000), list)


def test_logged_form_is_folded():
    assert normalise_query("  Cài   ĐẶT\u200b VNeID ") == "cai dat vneid"


def test_cli_prints_json_lines_best_first():
    result = subprocess.run([sys.executable, "-m", "bot", "search", "cai dat vneid", "--lang", "en"], cwd=ROOT,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert lines[0]["id"] == "vneid-install"
    assert lines[0]["title"] == CONTENT.guides["vneid-install"].title.en
    assert [x["score"] for x in lines] == sorted((x["score"] for x in lines), reverse=True)


def test_every_query_file_entry_names_a_real_guide():
    assert len(QUERIES) >= 40
    assert {q["expect"] for q in QUERIES} <= set(CONTENT.guides)
    assert Path(ROOT / "tests" / "data" / "search_queries.toml").exists()


@pytest.mark.parametrize("guide_id", sorted(CONTENT.guides))
def test_every_guide_is_found_by_its_title_typed_without_accents(guide_id):
    title = CONTENT.guides[guide_id].title.vi
    assert guide_id in top(fold(title)), (fold(title), top(fold(title)))
    assert any(g.id == guide_id for g in CONTENT.guides_in(CONTENT.guides[guide_id].category))  # browsable


@pytest.mark.parametrize("typed", [
    "Kích hoạt tài khoản VNeID mức 2", "kich hoat tai khoan vneid muc 2", "  KÍCH  hoạt tài khoản VNeID mức 2 . ",
    "kich hoat tai khoan vneid muc 2?", "📚 Kích hoạt tài khoản VNeID mức 2", "Activate a level 2 VNeID account",
    unicodedata.normalize("NFD", "Kích hoạt tài khoản VNeID mức 2"),
])
def test_a_typed_title_names_its_guide(typed):
    assert INDEX.by_title(typed).id == "vneid-level2"


def test_every_title_in_both_languages_names_its_guide():
    for guide in CONTENT.guides.values():
        assert INDEX.by_title(guide.title.vi) is guide
        assert INDEX.by_title(guide.title.en.lower()) is guide


@pytest.mark.parametrize("typed", ["kich hoat tai khoan vneid", "vneid muc 2", "Kích hoạt tài khoản VNeID mức 2 ngay",
                                   "", "?", "kich hoat tai khoan vneid muc 2 " * 40])
def test_anything_but_a_whole_title_names_no_guide(typed):
    assert INDEX.by_title(typed) is None


def test_a_title_two_guides_share_names_neither():
    index = SearchIndex([_guide("a", "Cài VNeID"), _guide("b", "Cai vneid!"), _guide("c", "Zalo")])
    assert index.by_title("cai vneid") is None
    assert index.by_title("zalo").id == "c"

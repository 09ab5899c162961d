"""Issue 14, items 8–10: text folding, invisible characters and phone numbers (pure functions)."""

from __future__ import annotations

import pytest

from bot.screens import phrase
from bot.textnorm import clean, phone_e164, retone, words
from tests.test_search import INDEX


def hits(query: str) -> list[tuple[str, float]]:
    return [(h.guide.id, h.score) for h in INDEX.search(query)]


# --- 8. old and new tone placement ------------------------------------------------------------------
@pytest.mark.parametrize(("old", "new"), [("hoà đơn", "hòa đơn"), ("hoá đơn", "hóa đơn"), ("thuỷ cục", "thủy cục"),
                                          ("sổ sức khoẻ", "sổ sức khỏe"), ("khoẻ", "khỏe")])
def test_old_tone_placement_finds_what_the_new_one_finds(old, new):
    assert hits(old) == hits(new)


def test_the_exact_accent_bonus_still_counts_with_the_old_placement():
    assert hits("hoá đơn")[0] == ("bill-payment", hits("hóa đơn")[0][1])
    assert hits("hoá đơn")[0][1] > hits("hóa don")[0][1] * 0.9  # marks typed and matching: no penalty
    assert hits("hoá đơn")[0][1] > hits("họa đơn")[0][1]  # other marks: still lower


def test_retone_moves_only_open_oa_oe_uy_and_leaves_qu_alone():
    assert [retone(w) for w in ("hoà", "thuỷ", "khoẻ", "hoàng", "quý", "của", "hòa")] == [
        "hòa", "thủy", "khỏe", "hoàng", "quý", "của", "hòa"]
    assert words("Hoà THUỶ") == ["hòa", "thủy"]


# --- 9. invisible characters, full-width forms, digits glued to words ---------------------------------
@pytest.mark.parametrize("invisible", ["\u00ad", "\u200b", "\u2060", "\ufeff", "\u202e", "\u061c", "\u180e"])
def test_format_characters_inside_a_word_change_nothing(invisible):
    assert hits(f"vne{invisible}id") == hits("vneid")
    assert clean(f"a{invisible}b") == "ab"


def test_full_width_forms_are_folded_before_matching():
    assert hits("ｖｎｅｉｄ　ｍｕｃ　２") == hits("vneid muc 2")
    assert clean("ＶＮｅＩＤ") == "VNeID"


def test_digits_glued_to_a_word_rank_level_2_first():
    assert hits("muc2 vneid")[0][0] == "vneid-level2"
    assert hits("mức2 vneid")[0][0] == "vneid-level2"


def test_typed_choices_ignore_format_characters():
    assert phrase("Ti\u00adếp ▶") == phrase("Tiếp") == "tiep"
    assert phrase("Xác\u200bnhận") == phrase("Xácnhận")
    assert phrase("ｔｉｅｐ") == "tiep"


# --- 10. phone numbers in E.164 -------------------------------------------------------------------------
@pytest.mark.parametrize("typed", ["0901 234 567", "+84 90 123 4567", "84901234567", "090-123-4567", "(090) 1234567",
                                   "0901\u00ad234567"])
def test_every_way_of_writing_a_vietnamese_number_gives_e164(typed):
    assert phone_e164(typed) == "+84901234567"


def test_an_international_number_without_plus_is_kept_in_e164():
    assert phone_e164("+1 415 555 2671") == phone_e164("14155552671") == "+14155552671"


@pytest.mark.parametrize("bad", ["", "12345", "0901 23", "abc", "0000000000", "+84 1", "0901234567 hay gọi tôi"])
def test_what_is_not_a_phone_number_is_refused(bad):
    assert phone_e164(bad) is None

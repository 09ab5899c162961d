"""Issue 14, items 10–13 and 17: phones, CSV export, personal data in free text, erasure leftovers, names."""

from __future__ import annotations

import csv
import io
import re

import pytest

from bot import help_requests, stats
from bot.data import requests as rdata
from bot.data import users
from bot.data import volunteers as vdata
from tests.conftest import ADMIN, Harness
from tests.handlers.test_requests import file_request, make_volunteer, offers_to

R, V = 1001, 2001
SECRET = "Đừng bao giờ đưa mã hay mật khẩu cho ai"


async def wizard_to_phone_step(bot: Harness, uid: int = R) -> None:
    """The ask wizard up to "send your phone number"."""
    await bot.send(uid, "/ask")
    await bot.press(uid, "VNeID")
    await bot.send(uid, "Tôi không vào được VNeID")
    await bot.press(uid, "Bến Thành")
    await bot.press(uid, "Nhắn tin qua Trợ lý số")
    await bot.press(uid, "Gửi số điện thoại")


async def draft_phone(bot: Harness, uid: int = R) -> str | None:
    return (await rdata.get_draft(bot.svc.db, uid)).phone


# --- 10. phone numbers, shared or typed, kept in E.164 ------------------------------------------------
@pytest.mark.parametrize("typed", ["0901 234 567", "+84 90 123 4567", "84901234567"])
async def test_a_typed_phone_number_is_kept_in_e164(bot: Harness, typed):
    await wizard_to_phone_step(bot)
    await bot.send(R, typed)
    assert await draft_phone(bot) == "+84901234567"


async def test_a_shared_contact_without_plus_is_kept_dialable(bot: Harness):
    await wizard_to_phone_step(bot)
    await bot.driver.send_kind(R, "contact", phone="84901234567")
    assert await draft_phone(bot) == "+84901234567"


@pytest.mark.parametrize("bad", ["1234567", "0901 234 56789 12"])
async def test_a_number_that_is_not_a_phone_is_refused_kindly(bot: Harness, bad):
    await wizard_to_phone_step(bot)
    [refusal] = await bot.send(R, bad)
    assert refusal.text.startswith("Xin lỗi, số này có vẻ không phải số điện thoại dùng được.")
    assert await draft_phone(bot) is None
    await bot.driver.send_kind(R, "contact", phone="12")
    assert bot.last(R).text.startswith("Xin lỗi, số này")
    assert await draft_phone(bot) is None


# --- 11. CSV export: nothing a spreadsheet would evaluate ----------------------------------------------
async def test_export_neutralises_formulas_and_writes_phones_as_text(bot: Harness):
    admin = await users.touch(bot.svc.db, ADMIN, "Cán bộ", None, bot.svc.now())
    for uid, name, phone in ((11, "=1+1", "+84901234567"), (12, "@SUM(A1)", "0901234567"),
                             (13, "-2+3", None), (14, "\tTab", None), (15, "Bình thường", None)):
        await users.touch(bot.svc.db, uid, name, None, bot.svc.now())
        await bot.svc.db.execute(
            "INSERT INTO help_requests (code, resident_id, topic, mode, phone, status, created_at, opened_at) "
            "VALUES (?, ?, 'vneid', 'chat', ?, 'open', ?, ?)", (f"C{uid}", uid, phone, bot.svc.now(), bot.svc.now()))
    _name, body = await stats.export_csv(bot.svc, admin, True)
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    name, phone = rows[0].index("first_name"), rows[0].index("phone")
    by_code = {row[0]: row for row in rows[1:]}
    assert [by_code[f"C{u}"][name] for u in (11, 12, 13, 14, 15)] == ["'=1+1", "'@SUM(A1)", "'-2+3", "'\tTab",
                                                                      "Bình thường"]
    assert (by_code["C11"][phone], by_code["C12"][phone], by_code["C13"][phone]) == ("'+84901234567", "'0901234567", "")
    for row in rows:
        assert not any(cell[:1] in ("=", "+", "-", "@", "\t", "\r") for cell in row)


def test_safe_cell_follows_owasp():
    assert [stats.safe_cell(v) for v in ("=A1", "+1", "-1", "@x", "\tx", "\rx", "a=b", 5, None)] == [
        "'=A1", "'+1", "'-1", "'@x", "'\tx", "'\rx", "a=b", 5, ""]


# --- 12. personal data in free text ----------------------------------------------------------------------
async def test_the_search_log_never_stores_a_run_of_digits(bot: Harness):
    for query in ("0901 234 567", "goi 0901234567 vneid", "cccd 079123456789", "mã 482913"):
        await bot.send(R, query)
        await bot.send(R, "/menu")
    logged = [r[0] for r in await bot.svc.db.fetchall("SELECT query FROM search_log")]
    assert logged and not any(re.search(r"\d(?:\D?\d){3}", q) for q in logged), logged


@pytest.mark.parametrize("text", ["Mã OTP của tôi là 482913", "mật khẩu: Lan@1990", "pass abc12345",
                                  "Số thẻ 4111 1111 1111 1111", "Căn cước 079123456789"])
async def test_a_description_that_looks_secret_is_warned_about_before_it_is_sent(bot: Harness, text):
    await make_volunteer(bot, V)
    await bot.send(R, "/ask")
    await bot.press(R, "VNeID")
    events = await bot.send(R, text)
    assert any(SECRET in e.text and "Chưa có gì được gửi" in e.text for e in events)
    assert offers_to(bot, V) == []  # nothing sent yet; the resident may go on (or cancel and start again)


async def test_an_ordinary_description_gets_no_warning(bot: Harness):
    await bot.send(R, "/ask")
    await bot.press(R, "VNeID")
    events = await bot.send(R, "Tôi quên mật khẩu VNeID, không nhận được mã OTP")
    assert not any(SECRET in e.text for e in events)


async def test_relay_and_comment_that_look_secret_are_warned_about(bot: Harness):
    await make_volunteer(bot, V)
    request = await file_request(bot)
    await help_requests.claim(bot.svc, request.id, V)
    sent = await bot.send(R, "OTP la 4821")  # asked first: nothing reaches the volunteer yet
    assert not any(e.chat_id == V for e in sent) and any(e.chat_id == R and SECRET in e.text for e in sent)
    events = await bot.send(R, "khong gui")
    assert not any(e.chat_id == V for e in events) and events[-1].text.startswith("Chưa gửi.")
    await bot.send(R, "ma OTP 5555")
    events = await bot.press(R, "Vẫn gửi")  # the person decides: sent as written
    assert any(e.chat_id == V and e.text.endswith("ma OTP 5555") for e in events)
    await help_requests.resolve(bot.svc, request.id, V)
    await bot.press(R, "⭐⭐⭐⭐⭐")
    events = await bot.send(R, "mat khau la hoa123")
    assert any(SECRET in e.text for e in events)
    assert (await rdata.get(bot.svc.db, request.id)).rating_comment == "mat khau la hoa123"  # saved all the same


async def test_offers_mask_id_and_card_numbers_but_the_holder_sees_them(bot: Harness):
    await make_volunteer(bot, V)
    await file_request(bot, text="Căn cước 079123456789, thẻ 4111-1111-1111-1111, gọi 0909 123 456")
    [offer] = offers_to(bot, V)
    assert "079123456789" not in offer.text and "4111" not in offer.text and "0909" not in offer.text
    assert offer.text.count("(số đã ẩn)") == 2 and "(số điện thoại đã ẩn)" in offer.text
    claimed = await bot.driver.press(V, 1, offer.message_id)
    assert any("079123456789" in e.text for e in claimed if e.chat_id == V)


# --- 13. erasure leaves nothing in the WAL, and no id in history -------------------------------------------
@pytest.mark.sqlite_only  # the -wal file is SQLite's own
async def test_erased_text_does_not_stay_in_the_wal_file(bot: Harness, settings):
    await make_volunteer(bot, V)
    await file_request(bot, phone=True, text="Bí mật riêng XQZW-MARKER nhé")
    wal = settings.database_path.with_name(settings.database_path.name + "-wal")
    marker = b"XQZW-MARKER"
    assert marker in wal.read_bytes() + settings.database_path.read_bytes()
    await bot.send(R, "/deletemydata")
    await bot.press(R, "Xác nhận")
    assert marker not in wal.read_bytes()
    assert marker not in settings.database_path.read_bytes()


async def test_an_erased_volunteer_leaves_no_id_in_request_history(bot: Harness):
    await make_volunteer(bot, V)
    request = await file_request(bot)
    await help_requests.claim(bot.svc, request.id, V)
    await help_requests.resolve(bot.svc, request.id, V)
    await bot.send(V, "/deletemydata")
    await bot.press(V, "Xác nhận")
    assert (await rdata.get(bot.svc.db, request.id)).volunteer_id is None
    events = await rdata.events(bot.svc.db, request.id)
    assert [a for a, _k, _d in events if a == V] == [] and "resolved" in [k for _a, k, _d in events]


# --- 17. volunteer display names -----------------------------------------------------------------------
async def test_a_volunteer_name_loses_control_and_format_characters(bot: Harness):
    await bot.send(V, "/volunteer")
    await bot.send(V, "\u202eLan\u200b \u2066Anh\u00ad")
    assert (await vdata.get(bot.svc.db, V)).display_name == "Lan Anh"


async def test_a_volunteer_name_with_a_phone_number_is_refused(bot: Harness):
    await bot.send(V, "/volunteer")
    [refusal] = await bot.send(V, "Lan 0901 234 567")
    assert refusal.text.startswith("Bạn chỉ gõ tên thôi, không kèm số điện thoại")
    assert await vdata.get(bot.svc.db, V) is None
    [wards] = await bot.send(V, "Lan")  # still asked for a name
    assert wards.text.startswith("Bạn hỗ trợ được phường nào?")
    assert (await vdata.get(bot.svc.db, V)).display_name == "Lan"


def test_offers_hide_phone_numbers_of_any_country_and_any_spelling():
    hidden = help_requests.hide_phones("gọi +1 415 555 2671 hoặc 028 3829 5001, năm 2024, mức 2", "P", "N")
    assert hidden == "gọi P hoặc P, năm 2024, mức 2"


async def test_a_phone_stored_without_plus_is_shown_dialable_to_the_holder(bot: Harness):
    await make_volunteer(bot, V)
    request = await file_request(bot, phone=True)
    await bot.svc.db.execute("UPDATE help_requests SET phone = '84901234567' WHERE id = ?", (request.id,))
    claimed = await bot.driver.press(V, 1, offers_to(bot, V)[0].message_id)
    assert any("📞 Điện thoại: +84901234567" in e.text for e in claimed if e.chat_id == V)

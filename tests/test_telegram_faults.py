"""Faults from outside the bot's code: a failing database, Telegram refusing an answer or a send, double
taps, edited messages. Each test plays what a person does and checks what they see."""

from __future__ import annotations

import sqlite3

from bot import actions as A
from bot.botapi_standin import ApiFault
from bot.data import requests as rdata
from bot.data import users
from tests.conftest import ADMIN, Harness
from tests.handlers.test_requests import VOLS, R, file_request, make_volunteer, offers_to

APOLOGY = "Xin lỗi"  # the start of every apology; the exact one is checked below
NOT_TOLD = "người bên kia không còn nhận được tin qua Trợ lý số (họ đã chặn hoặc xóa tài khoản), nên họ chưa được báo."


def apology(bot: Harness) -> str:
    return bot.svc.i18n.get("vi").gettext("Sorry, something went wrong on my side. Please try again.")


async def claimed_request(bot: Harness) -> rdata.RequestRow:
    """A request filed by R and claimed by VOLS[0] through its offer."""
    await make_volunteer(bot, VOLS[0])
    request = await file_request(bot)
    await bot.driver.press(VOLS[0], 1, offers_to(bot, VOLS[0])[0].message_id)
    return request


# --- 3. one failure of an update: one apology, one report ----------------------------------------
async def test_a_database_failure_at_the_gate_gives_one_apology_and_one_report(bot: Harness, monkeypatch):
    await bot.send(ADMIN, "/start")
    await bot.send(R, "/start")

    async def locked(*args, **kwargs):
        raise sqlite3.OperationalError("database is locked")

    monkeypatch.setattr(users, "arrive", locked)
    events = await bot.send(R, "cài đặt vneid")
    monkeypatch.undo()
    assert [e.text for e in events if e.chat_id == R] == [apology(bot)]
    reports = [e for e in events if e.chat_id == ADMIN]
    assert len(reports) == 1 and "OperationalError" in reports[0].text
    assert len(bot.errors) == 1  # the gate's failure only: no later handler ran without a person
    bot.errors.clear()


async def test_a_database_that_fails_for_a_whole_update_gives_one_apology_and_one_report(bot: Harness,
                                                                                          monkeypatch):
    await bot.send(R, "/start")

    async def broken(*args, **kwargs):
        raise sqlite3.OperationalError("disk I/O error")

    for method in ("execute", "executemany", "fetchone", "fetchall"):
        monkeypatch.setattr(bot.svc.db, method, broken)
    events = await bot.send(R, "cài đặt vneid")
    monkeypatch.undo()
    assert [e.text for e in events if e.chat_id == R] == [apology(bot)]
    reports = [e for e in events if e.chat_id == ADMIN]
    assert len(reports) == 1 and "OperationalError" in reports[0].text  # ADMIN_IDS hear it without the database
    assert len(bot.errors) == 1
    bot.errors.clear()


# --- 4. a failed answer to a button press never stops the press ----------------------------------
async def test_claim_goes_on_when_telegram_refuses_the_answer(bot: Harness):
    await make_volunteer(bot, VOLS[0])
    request = await file_request(bot)

    def too_old(method: str, params: dict) -> None:
        if method == "answerCallbackQuery":
            raise ApiFault(400, "Bad Request: query is too old and response timeout expired or query ID is invalid")

    bot.api.fault = too_old
    events = await bot.driver.press(VOLS[0], 1, offers_to(bot, VOLS[0])[0].message_id)
    bot.api.fault = None
    card = next(e for e in events if e.chat_id == VOLS[0] and e.kind == "edit")
    assert request.code in card.text and "💬 Nhắn cho người dân" in card.labels  # the volunteer got the card
    assert any(e.chat_id == R and request.code in e.text for e in events)  # and the resident was told
    assert (await rdata.get(bot.svc.db, request.id)).volunteer_id == VOLS[0]


# --- 5. a person who blocked the bot: the other side is told plainly -----------------------------
async def test_a_claim_for_a_resident_who_blocked_the_bot_says_so(bot: Harness):
    await make_volunteer(bot, VOLS[0])
    request = await file_request(bot)
    bot.api.blocked.add(R)
    events = await bot.driver.press(VOLS[0], 1, offers_to(bot, VOLS[0])[0].message_id)
    told = [e.text for e in events if e.chat_id == VOLS[0] and e.kind == "to"]
    assert told == [f"⚠️ {request.code}: {NOT_TOLD}"]
    assert APOLOGY not in " ".join(told)
    assert "unreachable" in [k for _a, k, _d in await rdata.events(bot.svc.db, request.id)]


async def test_resolve_and_in_person_for_a_blocked_resident_say_so(bot: Harness):
    request = await claimed_request(bot)
    bot.api.blocked.add(R)
    card = bot.driver.latest_with_buttons(VOLS[0])["message_id"]
    events = await bot.press(VOLS[0], "Cần gặp trực tiếp", card)
    assert [e.text for e in events if e.chat_id == VOLS[0]] == [f"⚠️ {request.code}: {NOT_TOLD}"]  # no false alert
    events = await bot.press(VOLS[0], "Đã giải quyết", card)
    assert f"⚠️ {request.code}: {NOT_TOLD}" in [e.text for e in events if e.chat_id == VOLS[0]]
    assert (await rdata.get(bot.svc.db, request.id)).status == "resolved"


async def test_a_release_for_a_resident_whose_account_is_gone_says_so(bot: Harness):
    request = await claimed_request(bot)

    def deleted(method: str, params: dict) -> None:
        if method == "sendMessage" and int(params.get("chat_id", 0)) == R:
            raise ApiFault(403, "Forbidden: user is deactivated")

    bot.api.fault = deleted
    card = bot.driver.latest_with_buttons(VOLS[0])["message_id"]
    await bot.press(VOLS[0], "Trả lại", card)
    events = await bot.press(VOLS[0], "Không liên lạc được")
    bot.api.fault = None
    assert f"⚠️ {request.code}: {NOT_TOLD}" in [e.text for e in events if e.chat_id == VOLS[0]]
    assert (await rdata.get(bot.svc.db, request.id)).status == "open"


async def test_a_relay_to_a_volunteer_who_blocked_the_bot_is_not_searched(bot: Harness):
    await claimed_request(bot)
    bot.api.blocked.add(VOLS[0])
    events = await bot.send(R, "cài đặt vneid")
    assert [e.text for e in events if e.chat_id == R] == [
        "Xin lỗi, người này không còn nhận được tin qua Trợ lý số. Tin nhắn của bạn chưa được gửi."]


# --- 6. a double tap on a confirm button keeps the result on screen ------------------------------
async def test_a_double_tap_on_confirm_files_once_and_keeps_the_code_on_screen(bot: Harness):
    await bot.send(R, "/ask")
    await bot.press(R, "VNeID")
    await bot.send(R, "Tôi không nhận được mã OTP")
    await bot.press(R, "Bến Thành")
    await bot.press(R, "Nhắn tin qua Trợ lý số")
    await bot.press(R, "Chỉ nhắn tin")
    screen = bot.driver.latest_with_buttons(R)["message_id"]
    await bot.driver.press_data(R, A.DraftConfirm().pack(), screen)
    second = await bot.driver.press_data(R, A.DraftConfirm().pack(), screen)
    assert [e for e in second if e.chat_id == R] == []  # answered silently: no toast, no menu
    assert "Mã yêu cầu: HT-" in bot.api.messages[R][screen]["text"]
    assert len(await rdata.of_resident(bot.svc.db, R)) == 1


async def test_a_double_tap_on_delete_my_data_keeps_the_result(bot: Harness):
    await bot.send(R, "/start")
    [question] = await bot.send(R, "/deletemydata")
    await bot.driver.press_data(R, A.PrivacyChoice("delok").pack(), question.message_id)
    done = bot.api.messages[R][question.message_id]["text"]
    second = await bot.driver.press_data(R, A.PrivacyChoice("delok").pack(), question.message_id)
    assert [e for e in second if e.chat_id == R] == []
    assert bot.api.messages[R][question.message_id]["text"] == done and done.startswith("✅")


# --- 7. an edited relayed message is passed on as a correction -----------------------------------
async def edit(bot: Harness, user: int, message_id: int, text: str):
    """The person edits one of their own messages."""
    msg = {**bot.api.messages[user][message_id], "text": text, "edit_date": bot.api.now_ts()}
    return await bot.driver.feed({"edited_message": msg})


async def test_an_edited_relayed_message_goes_on_as_a_correction(bot: Harness):
    request = await claimed_request(bot)
    await bot.send(R, "Tôi dùng iPhone 7")
    mine = next(m for m in sorted(bot.api.messages[R], reverse=True)
                if bot.api.messages[R][m].get("text") == "Tôi dùng iPhone 7")
    events = await edit(bot, R, mine, "Tôi dùng iPhone 8")
    assert [e.text for e in events if e.chat_id == VOLS[0]] == [
        f"✏️ {request.code} · Người dân · sửa lại:\nTôi dùng iPhone 8"]
    assert [e.text for e in events if e.chat_id == R] == [f"✓ Đã gửi bản sửa cho {request.code}."]

    await bot.send(VOLS[0], "Bác vào Cài đặt nhé")
    theirs = next(m for m in sorted(bot.api.messages[VOLS[0]], reverse=True)
                  if bot.api.messages[VOLS[0]][m].get("text") == "Bác vào Cài đặt nhé")
    events = await edit(bot, VOLS[0], theirs, "Bác vào Cài đặt chung nhé")
    assert [e.text for e in events if e.chat_id == R] == [
        f"✏️ {request.code} · Tình nguyện viên Vol{VOLS[0]} · sửa lại:\nBác vào Cài đặt chung nhé"]


async def test_an_edit_of_a_message_that_was_not_relayed_changes_nothing(bot: Harness):
    [_shown] = await bot.send(R, "cài đặt vneid")
    mine = next(m for m in bot.api.messages[R] if bot.api.messages[R][m].get("text") == "cài đặt vneid")
    assert await edit(bot, R, mine, "hộ chiếu") == []


async def test_a_double_tap_on_send_now_keeps_the_campaign_progress(bot: Harness):
    from tests.handlers.test_admin import compose_to_everyone

    await bot.send(R, "/start")
    await compose_to_everyone(bot, "Thông báo thử")
    screen = bot.driver.latest_with_buttons(ADMIN)["message_id"]
    await bot.driver.press_data(ADMIN, A.BroadcastSend().pack(), screen)
    shown = bot.api.messages[ADMIN][screen]["text"]
    second = await bot.driver.press_data(ADMIN, A.BroadcastSend().pack(), screen)
    assert [e for e in second if e.chat_id == ADMIN] == []
    assert bot.api.messages[ADMIN][screen]["text"] == shown and shown.startswith("✅")
    assert (await bot.svc.db.fetchone("SELECT COUNT(*) AS n FROM campaigns"))["n"] == 1
    await bot.svc.sender.wait_idle()


async def test_pausing_a_volunteer_who_blocked_the_bot_tells_the_admin(bot: Harness):
    await make_volunteer(bot, VOLS[0])
    [menu] = await bot.send(ADMIN, "/start")
    bot.api.blocked.add(VOLS[0])
    events = await bot.driver.press_data(ADMIN, A.Decide("pause", VOLS[0]).pack(), menu.message_id)
    assert (f"⚠️ Vol{VOLS[0]} không còn nhận được tin qua Trợ lý số (họ đã chặn hoặc xóa tài khoản), nên họ chưa "
            "được báo.") in [e.text for e in events if e.chat_id == ADMIN]


async def test_an_admin_assigning_to_a_volunteer_who_blocked_the_bot_hears_it(bot: Harness):
    await make_volunteer(bot, VOLS[0])
    request = await file_request(bot)
    [menu] = await bot.send(ADMIN, "/start")
    bot.api.blocked.add(VOLS[0])
    events = await bot.driver.press_data(ADMIN, A.AssignTo(request.id, VOLS[0]).pack(), menu.message_id)
    assert f"⚠️ {request.code}: {NOT_TOLD}" in [e.text for e in events if e.chat_id == ADMIN]

"""What the typed-choices fuzz (tests/test_fuzz_typed.py) found, each pinned as a person would meet it."""

from bot.data import requests as rdata
from tests.conftest import ADMIN, Harness
from tests.handlers.test_requests import VOLS, file_request, make_volunteer, offers_to


async def start_ask_until_contact(bot: Harness, uid: int) -> None:
    await bot.send(uid, "/ask")
    await bot.press(uid, "VNeID")
    await bot.send(uid, "Tôi không nhận được mã OTP")
    await bot.press(uid, "Bến Thành")
    await bot.press(uid, "Nhắn tin qua Trợ lý số")


async def test_a_double_tap_on_send_my_phone_number_asks_once_more_without_failing(bot: Harness):
    """The second tap of "📞 Gửi số điện thoại" (its buttons already taken away by the first) raised
    "message is not modified" (a forged press on a message that is gone: "message to edit not found");
    it should simply show the phone step again."""
    await start_ask_until_contact(bot, 1001)
    contact = bot.driver.latest_with_buttons(1001)
    data = next(b["callback_data"] for row in contact["reply_markup"]["inline_keyboard"] for b in row
                if "Gửi số điện thoại" in b["text"])
    await bot.driver.press_data(1001, data, contact["message_id"])
    again = await bot.driver.press_data(1001, data, contact["message_id"])
    assert any(e.chat_id == 1001 and "📞 Gửi số điện thoại của tôi" in e.keyboard for e in again)
    await bot.driver.send_kind(1001, "contact")
    assert (await rdata.get_draft(bot.svc.db, 1001)).phone == "+84900001001"


async def test_a_volunteer_who_asks_for_help_is_not_their_own_helper(bot: Harness):
    """A volunteer filed a request, was offered it, claimed it, and their messages came back to themselves
    as "💬 HT-… · Người dân", so nobody else helped. Their request goes to the other volunteers instead."""
    await make_volunteer(bot, VOLS[0])
    await make_volunteer(bot, VOLS[1])
    request = await file_request(bot, VOLS[0])
    assert offers_to(bot, VOLS[0]) == [] and len(offers_to(bot, VOLS[1])) == 1
    [menu] = await bot.send(VOLS[0], "/menu")
    [alert] = await bot.driver.press_data(VOLS[0], f"rq:claim:{request.id}", menu.message_id)
    assert (alert.kind, alert.text) == ("alert", "Đây là yêu cầu của chính bạn. Một tình nguyện viên khác sẽ giúp bạn.")
    assert (await rdata.get(bot.svc.db, request.id)).status == "open"
    await bot.send(ADMIN, "/queue")
    listed = await bot.press(ADMIN, f"Giao {request.code}")
    assert [b.label for b in listed[-1].flat_buttons] == [f"Vol{VOLS[1]}"]  # the admin cannot hand it to them
    await bot.driver.press(VOLS[1], 1, offers_to(bot, VOLS[1])[0].message_id)
    await bot.send(VOLS[0], "Cảm ơn bạn")
    assert bot.last(VOLS[1]).text == f"💬 {request.code} · Người dân:\nCảm ơn bạn"


async def two_conversations(bot: Harness):
    """A volunteer holding two requests, both residents having written: the next message is ambiguous."""
    await make_volunteer(bot, VOLS[0])
    a = await file_request(bot, 1001)
    b = await file_request(bot, 1002)
    for request in (a, b):
        await bot.driver.press_data(VOLS[0], f"rq:claim:{request.id}", 1)
    await bot.send(1001, "Chào cháu")
    await bot.send(1002, "Chào con")
    [question] = await bot.send(VOLS[0], "Dạ, cháu gọi bác sau 5 phút nhé")
    assert question.text == "Bạn đang trao đổi về nhiều yêu cầu. Tin nhắn này dành cho yêu cầu nào?"
    return a, b


async def test_which_request_is_answered_by_typing_its_number_or_code(bot: Harness):
    """The fuzz typed "1" under "which request?": it was taken for a new message, replaced the waiting
    one, and the question came again; a tap afterwards sent "1" to the resident."""
    a, b = await two_conversations(bot)
    sent = await bot.send(VOLS[0], "2")
    assert [(e.chat_id, e.text) for e in sent] == [
        (1002, f"💬 {b.code} · Tình nguyện viên Vol{VOLS[0]}:\nDạ, cháu gọi bác sau 5 phút nhé"),
        (VOLS[0], f"✓ Đã gửi cho {b.code}.")]
    await bot.send(VOLS[0], "Bác chờ cháu chút")  # the conversation goes on where it was
    assert bot.last(1002).text.endswith("\nBác chờ cháu chút")
    await bot.send(1001, "Cháu ơi")
    await bot.send(VOLS[0], "Vâng ạ")
    await bot.send(VOLS[0], a.code.lower())  # or its code, as written on the button
    assert bot.last(1001).text == f"💬 {a.code} · Tình nguyện viên Vol{VOLS[0]}:\nVâng ạ"


async def test_which_request_then_cancel_sends_nothing(bot: Harness):
    await two_conversations(bot)
    [cancelled] = await bot.send(VOLS[0], "huy")
    assert cancelled.text.startswith("Đã hủy. Chưa có tin nào được gửi.")
    question = next(e for e in reversed(bot.api.sent) if e.chat_id == VOLS[0] and "yêu cầu nào" in e.text)
    start = len(bot.api.sent)
    await bot.driver.press(VOLS[0], 1, question.message_id)  # the old question, tapped later
    assert [e.chat_id for e in bot.api.sent[start:] if e.kind == "to"] == [VOLS[0]]  # nothing reached a resident


async def test_back_to_the_menu_the_next_text_is_a_search_again(bot: Harness):
    """A resident in a conversation went to the menu and searched: the search went to the volunteer as a
    message. The menu ends the relay (as StopRelay does) until the other side writes again."""
    await make_volunteer(bot, VOLS[0])
    request = await file_request(bot, 1001)
    await bot.driver.press_data(VOLS[0], f"rq:claim:{request.id}", 1)
    await bot.send(VOLS[0], "Chào bác")
    for uid, menu in ((1001, "/menu"), (VOLS[0], "menu"), (1001, "Trang chủ")):
        await bot.send(uid, menu)
        searched = await bot.send(uid, "cách cài VNeID")
        assert [e.chat_id for e in searched] == [uid] and "Đã gửi" not in searched[0].text, (uid, menu)
    await bot.driver.press_data(VOLS[0], f"rq:msg:{request.id}", 1)  # "💬 Nhắn người dân" on the card
    await bot.send(VOLS[0], "Bác còn đó không?")
    await bot.send(1001, "Còn cháu ơi")  # the volunteer wrote again: just typing answers
    assert bot.last(VOLS[0]).text == f"💬 {request.code} · Người dân:\nCòn cháu ơi"


async def test_after_the_menu_a_new_claim_is_answered_by_just_typing(bot: Harness):
    await make_volunteer(bot, VOLS[0])
    await bot.send(1001, "/menu")
    request = await file_request(bot, 1001)
    await bot.driver.press_data(VOLS[0], f"rq:claim:{request.id}", 1)
    await bot.send(1001, "Chào cháu")  # "Their messages will come here. To answer, just type."
    assert bot.last(VOLS[0]).text == f"💬 {request.code} · Người dân:\nChào cháu"

"""Zalo end to end: Zalo people on the Zalo stand-in (real httpx requests, real Application and database),
Telegram people on the Telegram stand-in, in one bot."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest
from telegram.error import BadRequest

from bot import campaigns
from bot.app import TICKS
from bot.campaigns import Draft
from bot.channels.zalo import render
from bot.channels.zalo.client import ZaloApiError, ZaloClient
from bot.channels.zalo.standin import TOKEN, ZaloFault, ZaloStandIn
from bot.config import Settings
from bot.data import accounts, users
from bot.data import privacy as privacy_data
from bot.data import requests as rdata
from bot.i18n import I18n
from tests.conftest import ADMIN
from tests.handlers.test_requests import make_volunteer, offers_to
from tests.zalo import ZaloHarness, open_zalo_bot, zalo_settings

R = "8a3f0c2e5b7d9e1f4a6c"  # a Zalo person's id: 20 hex characters, as Zalo gives them
V = 2001  # a Telegram volunteer
NUMBER_HINT = "Bạn trả lời bằng số, từ 1 đến {n}."


@pytest.fixture
async def zbot(store, tmp_path) -> ZaloHarness:
    async with open_zalo_bot(zalo_settings(tmp_path, zalo_rate=30)) as harness:
        yield harness


def lines(text: str) -> list[str]:
    return text.splitlines()


# --- screens as numbered text ----------------------------------------------------------------------
async def test_start_then_a_guide_stepped_through_by_typed_numbers(zbot: ZaloHarness):
    [welcome] = await zbot.say(R, "/start")
    assert welcome.kind == "to" and welcome.chat_id == R
    assert "1. 📚 Hướng dẫn" in lines(welcome.text) and "5. 🌐 Ngôn ngữ" in lines(welcome.text)
    assert lines(welcome.text)[-1] == NUMBER_HINT.format(n=6)
    assert "[1]" not in welcome.text
    [topics] = await zbot.say(R, "1")
    assert lines(topics.text)[0] == "📚 Chọn chủ đề:"
    [guides] = await zbot.say(R, "1")
    number = next(line.split(".")[0] for line in lines(guides.text) if "Cài VNeID và đăng ký" in line)
    [step1] = await zbot.say(R, number)
    assert "Bước 1/8" in step1.text and "1. Tiếp ▶" in lines(step1.text)
    [step2] = await zbot.say(R, "tiep")  # the word works as on Telegram
    assert "Bước 2/8" in step2.text
    [step3] = await zbot.say(R, "1")
    assert "Bước 3/8" in step3.text
    assert all(len(e.text) <= 2000 for e in zbot.zalo.sent)
    assert zbot.api.sent == []  # nothing went to Telegram


async def test_search_without_diacritics(zbot: ZaloHarness):
    await zbot.say(R, "/start")
    [found] = await zbot.say(R, "cai dat vneid")
    assert "Cài VNeID và đăng ký tài khoản mức 1" in found.text
    assert lines(found.text)[1:2] == [""] and lines(found.text)[2].startswith("1. ")


async def test_an_over_long_screen_is_split_with_the_choices_whole_in_the_last_part(zbot: ZaloHarness):
    await zbot.say(R, "/start")
    uid = await zbot.uid(R)
    from telegram import InlineKeyboardButton, InlineKeyboardMarkup

    from bot import actions as A

    paragraph = "Đoạn văn dài để thử cắt tin nhắn cho Zalo. " * 20
    text = "\n\n".join(f"{n}. {paragraph}" for n in range(1, 6))  # about 4,400 characters
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("🏠 Menu chính", callback_data=A.Home().pack())]])
    start = len(zbot.zalo.sent)
    await zbot.app.bot.send_message(uid, text, reply_markup=markup)
    parts = zbot.zalo.sent[start:]
    assert len(parts) == 3 and all(1 <= len(p.text) <= 2000 for p in parts)
    assert lines(parts[-1].text)[-2:] == ["1. 🏠 Menu chính", "Bạn trả lời số 1 để chọn."]
    assert all("🏠 Menu chính" not in p.text for p in parts[:-1])
    assert "".join(p.text for p in parts).replace("\n", "").replace(" ", "").startswith(
        text.replace("\n", "").replace(" ", "")[:3000])
    [menu] = await zbot.say(R, "1")  # the choice of the split screen is typed as usual
    assert "1. 📚 Hướng dẫn" in menu.text


def test_compose_keeps_choices_and_links_in_the_last_part():
    t = I18n("vi", Settings().tz).get("vi")
    markup = {"inline_keyboard": [[{"text": "A", "callback_data": "x"}, {"text": "B", "callback_data": "y"}],
                                  [{"text": "Web", "url": "https://dichvucong.gov.vn"}]]}
    assert render.compose("Xin chào", markup, t) == [
        "Xin chào\n\n1. A\n2. B\nWeb: https://dichvucong.gov.vn\n" + NUMBER_HINT.format(n=2)]
    parts = render.compose("x" * 4500, markup, t)
    assert [len(p) for p in parts[:2]] == [2000, 2000] and parts[-1].startswith("x" * 500 + "\n\n1. A")
    assert render.split("a b", 1) == ["a", "b"] and render.compose("", None, t) == []


def test_a_choice_no_number_picks_is_listed_without_one_and_the_hint_counts_only_the_others():
    """The hint line promises what a number does: "🔁 Vẫn chưa xong" under the stars is never taken by its number
    (a slip of "6" would reopen a request), nor an admin's "Duyệt", nor the lone "✖ Hủy" of a step that waits
    for the resident's own words; so they carry no number, and the hint says to type their words."""
    from bot import actions as A

    t = I18n("vi", Settings().tz).get("vi")
    stars = [[{"text": "⭐" * n, "callback_data": A.Rate(7, str(n)).pack()}] for n in range(1, 6)]
    rating = {"inline_keyboard": [*stars, [{"text": "🔁 Vẫn chưa xong", "callback_data": A.Reopen(7).pack()}]]}
    [text] = render.compose("Bạn thấy hỗ trợ thế nào?", rating, t)
    assert lines(text)[-3:] == ["– 🔁 Vẫn chưa xong", NUMBER_HINT.format(n=5),
                                "Với mục không có số, bạn gõ chữ của mục đó."]
    assert "5. ⭐⭐⭐⭐⭐" in lines(text) and "6. " not in text
    lone_cancel = {"inline_keyboard": [[{"text": "✖ Hủy", "callback_data": A.DraftCancel().pack()}]]}
    [text] = render.compose("Bạn gặp khó khăn gì? Hãy gõ vài câu.", lone_cancel, t)
    assert lines(text)[-2:] == ["– ✖ Hủy", "Với mục không có số, bạn gõ chữ của mục đó."]
    assert "1." not in text and "bằng số" not in text and "số 1" not in text


async def test_the_description_step_takes_words_not_a_number_for_cancel(zbot: ZaloHarness):
    await zbot.say(R, "/start")
    await zbot.say(R, "3")
    [description] = await zbot.say(R, "vneid")
    assert "– ✖ Hủy" in lines(description.text) and "số 1" not in description.text
    [cancelled] = await zbot.say(R, "huy")  # its words, as the screen says
    assert "Đã hủy" in cancelled.text


async def test_not_understood_under_one_choice_never_says_to_tap_a_button(zbot: ZaloHarness):
    await zbot.say(R, "/deletemydata")
    [cancelled] = await zbot.say(R, "2")  # ✖ Hủy: then "1. 🏠 Menu chính" alone
    assert lines(cancelled.text)[-2:] == ["1. 🏠 Menu chính", "Bạn trả lời số 1 để chọn."]
    [again] = await zbot.say(R, "5")
    assert again.text.startswith("Mình chưa hiểu.") and "bấm" not in again.text.lower()  # Zalo has no buttons
    assert lines(again.text)[-2:] == ["1. 🏠 Menu chính", "Bạn trả lời số 1 để chọn."]


async def test_an_edit_sends_only_a_changed_text_and_removing_buttons_sends_nothing(zbot: ZaloHarness):
    await zbot.say(R, "/start")
    uid = await zbot.uid(R)
    sent = await zbot.app.bot.send_message(uid, "Đang gửi: 0/10")
    start = len(zbot.zalo.sent)
    await zbot.app.bot.edit_message_text("Đang gửi: 0/10", uid, sent.message_id)
    await zbot.app.bot.edit_message_reply_markup(uid, sent.message_id, reply_markup=None)
    await zbot.app.bot.delete_message(uid, sent.message_id)
    assert zbot.zalo.sent[start:] == []
    await zbot.app.bot.edit_message_text("Đang gửi: 10/10", uid, sent.message_id)
    assert [e.text for e in zbot.zalo.sent[start:]] == ["Đang gửi: 10/10"]


# --- the whole /ask by typing, a Telegram volunteer, the relay both ways -------------------------------
async def ask_by_typing(zbot: ZaloHarness, phone: str | None = "0912 345 678") -> rdata.RequestRow:
    await zbot.say(R, "/start")
    await zbot.say(R, "3")  # 🙋 Nhờ hỗ trợ
    await zbot.say(R, "vneid")
    await zbot.say(R, "Tôi không nhận được mã OTP khi đăng ký VNeID")
    await zbot.say(R, "ben thanh")
    [contact] = await zbot.say(R, "nhan tin")  # 💬 by messages through the bot
    assert "Tình nguyện viên liên lạc với bạn bằng cách nào?" in contact.text
    if phone is None:
        await zbot.say(R, "chi nhan tin")
    else:
        number = next(line.split(".")[0] for line in lines(contact.text) if "Gửi số điện thoại" in line)
        before = await zbot.say(R, phone)  # a number before the consent sentence is not taken
        assert "+849" not in "".join(e.text for e in before)
        [consent] = await zbot.say(R, number)
        assert "Chỉ tình nguyện viên nhận yêu cầu này mới thấy số điện thoại của bạn" in consent.text  # consent
        assert "📞 Nếu bạn đồng ý, bạn gõ số điện thoại của bạn vào đây." in lines(consent.text)
        assert "bấm “📞 Gửi số điện thoại của tôi” bên dưới" not in consent.text  # Zalo has no such button
        shown = await zbot.say(R, phone)
        assert any("+84912345678" in e.text for e in shown)  # the summary shows it, normalised
    [filed] = await zbot.say(R, "xac nhan")
    code = filed.text.split("Mã yêu cầu: ")[1].split("\n")[0]
    return await rdata.by_code(zbot.svc.db, code)


@pytest.mark.parametrize("typed", ["so cua toi", "1234567", "📞"])
async def test_at_the_phone_step_a_wrong_answer_says_what_to_type_never_a_button_zalo_has_not(zbot, typed):
    await zbot.say(R, "/start")
    await zbot.say(R, "3")
    await zbot.say(R, "vneid")
    await zbot.say(R, "Tôi không nhận được mã OTP")
    await zbot.say(R, "ben thanh")
    [contact] = await zbot.say(R, "goi dien")  # 📞 a phone call: the number is needed
    number = next(line.split(".")[0] for line in lines(contact.text) if "Gửi số điện thoại" in line)
    await zbot.say(R, number)
    answer = "\n".join(e.text for e in await zbot.say(R, typed))
    assert "Gửi số điện thoại của tôi" not in answer and "bấm" not in answer.lower()  # no such button on Zalo
    assert "📞 Nếu bạn đồng ý, bạn gõ số điện thoại của bạn vào đây." in lines(answer)
    shown = await zbot.say(R, "0912 345 678")  # and typing it then works
    assert any("+84912345678" in e.text for e in shown)


async def test_the_ask_wizard_never_asks_a_zalo_person_for_a_voice_message(zbot: ZaloHarness):
    """Zalo's Bot API delivers no voice messages (only text, images and stickers): one sent would be answered
    "I cannot see this message", so the wizard asks for words or a photo only."""
    await zbot.say(R, "/start")
    await zbot.say(R, "3")
    [description] = await zbot.say(R, "vneid")
    assert "Bước 2/5" in description.text and "ảnh chụp màn hình" in description.text
    [nudge] = await zbot.say(R, "?")  # not a description
    for text in (description.text, nudge.text):
        assert "thoại" not in text  # tin nhắn thoại: a voice message


async def test_a_secret_in_the_description_says_what_to_type_to_start_again(zbot: ZaloHarness):
    await zbot.say(R, "/start")
    await zbot.say(R, "3")
    await zbot.say(R, "vneid")
    shown = "\n".join(e.text for e in await zbot.say(R, "Mã OTP của tôi là 123456 mà không vào được"))
    assert "⚠️" in shown and "bấm" not in shown.lower()  # Zalo has no button to tap
    assert "gõ “huy”" in shown


async def test_a_zalo_resident_helped_by_a_telegram_volunteer_without_either_account_shown(zbot: ZaloHarness):
    await make_volunteer(zbot, V, name="Minh")
    request = await ask_by_typing(zbot)
    uid = await zbot.uid(R)
    assert (request.resident_id, request.phone, request.status) == (uid, "+84912345678", "open")
    assert (await zbot.svc.db.fetchone("SELECT granted FROM consents WHERE user_id = ?", (uid,)))[0] == 1
    [offer] = offers_to(zbot, V)
    await zbot.driver.press(V, 1, offer.message_id)  # ✋ Claim, on Telegram
    assert (await rdata.get(zbot.svc.db, request.id)).volunteer_id == V
    assert any(request.code in t and "Minh" in t for t in zbot.shown(R))  # the resident is told on Zalo

    start = len(zbot.zalo.sent)
    await zbot.send(V, "Chào bác, bác mở ứng dụng VNeID giúp cháu nhé")
    assert any("Chào bác, bác mở ứng dụng VNeID" in e.text for e in zbot.zalo.sent[start:])
    tg_start = len(zbot.api.sent)
    await zbot.say(R, "Tôi mở rồi")
    assert any("Tôi mở rồi" in e.text for e in zbot.api.sent[tg_start:] if e.chat_id == V)
    await zbot.deliver(zbot.zalo.image(R, "https://photo-stal.zadn.vn/standin/otp.jpg", caption="màn hình"))
    photos = [e for e in zbot.api.sent[tg_start:] if e.chat_id == V and e.kind == "photo"]
    assert len(photos) == 1 and "màn hình" in photos[0].text
    assert zbot.api.messages[V][photos[0].message_id]["photo"] == "https://photo-stal.zadn.vn/standin/otp.jpg" \
        or zbot.api.calls["sendPhoto"] == 1  # Telegram fetched it by its URL
    start = len(zbot.zalo.sent)
    await zbot.driver.send_kind(V, "photo", caption="Bác bấm vào đây")
    [note] = zbot.zalo.sent[start:]
    assert "Bác bấm vào đây" in note.text and "Zalo" in note.text  # Telegram's photo: said in words
    # neither side's account: no Zalo id or surrogate id on Telegram, no Telegram id on Zalo
    assert not any(R in e.text or str(uid) in e.text for e in zbot.api.sent)
    assert not any(str(V) in e.text for e in zbot.zalo.sent)


async def test_in_a_conversation_a_typed_choice_number_picks_the_choice_as_the_screen_says(zbot: ZaloHarness):
    """Under a volunteer's message Zalo shows "1. 💬 Trả lời / 2. ✖ Xong, về menu / answer with a number":
    a "2" typed there goes back to the menu (it was sent to the volunteer as the text "2"); a number no choice
    has, or words, still reach the volunteer."""
    await make_volunteer(zbot, V, name="Minh")
    request = await ask_by_typing(zbot, phone=None)
    [offer] = offers_to(zbot, V)
    await zbot.driver.press(V, 1, offer.message_id)
    await zbot.send(V, "Bác có mấy điện thoại ạ?")
    relayed = zbot.shown(R)[-1]
    assert "2. ✖ Xong, về menu" in lines(relayed) and lines(relayed)[-1] == NUMBER_HINT.format(n=2)
    tg_start = len(zbot.api.sent)
    await zbot.say(R, "3")  # not a choice here: an answer for the volunteer
    assert [e.text.splitlines()[-1] for e in zbot.api.sent[tg_start:] if e.chat_id == V] == ["3"]
    tg_start = len(zbot.api.sent)
    shown = await zbot.say(R, "2")
    assert [e for e in zbot.api.sent[tg_start:] if e.chat_id == V] == []  # nothing sent to the volunteer
    assert any(". 📚 Hướng dẫn" in e.text for e in shown)  # the menu, as the choice said
    assert (await rdata.get(zbot.svc.db, request.id)).status == "claimed"


async def test_after_done_back_to_the_menu_a_zalo_resident_can_write_to_the_volunteer_again(zbot: ZaloHarness):
    """On Telegram the way back is "💬 Reply" under the volunteer's message; on Zalo that message is no longer
    the screen a typed answer goes to once the menu came, so the menu itself offers it."""
    await make_volunteer(zbot, V, name="Minh")
    request = await ask_by_typing(zbot, phone=None)
    [offer] = offers_to(zbot, V)
    await zbot.driver.press(V, 1, offer.message_id)
    await zbot.send(V, "Bác thử lại nhé")
    [menu] = await zbot.say(R, "xong, ve menu")
    assert "bấm" not in menu.text.lower() and "dưới tin nhắn của họ" not in menu.text
    number = next(line.split(".")[0] for line in lines(menu.text) if request.code in line)
    [prompt] = await zbot.say(R, number)
    assert request.code in prompt.text
    tg_start = len(zbot.api.sent)
    await zbot.say(R, "Cháu ơi bác vẫn chưa được")
    assert [e.text.splitlines()[-1] for e in zbot.api.sent[tg_start:] if e.chat_id == V] == [
        "Cháu ơi bác vẫn chưa được"]


async def test_a_zalo_volunteer_applying_is_told_to_type_not_to_tap(zbot: ZaloHarness):
    VZ = "0f9e8d7c6b5a4f3e2d1c"
    await zbot.say(VZ, "/volunteer")
    [wards] = await zbot.say(VZ, "Lan")
    assert "phường nào" in wards.text and "bấm" not in wards.text.lower()
    assert "gõ số" in wards.text.lower()
    [wards] = await zbot.say(VZ, "1")
    [topics] = await zbot.say(VZ, "5")  # Tiếp ▶
    assert "chủ đề nào" in topics.text and "bấm" not in topics.text.lower()


async def test_a_zalo_volunteer_resolving_is_asked_what_was_done_by_typing(zbot: ZaloHarness):
    from tests.handlers.test_requests import file_request

    VZ = "0f9e8d7c6b5a4f3e2d1c"
    await zbot.say(VZ, "/start")
    await make_volunteer(zbot, await zbot.uid(VZ), name="Lan")
    request = await file_request(zbot, 1001)
    await zbot.say(VZ, "nhan ho tro")
    shown = "\n".join(e.text for e in await zbot.say(VZ, "da giai quyet"))
    assert (await rdata.get(zbot.svc.db, request.id)).status == "resolved"
    assert "Người dân đã làm được việc gì? Gõ số của từng việc" in shown and "Bấm" not in shown


async def test_a_zalo_admins_campaign_wizard_promises_no_formatting(tmp_path):
    admin = "0a0a0a0a0a0a0a0a0a0a"
    async with open_zalo_bot(zalo_settings(tmp_path, admin_zalo_ids=frozenset({admin}))) as zbot:
        [compose] = await zbot.say(admin, "/broadcast")
        assert compose.text.startswith("📣") and "đậm" not in compose.text  # Zalo's text has no bold or links


async def test_a_zalo_volunteer_helps_a_telegram_resident(zbot: ZaloHarness):
    VZ = "0f9e8d7c6b5a4f3e2d1c"
    await zbot.say(VZ, "/start")
    vid = await zbot.uid(VZ)
    await make_volunteer(zbot, vid, name="Lan")
    from tests.handlers.test_requests import file_request

    request = await file_request(zbot, 1001)
    [offer] = [t for t in zbot.shown(VZ) if request.code in t]
    assert "Nhận hỗ trợ" in offer and "1. ✋ Nhận hỗ trợ" in lines(offer)
    await zbot.say(VZ, "nhan ho tro")
    assert (await rdata.get(zbot.svc.db, request.id)).volunteer_id == vid
    tg_start = len(zbot.api.sent)
    await zbot.say(VZ, "Chào bác, cháu là tình nguyện viên")
    assert any("Chào bác, cháu là tình nguyện viên" in e.text for e in zbot.api.sent[tg_start:] if e.chat_id == 1001)
    start = len(zbot.zalo.sent)
    await zbot.send(1001, "Cảm ơn cháu")
    assert any("Cảm ơn cháu" in e.text for e in zbot.zalo.sent[start:])
    assert not any(VZ in e.text or str(vid) in e.text for e in zbot.api.sent)


async def test_a_photo_sent_before_filing_goes_with_the_request_by_url(zbot: ZaloHarness):
    await make_volunteer(zbot, V)
    await zbot.say(R, "/start")
    await zbot.say(R, "3")
    await zbot.say(R, "vneid")
    await zbot.deliver(zbot.zalo.image(R, "https://photo-stal.zadn.vn/standin/loi.jpg"))
    row = await zbot.svc.db.fetchone("SELECT url FROM channel_media WHERE user_id = ?", (await zbot.uid(R),))
    assert row[0] == "https://photo-stal.zadn.vn/standin/loi.jpg"


# --- images and files the bot sends ------------------------------------------------------------------
async def test_images_go_by_the_media_link_or_are_said_in_words(store, tmp_path):
    links: list[tuple[int, str]] = []

    def media_url(data: bytes, content_type: str) -> str | None:
        links.append((len(data), content_type))
        return "https://bot.example/media/tok1"

    async with open_zalo_bot(zalo_settings(tmp_path, zalo_rate=30), media_url=media_url) as zbot:
        await zbot.say(R, "/start")
        uid = await zbot.uid(R)
        start = len(zbot.zalo.sent)
        await zbot.app.bot.send_photo(uid, b"\x89PNG fake", caption="Mã QR")
        [photo] = zbot.zalo.sent[start:]
        assert (photo.kind, photo.photo, photo.text) == ("photo", "https://bot.example/media/tok1", "Mã QR")
        assert links == [(len(b"\x89PNG fake"), "image/png")] or links[0][0] == len(b"\x89PNG fake")
    async with open_zalo_bot(zalo_settings(tmp_path / "b", zalo_rate=30)) as zbot:  # no PUBLIC_BASE_URL
        await zbot.say(R, "/start")
        uid = await zbot.uid(R)
        start = len(zbot.zalo.sent)
        await zbot.app.bot.send_photo(uid, b"\x89PNG fake", caption="Mã QR")
        await zbot.app.bot.send_document(uid, b"{}", filename="du-lieu-cua-toi.json", caption="Dữ liệu")
        [photo, file] = zbot.zalo.sent[start:]
        assert photo.kind == "to" and photo.text.startswith("Mã QR\n\n🖼 Zalo không hiện được hình ảnh")
        assert "Telegram" in file.text and "du-lieu-cua-toi.json" in file.text


# --- the API's quirks --------------------------------------------------------------------------------
async def test_a_repeated_update_is_processed_once(zbot: ZaloHarness):
    update = zbot.zalo.text(R, "/start", message_id="aaaabbbbccccddddeeee")
    assert await zbot.channel.accept(update) is True
    assert await zbot.channel.accept(update) is False  # polling and the webhook may both bring it
    assert len(zbot.zalo.sent) == 1


async def test_wrapped_and_unwrapped_payloads_and_the_webhook_secret(store, tmp_path):
    async with open_zalo_bot(zalo_settings(tmp_path, zalo_rate=30, zalo_webhook_secret="s3cret-token")) as zbot:
        assert await zbot.channel.accept({"ok": True, "result": zbot.zalo.text(R, "/start")})
        assert await zbot.channel.accept(zbot.zalo.text(R, "menu"))
        assert len(zbot.shown(R)) == 2
        assert zbot.channel.secret_ok("s3cret-token")
        assert not zbot.channel.secret_ok("s3cret-tokem") and not zbot.channel.secret_ok(None)
        assert not await zbot.channel.accept({"ok": False, "error_code": 408})


async def test_a_webhook_body_shaped_wrong_is_400_never_a_server_error(tmp_path):
    """POST /zalo with the right secret but fields of the wrong kind (a string where Zalo puts an object): 400,
    as any other body that is not an update, not a 500 with a traceback."""
    import httpx

    from bot.channels.zalo.webhook import SECRET_HEADER, ZaloWebhook
    from bot.web.app import WebState, create_app
    from bot.web.server import serving

    async with open_zalo_bot(zalo_settings(tmp_path, zalo_webhook_secret="s3cret-token")) as zbot:
        state = WebState()
        state.register(ZaloWebhook(zbot.channel, "s3cret-token"))
        state.phase = "ready"
        bodies = [{"message": {"from": "someone", "message_id": "m1"}},
                  {"ok": True, "result": {"event_name": "message.text.received", "message": {"from": [R]}}},
                  {"ok": True, "result": "nothing"}]
        async with serving(create_app(state)) as url, httpx.AsyncClient(base_url=url) as client:
            for body in bodies:
                answer = await client.post("/zalo", json=body, headers={SECRET_HEADER: "s3cret-token"})
                assert answer.status_code == 400, body
            assert zbot.zalo.sent == []
            odd_chat = {"event_name": "message.text.received",  # a sender and a message: taken, the chat is theirs
                        "message": {"from": {"id": R}, "chat": "a chat", "message_id": "m2", "text": "/start"}}
            answer = await client.post("/zalo", json=odd_chat, headers={SECRET_HEADER: "s3cret-token"})
            assert answer.status_code == 200
            await state.ingress.drain(5)
        assert zbot.shown(R)[0].startswith("Chào bạn!")


async def test_polling_408_and_one_update_per_poll(zbot: ZaloHarness):
    assert await zbot.channel.poll_once() is False  # nothing new: 408, which is normal
    assert zbot.zalo.calls["getUpdates"] == 1 and zbot.zalo.sent == []
    zbot.zalo.deliver(zbot.zalo.text(R, "/start"))
    zbot.zalo.deliver(zbot.zalo.text(R, "1"))
    assert await zbot.channel.poll_once() is True
    assert await zbot.channel.poll_once() is True
    assert [lines(t)[0] for t in zbot.shown(R)][-1] == "📚 Chọn chủ đề:"


async def test_ok_false_in_an_http_200_is_an_error(zbot: ZaloHarness):
    await zbot.say(R, "/start")
    uid = await zbot.uid(R)

    def fault(method: str, payload: dict) -> None:
        if method == "sendMessage":
            raise ZaloFault(400, "Bad Request: invalid chat", http_status=200)

    zbot.zalo.fault = fault
    with pytest.raises(BadRequest, match="invalid chat"):
        await zbot.app.bot.send_message(uid, "xin chào")
    client = ZaloClient(TOKEN, "https://bot-api.zaloplatforms.com", 5, transport=zbot.zalo.transport)
    with pytest.raises(ZaloApiError) as info:
        await client.send_message(R, "xin chào")
    assert info.value.code == 400
    await client.close()


async def test_429_and_5xx_are_retried_with_backoff_from_one_second(zbot: ZaloHarness):
    tries = Counter()

    def fault(method: str, payload: dict) -> None:
        if method == "sendMessage":
            tries[method] += 1
            if tries[method] <= 3:
                raise ZaloFault(429, "Quota exceeded")
            if tries[method] == 4:
                raise ZaloFault(502, "Bad Gateway")

    zbot.zalo.fault = fault
    [welcome] = await zbot.say(R, "/start")
    assert "Trợ lý số" in welcome.text and zbot.pauses == [1.0, 2.0, 4.0, 8.0]


# --- campaigns, data, admins, odd input --------------------------------------------------------------
async def test_a_campaign_reaches_a_mixed_audience_through_429s_once_each(zbot: ZaloHarness):
    people = [f"{n:020x}" for n in range(1, 7)]
    for person in people:
        await zbot.say(person, "/start")
    for tg in (3001, 3002):
        await users.touch(zbot.svc.db, tg, "Dân", None, zbot.svc.now())
    refused = Counter()

    def fault(method: str, payload: dict) -> None:
        if method == "sendMessage" and payload["chat_id"] in people[:3]:
            refused[payload["chat_id"]] += 1
            if refused[payload["chat_id"]] == 1:
                raise ZaloFault(429, "Quota exceeded")

    zbot.zalo.fault = fault
    zbot.svc.sender.sleep = lambda s: asyncio.sleep(0)
    cid, total = await campaigns.create(zbot.svc, ADMIN, Draft("📣 Tiêm chủng miễn phí tại phường"), None)
    assert total == 8
    for _name, _every, tick in TICKS:
        await tick(zbot.svc)
    await zbot.svc.sender.wait_idle()
    got = Counter(e.chat_id for e in zbot.zalo.sent if "Tiêm chủng miễn phí" in e.text)
    assert got == Counter({p: 1 for p in people})  # nobody missed, nobody twice
    assert Counter(e.chat_id for e in zbot.api.sent if "Tiêm chủng miễn phí" in e.text) == Counter({3001: 1, 3002: 1})
    assert zbot.pauses.count(1.0) == 3  # each 429 waited out from 1 s
    row = await zbot.svc.db.fetchone("SELECT status, sent FROM campaigns WHERE id = ?", (cid,))
    assert tuple(row) == ("done", 8)
    assert "Trong đó trên Zalo: 6 / 6" in zbot.last(ADMIN).text  # counted apart in the admin's report


async def test_a_campaign_photo_from_a_zalo_admin_reaches_both_channels_as_the_photo(zbot: ZaloHarness):
    """A Zalo admin's campaign photo is a Zalo photo: Telegram gets it by its URL (a Zalo file id means nothing to
    Telegram, which refuses it), and Zalo people get the photo itself, not "Zalo cannot show the picture"."""
    url = "https://photo-stal.zadn.vn/standin/poster.jpg"
    await zbot.say(R, "/start")
    await zbot.deliver(zbot.zalo.image(R, url, caption="Tiêm chủng"))
    uid = await zbot.uid(R)
    [mid] = [r[0] for r in await zbot.svc.db.fetchall("SELECT message_id FROM channel_media WHERE user_id = ?",
                                                       (uid,))]
    photo = f"zalo-photo-{uid}-{mid}"  # the file id the admin's handlers saw (bot/channels/zalo/adapter.py)
    other = "00000000000000000001"
    await zbot.say(other, "/start")
    await users.touch(zbot.svc.db, 3001, "Dân", None, zbot.svc.now())
    zbot.svc.sender.sleep = lambda s: asyncio.sleep(0)
    to_telegram: list[dict] = []
    zbot.api.fault = lambda method, params: to_telegram.append(params) if method == "sendPhoto" else None
    await campaigns.create(zbot.svc, ADMIN, Draft("📣 Tiêm chủng miễn phí", photo=photo), None)
    for _name, _every, tick in TICKS:
        await tick(zbot.svc)
    await zbot.svc.sender.wait_idle()
    [tg] = [e for e in zbot.api.sent if e.chat_id == 3001 and "Tiêm chủng miễn phí" in e.text]
    assert tg.kind == "photo" and [p["photo"] for p in to_telegram] == [url]  # by URL: Telegram fetches it
    for person in (R, other):
        got = [e for e in zbot.zalo.sent if e.chat_id == person and e.photo == url]
        assert len(got) == 1, person
    assert not any("Zalo không hiện được hình" in e.text for e in zbot.zalo.sent)


async def test_a_zalo_admins_progress_comes_once_a_minute_not_as_a_message_every_three_seconds(tmp_path):
    """Zalo cannot edit: each progress edit is a new message. Every 3 s, as on Telegram, a Zalo admin got about
    20 messages for a one-minute campaign (a long one: hundreds), each taking a share of ZALO_RATE too."""
    from tests.test_campaigns import run_ticks, seed

    admin = "0a0a0a0a0a0a0a0a0a0a"
    settings = zalo_settings(tmp_path, zalo_rate=30, broadcast_rate=2000, admin_zalo_ids=frozenset({admin}))
    async with open_zalo_bot(settings) as zbot:
        await zbot.say(admin, "/start")
        await seed(zbot, 300)

        def tick_clock(method: str, params: dict) -> None:
            if method == "sendMessage":
                zbot.clock.advance(0.2)  # 300 sends = 60 s by the app's clock

        zbot.api.fault = tick_clock
        admin_user = await users.get(zbot.svc.db, await zbot.uid(admin))
        await campaigns.create(zbot.svc, admin_user.id, Draft("Tiến độ"), None)
        await run_ticks(zbot)
        progress = [text for text in zbot.shown(admin) if text.startswith("📣 Thông báo chiến dịch #")]
        assert 2 <= len(progress) <= 4  # the start, about one a minute, the end
        assert "100%" in progress[-1]


async def test_deletemydata_on_zalo_erases_the_photo_urls_and_keeps_the_account_id(zbot: ZaloHarness):
    await zbot.say(R, "/start")
    await zbot.deliver(zbot.zalo.image(R))
    uid = await zbot.uid(R)
    mine = await privacy_data.export(zbot.svc.db, uid)  # what /mydata holds: the account and the photo's URL
    assert mine["accounts"][0]["external_id"] == R and mine["photos_sent"][0]["url"].startswith("https://")
    [file] = await zbot.say(R, "/mydata")
    assert "Telegram" in file.text  # no link without the server mode: said plainly
    [confirm] = await zbot.say(R, "/deletemydata")
    assert "1. ✅ Xác nhận" in lines(confirm.text)
    await zbot.say(R, "1")
    assert await zbot.svc.db.fetchone("SELECT * FROM channel_media WHERE user_id = ?", (uid,)) is None
    assert (await users.get(zbot.svc.db, uid)).first_name is None
    assert (await accounts.of_user(zbot.svc.db, uid)).external_id == R  # a ban would still hold


async def test_zalo_admins_come_from_admin_zalo_ids(store, tmp_path):
    settings = zalo_settings(tmp_path, zalo_rate=30, admin_zalo_ids=frozenset({R}))
    async with open_zalo_bot(settings) as zbot:
        stats = await zbot.say(R, "/stats")
        assert stats and not any("chỉ dành cho quản trị viên" in e.text for e in stats)  # not refused
        [refused] = await zbot.say("ffffffffffffffffffff", "/stats")
        assert refused.text == "Xin lỗi, mục này chỉ dành cho quản trị viên."


async def test_location_is_typed_as_a_ward(zbot: ZaloHarness):
    await zbot.say(R, "/start")
    [wards] = await zbot.say(R, "4")  # 📍 Điểm hỗ trợ
    nearest = next(line.split(".")[0] for line in lines(wards.text) if "Gần tôi nhất" in line)
    [how] = await zbot.say(R, nearest)
    assert how.text == ("📍 Bạn gõ tên phường của bạn, hoặc số của phường trong danh sách ở trên. Mình sẽ chỉ các "
                        "điểm hỗ trợ của phường đó.")
    [points] = await zbot.say(R, "ben thanh")
    assert "92 Nguyễn Trãi" in points.text


async def test_odd_input(zbot: ZaloHarness):
    assert await zbot.say(R, "") == []  # an empty text: nothing to answer
    [nudge] = await zbot.deliver(zbot.zalo.sticker(R))
    assert "chỉ đọc được chữ" in nudge.text
    [kind] = await zbot.deliver(zbot.zalo.unsupported(R))
    assert kind.text.startswith("Xin lỗi, mình không xem được tin nhắn này.")
    assert "1022" in kind.text and "📍" in kind.text  # phone lines and support points
    odd = {"event_name": "message.text.received", "message": {"chat": {"id": "g1", "chat_type": "GROUP"},
                                                              "from": {"id": R}, "text": "hi", "message_id": "x1"}}
    assert await zbot.channel.accept(odd) is False and await zbot.channel.accept({"nonsense": 1}) is False


def test_the_standin_refuses_a_wrong_token():
    standin = ZaloStandIn()

    async def go() -> int:
        client = ZaloClient("999:wrong", "https://bot-api.zaloplatforms.com", 5, transport=standin.transport)
        try:
            await client.get_me()
        except ZaloApiError as exc:
            return exc.code
        finally:
            await client.close()
        return 200

    assert asyncio.run(go()) == 401


async def test_a_poster_short_code_typed_on_zalo_opens_its_guide(zbot: ZaloHarness):
    [guide] = await zbot.say(R, "vneid-install")  # Zalo has no deep links: the poster prints the code to type
    assert "Cài VNeID và đăng ký tài khoản mức 1" in guide.text and "Bước 1/8" in guide.text
    [same] = await zbot.say(R, "/start vneid-install")
    assert "Bước 1/8" in same.text


async def test_a_zalo_refusal_in_a_campaign_marks_the_person_unreachable(zbot: ZaloHarness):
    await zbot.say(R, "/start")
    zbot.zalo.fault = lambda method, payload: (_ for _ in ()).throw(ZaloFault(403, "Forbidden")) \
        if method == "sendMessage" else None
    zbot.svc.sender.sleep = lambda s: asyncio.sleep(0)
    cid, _total = await campaigns.create(zbot.svc, ADMIN, Draft("📣 Thông báo"), None)
    for _name, _every, tick in TICKS:
        await tick(zbot.svc)
    await zbot.svc.sender.wait_idle()
    uid = await zbot.uid(R)
    row = await zbot.svc.db.fetchone("SELECT status FROM campaign_recipients WHERE campaign_id = ? AND user_id = ?",
                                     (cid, uid))
    assert row[0] == "blocked"
    assert (await zbot.svc.db.fetchone("SELECT reachable FROM users WHERE id = ?", (uid,)))[0] == 0


async def test_polling_backs_off_while_zalo_fails_and_a_refused_token_ends_it(zbot: ZaloHarness):
    answers = iter([502, 502, 502, None, 401])

    def fault(method: str, payload: dict) -> None:
        if method == "getUpdates":
            code = next(answers)
            if code is not None:
                raise ZaloFault(code, "Bad Gateway" if code == 502 else "Unauthorized")

    zbot.zalo.fault = fault
    zbot.zalo.deliver(zbot.zalo.text(R, "/start"))
    pauses: list[float] = []

    async def pause(seconds: float) -> None:
        pauses.append(seconds)

    from bot.config import StartupError

    with pytest.raises(StartupError, match="Zalo refused ZALO_BOT_TOKEN \\(401 Unauthorized while running\\)"):
        await zbot.channel.poll(asyncio.Event(), pause)
    assert pauses == [1.0, 2.0, 4.0]  # then the poll that brought /start resets the backoff
    assert zbot.shown(R)[0].startswith("Chào bạn!")


async def test_with_the_media_seam_a_telegram_volunteers_photo_reaches_zalo_as_a_link(store, tmp_path):
    got: list[tuple[bytes, str]] = []

    def media_url(data: bytes, content_type: str) -> str:
        got.append((data, content_type))
        return f"https://bot.example/media/t{len(got)}"

    async with open_zalo_bot(zalo_settings(tmp_path, zalo_rate=30), media_url=media_url) as zbot:
        await make_volunteer(zbot, V, name="Minh")
        request = await ask_by_typing(zbot, phone=None)
        [offer] = offers_to(zbot, V)
        await zbot.driver.press(V, 1, offer.message_id)
        assert (await rdata.get(zbot.svc.db, request.id)).volunteer_id == V
        start = len(zbot.zalo.sent)
        await zbot.driver.send_kind(V, "photo", caption="Bác bấm vào đây")
        [photo, caption] = zbot.zalo.sent[start:]
        assert (photo.kind, photo.photo) == ("photo", "https://bot.example/media/t1")
        assert "Bác bấm vào đây" in caption.text and "1. 💬 Trả lời" in lines(caption.text)  # its choices follow
        assert got == [(b"\xff\xd8\xff stand-in photo", "image/jpeg")]  # fetched from Telegram, served by link


async def test_the_webhook_is_registered_with_the_secret_and_then_polling_is_refused(store, tmp_path):
    from bot.config import StartupError

    async with open_zalo_bot(zalo_settings(tmp_path, zalo_rate=30)) as zbot:
        with pytest.raises(StartupError, match="ZALO_WEBHOOK_SECRET must be set"):
            await zbot.channel.use_webhook("https://bot.example/zalo")
    settings = zalo_settings(tmp_path / "b", zalo_rate=30, zalo_webhook_secret="s3cret-token")
    async with open_zalo_bot(settings) as zbot:
        with pytest.raises(StartupError, match=r"Zalo refused the webhook http://bot\.example/zalo"):
            await zbot.channel.use_webhook("http://bot.example/zalo")
        await zbot.channel.use_webhook("https://bot.example/zalo")
        assert zbot.zalo.webhook == {"url": "https://bot.example/zalo", "secret_token": "s3cret-token"}
        assert await zbot.channel.poll_once() is False and zbot.channel.poll_errors == 1  # as Zalo does
        assert await zbot.channel.accept(zbot.zalo.text(R, "/start"))  # what the webhook hands over
        assert zbot.shown(R)[0].startswith("Chào bạn!")


async def test_sends_to_zalo_keep_every_one_second_window_within_zalo_rate(store, tmp_path):
    from tests.test_campaigns import busiest_second

    async with open_zalo_bot(zalo_settings(tmp_path, zalo_rate=5)) as zbot:
        loop = asyncio.get_running_loop()
        times: list[float] = []
        zbot.zalo.fault = lambda method, payload: times.append(loop.time()) if method == "sendMessage" else None
        await zbot.say(R, "/start")
        uid = await zbot.uid(R)
        for n in range(10):
            await zbot.app.bot.send_message(uid, f"Tin {n}")
        assert len(times) == 11 and busiest_second(times) <= 5


async def test_on_zalo_mydata_comes_as_a_link_that_works_once(tmp_path):
    import json
    import re

    import httpx

    from bot.clock import FakeClock
    from bot.web.app import WebState, create_app
    from bot.web.media import MediaStore
    from bot.web.server import serving

    clock = FakeClock()
    store = MediaStore(ttl=600, clock=clock)
    async with serving(create_app(WebState(media=store, clock=clock))) as url, httpx.AsyncClient() as client:
        store.base_url = url
        async with open_zalo_bot(zalo_settings(tmp_path, zalo_rate=30), media_url=store.url_for_bytes) as zbot:
            await store.open(zbot.app.bot_data["svc"].db)  # the bytes are kept in the bot's database
            await zbot.say(R, "/start")
            [file] = await zbot.say(R, "/mydata")
            assert "Đường link chỉ dùng được một lần, trong 10 phút." in file.text
            link = re.search(r"https?://\S+", file.text).group(0)
            for _ in range(2):  # Zalo's link preview, then the person: a page, the file not used up
                page = await client.get(link)
                assert page.status_code == 200 and "Bấm vào đây để tải về" in page.text
                assert "du_lieu" in page.text or "json" in page.text
            first = await client.get(link + "?download=1")
            assert first.status_code == 200 and "attachment" in first.headers["content-disposition"]
            assert json.loads(first.content)["accounts"][0]["external_id"] == R
            assert (await client.get(link + "?download=1")).status_code == 404  # used: nobody else can open it
            assert (await client.get(link)).status_code == 404


async def test_a_campaign_photo_uploaded_on_the_dashboard_reaches_zalo_by_link_or_the_text_alone(tmp_path):
    """Bytes kept in campaign_images: Telegram gets them uploaded once, a Zalo person through the media link;
    without one (no PUBLIC_BASE_URL), the Zalo person gets the text alone."""
    from bot.data import campaigns as cdata

    photo = b"\x89PNG\r\n\x1a\n poster"
    linked: list[tuple[bytes, str]] = []

    def media_url(data: bytes, content_type: str) -> str:
        linked.append((data, content_type))
        return f"https://bot.example/media/t{len(linked)}"

    for seam in (media_url, None):
        async with open_zalo_bot(zalo_settings(tmp_path / str(bool(seam)), zalo_rate=30), media_url=seam) as zbot:
            await zbot.say(R, "/start")
            for tg in (3001, 3002):
                await users.touch(zbot.svc.db, tg, "Dân", None, zbot.svc.now())
            zbot.svc.sender.sleep = lambda s: asyncio.sleep(0)
            image_id = await cdata.keep_image(zbot.svc.db, photo, "image/png", zbot.svc.now(), zbot.svc.now())
            await campaigns.create(zbot.svc, ADMIN, Draft("📣 Điểm tiêm mới", image_id=image_id), None)
            for _name, _every, tick in TICKS:
                await tick(zbot.svc)
            await zbot.svc.sender.wait_idle()
            for tg in (3001, 3002):
                assert [e.kind for e in zbot.api.sent if e.chat_id == tg and "Điểm tiêm mới" in e.text] == ["photo"]
            assert [data for _chat, data in zbot.api.uploads] == [photo]  # Telegram: once
            to_zalo = [e for e in zbot.zalo.sent if e.chat_id == R and ("Điểm tiêm mới" in e.text or e.photo)]
            if seam:
                assert [e.photo for e in to_zalo if e.photo] == ["https://bot.example/media/t1"]
                assert linked == [(photo, "image/png")]
            else:
                assert not any(e.photo for e in to_zalo) and len(to_zalo) == 1  # the text alone

"""Every choice can be tapped or typed, and the relay never misroutes (issue 10), end to end."""

import pytest

from bot import help_requests
from bot.data import requests as rdata
from tests.conftest import ADMIN, Harness
from tests.handlers.test_requests import file_request, make_volunteer, offers_to

R, R2, R3 = 1001, 1002, 1003
V = 2001
MENU = "Bạn cần gì? Chọn một mục bên dưới nhé."
UNCLEAR = "Mình chưa hiểu."


def searched(events) -> bool:
    return any(e.text.startswith(("🔎 Hướng dẫn cho", "Mình chưa tìm thấy hướng dẫn")) for e in events)


async def search_count(bot: Harness) -> int:
    return (await bot.svc.db.fetchone("SELECT COUNT(*) FROM search_log"))[0]


# --- 1. typed choices under a list --------------------------------------------------------------------------
async def test_a_number_under_a_list_opens_that_choice(bot: Harness):
    [results] = await bot.send(R, "kich hoat vneid")
    first = results.labels[0]
    for typed in ("1", "1.", "số 1", "so 1", "１", "#1"):
        await bot.send(R, "kich hoat vneid")
        [opened] = await bot.send(R, typed)
        assert opened.text.startswith(f"📚 {first}\nBước 1/"), typed


@pytest.mark.parametrize("typed", ["tiep", "Tiếp", "next", "TIEP THEO", "tiếp ▶"])
async def test_next_words_step_a_guide(bot: Harness, typed: str):
    await bot.send(R, "/start vneid-install")
    [step] = await bot.send(R, typed)
    assert "Bước 2/" in step.text
    [back] = await bot.send(R, "quay lai")
    assert "Bước 1/" in back.text
    await bot.send(R, "1")  # the same place ("Next") on every step
    [back] = await bot.send(R, "back")
    assert "Bước 1/" in back.text


async def test_control_words_are_never_searched(bot: Harness):
    await bot.send(R, "/start vneid-install")
    for typed in ("tiep", "Tiếp", "next", "XAC NHAN", "ok", "co", "quay lai", "back", "5", "5 sao", "⭐⭐⭐⭐⭐"):
        events = await bot.send(R, typed)
        assert not searched(events), typed
    for typed in ("huy", "thoat", "/cancel", "menu", "English", "tieng viet"):
        events = await bot.send(R, typed)
        assert not searched(events), typed
    assert await search_count(bot) == 0


async def test_a_number_past_the_choices_shows_them_again(bot: Harness):
    await bot.send(R, "/start vneid-install")
    [again] = await bot.send(R, "9")
    assert again.text.startswith(UNCLEAR) and "1 đến 3" in again.text
    assert again.labels[0] == "Tiếp ▶"
    [step] = await bot.send(R, "1")
    assert "Bước 2/" in step.text


async def test_menu_cancel_and_language_words_work_anywhere(bot: Harness):
    [menu] = await bot.send(R, "menu")
    assert menu.text == MENU
    events = await bot.send(R, "English")
    assert events[-1].text == "What do you need? Choose an option below."
    events = await bot.send(R, "Tiếng Việt")
    assert events[-1].text == MENU
    [nothing] = await bot.send(R, "/cancel")  # nothing in progress: no "cancelled", just the menu
    assert nothing.text == MENU
    await bot.send(R, "/ask")
    [cancelled] = await bot.send(R, "/cancel")
    assert cancelled.text.startswith("Đã hủy.") and await rdata.get_draft(bot.svc.db, R) is None


async def test_a_typed_choice_is_answered_below_and_nothing_on_screen_is_edited(bot: Harness):
    [menu] = await bot.send(R, "/menu")
    events = await bot.send(R, "huong dan")  # the label "📚 Hướng dẫn" typed without accents
    assert [e.kind for e in events] == ["to"] and events[0].text.startswith("📚 ")
    assert bot.api.messages[R][menu.message_id]["text"] == MENU  # the menu is still there


# --- 2. inside the ask wizard -------------------------------------------------------------------------------
async def test_typing_at_each_wizard_step_answers_it(bot: Harness):
    await bot.send(R, "/ask")
    [step] = await bot.send(R, "VNEID")
    assert "Bước 2/5" in step.text
    await bot.send(R, "Tôi không nhận được mã OTP")
    [ward_step] = [e for e in bot.api.sent if e.chat_id == R][-1:]
    assert "Bước 3/5" in ward_step.text
    [mode_step] = await bot.send(R, "ben thanh")
    assert "Bước 4/5" in mode_step.text
    [contact_step] = await bot.send(R, "goi dien cho toi")
    draft = await rdata.get_draft(bot.svc.db, R)
    assert (draft.ward, draft.mode) == ("ben-thanh", "phone")
    assert "Bước 5/5" in contact_step.text
    assert await search_count(bot) == 0


async def test_words_that_fit_no_wizard_choice_stay_in_the_wizard(bot: Harness):
    await bot.send(R, "/ask")
    events = await bot.send(R, "may tinh nha toi bi hong")
    assert not searched(events)
    assert events[0].text.startswith(UNCLEAR) and "Bước 1/5" in events[-1].text
    [step] = await bot.send(R, "1")  # the next typed answer goes to the wizard, not another menu
    assert "Bước 2/5" in step.text


async def test_huy_at_the_description_step_cancels_and_a_sentence_with_huy_is_a_description(bot: Harness):
    await bot.send(R, "/ask")
    await bot.send(R, "1")
    [done] = await bot.send(R, "huy")
    assert done.text.startswith("Đã hủy.")
    assert await rdata.get_draft(bot.svc.db, R) is None
    await bot.send(R, "/ask")
    await bot.send(R, "1")
    await bot.send(R, "Tôi muốn hủy thẻ ngân hàng bị mất")
    assert (await rdata.get_draft(bot.svc.db, R)).description == "Tôi muốn hủy thẻ ngân hàng bị mất"


# --- 3. after a claim the resident can just type ----------------------------------------------------------
async def test_after_a_claim_the_residents_text_reaches_the_volunteer(bot: Harness):
    await make_volunteer(bot, V)
    request = await file_request(bot)
    claimed = await bot.driver.press(V, 1, offers_to(bot, V)[0].message_id)
    told = next(e for e in claimed if e.chat_id == R)
    assert "cứ gõ" in told.text
    events = await bot.send(R, "Cháu ơi, bác vẫn chưa vào được")  # before the volunteer wrote anything
    assert next(e for e in events if e.chat_id == V).text == (
        f"💬 {request.code} · Người dân:\nCháu ơi, bác vẫn chưa vào được")
    assert next(e for e in events if e.chat_id == R).text == f"✓ Đã gửi cho {request.code}."
    assert await search_count(bot) == 0


# --- 4. a volunteer with several requests --------------------------------------------------------------------
async def three_conversations(bot: Harness):
    await make_volunteer(bot, V)
    requests = []
    for resident in (R, R2, R3):
        request = await file_request(bot, resident)
        await bot.driver.press(V, 1, offers_to(bot, V)[-1].message_id)
        requests.append(await rdata.get(bot.svc.db, request.id))
    assert all(r.status == "claimed" and r.volunteer_id == V for r in requests)
    return requests


def delivered(events, chat: int) -> list[str]:
    return [e.text for e in events if e.chat_id == chat and e.text.startswith("💬 ")]


async def test_a_volunteer_with_three_requests_replies_to_each_and_each_reaches_its_resident(bot: Harness):
    requests = await three_conversations(bot)
    residents = (R, R2, R3)
    incoming = {}
    for resident, request in zip(residents, requests, strict=True):
        events = await bot.send(resident, f"Tôi là người của {request.code}")
        incoming[resident] = next(e for e in events if e.chat_id == V)
    # replying to each resident's message: it goes to that resident, whatever came last
    for resident, request in zip(reversed(residents), reversed(requests), strict=True):
        events = await bot.send(V, f"Trả lời {request.code}", reply_to=incoming[resident].message_id)
        assert delivered(events, resident) == [f"💬 {request.code} · Tình nguyện viên Vol{V}:\nTrả lời {request.code}"]
        assert [e.chat_id for e in events if e.text.startswith("💬 ")] == [resident]
        assert events[-1].text == f"✓ Đã gửi cho {request.code}."
    # the "💬 Reply" button under a resident's message picks that request for what is typed next
    await bot.press(V, "Trả lời", incoming[R2].message_id)
    events = await bot.send(V, "Bác chờ cháu chút")
    assert delivered(events, R2) and not delivered(events, R) and not delivered(events, R3)


async def test_when_it_is_not_clear_the_bot_asks_which_request_and_loses_nothing(bot: Harness):
    requests = await three_conversations(bot)
    await bot.send(R, "Bác đây")
    await bot.send(R2, "Tôi cũng đây")  # two residents wrote: a plain text is not clearly for either
    events = await bot.send(V, "Bác mở ứng dụng ra giúp cháu")
    assert not any(e.chat_id in (R, R2, R3) for e in events)
    [question] = events
    assert question.text.startswith("Bạn đang trao đổi về nhiều yêu cầu")
    assert [label.split(" · ")[0] for label in question.labels] == [r.code for r in requests]
    await bot.send(V, "Bấm vào nút xanh nhé")  # a second message while the question is open is kept too
    events = await bot.send(V, requests[1].code)  # the code, typed
    assert delivered(events, R2) == [
        f"💬 {requests[1].code} · Tình nguyện viên Vol{V}:\nBác mở ứng dụng ra giúp cháu",
        f"💬 {requests[1].code} · Tình nguyện viên Vol{V}:\nBấm vào nút xanh nhé"]
    assert not delivered(events, R) and not delivered(events, R3)
    events = await bot.send(V, "Được chưa bác?")  # now it is clear: the request just chosen
    assert delivered(events, R2)


async def test_a_long_text_is_split_never_cut_and_a_caption_travels_with_its_photo(bot: Harness):
    await make_volunteer(bot, V)
    request = await file_request(bot)
    await bot.driver.press(V, 1, offers_to(bot, V)[0].message_id)
    long = " ".join(f"từ{n}" for n in range(2000))  # about 11,000 characters
    events = await bot.send(V, long)
    parts = [e.text for e in events if e.chat_id == R]
    assert len(parts) >= 3 and all(len(p) <= 4096 for p in parts)
    label = f"💬 {request.code} · Tình nguyện viên Vol{V}:\n"
    assert all(p.startswith(label) for p in parts)
    assert " ".join(p[len(label):] for p in parts).split() == long.split()
    events = await bot.driver.send_kind(R, "photo", caption="màn hình báo lỗi")
    photo = next(e for e in events if e.chat_id == V)
    assert photo.kind == "photo" and photo.text == f"💬 {request.code} · Người dân:\nmàn hình báo lỗi"
    events = await bot.driver.send_kind(R, "document", caption="giấy hẹn")  # files and videos travel like photos
    assert next(e for e in events if e.chat_id == V).text == f"💬 {request.code} · Người dân:\ngiấy hẹn"
    assert events[-1].text == f"✓ Đã gửi cho {request.code}."


async def test_an_album_arrives_once_with_one_confirmation(bot: Harness):
    await make_volunteer(bot, V)
    request = await file_request(bot)
    await bot.driver.press(V, 1, offers_to(bot, V)[0].message_id)
    events = []
    for n in range(3):
        events += await bot.driver.send_kind(R, "photo", album="album-1", caption="ba ảnh" if n == 0 else None)
    assert len([e for e in events if e.chat_id == V and e.kind == "photo"]) == 3
    assert [e.text for e in events if e.chat_id == R] == [f"✓ Đã gửi cho {request.code}."]


# --- 5. "Done, back to the menu" erases nothing -------------------------------------------------------------
async def test_done_back_to_the_menu_keeps_the_volunteers_message(bot: Harness):
    await make_volunteer(bot, V)
    request = await file_request(bot)
    await bot.driver.press(V, 1, offers_to(bot, V)[0].message_id)
    events = await bot.send(V, "Bác vào mục Cài đặt nhé")
    instructions = next(e for e in events if e.chat_id == R)
    events = await bot.press(R, "Xong, về menu", instructions.message_id)
    assert [(e.kind, e.text) for e in events if e.chat_id == R] == [
        ("to", "Muốn nhắn lại cho tình nguyện viên, bạn bấm “💬 Trả lời” dưới tin nhắn của họ.\n" + MENU)]
    assert bot.api.messages[R][instructions.message_id]["text"].endswith("Bác vào mục Cài đặt nhé")
    events = await bot.send(R, "cai dat vneid")  # back at the menu, text is a search again
    assert searched(events) and not any(e.chat_id == V for e in events)
    events = await bot.send(V, "Bác xong chưa ạ?")  # the volunteer writes again: the resident's answer goes back
    events = await bot.send(R, "Xong rồi")
    assert next(e for e in events if e.chat_id == V).text == f"💬 {request.code} · Người dân:\nXong rồi"


# --- 6. nothing typed or sent is lost ------------------------------------------------------------------------
async def test_asking_again_offers_to_continue_the_saved_draft(bot: Harness):
    await bot.send(R, "/ask")
    await bot.send(R, "1")
    await bot.send(R, "Không đăng nhập được VNeID")
    [offer] = await bot.send(R, "/ask")
    assert offer.text.startswith("Bạn đã bắt đầu một yêu cầu")
    [step] = await bot.send(R, "lam tiep")
    assert "Bước 3/5" in step.text
    assert (await rdata.get_draft(bot.svc.db, R)).description == "Không đăng nhập được VNeID"
    await bot.send(R, "/menu")
    await bot.press(R, "Nhờ hỗ trợ")
    [step] = await bot.press(R, "Làm lại từ đầu")
    assert "Bước 1/5" in step.text


@pytest.mark.parametrize("kind", ["photo", "voice"])
async def test_a_photo_or_voice_note_at_any_ask_step_is_attached(bot: Harness, kind: str):
    await bot.send(R, "/ask")
    await bot.send(R, "1")
    await bot.send(R, "Màn hình báo lỗi")
    events = await bot.driver.send_kind(R, kind)  # at the ward step
    assert events[0].text == "📎 Đã thêm vào yêu cầu của bạn."
    assert "Bước 3/5" in events[-1].text
    draft = await rdata.get_draft(bot.svc.db, R)
    assert draft.attachment_kind == kind and draft.description == "Màn hình báo lỗi"
    assert not any("chỉ đọc được chữ" in e.text for e in events)


# --- 8. asking for a person ---------------------------------------------------------------------------------
@pytest.mark.parametrize("typed", ["cho toi gap nguoi that", "co ai giup toi khong", "goi dien cho toi"])
async def test_asking_for_a_person_gives_the_way_to_a_volunteer_and_the_phone_lines(bot: Harness, typed: str):
    [reply] = await bot.send(R, typed)
    assert "1022" in reply.text and "1900 0368" in reply.text and "🙋 Nhờ hỗ trợ" in reply.labels
    [wizard] = await bot.send(R, "1")
    assert wizard.text.startswith("🙋 Nhờ hỗ trợ · Bước 1/5")


# --- 9. an admin who is also a volunteer ---------------------------------------------------------------------
async def test_an_admin_volunteers_campaign_text_is_not_relayed(bot: Harness):
    await make_volunteer(bot, ADMIN)
    await file_request(bot)
    await bot.driver.press(ADMIN, 1, offers_to(bot, ADMIN)[0].message_id)
    await bot.send(ADMIN, "/broadcast")
    events = await bot.send(ADMIN, "Ngày 30/11 phường mở điểm hỗ trợ VNeID")
    assert not any(e.chat_id == R for e in events)
    assert events[-1].text.startswith("Bạn có thể gửi thêm một ảnh")
    [audience] = await bot.send(ADMIN, "tiep")  # no photo: the audience question
    assert "✖ Hủy" in audience.labels
    events = await bot.send(ADMIN, "ai cung duoc")  # words that fit no audience: asked again, not relayed
    assert events[0].text.startswith(UNCLEAR) and not any(e.chat_id == R for e in events)
    events = await bot.send(ADMIN, "huy")  # cancel words work in the campaign's steps too
    assert events[-1].text.startswith("Đã hủy") and not any(e.chat_id == R for e in events)


# --- a resident does it all by typing ------------------------------------------------------------------------
async def test_a_resident_asks_rates_and_cancels_by_typing_only(bot: Harness):
    await make_volunteer(bot, V)
    for typed in ("/ask", "vneid", "Con tôi cài VNeID nhưng không quét được căn cước", "tan dinh", "1", "1"):
        events = await bot.send(R, typed)
    assert events[-1].text.startswith("Bạn xem lại yêu cầu nhé:") and "✅ Xác nhận" in events[-1].labels
    events = await bot.send(R, "xac nhan")
    code = events[-1].text.split("Mã yêu cầu: ")[1].split("\n")[0]
    request = await rdata.by_code(bot.svc.db, code)
    assert (request.status, request.ward, request.mode) == ("open", "tan-dinh", "chat")
    # the volunteer covers another ward: an admin assigns it to them
    await bot.send(ADMIN, "/start")
    await help_requests.assign(bot.svc, request.id, ADMIN, V)
    await help_requests.resolve(bot.svc, request.id, V)
    [thanks] = await bot.send(R, "5 sao")
    assert thanks.text.startswith("Cảm ơn bạn đã đánh giá: ⭐⭐⭐⭐⭐")
    await bot.send(R, "Cháu rất tận tình")
    row = await rdata.get(bot.svc.db, request.id)
    assert (row.rating, row.rating_comment) == (5, "Cháu rất tận tình")
    # a second request, cancelled by typing
    for typed in ("/ask", "2", "Không nộp được hồ sơ", "khong biet", "nhan tin", "chi nhan tin", "ok"):
        await bot.send(R, typed)
    second = (await rdata.of_resident(bot.svc.db, R))[0]
    assert second.status == "open"
    await bot.send(R, "/myrequests")
    [done] = await bot.send(R, "huy")
    assert done.text == f"✖ Đã hủy yêu cầu {second.code}."
    assert (await rdata.get(bot.svc.db, second.id)).status == "cancelled"
    assert await search_count(bot) == 0


# --- kinds found by trying it as a newcomer ----------------------------------------------------------------------
async def test_a_draft_left_behind_does_not_take_what_is_typed_later(bot: Harness):
    await bot.send(R, "/ask")
    await bot.send(R, "vneid")
    await bot.send(R, "Tôi không đăng nhập được")  # now at the ward step
    await bot.send(R, "menu")
    assert searched(await bot.send(R, "cai vneid"))
    await bot.send(R, "/ask")
    await bot.send(R, "lam moi")
    await bot.send(R, "1")  # at the description step
    await bot.send(R, "/menu")
    assert searched(await bot.send(R, "cai zalo"))  # a search, not the description
    assert (await rdata.get_draft(bot.svc.db, R)).description is None


async def test_a_cancel_word_that_fits_several_choices_is_asked_again(bot: Harness):
    first = await file_request(bot)
    second = await file_request(bot)
    await bot.send(R, "/myrequests")
    [again] = await bot.send(R, "huy")
    assert again.text.startswith(UNCLEAR) and not again.text.startswith("Đã hủy")
    assert {(await rdata.get(bot.svc.db, r.id)).status for r in (first, second)} == {"open"}
    [done] = await bot.send(R, "2")
    assert done.text.startswith("✖ Đã hủy yêu cầu")


async def test_control_words_are_not_names_descriptions_or_languages(bot: Harness):
    await bot.send(V, "/volunteer")
    [refused] = await bot.send(V, "tiep")
    assert refused.text == "Bạn gõ tên của mình bằng chữ nhé." or "tên" in refused.text
    [wards] = await bot.send(V, "Lan")
    assert wards.text.startswith("Bạn hỗ trợ được phường nào?")
    events = await bot.send(V, "1 2 3")  # the numbers of three wards: each ticked, not searched, not abandoned
    assert not searched(events) and [label for label in events[-1].labels if label.startswith("✅")] == [
        "✅ Phường Sài Gòn", "✅ Phường Tân Định", "✅ Phường Bến Thành"]
    events = await bot.send(V, "1 2 9")  # one fits no choice: asked again
    assert not searched(events) and events[0].text.startswith(UNCLEAR)
    await bot.send(R, "/ask")
    await bot.send(R, "1")
    for typed in ("ok", "1", "?", "tiep", "👍"):
        [told] = await bot.send(R, typed)
        assert told.text.startswith("Bạn kể vài câu"), typed
    assert (await rdata.get_draft(bot.svc.db, R)).description is None
    for typed in ("anh", "ảnh", "en", "ví"):  # everyday words, not language names
        events = await bot.send(3001, typed)
        assert not any(e.text.startswith(("Language", "Ngôn ngữ")) for e in events), typed


@pytest.mark.parametrize("typed", ["Hủy yêu cầu", "huy di", "toi muon huy", "thoi khong can nua"])
async def test_ways_of_saying_cancel_at_the_description_step(bot: Harness, typed: str):
    await bot.send(R, "/ask")
    await bot.send(R, "1")
    [done] = await bot.send(R, typed)
    assert done.text.startswith("Đã hủy.") and await rdata.get_draft(bot.svc.db, R) is None


async def test_rating_in_words_and_no_reopening_by_a_number(bot: Harness):
    await make_volunteer(bot, V)
    request = await file_request(bot)
    await help_requests.claim(bot.svc, request.id, V)
    await help_requests.resolve(bot.svc, request.id, V)
    [again] = await bot.send(R, "6")  # the text asks for 1 to 5: 6 must not reopen it
    assert again.text.startswith(UNCLEAR)
    assert "(từ 1 đến 5)" in again.text, again.text  # the numbers that work: not "1 đến 6", which were refused
    assert (await rdata.get(bot.svc.db, request.id)).status == "resolved"
    [thanks] = await bot.send(R, "nam sao")
    assert thanks.text.startswith("Cảm ơn bạn đã đánh giá: ⭐⭐⭐⭐⭐")


async def test_a_minus_number_is_not_a_choice(bot: Harness):
    await bot.send(R, "/start vneid-install")
    events = await bot.send(R, "-1")
    assert not any("Bước 2/" in e.text for e in events)


async def test_the_contact_shared_at_the_contact_step_is_taken(bot: Harness):
    for typed in ("/ask", "vneid", "Không quét được căn cước", "ben thanh", "goi dien cho toi"):
        await bot.send(R, typed)
    events = await bot.driver.send_kind(R, "contact")
    assert events[-1].text.startswith("Bạn xem lại yêu cầu nhé:") and "+84900001001" in events[-1].text


async def test_a_caption_adds_to_the_description(bot: Harness):
    await bot.send(R, "/ask")
    await bot.send(R, "1")
    await bot.send(R, "Tôi bị lỗi đăng nhập")
    await bot.driver.send_kind(R, "photo", caption="màn hình lỗi")
    draft = await rdata.get_draft(bot.svc.db, R)
    assert draft.description == "Tôi bị lỗi đăng nhập\nmàn hình lỗi" and draft.attachment_kind == "photo"


async def test_cancel_or_menu_at_which_request_says_the_kept_messages_were_not_sent(bot: Harness):
    requests = await three_conversations(bot)
    await bot.send(R, "Bác đây")
    await bot.send(R2, "Tôi đây")
    await bot.send(V, "tin 1 cho ai")
    [cancelled] = await bot.send(V, "huy")
    assert cancelled.text.startswith("Đã hủy.")
    await bot.send(V, "tin 2")
    events = await bot.send(V, requests[0].code)
    assert delivered(events, R) == [f"💬 {requests[0].code} · Tình nguyện viên Vol{V}:\ntin 2"]
    await bot.send(R2, "Còn tôi?")
    await bot.send(V, "tin 3")
    [menu] = await bot.send(V, "menu")
    assert menu.text.startswith("Tin nhắn của bạn chưa được gửi.")
    assert not any(e.text.endswith("tin 3") for e in bot.api.sent if e.chat_id in (R, R2, R3))


async def test_the_which_request_choices_can_be_told_apart(bot: Harness):
    await make_volunteer(bot, V)
    for resident, text in ((R, "Không quét được căn cước gắn chip"), (R2, "Quên mật khẩu VNeID")):
        await file_request(bot, resident, text=text)
        await bot.driver.press(V, 1, offers_to(bot, V)[-1].message_id)
    await bot.send(R, "a")
    await bot.send(R2, "b")
    [question] = await bot.send(V, "Chào bác")
    assert [label.split(" · ")[1] for label in question.labels] == ["Không quét được căn cước gắn chip",
                                                                   "Quên mật khẩu VNeID"]


async def test_a_typed_number_never_pauses_a_volunteer_on_a_card(bot: Harness):
    await make_volunteer(bot, V)
    await make_volunteer(bot, 2002)
    await bot.send(ADMIN, "/volunteers")
    events = await bot.send(ADMIN, "1")
    assert events[0].text.startswith(UNCLEAR)
    assert {(await bot.svc.db.fetchone("SELECT status FROM volunteers WHERE user_id = ?", (v,)))[0]
            for v in (V, 2002)} == {"active"}


async def test_numbers_work_at_the_campaign_photo_step(bot: Harness):
    await bot.send(ADMIN, "/broadcast")
    await bot.send(ADMIN, "Thông báo: ngày 30/11 có điểm hỗ trợ VNeID")
    [audience] = await bot.send(ADMIN, "1")  # "Tiếp ▶": no photo
    assert audience.text.startswith("Ai sẽ nhận") or "✖ Hủy" in audience.labels


async def test_screens_survive_a_restart_whose_message_ids_start_again(settings):
    from bot.botapi_standin import FakeBotAPI
    from bot.clock import FakeClock
    from tests.conftest import open_bot

    clock = FakeClock()
    async with open_bot(settings, clock, FakeBotAPI(clock)) as first:
        for typed in ("/ask", "vneid", "Tôi không đăng nhập được"):
            await first.send(R, typed)
    async with open_bot(settings, clock, FakeBotAPI(clock)) as second:  # the console numbers messages anew
        [mode_step] = await second.send(R, "ben thanh")
        assert "Bước 4/5" in mode_step.text
        [contact_step] = await second.send(R, "goi dien cho toi")
        assert "Bước 5/5" in contact_step.text
        draft = await rdata.get_draft(second.svc.db, R)
        assert (draft.ward, draft.mode) == ("ben-thanh", "phone")


async def test_every_attachment_is_kept_and_reaches_the_volunteer(bot: Harness):
    await make_volunteer(bot, V)
    await bot.send(R, "/ask")
    await bot.send(R, "vneid")
    await bot.send(R, "Tôi bị lỗi đăng nhập")
    await bot.driver.send_kind(R, "photo", caption="màn hình lỗi")
    await bot.driver.send_kind(R, "voice")
    for typed in ("ben thanh", "nhan tin", "chi nhan tin"):
        events = await bot.send(R, typed)
    assert "Tôi bị lỗi đăng nhập\nmàn hình lỗi" in events[-1].text and "(kèm 2 ảnh" in events[-1].text
    await bot.send(R, "xac nhan")
    claimed = await bot.driver.press(V, 1, offers_to(bot, V)[-1].message_id)
    copies = [e for e in claimed if e.chat_id == V and e.kind in ("photo", "file")]
    assert len(copies) == 2


async def test_a_reopened_request_goes_first_to_the_volunteer_who_helped(bot: Harness):
    await make_volunteer(bot, V)
    request = await file_request(bot)
    await help_requests.claim(bot.svc, request.id, V)
    await help_requests.resolve(bot.svc, request.id, V)
    events = await bot.send(R, "chua xong")  # "🔁 Vẫn chưa xong", typed
    offer = next(e for e in events if e.chat_id == V)
    assert offer.text.startswith(f"🔁 Người dân báo yêu cầu {request.code} vẫn chưa xong.")
    await bot.driver.press(V, 1, offer.message_id)
    assert (await rdata.get(bot.svc.db, request.id)).status == "claimed"


# --- kinds found on the second try ----------------------------------------------------------------------------
async def test_after_one_request_closes_a_message_is_not_sent_to_the_other_by_default(bot: Harness):
    await make_volunteer(bot, V)
    first = await file_request(bot, R)
    await bot.driver.press(V, 1, offers_to(bot, V)[-1].message_id)
    second = await file_request(bot, R2)
    await bot.driver.press(V, 1, offers_to(bot, V)[-1].message_id)
    events = await bot.send(R2, "Chào cháu")
    await bot.send(V, "Chào cô Ba", reply_to=next(e for e in events if e.chat_id == V).message_id)
    await help_requests.resolve(bot.svc, second.id, V)
    events = await bot.send(V, "Không có gì cô Ba, chúc cô khỏe")  # meant for the request just closed
    assert not any(e.chat_id == R for e in events)
    assert events[-1].text.startswith("Bạn đang trao đổi về nhiều yêu cầu")
    assert [label.split(" · ")[0] for label in events[-1].labels] == [first.code]


async def test_claiming_a_second_request_makes_the_next_plain_message_ask(bot: Harness):
    await make_volunteer(bot, V)
    await file_request(bot, R)
    await bot.driver.press(V, 1, offers_to(bot, V)[-1].message_id)
    await bot.send(V, "Chào bác Hai")
    await file_request(bot, R2)
    await bot.driver.press(V, 1, offers_to(bot, V)[-1].message_id)
    events = await bot.send(V, "Bác bấm vào nút màu xanh nhé")
    assert not any(e.chat_id in (R, R2) for e in events)
    assert events[-1].text.startswith("Bạn đang trao đổi về nhiều yêu cầu")


async def test_messages_kept_for_which_request_survive_a_reply_to_another(bot: Harness):
    requests = await three_conversations(bot)
    incoming = next(e for e in await bot.send(R, "Bác đây") if e.chat_id == V)
    await bot.send(R2, "Tôi đây")
    await bot.send(V, "tin giữ lại")  # asked which; kept
    await bot.send(V, "trả lời bác Hai", reply_to=incoming.message_id)  # goes to R at once
    events = await bot.send(V, requests[1].code)  # the kept one, to the request chosen
    assert delivered(events, R2) == [f"💬 {requests[1].code} · Tình nguyện viên Vol{V}:\ntin giữ lại"]


async def test_exit_words_do_not_cancel_a_request_under_myrequests(bot: Harness):
    request = await file_request(bot)
    for typed in ("thoat", "stop", "dung lai", "khong can nua"):
        await bot.send(R, "/myrequests")
        await bot.send(R, typed)
        assert (await rdata.get(bot.svc.db, request.id)).status == "open", typed


@pytest.mark.parametrize("typed, stars", [("5sao", 5), ("5/5", 5), ("4 sao nhe", 4), ("five stars", 5),
                                          ("ba sao", 3)])
async def test_ratings_typed_every_way(bot: Harness, typed: str, stars: int):
    await make_volunteer(bot, V)
    request = await file_request(bot)
    await help_requests.claim(bot.svc, request.id, V)
    await help_requests.resolve(bot.svc, request.id, V)
    await bot.send(R, typed)
    assert (await rdata.get(bot.svc.db, request.id)).rating == stars


@pytest.mark.parametrize("typed", ["-1", "-5", "+3"])
async def test_a_signed_number_is_no_rating(bot: Harness, typed: str):
    await make_volunteer(bot, V)
    request = await file_request(bot)
    await help_requests.claim(bot.svc, request.id, V)
    await help_requests.resolve(bot.svc, request.id, V)
    await bot.send(R, typed)
    assert (await rdata.get(bot.svc.db, request.id)).rating is None


@pytest.mark.parametrize("typed", ["muc 1", "mục 1", "so1", "một", "cau 1"])
async def test_number_words_pick_choices(bot: Harness, typed: str):
    await bot.send(R, "/start vneid-install")
    [step] = await bot.send(R, typed)
    assert "Bước 2/" in step.text


async def test_back_words_under_topics_and_wards(bot: Harness):
    await bot.send(R, "/menu")
    await bot.send(R, "huong dan")
    await bot.send(R, "1")  # a topic: its guides, with "↩ Chủ đề"
    [topics] = await bot.send(R, "quay lai")
    assert topics.text.startswith("📚 ")
    await bot.send(R, "/menu")
    await bot.send(R, "diem ho tro")
    await bot.send(R, "ben thanh")
    [wards] = await bot.send(R, "back")
    assert wards.text.startswith("📍 ")


@pytest.mark.parametrize("typed", ["goi dien cho toi", "cho toi gap nguoi that"])
async def test_at_the_contact_step_words_for_a_call_choose_the_phone(bot: Harness, typed: str):
    for line in ("/ask", "vneid", "Không quét được căn cước", "ben thanh", "nhan tin"):
        await bot.send(R, line)
    events = await bot.send(R, typed)
    assert not any("1022" in e.text for e in events)  # no detour out of the wizard


async def test_a_phone_number_in_a_description_is_hidden_from_offered_volunteers(bot: Harness):
    await make_volunteer(bot, V)
    request = await file_request(bot, text="Gọi cho tôi số 0909 123 456 nhé, tôi không vào được VNeID")
    [offer] = offers_to(bot, V)
    assert "0909" not in offer.text and "(số điện thoại đã ẩn)" in offer.text
    claimed = await bot.driver.press(V, 1, offer.message_id)
    assert any("0909 123 456" in e.text for e in claimed if e.chat_id == V)  # the holder sees what was written
    assert request.description.startswith("Gọi cho tôi số 0909")


async def test_reopen_from_myrequests_later(bot: Harness):
    await make_volunteer(bot, V)
    request = await file_request(bot)
    await help_requests.claim(bot.svc, request.id, V)
    await help_requests.resolve(bot.svc, request.id, V)
    await bot.send(R, "/menu")
    [listing] = await bot.send(R, "/myrequests")
    assert f"🔁 {request.code} vẫn chưa xong" in listing.labels
    await bot.press(R, "vẫn chưa xong")
    assert (await rdata.get(bot.svc.db, request.id)).status == "open"


async def test_the_which_request_question_says_how_many_messages_are_kept(bot: Harness):
    await three_conversations(bot)
    await bot.send(R, "Bác đây")
    await bot.send(R2, "Tôi đây")
    await bot.send(V, "Cháu chào bác")
    [question] = await bot.send(V, "Bác chờ cháu nhé")
    assert question.text == "Mình đang giữ 2 tin nhắn của bạn. Các tin này dành cho yêu cầu nào?"


async def test_a_long_description_says_what_was_kept_and_the_topic_is_not_lost(bot: Harness):
    await bot.send(R, "/ask")
    await bot.send(R, "vneid")
    await bot.send(R, "/menu")
    [offer] = await bot.send(R, "/ask")  # the topic chosen is kept too
    assert offer.text.startswith("Bạn đã bắt đầu một yêu cầu")
    [step] = await bot.send(R, "lam tiep")
    assert "Bước 2/5" in step.text
    events = await bot.send(R, "Tôi không đăng nhập được. " * 60)
    assert events[0].text.startswith("Nội dung hơi dài: mình giữ 1.000 ký tự đầu.")
    assert len((await rdata.get_draft(bot.svc.db, R)).description) == 1000


async def test_a_paused_volunteer_hears_why_available_does_not_work(bot: Harness):
    await make_volunteer(bot, V)
    await bot.send(ADMIN, "/start")
    from bot import volunteers
    await volunteers.decide(bot.svc, ADMIN, V, "pause")
    [reply] = await bot.send(V, "/available")
    assert reply.text.startswith("Quản trị viên đã tạm dừng") or "tạm dừng" in reply.text

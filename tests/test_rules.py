"""Who may claim, what a volunteer who leaves keeps (nothing), and what a waiting resident hears.

End to end through the real Application on the stand-in; the clock is advanced, never slept on.
"""

import pytest

from bot import help_requests
from bot.data import requests as rdata
from bot.data import users
from bot.data import volunteers as vdata
from tests.conftest import ADMIN, Harness
from tests.handlers.test_requests import VOLS, R, file_request, make_volunteer, offers_to

OTHER_WARD = "Yêu cầu này thuộc phường khác."
AWAY = "Bạn đang tạm nghỉ. Bạn gửi /available trước, rồi bấm Nhận hỗ trợ."
ONLY_ACTIVE = "Chỉ tình nguyện viên đã được duyệt mới nhận được yêu cầu."
NOT_HELD = "Bạn không còn giữ yêu cầu này."
ENDED = "Cuộc trò chuyện này đã kết thúc."
RESIDENT_TOLD = "tình nguyện viên không tiếp tục được. Mình đang tìm người khác giúp bạn."
STILL_LOOKING = "mình vẫn đang tìm tình nguyện viên cho bạn."
STILL_WAITING = "Mình đã nhờ thêm quản trị viên của phường hỗ trợ."
UNCONFIRMED = "⚠️ Chưa được xác nhận: bạn hỏi lại trước khi đến nhé."
CLAIMED = "Bạn đã nhận hỗ trợ. Cảm ơn bạn!"
CANCEL_HOW = "Nếu không cần hỗ trợ nữa, bạn gửi /myrequests để hủy yêu cầu."


def sent_to(bot: Harness, uid: int, since: int = 0):
    return [e for e in bot.api.sent[since:] if e.chat_id == uid]


async def kinds(bot: Harness, request_id: int) -> list[tuple[str, str | None]]:
    return [(k, d) for _a, k, d in await rdata.events(bot.svc.db, request_id)]


# --- claim eligibility ------------------------------------------------------------------------
async def test_a_forged_claim_from_another_ward_is_refused(bot: Harness):
    await make_volunteer(bot, VOLS[0])
    await make_volunteer(bot, VOLS[3], wards=("tan-dinh",))
    request = await file_request(bot)
    assert offers_to(bot, VOLS[3]) == []
    [menu] = await bot.send(VOLS[3], "/menu")
    start = len(bot.api.sent)
    [alert] = await bot.driver.press_data(VOLS[3], f"rq:claim:{request.id}", menu.message_id)
    assert (alert.kind, alert.text) == ("alert", OTHER_WARD)
    row = await rdata.get(bot.svc.db, request.id)
    assert (row.status, row.volunteer_id) == ("open", None)
    assert "claimed" not in [k for k, _d in await kinds(bot, request.id)]
    assert sent_to(bot, R, start) == []  # the resident hears nothing
    assert len(offers_to(bot, VOLS[0])) == 1 and await rdata.offers_of(bot.svc.db, request.id) == [
        (VOLS[0], offers_to(bot, VOLS[0])[0].message_id)]  # the real offer stays open


async def test_a_request_of_unknown_ward_is_claimable_by_any_active_volunteer(bot: Harness):
    await make_volunteer(bot, VOLS[3], wards=("tan-dinh",))
    request = await file_request(bot, ward="Không rõ")
    [menu] = await bot.send(VOLS[3], "/menu")
    events = await bot.driver.press_data(VOLS[3], f"rq:claim:{request.id}", menu.message_id)
    assert ("alert", CLAIMED) in [(e.kind, e.text) for e in events]
    assert (await rdata.get(bot.svc.db, request.id)).volunteer_id == VOLS[3]


async def test_a_claim_while_away_is_refused_until_available(bot: Harness):
    await make_volunteer(bot, VOLS[0])
    request = await file_request(bot)
    [offer] = offers_to(bot, VOLS[0])
    await bot.send(VOLS[0], "/away")
    events = await bot.driver.press(VOLS[0], 1, offer.message_id)
    assert [(e.kind, e.text) for e in events] == [("alert", AWAY)]  # the offer is not edited either
    assert (await rdata.get(bot.svc.db, request.id)).status == "open"
    await bot.send(VOLS[0], "/available")
    await bot.driver.press(VOLS[0], 1, offer.message_id)
    row = await rdata.get(bot.svc.db, request.id)
    assert (row.status, row.volunteer_id) == ("claimed", VOLS[0])


async def test_an_area_escalated_volunteer_of_another_ward_can_claim_the_offer(bot: Harness):
    V = VOLS[0]
    await make_volunteer(bot, V, topics=("payments",))  # wrong topic: no offer at first
    await make_volunteer(bot, VOLS[3], wards=("tan-dinh",), topics=("payments",))
    request = await file_request(bot)
    assert offers_to(bot, V) == []
    bot.clock.advance(16 * 60)
    await help_requests.tick(bot.svc)
    [offer] = offers_to(bot, V)  # the area step offers it to every volunteer of the ward
    # the volunteer now covers Tân Định only: the offer they hold still lets them claim
    await bot.send(V, "/volunteer")
    await bot.send(V, "Lan")
    await bot.press(V, "Tân Định")
    await bot.press(V, "Bến Thành")
    assert (await vdata.get(bot.svc.db, V)).wards == ("tan-dinh",)
    [menu] = await bot.send(VOLS[3], "/menu")  # never offered, same wards: refused
    [alert] = await bot.driver.press_data(VOLS[3], f"rq:claim:{request.id}", menu.message_id)
    assert alert.text == OTHER_WARD
    events = await bot.driver.press(V, 1, offer.message_id)
    assert ("alert", CLAIMED) in [(e.kind, e.text) for e in events]
    row = await rdata.get(bot.svc.db, request.id)
    assert (row.status, row.volunteer_id) == ("claimed", V)


async def test_an_admin_may_assign_to_an_away_volunteer_of_another_ward(bot: Harness):
    await make_volunteer(bot, VOLS[3], wards=("tan-dinh",))
    await bot.send(VOLS[3], "/away")
    request = await file_request(bot)
    [queue] = await bot.send(ADMIN, "/queue")
    events = await bot.driver.press_data(ADMIN, f"rq:asg:{request.id}:{VOLS[3]}", queue.message_id)
    assert any(e.chat_id == VOLS[3] and e.text.startswith("Quản trị viên đã giao yêu cầu này cho bạn:")
               and request.code in e.text for e in events)
    row = await rdata.get(bot.svc.db, request.id)
    assert (row.status, row.volunteer_id) == ("claimed", VOLS[3])
    assert ("assigned", str(VOLS[3])) in await kinds(bot, request.id)


async def test_a_banned_volunteer_cannot_claim(bot: Harness):
    await make_volunteer(bot, VOLS[0])
    request = await file_request(bot)
    await users.set_banned(bot.svc.db, VOLS[0], True)
    result = await help_requests.claim(bot.svc, request.id, VOLS[0])
    assert not result.won
    assert await help_requests.why_not_claimed(bot.svc, result.request, VOLS[0]) == (
        "Only active volunteers can claim requests.")
    assert (await rdata.get(bot.svc.db, request.id)).status == "open"


# --- a volunteer who leaves loses access at once ----------------------------------------------
@pytest.mark.parametrize(("action", "label", "status"), [("pause", "Tạm dừng", "paused"),
                                                          ("remove", "Xóa", "removed")])
async def test_a_volunteer_who_leaves_mid_relay_loses_access_at_once(bot: Harness, action, label, status):
    V, NEXT = VOLS[0], VOLS[1]
    await make_volunteer(bot, V)
    request = await file_request(bot)
    await bot.driver.press(V, 1, offers_to(bot, V)[0].message_id)
    [holder_card] = [e for e in bot.api.sent if e.chat_id == V and "✅ Đã giải quyết" in e.labels]
    await bot.send(V, "Chào bác, bác mở ứng dụng VNeID giúp cháu")
    answer = await bot.send(R, "Tôi mở rồi")
    to_volunteer = next(e for e in answer if e.chat_id == V)
    await make_volunteer(bot, NEXT)  # joins later: the released request is routed to them
    other = await file_request(bot, 1002)  # an offer still open in the volunteer's chat
    [other_offer] = [o for o in offers_to(bot, V) if other.code in o.text]

    await bot.send(ADMIN, "/volunteers")
    listing = next(e for e in sent_to(bot, ADMIN) if e.text.startswith(f"Vol{V}"))
    start = len(bot.api.sent)
    await bot.press(ADMIN, label, listing.message_id)
    assert (await vdata.get(bot.svc.db, V)).status == status

    row = await rdata.get(bot.svc.db, request.id)
    assert (row.status, row.volunteer_id) == ("open", None)
    assert ("auto_released", "volunteer_left") in await kinds(bot, request.id)
    assert any(RESIDENT_TOLD in e.text and request.code in e.text for e in sent_to(bot, R, start))
    assert [o.text.split("\n")[0] for o in offers_to(bot, NEXT)][-2:] == [f"🙋 Yêu cầu hỗ trợ {other.code}",
                                                                          f"🙋 Yêu cầu hỗ trợ {request.code}"]
    assert len([o for o in offers_to(bot, V) if request.code in o.text]) == 1  # not offered it again
    edited = [e for e in sent_to(bot, V, start) if e.kind == "edit"]
    assert [(e.message_id, e.text, e.labels) for e in edited] == [
        (other_offer.message_id, f"🔒 {other.code}: Không còn dành cho bạn", [])]
    assert await rdata.offers_of(bot.svc.db, other.id) == [(NEXT, offers_to(bot, NEXT)[0].message_id)]
    assert ("offer_withdrawn", str(V)) in await kinds(bot, other.id)
    [note] = [e for e in sent_to(bot, V, start) if e.kind == "to"]
    assert request.code in note.text and other.code not in note.text

    # everything the volunteer still has on screen is refused, and nothing reaches the resident
    after = len(bot.api.sent)
    [refused] = await bot.send(V, "Bác bấm nút Tiếp", reply_to=to_volunteer.message_id)
    assert refused.text == ENDED
    await bot.send(V, "Bác ơi còn đó không")  # no conversation any more: it is a search
    [alert] = await bot.press(V, "Đã giải quyết", holder_card.message_id)
    assert alert.text == NOT_HELD
    [alert] = await bot.press(V, "Cần gặp trực tiếp", holder_card.message_id)
    assert alert.text == NOT_HELD
    [alert] = await bot.driver.press_data(V, f"rq:claim:{other.id}", other_offer.message_id)
    assert alert.text == ONLY_ACTIVE
    assert sent_to(bot, R, after) == [] and sent_to(bot, 1002, after) == []
    assert (await rdata.get(bot.svc.db, request.id)).status == "open"
    if status == "paused":
        [mine] = await bot.send(V, "/mine")
        assert mine.text == "Lúc này bạn không giữ yêu cầu nào. Cảm ơn bạn đã sẵn sàng!"


async def test_a_leaver_still_holding_is_locked_out_and_the_tick_releases_it(bot: Harness):
    """A pause cut short before its releases (a crash, an old database): the holder can do nothing,
    and the next tick finishes the job."""
    V = VOLS[0]
    await make_volunteer(bot, V)
    request = await file_request(bot)
    await bot.driver.press(V, 1, offers_to(bot, V)[0].message_id)
    [holder_card] = [e for e in bot.api.sent if e.chat_id == V and "✅ Đã giải quyết" in e.labels]
    assert await vdata.set_status(bot.svc.db, V, "paused", ("active",), ADMIN, bot.svc.now())
    start = len(bot.api.sent)
    [refused] = await bot.send(V, "Bác còn đó không")  # still awaiting the relay, but refused
    assert refused.text == ENDED
    for label in ("Đã giải quyết", "Cần gặp trực tiếp", "Nhắn cho người dân"):
        [alert] = await bot.press(V, label, holder_card.message_id)
        assert alert.kind == "alert", label
    await bot.press(V, "Trả lại", holder_card.message_id)
    assert bot.last(V).text == NOT_HELD
    [mine] = await bot.send(V, "/mine")
    assert mine.text.startswith("Lúc này bạn không giữ yêu cầu nào")
    assert sent_to(bot, R, start) == []
    assert (await rdata.get(bot.svc.db, request.id)).status == "claimed"
    await help_requests.tick(bot.svc)
    row = await rdata.get(bot.svc.db, request.id)
    assert (row.status, row.volunteer_id) == ("open", None)
    assert any(RESIDENT_TOLD in e.text for e in sent_to(bot, R, start))
    await help_requests.tick(bot.svc)
    assert [k for k, _d in await kinds(bot, request.id)].count("auto_released") == 1


async def test_away_keeps_what_the_volunteer_holds(bot: Harness):
    V = VOLS[0]
    await make_volunteer(bot, V)
    request = await file_request(bot)
    await bot.driver.press(V, 1, offers_to(bot, V)[0].message_id)
    await bot.send(V, "/away")
    events = await bot.send(V, "Bác mở ứng dụng giúp cháu")
    assert any(e.chat_id == R and "Bác mở ứng dụng giúp cháu" in e.text for e in events)
    assert (await rdata.get(bot.svc.db, request.id)).volunteer_id == V


# --- a waiting resident is told ---------------------------------------------------------------
@pytest.mark.parametrize(("ward", "point"), [("Bến Thành", "Ủy ban nhân dân phường Bến Thành"),
                                             ("Không rõ", "Ủy ban nhân dân phường Sài Gòn")])
async def test_a_waiting_resident_hears_once_per_escalation_step(bot: Harness, ward, point):
    request = await file_request(bot, ward=ward)
    start = len(bot.api.sent)
    bot.clock.advance(14 * 60)
    await help_requests.tick(bot.svc)
    assert sent_to(bot, R, start) == []
    bot.clock.advance(2 * 60)  # T1: the area step
    await help_requests.tick(bot.svc)
    await help_requests.tick(bot.svc)
    [first] = sent_to(bot, R, start)
    lines = first.text.split("\n")
    assert lines[0] == f"⏳ Yêu cầu {request.code}: {STILL_LOOKING}"
    assert f"📍 {point}" in lines and UNCONFIRMED in lines and lines[-1] == CANCEL_HOW
    place = bot.svc.content.points[next(p for p in bot.svc.content.points
                                        if bot.svc.content.points[p].name.get("vi") == point)]
    assert place.address in lines and f"🕘 {place.hours.get('vi')}" in lines
    assert first.text.count("nhé") <= 1
    bot.clock.advance(45 * 60)  # T2: the admins step
    await help_requests.tick(bot.svc)
    await help_requests.tick(bot.svc)
    notes = sent_to(bot, R, start)
    assert len(notes) == 2
    second = notes[1].text
    assert second.startswith(f"⏳ Yêu cầu {request.code}: mình vẫn đang chờ tình nguyện viên.")
    assert STILL_WAITING in second and f"📍 {point}" in second and second.endswith(CANCEL_HOW)
    assert second.count("nhé") <= 1
    bot.clock.advance(24 * 3600)
    await help_requests.tick(bot.svc)
    assert len(sent_to(bot, R, start)) == 2  # nothing more, and it stays open
    assert (await rdata.get(bot.svc.db, request.id)).status == "open"


async def test_a_claimed_request_sends_no_waiting_note(bot: Harness):
    await make_volunteer(bot, VOLS[0])
    request = await file_request(bot)
    await help_requests.claim(bot.svc, request.id, VOLS[0])
    start = len(bot.api.sent)
    bot.clock.advance(2 * 3600)
    await help_requests.tick(bot.svc)
    assert not any(e.text.startswith("⏳") for e in sent_to(bot, R, start))

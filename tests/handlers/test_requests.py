"""The life of a help request, end to end through the real Application on the stand-in."""

import asyncio

from bot import help_requests
from bot.botapi_standin import FakeBotAPI
from bot.clock import FakeClock
from bot.data import requests as rdata
from bot.data import users
from bot.data import volunteers as vdata
from tests.conftest import ADMIN, Harness, open_bot

R = 1001  # resident
NOT_ALLOWED = "Xin lỗi, mục này chỉ dành cho quản trị viên."
VOLS = (2001, 2002, 2003, 2004)


async def make_volunteer(bot: Harness, uid: int, wards=("ben-thanh",), topics=("vneid",), name=None) -> None:
    now = bot.svc.now()
    await users.touch(bot.svc.db, uid, name or f"Vol{uid}", None, now)
    await vdata.start_application(bot.svc.db, uid, name or f"Vol{uid}", now)
    for w in wards:
        await vdata.toggle(bot.svc.db, uid, "volunteer_wards", "ward", w)
    for t in topics:
        await vdata.toggle(bot.svc.db, uid, "volunteer_topics", "topic", t)
    assert await vdata.set_status(bot.svc.db, uid, "active", ("applying",), ADMIN, now)


async def file_request(bot: Harness, uid: int = R, *, phone: bool = False, ward: str = "Bến Thành",
                       text: str = "Tôi không nhận được mã OTP khi đăng ký VNeID") -> rdata.RequestRow:
    shown = await bot.send(uid, "/ask")
    if any("🔄 Làm lại từ đầu" in e.labels for e in shown):  # a draft left from before (the fuzz run leaves some)
        await bot.press(uid, "Làm lại từ đầu")
    await bot.press(uid, "VNeID")
    await bot.send(uid, text)
    await bot.press(uid, ward)
    await bot.press(uid, "Nhắn tin qua Trợ lý số")
    if phone:
        await bot.press(uid, "Gửi số điện thoại")
        await bot.driver.send_kind(uid, "contact")
    else:
        await bot.press(uid, "Chỉ nhắn tin")
    events = await bot.press(uid, "Xác nhận")
    # the resident's confirmation (a campaign sending in the background may land in the same moment)
    confirmation = next(e for e in reversed(events) if e.chat_id == uid and "Mã yêu cầu: " in e.text)
    code = confirmation.text.split("Mã yêu cầu: ")[1].split("\n")[0]
    return await rdata.by_code(bot.svc.db, code)


def offers_to(bot: Harness, uid: int):
    return [e for e in bot.api.sent if e.chat_id == uid and e.kind == "to" and "✋ Nhận hỗ trợ" in e.labels]


async def test_file_offer_claim_relay_resolve_rate(bot: Harness):
    for v in VOLS[:3]:
        await make_volunteer(bot, v)
    await make_volunteer(bot, VOLS[3], wards=("tan-dinh",))  # another ward: no offer
    request = await file_request(bot, phone=True)
    confirmation = bot.last(R)
    assert confirmation.text.startswith(f"✅ Mình đã lưu yêu cầu của bạn. Mã yêu cầu: {request.code}")
    assert request.status == "open" and request.phone == "+84900001001"
    assert (await bot.svc.db.fetchone("SELECT purpose, granted FROM consents WHERE user_id = ?", (R,)))[:] == (
        "volunteer_contact", 1)

    offers = {v: offers_to(bot, v) for v in VOLS}
    assert [len(offers[v]) for v in VOLS] == [1, 1, 1, 0]
    offer = offers[VOLS[0]][0]
    assert request.code in offer.text and "Bến Thành" in offer.text and "Tôi không nhận được mã OTP" in offer.text
    assert "+849" not in offer.text and "User 1001" not in offer.text  # no phone, no account

    claimed = await bot.driver.press(VOLS[1], 1, offers[VOLS[1]][0].message_id)
    holder_card = next(e for e in claimed if e.chat_id == VOLS[1] and e.kind == "edit")
    assert "📞 Điện thoại: +84900001001" in holder_card.text  # consented: the holder sees it
    losers = [e for e in claimed if e.kind == "edit" and e.chat_id in (VOLS[0], VOLS[2])]
    assert {e.chat_id for e in losers} == {VOLS[0], VOLS[2]}
    assert all(e.text == f"🔒 {request.code}: Đã có người nhận" and not e.labels for e in losers)
    told = next(e for e in claimed if e.chat_id == R)
    assert "Vol2002" in told.text and request.code in told.text

    late = await bot.driver.press_data(VOLS[0], f"rq:claim:{request.id}", offers[VOLS[0]][0].message_id)
    assert late[0].kind == "alert" and late[0].text == "Đã có người nhận"

    # relay: the volunteer's text reaches the resident (labelled, no account), and back
    relayed = await bot.send(VOLS[1], "Chào bác, bác mở ứng dụng VNeID giúp cháu nhé")
    to_resident = next(e for e in relayed if e.chat_id == R)
    assert to_resident.text == (f"💬 {request.code} · Tình nguyện viên Vol2002:\n"
                                "Chào bác, bác mở ứng dụng VNeID giúp cháu nhé")
    answer = await bot.send(R, "Tôi mở rồi")
    to_volunteer = next(e for e in answer if e.chat_id == VOLS[1])
    assert to_volunteer.text == f"💬 {request.code} · Người dân:\nTôi mở rồi"
    assert next(e for e in answer if e.chat_id == R).text == f"✓ Đã gửi cho {request.code}."  # names the request
    photo = await bot.driver.send_kind(R, "photo", caption="màn hình")
    assert any(e.chat_id == VOLS[1] and e.kind == "photo" for e in photo)
    # a reply to the relayed message also goes through
    reply = await bot.send(VOLS[1], "Bác bấm nút Tiếp", reply_to=to_volunteer.message_id)
    assert any(e.chat_id == R and "Bác bấm nút Tiếp" in e.text for e in reply)

    await bot.press(VOLS[1], "Đã giải quyết", holder_card.message_id)
    row = await rdata.get(bot.svc.db, request.id)
    assert row.status == "resolved"
    await bot.press(R, "⭐⭐⭐⭐")
    await bot.send(R, "Cháu rất nhiệt tình")
    row = await rdata.get(bot.svc.db, request.id)
    assert (row.rating, row.rating_comment) == (4, "Cháu rất nhiệt tình")
    kinds = [k for _a, k, _d in await rdata.events(bot.svc.db, request.id)]
    assert kinds[:1] == ["filed"] and "claimed" in kinds and kinds[-1] == "rated"
    assert kinds.count("claimed") == 1 and "resolved" in kinds


async def test_after_resolution_text_is_a_search_again(bot: Harness):
    await make_volunteer(bot, VOLS[0])
    request = await file_request(bot)
    await help_requests.claim(bot.svc, request.id, VOLS[0])
    await help_requests.resolve(bot.svc, request.id, VOLS[0])
    [reply] = await bot.send(VOLS[0], "cai dat vneid")
    assert reply.text.startswith("🔎 Hướng dẫn cho")


async def test_cancel_open_request_closes_offers(bot: Harness):
    await make_volunteer(bot, VOLS[0])
    request = await file_request(bot)
    [listing] = await bot.send(R, "/myrequests")
    assert request.code in listing.text and "⏳ Đang chờ tình nguyện viên" in listing.text
    events = await bot.press(R, f"Hủy {request.code}")
    assert (await rdata.get(bot.svc.db, request.id)).status == "cancelled"
    assert any(e.chat_id == VOLS[0] and e.kind == "edit" and "Người dân đã hủy" in e.text for e in events)
    claim = await bot.driver.press_data(VOLS[0], f"rq:claim:{request.id}", offers_to(bot, VOLS[0])[0].message_id)
    assert claim[0].kind == "alert"
    assert (await rdata.get(bot.svc.db, request.id)).volunteer_id is None


async def test_release_goes_back_to_routing_and_reaches_someone_new(bot: Harness):
    await make_volunteer(bot, VOLS[0])
    request = await file_request(bot)
    await make_volunteer(bot, VOLS[1])  # joins after the first offers
    await help_requests.claim(bot.svc, request.id, VOLS[0])
    [card] = await bot.send(VOLS[0], "/mine")
    assert request.code in card.text
    await bot.press(VOLS[0], "Trả lại", card.message_id)
    events = await bot.press(VOLS[0], "Không liên lạc được")
    row = await rdata.get(bot.svc.db, request.id)
    assert row.status == "open" and row.volunteer_id is None
    assert any(e.chat_id == VOLS[1] and "✋ Nhận hỗ trợ" in e.labels for e in events)
    assert any(e.chat_id == R and "không tiếp tục được" in e.text for e in events)
    assert ("released" in [k for _a, k, _d in await rdata.events(bot.svc.db, request.id)])


async def test_escalation_steps_follow_the_clock(bot: Harness):
    svc = bot.svc
    request = await file_request(bot, ward="Không rõ")  # nobody fits yet: no offer
    await make_volunteer(bot, VOLS[0], topics=("payments",))  # wrong topic for K-routing
    bot.clock.advance(14 * 60)
    await help_requests.tick(svc)
    assert offers_to(bot, VOLS[0]) == []
    bot.clock.advance(2 * 60)  # T1 = 15 min: every available volunteer in the area
    await help_requests.tick(svc)
    assert len(offers_to(bot, VOLS[0])) == 1
    await help_requests.tick(svc)
    assert len(offers_to(bot, VOLS[0])) == 1  # once only
    bot.clock.advance(45 * 60)  # T2 = 60 min: admins with an Assign button
    await help_requests.tick(svc)
    alert = [e for e in bot.api.sent if e.chat_id == ADMIN]
    assert len(alert) == 1 and "👤 Giao việc" in alert[0].labels and request.code in alert[0].text
    await bot.press(ADMIN, "Giao việc")
    await bot.press(ADMIN, "Vol2001")
    row = await rdata.get(svc.db, request.id)
    assert row.status == "claimed" and row.volunteer_id == VOLS[0]
    bot.clock.advance(24 * 3600 + 60)  # T3: the silent holder is reminded once
    await help_requests.tick(svc)
    await help_requests.tick(svc)
    reminders = [e for e in bot.api.sent if e.chat_id == VOLS[0] and e.text.startswith("⏰")]
    assert len(reminders) == 1
    bot.clock.advance(24 * 3600)  # T4: released back to routing, the resident told
    await help_requests.tick(svc)
    row = await rdata.get(svc.db, request.id)
    assert row.status == "open" and row.volunteer_id is None
    assert any(e.chat_id == R and "không tiếp tục được" in e.text for e in bot.api.sent)
    kinds = [k for _a, k, _d in await rdata.events(svc.db, request.id)]
    assert kinds.count("escalated_area") == 1 and kinds.count("escalated_admins") == 1
    assert "reminded" in kinds and "auto_released" in kinds


async def test_nothing_leaves_open_without_a_person(bot: Harness):
    request = await file_request(bot)
    bot.clock.advance(30 * 24 * 3600)
    await help_requests.tick(bot.svc)
    assert (await rdata.get(bot.svc.db, request.id)).status == "open"


async def test_forged_and_stale_presses_are_refused(bot: Harness):
    await make_volunteer(bot, VOLS[0])
    request = await file_request(bot)
    [menu] = await bot.send(3333, "/menu")  # a resident who is no volunteer
    [alert] = await bot.driver.press_data(3333, f"rq:claim:{request.id}", menu.message_id)
    assert alert.text == "Chỉ tình nguyện viên đã được duyệt mới nhận được yêu cầu."
    [alert] = await bot.driver.press_data(VOLS[0], f"rq:done:{request.id}", menu.message_id)
    assert alert.text == "Bạn không còn giữ yêu cầu này."
    await help_requests.claim(bot.svc, request.id, VOLS[0])
    await help_requests.resolve(bot.svc, request.id, VOLS[0])
    [alert] = await bot.driver.press_data(3333, f"rq:rate:{request.id}:1", menu.message_id)
    assert alert.text.startswith("Chỉ người gửi yêu cầu mới đánh giá được")
    [alert] = await bot.driver.press_data(3333, f"rq:cancel:{request.id}", menu.message_id)
    assert alert.kind == "alert"
    [alert] = await bot.driver.press_data(3333, f"rq:asg:{request.id}:{VOLS[0]}", menu.message_id)
    assert alert.text == NOT_ALLOWED
    row = await rdata.get(bot.svc.db, request.id)
    assert (row.status, row.rating) == ("resolved", None)
    for data in ("rq:claim:999999", "rq:claim:x", "rq:relr:1:evil", "aw:t:nope", "aw:ok", "vol:w:x", "vadm:ok:1"):
        events = await bot.driver.press_data(3333, data, menu.message_id)
        assert events and events[0].kind == "alert", data


async def test_reopen_within_seven_days_only(bot: Harness):
    await make_volunteer(bot, VOLS[0])
    request = await file_request(bot)
    await help_requests.claim(bot.svc, request.id, VOLS[0])
    await help_requests.resolve(bot.svc, request.id, VOLS[0])
    await bot.press(R, "Vẫn chưa xong")
    assert (await rdata.get(bot.svc.db, request.id)).status == "open"
    await help_requests.claim(bot.svc, request.id, VOLS[0])
    await help_requests.resolve(bot.svc, request.id, VOLS[0])
    bot.clock.advance(8 * 24 * 3600)
    [alert] = await bot.press(R, "Vẫn chưa xong")
    assert alert.text.startswith("Yêu cầu này không mở lại được nữa")


async def test_fifty_concurrent_claims_have_exactly_one_winner(bot: Harness):
    volunteers = list(range(5000, 5050))
    for v in volunteers:
        await make_volunteer(bot, v)
    request = await file_request(bot)
    results = await asyncio.gather(*(help_requests.claim(bot.svc, request.id, v) for v in volunteers))
    assert sum(r.won for r in results) == 1
    winner = next(v for v, r in zip(volunteers, results, strict=True) if r.won)
    row = await rdata.get(bot.svc.db, request.id)
    assert (row.status, row.volunteer_id) == ("claimed", winner)
    kinds = [k for _a, k, _d in await rdata.events(bot.svc.db, request.id)]
    assert kinds.count("claimed") == 1


async def test_fifty_concurrent_button_presses(bot: Harness):
    volunteers = list(range(6000, 6050))
    for v in volunteers:
        await make_volunteer(bot, v)
    # K = 3 offers at first; after T1 the request goes to every available volunteer in the ward
    request = await file_request(bot)
    bot.clock.advance(16 * 60)
    await help_requests.tick(bot.svc)
    offered = {v: offers_to(bot, v) for v in volunteers}
    assert all(len(o) == 1 for o in offered.values())
    start = len(bot.api.sent)
    await asyncio.gather(*(bot.driver.press(v, 1, offered[v][0].message_id) for v in volunteers))
    presses = bot.api.sent[start:]
    refusals = [e for e in presses if e.kind == "alert" and e.text == "Đã có người nhận"]
    assert len(refusals) == 49
    assert len([k for _a, k, _d in await rdata.events(bot.svc.db, request.id) if k == "claimed"]) == 1


async def test_volunteer_applies_and_admin_approves(bot: Harness):
    V = 2500
    await bot.send(V, "/volunteer")
    [wards] = await bot.send(V, "Lan")
    assert wards.text.startswith("Bạn hỗ trợ được phường nào?")
    await bot.press(V, "Bến Thành")
    [again] = await bot.press(V, "Sài Gòn")
    assert "✅ Phường Bến Thành" in again.labels and "✅ Phường Sài Gòn" in again.labels
    await bot.press(V, "Tiếp")
    await bot.press(V, "VNeID")
    await bot.press(V, "Tiếp")
    events = await bot.press(V, "Buổi tối")
    application = next(e for e in events if e.chat_id == ADMIN)
    assert "Lan" in application.text and application.labels == ["✅ Duyệt", "❌ Từ chối"]
    await bot.send(3333, "/start")
    [refused] = await bot.driver.press_data(3333, f"vadm:ok:{V}", bot.last(3333).message_id)
    assert refused.text == "Chỉ quản trị viên làm được việc này."
    events = await bot.press(ADMIN, "Duyệt")
    assert any(e.chat_id == V and e.text.startswith("🎉") for e in events)
    v = await vdata.get(bot.svc.db, V)
    assert (v.status, v.wards, v.topics, v.usual_hours) == ("active", ("ben-thanh", "sai-gon"), ("vneid",), "evening")
    [away] = await bot.send(V, "/away")
    assert away.text.startswith("⏸")
    await file_request(bot)
    assert offers_to(bot, V) == []  # away: no offers
    await bot.send(V, "/available")
    await file_request(bot, 1002)
    assert len(offers_to(bot, V)) == 1


async def test_limit_of_open_requests(bot: Harness):
    await make_volunteer(bot, VOLS[0])
    for n in range(3):
        r = await file_request(bot, 1100 + n)
        assert (await help_requests.claim(bot.svc, r.id, VOLS[0])).won
    assert len(offers_to(bot, VOLS[0])) == 3
    fourth = await file_request(bot, 1200)
    assert len(offers_to(bot, VOLS[0])) == 3  # at the limit: not offered more
    assert not (await help_requests.claim(bot.svc, fourth.id, VOLS[0])).won
    [alert] = await bot.driver.press_data(VOLS[0], f"rq:claim:{fourth.id}", offers_to(bot, VOLS[0])[0].message_id)
    assert alert.text == "Bạn đang giữ đủ số yêu cầu rồi. Bạn xong một yêu cầu trước nhé."


async def test_a_restart_mid_conversation_resumes(settings):
    clock = FakeClock()
    api = FakeBotAPI(clock)
    async with open_bot(settings, clock, api) as first:
        await first.send(R, "/ask")
        await first.driver.press(R, 1)  # a topic
        await first.send(R, "Không đăng nhập được")
    async with open_bot(settings, clock, api) as second:  # a new process on the same database
        events = await second.driver.press(R, 1)  # the ward question, still on screen
        assert "Bước 4/5" in events[-1].text
        await second.driver.press(R, 1)  # mode
        await second.driver.press(R, 1)  # messages only
        events = await second.driver.press(R, 1)  # confirm
        assert "Mã yêu cầu: HT-" in events[-1].text
        row = await second.svc.db.fetchone("SELECT description FROM help_requests")
        assert row[0] == "Không đăng nhập được"

async def test_command_menus_follow_roles(bot: Harness):
    admin_menu = [c["command"] for c in bot.api.commands[(f"chat:{ADMIN}", "")]]
    assert {"queue", "volunteers", "ask"} <= set(admin_menu)
    await make_volunteer(bot, 2600)
    await users.touch(bot.svc.db, 2601, "Mai", None, bot.svc.now())
    await vdata.start_application(bot.svc.db, 2601, "Mai", bot.svc.now())
    await vdata.set_status(bot.svc.db, 2601, "pending", ("applying",), None, bot.svc.now())
    from bot import volunteers

    await users.touch(bot.svc.db, ADMIN, "Admin", None, bot.svc.now())
    await volunteers.decide(bot.svc, ADMIN, 2601, "ok")
    menu = {c["command"]: c["description"] for c in bot.api.commands[("chat:2601", "")]}
    assert menu["mine"] == "Yêu cầu tôi đang hỗ trợ" and "queue" not in menu
    await volunteers.decide(bot.svc, ADMIN, 2601, "pause")
    assert "mine" not in {c["command"] for c in bot.api.commands[("chat:2601", "")]}


async def test_the_ward_given_in_a_request_is_remembered_for_campaigns(bot: Harness):
    await file_request(bot, ward="Tân Định")
    assert (await users.get(bot.svc.db, R)).ward == "tan-dinh"


async def test_a_banned_volunteer_gets_no_offers(bot: Harness):
    await make_volunteer(bot, VOLS[0])
    await make_volunteer(bot, VOLS[1])
    await users.set_banned(bot.svc.db, VOLS[0], True)
    await file_request(bot)
    assert offers_to(bot, VOLS[0]) == [] and len(offers_to(bot, VOLS[1])) == 1

"""Abuse and fairness: open requests per resident, one pending application, offers as load, admins and flood."""

from __future__ import annotations

from collections import Counter

import pytest

from bot import help_requests
from bot.config import Settings
from bot.data import requests as rdata
from bot.data import users
from bot.data import volunteers as vdata
from bot.refusal import Refused
from tests.conftest import ADMIN, Harness
from tests.handlers.test_requests import file_request, make_volunteer

R = 1001


async def _draft_at_confirm(bot: Harness, uid: int, ward: str = "ben-thanh") -> None:
    """A finished draft, straight through the service (as a fast client would leave it)."""
    await users.touch(bot.svc.db, uid, f"Dân {uid}", None, bot.svc.now())
    await rdata.start_draft(bot.svc.db, uid, "topic", None, None, bot.svc.now())
    draft = await help_requests.answer(bot.svc, uid, topic="vneid", description="Không nhận được OTP",
                                       ward=ward, ward_chosen=1, mode="chat")
    assert draft is not None and draft.step == "confirm"


def test_max_open_requests_setting(store):
    assert Settings.from_env({}).max_open_requests == 3
    assert Settings.from_env({"MAX_OPEN_REQUESTS": "5"}).max_open_requests == 5


async def test_a_resident_at_the_limit_hears_kindly_which_requests_are_open(bot: Harness):
    codes = []
    for i in range(3):
        bot.clock.advance(11)  # a fresh flood window
        codes.append((await file_request(bot, R, text=f"Yêu cầu số {i}")).code)
    [answer] = await bot.send(R, "/ask")
    assert answer.text.startswith("Bạn đang có 3 yêu cầu đang chờ hoặc đang được giúp: ")
    assert all(code in answer.text for code in codes) and "/myrequests" in answer.text
    assert answer.labels == ["🏠 Menu chính"]
    count = (await bot.svc.db.fetchone("SELECT COUNT(*) FROM help_requests WHERE resident_id = ?", (R,)))[0]
    assert count == 3
    await users.set_locale(bot.svc.db, R, "en")
    [answer] = await bot.send(R, "/ask")
    assert answer.text.startswith("You already have 3 requests waiting or being helped: ")
    # one cancelled: they may ask again
    await help_requests.cancel(bot.svc, (await rdata.by_code(bot.svc.db, codes[0])).id, R)
    [wizard] = await bot.send(R, "/ask")
    assert "VNeID" in " ".join(wizard.labels)


async def test_filing_at_the_limit_is_refused_by_the_service(bot: Harness):
    for _ in range(3):
        await _draft_at_confirm(bot, R)
        assert await help_requests.file(bot.svc, R) is not None
    await _draft_at_confirm(bot, R)  # a draft made some other way (an old client, a race)
    with pytest.raises(Refused) as refused:
        await help_requests.file(bot.svc, R)
    assert refused.value.message == help_requests.AT_LIMIT
    with pytest.raises(Refused):
        await help_requests.begin(bot.svc, R)
    count = (await bot.svc.db.fetchone("SELECT COUNT(*) FROM help_requests WHERE resident_id = ?", (R,)))[0]
    assert count == 3


async def _apply(bot: Harness, uid: int, *, first: bool) -> list:
    bot.clock.advance(11)  # a fresh flood window
    await bot.send(uid, "/volunteer")
    await bot.send(uid, "Lan")
    if first:
        await bot.press(uid, "Bến Thành")
    await bot.press(uid, "Tiếp")
    if first:
        await bot.press(uid, "VNeID")
    await bot.press(uid, "Tiếp")
    return await bot.press(uid, "Buổi tối")


async def test_a_pending_applicant_resubmitting_does_not_message_the_admins_again(bot: Harness):
    V = 2500
    events = await _apply(bot, V, first=True)
    assert len([e for e in events if e.chat_id == ADMIN]) == 1
    for _ in range(3):
        events = await _apply(bot, V, first=False)
        assert [e for e in events if e.chat_id == ADMIN] == []
        mine = [e for e in events if e.chat_id == V]
        assert mine[-1].text.startswith("✅ Đơn của bạn đã được cập nhật. Đơn vẫn đang chờ quản trị viên phường")
    assert (await vdata.get(bot.svc.db, V)).status == "pending"
    applications = [e for e in bot.api.sent if e.chat_id == ADMIN and "✅ Duyệt" in e.labels]
    assert len(applications) == 1
    events = await bot.press(ADMIN, "Duyệt", applications[0].message_id)  # the one message still decides
    assert any(e.chat_id == V and e.text.startswith("🎉") for e in events)


async def test_a_burst_of_requests_spreads_offers_over_every_volunteer(bot: Harness):
    volunteers = list(range(5000, 5020))
    for v in volunteers:
        await make_volunteer(bot, v)
    for uid in range(10_000, 10_200):
        await _draft_at_confirm(bot, uid)
        await help_requests.file(bot.svc, uid)
    rows = await bot.svc.db.fetchall("SELECT volunteer_id FROM offers")
    load = Counter(r[0] for r in rows)
    assert len(rows) == 600
    assert set(load) == set(volunteers), "some volunteers got no offer"
    assert max(load.values()) - min(load.values()) <= 1


async def test_admins_working_fast_are_not_throttled_but_a_runaway_client_is(bot: Harness):
    bot.clock.advance(1)
    for _ in range(60):  # three times the normal limit in one window
        assert len(await bot.send(ADMIN, "cai dat vneid")) == 1
    promoted = 4242
    await bot.send(promoted, "/start")
    await users.set_admin(bot.svc.db, promoted, True)
    bot.clock.advance(11)
    for _ in range(60):
        assert len(await bot.send(promoted, "cai dat vneid")) == 1
    bot.clock.advance(11)
    for _ in range(200 - 1):  # the ceiling: ten times the normal limit
        await bot.send(ADMIN, "cai dat vneid")
    [ok] = await bot.send(ADMIN, "cai dat vneid")
    assert ok.text.startswith("🔎")
    [notice] = await bot.send(ADMIN, "cai dat vneid")
    assert notice.text.startswith("⏳")
    assert await bot.send(ADMIN, "cai dat vneid") == []
    # a resident is still held to the normal limit
    bot.clock.advance(11)
    for _ in range(20):
        await bot.send(R, "cai dat vneid")
    [notice] = await bot.send(R, "cai dat vneid")
    assert notice.text.startswith("⏳")


async def test_confirming_a_draft_left_from_before_the_limit_shows_the_open_requests(bot: Harness):
    for i in range(2):
        bot.clock.advance(11)
        await file_request(bot, R, text=f"Yêu cầu số {i}")
    bot.clock.advance(11)
    await bot.send(R, "/ask")
    await bot.press(R, "VNeID")
    await bot.send(R, "Không vào được ứng dụng")
    await bot.press(R, "Bến Thành")
    await bot.press(R, "Nhắn tin qua Trợ lý số")
    await bot.press(R, "Chỉ nhắn tin")  # the summary with "✅ Xác nhận" is on screen
    draft = await rdata.get_draft(bot.svc.db, R)
    await rdata.insert(bot.svc.db, "HT-XXXX", draft, bot.svc.now())  # meanwhile a third one, another way
    events = await bot.press(R, "Xác nhận")
    shown = [e for e in events if e.chat_id == R and e.text][-1]
    assert shown.text.startswith("Bạn đang có 3 yêu cầu") and "HT-XXXX" in shown.text
    count = (await bot.svc.db.fetchone("SELECT COUNT(*) FROM help_requests WHERE resident_id = ?", (R,)))[0]
    assert count == 3
    assert await rdata.get_draft(bot.svc.db, R) is not None  # kept, for when a request is closed

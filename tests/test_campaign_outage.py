"""A Bot API outage during a campaign pauses every send until the API is back; admins resend the failed."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from telegram.error import TimedOut

from bot import campaigns
from bot.botapi_standin import ApiFault
from bot.campaigns import Draft
from bot.data import users
from bot.refusal import Refused
from tests.conftest import ADMIN
from tests.test_campaigns import deliveries, open_bot, recipient_status, run_ticks, seed

OUTAGES = {
    "timeout": lambda: TimedOut(),
    "502": lambda: ApiFault(502, "Bad Gateway"),
    "503": lambda: ApiFault(503, "Service Unavailable"),
}


@pytest.mark.parametrize("kind", list(OUTAGES))
async def test_a_ten_second_outage_pauses_the_campaign_and_marks_nobody_failed(store, tmp_path: Path, kind: str):
    async with open_bot(tmp_path, broadcast_rate=2000) as bot:
        ids = await seed(bot, 201)
        outage: dict[str, object] = {}
        sent = Counter()

        def fault(method: str, params: dict) -> None:
            now = bot.clock.now()
            if "start" in outage and outage["start"] <= now < outage["end"]:
                sent["during outage: " + method] += 1
                raise OUTAGES[kind]()  # every call, the admin's progress message included
            if method == "sendMessage" and int(params["chat_id"]) != ADMIN:
                sent["n"] += 1
                if sent["n"] == 50 and "start" not in outage:
                    outage["start"], outage["end"] = now, now + timedelta(seconds=10)

        waits: list[float] = []

        async def sleep(seconds: float) -> None:  # the app's clock moves instead of the test waiting
            waits.append(seconds)
            bot.clock.advance(seconds)

        bot.api.fault = fault
        bot.svc.sender.sleep = sleep
        cid, total = await campaigns.create(bot.svc, ADMIN, Draft("📣 Lịch tiêm chủng"), None)
        assert total == 201
        await run_ticks(bot)

        assert "start" in outage and bot.clock.now() >= outage["end"]
        # the whole campaign paused: only the sends already in flight tried, then probes of the progress message
        assert sent["during outage: sendMessage"] <= bot.svc.sender.workers(2000)
        assert 3 <= sent["during outage: editMessageText"] <= 6
        got = deliveries(bot.api)
        assert {u for u in ids if got[u] == 1} == set(ids) and max(got.values()) == 1
        status = await recipient_status(bot, cid)
        assert set(status.values()) == {"sent"}, Counter(status.values())
        c = await bot.svc.db.fetchone("SELECT status, sent, failed FROM campaigns WHERE id = ?", (cid,))
        assert tuple(c) == ("done", 201, 0)
        assert sum(waits) >= 10 and max(waits) <= campaigns.OUTAGE_WAIT  # it waited the outage out, backing off
        attempts = await bot.svc.db.fetchone(
            "SELECT MAX(attempts) FROM campaign_recipients WHERE campaign_id = ?", (cid,))
        assert attempts[0] == 1  # the outage counted against nobody


async def test_admin_resends_to_those_who_failed_for_other_reasons(store, tmp_path: Path):
    async with open_bot(tmp_path, broadcast_rate=2000) as bot:
        ids = await seed(bot, 30)
        broken = set(ids[:5])
        blocked = {ids[-1]}
        bot.api.blocked.update(blocked)

        def fault(method: str, params: dict) -> None:
            if method == "sendMessage" and int(params["chat_id"]) in broken:
                raise ApiFault(400, "Bad Request: chat not found")

        bot.api.fault = fault
        cid, _ = await campaigns.create(bot.svc, ADMIN, Draft("Họp tổ dân phố"), None)
        await run_ticks(bot)
        status = await recipient_status(bot, cid)
        assert {u for u, s in status.items() if s == "failed"} == broken
        progress = [e for e in bot.api.sent if e.chat_id == ADMIN and e.text.startswith("📣")][-1]
        assert progress.labels == ["🔁 Gửi lại cho người bị lỗi"]

        resident = await users.get(bot.svc.db, ids[10])
        with pytest.raises(Refused):
            await campaigns.resend_failed(bot.svc, resident, cid)
        [refused] = await bot.driver.press_data(ids[10], f"cmp:resend:{cid}", 1)
        assert refused.text == "Xin lỗi, mục này chỉ dành cho quản trị viên."

        broken.clear()  # the chats work again
        events = await bot.driver.press_data(ADMIN, f"cmp:resend:{cid}", progress.message_id)
        assert any(e.kind == "alert" and e.text == "Đang gửi lại cho 5 người nhận bị lỗi." for e in events)
        await bot.svc.sender.wait_idle()
        got = deliveries(bot.api)
        assert all(got[u] == 1 for u in ids if u not in blocked) and got[ids[-1]] == 0
        status = await recipient_status(bot, cid)
        assert Counter(status.values()) == Counter({"sent": 29, "blocked": 1})
        c = await bot.svc.db.fetchone("SELECT status, sent, failed FROM campaigns WHERE id = ?", (cid,))
        assert tuple(c) == ("done", 29, 0)
        final = [e for e in bot.api.sent if e.chat_id == ADMIN and e.text.startswith("📣")][-1]
        assert final.labels == []  # nobody left to resend to
        with pytest.raises(Refused) as nothing:
            await campaigns.resend_failed(bot.svc, await users.get(bot.svc.db, ADMIN), cid)
        assert nothing.value.message == "Nobody failed: there is nothing to resend."

"""Campaigns sent by several processes sharing PostgreSQL (issue 17): each recipient claimed by one sender, a dead
sender's claims taken over at once (duplicates only within what it had in flight), one global rate."""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot import campaigns
from bot.botapi_standin import FakeBotAPI
from bot.campaigns import Draft, Pacer, Share
from bot.clock import FakeClock
from bot.data import campaigns as data
from tests.conftest import ADMIN, Harness, make_settings, open_bot

BASE = 100_000
POSTGRES = pytest.mark.parametrize("store", ["postgres"], indirect=True)


class VirtualTime:
    """A monotonic clock that moves only when someone sleeps on it (each sleep still yields to the loop)."""

    def __init__(self) -> None:
        self.t = 1000.0

    def now(self) -> float:
        return self.t

    async def sleep(self, seconds: float) -> None:
        self.t += max(0.0, seconds)
        await asyncio.sleep(0)


@contextlib.asynccontextmanager
async def senders(tmp_path: Path, n: int, rate: int) -> AsyncIterator[list[Harness]]:
    """`n` bots on the test's PostgreSQL database, each with its own pool (its own sender identity), its own
    stand-in and its own virtual pacing clock."""
    settings = make_settings(tmp_path, broadcast_rate=rate)
    clock = FakeClock()
    async with contextlib.AsyncExitStack() as stack:
        bots = []
        for _ in range(n):
            bot = await stack.enter_async_context(open_bot(settings, clock, FakeBotAPI(clock)))
            time = VirtualTime()
            bot.svc.sender.sleep = time.sleep
            bot.svc.sender.now = time.now
            bots.append(bot)
        yield bots


async def seed(bot: Harness, n: int) -> None:
    now = bot.svc.now()
    async with bot.svc.db.transaction():
        await bot.svc.db.executemany(
            "INSERT INTO users (id, first_name, created_at, last_seen_at) VALUES (?, ?, ?, ?)",
            ((BASE + i, f"Dân {i}", now, now) for i in range(n)))


def deliveries(*apis: FakeBotAPI) -> Counter[int]:
    return Counter(e.chat_id for api in apis for e in api.sent
                   if e.kind == "to" and e.text.endswith("/unsubscribe") and e.chat_id != ADMIN)


async def statuses(bot: Harness, cid: int) -> Counter[str]:
    rows = await bot.svc.db.fetchall("SELECT status FROM campaign_recipients WHERE campaign_id = ?", (cid,))
    return Counter(r[0] for r in rows)


@POSTGRES
async def test_three_senders_send_ten_thousand_recipients_each_exactly_once(store, tmp_path):
    async with senders(tmp_path, 3, rate=10_000) as bots:
        await seed(bots[0], 10_000)
        cid, total = await campaigns.create(bots[0].svc, ADMIN, Draft("Thông báo"), None)
        assert total == 10_000
        for bot in bots:
            await campaigns.tick(bot.svc)
        await asyncio.gather(*(bot.svc.sender.wait_idle() for bot in bots))
        got = deliveries(*(bot.api for bot in bots))
        assert len(got) == 10_000 and set(got.values()) == {1}  # each recipient once
        assert all(len(deliveries(bot.api)) > 500 for bot in bots)  # all three sent their part
        assert await statuses(bots[0], cid) == {"sent": 10_000}
        assert (await data.get(bots[0].svc.db, cid)).status == "done"
        reports = [e for bot in bots for e in bot.api.sent if e.chat_id == ADMIN and e.text.startswith("✅")]
        assert len(reports) == 1  # one sender reports the end


@POSTGRES
async def test_a_killed_sender_is_taken_over_at_once_and_resends_at_most_what_it_had_in_flight(store, tmp_path):
    async with senders(tmp_path, 3, rate=10_000) as bots:
        await seed(bots[0], 3_000)
        cid, _ = await campaigns.create(bots[0].svc, ADMIN, Draft("Thông báo"), None)
        victim = bots[1]
        sent_by_victim = 0
        halfway = asyncio.Event()

        def count(method: str, params: dict) -> None:
            nonlocal sent_by_victim
            if method == "sendMessage" and int(params["chat_id"]) != ADMIN:
                sent_by_victim += 1
                if sent_by_victim == 300:
                    halfway.set()

        victim.api.fault = count
        await campaigns.tick(victim.svc)  # it starts first, so it surely reaches 300 (the others could take all)
        await halfway.wait()
        for bot in (bots[0], bots[2]):
            await campaigns.tick(bot.svc)
        # SIGKILL, as the database sees it: the lock connection and every other connection end at once,
        # nothing is given back, the sends in flight are never marked
        member = victim.svc.sender._member
        member.conn.terminate()
        victim.svc.db.pool.terminate()
        for task in list(victim.svc.sender.tasks.values()):
            task.cancel()
        held = await bots[0].svc.db.fetchone(
            "SELECT COUNT(*) AS n FROM campaign_recipients WHERE campaign_id = ? AND status = 'pending' "
            "AND claimed_by = ?", (cid, member.id))
        assert held["n"] > 0  # it died holding claims
        await asyncio.gather(bots[0].svc.sender.wait_idle(), bots[2].svc.sender.wait_idle())
        got = deliveries(*(bot.api for bot in bots))
        assert len(got) == 3_000  # nobody lost: its claims were taken over without waiting for anything
        twice = [chat for chat, n in got.items() if n > 1]
        assert len(twice) <= victim.svc.sender.workers(10_000) and max(got.values()) <= 2
        assert await statuses(bots[0], cid) == {"sent": 3_000}
        assert (await data.get(bots[0].svc.db, cid)).status == "done"
        victim.svc.sender.tasks.clear()
        victim.svc.db.pool = await _new_pool(victim)  # so that its harness can close what it opened


async def _new_pool(bot: Harness):
    import asyncpg

    return await asyncpg.create_pool(bot.svc.db.url, min_size=1, max_size=1)


@POSTGRES
async def test_senders_count_each_other_and_a_closed_one_is_gone(store, tmp_path):
    async with senders(tmp_path, 2, rate=100) as bots:
        a, b = bots
        first = await a.svc.sender.member(a.svc)
        second = await b.svc.sender.member(b.svc)
        assert first.id != second.id
        assert await first.count() == 2 and await second.count() == 2
        await b.svc.sender.stop()
        assert await first.count() == 1


# --- the rules when the number of senders changes, on a fake clock -------------------------------------------------
class Readings:
    """A Share's count that answers what the test says, and remembers when it was asked."""

    def __init__(self, time: VirtualTime, n: int) -> None:
        self.time, self.n, self.asked = time, n, []

    async def __call__(self) -> int:
        self.asked.append(self.time.now())
        return self.n


async def test_a_joining_sender_holds_back_a_window_and_a_refresh_before_its_first_send():
    time = VirtualTime()
    count = Readings(time, 2)
    share = Share(1000, count, now=time.now, sleep=time.sleep)
    start = time.now()
    assert await share.rate() == 500
    assert time.now() - start >= 1.0 + campaigns.REFRESH  # held back, reading all the while
    gaps = [b - a for a, b in zip(count.asked, count.asked[1:], strict=False)]
    assert gaps and max(gaps) <= campaigns.REFRESH + 1e-9
    # a third sender joins: the others slow down at the next reading (at most REFRESH later), at once
    count.n = 3
    await time.sleep(campaigns.REFRESH)
    assert await share.rate() == 333


async def test_when_a_sender_leaves_the_others_speed_up_only_after_its_sends_left_every_window():
    time = VirtualTime()
    count = Readings(time, 3)
    share = Share(900, count, now=time.now, sleep=time.sleep)
    assert await share.rate() == 300
    count.n = 1  # two left (or died)
    left_at = time.now()
    rates = []
    while time.now() - left_at < 2.5:
        await time.sleep(0.05)
        rates.append((time.now() - left_at, await share.rate()))
    assert all(rate == 300 for at, rate in rates if at < 2.0)  # their sends may still be in a window
    assert rates[-1][1] == 900


async def test_a_sender_that_stopped_reading_for_longer_than_a_window_holds_back_again():
    time = VirtualTime()
    count = Readings(time, 1)
    share = Share(1000, count, now=time.now, sleep=time.sleep)
    await share.rate()
    await time.sleep(0.5)  # a short pause: no hold
    before = time.now()
    assert await share.rate() == 1000 and time.now() == before
    await time.sleep(1.5)  # idle (or stalled) longer than a window and a refresh: it joins again
    before = time.now()
    await share.rate()
    assert time.now() - before >= 1.0 + campaigns.REFRESH


async def test_the_pacer_changes_its_rate_in_place_and_keeps_the_window_it_has():
    time = VirtualTime()
    pacer = Pacer(10, now=time.now, sleep=time.sleep)
    starts = []
    for _ in range(10):
        async with pacer.slot():
            starts.append(time.now())
    pacer.set_rate(5)
    for _ in range(5):
        async with pacer.slot():
            starts.append(time.now())
    # the window kept the first ten sends: the lower rate waits until only four of them are left in it
    assert starts[10] >= starts[5] + 1.0
    assert all(len([s for s in starts if t - 1.0 < s <= t]) <= 10 for t in starts)


# --- real processes ------------------------------------------------------------------------------------------------
async def test_three_sender_processes_send_each_recipient_once_and_never_over_the_rate():
    """Three `campaigns.tick` processes on one PostgreSQL, the stand-in over loopback HTTP answering 429 above the
    rate in any sliding second: each recipient once, no second over the rate, no 429."""
    from bench import campaign_workers

    result = await campaign_workers.run(members=3, recipients=3_000, rate=400)
    assert result["exit codes"] == [0, 0, 0]
    assert result["sent"] == result["recipients"] == 3_000 and result["pending"] == 0
    assert result["never sent"] == 0 and result["duplicates"] == 0
    assert result["429s"] == 0 and result["busiest 1-s window"] <= 400

"""Update throughput and latency per kind: a mixed workload through the full bot, against an echo bot.

Residents browse guides, search, and file help requests through the /ask wizard; volunteers claim
and resolve them. Many residents are in the middle of something at once (their steps interleave),
and the bot processes one update after another with `process_update`, as production does
(`run_polling` with python-telegram-bot's default of sequential updates). Throughput is updates
divided by the time spent inside `process_update` (the driver's update building included, for both
bots alike); the bench's own bookkeeping between updates is not counted.
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Coroutine
from typing import Any

from bench.harness import Bench, Stopwatch, make_volunteer, open_bot, open_echo, open_mirror, percentiles
from bench.search import queries
from bot.data import requests as rdata

Step = tuple[str, Coroutine[Any, Any, Any]]
RESIDENTS = 1_000_000  # resident ids start here, one new resident per session
VOLUNTEERS = 2_000_000
KINDS = ("/start", "browse (button)", "search (text)", "ask wizard step", "ask confirm (file + route)",
         "claim (offer button)", "resolve (holder button)")
DESCRIPTIONS = ("Tôi không nhận được mã OTP khi đăng ký VNeID", "Ứng dụng ngân hàng không nhận khuôn mặt của tôi",
                "Tôi không biết nộp hồ sơ tạm trú trên mạng", "Có người gọi điện bảo tôi chuyển tiền, tôi sợ quá")


class Workload:
    def __init__(self, b: Bench, rng: random.Random):
        self.b, self.rng = b, rng
        content = b.svc.content
        self.guides = list(content.guides.values())
        self.topics = list(content.categories)
        self.wards = list(content.wards)
        self.queries = [text for text, _lang in queries()]

    async def browse(self, uid: int) -> AsyncIterator[Step]:
        b, guide = self.b, self.rng.choice(self.guides)
        yield "/start", b.driver.send(uid, "/start")
        if self.rng.random() < 0.2:
            yield "browse (button)", b.press(uid, "lang:en:w")
        yield "browse (button)", b.press(uid, "m:g")
        yield "browse (button)", b.press(uid, f"cat:{guide.category}:0")
        yield "browse (button)", b.press(uid, f"g:{guide.id}:open")
        for i in range(1, len(guide.steps)):
            yield "browse (button)", b.press(uid, f"g:{guide.id}:{i}")
        yield "browse (button)", b.press(uid, f"g:{guide.id}:done")
        yield "browse (button)", b.press(uid, f"fb:{guide.id}:{self.rng.choice('01')}")

    async def search(self, uid: int) -> AsyncIterator[Step]:
        b = self.b
        for text in self.rng.sample(self.queries, 3):
            yield "search (text)", b.driver.send(uid, text)
        data = next((btn["callback_data"] for row in b.driver.latest_with_buttons(uid)["reply_markup"]
                     ["inline_keyboard"] for btn in row if btn["callback_data"].startswith("g:")), None)
        if data:
            yield "browse (button)", b.press(uid, data)
            yield "browse (button)", b.press(uid, data.replace(":open", ":1"))

    async def ask(self, uid: int) -> AsyncIterator[Step]:
        b = self.b
        yield "ask wizard step", b.driver.send(uid, "/ask")
        yield "ask wizard step", b.press(uid, f"aw:t:{self.rng.choice(self.topics)}")
        yield "ask wizard step", b.driver.send(uid, self.rng.choice(DESCRIPTIONS))
        yield "ask wizard step", b.press(uid, f"aw:w:{self.rng.choice(self.wards)}")
        yield "ask wizard step", b.press(uid, "aw:m:chat")
        yield "ask wizard step", b.press(uid, "aw:c:chat")
        yield "ask confirm (file + route)", b.press(uid, "aw:ok")
        [request] = await rdata.of_resident(b.svc.db, uid)
        offers = await rdata.offers_of(b.svc.db, request.id)
        if not offers:
            return
        volunteer, message_id = self.rng.choice(offers)
        yield "claim (offer button)", b.press(volunteer, f"rq:claim:{request.id}", message_id)
        yield "resolve (holder button)", b.press(volunteer, f"rq:done:{request.id}", message_id)

    def session(self, uid: int) -> AsyncIterator[Step]:
        roll = self.rng.random()
        return self.browse(uid) if roll < 0.45 else self.search(uid) if roll < 0.8 else self.ask(uid)


async def drive(sessions: AsyncIterator[AsyncIterator[Step]], updates: int, watch: Stopwatch,
                at_once: int = 50) -> None:
    """Interleave `at_once` sessions step by step (one update at a time) until `updates` have run."""
    active: list[AsyncIterator[Step]] = []
    while True:
        while len(active) < at_once and watch.count < updates:
            active.append(await anext(sessions))
        if not active:
            return
        for session in list(active):
            try:
                kind, step = await anext(session)
            except StopAsyncIteration:
                active.remove(session)
                continue
            with watch.timed(kind):
                await step


async def _sessions(work: Workload, first_uid: int) -> AsyncIterator[AsyncIterator[Step]]:
    uid = first_uid
    while True:
        uid += 1
        yield work.session(uid)


async def bot_run(updates: int, volunteers: int, warmup: int, seed: int = 7,
                  recorded: list[dict] | None = None) -> tuple[Stopwatch, dict]:
    rng = random.Random(seed)
    async with open_bot() as b:
        work = Workload(b, rng)
        for i in range(volunteers):
            wards = tuple({work.wards[i % len(work.wards)], rng.choice(work.wards)})
            topics = tuple({work.topics[i % len(work.topics)], *rng.sample(work.topics, 2)})
            await make_volunteer(b, VOLUNTEERS + i, wards, topics)
        sessions = _sessions(work, RESIDENTS)
        await drive(sessions, warmup, Stopwatch())
        if recorded is not None:  # keep each update the bot gets (a reference, not a copy: cheap)
            feed = b.driver.feed

            async def recording(update: dict) -> list:
                recorded.append(update)
                return await feed(update)

            b.driver.feed = recording
        watch = Stopwatch()
        await drive(sessions, updates, watch)
        calls = sum(b.api.calls.values())
        requests = await b.svc.db.fetchone("SELECT COUNT(*) AS n, SUM(status = 'resolved') AS r FROM help_requests")
        users = await b.svc.db.fetchone("SELECT COUNT(*) AS n FROM users")
    return watch, {"bot api calls": calls, "requests filed": requests["n"], "resolved": requests["r"] or 0,
                   "users": users["n"]}


async def echo_run(updates: int, warmup: int) -> Stopwatch:
    async with open_echo() as b:
        for i in range(warmup):
            await b.driver.send(RESIDENTS + i, "xin chào")
        watch = Stopwatch()
        for i in range(updates):
            with watch.timed("echo"):
                await b.driver.send(RESIDENTS + warmup + i, "cai dat vneid")
    return watch


async def mirror_run(recorded: list[dict]) -> Stopwatch:
    """The same updates through a bot with no logic that makes the same kind of calls (see open_mirror)."""
    messages = [u["callback_query"]["message"] for u in recorded if "callback_query" in u]
    async with open_mirror(messages) as b:
        watch = Stopwatch()
        for update in recorded:
            with watch.timed("mirror"):
                await b.driver.feed(update)
    return watch


async def run(size: str = "full") -> dict:
    updates, volunteers, warmup = (22_000, 100, 500) if size == "full" else (150, 6, 20)
    echo = await echo_run(updates, warmup)
    recorded: list[dict] = []
    watch, facts = await bot_run(updates, volunteers, warmup, recorded=recorded)
    mirror = await mirror_run(recorded)
    bot_rate, echo_rate = watch.count / watch.total, echo.count / echo.total
    all_ms = [ms for samples in watch.samples.values() for ms in samples]
    return {
        "updates": watch.count, "echo updates": echo.count,
        "bot updates/s": bot_rate, "echo updates/s": echo_rate, "ratio": bot_rate / echo_rate,
        "mirror updates/s": mirror.count / mirror.total, "mirror ratio": bot_rate / (mirror.count / mirror.total),
        "mirror/echo": (mirror.count / mirror.total) / echo_rate,
        "latency": {kind: percentiles(watch.samples[kind]) for kind in KINDS if kind in watch.samples},
        "latency all": percentiles(all_ms), "echo latency": percentiles(echo.samples["echo"]),
        **facts,
    }


if __name__ == "__main__":
    import asyncio
    import json
    import sys

    print(json.dumps(asyncio.run(run(sys.argv[1] if len(sys.argv) > 1 else "full")), indent=1, ensure_ascii=False))

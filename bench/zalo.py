"""Updates/s through the Zalo adapter over loopback HTTP, against the same typed updates through the Telegram path.

Residents type their way through the bot (/start, a topic and a guide by number, two steps by word, the menu,
a search without diacritics). Telegram path: the updates go to `process_update` on the in-process Bot API
stand-in, as the other benchmarks do. Zalo path: the same texts queued on the Zalo stand-in served over real
loopback HTTP (`Loopback`), fetched one per `getUpdates` long poll by the real client, turned into updates by
the adapter, and every reply sent back over HTTP as Zalo messages (numbered text). ZALO_RATE is lifted for the
run: the figure is the adapter's cost, not Zalo's rate. Ratio = Zalo / Telegram, in one run.
"""

from __future__ import annotations

import contextlib
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

from bench.harness import ADMIN, Bench, BenchAPI, open_bot
from bot.app import build_application, running
from bot.botapi_standin import ChatDriver
from bot.channels.zalo.adapter import ZaloChannel
from bot.channels.zalo.standin import TOKEN, Loopback, ZaloStandIn
from bot.clock import FakeClock
from bot.config import Settings

SCRIPT = ("/start", "1", "1", "2", "tiep", "tiep", "menu", "cai dat vneid")


@contextlib.asynccontextmanager
async def open_zalo(url: str) -> AsyncIterator[tuple[Bench, ZaloChannel]]:
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        settings = replace(Settings(), database_path=Path(tmp) / "bot.sqlite3", admin_ids=frozenset({ADMIN}),
                           flood_max=10**9, zalo_bot_token=TOKEN, zalo_api_base_url=url, zalo_rate=10**6)
        clock = FakeClock()
        api = BenchAPI(clock)
        channel = ZaloChannel.from_settings(settings, clock=clock)
        app = build_application(settings, request=api, clock=clock, rate_limit=False, zalo=channel)
        async with running(app):
            yield Bench(app, api, ChatDriver(app, api), clock), channel


async def telegram_run(users: int) -> float:
    async with open_bot() as b:
        start = time.perf_counter()
        for n in range(users):
            for text in SCRIPT:
                await b.driver.send(1_000_000 + n, text)
        return users * len(SCRIPT) / (time.perf_counter() - start)


async def zalo_run(users: int) -> tuple[float, int]:
    standin = ZaloStandIn(wait_for_updates=False)
    standin.keep_events = False
    loopback = Loopback(standin)
    sent = 0

    def count(_event: object) -> None:
        nonlocal sent
        sent += 1

    standin.listeners.append(count)
    try:
        async with open_zalo(loopback.url) as (_b, channel):
            for n in range(users):
                for text in SCRIPT:
                    loopback.deliver(standin.text(f"{n:020x}", text))
            start = time.perf_counter()
            while channel.processed < users * len(SCRIPT):
                await channel.poll_once()
            rate = users * len(SCRIPT) / (time.perf_counter() - start)
    finally:
        loopback.close()
    return rate, sent


async def run(size: str = "full") -> dict:
    users = 150 if size == "full" else 3
    telegram = await telegram_run(users)
    zalo, sent = await zalo_run(users)
    return {"updates": users * len(SCRIPT), "telegram updates/s": telegram, "zalo updates/s": zalo,
            "ratio": zalo / telegram, "zalo messages sent": sent}


if __name__ == "__main__":
    import asyncio
    import json
    import sys

    print(json.dumps(asyncio.run(run(sys.argv[1] if len(sys.argv) > 1 else "full")), indent=1))

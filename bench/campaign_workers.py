"""One campaign sent by several processes sharing a temporary PostgreSQL, against the Bot API stand-in over
loopback HTTP that answers 429 above the rate in any sliding 1-second window (issue 17).

`run(members, recipients, rate)`: a TempPostgres, `members` sender processes (`python -m bench.campaign_workers
member URL BASE RATE`: Services on the PostgreSQL URL with BOT_API_BASE_URL = the stand-in, running
`campaigns.tick(svc)` every second until the campaign is done: the code path a worker runs), a StandinServer
whose fault hook is bench/broadcast.py's Enforcer. The campaign is created once every member has joined the
senders. Reported: achieved / enforced rate, 429s, the busiest 1-second window of the stand-in's receive times,
duplicates (recipients who got the message more than once) and recipients never sent.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import os
import sys
import time
from dataclasses import replace
from pathlib import Path

from bench.broadcast import FIRST, Enforcer, seed
from bench.harness import ADMIN, BenchAPI

ROOT = Path(__file__).resolve().parent.parent
READY = "ready"
PROFILE = ["-m", "cProfile", "-o", "/tmp/member.prof"] if os.environ.get("BENCH_PROFILE") else []


class Receiver:
    """The stand-in's fault hook: the Enforcer decides, and each accepted campaign send is counted per chat."""

    def __init__(self, rate: int) -> None:
        self.enforcer = Enforcer(rate)
        self.per_chat: collections.Counter[int] = collections.Counter()

    def __call__(self, method: str, params: dict) -> None:
        self.enforcer(method, params)  # raises the 429
        chat = int(params.get("chat_id", 0))
        if method in ("sendMessage", "sendPhoto") and chat != ADMIN:
            self.per_chat[chat] += 1


async def _member(url: str, base_url: str, rate: int) -> None:
    """A sender process: the bot's Services on PostgreSQL, Telegram at `base_url`; the campaigns tick every
    second until no campaign is left to send (after one has been)."""
    from bot import campaigns
    from bot.app import build_application, running
    from bot.config import Settings

    settings = replace(Settings(), database_url=url, bot_api_base_url=base_url, admin_ids=frozenset({ADMIN}),
                       broadcast_rate=rate, flood_max=10**9)
    app = build_application(settings, rate_limit=False)
    app.bot_data["schedule_ticks"] = False  # the loop below is the tick
    async with running(app):
        svc = app.bot_data["svc"]
        await svc.sender.member(svc)  # one of the live senders from now on
        print(READY, flush=True)
        while True:
            await campaigns.tick(svc)
            states = {r[0] for r in await svc.db.fetchall("SELECT DISTINCT status FROM campaigns")}
            if "done" in states and not states & {"sending", "scheduled"} and not svc.sender.tasks:
                break
            await asyncio.sleep(1.0)


async def run(members: int = 3, recipients: int = 10_000, rate: int = 1_000, burner: bool = False) -> dict:
    """One campaign of `recipients` sent by `members` processes at BROADCAST_RATE = `rate`; with `burner`, a
    further process burns one core for the whole run."""
    from bot.botapi_standin import StandinServer
    from bot.clock import Clock, iso
    from bot.data import Database
    from bot.data import campaigns as data
    from bot.data.pgtemp import TempPostgres

    pg = TempPostgres().start()
    api = BenchAPI(Clock(), forget=lambda chat: chat >= FIRST)
    receiver = Receiver(rate)
    api.fault = receiver
    server = StandinServer(api)
    procs: list[asyncio.subprocess.Process] = []
    burn = None
    try:
        url = pg.url()
        db = await Database.open(url)
        now = iso(Clock().now())
        try:
            await seed(db, recipients, now)
            if burner:
                burn = await asyncio.create_subprocess_exec(sys.executable, "-c", "while True: pass")
            env = {**os.environ, "PYTHONPATH": str(ROOT)}
            for _ in range(members):
                procs.append(await asyncio.create_subprocess_exec(
                    sys.executable, *PROFILE, "-m", "bench.campaign_workers", "member", url, server.url, str(rate),
                    cwd=ROOT, env=env, stdout=asyncio.subprocess.PIPE))
            for p in procs:
                assert p.stdout is not None
                line = await asyncio.wait_for(p.stdout.readline(), 60)
                if line.decode().strip() != READY:
                    raise RuntimeError("a sender process did not start")
            start = time.perf_counter()
            cid, total = await data.create(
                db, admin_id=ADMIN, text="📣 Tiêm chủng miễn phí tại phường sáng thứ Bảy", entities=[], photo=None,
                audience_kind="all", audience_value=None, who=((), (), "all"), texts=None, status="sending",
                scheduled_at=None, now=now, default_locale="vi")
            codes = await asyncio.gather(*(asyncio.wait_for(p.wait(), 600) for p in procs))
            wall = time.perf_counter() - start
            counts = dict(await db.fetchone(
                "SELECT SUM(CASE WHEN status = 'sent' THEN 1 ELSE 0 END) AS sent, "
                "SUM(CASE WHEN status = 'pending' THEN 1 ELSE 0 END) AS pending FROM campaign_recipients "
                "WHERE campaign_id = ?", (cid,)))
        finally:
            await db.close()
    finally:
        for p in procs:
            if p.returncode is None:
                p.kill()
                await p.wait()
        if burn is not None:
            burn.kill()
            await burn.wait()
        server.stop()
        pg.stop()
    e = receiver.enforcer
    span = (e.last - e.first) if e.first is not None else 0.0
    achieved = (e.accepted - 1) / span if span > 0 else 0.0
    return {
        "processes": members, "recipients": total, "sent": counts["sent"] or 0, "pending": counts["pending"] or 0,
        "enforced rate/s": rate, "achieved rate/s": achieved, "ratio": achieved / rate, "429s": e.refused,
        "busiest 1-s window": e.busiest,
        "duplicates": sum(n - 1 for n in receiver.per_chat.values() if n > 1),
        "never sent": total - len(receiver.per_chat), "exit codes": codes, "wall s": wall,
        "load": "a second process burning one core" if burner else "none",
    }


if __name__ == "__main__":
    if sys.argv[1:2] == ["member"]:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(_member(sys.argv[2], sys.argv[3], int(sys.argv[4])))
    else:
        args = [int(a) for a in sys.argv[1:4]] + [0] * 3
        print(json.dumps(asyncio.run(run(args[0] or 3, args[1] or 10_000, args[2] or 1_000,
                                         burner="burn" in sys.argv)), indent=1, ensure_ascii=False))

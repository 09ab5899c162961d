"""Claim race: 100 volunteers press "✋ Claim" on the same request at once.

A resident files a request through the /ask wizard; it is offered to 3 volunteers, and after 15
minutes (the escalation tick) to every volunteer of the ward. Then every volunteer presses Claim in
the same instant (asyncio.gather of their button presses through the full handler path). Measured:
winners (must be exactly 1), and the time from the presses until every other offer is edited to
"🔒 Taken". Reference: one volunteer pressing alone, with the same 100 offers out.
"""

from __future__ import annotations

import asyncio
import statistics
import time

from bench.harness import Bench, make_volunteer, open_bot
from bot import help_requests
from bot.botapi_standin import Sent
from bot.data import requests as rdata

RESIDENT = 1_000_000
VOLUNTEER = 2_000_000


async def offered_request(b: Bench, resident: int) -> tuple[int, list[tuple[int, int]]]:
    """File a request and escalate it to the whole ward: (request id, [(volunteer, offer message)])."""
    drive = b.driver
    await drive.send(resident, "/ask")
    await b.press(resident, "aw:t:vneid")
    await drive.send(resident, "Tôi không nhận được mã OTP khi đăng ký VNeID")
    for data in ("aw:w:ben-thanh", "aw:m:chat", "aw:c:chat", "aw:ok"):
        await b.press(resident, data)
    [request] = await rdata.of_resident(b.svc.db, resident)
    b.clock.advance(15 * 60)
    await help_requests.tick(b.svc)
    return request.id, await rdata.offers_of(b.svc.db, request.id)


async def one_round(b: Bench, resident: int, race: bool) -> dict:
    request_id, offers = await offered_request(b, resident)
    closed: dict[int, float] = {}  # volunteer -> when their offer was edited to "🔒 …"

    def listener(event: Sent) -> None:
        if event.kind == "edit" and event.text.startswith("🔒"):
            closed.setdefault(event.chat_id, time.perf_counter())

    b.api.listeners.append(listener)
    presses = offers if race else offers[:1]
    start = time.perf_counter()
    await asyncio.gather(*(b.press(v, f"rq:claim:{request_id}", mid) for v, mid in presses))
    done = time.perf_counter()
    b.api.listeners.remove(listener)
    events = await rdata.events(b.svc.db, request_id)
    request = await rdata.get(b.svc.db, request_id)
    winners = sum(1 for _actor, kind, _detail in events if kind == "claimed")
    losers = [v for v, _mid in offers if v != request.volunteer_id]
    assert set(closed) >= set(losers), "an offer was left open"
    await help_requests.resolve(b.svc, request_id, request.volunteer_id)  # frees the winner for the next round
    return {"offers": len(offers), "presses": len(presses), "winners": winners,
            "all edited ms": (max(closed[v] for v in losers) - start) * 1000, "presses done ms": (done - start) * 1000}


async def run(size: str = "full") -> dict:
    volunteers, rounds = (100, 5) if size == "full" else (10, 1)
    async with open_bot() as b:
        for i in range(volunteers):
            await make_volunteer(b, VOLUNTEER + i, ("ben-thanh",), ("vneid",))
        await one_round(b, RESIDENT, race=True)  # warm-up
        races = [await one_round(b, RESIDENT + 1 + i, race=True) for i in range(rounds)]
        alone = [await one_round(b, RESIDENT + 100 + i, race=False) for i in range(rounds)]
    race_ms = statistics.median(r["all edited ms"] for r in races)
    alone_ms = statistics.median(r["all edited ms"] for r in alone)
    return {
        "volunteers": volunteers, "rounds": rounds, "offers": races[0]["offers"],
        "winners per race": sorted({r["winners"] for r in races}),
        "race: all offers edited ms (median)": race_ms,
        "race: all offers edited ms (max)": max(r["all edited ms"] for r in races),
        "race: all presses answered ms (median)": statistics.median(r["presses done ms"] for r in races),
        "alone: all offers edited ms (median)": alone_ms,
        "ratio": race_ms / alone_ms,
    }


if __name__ == "__main__":
    import json
    import sys

    print(json.dumps(asyncio.run(run(sys.argv[1] if len(sys.argv) > 1 else "full")), indent=1, ensure_ascii=False))

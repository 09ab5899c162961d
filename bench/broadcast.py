"""Broadcast: 100,000 recipients against a stand-in that enforces Telegram's kind of limit.

The stand-in answers 429 (retry_after=1) to any send above `rate` in a sliding 1-second window,
as Telegram does above ~30/s (the rate is scaled up so the run is short). The bot's
`broadcast_rate` is set to the same rate. Reported: achieved rate / enforced rate, 429s provoked,
the time the admin's "Send now" takes (it snapshots the recipients), and memory.
Run on the real clock (the sender's pacing and 429 waits are real time).
"""

from __future__ import annotations

import asyncio
import collections
import time

from bench.harness import ADMIN, current_rss_mb, open_bot, peak_rss_mb
from bot import campaigns
from bot.botapi_standin import ApiFault

FIRST = 10_000_000  # resident ids


class Enforcer:
    """The fault hook: at most `rate` campaign sends in any 1-second window, else 429."""

    def __init__(self, rate: int):
        self.rate = rate
        self.window: collections.deque[float] = collections.deque()
        self.accepted = 0
        self.refused = 0
        self.first: float | None = None
        self.last = 0.0
        self.busiest = 0

    def __call__(self, method: str, params: dict) -> None:
        if method not in ("sendMessage", "sendPhoto") or int(params.get("chat_id", 0)) == ADMIN:
            return
        now = time.monotonic()
        while self.window and self.window[0] <= now - 1.0:
            self.window.popleft()
        if len(self.window) >= self.rate:
            self.refused += 1
            raise ApiFault(429, "Too Many Requests: retry after 1", retry_after=1)
        self.window.append(now)
        self.busiest = max(self.busiest, len(self.window))
        self.accepted += 1
        self.first = self.first if self.first is not None else now
        self.last = now


async def seed(db, n: int, now: str) -> None:
    """Residents straight into the table, in one transaction (a bulk insert, not n conversations)."""
    async with db.transaction():
        await db.executemany(
            "INSERT INTO users (id, first_name, locale, ward, created_at, last_seen_at) VALUES (?, ?, ?, ?, ?, ?)",
            ((FIRST + i, f"Dân {i}", "en" if i % 5 == 0 else None, None, now, now) for i in range(n)))


async def run(size: str = "full", recipients: int | None = None, rate: int | None = None) -> dict:
    """`size` picks (recipients, rate); either may be given instead (e.g. a rate the machine can sustain)."""
    default_recipients, default_rate = (100_000, 3_000) if size == "full" else (600, 600)
    recipients, rate = recipients or default_recipients, rate or default_rate
    async with open_bot(fake_clock=False, forget=lambda chat: chat >= FIRST, broadcast_rate=rate) as b:
        svc, drive = b.svc, b.driver
        await seed(svc.db, recipients, svc.now())
        rss_seeded = current_rss_mb()
        # the admin composes and confirms, as in chat
        await drive.send(ADMIN, "/broadcast")
        await drive.send(ADMIN, "📣 Tiêm chủng miễn phí tại phường sáng thứ Bảy")
        await b.press_label(ADMIN, "Tiếp")
        await b.press_label(ADMIN, "Tất cả")
        await b.press_label(ADMIN, "Một nội dung cho tất cả")
        start = time.perf_counter()
        await b.press_label(ADMIN, "Gửi ngay")
        snapshot_s = time.perf_counter() - start
        # the reference: the same rows copied by one bare INSERT … SELECT on the same database
        start = time.perf_counter()
        await svc.db.execute("CREATE TEMP TABLE copy AS SELECT 1 AS c, id AS u, COALESCE(locale, 'vi') AS l "
                             "FROM users WHERE subscribed = 1 AND reachable = 1 AND banned = 0")
        bare_s = time.perf_counter() - start
        await svc.db.execute("DROP TABLE temp.copy")
        total = (await svc.db.fetchone("SELECT total FROM campaigns"))["total"]

        enforcer = Enforcer(rate)
        b.api.fault = enforcer
        start = time.perf_counter()
        await campaigns.tick(svc)
        await svc.sender.wait_idle()
        wall_s = time.perf_counter() - start
        counts = dict(await svc.db.fetchone(
            "SELECT SUM(status = 'sent') AS sent, SUM(status = 'pending') AS pending FROM campaign_recipients"))
        rss_end = current_rss_mb()
    span = (enforcer.last - enforcer.first) if enforcer.first is not None else 0.0
    achieved = (enforcer.accepted - 1) / span if span > 0 else 0.0
    return {
        "recipients": total, "sent": counts["sent"], "pending": counts["pending"],
        "enforced rate/s": rate, "achieved rate/s": achieved, "ratio": achieved / rate,
        "429s": enforcer.refused, "busiest 1-s window": enforcer.busiest, "send wall s": wall_s,
        "snapshot s": snapshot_s, "bare copy s": bare_s, "snapshot ratio": snapshot_s / bare_s,
        "rss after seeding MB": rss_seeded, "rss end MB": rss_end, "peak rss MB": peak_rss_mb(),
    }


if __name__ == "__main__":
    import json
    import sys

    args = sys.argv[1:] + [""] * 3
    print(json.dumps(asyncio.run(run(args[0] or "full", int(args[1] or 0) or None, int(args[2] or 0) or None)),
                     indent=1, ensure_ascii=False))

"""python -m bench.dashboard [smoke|full]: the web dashboard's pages over HTTP on a large database.

full: 1,000,000 help requests and 200,000 residents (seeded with executemany in one transaction). Each page is
fetched over loopback HTTP (uvicorn, httpx) by a signed-in admin or volunteer; its p95 stands beside the page's
main query run bare on a plain sqlite3 connection to the same file in the same run. Prints JSON.
Not yet part of `make bench` (bench/__main__.py): run it alone.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import httpx

from bench.harness import percentiles
from bot import dashboard
from bot.clock import Clock
from bot.config import Settings
from bot.content import load
from bot.data import Database
from bot.i18n import I18n
from bot.search import SearchIndex
from bot.services import Services
from bot.web.app import WebState, create_app
from bot.web.server import serving

SIZES = {"smoke": (20_000, 4_000, 20), "full": (1_000_000, 200_000, 50)}
ADMIN, VOLUNTEER = 1, 2


def seed(path: Path, n_requests: int, n_residents: int, wards: list[str]) -> None:
    conn = sqlite3.connect(path)
    now = "2026-11-28T02:00:00+00:00"
    with conn:
        conn.executemany("INSERT INTO users (id, first_name, created_at, last_seen_at) VALUES (?, ?, ?, ?)",
                         ((i, f"R{i}", now, now) for i in range(1, n_residents + 1)))
        conn.execute("INSERT INTO volunteers (user_id, display_name, status, applied_at) "
                     "VALUES (?, 'Lan', 'active', ?)", (VOLUNTEER, now))
        conn.execute("INSERT INTO volunteer_wards (user_id, ward) VALUES (?, ?)", (VOLUNTEER, wards[0]))

        def rows():
            for i in range(1, n_requests + 1):
                status = "open" if i % 100 == 0 else "claimed" if i % 100 == 1 else "resolved"
                at = f"2026-{1 + i % 11:02d}-{1 + i % 28:02d}T{i % 24:02d}:00:00+00:00"
                yield (i, f"C{i:07d}", 1 + i % n_residents, "vneid", wards[i % len(wards)], "chat", status,
                       VOLUNTEER if status == "claimed" and i % 7 == 0 else None, at, at)

        conn.executemany("INSERT INTO help_requests (id, code, resident_id, topic, ward, mode, status, volunteer_id, "
                         "created_at, opened_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows())
        conn.executemany("INSERT INTO request_events (request_id, actor_id, kind, at) VALUES (?, NULL, 'filed', ?)",
                         ((i, now) for i in range(1, n_requests + 1, 97)))
        conn.executemany("INSERT INTO audit_events (actor_id, kind, detail, at) VALUES (?, 'export', 'x', ?)",
                         ((ADMIN, f"2026-11-{1 + i % 28:02d}T00:00:00+00:00") for i in range(20_000)))
    conn.execute("ANALYZE")
    conn.close()


async def main(size: str) -> dict:
    n_requests, n_residents, rounds = SIZES[size]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bot.sqlite3"
        settings = replace(Settings(), database_path=path, admin_ids=frozenset({ADMIN}),
                           public_base_url="http://127.0.0.1")
        content = load(settings.content_dir)
        db = await Database.open(path)
        started = time.perf_counter()
        await asyncio.to_thread(seed, path, n_requests, n_residents, sorted(content.wards))
        seeded_s = time.perf_counter() - started
        svc = Services(settings, db, content, SearchIndex([]), I18n("vi", settings.tz), Clock(),
                       outbox=None)  # type: ignore[arg-type]
        state = WebState()
        state.db, state.svc, state.phase = db, svc, "ready"
        ward = sorted(content.wards)[0]
        bare = sqlite3.connect(path)
        pages = {
            "today (admin)": ("/dashboard/", ADMIN,
                              "SELECT * FROM help_requests WHERE status IN ('open','claimed') "
                              "ORDER BY opened_at, id LIMIT 200"),
            "today, not yet helped, one ward (admin)": (f"/dashboard/?open=1&ward={ward}", ADMIN,
                                                        "SELECT * FROM help_requests WHERE status = 'open' AND "
                                                        f"ward = '{ward}' ORDER BY opened_at, id LIMIT 200"),
            "today (volunteer)": ("/dashboard/", VOLUNTEER,
                                  "SELECT * FROM help_requests WHERE (status = 'open' AND (ward IS NULL OR ward IN "
                                  f"('{ward}'))) OR (status = 'claimed' AND volunteer_id = {VOLUNTEER}) "
                                  "ORDER BY opened_at, id LIMIT 200"),
            "request 100 (admin)": ("/dashboard/requests/100", ADMIN,
                                    "SELECT * FROM request_events WHERE request_id = 100 ORDER BY id"),
            "volunteers (admin)": ("/dashboard/volunteers", ADMIN,
                                   "SELECT * FROM volunteers WHERE status IN ('pending','active','paused')"),
            "audit log (admin)": ("/dashboard/audit", ADMIN,
                                  "SELECT * FROM audit_events ORDER BY at DESC, id DESC LIMIT 100"),
        }
        results = {}
        try:
            async with serving(create_app(state)) as url:
                clients = {}
                for who in (ADMIN, VOLUNTEER):
                    client = httpx.AsyncClient(base_url=url)
                    link = await dashboard.issue_link(svc, who)
                    await client.post(link.removeprefix("http://127.0.0.1"))
                    clients[who] = client
                for name, (page, who, sql) in pages.items():
                    samples, bare_samples = [], []
                    for _ in range(rounds):
                        t0 = time.perf_counter()
                        response = await clients[who].get(page)
                        samples.append((time.perf_counter() - t0) * 1000)
                        assert response.status_code == 200, (name, response.status_code)
                        t0 = time.perf_counter()
                        bare.execute(sql).fetchall()
                        bare_samples.append((time.perf_counter() - t0) * 1000)
                    results[name] = {"page": percentiles(samples), "bare": percentiles(bare_samples)}
                for client in clients.values():
                    await client.aclose()
        finally:
            bare.close()
            await state.close_reader()
            await db.close()
    return {"requests": n_requests, "residents": n_residents, "seed s": round(seeded_s, 1), "pages": results}


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(sys.argv[1] if len(sys.argv) > 1 else "full")), indent=1))

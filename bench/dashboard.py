"""python -m bench.dashboard [smoke|full]: the web dashboard on a large database, beside the bot it runs with.

full: 1,000,000 help requests and 200,000 residents seeded (executemany, one transaction) into the real bot's
database (the real Application on the stand-in). Each page is fetched over loopback HTTP (uvicorn in the bot's
own event loop, as in production) by a signed-in admin or volunteer; its p95 stands beside the page's main query
run bare on a plain sqlite3 connection to the same file in the same run. Then the bot's update latency (a
resident's /start and a search) is measured alone and while READERS clients read dashboard pages without pause:
the pages read through their own read-only connection, so the bot's p99 should barely move. Prints JSON.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import sys
import time
from pathlib import Path

import httpx

from bench.harness import percentiles
from bot import dashboard
from bot.web.app import WebState, create_app
from bot.web.server import serving

SIZES = {"smoke": (20_000, 4_000, 20), "full": (1_000_000, 200_000, 50)}
VOLUNTEER = 2


def seed(path: Path, n_requests: int, n_residents: int, wards: list[str], admin: int) -> None:
    conn = sqlite3.connect(path)
    now = "2026-11-28T02:00:00+00:00"
    with conn:
        conn.executemany("INSERT OR IGNORE INTO users (id, first_name, created_at, last_seen_at) VALUES (?, ?, ?, ?)",
                         ((i, f"R{i}", now, now) for i in [VOLUNTEER, *range(3, n_residents + 3), admin]))
        conn.execute("INSERT INTO volunteers (user_id, display_name, status, applied_at) "
                     "VALUES (?, 'Lan', 'active', ?)", (VOLUNTEER, now))
        conn.execute("INSERT INTO volunteer_wards (user_id, ward) VALUES (?, ?)", (VOLUNTEER, wards[0]))

        def rows():
            for i in range(1, n_requests + 1):
                status = "open" if i % 100 == 0 else "claimed" if i % 100 == 1 else "resolved"
                at = f"2026-{1 + i % 11:02d}-{1 + i % 28:02d}T{i % 24:02d}:00:00+00:00"
                yield (i, f"C{i:07d}", 3 + i % n_residents, "vneid", wards[i % len(wards)], "chat", status,
                       VOLUNTEER if status == "claimed" and i % 7 == 0 else None, at, at)

        conn.executemany("INSERT INTO help_requests (id, code, resident_id, topic, ward, mode, status, volunteer_id, "
                         "created_at, opened_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows())
        conn.executemany("INSERT INTO request_events (request_id, actor_id, kind, at) VALUES (?, NULL, 'filed', ?)",
                         ((i, now) for i in range(1, n_requests + 1, 97)))
        conn.executemany("INSERT INTO audit_events (actor_id, kind, detail, at) VALUES (?, 'export', 'x', ?)",
                         ((admin, f"2026-11-{1 + i % 28:02d}T00:00:00+00:00") for i in range(20_000)))
    conn.execute("ANALYZE")
    conn.close()


READERS = 4  # dashboard clients reading pages back to back while the bot is measured
UPDATES = {"smoke": 100, "full": 1000}


async def bot_latency(b, n: int, first_user: int) -> dict[str, float]:
    """p50/p95/p99 ms of n updates, alternating a resident's /start and a search, one after another."""
    samples = []
    for i in range(n):
        text = "/start" if i % 2 == 0 else "cai dat vneid"
        started = time.perf_counter()
        await b.driver.send(first_user + i % 50, text)
        samples.append((time.perf_counter() - started) * 1000)
    return percentiles(samples)


async def main(size: str) -> dict:
    from bench.harness import ADMIN as BENCH_ADMIN
    from bench.harness import open_bot

    n_requests, n_residents, rounds = SIZES[size]
    async with open_bot(public_base_url="http://127.0.0.1") as b:
        svc = b.svc
        path = Path(svc.settings.database_path)
        started = time.perf_counter()
        await asyncio.to_thread(seed, path, n_requests, n_residents, sorted(svc.content.wards), BENCH_ADMIN)
        seeded_s = time.perf_counter() - started
        state = WebState(clock=b.clock)
        state.db, state.svc, state.phase = svc.db, svc, "ready"
        ward = sorted(svc.content.wards)[0]
        bare = sqlite3.connect(path)
        pages = {
            "today (admin)": ("/dashboard/", BENCH_ADMIN,
                              "SELECT * FROM help_requests WHERE status IN ('open','claimed') "
                              "ORDER BY opened_at, id LIMIT 200"),
            "today, not yet helped, one ward (admin)": (f"/dashboard/?open=1&ward={ward}", BENCH_ADMIN,
                                                        "SELECT * FROM help_requests WHERE status = 'open' AND "
                                                        f"ward = '{ward}' ORDER BY opened_at, id LIMIT 200"),
            "today (volunteer)": ("/dashboard/", VOLUNTEER,
                                  "SELECT * FROM help_requests WHERE (status = 'open' AND (ward IS NULL OR ward IN "
                                  f"('{ward}'))) OR (status = 'claimed' AND volunteer_id = {VOLUNTEER}) "
                                  "ORDER BY opened_at, id LIMIT 200"),
            "request 100 (admin)": ("/dashboard/requests/100", BENCH_ADMIN,
                                    "SELECT * FROM request_events WHERE request_id = 100 ORDER BY id"),
            "volunteers (admin)": ("/dashboard/volunteers", BENCH_ADMIN,
                                   "SELECT * FROM volunteers WHERE status IN ('pending','active','paused')"),
            "audit log (admin)": ("/dashboard/audit", BENCH_ADMIN,
                                  "SELECT * FROM audit_events ORDER BY at DESC, id DESC LIMIT 100"),
            "numbers, last 7 days (admin)": ("/dashboard/numbers", BENCH_ADMIN,
                                             "SELECT COALESCE(ward, ''), COUNT(*) FROM help_requests WHERE "
                                             "created_at >= '2026-11-21T17:00:00+00:00' GROUP BY 1"),
        }
        results: dict = {}
        try:
            async with serving(create_app(state)) as url:
                clients = {}
                for who in (BENCH_ADMIN, VOLUNTEER):
                    client = httpx.AsyncClient(base_url=url, timeout=60)
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

                n = UPDATES[size]
                alone = await bot_latency(b, n, 900_000)
                # The readers are another process (as browsers are): what the bot feels is the server's own work.
                order = [(page, dict(clients[who].cookies)) for page, who, _sql in pages.values()]
                spec = json.dumps({"url": url, "pages": order, "readers": READERS})
                proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "bench.dashboard", "read", spec,
                                                            stdout=asyncio.subprocess.PIPE,
                                                            stdin=asyncio.subprocess.PIPE)
                assert proc.stdout is not None and proc.stdin is not None
                await proc.stdout.readline()  # "ready": its clients are reading
                busy = await bot_latency(b, n, 900_100)
                proc.stdin.close()
                pages_read = int((await proc.stdout.readline()).decode().strip() or 0)
                await proc.wait()
                for client in clients.values():
                    await client.aclose()
        finally:
            bare.close()
            await state.close_reader()
    return {"requests": n_requests, "residents": n_residents, "seed s": round(seeded_s, 1), "pages": results,
            "bot latency alone": alone, "bot latency while read": busy, "pages read meanwhile": pages_read,
            "readers": READERS}


run = main  # as every benchmark module names it


async def read(spec: dict) -> None:
    """The reader process: READERS clients fetch the pages back to back until stdin closes; prints the count."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_reader(sys.stdin.fileno(), lambda: stop.set() if not sys.stdin.buffer.read1(1) else None)
    read_n = 0

    async def one(i: int) -> None:
        nonlocal read_n
        page, cookies = spec["pages"][i % len(spec["pages"])]
        async with httpx.AsyncClient(base_url=spec["url"], cookies=cookies, timeout=60) as client:
            k = i
            while not stop.is_set():
                page, cookies = spec["pages"][k % len(spec["pages"])]
                client.cookies.update(cookies)
                await client.get(page)
                read_n += 1
                k += 1

    tasks = [asyncio.ensure_future(one(i)) for i in range(spec["readers"])]
    await asyncio.sleep(0.3)
    print("ready", flush=True)
    await stop.wait()
    await asyncio.gather(*tasks)
    print(read_n, flush=True)


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "read":
        asyncio.run(read(json.loads(sys.argv[2])))
    else:
        print(json.dumps(asyncio.run(main(sys.argv[1] if len(sys.argv) > 1 else "full")), indent=1))

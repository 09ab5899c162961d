"""Several workers: updates/s from the first POST to the last reply, through `python -m bot ingress` and 1, 2
and 3 `python -m bot worker` processes on PostgreSQL, beside one `python -m bot` process on SQLite, in the same
run, with the same updates (50 concurrent senders, each person's messages posted in order).

Telegram is the stand-in over loopback HTTP (StandinServer); PostgreSQL a throwaway server (bot/data/pgtemp.py)
with a fresh database per row. Every process is a real one, so the figures include HTTP, the queue and the
database round trips; on a machine with few cores the workers share them with PostgreSQL and the senders.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import asyncpg
import httpx

ROOT = Path(__file__).resolve().parent.parent
SECRET = "bench_secret"
HEADER = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
SENDERS = 50
SIZES = {"smoke": (30, 3), "full": (500, 10)}  # (people, messages each)
WORKERS = {"smoke": (1,), "full": (1, 2, 3)}  # the rows on PostgreSQL (smoke: proves the path, stays short)
ECHO = re.compile(r"“qzx (\d+) (\d+)”")
TIMEOUT = 600.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def updates(people: int, each: int) -> list[list[dict]]:
    """Rounds: in round n, every person's n-th message (a search the bot echoes)."""
    rounds = []
    for n in range(each):
        batch = []
        for p in range(people):
            user = 900_000 + p
            batch.append({"update_id": n * people + p + 1, "message": {
                "message_id": n + 1, "date": 1_764_000_000, "text": f"qzx {p} {n}",
                "chat": {"id": user, "type": "private", "first_name": "Lan"},
                "from": {"id": user, "is_bot": False, "first_name": "Lan"}}})
        rounds.append(batch)
    return rounds


def _start(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    with log.open("ab") as out:
        return subprocess.Popen([sys.executable, "-m", "bot", *command], cwd=ROOT, env=env,
                                stdout=subprocess.DEVNULL, stderr=out)


async def _until(condition, what: str) -> None:
    deadline = time.monotonic() + TIMEOUT
    while not await condition():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out: {what}")
        await asyncio.sleep(0.05)


async def _post_all(url: str, rounds: list[list[dict]]) -> None:
    gate = asyncio.Semaphore(SENDERS)
    async with httpx.AsyncClient(timeout=60, limits=httpx.Limits(max_connections=SENDERS)) as client:

        async def post(body: dict) -> None:
            async with gate:
                for _ in range(600):  # 503 or a dropped connection: sent again a moment later, as Telegram does
                    try:
                        if (await client.post(f"{url}/telegram", json=body, headers=HEADER)).status_code == 200:
                            return
                    except httpx.TransportError:
                        pass  # a kept-alive connection the server closed as it was reused
                    await asyncio.sleep(0.1)
                raise RuntimeError("an update was never taken")

        for batch in rounds:
            await asyncio.gather(*(post(b) for b in batch))


async def measure(workers: int, rounds: list[list[dict]], database: dict[str, str], logs: Path) -> dict:
    """One row: `workers` = 0 is one `python -m bot` process; otherwise an ingress and that many workers."""
    from bot.botapi_standin import StandinServer

    telegram = StandinServer()
    port = _free_port()
    env = {"PATH": "/usr/bin:/bin", "BOT_TOKEN": "123456:BENCH", "BOT_API_BASE_URL": telegram.url, "PORT": str(port),
           "PUBLIC_BASE_URL": "https://bot.example.org", "WEBHOOK_SECRET": SECRET, "FLOOD_MAX": "100000",
           **database}
    url = f"http://127.0.0.1:{port}"
    procs = [_start(["ingress"] if workers else [], env, logs / f"w{workers}-ingress.log")]
    procs += [_start(["worker", "--concurrency", "8"], env, logs / f"w{workers}-worker{i}.log")
              for i in range(workers)]
    total = sum(len(b) for b in rounds)
    try:
        async def ready() -> bool:
            try:
                async with httpx.AsyncClient() as client:
                    return (await client.get(f"{url}/readyz")).status_code == 200
            except httpx.HTTPError:
                return False

        await _until(ready, "the HTTP server ready")
        if workers:
            async def registered() -> bool:
                conn = await asyncpg.connect(database["DATABASE_URL"])
                try:
                    if await conn.fetchval("SELECT to_regclass('procrastinate_workers')") is None:
                        return False
                    return await conn.fetchval("SELECT count(*) FROM procrastinate_workers") == workers
                finally:
                    await conn.close()

            await _until(registered, "the workers registered")

        def answered() -> int:
            return sum(1 for e in list(telegram.api.sent) if ECHO.search(e.text or ""))

        started = time.perf_counter()
        await _post_all(url, rounds)
        posted = time.perf_counter() - started

        last = [answered(), time.perf_counter()]

        async def done() -> bool:  # all answered, or nothing more for 30 s (a reply the Bot API refused)
            count = answered()
            if count != last[0]:
                last[:] = [count, time.perf_counter()]
            return count >= total or time.perf_counter() - last[1] > 30

        await _until(done, "every update answered")
        seconds = last[1] - started if answered() < total else time.perf_counter() - started
        return {"updates": total, "replies": answered(), "updates/s": total / seconds, "posted s": posted}
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.kill()
        telegram.stop()


async def run(size: str = "full") -> dict:
    from bot.data.pgtemp import TempPostgres

    people, each = SIZES[size]
    rounds = updates(people, each)
    logs = Path(tempfile.mkdtemp(prefix="bench-workers-"))
    out: dict = {"people": people, "messages each": each}
    out["sqlite, one process"] = await measure(0, rounds, {"DATABASE_PATH": str(logs / "bot.sqlite3")}, logs)
    pg = TempPostgres().start()
    try:
        admin = await asyncpg.connect(pg.url())
        try:
            for workers in WORKERS[size]:
                await admin.execute(f"CREATE DATABASE w{workers} TEMPLATE template0")
                out[f"postgresql, ingress + {workers} workers"] = await measure(
                    workers, rounds, {"DATABASE_URL": pg.url(f"w{workers}")}, logs)
        finally:
            await admin.close()
    finally:
        pg.stop()
    base = out["sqlite, one process"]["updates/s"]
    for workers in WORKERS[size]:
        row = out[f"postgresql, ingress + {workers} workers"]
        row["ratio to one process"] = row["updates/s"] / base
    out["cores"] = os.cpu_count()
    return out


if __name__ == "__main__":
    print(json.dumps(asyncio.run(run(sys.argv[1] if len(sys.argv) > 1 else "full")), indent=1))

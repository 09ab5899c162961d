"""Several workers on one PostgreSQL database (issue 17), as real processes on loopback: `python -m bot ingress`
takes Telegram's webhooks, `python -m bot worker` processes them. Telegram is the stand-in served over HTTP
(StandinServer); each test has a database of its own in the session's throwaway PostgreSQL server.

The people's messages are searches the bot answers with the words typed ("I found no guide for “qzx 17 3”"),
so each reply names the person and the message it answers."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import subprocess
import sys
import time
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta

import asyncpg
import httpx
import pytest

from bot.botapi_standin import StandinServer
from bot.clock import iso
from bot.data import Database, users
from bot.data import requests as rdata
from bot.data.requests import Draft
from tests.conftest import ADMIN, ROOT
from tests.test_polling import TOKEN as POLL_TOKEN
from tests.test_polling import BotApiServer
from tests.test_server import Proc

TOKEN = "123456:WORKERS-TEST"
SECRET = "webhook_Secret-17"
HEADER = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
TIMEOUT = 60
ECHO = re.compile(r"“qzx (\d+) (\d+)”")
BASE = 700_000  # the people's Telegram ids: BASE + n


def until(condition, what: str, seconds: float = TIMEOUT) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)  # polling other processes, not the bot's clock


class Cluster:
    """An ingress, workers and the Telegram stand-in around one database."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.telegram = StandinServer()
        self.procs: list[Proc] = []
        self.env = {"PATH": "/usr/bin:/bin", "BOT_TOKEN": TOKEN, "BOT_API_BASE_URL": self.telegram.url,
                    "DATABASE_URL": url, "PORT": "0", "ADMIN_IDS": str(ADMIN), "FLOOD_MAX": "1000",
                    "PUBLIC_BASE_URL": "https://bot.example.org", "WEBHOOK_SECRET": SECRET}

    def start(self, *command: str) -> Proc:
        proc = Proc(list(command), self.env)
        self.procs.append(proc)
        return proc

    def worker(self, concurrency: int = 4) -> Proc:
        return self.start("worker", "--concurrency", str(concurrency))

    def workers_registered(self) -> int:
        return asyncio.run(_fetchval(self.url, "SELECT count(*) FROM procrastinate_workers", "procrastinate_workers"))

    def replies(self) -> list[tuple[int, int, int]]:
        """(chat, person, message number) of every echo the stand-in received, in the order it came."""
        out = []
        for event in list(self.telegram.api.sent):
            found = ECHO.search(event.text or "")
            if found:
                out.append((event.chat_id, int(found.group(1)), int(found.group(2))))
        return out

    def close(self) -> None:
        for proc in self.procs:
            proc.kill()
        self.telegram.stop()


async def _fetchval(url: str, sql: str, table: str | None = None):
    """One value; 0 when `table` does not exist yet (no process has created procrastinate's tables)."""
    conn = await asyncpg.connect(url)
    try:
        if table is not None and await conn.fetchval("SELECT to_regclass($1)", table) is None:
            return 0
        return await conn.fetchval(sql)
    finally:
        await conn.close()


@pytest.fixture
def cluster(pg):
    url = pg.create(migrated=False)
    made = Cluster(url)
    yield made
    made.close()
    pg.drop(url)


def update(person: int, n: int, update_id: int) -> dict:
    user = BASE + person
    return {"update_id": update_id, "message": {
        "message_id": n + 1, "date": 1_764_000_000, "text": f"qzx {person} {n}",
        "chat": {"id": user, "type": "private", "first_name": "Lan"},
        "from": {"id": user, "is_bot": False, "first_name": "Lan"}}}


async def post_rounds(url: str, people: int, per_person: int, at_once: int = 50,
                      between_rounds=None) -> list[dict]:
    """Each round, every person's next message, `at_once` posts at a time; a person's next message is posted
    only after the previous one was answered 200, so the order they wrote is the order the ingress took them.
    Returns every update posted."""
    posted = []
    gate = asyncio.Semaphore(at_once)
    async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=at_once)) as client:

        async def post(body: dict) -> None:
            async with gate:
                for _ in range(100):  # 503 or no answer: sent again (as Telegram does; a re-send is dropped)
                    try:
                        answer = await client.post(f"{url}/telegram", json=body, headers=HEADER)
                    except httpx.TransportError:  # a kept-alive connection the server closed as it was reused
                        await asyncio.sleep(0.1)
                        continue
                    if answer.status_code == 200:
                        return
                    assert answer.status_code == 503, answer.status_code
                    await asyncio.sleep(0.1)
                raise AssertionError("never taken")

        for n in range(per_person):
            bodies = [update(p, n, n * people + p + 1) for p in range(people)]
            await asyncio.gather(*(post(b) for b in bodies))
            posted += bodies
            if between_rounds is not None:
                await asyncio.get_running_loop().run_in_executor(None, between_rounds, n)
    return posted


def check_order(replies: list[tuple[int, int, int]], people: int, per_person: int) -> Counter:
    """Every message answered, each person's answers in the order written (a repeat of the same message
    right after itself allowed: a re-run); returns how many times each (person, message) was answered."""
    seen: dict[int, list[int]] = defaultdict(list)
    for chat, person, n in replies:
        assert chat == BASE + person  # the answer went to the person who wrote
        seen[person].append(n)
    for person in range(people):
        numbers = seen[person]
        collapsed = [n for i, n in enumerate(numbers) if i == 0 or numbers[i - 1] != n]
        assert collapsed == list(range(per_person)), (person, numbers)
    return Counter((person, n) for _, person, n in replies)


def test_ingress_and_three_workers_keep_each_persons_order_and_lose_nothing(cluster):
    people, per_person = 500, 10
    ingress = cluster.start("ingress")
    workers = [cluster.worker() for _ in range(3)]
    ingress.ready()
    until(lambda: cluster.workers_registered() == 3, "three workers registered")
    asyncio.run(post_rounds(ingress.url, people, per_person))
    # Telegram re-sends some (no answer seen in time): the same update ids, answered 200 and dropped
    resent = [update(p, 0, p + 1) for p in range(0, people, 25)]
    for body in resent:
        assert httpx.post(f"{ingress.url}/telegram", json=body, headers=HEADER).status_code == 200
    total = people * per_person
    until(lambda: len(cluster.replies()) >= total, "every message answered", seconds=600)
    # the re-sent ones had their chance to be answered twice: they are not
    until(lambda: cluster.workers_registered() == 3, "workers still there")
    counts = check_order(cluster.replies(), people, per_person)
    assert len(cluster.replies()) == total and set(counts.values()) == {1}
    assert asyncio.run(_fetchval(cluster.url, "SELECT count(*) FROM seen_updates")) == total
    for proc in [*workers, ingress]:
        assert proc.stop() == 0, "\n".join(proc.lines[-20:])


def test_a_killed_workers_updates_run_again_and_nobody_elses_order_breaks(cluster):
    people, per_person, concurrency = 200, 10, 4
    ingress = cluster.start("ingress")
    workers = [cluster.worker(concurrency) for _ in range(3)]
    ingress.ready()
    until(lambda: cluster.workers_registered() == 3, "three workers registered")

    def kill_midway(n: int) -> None:
        if n == 3:  # a third of the messages posted, some answered, the queue full
            until(lambda: len(cluster.replies()) > people, "some answers")
            workers[0].proc.kill()

    asyncio.run(post_rounds(ingress.url, people, per_person, between_rounds=kill_midway))
    total = people * per_person
    until(lambda: len({(p, n) for _, p, n in cluster.replies()}) == total, "every message answered",
          seconds=600)
    counts = check_order(cluster.replies(), people, per_person)
    repeated = [key for key, times in counts.items() if times > 1]
    assert len(repeated) <= concurrency and max(counts.values()) <= 2  # only what the killed worker held
    assert any("stalled job put back to run" in line for w in workers[1:] for line in w.lines)
    for proc in [*workers[1:], ingress]:
        assert proc.stop() == 0, "\n".join(proc.lines[-20:])


def test_a_rolling_restart_loses_nothing(cluster):
    people, per_person = 100, 8
    ingress = cluster.start("ingress")
    first = [cluster.worker() for _ in range(2)]
    ingress.ready()
    until(lambda: cluster.workers_registered() == 2, "two workers registered")

    def roll(n: int) -> None:
        if n in (2, 5):  # start a new worker, then stop an old one (SIGTERM): its jobs finish first
            cluster.worker()
            until(lambda: cluster.workers_registered() == 3, "the new worker registered")
            old = first[0 if n == 2 else 1]
            assert old.stop() == 0, "\n".join(old.lines[-20:])
            until(lambda: cluster.workers_registered() == 2, "the old worker gone")

    asyncio.run(post_rounds(ingress.url, people, per_person, between_rounds=roll))
    total = people * per_person
    until(lambda: len(cluster.replies()) >= total, "every message answered", seconds=300)
    counts = check_order(cluster.replies(), people, per_person)
    assert set(counts.values()) == {1}  # a graceful stop re-runs nothing


async def _seed_waiting_requests(url: str, n: int) -> list[str]:
    """n open requests filed three hours ago (past every escalation step); their codes."""
    db = await Database.open(url)
    old = iso(datetime.now(UTC) - timedelta(hours=3))
    codes = []
    try:
        for i in range(n):
            resident = BASE + 5000 + i
            await users.touch(db, resident, "Bà Tư", None, old)
            code = f"W{i}K7"
            await rdata.insert(db, code, Draft(user_id=resident, step="done", topic="other", guide_id=None,
                                               description="cần giúp", attachment_kind=None,
                                               attachment_message_id=None, ward=None, ward_chosen=True,
                                               mode="chat", phone=None, updated_at=old), old)
            codes.append(code)
    finally:
        await db.close()
    return codes


def test_escalations_fire_once_with_three_workers(cluster):
    codes = asyncio.run(_seed_waiting_requests(cluster.url, 4))
    workers = [cluster.worker() for _ in range(3)]
    until(lambda: cluster.workers_registered() == 3, "three workers registered")
    to_admin = lambda: [e for e in cluster.telegram.api.sent if e.chat_id == ADMIN  # noqa: E731
                        and any(code in (e.text or "") for code in codes)]
    until(lambda: len(to_admin()) >= len(codes), "the admins told of each request")
    # every worker has deferred its periodic tasks by now: the minute's escalation ran once
    until(lambda: all(any("worker ready" in line for line in w.lines) for w in workers), "workers ready")
    minutes = asyncio.run(_fetchval(cluster.url, "SELECT count(DISTINCT defer_timestamp) FROM "
                                    "procrastinate_periodic_defers WHERE periodic_id = 'escalations'"))
    for worker in workers:
        assert worker.stop() == 0, "\n".join(worker.lines[-20:])
    told = Counter(code for e in to_admin() for code in codes if code in e.text)
    assert told == Counter({code: 1 for code in codes}), told
    waiting = Counter(e.chat_id for e in cluster.telegram.api.sent if e.chat_id >= BASE + 5000)
    assert set(waiting.values()) == {2}, waiting  # each resident: "still looking", then "asked the admins"
    assert minutes >= 1


def test_a_single_bot_process_and_workers_exclude_each_other(cluster):
    worker = cluster.worker()
    until(lambda: cluster.workers_registered() == 1, "the worker registered")
    single = subprocess.run([sys.executable, "-m", "bot"], cwd=ROOT, env=cluster.env, capture_output=True,
                            text=True, timeout=TIMEOUT)
    assert single.returncode == 1
    assert single.stderr.strip().splitlines()[-1].endswith(
        "is in use by another bot process (or by the ingress and workers): stop those first, or give this one "
        "its own database")
    assert worker.stop() == 0
    alone = cluster.start()  # python -m bot, one process
    alone.ready()
    refused = subprocess.run([sys.executable, "-m", "bot", "worker"], cwd=ROOT, env=cluster.env,
                             capture_output=True, text=True, timeout=TIMEOUT)
    assert refused.returncode == 1
    assert refused.stderr.strip().splitlines()[-1].endswith(
        "is in use by a single bot process (python -m bot): stop it before starting the ingress and workers")
    assert alone.stop() == 0


@pytest.mark.parametrize("command", ["ingress", "worker"])
def test_ingress_and_worker_need_postgresql(tmp_path, command):
    env = {"PATH": "/usr/bin:/bin", "BOT_TOKEN": TOKEN, "DATABASE_PATH": str(tmp_path / "bot.sqlite3")}
    result = subprocess.run([sys.executable, "-m", "bot", command], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=TIMEOUT)
    assert result.returncode == 1
    assert result.stderr.strip() == (f"python -m bot {command} needs DATABASE_URL=postgresql://… (several processes "
                                     "share one PostgreSQL database); with one SQLite file run python -m bot")


def test_without_a_public_address_the_ingress_long_polls_and_a_worker_answers(pg):
    url = pg.create(migrated=False)
    server = BotApiServer()  # one /start from getUpdates, then long polls with nothing new
    env = {"PATH": "/usr/bin:/bin", "BOT_TOKEN": POLL_TOKEN, "BOT_API_BASE_URL": server.url, "DATABASE_URL": url,
           "PORT": "0"}
    ingress, worker = Proc(["ingress"], env), Proc(["worker"], env)
    try:
        assert server.replied.wait(TIMEOUT), "\n".join(ingress.lines + worker.lines)
        assert server.sent[0]["text"].startswith("Chào bạn! Mình là Trợ lý số.")
        assert asyncio.run(_fetchval(url, "SELECT count(*) FROM seen_updates WHERE channel = 'telegram'")) == 1
        server.closing.set()  # the long poll ends
        assert ingress.stop() == 0 and worker.stop() == 0
    finally:
        ingress.kill()
        worker.kill()
        server.closing.set()
        server.httpd.shutdown()
        pg.drop(url)


def test_a_zalo_persons_file_made_by_a_worker_downloads_through_the_ingress(cluster):
    """Zalo on (its stand-in over HTTP, webhooks): a Zalo person's /mydata is answered by the worker with a
    one-time link, which the ingress (another process, another memory) serves: the page, then the file once."""
    from bot.channels.zalo.standin import TOKEN as ZALO_TOKEN
    from bot.channels.zalo.standin import Loopback, ZaloStandIn

    person, secret = "8a3f0c2e5b7d9e1f4a6c", "zalo-secret-17"
    standin = ZaloStandIn()
    loopback = Loopback(standin)
    cluster.env.update(ZALO_BOT_TOKEN=ZALO_TOKEN, ZALO_API_BASE_URL=loopback.url, ZALO_WEBHOOK_SECRET=secret)
    try:
        ingress = cluster.start("ingress")
        ingress.ready()
        worker = cluster.worker()
        until(lambda: cluster.workers_registered() == 1, "the worker registered")
        header = {"X-Bot-Api-Secret-Token": secret}
        for text in ("/start", "/mydata"):  # one person's lock: answered in this order
            assert httpx.post(f"{ingress.url}/zalo", json=standin.text(person, text), headers=header).status_code == 200
        links = lambda: [m.text for m in standin.sent if "https://bot.example.org/media/" in (m.text or "")]  # noqa: E731
        until(lambda: links(), "the /mydata link\n" + "\n".join(worker.lines[-20:]))
        link = re.search(r"https://bot\.example\.org(/media/\S+)", links()[0]).group(1)
        page = httpx.get(ingress.url + link)  # Zalo's link preview, or the person's first look: the page
        assert page.status_code == 200 and "Bấm vào đây để tải về" in page.text
        first = httpx.get(ingress.url + link, params={"download": "1"})
        assert first.status_code == 200 and "attachment" in first.headers["content-disposition"]
        assert json.loads(first.content)["accounts"][0]["external_id"] == person
        assert httpx.get(ingress.url + link, params={"download": "1"}).status_code == 404  # used up
        assert worker.stop() == 0 and ingress.stop() == 0
    finally:
        loopback.close()
    log = "\n".join(ingress.lines + worker.lines)
    assert "Traceback" not in log and link.rsplit("/", 1)[1] not in log and person not in log


def test_migrate_creates_the_queue_tables_once(pg):
    url = pg.create(migrated=False)
    try:
        env = {"PATH": "/usr/bin:/bin", "DATABASE_URL": url}
        for _ in range(2):
            result = subprocess.run([sys.executable, "-m", "bot", "migrate"], cwd=ROOT, env=env, capture_output=True,
                                    text=True, timeout=TIMEOUT)
            assert result.returncode == 0, result.stderr
        assert asyncio.run(_fetchval(url, "SELECT count(*) FROM procrastinate_jobs", "procrastinate_jobs")) == 0
        assert asyncio.run(_fetchval(url, "SELECT count(*) FROM seen_updates")) == 0
    finally:
        pg.drop(url)


def test_a_campaign_sent_by_three_workers_reaches_each_recipient_once_under_one_rate(cluster):
    """10,000 recipients, three `python -m bot worker` processes, the stand-in answering 429 above the rate in any
    sliding second (bench/broadcast.py's Enforcer): one worker SIGKILLed a third of the way through. Everyone
    gets the message; only what the killed worker had in flight may go twice (Sender.workers(rate)); no second
    over the rate, no 429."""
    from bench.broadcast import FIRST, seed
    from bench.campaign_workers import Receiver
    from bot.campaigns import Sender
    from bot.data import campaigns as cdata

    recipients, rate = 10_000, 500
    cluster.env.update(BROADCAST_RATE=str(rate), BROADCAST_PAID="on")  # above 30/s: paid broadcasts
    receiver = Receiver(rate)
    cluster.telegram.api.fault = receiver
    workers = [cluster.worker() for _ in range(3)]
    until(lambda: cluster.workers_registered() == 3, "three workers registered")

    async def create() -> int:
        db = await Database.open(cluster.url)
        try:
            now = iso(datetime.now(UTC))
            await seed(db, recipients, now)
            cid, _ = await cdata.create(
                db, admin_id=ADMIN, text="📣 Tiêm chủng miễn phí tại phường sáng thứ Bảy", entities=[], photo=None,
                audience_kind="all", audience_value=None, who=((), (), "all"), texts=None, status="sending",
                scheduled_at=None, now=now, default_locale="vi")
            return cid
        finally:
            await db.close()

    cid = asyncio.run(create())
    until(lambda: len(receiver.per_chat) >= recipients // 3, "a third sent", seconds=120)
    workers[0].proc.kill()
    until(lambda: asyncio.run(_fetchval(cluster.url, f"SELECT status FROM campaigns WHERE id = {cid}")) == "done",
          "the campaign finished", seconds=300)
    got = {chat: n for chat, n in receiver.per_chat.items() if chat >= FIRST}
    assert len(got) == recipients  # nobody missed, the killed worker's claims taken over
    duplicates = sum(n - 1 for n in got.values())
    assert duplicates <= Sender().workers(rate)  # the crash bound: the killed worker's sends in flight
    assert receiver.enforcer.refused == 0 and receiver.enforcer.busiest <= rate
    assert asyncio.run(_fetchval(cluster.url, f"SELECT count(*) FROM campaign_recipients WHERE campaign_id = {cid} "
                                              "AND status = 'sent'")) == recipients
    for proc in workers[1:]:
        assert proc.stop() == 0, "\n".join(proc.lines[-20:])


def test_one_huge_word_does_not_hold_up_the_workers(cluster):
    """A message of one word of almost 1 MB (the ingress's body limit) is answered, and so is the next person:
    the search's repair of Telex leftovers once took minutes on such a word, the worker's heartbeat stopped,
    and the job went round every worker in turn while nobody else was answered."""
    ingress = cluster.start("ingress")
    cluster.worker()
    ingress.ready()
    huge = update(1, 0, 1)
    huge["message"]["text"] = "a" * 1_000_000
    assert httpx.post(f"{ingress.url}/telegram", json=huge, headers=HEADER, timeout=TIMEOUT).status_code == 200
    assert httpx.post(f"{ingress.url}/telegram", json=update(2, 0, 2), headers=HEADER).status_code == 200
    until(lambda: (BASE + 2, 2, 0) in cluster.replies(), "the next person was answered\n" + "\n".join(
        line for proc in cluster.procs for line in proc.lines))
    until(lambda: any(e.chat_id == BASE + 1 for e in list(cluster.telegram.api.sent)), "the huge word was answered")


def test_a_worker_whose_postgresql_stops_exits_with_one_line_and_status_1():
    """PostgreSQL stopped under a running worker: procrastinate's worker ends, and so does the process, with one
    line and status 1, so that its supervisor starts it again. (Once, by hand, with PostgreSQL back a few seconds
    later, the process said nothing and exited 0 as for a stop asked for: bot/app.py `work` now says status 1
    whenever the queue's worker ends without being asked.)"""
    from bot.data.pgtemp import TempPostgres

    server = TempPostgres().start()
    telegram = StandinServer()
    env = {"PATH": "/usr/bin:/bin", "BOT_TOKEN": TOKEN, "BOT_API_BASE_URL": telegram.url,
           "DATABASE_URL": server.url(), "PUBLIC_BASE_URL": "https://bot.example.org", "WEBHOOK_SECRET": SECRET}
    worker = Proc(["worker"], env)
    try:
        until(lambda: any("worker ready" in line for line in worker.lines), "\n".join(worker.lines))
        server._run("pg_ctl", "-D", str(server.data), "-m", "fast", "-w", "stop")
        assert worker.proc.wait(TIMEOUT) == 1
        until(lambda: worker.lines and worker.lines[-1].startswith("worker stopped: "), "\n".join(worker.lines))
        assert not any(line.startswith("Traceback") for line in worker.lines[-3:])
    finally:
        worker.kill()
        telegram.stop()
        with contextlib.suppress(Exception):
            server.stop()

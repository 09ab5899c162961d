"""`python -m bot` in server mode as a real process: webhooks served, /readyz while starting and draining,
SIGTERM in the middle of a campaign losing nothing, and one process per database. Telegram is the loopback
stand-in of test_polling (BOT_API_BASE_URL); the bot's own HTTP server listens on a free port (PORT=0)."""

from __future__ import annotations

import asyncio
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest

from bot import campaigns
from bot.campaigns import Draft
from bot.config import Settings
from tests import syncdb
from tests.conftest import ADMIN, ROOT, make_settings, open_bot
from tests.test_campaigns import seed
from tests.test_polling import TIMEOUT, TOKEN, BotApiServer

SECRET = "webhook_Secret-1"
HEADER = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
START = {"update_id": 500, "message": {
    "message_id": 1, "date": 1_764_000_000, "text": "/start",
    "chat": {"id": 1001, "type": "private", "first_name": "Lan"},
    "from": {"id": 1001, "is_bot": False, "first_name": "Lan"},
    "entities": [{"type": "bot_command", "offset": 0, "length": 6}]}}


class Proc:
    """One `python -m bot …` process (`command` after `-m bot`: [] for run, ["worker", …]); its stderr collected
    line by line as it comes, and the port its HTTP server took."""

    def __init__(self, command: list[str], env: dict[str, str]) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "bot", *command], cwd=ROOT, env=env,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.lines: list[str] = []
        self.port: int | None = None
        self.listening = threading.Event()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        for line in self.proc.stderr:
            self.lines.append(line.rstrip("\n"))
            found = re.search(r"http server listening host=\S+ port=(\d+)", line)
            if found:
                self.port = int(found.group(1))
                self.listening.set()

    @property
    def url(self) -> str:
        assert self.listening.wait(TIMEOUT), "\n".join(self.lines)
        return f"http://127.0.0.1:{self.port}"

    def ready(self) -> None:
        """Wait until /readyz answers 200."""
        deadline = time.monotonic() + TIMEOUT
        while httpx.get(f"{self.url}/readyz").status_code != 200:
            assert time.monotonic() < deadline and self.proc.poll() is None, "\n".join(self.lines)
            time.sleep(0.02)

    def stop(self, sig: int = signal.SIGTERM) -> int:
        self.proc.send_signal(sig)
        return self.proc.wait(TIMEOUT)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


class Bot(Proc):
    """`python -m bot` against the stand-in, on a SQLite file or a DATABASE_URL."""

    def __init__(self, server: BotApiServer, db: Path | str, **env: str) -> None:
        database = {"DATABASE_URL": db} if isinstance(db, str) else {"DATABASE_PATH": str(db)}  # a URL: PostgreSQL
        super().__init__([], {"PATH": "/usr/bin:/bin", "BOT_TOKEN": TOKEN, "BOT_API_BASE_URL": server.url,
                              **database, "PORT": "0", "ADMIN_IDS": str(ADMIN), **env})


def until(condition, what: str) -> None:
    deadline = time.monotonic() + TIMEOUT
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.01)


@pytest.fixture
def server():
    stand_in = BotApiServer(polls=())
    yield stand_in
    stand_in.closing.set()
    stand_in.httpd.shutdown()


def test_webhook_mode_registers_serves_and_reports_starting(tmp_path, server, store):
    started = threading.Event()
    server.hold = lambda method, form: started if method == "getMe" else None  # the start waits for Telegram
    bot = Bot(server, store, PUBLIC_BASE_URL="http://127.0.0.1:9", WEBHOOK_SECRET=SECRET)
    try:
        answer = httpx.get(f"{bot.url}/readyz")
        assert answer.status_code == 503 and answer.json()["problems"] == ["starting"]
        assert httpx.post(f"{bot.url}/telegram", json=START, headers=HEADER).status_code == 503  # sent again later
        assert httpx.get(f"{bot.url}/healthz").status_code == 200
        started.set()
        bot.ready()
        webhook = [form for method, form in server.calls if method == "setWebhook"]
        assert webhook == [{"url": "http://127.0.0.1:9/telegram", "secret_token": SECRET,
                            "allowed_updates": webhook[0]["allowed_updates"]}]
        assert not any(method == "getUpdates" for method, _ in server.calls)  # no polling beside the webhook
        assert httpx.post(f"{bot.url}/telegram", json=START, headers={}).status_code == 403
        assert httpx.post(f"{bot.url}/telegram", json=START, headers=HEADER).status_code == 200
        assert server.replied.wait(TIMEOUT)
        assert server.sent[0]["text"].startswith("Chào bạn! Mình là Trợ lý số.")
        assert httpx.post(f"{bot.url}/zalo", json={}, headers=HEADER).status_code == 404  # Zalo not configured
        assert bot.stop() == 0
    finally:
        bot.kill()
    assert [m["chat_id"] for m in server.sent] == ["1001"]
    warnings = [line for line in bot.lines if " WARNING " in line]
    assert warnings == [next(line for line in bot.lines if "PUBLIC_BASE_URL is plain http" in line)]
    assert "Traceback" not in "\n".join(bot.lines)
    assert SECRET not in "\n".join(bot.lines) and TOKEN not in "\n".join(bot.lines)


def test_a_webhook_telegram_refuses_is_one_line_and_a_quick_exit(tmp_path, server):
    server.refuse["setWebhook"] = {"ok": False, "error_code": 400,
                                   "description": "Bad Request: bad webhook: An HTTPS URL must be provided for webhook"}
    bot = Bot(server, tmp_path / "bot.sqlite3", PUBLIC_BASE_URL="http://127.0.0.1:9", WEBHOOK_SECRET=SECRET)
    try:
        assert bot.proc.wait(TIMEOUT) == 1
    finally:
        bot.kill()
    bot.reader.join(TIMEOUT)  # every line read
    problems = [line for line in bot.lines if " INFO " not in line and " WARNING " not in line]
    assert problems == ["PUBLIC_BASE_URL: Telegram did not accept the webhook http://127.0.0.1:9/telegram (BadRequest: "
                        "Bad webhook: an https url must be provided for webhook): check the address and that Caddy "
                        "serves it over https"]
    with sqlite3.connect(tmp_path / "bot.sqlite3") as conn:  # the database was closed properly
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_a_taken_port_is_one_line_and_a_quick_exit(tmp_path, server):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        bot = Bot(server, tmp_path / "bot.sqlite3", PORT=str(port))
        try:
            assert bot.proc.wait(TIMEOUT) == 1
        finally:
            bot.kill()
    bot.reader.join(TIMEOUT)
    assert bot.lines == [f"HOST/PORT: cannot listen on 127.0.0.1:{port} (Address already in use): choose another "
                         "PORT or stop what uses it"]
    assert not any(method == "getMe" for method, _ in server.calls)  # it stopped before reaching Telegram


@pytest.mark.parametrize("host", ["bad host", "999.1.1.1", "192.0.2.1"])
def test_a_host_this_machine_does_not_have_is_one_line_naming_host(tmp_path, server, host):
    bot = Bot(server, tmp_path / "bot.sqlite3", HOST=host)
    try:
        assert bot.proc.wait(TIMEOUT) == 1
    finally:
        bot.kill()
    bot.reader.join(TIMEOUT)
    assert len(bot.lines) == 1 and bot.lines[0].startswith(f"HOST: cannot listen on {host}:0 (")
    assert bot.lines[0].endswith("): set HOST to an address of this machine (127.0.0.1, or 0.0.0.0 for all)")


def test_a_bracketed_ipv6_host_is_taken_as_written_in_a_url(tmp_path, server):
    bot = Bot(server, tmp_path / "bot.sqlite3", HOST="[::1]")
    try:
        assert bot.listening.wait(TIMEOUT), bot.lines
        assert httpx.get(f"http://[::1]:{bot.port}/healthz").text == "ok"
        assert bot.stop() == 0
    finally:
        bot.kill()


def test_polling_mode_deletes_the_webhook_and_still_serves_health(tmp_path):
    server = BotApiServer()
    bot = Bot(server, tmp_path / "bot.sqlite3")
    try:
        bot.ready()  # an answered poll is contact
        assert server.replied.wait(TIMEOUT)
        methods = [method for method, _ in server.calls]
        assert "deleteWebhook" in methods and methods.index("deleteWebhook") < methods.index("getUpdates")
        assert "setWebhook" not in methods
        assert httpx.post(f"{bot.url}/telegram", json=START, headers=HEADER).status_code == 404  # no webhook
        assert "bot_updates_total{channel=\"telegram\",kind=\"message\"} 1.0" in httpx.get(f"{bot.url}/metrics").text
        assert bot.stop(signal.SIGINT) == 0
    finally:
        bot.kill()
        server.closing.set()
        server.httpd.shutdown()


def make_campaign(folder: Path, n: int) -> list[int]:
    """The test's database holding a campaign being sent to `n` residents, none of them served yet."""

    async def build() -> list[int]:
        async with open_bot(make_settings(folder)) as bot:
            ids = await seed(bot, n)
            await campaigns.create(bot.svc, ADMIN, Draft("📣 Tiêm chủng miễn phí tại phường"), None)
        return ids

    return asyncio.run(build())


def statuses(db: Path | str) -> dict[int, str]:
    conn = syncdb.connect(make_settings(db.parent) if isinstance(db, Path) else Settings(database_url=db))
    try:
        return dict(conn.execute("SELECT user_id, status FROM campaign_recipients").fetchall())
    finally:
        conn.close()


def test_sigterm_mid_campaign_loses_nothing(tmp_path, server, store):
    db = store
    residents = make_campaign(tmp_path, 40)
    in_flight = threading.Event()  # campaign sends after the first five are held until the test says
    release = threading.Event()
    first = Counter()

    def hold(method: str, form: dict) -> threading.Event | None:
        if method == "sendMessage" and int(form["chat_id"]) in residents:
            first["sends"] += 1
            if first["sends"] > 5:
                in_flight.set()
                return release
        return None

    server.hold = hold
    bot = Bot(server, db, BROADCAST_RATE="5", PUBLIC_BASE_URL="http://127.0.0.1:9", WEBHOOK_SECRET=SECRET)
    try:
        bot.ready()
        assert in_flight.wait(TIMEOUT)
        bot.proc.send_signal(signal.SIGTERM)
        until(lambda: httpx.get(f"{bot.url}/readyz").status_code == 503, "readyz never turned 503")
        assert httpx.get(f"{bot.url}/readyz").json()["problems"] == ["draining"]
        assert httpx.post(f"{bot.url}/telegram", json=START, headers=HEADER).status_code == 503
        release.set()  # the sends in flight are answered now: they must be recorded before the exit
        assert bot.proc.wait(TIMEOUT) == 0
    finally:
        bot.kill()
    delivered = Counter(int(m["chat_id"]) for m in server.sent if int(m["chat_id"]) in residents)
    after_stop = statuses(db)
    assert 5 < len(delivered) < 40  # it stopped in the middle
    assert {u for u, s in after_stop.items() if s == "sent"} == set(delivered)  # each answered send is recorded
    assert {u for u, s in after_stop.items() if s != "sent"} == {u for u in residents if u not in delivered}
    assert set(after_stop.values()) == {"sent", "pending"}
    assert "Traceback" not in "\n".join(bot.lines)
    if isinstance(db, Path):
        with sqlite3.connect(db) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"

    server.hold = None  # the next start resumes the campaign with those still pending
    again = Bot(server, db, BROADCAST_RATE="30")
    try:
        until(lambda: set(statuses(db).values()) == {"sent"}, "the campaign did not finish after the restart")
        assert again.stop() == 0
    finally:
        again.kill()
    delivered = Counter(int(m["chat_id"]) for m in server.sent if int(m["chat_id"]) in residents)
    assert delivered == Counter(residents)  # everyone once, nobody twice


def test_a_second_process_on_one_database_is_refused(tmp_path, server):
    db = tmp_path / "bot.sqlite3"
    first = Bot(server, db)
    try:
        first.ready()
        second = subprocess.run([sys.executable, "-m", "bot"], cwd=ROOT, capture_output=True, text=True,
                                timeout=TIMEOUT, env={"PATH": "/usr/bin:/bin", "BOT_TOKEN": TOKEN, "PORT": "0",
                                                      "BOT_API_BASE_URL": server.url, "DATABASE_PATH": str(db)})
        console = subprocess.run([sys.executable, "-m", "bot", "console", "--db", str(db)], cwd=ROOT, input="/start\n",
                                 capture_output=True, text=True, timeout=TIMEOUT, env={"PATH": "/usr/bin:/bin"})
        for refused in (second, console):
            assert refused.returncode == 1
            lines = [line for line in refused.stderr.strip().splitlines() if " INFO " not in line]
            assert lines == [f"Database error: {db} is in use by another bot process (it holds {db}.lock): stop "
                             "that one first, or give this one its own DATABASE_PATH"]
        assert console.stdout == ""  # the console did nothing to the live database
        assert httpx.get(f"{first.url}/readyz").status_code == 200  # the first one carries on
        server.closing.set()  # the long poll in progress returns at once
        assert first.stop() == 0
    finally:
        first.kill()
    server.closing.clear()
    third = Bot(server, db)  # the lock went with the first process
    try:
        third.ready()
        server.closing.set()
        assert third.stop() == 0
    finally:
        third.kill()


@pytest.mark.parametrize("store", ["postgres"], indirect=True)
def test_a_second_process_on_one_postgresql_database_is_refused(server, store):
    first = Bot(server, store)
    try:
        first.ready()
        second = subprocess.run([sys.executable, "-m", "bot"], cwd=ROOT, capture_output=True, text=True,
                                timeout=TIMEOUT, env={"PATH": "/usr/bin:/bin", "BOT_TOKEN": TOKEN, "PORT": "0",
                                                      "BOT_API_BASE_URL": server.url, "DATABASE_URL": store})
        assert second.returncode == 1
        lines = [line for line in second.stderr.strip().splitlines() if " INFO " not in line]
        assert lines == [f"Database error: {store} is in use by another bot process (or by the ingress and workers): "
                         "stop those first, or give "
                         "this one its own database"]
        assert httpx.get(f"{first.url}/readyz").status_code == 200  # the first one carries on
        server.closing.set()
        assert first.stop() == 0
    finally:
        first.kill()

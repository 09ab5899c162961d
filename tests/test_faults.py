"""Faults: error reports to admins (throttled), online backup, and a SIGKILL in the middle of work."""

import asyncio
import logging
import os
import queue
import signal
import sqlite3
import subprocess
import sys
import threading
from dataclasses import dataclass, field

import pytest

from bot import help_requests
from bot.app import build_application, running
from bot.botapi_standin import ChatDriver, FakeBotAPI
from bot.clock import FakeClock
from bot.data import Database
from bot.data.backup import backup
from tests.conftest import ADMIN, ROOT, Harness, make_settings

R = 1001
SORRY = "Xin lỗi, bên mình vừa gặp trục trặc. Bạn thử lại nhé."


@pytest.fixture
async def fragile(store, tmp_path):
    """The real bot, but without the harness's 'no handler may fail' rule."""
    settings = make_settings(tmp_path)
    clock = FakeClock()
    api = FakeBotAPI(clock, settings.bot_username)
    app = build_application(settings, request=api, clock=clock, rate_limit=False)
    async with running(app):
        yield Harness(app, api, ChatDriver(app, api), clock)


def admin_reports(bot: Harness) -> list[str]:
    return [e.text for e in bot.api.sent if e.chat_id == ADMIN and e.text.startswith("⚠️ Trợ lý số gặp lỗi")]


async def test_errors_reach_admins_once_per_kind_every_ten_minutes(fragile: Harness, monkeypatch, caplog):
    bot = fragile
    caplog.set_level(logging.DEBUG)

    async def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(help_requests, "begin", broken)
    monkeypatch.setattr(bot.svc, "search", broken)
    events = await bot.send(R, "/ask Số điện thoại tôi là 0912345678")
    assert [e.text for e in events if e.chat_id == R] == [SORRY]
    assert admin_reports(bot) == ["⚠️ Trợ lý số gặp lỗi: RuntimeError ở handlers.requests.ask.\n"
                                  "Chi tiết có trong nhật ký. Lỗi này sẽ không được báo lại trong 10 phút."]
    for _ in range(5):
        await bot.send(R, "/ask")
    assert len(admin_reports(bot)) == 1  # the same kind again: quiet
    await bot.send(R, "cai dat vneid")  # another handler: its own report
    assert admin_reports(bot)[-1].startswith("⚠️ Trợ lý số gặp lỗi: RuntimeError ở handlers.search.search_text")
    bot.clock.advance(9 * 60)
    await bot.send(R, "/ask")
    assert len(admin_reports(bot)) == 2
    bot.clock.advance(61)
    await bot.send(R, "/ask")
    assert len(admin_reports(bot)) == 3
    failures = [r for r in caplog.records if r.getMessage() == "handler failed"]
    assert len(failures) == 9 and all(r.error_key.startswith("RuntimeError@handlers.") for r in failures)
    for record in caplog.records:
        assert "0912345678" not in record.getMessage() and "cai dat" not in record.getMessage()
        assert "0912345678" not in repr(vars(record))


async def test_backup_while_another_connection_writes(tmp_path):
    db = await Database.open(tmp_path / "live.sqlite3")
    await db.executemany("INSERT INTO search_log (query, results, at) VALUES (?, 0, 'x')",
                         [(f"q{i}",) for i in range(2000)])
    stop, writing = asyncio.Event(), asyncio.Event()

    async def writer() -> int:
        n = 0
        while not stop.is_set():
            async with db.transaction():
                await db.execute("INSERT INTO search_log (query, results, at) VALUES ('more', 1, 'x')")
            n += 1
            writing.set()
            await asyncio.sleep(0)
        return n

    task = asyncio.create_task(writer())
    await writing.wait()  # the bot is writing while the backup runs
    size, check = await asyncio.to_thread(backup, tmp_path / "live.sqlite3", tmp_path / "copy" / "b.sqlite3")
    stop.set()
    written = await task
    await db.close()
    assert check == "ok" and size > 0 and written > 0
    copy = sqlite3.connect(tmp_path / "copy" / "b.sqlite3")
    assert copy.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    n = copy.execute("SELECT COUNT(*) FROM search_log").fetchone()[0]
    assert 2000 <= n <= 2000 + written
    assert copy.execute("SELECT MAX(version) FROM schema_migrations").fetchone()[0] >= 4
    copy.close()


def test_backup_command(tmp_path):
    asyncio.run(_make_db(tmp_path / "bot.sqlite3"))
    env = {"PATH": "/usr/bin:/bin", "DATABASE_PATH": str(tmp_path / "bot.sqlite3")}
    result = subprocess.run([sys.executable, "-m", "bot", "backup", str(tmp_path / "b.sqlite3")], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"Backup written to {tmp_path / 'b.sqlite3'} (") and "integrity check: ok" in \
        result.stdout


async def _make_db(path) -> None:
    db = await Database.open(path)
    await db.close()


# --- SIGKILL in the middle of filing requests and of a campaign -----------------------------------
@dataclass
class Bot:
    """`python -m bot console` as a subprocess; stdout read by a thread into a queue of lines."""

    proc: subprocess.Popen
    lines: queue.Queue = field(default_factory=queue.Queue)

    @classmethod
    def start(cls, db, **env) -> "Bot":
        proc = subprocess.Popen([sys.executable, "-m", "bot", "console", "--db", str(db)], cwd=ROOT,
                                env={"PATH": "/usr/bin:/bin", "ADMIN_IDS": str(ADMIN), **env},
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        bot = cls(proc)
        threading.Thread(target=bot._read, daemon=True).start()
        return bot

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def feed(self, lines: list[str]) -> None:
        self.proc.stdin.write("\n".join(lines) + "\n")
        self.proc.stdin.flush()

    def next_line(self) -> str | None:
        return self.lines.get(timeout=30)

    def kill(self) -> None:
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)
        assert self.proc.returncode == -signal.SIGKILL


def file_lines(uid: int, i: int) -> list[str]:
    # topic VNeID, a description, ward Bến Thành, help by messages, contact by messages only, confirm
    return [f"@as {uid} Dân {i}", "/ask", "#1", f"Cần giúp cài VNeID số {i}", "#3", "#1", "#1", "#1"]


CAMPAIGN = "📣 Tiêm chủng miễn phí tại phường"


def integrity(db) -> str:
    with sqlite3.connect(db) as conn:
        return conn.execute("PRAGMA integrity_check").fetchone()[0]


def test_sigkill_loses_no_confirmed_request_and_the_campaign_completes(tmp_path):
    db = tmp_path / "crash.sqlite3"
    # 1. residents file requests; the process dies after the 10th confirmation
    bot = Bot.start(db)
    bot.feed([line for i in range(40) for line in file_lines(5000 + i, i)])
    confirmed: list[str] = []
    while len(confirmed) < 10:
        line = bot.next_line()
        assert line is not None, "the console ended early"
        if "Mã yêu cầu: " in line:
            confirmed.append(line.split("Mã yêu cầu: ")[1].strip())
    bot.kill()
    assert integrity(db) == "ok"
    with sqlite3.connect(db) as conn:
        stored = {r[0] for r in conn.execute("SELECT code FROM help_requests")}
        assert set(confirmed) <= stored and len(stored) < 40  # died mid-way, lost nothing it confirmed
        # more residents for the campaign (as if they had sent /start)
        conn.executemany("INSERT INTO users (id, first_name, created_at, last_seen_at) VALUES (?, 'x', 'now', 'now')",
                         [(uid,) for uid in range(10_000, 10_100)])

    # 2. an admin sends a campaign; the process dies after 40 deliveries
    rate = {"BROADCAST_RATE": "30"}  # the most Telegram allows
    bot = Bot.start(db, **rate)
    bot.feed([f"@as {ADMIN} Cán bộ", "/broadcast", CAMPAIGN, "#1", "#1", "#1", "@wait 60"])
    delivered: list[int] = []
    header = ""
    while len(delivered) < 40:
        line = bot.next_line()
        assert line is not None, "the console ended early"
        if line.startswith("[to "):
            header = line
        elif line == CAMPAIGN and not header.startswith(f"[to {ADMIN} "):
            delivered.append(int(header.split()[1]))
    bot.kill()
    assert integrity(db) == "ok"
    with sqlite3.connect(db) as conn:
        pending = conn.execute("SELECT COUNT(*) FROM campaign_recipients WHERE status = 'pending'").fetchone()[0]
        assert pending > 0, "the campaign should have been cut off mid-way"

    # 3. restart: the tick resumes the campaign from its pending rows
    bot = Bot.start(db, **rate)
    bot.feed(["@wait 60", "@echo resumed"])
    header = ""
    while (line := bot.next_line()) != "resumed":
        assert line is not None, "the console ended early"
        if line.startswith("[to "):
            header = line
        elif line == CAMPAIGN:
            delivered.append(int(header.split()[1]))
    bot.proc.stdin.close()
    assert bot.proc.wait(timeout=30) == 0
    assert integrity(db) == "ok"
    with sqlite3.connect(db) as conn:
        rows = dict(conn.execute("SELECT user_id, status FROM campaign_recipients"))
        status = conn.execute("SELECT status FROM campaigns").fetchone()[0]
        subscribed = {r[0] for r in conn.execute("SELECT id FROM users WHERE subscribed = 1")}
    assert status == "done"
    assert set(rows.values()) == {"sent"} and set(rows) == subscribed and len(rows) > 100
    assert set(delivered) == set(rows) - {ADMIN}  # every resident got the message (the admin's copy is not counted)
    assert len(delivered) - len(set(delivered)) <= 25  # at most the sends in flight at the crash, twice


async def test_a_restart_resumes_the_ask_wizard_where_it_stopped(store, tmp_path):
    from tests.test_campaigns import open_bot

    async with open_bot(tmp_path) as bot:
        await bot.send(R, "/ask")
        await bot.press(R, "VNeID")
        await bot.send(R, "Tôi không đăng nhập được")
        wizard = bot.driver.latest_with_buttons(R)
    async with open_bot(tmp_path) as bot:  # a new process on the same database
        bot.api.messages[R][wizard["message_id"]] = wizard  # the resident's phone still shows it
        await bot.driver.press_data(R, "aw:w:ben-thanh", wizard["message_id"])
        await bot.press(R, "Nhắn tin qua Trợ lý số")
        await bot.press(R, "Chỉ nhắn tin")
        events = await bot.press(R, "Xác nhận")
        assert "Mã yêu cầu: HT-" in events[-1].text
        [row] = await bot.svc.db.fetchall("SELECT description FROM help_requests")
        assert row[0] == "Tôi không đăng nhập được"


def format_line(record: logging.LogRecord) -> str:
    """A record as the production stderr handler writes it (after its filters)."""
    from bot import logsafe

    handler = logsafe.handler()
    assert handler.filter(record)
    return handler.format(record)


def test_error_keys_are_readable_in_the_log_and_personal_data_is_not():
    from bot import faults, logsafe

    try:
        {}["x"]
    except KeyError as exc:
        key = faults.error_key(exc)
    record = logging.LogRecord("handlers.fallback", logging.ERROR, __file__, 1, "handler failed", (), None)
    record.error_key = key
    record.who = "Lan 0901234567"  # a value a person typed stays redacted
    line = format_line(record)
    assert "error_key=KeyError@?" in line
    assert f"who={logsafe.REDACTED}" in line


@pytest.mark.parametrize("error", ["NetworkError", "TimedOut", "RetryAfter"])
def test_a_transient_telegram_error_is_one_warning_line_without_traceback(error):
    from telegram import error as tg

    exc = tg.RetryAfter(1) if error == "RetryAfter" else getattr(tg, error)("Bad Gateway")
    try:
        raise exc
    except tg.TelegramError:
        record = logging.LogRecord("telegram.ext.Updater", logging.ERROR, __file__, 1,
                                   "Exception happened while polling for updates.", (), sys.exc_info())
    line = format_line(record)
    assert line.splitlines() == [line]
    assert " WARNING telegram.ext.Updater Exception happened while polling for updates." in line
    assert line.endswith(f"kind={error}")


def test_other_errors_keep_their_traceback():
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", (), sys.exc_info())
    line = format_line(record)
    assert " ERROR x failed" in line and "Traceback" in line


def test_routine_scheduler_lines_are_quiet_at_info():
    from bot import logsafe

    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        root.handlers.clear()
        logsafe.configure(logging.INFO)
        assert not logging.getLogger("apscheduler.executors.default").isEnabledFor(logging.INFO)
        assert logging.getLogger("apscheduler.executors.default").isEnabledFor(logging.WARNING)  # job errors
        assert not logging.getLogger("httpx").isEnabledFor(logging.INFO)  # its lines carry the token
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
        for name in logsafe.QUIET_LOGGERS:
            logging.getLogger(name).setLevel(logging.NOTSET)

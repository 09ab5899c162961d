"""Zalo outside one test process: identity migration, settings, `python -m bot` long-polling the Zalo stand-in
over loopback HTTP (alone and next to Telegram), a refused token at start, and `console --channel zalo`."""

from __future__ import annotations

import json
import re
import signal
import sqlite3
import subprocess
import sys
import time

import httpx
import pytest

from bot.channels.zalo.standin import TOKEN as ZALO_TOKEN
from bot.channels.zalo.standin import Loopback, ZaloStandIn
from bot.config import ConfigError, Settings
from bot.data import Database, accounts
from bot.data.migrations import MIGRATIONS
from tests.conftest import ROOT
from tests.test_console import console
from tests.test_polling import TOKEN, BotApiServer, finish

R = "8a3f0c2e5b7d9e1f4a6c"
TIMEOUT = 30


# --- identity ----------------------------------------------------------------------------------------
def identity_migration() -> int:
    """The version that adds accounts (found by what it does: the merger may renumber it)."""
    return next(n for n, m in enumerate(MIGRATIONS, 1) if any("CREATE TABLE accounts" in s for s in m))


async def test_the_migration_makes_every_telegram_user_an_account_with_the_same_id(db_target):
    path = db_target("old.sqlite3")
    old = await Database.open(path, upto=identity_migration() - 1)
    for uid in (1001, 5_000_000_000):
        await old.execute("INSERT INTO users (id, first_name, created_at, last_seen_at) VALUES (?, 'A', 't', 't')",
                          (uid,))
    await old.close()
    db = await Database.open(path)
    try:
        rows = await db.fetchall("SELECT channel, external_id, user_id FROM accounts ORDER BY user_id")
        assert [tuple(r) for r in rows] == [("telegram", "1001", 1001), ("telegram", "5000000000", 5_000_000_000)]
        first = await accounts.zalo(db, R, R, "t")
        again = await accounts.zalo(db, R, R, "t")
        other = await accounts.zalo(db, "ffffffffffffffffffff", "ffffffffffffffffffff", "t")
        assert first.user_id == again.user_id == accounts.ZALO_ID_BASE + 1 and other.user_id == first.user_id + 1
        assert accounts.is_zalo(first.user_id) and not accounts.is_zalo(2**52)  # Telegram ids stay below
        assert [await accounts.next_message_id(db, first.user_id) for _ in range(2)] == [1, 2]
    finally:
        await db.close()


# --- settings ----------------------------------------------------------------------------------------
def test_zalo_settings_are_read_and_checked():
    s = Settings.from_env({"ZALO_BOT_TOKEN": "12345689:abc-xyz", "ZALO_WEBHOOK_SECRET": "8chars!!",
                           "ZALO_RATE": "7", "ADMIN_ZALO_IDS": f"{R}, abc", "ZALO_BOT_LINK": "https://zalo.me/x"})
    assert (s.zalo_bot_token, s.zalo_rate, s.admin_zalo_ids) == ("12345689:abc-xyz", 7, frozenset({R, "abc"}))
    assert s.zalo_api_base_url == "https://bot-api.zaloplatforms.com" and s.zalo_bot_link == "https://zalo.me/x"
    assert Settings.from_env({}).zalo_rate == 5


@pytest.mark.parametrize("name,value", [
    ("ZALO_BOT_TOKEN", "no-colon"), ("ZALO_WEBHOOK_SECRET", "short"), ("ZALO_WEBHOOK_SECRET", "x" * 257),
    ("ZALO_RATE", "0"), ("ZALO_RATE", "31"), ("ADMIN_ZALO_IDS", "a b"), ("ZALO_API_BASE_URL", "ftp://x"),
    ("ZALO_BOT_LINK", "zalo.me/x"),
])
def test_a_malformed_zalo_setting_names_the_variable(name, value):
    with pytest.raises(ConfigError, match=name):
        Settings.from_env({name: value})


# --- python -m bot -----------------------------------------------------------------------------------
def start(env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "bot"], cwd=ROOT,
                            env={"PATH": "/usr/bin:/bin", "PORT": "0", **env},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for(condition, seconds: float = TIMEOUT) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)  # polling another process, not the bot's clock
    return False


def test_zalo_alone_long_polls_answers_and_stops_on_sigterm(tmp_path):
    standin = ZaloStandIn()
    loopback = Loopback(standin)
    db = tmp_path / "bot.sqlite3"
    proc = start({"ZALO_BOT_TOKEN": ZALO_TOKEN, "ZALO_API_BASE_URL": loopback.url, "DATABASE_PATH": str(db)})
    try:
        loopback.deliver(standin.text(R, "/start"))
        assert wait_for(lambda: standin.sent), "no reply in 30 s"
        assert standin.sent[0].chat_id == R and standin.sent[0].text.startswith("Chào bạn! Mình là Trợ lý số.")
        assert "1. 📚 Hướng dẫn" in standin.sent[0].text
        assert standin.calls["deleteWebhook"] == 1  # getUpdates does not work while a webhook is set
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=TIMEOUT) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        loopback.close()
    stderr = proc.stderr.read()
    assert "Traceback" not in stderr and ZALO_TOKEN not in stderr and R not in stderr
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT channel, external_id FROM accounts").fetchall() == [("zalo", R)]


def test_both_channels_in_one_process(tmp_path):
    standin = ZaloStandIn()
    loopback = Loopback(standin)
    server = BotApiServer()
    proc = start({"ZALO_BOT_TOKEN": ZALO_TOKEN, "ZALO_API_BASE_URL": loopback.url, "BOT_TOKEN": TOKEN,
                  "BOT_API_BASE_URL": server.url, "DATABASE_PATH": str(tmp_path / "bot.sqlite3")})
    try:
        loopback.deliver(standin.text(R, "/start"))
        assert server.replied.wait(timeout=TIMEOUT) and wait_for(lambda: standin.sent)
        assert json.loads(server.sent[0]["reply_markup"])["inline_keyboard"]  # Telegram keeps its buttons
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=TIMEOUT) == 0
    finally:
        finish(server, proc)
        loopback.close()
    assert "Traceback" not in proc.stderr.read()


def test_a_refused_zalo_token_at_start_is_one_line_and_a_non_zero_exit(tmp_path):
    standin = ZaloStandIn(token="999:the-current-one")
    loopback = Loopback(standin)
    try:
        result = subprocess.run([sys.executable, "-m", "bot"], cwd=ROOT, capture_output=True, text=True,
                                timeout=TIMEOUT, env={"PATH": "/usr/bin:/bin", "PORT": "0",
                                                      "ZALO_BOT_TOKEN": ZALO_TOKEN,
                                                      "ZALO_API_BASE_URL": loopback.url,
                                                      "DATABASE_PATH": str(tmp_path / "bot.sqlite3")})
    finally:
        loopback.close()
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == (
        "Zalo refused ZALO_BOT_TOKEN (401 Unauthorized): check it in the Zalo app (Zalo Bot Manager) and set the "
        "current one")
    assert "Traceback" not in result.stderr and ZALO_TOKEN not in result.stderr


def test_an_unreachable_zalo_at_start_is_retried_for_startup_retry_seconds_then_one_line(tmp_path):
    from tests.test_startup import closed_port_url

    started = time.monotonic()
    result = subprocess.run([sys.executable, "-m", "bot"], cwd=ROOT, capture_output=True, text=True, timeout=TIMEOUT,
                            env={"PATH": "/usr/bin:/bin", "PORT": "0", "ZALO_BOT_TOKEN": ZALO_TOKEN,
                                 "ZALO_API_BASE_URL": closed_port_url(), "STARTUP_RETRY_SECONDS": "2",
                                 "DATABASE_PATH": str(tmp_path / "bot.sqlite3")})
    assert result.returncode == 1
    assert time.monotonic() - started < 15  # it took 31 s whatever STARTUP_RETRY_SECONDS said
    lines = [line for line in result.stderr.strip().splitlines() if " INFO " not in line]
    assert all("Zalo Bot API not reachable at http://127.0.0.1:" in line for line in lines)
    assert "retrying in 1 s" in lines[0] and len(lines) >= 3
    assert lines[-1].startswith("Zalo Bot API not reachable at http://127.0.0.1:")
    assert lines[-1].endswith("in 2 s (STARTUP_RETRY_SECONDS): giving up")
    assert "Traceback" not in result.stderr and ZALO_TOKEN not in result.stderr


@pytest.mark.parametrize("stop", ["SIGTERM", "SIGINT"])
def test_a_signal_ends_the_zalo_start_up_retries_at_once(tmp_path, stop):
    from tests.test_startup import closed_port_url

    proc = start({"ZALO_BOT_TOKEN": ZALO_TOKEN, "ZALO_API_BASE_URL": closed_port_url(),
                  "STARTUP_RETRY_SECONDS": "600", "DATABASE_PATH": str(tmp_path / "bot.sqlite3")})
    try:
        assert "http server listening" in proc.stderr.readline()
        assert "retrying in" in proc.stderr.readline()  # it is waiting between attempts
        proc.send_signal(getattr(signal, stop))
        assert proc.wait(timeout=5) == 0  # it waited out its 31 s of retries, then exited 1
    finally:
        if proc.poll() is None:
            proc.kill()
    assert "Traceback" not in proc.stderr.read()


# --- console --channel zalo --------------------------------------------------------------------------
HEADER = re.compile(r"^\[(to|edit|photo|file|alert|delete) ")


def blocks(stdout: str) -> list[str]:
    """Blocks from one header to the next (a Zalo text holds blank lines: its choices follow one)."""
    out: list[list[str]] = []
    for line in stdout.splitlines():
        if HEADER.match(line) or not out:
            out.append([])
        out[-1].append(line)
    return ["\n".join(b).strip("\n") for b in out]


def test_the_zalo_console_shows_numbered_text_and_takes_typed_numbers(tmp_path):
    script = "/start\n1\n#1\n@photo man hinh\n@sticker\n@unsupported\n@contact\n@as tg:9001 Admin\n/start\n"
    result = subprocess.run([sys.executable, "-m", "bot", "console", "--channel", "zalo", "--db",
                             str(tmp_path / "z.sqlite3")], input=script, capture_output=True, text=True,
                            cwd=ROOT, env={"PATH": "/usr/bin:/bin", "ADMIN_IDS": "9001"}, timeout=120)
    assert result.returncode == 0, result.stderr
    out = blocks(result.stdout)
    assert out[0].splitlines()[0] == "[to 1001 #2]" and "1. 📚 Hướng dẫn" in out[0].splitlines()
    assert out[0].splitlines()[-1] == "Bạn trả lời bằng số, từ 1 đến 6."
    assert out[1].splitlines()[:2] == ["[to 1001 #4]", "📚 Chọn chủ đề:"]  # a new message, never an edit
    assert out[2].splitlines()[:2] == ["[to 1001 #6]", "🪪 VNeID và định danh điện tử"]  # "#1" typed as 1
    assert not any(line.startswith("  [") for b in out[:-1] for line in b.splitlines())
    assert "[edit" not in result.stdout
    assert any("chỉ đọc được chữ" in b for b in out)  # the photo and the sticker outside a wizard
    assert any(b.startswith("[to 1001 ") and "Xin lỗi, mình không xem được tin nhắn này." in b for b in out)
    assert "! Zalo cannot send a contact" in result.stderr
    assert out[-1].startswith("[to 9001 #2]") and "  [1] 📚 Hướng dẫn" in out[-1]  # a Telegram admin, as ever
    assert "Traceback" not in result.stderr


def test_the_telegram_console_is_unchanged(tmp_path):
    result = console("/start\n", tmp_path)
    assert result.stdout.startswith("[to 1001 #2]\nChào bạn! Mình là Trợ lý số.\n") and "  [1] 📚" in result.stdout


# --- server mode: Zalo's webhook on the bot's own HTTP server ---------------------------------------
def test_zalo_webhook_in_server_mode_registers_checks_the_secret_answers_once_and_drains(tmp_path):
    from tests.test_server import Bot, until

    secret = "zalo-secret-123"
    standin = ZaloStandIn()
    loopback = Loopback(standin)
    telegram = BotApiServer(polls=())
    bot = Bot(telegram, tmp_path / "bot.sqlite3", BOT_TOKEN="", ZALO_BOT_TOKEN=ZALO_TOKEN,
              ZALO_API_BASE_URL=loopback.url, PUBLIC_BASE_URL="https://127.0.0.1:9", ZALO_WEBHOOK_SECRET=secret)
    header = {"X-Bot-Api-Secret-Token": secret}
    try:
        bot.ready()
        assert standin.webhook == {"url": "https://127.0.0.1:9/zalo", "secret_token": secret}
        assert standin.calls["getUpdates"] == 0  # no polling beside the webhook
        start = {"ok": True, "result": standin.text(R, "/start")}  # wrapped, as the docs show
        refused = httpx.post(f"{bot.url}/zalo", json=start, headers={"X-Bot-Api-Secret-Token": "not-the-secret"})
        assert refused.status_code == 403 and not standin.sent
        assert httpx.post(f"{bot.url}/zalo", json=start, headers=header).status_code == 200
        assert httpx.post(f"{bot.url}/zalo", json=start, headers=header).status_code == 200  # Zalo sent it again
        assert httpx.post(f"{bot.url}/zalo", json=standin.text(R, "1"), headers=header).status_code == 200
        until(lambda: any(m.text.startswith("📚 Chọn chủ đề") for m in standin.sent), "the topics after the typed 1")
        assert [m.text.startswith("Chào bạn! Mình là Trợ lý số.") for m in standin.sent].count(True) == 1
        assert httpx.post(f"{bot.url}/zalo", json={"nonsense": 1}, headers=header).status_code == 400
        assert httpx.post(f"{bot.url}/telegram", json={}, headers=header).status_code == 404  # Telegram is off
        metrics = httpx.get(f"{bot.url}/metrics").text
        assert 'bot_updates_total{channel="zalo",kind="text"} 2.0' in metrics
        assert bot.stop() == 0
    finally:
        bot.kill()
        loopback.close()
        telegram.closing.set()
        telegram.httpd.shutdown()
    log = "\n".join(bot.lines)
    assert "Traceback" not in log and secret not in log and ZALO_TOKEN not in log and R not in log


def test_zalo_polling_in_server_mode_is_ready_once_zalo_answers(tmp_path):
    from tests.test_server import Bot

    standin = ZaloStandIn()
    loopback = Loopback(standin)
    telegram = BotApiServer(polls=())
    bot = Bot(telegram, tmp_path / "bot.sqlite3", BOT_TOKEN="", ZALO_BOT_TOKEN=ZALO_TOKEN,
              ZALO_API_BASE_URL=loopback.url)
    try:
        bot.ready()  # /readyz 200: Zalo answered getMe and polls; Telegram is not expected
        assert httpx.get(f"{bot.url}/readyz").json() == {"ready": True, "problems": []}
        assert httpx.post(f"{bot.url}/zalo", json={}).status_code == 404  # polling: no webhook route
        assert bot.stop() == 0
    finally:
        bot.kill()
        loopback.close()
        telegram.closing.set()
        telegram.httpd.shutdown()
    assert standin.calls["getUpdates"] >= 1 and standin.webhook is None

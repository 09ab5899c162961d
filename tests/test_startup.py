"""Start-up faults end `python -m bot` within seconds with one line naming the file or setting and the problem:
never a hang, never a traceback, never the token (in the console and in production against a loopback
Bot API stand-in)."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bot.data import Database
from bot.data.migrations import MIGRATIONS
from tests.conftest import ROOT
from tests.test_polling import TOKEN, BotApiServer

TIMEOUT = 30  # seconds; a hang fails the test instead of the suite


def run_bot(mode: str, env: dict[str, str], server: BotApiServer | None = None) -> subprocess.CompletedProcess:
    """`python -m bot console` (an empty session), or `python -m bot` with a token against `server`."""
    env = {"PATH": "/usr/bin:/bin", "PORT": "0", **env}  # the health server on any free port
    argv = [sys.executable, "-m", "bot"]
    if mode == "console":
        argv.append("console")
    else:
        env |= {"BOT_TOKEN": TOKEN, "BOT_API_BASE_URL": server.url if server else closed_port_url()}
    return subprocess.run(argv, cwd=ROOT, env=env, input="", capture_output=True, text=True, timeout=TIMEOUT)


def closed_port_url() -> str:
    """A loopback address where nothing listens: connections are refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def good_database(path: Path) -> Path:
    async def make() -> None:
        db = await Database.open(path)
        await db.close()

    asyncio.run(make())
    return path


def random_bytes(path: Path) -> str:
    path.write_bytes(os.urandom(8192))
    return "is not a usable SQLite database (file is not a database): restore a backup or move the file away"


def cut_short(path: Path) -> str:
    data = good_database(path).read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return "is not a usable SQLite database (database disk image is malformed): restore a backup or move the file away"


def read_only(path: Path) -> str:
    good_database(path).chmod(0o444)
    return "is read-only: make it writable for the bot's user"


def newer_version(path: Path) -> str:
    with sqlite3.connect(good_database(path)) as conn:
        conn.execute("INSERT INTO schema_migrations VALUES (?, datetime('now'))", (len(MIGRATIONS) + 1,))
    conn.close()
    return (f"was written by a newer version of the bot (schema version {len(MIGRATIONS) + 1}, this one knows up "
            f"to {len(MIGRATIONS)}): run that version or restore a backup made before it")


@pytest.fixture
def server():
    stand_in = BotApiServer(polls=())
    yield stand_in
    stand_in.closing.set()
    stand_in.httpd.shutdown()


@pytest.mark.parametrize("mode", ["console", "production"])
@pytest.mark.parametrize("damage", [random_bytes, cut_short, read_only, newer_version])
def test_an_unusable_database_is_one_line_and_a_quick_exit(tmp_path, server, mode, damage):
    db = tmp_path / "bot.sqlite3"
    problem = damage(db)
    started = time.monotonic()
    result = run_bot(mode, {"DATABASE_PATH": str(db)}, server)
    assert result.returncode == 1
    assert time.monotonic() - started < 15
    assert result.stderr.strip().splitlines()[-1] == f"Database error: {db} {problem}"
    assert "Traceback" not in result.stderr
    assert server.sent == []  # production never started polling


@pytest.mark.parametrize("mode", ["console", "production"])
def test_a_content_syntax_error_is_only_its_one_line(tmp_path, server, mode):
    content = shutil.copytree(ROOT / "content", tmp_path / "content")
    guide = sorted((content / "guides").glob("*.toml"))[0]
    guide.write_text(guide.read_text(encoding="utf-8") + "\n[broken\n", encoding="utf-8")
    result = run_bot(mode, {"CONTENT_DIR": str(content), "DATABASE_PATH": str(tmp_path / "bot.sqlite3")}, server)
    assert result.returncode == 1
    lines = [line for line in result.stderr.strip().splitlines() if " INFO " not in line]  # production's log
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"Content error: content/guides/{guide.name}: file: not valid TOML (")
    assert "Traceback" not in result.stderr


def test_a_wrong_token_is_one_line_without_the_token(tmp_path):
    server = BotApiServer(get_me=401)
    try:
        result = run_bot("production", {"DATABASE_PATH": str(tmp_path / "bot.sqlite3")}, server)
    finally:
        server.closing.set()
        server.httpd.shutdown()
    assert result.returncode == 1
    lines = [line for line in result.stderr.strip().splitlines() if " INFO " not in line]  # production's log
    assert lines == [
        "Telegram refused BOT_TOKEN (401 Unauthorized): check it with @BotFather (/mybots → API Token) "
        "and set the current one"]
    output = result.stdout + result.stderr
    assert TOKEN not in output and TOKEN.split(":")[1] not in output


def test_an_unreachable_bot_api_is_retried_then_one_line(tmp_path):
    started = time.monotonic()
    result = run_bot("production", {"DATABASE_PATH": str(tmp_path / "bot.sqlite3"), "STARTUP_RETRY_SECONDS": "2"})
    assert result.returncode == 1
    assert time.monotonic() - started < 15
    lines = [line for line in result.stderr.strip().splitlines() if " INFO " not in line]  # production's log
    retries = [line for line in lines[:-1] if "WARNING bot.startup Bot API not reachable at http://127.0.0.1:" in line]
    assert len(retries) == len(lines) - 1 >= 2  # one line per attempt (1 s, then 1 s left), nothing else
    assert "(NetworkError), attempt 1: retrying in 1 s" in retries[0]
    assert lines[-1].startswith("Bot API not reachable at http://127.0.0.1:")
    assert lines[-1].endswith("(NetworkError) after 3 attempt(s) in 2 s (STARTUP_RETRY_SECONDS): giving up")
    assert "Traceback" not in result.stderr and TOKEN not in result.stderr


@pytest.mark.parametrize("stop", ["SIGTERM", "SIGINT"])
def test_a_signal_ends_the_start_up_retries(tmp_path, stop):
    import signal

    env = {"PATH": "/usr/bin:/bin", "BOT_TOKEN": TOKEN, "BOT_API_BASE_URL": closed_port_url(),
           "DATABASE_PATH": str(tmp_path / "bot.sqlite3"), "STARTUP_RETRY_SECONDS": "600", "PORT": "0"}
    proc = subprocess.Popen([sys.executable, "-m", "bot"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        assert "http server listening" in proc.stderr.readline()
        assert "retrying in" in proc.stderr.readline()  # it is waiting between attempts
        proc.send_signal(getattr(signal, stop))
        assert proc.wait(timeout=TIMEOUT) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    assert "Traceback" not in proc.stderr.read()

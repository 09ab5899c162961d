"""Production mode end to end: `python -m bot` with a token long-polls a Bot API server, answers, and stops
cleanly on SIGTERM. The server here is a tiny stand-in on 127.0.0.1 (BOT_API_BASE_URL), so the real
HTTP path of python-telegram-bot (httpx, AIORateLimiter, the job queue) runs as in production."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import pytest

from tests.conftest import ROOT

TOKEN = "123456:TEST-token"
TIMEOUT = 30  # seconds any wait in these tests may take before it fails
BOT = {"id": 7000000001, "is_bot": True, "first_name": "Trợ lý số", "username": "TroLySoBot"}


ERRORS = {  # what the Bot API answers for an error status
    401: {"ok": False, "error_code": 401, "description": "Unauthorized"},
    429: {"ok": False, "error_code": 429, "description": "Too Many Requests: retry after 1",
          "parameters": {"retry_after": 1}},
    502: {"ok": False, "error_code": 502, "description": "Bad Gateway"},
}


class BotApiServer:
    """Answers getMe, hands out one /start update, records what the bot sends.

    `get_me` is the status getMe answers (401: the token is refused); `polls` scripts the successive answers
    to getUpdates: "start" for the /start update, or an error status (502, 429, 401); then long polls with
    nothing new."""

    def __init__(self, *, get_me: int = 200, polls: tuple[object, ...] = ("start",)) -> None:
        self.sent: list[dict] = []
        self.replied = threading.Event()
        self.closing = threading.Event()
        self.polls = list(polls)
        self.get_me = get_me
        self.lock = threading.Lock()
        self.calls: list[tuple[str, dict]] = []  # every method called, with its form, in order
        # (method, form) -> an Event the answer waits for (a send held in flight), or None to answer at once
        self.hold: Callable[[str, dict], threading.Event | None] | None = None
        self.refuse: dict[str, dict] = {}  # method -> the error Telegram answers to it (error_code is the status)
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                method = self.path.rsplit("/", 1)[-1]
                length = int(self.headers.get("Content-Length") or 0)
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                status, answer = server.answer(method, form)
                body = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        class Server(ThreadingHTTPServer):
            def handle_error(self, request: object, client_address: object) -> None:
                pass  # the bot hangs up on a long poll when it stops: expected

        self.httpd = Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def answer(self, method: str, form: dict) -> tuple[int, dict]:
        with self.lock:
            self.calls.append((method, form))
        gate = self.hold(method, form) if self.hold else None
        if gate is not None:
            gate.wait(TIMEOUT)
        if method in self.refuse:
            return self.refuse[method]["error_code"], self.refuse[method]
        if method == "getMe":
            return (200, {"ok": True, "result": BOT}) if self.get_me == 200 else (self.get_me, ERRORS[self.get_me])
        if method == "getUpdates":
            with self.lock:
                step = self.polls.pop(0) if self.polls else None
            if step == "start":
                message = {"message_id": 1, "date": int(time.time()), "text": "/start",
                           "chat": {"id": 1001, "type": "private", "first_name": "Lan"},
                           "from": {"id": 1001, "is_bot": False, "first_name": "Lan"},
                           "entities": [{"type": "bot_command", "offset": 0, "length": 6}]}
                return 200, {"ok": True, "result": [{"update_id": 1, "message": message}]}
            if isinstance(step, int):
                return step, ERRORS[step]
            self.closing.wait(float(form.get("timeout", 0)))  # a long poll with nothing new, as Telegram holds it
            return 200, {"ok": True, "result": []}
        if method == "sendMessage":
            with self.lock:
                self.sent.append(form)
            self.replied.set()
            return 200, {"ok": True, "result": {"message_id": 2, "date": int(time.time()),
                                                "text": form.get("text", ""),
                                                "chat": {"id": int(form["chat_id"]), "type": "private"},
                                                "from": BOT}}
        return 200, {"ok": True, "result": True}


def start_bot(server: BotApiServer, db, **env: str) -> subprocess.Popen:
    """`python -m bot` in production mode against the stand-in, with `env` added."""
    env = {"PATH": "/usr/bin:/bin", "BOT_TOKEN": TOKEN, "BOT_API_BASE_URL": server.url, "DATABASE_PATH": str(db),
           "PORT": "0", **env}  # the health server on any free port
    return subprocess.Popen([sys.executable, "-m", "bot"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def finish(server: BotApiServer, proc: subprocess.Popen) -> None:
    server.closing.set()
    if proc.poll() is None:
        proc.kill()
    server.httpd.shutdown()


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT])
def test_long_polling_answers_and_stops_cleanly_on_a_signal(tmp_path, stop):
    server = BotApiServer()
    db = tmp_path / "bot.sqlite3"
    proc = start_bot(server, db)
    try:
        assert server.replied.wait(timeout=30), "no reply in 30 s"
        assert server.sent[0]["text"].startswith("Chào bạn! Mình là Trợ lý số.")
        assert json.loads(server.sent[0]["reply_markup"])["inline_keyboard"][0][0]["callback_data"] == "m:g"
        proc.send_signal(stop)
        assert proc.wait(timeout=30) == 0
    finally:
        finish(server, proc)
    stderr = proc.stderr.read()
    assert "Traceback" not in stderr
    guides = len(list((ROOT / "content" / "guides").glob("*.toml")))  # one guide per file
    assert f"INFO bot.app bot ready guides={guides}" in stderr  # log lines carry their ids
    assert TOKEN not in stderr  # httpx logs carry the token: they are kept quiet
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("SELECT first_name FROM users WHERE id = 1001").fetchone()[0] == "Lan"


def test_a_502_and_a_429_while_polling_are_one_warning_each_and_no_admin_report(tmp_path):
    server = BotApiServer(polls=(502, 429, "start"))
    proc = start_bot(server, tmp_path / "bot.sqlite3", ADMIN_IDS="555")
    try:
        assert server.replied.wait(timeout=30), "no reply in 30 s"  # the bot recovered from both
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    finally:
        finish(server, proc)
    stderr = proc.stderr.read()
    assert [m["chat_id"] for m in server.sent] == ["1001"]  # nothing reported to the admin
    assert "Traceback" not in stderr
    assert " ERROR " not in stderr
    assert "WARNING bot.app polling: Bot API error, retrying kind=NetworkError" in stderr
    assert "Running job" not in stderr and "executed successfully" not in stderr  # the 1 s campaign tick ran


def test_a_token_revoked_while_running_ends_the_process_with_one_line(tmp_path):
    db = tmp_path / "bot.sqlite3"
    server = BotApiServer(polls=("start", 401))
    proc = start_bot(server, db)
    try:
        assert server.replied.wait(timeout=30), "no reply in 30 s"
        assert proc.wait(timeout=30) == 1  # a supervisor restarts it, and someone reads why
    finally:
        finish(server, proc)
    stdout, stderr = proc.stdout.read(), proc.stderr.read()
    assert stderr.strip().splitlines()[-1] == ("Telegram refused BOT_TOKEN (401 Unauthorized while running): "
                                               "check it with @BotFather (/mybots → API Token) and set the "
                                               "current one")
    assert "Traceback" not in stderr
    assert TOKEN not in stdout + stderr and TOKEN.split(":")[1] not in stdout + stderr
    with sqlite3.connect(db) as conn:  # the database was closed properly
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"

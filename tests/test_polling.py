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
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

from tests.conftest import ROOT

TOKEN = "123456:TEST-token"
BOT = {"id": 7000000001, "is_bot": True, "first_name": "Trợ lý số", "username": "TroLySoBot"}


class BotApiServer:
    """Answers getMe, hands out one /start update, records what the bot sends."""

    def __init__(self) -> None:
        self.sent: list[dict] = []
        self.replied = threading.Event()
        self.closing = threading.Event()
        self.update_given = False
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                method = self.path.rsplit("/", 1)[-1]
                length = int(self.headers.get("Content-Length") or 0)
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                body = json.dumps({"ok": True, "result": server.answer(method, form)}).encode()
                self.send_response(200)
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

    def answer(self, method: str, form: dict) -> object:
        if method == "getMe":
            return BOT
        if method == "getUpdates":
            with self.lock:
                first, self.update_given = not self.update_given, True
            if first:
                message = {"message_id": 1, "date": int(time.time()), "text": "/start",
                           "chat": {"id": 1001, "type": "private", "first_name": "Lan"},
                           "from": {"id": 1001, "is_bot": False, "first_name": "Lan"},
                           "entities": [{"type": "bot_command", "offset": 0, "length": 6}]}
                return [{"update_id": 1, "message": message}]
            self.closing.wait(float(form.get("timeout", 0)))  # a long poll with nothing new, as Telegram holds it
            return []
        if method == "sendMessage":
            with self.lock:
                self.sent.append(form)
            self.replied.set()
            return {"message_id": 2, "date": int(time.time()), "text": form.get("text", ""),
                    "chat": {"id": int(form["chat_id"]), "type": "private"}, "from": BOT}
        return True


def test_long_polling_answers_and_stops_cleanly_on_sigterm(tmp_path):
    server = BotApiServer()
    db = tmp_path / "bot.sqlite3"
    env = {"PATH": "/usr/bin:/bin", "BOT_TOKEN": TOKEN, "BOT_API_BASE_URL": server.url, "DATABASE_PATH": str(db)}
    proc = subprocess.Popen([sys.executable, "-m", "bot"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        assert server.replied.wait(timeout=30), "no reply in 30 s"
        assert server.sent[0]["text"].startswith("Chào bạn! Mình là Trợ lý số.")
        assert json.loads(server.sent[0]["reply_markup"])["inline_keyboard"][0][0]["callback_data"] == "m:g"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    finally:
        server.closing.set()
        if proc.poll() is None:
            proc.kill()
        server.httpd.shutdown()
    stderr = proc.stderr.read()
    assert "Traceback" not in stderr
    guides = len(list((ROOT / "content" / "guides").glob("*.toml")))  # one guide per file
    assert f"INFO bot.app bot ready guides={guides}" in stderr  # log lines carry their ids
    assert TOKEN not in stderr  # httpx logs carry the token: they are kept quiet
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("SELECT first_name FROM users WHERE id = 1001").fetchone()[0] == "Lan"

"""A stand-in for Zalo's Bot Platform servers, quirks included, shared by the console, the tests and the bench.

It is an `httpx.MockTransport` handler: the real `ZaloClient` sends real HTTP requests (URL, JSON body,
status, JSON answer) through httpx, and they are answered here instead of on the network. As the documented
API: a wrong token answers 401; every answer is the envelope `{ok, result, description, error_code}`;
errors other than 401 and 5xx come back as HTTP 200 with `ok: false`; getUpdates hands out **one** update
(no offset) or `ok: false` with 408 when nothing came within its timeout; texts are 1 to 2,000 characters;
there is no edit, delete, button or document method. `fault` injects any answer (429, 5xx, ok:false).
`ZaloPhone`-like helpers (`text`, `image`, `sticker`, `unsupported`) play people; `sent` records what
people were shown, as the console prints it.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from bot.clock import Clock

TOKEN = "12345689:zalo-stand-in"
TEXT_LIMIT = 2000
METHODS = frozenset({"getMe", "getUpdates", "setWebhook", "deleteWebhook", "getWebhookInfo", "sendMessage",
                     "sendPhoto", "sendSticker", "sendChatAction"})


@dataclass
class ZaloSent:
    """One thing a Zalo person was shown: a text or a photo (by URL, with its caption)."""

    kind: str  # to | photo
    chat_id: str
    number: int  # its place in that chat, counting the person's own messages too (as the console shows it)
    text: str = ""
    photo: str | None = None

    def render(self) -> str:
        head = f"[{self.kind} {self.chat_id} #{self.number}]"
        return head + ("\n" + self.text if self.text else "") + "\n"


class ZaloFault(Exception):
    """Raised by a fault hook: the stand-in answers with this HTTP status and envelope."""

    def __init__(self, code: int, description: str, http_status: int | None = None):
        super().__init__(description)
        self.code, self.description = code, description
        self.http_status = http_status if http_status is not None else (code if code in (401,) or code >= 500 else 200)


class ZaloStandIn:
    """Zalo's servers for one bot; `transport` goes to `ZaloClient(transport=...)`."""

    def __init__(self, clock: Clock | None = None, token: str = TOKEN, *, wait_for_updates: bool = True):
        self.clock = clock or Clock()
        self.token = token
        self.transport = httpx.MockTransport(self.handle)
        self.sent: list[ZaloSent] = []
        self.listeners: list[Callable[[ZaloSent], None]] = []
        self.calls: Counter[str] = Counter()
        self.fault: Callable[[str, dict], None] | None = None  # may raise ZaloFault
        self.webhook: dict | None = None
        self.updates: asyncio.Queue[dict] = asyncio.Queue()
        self.wait_for_updates = wait_for_updates  # False: an empty poll answers 408 at once (no waiting in tests)
        self.names: dict[str, str] = {}
        self.keep_events = True
        self._numbers: dict[str, itertools.count] = defaultdict(lambda: itertools.count(1))
        self._ids = itertools.count(1)

    # --- the HTTP side --------------------------------------------------------------------------
    async def handle(self, request: httpx.Request) -> httpx.Response:
        """Answer one HTTP request as Zalo's servers would (the MockTransport handler)."""
        bot, _, method = request.url.path.rpartition("/")
        if not bot.endswith("/bot" + self.token):
            return self._answer(401, {"ok": False, "error_code": 401, "description": "Unauthorized"})
        try:
            payload = json.loads(request.content or b"{}")
        except ValueError:
            return self._answer(200, {"ok": False, "error_code": 400, "description": "Bad Request"})
        self.calls[method] += 1
        try:
            if self.fault:
                self.fault(method, payload)
            if method not in METHODS:
                raise ZaloFault(404, "Not Found")
            result = await getattr(self, f"_api_{method}")(payload)
        except ZaloFault as fault:
            return self._answer(fault.http_status, {"ok": False, "error_code": fault.code,
                                                    "description": fault.description})
        return self._answer(200, {"ok": True, "result": result})

    @staticmethod
    def _answer(status: int, body: dict) -> httpx.Response:
        return httpx.Response(status, json=body)

    # --- methods -------------------------------------------------------------------------------
    async def _api_getMe(self, payload: dict) -> dict:
        return {"id": "b0t0000000000000000a", "account_name": "bot.trolyso", "account_type": "BASIC",
                "can_join_groups": False, "display_name": "Trợ lý số"}

    async def _api_getUpdates(self, payload: dict) -> dict:
        if self.webhook is not None:
            raise ZaloFault(400, "Bad Request: webhook is set")
        if self.updates.empty() and not self.wait_for_updates:
            raise ZaloFault(408, "Request timeout")
        try:
            return await asyncio.wait_for(self.updates.get(), float(payload.get("timeout") or 30))
        except TimeoutError:
            raise ZaloFault(408, "Request timeout") from None

    async def _api_setWebhook(self, payload: dict) -> dict:
        secret = str(payload.get("secret_token", ""))
        if not str(payload.get("url", "")).startswith("https://") or not 8 <= len(secret) <= 256:
            raise ZaloFault(400, "Bad Request: invalid url or secret_token")
        self.webhook = {"url": payload["url"], "secret_token": secret}
        return {"url": payload["url"], "updated_at": self.now_ms()}

    async def _api_deleteWebhook(self, payload: dict) -> dict:
        self.webhook = None
        return {"url": "", "updated_at": self.now_ms()}

    async def _api_getWebhookInfo(self, payload: dict) -> dict:
        return {"url": (self.webhook or {}).get("url", ""), "updated_at": self.now_ms()}

    def _chat(self, payload: dict) -> str:
        chat = payload.get("chat_id")
        if not isinstance(chat, str) or not chat:
            raise ZaloFault(400, "Bad Request: chat_id is required")
        return chat

    async def _api_sendMessage(self, payload: dict) -> dict:
        chat, text = self._chat(payload), payload.get("text")
        if not isinstance(text, str) or not 1 <= len(text) <= TEXT_LIMIT:
            raise ZaloFault(400, "Bad Request: text must be 1 to 2000 characters")
        return self._emit(ZaloSent("to", chat, self.number(chat), text))

    async def _api_sendPhoto(self, payload: dict) -> dict:
        chat, photo = self._chat(payload), payload.get("photo")
        if not isinstance(photo, str) or not photo.startswith(("http://", "https://")):
            raise ZaloFault(400, "Bad Request: photo must be an image URL")
        caption = payload.get("caption") or ""
        if len(caption) > TEXT_LIMIT:
            raise ZaloFault(400, "Bad Request: caption is too long")
        return self._emit(ZaloSent("photo", chat, self.number(chat), caption, photo))

    async def _api_sendSticker(self, payload: dict) -> dict:
        return {"message_id": self.new_id(), "date": self.now_ms()}

    async def _api_sendChatAction(self, payload: dict) -> bool:
        self._chat(payload)
        return True

    # --- helpers -------------------------------------------------------------------------------
    def now_ms(self) -> int:
        """Zalo's timestamps: milliseconds."""
        return int(self.clock.now().timestamp() * 1000)

    def new_id(self) -> str:
        """A new message id: 20 hex characters, unique in the stand-in."""
        return f"{next(self._ids):020x}"

    def number(self, chat: str) -> int:
        """The next place in a chat (the console's `#N`)."""
        return next(self._numbers[chat])

    def _emit(self, event: ZaloSent) -> dict:
        if self.keep_events:
            self.sent.append(event)
        for listener in self.listeners:
            listener(event)
        return {"message_id": self.new_id(), "date": self.now_ms()}

    def to(self, chat: str) -> list[ZaloSent]:
        """What this Zalo chat was shown, in order."""
        return [e for e in self.sent if e.chat_id == chat]

    # --- people --------------------------------------------------------------------------------
    def update(self, event: str, user: str, **message: Any) -> dict:
        """The update Zalo would deliver when `user` (their Zalo id) does something in their private chat;
        `message_id` may be given to play a repeated delivery. Counted in the chat's numbering."""
        self.number(user)
        body = {"from": {"id": user, "display_name": self.names.get(user, f"User {user}"), "is_bot": False},
                "chat": {"id": user, "chat_type": "PRIVATE"}, "date": self.now_ms(),
                "message_id": message.pop("message_id", None) or self.new_id(), **message}
        return {"event_name": event, "message": body}

    def text(self, user: str, text: str, **kw: Any) -> dict:
        """A text message from `user`."""
        return self.update("message.text.received", user, text=text, **kw)

    def image(self, user: str, url: str = "https://photo-stal.zadn.vn/standin/photo.jpg", caption: str = "",
              **kw: Any) -> dict:
        """A photo from `user`: Zalo gives its URL (`photo_url`, as seen live)."""
        return self.update("message.image.received", user, photo_url=url, caption=caption, **kw)

    def sticker(self, user: str, **kw: Any) -> dict:
        """A sticker from `user`."""
        return self.update("message.sticker.received", user, sticker="standin-sticker",
                           url="https://zalo-api.zadn.vn/standin/sticker.png", **kw)

    def unsupported(self, user: str, **kw: Any) -> dict:
        """What Zalo sends instead of the content when the sender is a protected user (a child…)."""
        return self.update("message.unsupported.received", user, **kw)

    def deliver(self, update: dict) -> None:
        """Queue an update for the next getUpdates (polling)."""
        self.updates.put_nowait(update)


class Loopback:
    """The stand-in served over real HTTP on 127.0.0.1, for `python -m bot` in another process and the bench.

    Its own thread runs an event loop for the stand-in; `deliver` queues an update from any thread."""

    def __init__(self, standin: ZaloStandIn):
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.standin = standin
        self.loop = asyncio.new_event_loop()
        threading.Thread(target=self.loop.run_forever, daemon=True).start()
        loopback = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as Zalo's servers (and httpx) do
            disable_nagle_algorithm = True  # headers and body go in two writes: no 40 ms wait between them

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                request = httpx.Request("POST", f"http://127.0.0.1{self.path}", content=body,
                                        headers={"Content-Type": "application/json"})
                response = asyncio.run_coroutine_threadsafe(standin.handle(request), loopback.loop).result()
                self.send_response(response.status_code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(response.content)))
                self.end_headers()
                self.wfile.write(response.content)

            def log_message(self, *args: object) -> None:
                pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request: object, client_address: object) -> None:
                pass  # the bot hangs up on a long poll when it stops: expected

        self.httpd = Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def deliver(self, update: dict) -> None:
        self.loop.call_soon_threadsafe(self.standin.updates.put_nowait, update)

    def close(self) -> None:
        """Stop serving and stop the stand-in's loop."""
        self.httpd.shutdown()
        self.httpd.server_close()
        self.loop.call_soon_threadsafe(self.loop.stop)

"""An in-process stand-in for Telegram's Bot API servers, and a driver that plays users.

`FakeBotAPI` is a python-telegram-bot `BaseRequest`: the real `Bot` and `Application` talk to it
exactly as they would to api.telegram.org, and it answers as Telegram does (message ids per chat,
"message is not modified", 429 / 403 / 400 when a fault is injected). It records everything the
bot does as `Sent` events, which the console prints and tests assert on. `ChatDriver` builds the
updates a user's phone would send and feeds them through `Application.process_update`.
Used by the console, the tests and the benchmarks alike; no network anywhere.
"""

from __future__ import annotations

import itertools
import json
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from telegram import Update
from telegram.error import TimedOut
from telegram.ext import Application
from telegram.request import BaseRequest, RequestData

from bot.clock import Clock

BOT_ID = 7_000_000_001


@dataclass
class Button:
    label: str
    data: str | None = None
    url: str | None = None


@dataclass
class Sent:
    """One visible thing the bot did, as the console prints it."""

    kind: str  # to | edit | photo | file | alert | delete
    chat_id: int
    message_id: int | None = None
    text: str = ""
    buttons: list[list[Button]] = field(default_factory=list)
    keyboard: list[str] = field(default_factory=list)  # reply-keyboard labels
    file_name: str | None = None

    @property
    def flat_buttons(self) -> list[Button]:
        return [b for row in self.buttons for b in row]

    @property
    def labels(self) -> list[str]:
        return [b.label for b in self.flat_buttons]

    def render(self) -> str:
        head = {
            "to": f"[to {self.chat_id} #{self.message_id}]",
            "edit": f"[edit {self.chat_id} #{self.message_id}]",
            "photo": f"[photo {self.chat_id} #{self.message_id}]",
            "file": f"[file {self.chat_id} #{self.message_id}] {self.file_name}",
            "alert": f"[alert {self.chat_id}] {self.text}",
            "delete": f"[delete {self.chat_id} #{self.message_id}]",
        }[self.kind]
        lines = [head]
        if self.kind in ("to", "edit", "photo", "file") and self.text:
            lines.append(self.text)
        for n, b in enumerate(self.flat_buttons, 1):
            lines.append(f"  [{n}] {b.label}" + (f" -> {b.url}" if b.url else ""))
        lines.extend(f"  {{{label}}}" for label in self.keyboard)
        return "\n".join(lines) + "\n"


class ApiFault(Exception):
    """Raised by a fault hook to make the stand-in answer with a Telegram error."""

    def __init__(self, code: int, description: str, retry_after: int | None = None):
        super().__init__(description)
        self.code, self.description, self.retry_after = code, description, retry_after


def _inline(markup: dict | None) -> list[list[Button]]:
    if not markup or "inline_keyboard" not in markup:
        return []
    return [[Button(b["text"], b.get("callback_data"), b.get("url")) for b in row]
            for row in markup["inline_keyboard"]]


def _keyboard(markup: dict | None) -> list[str]:
    if not markup or "keyboard" not in markup:
        return []
    return [b["text"] if isinstance(b, dict) else str(b) for row in markup["keyboard"] for b in row]


class FakeBotAPI(BaseRequest):
    def __init__(self, clock: Clock | None = None, bot_username: str = "TroLySoBot"):
        self.clock = clock or Clock()
        self.bot_username = bot_username
        self.messages: dict[int, dict[int, dict]] = defaultdict(dict)  # chat -> id -> Telegram JSON
        self._next_id: dict[int, itertools.count] = defaultdict(lambda: itertools.count(1))
        self.sent: list[Sent] = []
        self.listeners: list[Callable[[Sent], None]] = []
        self.calls: Counter[str] = Counter()
        self.uploads: list[tuple[int, bytes]] = []  # (chat, bytes) of every file uploaded with a send
        self.commands: dict[tuple[str, str], list[dict]] = {}  # (scope, language) -> commands; scope "chat:ID"
        self.blocked: set[int] = set()  # chats that blocked the bot: 403
        self.webhook_url = ""  # set by setWebhook, read by getWebhookInfo
        self.fault: Callable[[str, dict], None] | None = None  # may raise ApiFault / TimedOut
        self.keep_events = True

    # --- BaseRequest -------------------------------------------------------------------------
    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass

    @property
    def read_timeout(self) -> float | None:
        return 1.0

    async def do_request(self, url: str, method: str, request_data: RequestData | None = None,
                         read_timeout: Any = None, write_timeout: Any = None,
                         connect_timeout: Any = None, pool_timeout: Any = None) -> tuple[int, bytes]:
        if method == "GET":  # a file download (File.download_*): the bytes of a small stand-in photo
            return 200, b"\xff\xd8\xff stand-in photo"
        name = url.rsplit("/", 1)[-1]
        params = dict(request_data.parameters) if request_data else {}
        files = request_data.multipart_data if request_data and request_data.contains_files else {}
        self.calls[name] += 1
        try:
            if self.fault:
                self.fault(name, params)
            chat = params.get("chat_id")
            if chat is not None and int(chat) in self.blocked and name.startswith(("send", "copy")):
                raise ApiFault(403, "Forbidden: bot was blocked by the user")
            handler = getattr(self, f"_api_{name}", None)
            result = handler(params, files) if handler else True
        except ApiFault as fault:
            body: dict[str, Any] = {"ok": False, "error_code": fault.code, "description": fault.description}
            if fault.retry_after is not None:
                body["parameters"] = {"retry_after": fault.retry_after}
            return fault.code, json.dumps(body).encode()
        except TimedOut:
            raise
        return 200, json.dumps({"ok": True, "result": result}).encode()

    # --- helpers -----------------------------------------------------------------------------
    def now_ts(self) -> int:
        return int(self.clock.now().timestamp())

    def bot_user(self) -> dict:
        return {"id": BOT_ID, "is_bot": True, "first_name": "Trợ lý số", "username": self.bot_username}

    def new_message_id(self, chat_id: int) -> int:
        return next(self._next_id[chat_id])

    def emit(self, event: Sent) -> None:
        if self.keep_events:
            self.sent.append(event)
        for listener in self.listeners:
            listener(event)

    def _store(self, chat_id: int, body: dict, markup: dict | None) -> dict:
        mid = self.new_message_id(chat_id)
        msg = {"message_id": mid, "date": self.now_ts(), "chat": {"id": chat_id, "type": "private"},
               "from": self.bot_user(), **body}
        if markup and "inline_keyboard" in markup:
            msg["reply_markup"] = markup
        self.messages[chat_id][mid] = msg
        return msg

    def _find(self, params: dict, what: str = "message to edit") -> dict:
        chat_id, mid = int(params.get("chat_id", 0)), int(params.get("message_id", 0))
        msg = self.messages.get(chat_id, {}).get(mid)
        if msg is None:
            raise ApiFault(400, f"Bad Request: {what} not found")
        return msg

    def _event(self, kind: str, msg: dict, file_name: str | None = None, markup: dict | None = None) -> None:
        self.emit(Sent(kind, msg["chat"]["id"], msg["message_id"], msg.get("text") or msg.get("caption", ""),
                       _inline(msg.get("reply_markup")), _keyboard(markup), file_name))

    # --- Bot API methods (only what the bot uses; anything else answers True) ----------------
    def _api_getMe(self, params: dict, files: dict) -> dict:
        return {**self.bot_user(), "can_join_groups": True, "can_read_all_group_messages": False,
                "supports_inline_queries": False}

    def _api_sendMessage(self, params: dict, files: dict) -> dict:
        text = str(params.get("text", ""))
        if not text.strip():
            raise ApiFault(400, "Bad Request: message text is empty")
        if len(text) > 4096:
            raise ApiFault(400, "Bad Request: message is too long")
        body = {"text": text}
        if params.get("entities"):
            body["entities"] = params["entities"]
        msg = self._store(int(params["chat_id"]), body, params.get("reply_markup"))
        self._event("to", msg, markup=params.get("reply_markup"))
        return msg

    def _media(self, params: dict, files: dict, kind: str, field_name: str) -> dict:
        caption = str(params.get("caption", ""))
        if len(caption) > 1024:
            raise ApiFault(400, "Bad Request: message caption is too long")
        name = next(iter(files.values()))[0] if files else str(params.get(field_name, field_name))
        if files:  # the bytes of an uploaded file, as Telegram received them
            self.uploads.append((int(params["chat_id"]), next(iter(files.values()))[1]))
        media: Any
        if field_name == "photo":
            media = [{"file_id": f"photo-{self.calls[kind]}", "file_unique_id": f"p{self.calls[kind]}",
                      "width": 640, "height": 640}]
        else:
            media = {"file_id": f"{field_name}-{self.calls[kind]}", "file_unique_id": f"f{self.calls[kind]}",
                     "file_name": name, "duration": 3}
        msg = self._store(int(params["chat_id"]), {field_name: media, "caption": caption}, params.get("reply_markup"))
        self._event("photo" if field_name == "photo" else "file", msg,
                    None if field_name == "photo" else name, params.get("reply_markup"))
        return msg

    def _api_sendPhoto(self, params: dict, files: dict) -> dict:
        return self._media(params, files, "sendPhoto", "photo")

    def _api_sendDocument(self, params: dict, files: dict) -> dict:
        return self._media(params, files, "sendDocument", "document")

    def _api_sendVoice(self, params: dict, files: dict) -> dict:
        return self._media(params, files, "sendVoice", "voice")

    def _api_copyMessage(self, params: dict, files: dict) -> dict:
        source = self.messages.get(int(params["from_chat_id"]), {}).get(int(params["message_id"]))
        if source is None:
            raise ApiFault(400, "Bad Request: message to copy not found")
        body = {k: v for k, v in source.items() if k in ("text", "entities", "photo", "voice", "caption", "video",
                                                          "document", "audio", "animation", "sticker", "video_note")}
        if "caption" in params:
            body["caption"] = params["caption"]
        msg = self._store(int(params["chat_id"]), body, params.get("reply_markup"))
        kind = "photo" if "photo" in body else "file" if body.keys() & {"voice", "document", "video", "audio"} else "to"
        self._event(kind, msg, "voice.ogg" if "voice" in body else None, params.get("reply_markup"))
        return {"message_id": msg["message_id"]}

    def _edit(self, params: dict, **changes: Any) -> dict:
        msg = self._find(params)
        markup = params.get("reply_markup")
        new = {**msg, **changes}
        if not new.get("entities"):
            new.pop("entities", None)
        if markup is not None:
            new["reply_markup"] = markup
        else:
            new.pop("reply_markup", None)
        if new == msg:
            raise ApiFault(400, "Bad Request: message is not modified: specified new message content and "
                                "reply markup are exactly the same as a current content and reply markup")
        new["edit_date"] = self.now_ts()
        self.messages[msg["chat"]["id"]][msg["message_id"]] = new
        self._event("edit", new)
        return new

    def _api_editMessageText(self, params: dict, files: dict) -> dict:
        if "text" not in self._find(params):
            raise ApiFault(400, "Bad Request: there is no text in the message to edit")
        return self._edit(params, text=str(params.get("text", "")), entities=params.get("entities") or [])

    def _api_editMessageCaption(self, params: dict, files: dict) -> dict:
        return self._edit(params, caption=str(params.get("caption", "")))

    def _api_editMessageReplyMarkup(self, params: dict, files: dict) -> dict:
        return self._edit(params)

    def _api_deleteMessage(self, params: dict, files: dict) -> bool:
        msg = self._find(params, "message to delete")
        del self.messages[msg["chat"]["id"]][msg["message_id"]]
        self.emit(Sent("delete", msg["chat"]["id"], msg["message_id"]))
        return True

    def _api_answerCallbackQuery(self, params: dict, files: dict) -> bool:
        if params.get("text"):
            chat = int(str(params["callback_query_id"]).split(":", 1)[0])
            self.emit(Sent("alert", chat, text=str(params["text"])))
        return True

    def _api_setWebhook(self, params: dict, files: dict) -> bool:
        self.webhook_url = str(params.get("url", ""))
        return True

    def _api_deleteWebhook(self, params: dict, files: dict) -> bool:
        self.webhook_url = ""
        return True

    def _api_getWebhookInfo(self, params: dict, files: dict) -> dict:
        return {"url": self.webhook_url, "has_custom_certificate": False, "pending_update_count": 0}

    def _api_getFile(self, params: dict, files: dict) -> dict:
        file_id = str(params.get("file_id", ""))
        return {"file_id": file_id, "file_unique_id": f"u-{file_id}", "file_size": 20,
                "file_path": f"photos/{file_id}.jpg"}

    def _api_setMyCommands(self, params: dict, files: dict) -> bool:
        scope_data = params.get("scope") or {"type": "default"}
        scope = scope_data["type"] + (f":{scope_data['chat_id']}" if "chat_id" in scope_data else "")
        self.commands[(scope, params.get("language_code", ""))] = list(params.get("commands", []))
        return True


class ChatDriver:
    """Plays users: builds the updates their phones would send and runs them through the bot."""

    def __init__(self, app: Application, api: FakeBotAPI):
        self.app, self.api = app, api
        self._update_ids = itertools.count(1)
        self._query_ids = itertools.count(1)
        self.names: dict[int, str] = {}

    def user(self, user_id: int) -> dict:
        name = self.names.get(user_id, f"User {user_id}")
        return {"id": user_id, "is_bot": False, "first_name": name}

    async def feed(self, update: dict) -> list[Sent]:
        """Process one update to completion; return what the bot did meanwhile."""
        start = len(self.api.sent)
        await self.app.process_update(Update.de_json({"update_id": next(self._update_ids), **update},
                                                     self.app.bot))
        return self.api.sent[start:]

    def _message(self, user_id: int, chat_id: int | None = None, chat_type: str = "private", **body: Any) -> dict:
        chat_id = user_id if chat_id is None else chat_id
        chat: dict[str, Any] = {"id": chat_id, "type": chat_type}
        chat.update({"first_name": self.user(user_id)["first_name"]} if chat_type == "private"
                    else {"title": "Group"})
        msg = {"message_id": self.api.new_message_id(chat_id), "date": self.api.now_ts(), "chat": chat,
               "from": self.user(user_id), **body}
        self.api.messages[chat_id][msg["message_id"]] = msg
        return msg

    async def send(self, user_id: int, text: str, *, reply_to: int | None = None,
                   chat_id: int | None = None, chat_type: str = "private") -> list[Sent]:
        body: dict[str, Any] = {"text": text}
        if text.startswith("/"):
            body["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
        if reply_to is not None:
            replied = self.api.messages.get(user_id if chat_id is None else chat_id, {}).get(reply_to)
            if replied:
                body["reply_to_message"] = replied
        return await self.feed({"message": self._message(user_id, chat_id, chat_type, **body)})

    async def send_kind(self, user_id: int, kind: str, **extra: Any) -> list[Sent]:
        """A non-text message: contact, location, photo, voice or sticker."""
        n = next(self._update_ids)
        body: dict[str, Any] = {
            "contact": lambda: {"contact": {"phone_number": extra.get("phone") or f"+849{user_id:08d}",
                                            "first_name": self.user(user_id)["first_name"], "user_id": user_id}},
            "location": lambda: {"location": {"latitude": extra["lat"], "longitude": extra["lon"]}},
            "photo": lambda: {"photo": [{"file_id": f"in-photo-{n}", "file_unique_id": f"ip{n}",
                                         "width": 90, "height": 90}],
                              **({"caption": extra["caption"]} if extra.get("caption") else {}),
                              **({"media_group_id": extra["album"]} if extra.get("album") else {})},
            "voice": lambda: {"voice": {"file_id": f"in-voice-{n}", "file_unique_id": f"iv{n}",
                                        "duration": 3, "mime_type": "audio/ogg"}},
            "document": lambda: {"document": {"file_id": f"in-doc-{n}", "file_unique_id": f"id{n}",
                                              "file_name": "giay-to.pdf", "mime_type": "application/pdf"},
                                 **({"caption": extra["caption"]} if extra.get("caption") else {})},
            "video": lambda: {"video": {"file_id": f"in-video-{n}", "file_unique_id": f"iw{n}", "width": 90,
                                        "height": 90, "duration": 3},
                              **({"caption": extra["caption"]} if extra.get("caption") else {}),
                              **({"media_group_id": extra["album"]} if extra.get("album") else {})},
            "sticker": lambda: {"sticker": {"file_id": f"in-sticker-{n}", "file_unique_id": f"is{n}",
                                            "width": 512, "height": 512, "is_animated": False,
                                            "is_video": False, "type": "regular"}},
        }[kind]()
        return await self.feed({"message": self._message(user_id, **body)})

    def latest_with_buttons(self, chat_id: int) -> dict | None:
        for msg in reversed(self.api.messages.get(chat_id, {}).values()):
            if msg.get("reply_markup", {}).get("inline_keyboard"):
                return msg
        return None

    async def press(self, user_id: int, n: int, message_id: int | None = None) -> list[Sent]:
        """Press inline button n (from 1, row by row) of a message in the user's chat."""
        msg = (self.latest_with_buttons(user_id) if message_id is None
               else self.api.messages.get(user_id, {}).get(message_id))
        if msg is None:
            raise LookupError("no such message with buttons")
        buttons = [b for row in _inline(msg.get("reply_markup")) for b in row]
        if not 1 <= n <= len(buttons):
            raise LookupError(f"message #{msg['message_id']} has {len(buttons)} buttons")
        button = buttons[n - 1]
        if button.data is None:
            raise LookupError(f"button {n} opens {button.url}")
        return await self.press_data(user_id, button.data, msg["message_id"])

    async def press_data(self, user_id: int, data: str, message_id: int) -> list[Sent]:
        """Press a button with any callback data (tests use this to forge presses)."""
        msg = self.api.messages.get(user_id, {}).get(message_id) or {
            "message_id": message_id, "date": self.api.now_ts(), "chat": {"id": user_id, "type": "private"},
            "text": "(gone)"}
        query = {"id": f"{user_id}:{next(self._query_ids)}", "from": self.user(user_id),
                 "chat_instance": str(user_id), "data": data, "message": msg}
        return await self.feed({"callback_query": query})


# --- the same stand-in over loopback HTTP (processes: workers, the ingress, benchmarks) -------------------
JSON_FIELDS = frozenset({"reply_markup", "entities", "caption_entities", "allowed_updates", "commands", "scope",
                         "link_preview_options", "media", "reply_parameters"})  # sent as JSON text in a form


def http_app(api: FakeBotAPI):
    """`api` served as Telegram serves the Bot API: `POST /bot{token}/{method}` with a form (or multipart, or
    JSON) body → the JSON answer and status `api` gives. For processes that reach Telegram by
    BOT_API_BASE_URL (the stand-in answers any token). Starlette app; serve it with bot.web.server."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    async def call(request: Request) -> Response:
        method = request.path_params["method"]
        params: dict[str, Any] = {}
        files: dict[str, tuple[str, bytes, str]] = {}
        if request.headers.get("content-type", "").startswith("application/json"):
            params = await request.json()
        else:
            async with request.form() as form:
                for key, value in form.multi_items():
                    if hasattr(value, "read"):  # an uploaded file
                        files[key] = (value.filename or key, await value.read(), value.content_type or "")
                    else:
                        params[key] = json.loads(value) if key in JSON_FIELDS else value
        data = _Received(params, files)
        status, body = await api.do_request(f"/bot/{method}", "POST", data)  # type: ignore[arg-type]
        return Response(body, status_code=status, media_type="application/json")

    return Starlette(routes=[Route("/bot{token}/{method}", call, methods=["POST"])])


@dataclass
class _Received:
    """What `FakeBotAPI.do_request` reads of a RequestData, from an HTTP request."""

    parameters: dict[str, Any]
    multipart_data: dict[str, tuple[str, bytes, str]]

    @property
    def contains_files(self) -> bool:
        return bool(self.multipart_data)


class StandinServer:
    """`FakeBotAPI` over loopback HTTP in a thread of its own (its own event loop), for tests and benchmarks
    that run the bot as separate processes: `url` is their BOT_API_BASE_URL. `api` is read from the caller's
    thread (its `sent` list only grows); `stop()` ends the server."""

    def __init__(self, api: FakeBotAPI | None = None) -> None:
        import asyncio
        import threading

        self.api = api or FakeBotAPI()
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self.url = ""
        self._thread = threading.Thread(target=self._loop.run_until_complete, args=(self._serve(),), daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the Bot API stand-in did not start")

    async def _serve(self) -> None:
        import asyncio

        from bot.web.server import serving

        self._stop = asyncio.Event()
        # Idle connections stay open as Telegram's do: a bot process quiet for a few seconds must not reuse a
        # connection the stand-in has just closed (uvicorn's 5 s default), an error Telegram does not cause.
        async with serving(http_app(self.api), keep_alive=600) as url:
            self.url = url
            self._ready.set()
            await self._stop.wait()

    def stop(self) -> None:
        if self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)

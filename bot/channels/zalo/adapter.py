"""The Zalo adapter: a thin layer around the same python-telegram-bot Application.

Why this shape (README "Zalo"): every handler already works by typing (handlers/typed.py matches a typed
number or word against the person's newest screen), so a Zalo person only needs to look like a Telegram
user who never taps. Incoming, a Zalo update becomes a python-telegram-bot `Update` from a private chat whose
id is the person's surrogate id (bot/data/accounts.py) and goes through `Application.process_update`.
Outgoing, `ChannelRequest` (a python-telegram-bot `BaseRequest`) sends every Bot API call for a Zalo chat
to `ZaloChannel.call`, which renders it for Zalo and answers with what Telegram would have answered, so no
handler changes and handlers/tgbot.py still records each Zalo screen; other chats go to Telegram unchanged.

The two seams for the server mode (bot/web, issue 12):
- `ZaloChannel.accept(payload)`: one webhook payload, exactly as polling hands it over
  (`ZaloChannel.secret_ok(header)` checks `X-Bot-Api-Secret-Token` first);
- `media_url(data, content_type, once=False, filename=None) -> str | None`: a public URL for an image, or a
  one-time link for a file (`once=True`), the bot sends to a Zalo
  person; None (the default, and the polling mode) sends the text alone and says where to see the image.
"""

from __future__ import annotations

import asyncio
import hmac
import inspect
import itertools
import json
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any

from telegram import InlineKeyboardMarkup, MessageEntity, Update
from telegram.error import TelegramError
from telegram.ext import Application, TypeHandler
from telegram.request import BaseRequest, RequestData

from bot.channels.zalo import render
from bot.channels.zalo.client import RETRIED, ZaloApiError, ZaloClient
from bot.clock import Clock, iso
from bot.config import Settings, StartupError
from bot.data import Database, accounts
from bot.i18n import Translator
from bot.startup import until_reachable

log = logging.getLogger(__name__)
# (data, content_type, once=…, filename=…) -> a link; a file's (once=True) works for one download
MediaUrl = Callable[..., "str | Awaitable[str | None] | None"]
LOCAL_BOT_ID = 7_000_000_002  # the bot's own id when Telegram is off (getMe is answered here)
SEEN_KEPT = 10_000  # Zalo message ids remembered per process: polling and the webhook may repeat one
PHOTO_ID = "zalo-photo-"  # file ids of Zalo people's photos: PHOTO_ID + "{surrogate id}-{message id}"
TEXTS_KEPT = 5_000  # texts of messages sent to Zalo, so an edit that changes nothing sends nothing
LOCKS_KEPT = 10_000
EVENTS = {"message.text.received": "text", "message.image.received": "photo",
          "message.sticker.received": "sticker", "message.unsupported.received": "unsupported"}
TOKEN_REFUSED = ("Zalo refused ZALO_BOT_TOKEN (401 Unauthorized{when}): check it in the Zalo app "
                 "(Zalo Bot Manager) and set the current one")


def unwrap(payload: Any) -> dict | None:
    """The update inside a payload: `{ok, result: update}` as documented, or the update itself as an
    integrator reported; a list (never seen) gives its first. None when it is not an update."""
    if isinstance(payload, dict) and "result" in payload and "event_name" not in payload:
        payload = payload.get("result")
    if isinstance(payload, list):
        payload = payload[0] if payload else None
    if isinstance(payload, dict) and isinstance(payload.get("message"), dict):
        return payload
    return None


def fields(value: Any) -> dict:
    """An object of an update (`from`, `chat`), or {} when the payload has something else there: a wrong shape
    is "not an update", never an AttributeError."""
    return value if isinstance(value, dict) else {}


class ZaloChannel:
    """Zalo people in the Application: accounts, updates in, rendered messages out, polling."""

    def __init__(self, settings: Settings, client: ZaloClient, *, media_url: MediaUrl | None = None,
                 clock: Clock | None = None):
        self.settings, self.client, self.clock = settings, client, clock or Clock()
        self.media_url = media_url  # the server mode sets it (issue 12); None: images go as text
        self.app: Application | None = None
        self.db: Database | None = None
        self.svc: Any = None
        self._chats: dict[int, str] = {}  # surrogate id -> Zalo chat id
        self._people: dict[str, int] = {}  # Zalo id -> surrogate id (accounts are never deleted)
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._texts: OrderedDict[tuple[int, int], str] = OrderedDict()
        self._tg_photos: OrderedDict[tuple[int, int], str] = OrderedDict()  # (chat, message) -> Telegram file id
        self._locks: dict[str, asyncio.Lock] = {}
        self._update_ids = itertools.count(1)
        self.processed = 0  # updates handed to the Application (the bench counts them)
        self.poll_errors = 0  # getUpdates calls that failed (not counting 408, which is normal)
        self.on_contact: Callable[[], None] | None = None  # each answered poll: Zalo is in contact (/readyz)
        # the ingress of several workers: where a polled update goes instead of `accept` (onto the queue)
        self.intake: Callable[[dict], Awaitable[bool]] | None = None

    @classmethod
    def from_settings(cls, settings: Settings, *, transport: Any = None, clock: Clock | None = None,
                      media_url: MediaUrl | None = None, **client_options: Any) -> ZaloChannel:
        """The channel for ZALO_BOT_TOKEN and ZALO_API_BASE_URL; `transport` puts the stand-in in Zalo's place,
        `client_options` go to ZaloClient (`sleep` for the backoff, `max_attempts`, `poll_timeout`)."""
        client = ZaloClient(settings.zalo_bot_token, settings.zalo_api_base_url, settings.zalo_rate,
                            transport=transport, **client_options)
        return cls(settings, client, media_url=media_url, clock=clock)

    # --- wiring (bot/app.py) -----------------------------------------------------------------
    async def prepare(self, db: Database, settings: Settings) -> Settings:
        """Open for business on `db`: ADMIN_ZALO_IDS become admins by their surrogate ids (their accounts are
        made now, so an admin is one before writing). Returns the settings the services should use."""
        self.db = db
        ids = set()
        for external in sorted(settings.admin_zalo_ids):
            account = await accounts.zalo(db, external, None, self.now())
            self._chats[account.user_id] = account.chat_id or external
            ids.add(account.user_id)
        if not ids:
            return settings
        from dataclasses import replace

        return replace(settings, admin_ids=settings.admin_ids | ids)

    def bind(self, app: Application, svc: Any) -> None:
        """Ready: updates can be processed and calls rendered (bot/app.py, once the services exist)."""
        self.app, self.svc = app, svc
        if self.media_url is not None:  # a Telegram photo can then reach a Zalo person as a link
            app.add_handler(TypeHandler(Update, self._note_telegram_photo), group=-1000)

    async def _note_telegram_photo(self, update: Update, context: Any) -> None:
        """Remember which file a Telegram person's photo is (copyMessage cannot say), so that a relay of it to
        a Zalo person can fetch it and send it as a link. In memory: after a restart the relay says it in words."""
        message = update.effective_message
        chat = update.effective_chat
        if message is None or chat is None or chat.type != chat.PRIVATE or not message.photo:
            return
        self._tg_photos[(chat.id, message.message_id)] = message.photo[-1].file_id
        while len(self._tg_photos) > TEXTS_KEPT:
            self._tg_photos.popitem(last=False)

    async def close(self) -> None:
        """Close the HTTP client (at shutdown)."""
        await self.client.close()

    def now(self) -> str:
        """Now, in UTC ISO form, on the bot's clock."""
        return iso(self.clock.now())

    # --- seam (a): one update, from polling or from the webhook -------------------------------
    def secret_ok(self, header: str | None) -> bool:
        """The webhook's `X-Bot-Api-Secret-Token` against ZALO_WEBHOOK_SECRET, in constant time."""
        secret = self.settings.zalo_webhook_secret
        return bool(secret) and header is not None and hmac.compare_digest(header.encode(), secret.encode())

    async def accept(self, payload: dict) -> bool:
        """Process one Zalo update (wrapped in `{ok, result}` or not) to completion. False when it was not
        processed: not an update, not from a person in a private chat, or a message id seen already.
        One person's updates are processed in order; different people's run side by side."""
        update = unwrap(payload)
        if update is None or self.app is None:
            return False
        message = update["message"]
        sender = fields(message.get("from"))
        chat = fields(message.get("chat"))
        external = str(sender.get("id") or "")
        if not external or sender.get("is_bot") or str(chat.get("chat_type") or "PRIVATE").upper() != "PRIVATE":
            return False  # groups are "coming soon" on Zalo; the bot talks to people one to one
        chat_id = str(chat.get("id") or external)
        key = f"{chat_id}/{message.get('message_id')}" if message.get("message_id") else ""
        if key:
            if key in self._seen:
                log.info("zalo: repeated update skipped")
                return False
            self._seen[key] = None
            while len(self._seen) > SEEN_KEPT:
                self._seen.popitem(last=False)
        async with self._lock(external):
            await self._process(update.get("event_name"), message, external, chat_id)
        return True

    def _lock(self, external: str) -> asyncio.Lock:
        if len(self._locks) > LOCKS_KEPT:
            self._locks = {k: v for k, v in self._locks.items() if v.locked()}
        return self._locks.setdefault(external, asyncio.Lock())

    async def _process(self, event: str | None, message: dict, external: str, chat_id: str) -> None:
        assert self.db is not None and self.app is not None
        uid = self._people.get(external)
        if uid is None or self._chats.get(uid) != chat_id:  # a write only for someone new or with a new chat
            uid = (await accounts.zalo(self.db, external, chat_id, self.now())).user_id
            self._people[external] = uid
            if len(self._people) > SEEN_KEPT:
                self._people.pop(next(iter(self._people)))
        self._chats[uid] = chat_id
        kind = EVENTS.get(event or "")
        if kind == "unsupported" or kind is None:
            await self._unsupported(uid)
            return
        mid = await accounts.next_message_id(self.db, uid)
        body: dict[str, Any]
        if kind == "text":
            text = str(message.get("text") or "")
            if not text.strip():
                return  # an empty text: nothing to answer (Zalo does not send them; a forged one is dropped)
            body = {"text": text}
            if text.startswith("/"):
                body["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
        elif kind == "photo":
            url = message.get("photo_url") or message.get("photo") or message.get("url")
            if not isinstance(url, str) or not url.startswith(("http://", "https://")):
                await self._unsupported(uid)
                return
            await accounts.keep_media(self.db, uid, mid, "photo", url, self.now())  # the URL is never logged
            body = {"photo": [{"file_id": f"{PHOTO_ID}{uid}-{mid}", "file_unique_id": f"zp{uid}-{mid}",
                               "width": 0, "height": 0}]}
            if message.get("caption"):
                body["caption"] = str(message["caption"])
        else:
            body = {"sticker": {"file_id": f"zalo-sticker-{mid}", "file_unique_id": f"zs{mid}", "width": 0,
                                "height": 0, "is_animated": False, "is_video": False, "type": "regular"}}
        date = message.get("date")
        seconds = int(date) // 1000 if isinstance(date, int | float) and date > 0 else int(self.clock.now().timestamp())
        name = str(fields(message.get("from")).get("display_name") or "")[:64] or None
        person = {"id": uid, "is_bot": False, "first_name": name or "Zalo"}
        data = {"update_id": next(self._update_ids),
                "message": {"message_id": mid, "date": seconds, "from": person,
                            "chat": {"id": uid, "type": "private", "first_name": person["first_name"]}, **body}}
        await self.app.process_update(Update.de_json(data, self.app.bot))
        self.processed += 1

    async def _unsupported(self, uid: int) -> None:
        """Zalo hid the content (a protected user, such as a child) or sent an event we do not know: a fixed,
        kind answer with the ways to get help in person or by phone."""
        from handlers.points import describe
        from handlers.search import phone_lines_text

        t = await self._translator(uid)
        _ = t.gettext
        content = self.svc.content
        parts = [_("Sorry, I cannot see this message. Please type your question in words.\n"
                   "You can also get help in person or by phone:"),
                 phone_lines_text(content.phone_lines.values(), t),
                 "\n\n".join(describe(_Ctx(t), p) for p in content.points.values())]
        await self._deliver(uid, "\n\n".join(p for p in parts if p), None)

    # --- polling ---------------------------------------------------------------------------------
    async def connect(self, stop: asyncio.Event | None = None) -> bool:
        """getMe at start: a refused token is one line (StartupError), never a traceback. An unreachable or
        failing Zalo (network, 429, 5xx) is retried as Telegram is (bot.startup.until_reachable). False when
        `stop` (SIGTERM, SIGINT) is set first: the process then ends at once."""
        where = self.settings.zalo_api_base_url

        async def get_me() -> None:
            try:
                await self.client.call("getMe", attempts=1)
            except ZaloApiError as exc:
                if exc.code == 401:
                    raise StartupError(TOKEN_REFUSED.format(when="")) from None
                if exc.code not in RETRIED:
                    raise StartupError(f"Zalo Bot API not usable at {where} ({exc.code}): check ZALO_API_BASE_URL"
                                       ) from None
                raise

        def transient(exc: Exception) -> str | None:
            return str(exc.code) if isinstance(exc, ZaloApiError) else None

        return await until_reachable(get_me, transient, service="Zalo Bot API", where=where,
                                     seconds=self.settings.startup_retry_seconds, stop=stop or asyncio.Event())

    async def use_webhook(self, url: str) -> None:
        """Server mode (issue 12 wires it when PUBLIC_BASE_URL is set): register `url` (HTTPS, the server's
        Zalo endpoint) with ZALO_WEBHOOK_SECRET, so that Zalo posts each update there, to be handed to
        `accept` once `secret_ok` passes; polling is then not used. StartupError (one line) when the secret is
        unset or Zalo refuses."""
        if not self.settings.zalo_webhook_secret:
            raise StartupError("ZALO_WEBHOOK_SECRET must be set (8 to 256 characters) to receive Zalo updates by "
                               "webhook")
        try:
            await self.client.set_webhook(url, self.settings.zalo_webhook_secret)
        except ZaloApiError as exc:
            if exc.code == 401:
                raise StartupError(TOKEN_REFUSED.format(when="")) from None
            raise StartupError(f"Zalo refused the webhook {url} ({exc.code}): it must be a public https:// "
                               "address") from None

    async def poll_once(self) -> bool:
        """One long poll and the update it brought, processed. False when nothing came (408) or the
        update was not processed. A refused token raises StartupError; other API errors are logged."""
        try:
            update = await self.client.get_update()
        except ZaloApiError as exc:
            if exc.code == 401:
                raise StartupError(TOKEN_REFUSED.format(when=" while running")) from None
            self.poll_errors += 1
            log.warning("zalo polling: API error, retrying", extra={"code": exc.code})
            return False
        if self.on_contact is not None:
            self.on_contact()
        if update is None:
            return False
        try:
            return await (self.intake or self.accept)(update)
        except Exception as exc:  # one bad update must not stop polling; the handlers' own errors are handled
            log.error("zalo: update failed", extra={"error": type(exc).__name__})
            return False

    async def poll(self, stop: asyncio.Event, pause: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        """Long-poll until `stop` is set. getUpdates does not work while a webhook is set, so it goes first."""
        try:
            await self.client.delete_webhook()
        except ZaloApiError as exc:
            if exc.code == 401:
                raise StartupError(TOKEN_REFUSED.format(when=" while running")) from None
            log.warning("zalo: deleteWebhook failed, polling anyway", extra={"code": exc.code})
        failures = 0
        while not stop.is_set():
            errors = self.poll_errors
            await self.poll_once()
            failures = failures + 1 if self.poll_errors > errors else 0
            if failures:  # Zalo unreachable or failing: wait 1, 2, 4 … 60 s between polls
                await pause(min(2.0 ** (failures - 1), 60.0))

    # --- outgoing: the Bot API calls of Zalo chats ------------------------------------------------
    async def _translator(self, uid: int) -> Translator:
        return await self.svc.translator(uid)

    async def _chat(self, uid: int) -> str:
        chat = self._chats.get(uid)
        if chat is None:
            account = await accounts.of_user(self.db, uid) if self.db is not None else None
            if account is None or account.channel != accounts.ZALO:
                raise ZaloApiError(400, "chat not found")
            chat = self._chats[uid] = account.chat_id or account.external_id
        return chat

    def _bot_user(self) -> dict:
        bot = self.app.bot if self.app is not None else None
        user = getattr(bot, "_bot_user", None)
        if user is not None:
            return user.to_dict()
        return {"id": LOCAL_BOT_ID, "is_bot": True, "first_name": "Trợ lý số",
                "username": self.settings.bot_username}

    def _message(self, uid: int, mid: int, **body: Any) -> dict:
        return {"message_id": mid, "date": int(self.clock.now().timestamp()),
                "chat": {"id": uid, "type": "private"}, "from": self._bot_user(), **body}

    def _remember(self, uid: int, mid: int, text: str) -> None:
        self._texts[(uid, mid)] = text
        self._texts.move_to_end((uid, mid))
        while len(self._texts) > TEXTS_KEPT:
            self._texts.popitem(last=False)

    async def _deliver(self, uid: int, text: str, markup: dict | None) -> int:
        """Send a text with its choices as Zalo messages; the id of the message, as the core counts them."""
        chat = await self._chat(uid)
        for part in render.compose(text, markup, await self._translator(uid)):
            await self.client.send_message(chat, part)
        mid = await accounts.next_message_id(self.db, uid)
        self._remember(uid, mid, text)
        return mid

    async def _media_link(self, data: bytes, content_type: str, **file: Any) -> str | None:
        """A link from the media seam; `file` (once=True, filename=…) for a file, whose link works once."""
        if self.media_url is None:
            return None
        link = self.media_url(data, content_type, **file)
        if inspect.isawaitable(link):
            link = await link
        return link

    async def _photo(self, uid: int, url: str | None, caption: str, markup: dict | None) -> int:
        """A photo by URL, then its caption and choices as text; without a URL, the text and where to see it."""
        t = await self._translator(uid)
        if url is None:
            note = t.gettext("🖼 Zalo cannot show the picture that goes here. You can see it in the bot on "
                             "Telegram, or ask at a support point.")
            return await self._deliver(uid, "\n\n".join(p for p in (caption, note) if p), markup)
        chat = await self._chat(uid)
        choices = bool(render.inline_buttons(markup)[0])
        with_caption = bool(caption) and len(caption) <= render.LIMIT and not choices
        await self.client.send_photo(chat, url, caption if with_caption else None)
        if choices or (caption and not with_caption):  # the text and its numbered choices follow the photo
            return await self._deliver(uid, "" if with_caption else caption, markup)
        mid = await accounts.next_message_id(self.db, uid)
        self._remember(uid, mid, caption)
        return mid

    async def call(self, name: str, params: dict, files: dict) -> Any:
        """Do Bot API method `name` for a Zalo chat; its result as Telegram would give it. Raises ZaloApiError."""
        uid = _int(params.get("chat_id"))
        match name:
            case "sendMessage":
                text = str(params.get("text", ""))
                markup = params.get("reply_markup")
                return self._message(uid, await self._deliver(uid, text, markup), text=text,
                                     **_inline_only(markup))
            case "sendPhoto" | "sendDocument" | "sendVoice" | "sendAudio" | "sendVideo" | "sendAnimation":
                return await self._send_file(name, uid, params, files)
            case "copyMessage":
                return {"message_id": await self._copy_to_zalo(uid, params)}
            case "editMessageText" | "editMessageCaption":
                mid = _int(params.get("message_id"))
                text = params.get("text") if name == "editMessageText" else params.get("caption")
                old = self._texts.get((uid, mid))
                if isinstance(text, str) and text.strip() and text != old:  # an edit that changes the text
                    await self._deliver(uid, text, params.get("reply_markup"))
                    self._remember(uid, mid, text)
                return self._message(uid, mid, text=text or old or "", **_inline_only(params.get("reply_markup")))
            case "editMessageReplyMarkup":
                mid = _int(params.get("message_id"))
                return self._message(uid, mid, text=self._texts.get((uid, mid), ""))
            case _:  # deleteMessage, sendChatAction, setMyCommands for this chat…: nothing to show on Zalo
                return True

    async def _send_file(self, name: str, uid: int, params: dict, files: dict) -> dict:
        field = {"sendPhoto": "photo", "sendDocument": "document"}.get(name, name[4:].lower())
        caption = str(params.get("caption") or "")
        markup = params.get("reply_markup")
        upload = next(iter(files.values()), None)  # (file name, bytes, content type) of an uploaded file
        given = params.get(field)
        url = given if isinstance(given, str) and given.startswith(("http://", "https://")) else None
        file_name = upload[0] if upload is not None else field
        url = url or await self.file_url(given)  # a Zalo person's photo (a Zalo admin's campaign photo)
        if upload is not None:
            file = {} if field == "photo" else {"once": True, "filename": file_name}
            url = await self._media_link(upload[1], upload[2] or "application/octet-stream", **file)
        if field == "photo":
            return self._message(uid, await self._photo(uid, url, caption, markup), caption=caption)
        t = await self._translator(uid)
        minutes = max(1, round(self.settings.media_ttl / 60))
        note = (t.gettext("📄 {name}: {url}\nThe link works once, within {minutes} minutes.").format(
                    name=file_name, url=url, minutes=minutes) if url else
                t.gettext("📄 Zalo cannot send files. To get “{name}”, use the bot on Telegram or ask your ward "
                          "office.").format(name=file_name))
        mid = await self._deliver(uid, "\n\n".join(p for p in (caption, note) if p), markup)
        return self._message(uid, mid, caption=caption)

    async def photo_url(self, uid: int, message_id: int) -> str | None:
        """The URL of a photo a Zalo person sent (kept for relays and requests), or None."""
        kept = await accounts.media(self.db, uid, message_id) if self.db is not None else None
        return kept[1] if kept else None

    async def file_url(self, file_id: Any) -> str | None:
        """The URL behind the file id a Zalo person's photo had in the handlers (`zalo-photo-{uid}-{mid}`, say
        kept as a campaign's photo), or None when `file_id` is no such id or the photo was erased."""
        parts = file_id.split("-") if isinstance(file_id, str) and file_id.startswith(PHOTO_ID) else []
        if len(parts) != 4 or not parts[2].isdigit() or not parts[3].isdigit():
            return None
        return await self.photo_url(int(parts[2]), int(parts[3]))

    async def _copy_to_zalo(self, uid: int, params: dict) -> int:
        source, mid = _int(params.get("from_chat_id")), _int(params.get("message_id"))
        caption = str(params.get("caption") or "")
        url = await self.photo_url(source, mid) if accounts.is_zalo(source) else await self._telegram_photo(source, mid)
        if url is not None:
            return await self._photo(uid, url, caption, params.get("reply_markup"))
        t = await self._translator(uid)
        note = t.gettext("📎 A photo or file was sent here that Zalo cannot show. You can ask for it in words.")
        return await self._deliver(uid, "\n\n".join(p for p in (caption, note) if p), params.get("reply_markup"))


    async def _telegram_photo(self, chat: int, message_id: int) -> str | None:
        """A link (media_url) to a Telegram person's photo, fetched from Telegram; None when unknown or failed."""
        file_id = self._tg_photos.get((chat, message_id))
        if file_id is None or self.media_url is None or self.app is None:
            return None
        try:
            data = await (await self.app.bot.get_file(file_id)).download_as_bytearray()
        except TelegramError as exc:
            log.info("zalo: Telegram photo not fetched", extra={"error": type(exc).__name__})
            return None
        return await self._media_link(bytes(data), "image/jpeg")


class _Ctx:
    """What handlers/points.describe reads from a context: the translator."""

    def __init__(self, t: Translator):
        self.t = t


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def _inline_only(markup: Any) -> dict:
    return {"reply_markup": markup} if isinstance(markup, dict) and "inline_keyboard" in markup else {}


def zalo_chat(name: str, params: dict) -> bool:
    """Whether Bot API call `name` is about a Zalo chat (and so is answered by the Zalo channel)."""
    for key in ("chat_id",):
        if accounts.is_zalo(_int(params.get(key))):
            return True
    scope = params.get("scope")
    return isinstance(scope, dict) and accounts.is_zalo(_int(scope.get("chat_id")))


ERRORS = {400: "Bad Request: {}", 403: "Forbidden: {}", 404: "Bad Request: {}", 401: "Bad Request: Zalo refused "
          "the token ({})"}


class ChannelRequest(BaseRequest):
    """The Bot's connection: calls for Zalo chats go to the Zalo channel, the rest to Telegram (`telegram`),
    or, with Telegram off, are answered here (getMe, commands) or refused as an unknown chat."""

    def __init__(self, telegram: BaseRequest | None, zalo: ZaloChannel):
        self.telegram, self.zalo = telegram, zalo

    async def initialize(self) -> None:
        if self.telegram is not None:
            await self.telegram.initialize()

    async def shutdown(self) -> None:
        if self.telegram is not None:
            await self.telegram.shutdown()

    @property
    def read_timeout(self) -> float | None:
        return self.telegram.read_timeout if self.telegram is not None else 5.0

    async def do_request(self, url: str, method: str, request_data: RequestData | None = None,
                         read_timeout: Any = BaseRequest.DEFAULT_NONE, write_timeout: Any = BaseRequest.DEFAULT_NONE,
                         connect_timeout: Any = BaseRequest.DEFAULT_NONE,
                         pool_timeout: Any = BaseRequest.DEFAULT_NONE) -> tuple[int, bytes]:
        name = url.rsplit("/", 1)[-1]
        params = dict(request_data.parameters) if request_data else {}
        timeouts = {"read_timeout": read_timeout, "write_timeout": write_timeout, "connect_timeout": connect_timeout,
                    "pool_timeout": pool_timeout}
        try:
            if zalo_chat(name, params):
                files = request_data.multipart_data if request_data and request_data.contains_files else {}
                return _ok(await self.zalo.call(name, params, files))
            if name == "copyMessage" and accounts.is_zalo(_int(params.get("from_chat_id"))):
                return await self._zalo_photo_to_telegram(params)
            if name == "sendPhoto" and str(params.get("photo", "")).startswith(PHOTO_ID):
                return await self._zalo_file_to_telegram(params)
        except ZaloApiError as exc:
            code = exc.code if exc.code in ERRORS else 502  # 429 and 5xx after the client's own backoff
            log.warning("zalo: send failed", extra={"method": name, "code": exc.code})
            return code, json.dumps({"ok": False, "error_code": code,
                                     "description": ERRORS.get(code, "Bad Gateway: {}").format(exc.description)
                                     }).encode()
        if self.telegram is None:
            return self._without_telegram(name)
        return await self.telegram.do_request(url, method, request_data, **timeouts)

    def _without_telegram(self, name: str) -> tuple[int, bytes]:
        if name == "getMe":
            return _ok({"id": LOCAL_BOT_ID, "is_bot": True, "first_name": "Trợ lý số",
                        "username": self.zalo.settings.bot_username, "can_join_groups": False,
                        "can_read_all_group_messages": False, "supports_inline_queries": False})
        if name in ("setMyCommands", "deleteMyCommands", "deleteWebhook", "answerCallbackQuery"):
            return _ok(True)
        return 400, json.dumps({"ok": False, "error_code": 400,
                                "description": "Bad Request: chat not found (Telegram is off)"}).encode()

    async def _zalo_photo_to_telegram(self, params: dict) -> tuple[int, bytes]:
        """A Zalo person's photo relayed to a Telegram chat: sent by its URL (Telegram fetches it), through
        the Bot again so that it is rate limited and recorded like any send."""
        photo = await self.zalo.photo_url(_int(params["from_chat_id"]), _int(params.get("message_id")))
        if self.telegram is None or self.zalo.app is None:
            return self._without_telegram("copyMessage")
        bot = self.zalo.app.bot
        markup = params.get("reply_markup")
        markup = InlineKeyboardMarkup.de_json(markup, bot) if isinstance(markup, dict) else None
        chat, caption = _int(params["chat_id"]), params.get("caption") or None
        if photo is not None:
            sent = await bot.send_photo(chat, photo, caption=caption, reply_markup=markup)
        else:  # erased meanwhile: say so rather than fail
            sent = await bot.send_message(chat, caption or "📎", reply_markup=markup)
        return _ok({"message_id": sent.message_id})


    async def _zalo_file_to_telegram(self, params: dict) -> tuple[int, bytes]:
        """sendPhoto to a Telegram chat with a Zalo person's photo (a Zalo admin's campaign photo): its file id
        means nothing to Telegram, so the photo goes by its URL (Telegram fetches it), through the Bot again
        (rate limited and recorded like any send), caption, entities and choices kept; erased meanwhile: the
        caption alone."""
        url = await self.zalo.file_url(params.get("photo"))
        if self.telegram is None or self.zalo.app is None:
            return self._without_telegram("sendPhoto")
        bot = self.zalo.app.bot
        markup = params.get("reply_markup")
        markup = InlineKeyboardMarkup.de_json(markup, bot) if isinstance(markup, dict) else None
        entities = [MessageEntity.de_json(e, bot) for e in params.get("caption_entities") or []] or None
        chat, caption = params["chat_id"], params.get("caption") or None
        if url is not None:
            sent = await bot.send_photo(chat, url, caption=caption, caption_entities=entities,
                                        parse_mode=params.get("parse_mode"), reply_markup=markup)
        else:
            sent = await bot.send_message(chat, caption or "📎", entities=entities,
                                          parse_mode=params.get("parse_mode"), reply_markup=markup)
        return _ok(sent.to_dict())


def _ok(result: Any) -> tuple[int, bytes]:
    return 200, json.dumps({"ok": True, "result": result}).encode()

"""Telegram on the ingress: its webhook channel (`POST /telegram`) and, for long polling, an update
processor that sends polled updates through the same per-person lanes."""

from __future__ import annotations

from typing import Any

from telegram import Update
from telegram.ext import Application, BaseUpdateProcessor

from bot.web.ingress import Ingress

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
KINDS = frozenset(Update.ALL_TYPES)  # the fields an update may carry: a fixed vocabulary for metrics


def kind_of(payload: dict) -> str:
    """Which kind of update this is ("message", "callback_query" …; "other" for a field this version of
    python-telegram-bot does not know)."""
    return next((k for k in payload if k in KINDS), "other")


def person_of(payload: dict) -> str:
    """The key that keeps one person's updates in order: the sender's user id, else the chat's id, else the
    update's own id (an update about nobody in particular needs no order)."""
    body = payload.get(kind_of(payload))
    if isinstance(body, dict):
        user = body.get("from") or body.get("user")
        if isinstance(user, dict) and "id" in user:
            return f"u{int(user['id'])}"
        chat = body.get("chat") or (body.get("message") or {}).get("chat")
        if isinstance(chat, dict) and "id" in chat:
            return f"c{int(chat['id'])}"
    return f"n{int(payload['update_id'])}"


class TelegramWebhook:
    """`POST /telegram`: Telegram sends each update with our secret in `X-Telegram-Bot-Api-Secret-Token`."""

    name = "telegram"
    secret_header = SECRET_HEADER

    def __init__(self, app: Application, secret: str) -> None:
        self.app = app
        self.secret = secret

    def key(self, payload: dict) -> tuple[str, str]:
        return str(int(payload["update_id"])), person_of(payload)

    def kind(self, payload: dict) -> str:
        return kind_of(payload)

    async def accept(self, payload: dict) -> None:
        """Run the update through the Application (handlers, error handler) as polling would."""
        await self.app.process_update(Update.de_json(payload, self.app.bot))


class IngressProcessor(BaseUpdateProcessor):
    """python-telegram-bot's update processor for long polling: each polled update goes through the
    ingress, so one person's updates keep their order while different people's run at once (the
    Application's default processes every update one after another)."""

    def __init__(self, ingress: Ingress, max_concurrent_updates: int = 256) -> None:
        super().__init__(max_concurrent_updates)
        self.ingress = ingress

    async def do_process_update(self, update: object, coroutine: Any) -> None:
        if not isinstance(update, Update):  # something put on the queue by hand: as the default does
            await coroutine
            return
        user, chat = update.effective_user, update.effective_chat
        person = f"u{user.id}" if user else f"c{chat.id}" if chat else f"n{update.update_id}"  # as person_of
        kind = next((k for k in Update.ALL_TYPES if getattr(update, k, None) is not None), "other")
        future = self.ingress.submit("telegram", person, kind, lambda: coroutine)
        if future is None:  # full: process it here, in the polling order, rather than lose it
            await coroutine
            return
        await future

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass


class QueueProcessor(BaseUpdateProcessor):
    """Long polling in the ingress of several workers (python -m bot ingress): each polled update goes onto the
    workers' queue through the same sink as a webhook's (bot/queue.py), instead of being processed here.
    `channel` (the TelegramWebhook that names and keys it) is set once the Application exists."""

    def __init__(self, sink: Any, max_concurrent_updates: int = 64) -> None:
        super().__init__(max_concurrent_updates)
        self.sink = sink
        self.channel: TelegramWebhook | None = None

    async def do_process_update(self, update: object, coroutine: Any) -> None:
        from bot.queue import offer_until_taken

        if not isinstance(update, Update) or self.channel is None:
            await coroutine
            return
        coroutine.close()  # processed by a worker, not here
        await offer_until_taken(self.sink, self.channel, update.to_dict())

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass

"""Zalo on the server mode's ingress: `POST /zalo` (bot/web/ingress.py `WebhookChannel`)."""

from __future__ import annotations

from bot.channels.zalo.adapter import EVENTS, ZaloChannel, fields, unwrap

SECRET_HEADER = "X-Bot-Api-Secret-Token"  # where Zalo puts the webhook's secret_token (FACTS.md, Zalo)


class ZaloWebhook:
    """Zalo posts each update with ZALO_WEBHOOK_SECRET in `X-Bot-Api-Secret-Token`; the ingress checks it in
    constant time, answers 200 at once, drops a repeated message and keeps each person's updates in order."""

    name = "zalo"
    secret_header = SECRET_HEADER

    def __init__(self, channel: ZaloChannel, secret: str) -> None:
        self.channel = channel
        self.secret = secret

    def key(self, payload: dict) -> tuple[str, str]:
        """(chat/message id, sender id); ValueError when the payload is not a Zalo update (answered 400)."""
        update = unwrap(payload)
        if update is None:
            raise ValueError("not a Zalo update")
        message = update["message"]
        sender = str(fields(message.get("from")).get("id") or "")
        chat = str(fields(message.get("chat")).get("id") or sender)
        mid = str(message.get("message_id") or "")
        if not sender or not mid:
            raise ValueError("a Zalo update names its sender and message")
        return f"{chat}/{mid}", f"z{sender}"

    def kind(self, payload: dict) -> str:
        update = unwrap(payload) or {}
        return EVENTS.get(str(update.get("event_name")), "other")

    async def accept(self, payload: dict) -> None:
        await self.channel.accept(payload)

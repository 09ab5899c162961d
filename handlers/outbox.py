"""The Telegram Outbox: services send through this and never see python-telegram-bot."""

from __future__ import annotations

from telegram import Bot, BotCommand, BotCommandScopeChat, InputFile, MessageEntity
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut

from bot.messaging import BadRecipient, Buttons, RetryLater, Transient, Unreachable
from handlers.common import keyboard


class TelegramOutbox:
    channel = "telegram"  # the metrics label of what is sent through it

    def __init__(self, bot: Bot):
        self.bot = bot

    async def send(self, chat_id: int, text: str, buttons: Buttons | None = None, *,
                   photo: str | None = None, entities: list[dict] | None = None, paid: bool = False) -> int:
        markup = keyboard(*buttons) if buttons else None
        ents = [MessageEntity.de_json(e, self.bot) for e in entities] if entities else None
        extra = {"allow_paid_broadcast": True} if paid else {}
        async with _mapped():
            if photo:
                msg = await self.bot.send_photo(chat_id, photo, caption=text, caption_entities=ents,
                                                reply_markup=markup, **extra)
            else:
                msg = await self.bot.send_message(chat_id, text, entities=ents, reply_markup=markup, **extra)
        return msg.message_id

    async def send_photo_file(self, chat_id: int, data: bytes, content_type: str, caption: str, *,
                              entities: list[dict] | None = None, paid: bool = False) -> tuple[int, str | None]:
        ents = [MessageEntity.de_json(e, self.bot) for e in entities] if entities else None
        name = "photo." + {"image/png": "png", "image/webp": "webp"}.get(content_type, "jpg")
        extra = {"allow_paid_broadcast": True} if paid else {}
        async with _mapped():
            msg = await self.bot.send_photo(chat_id, InputFile(data, filename=name), caption=caption,
                                            caption_entities=ents, **extra)
        return msg.message_id, (msg.photo[-1].file_id if msg.photo else None)

    async def edit(self, chat_id: int, message_id: int, text: str, buttons: Buttons | None = None) -> None:
        try:
            async with _mapped():
                await self.bot.edit_message_text(text, chat_id, message_id,
                                                 reply_markup=keyboard(*buttons) if buttons else None)
        except BadRecipient as exc:
            if "not modified" not in str(exc):
                raise

    async def copy(self, to_chat: int, from_chat: int, message_id: int, caption: str | None = None,
                   buttons: Buttons | None = None) -> int:
        async with _mapped():
            result = await self.bot.copy_message(to_chat, from_chat, message_id, caption=caption,
                                                 reply_markup=keyboard(*buttons) if buttons else None)
        return result.message_id


    async def set_commands(self, chat_id: int, commands: list[tuple[str, str]]) -> None:
        async with _mapped():
            await self.bot.set_my_commands([BotCommand(name, text) for name, text in commands],
                                           scope=BotCommandScopeChat(chat_id))


class _mapped:
    """Turn python-telegram-bot errors into the channel-free ones of bot.messaging."""

    async def __aenter__(self) -> None:
        return None

    async def __aexit__(self, kind, exc, tb) -> bool:
        if exc is None:
            return False
        if isinstance(exc, RetryAfter):
            retry = exc.retry_after
            raise RetryLater(retry.total_seconds() if hasattr(retry, "total_seconds") else float(retry)) from exc
        if isinstance(exc, Forbidden):
            raise Unreachable(str(exc)) from exc
        if isinstance(exc, BadRequest):
            raise BadRecipient(str(exc)) from exc
        if isinstance(exc, TimedOut | NetworkError):
            raise Transient(str(exc)) from exc
        return False

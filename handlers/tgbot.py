"""The Telegram bot object, which also keeps each person's newest screen.

Every message that reaches a private chat with inline buttons, however it was sent (a handler's
reply, an edit in place, a service's Outbox), passes through these methods; its choices are recorded
as that person's screen, so a typed "2" or "tiep" can be matched against what they see.
"""

from __future__ import annotations

import contextlib
import inspect
import logging
from collections.abc import Awaitable, Callable, Iterator
from contextvars import ContextVar
from typing import Any

from telegram import InlineKeyboardMarkup
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError
from telegram.ext import ExtBot

from bot.screens import Choice, Screen

log = logging.getLogger(__name__)
ScreenSink = Callable[[int, int, Screen | None, bool], Awaitable[None]]  # (chat, message id, screen or None, edit)


# Set only around the edit that answers a person's own press (handlers.common.show): the message they just
# pressed is what they look at now, so its new choices are their screen even when a newer message with
# buttons sits below it (a relayed message under the request card). Background edits (a campaign's
# progress) keep the rule that an older message never takes a newer one's place.
_answering_press: ContextVar[bool] = ContextVar("answering_press", default=False)


@contextlib.contextmanager
def answering_press() -> Iterator[None]:
    """Edits made inside this block answer the person's press on that message: always their screen."""
    token = _answering_press.set(True)
    try:
        yield
    finally:
        _answering_press.reset(token)


def choices_of(markup: object) -> tuple[Choice, ...]:
    """The callback buttons of an inline keyboard, row by row (URL buttons are not choices)."""
    if not isinstance(markup, InlineKeyboardMarkup):
        return ()
    return tuple(Choice(b.text, b.callback_data) for row in markup.inline_keyboard for b in row
                 if isinstance(b.callback_data, str))


class ScreenBot(ExtBot):
    """ExtBot that reports each private chat's newest choices to `screen_sink` (set once the database is open)."""

    _screen_sink: ScreenSink | None = None
    _on_api_error: Callable[[str], None] | None = None

    def set_screen_sink(self, sink: ScreenSink | None) -> None:
        self._screen_sink = sink

    async def _note(self, method: str, args: tuple, kwargs: dict, result: Any) -> None:
        if self._screen_sink is None:
            return
        bound = _SIGNATURES[method].bind(self, *args, **kwargs).arguments
        chat_id = bound.get("chat_id")
        if not isinstance(chat_id, int) or chat_id <= 0:
            return  # groups and channels have no screens: the bot talks to people one to one
        message_id = bound.get("message_id") if method.startswith("edit") else getattr(result, "message_id", None)
        if not isinstance(message_id, int):
            return
        choices = choices_of(bound.get("reply_markup"))
        edit = method.startswith("edit")
        if choices:  # an edit answering the person's own press is their screen even on an older message
            newest_only = edit and not _answering_press.get()
            await self._screen_sink(chat_id, message_id, Screen(message_id, choices), newest_only)
        elif edit:
            await self._screen_sink(chat_id, message_id, None, edit)

    def set_api_error_hook(self, hook: Callable[[str], None] | None) -> None:
        """`hook(kind)` for each error the Bot API answers to a call other than getUpdates (the metrics)."""
        self._on_api_error = hook

    async def _do_post(self, endpoint: str, data: Any, **kwargs: Any) -> Any:
        try:
            return await super()._do_post(endpoint, data, **kwargs)
        except TelegramError as exc:
            if self._on_api_error is not None and endpoint != "getUpdates":
                self._on_api_error(error_kind(exc))
            raise

    async def answer_callback_query(self, *args: Any, **kwargs: Any) -> bool:
        """Answering a button press only stops the spinner (or shows a toast): when Telegram refuses it
        (the query is too old, a double tap, a network hiccup), log it and let the press do its work.
        Every `CallbackQuery.answer` comes through here, so no handler has to guard it."""
        try:
            return await super().answer_callback_query(*args, **kwargs)
        except TelegramError as exc:
            log.info("button press not answered", extra={"error": type(exc).__name__})
            return False


def error_kind(exc: TelegramError) -> str:
    """The channel-free name of a Bot API error (as bot.messaging names them), for the metrics."""
    if isinstance(exc, RetryAfter):
        return "retry_later"
    if isinstance(exc, Forbidden):
        return "unreachable"
    if isinstance(exc, BadRequest):
        return "bad_recipient"
    if isinstance(exc, NetworkError):
        return "transient"
    return "other"


RECORDED = ("send_message", "send_photo", "send_document", "copy_message", "edit_message_text",
            "edit_message_caption", "edit_message_reply_markup")


def _recording(name: str):
    """ExtBot's `name`, then the screen it leaves in that chat noted (one wrapper for every send and edit)."""

    async def method(self: ScreenBot, *args: Any, **kwargs: Any) -> Any:
        result = await getattr(super(ScreenBot, self), name)(*args, **kwargs)
        await self._note(name, args, kwargs, result)
        return result

    method.__name__ = method.__qualname__ = name
    method.__doc__ = getattr(ExtBot, name).__doc__
    return method


for _name in RECORDED:
    setattr(ScreenBot, _name, _recording(_name))

_SIGNATURES = {name: inspect.signature(getattr(ExtBot, name)) for name in RECORDED}

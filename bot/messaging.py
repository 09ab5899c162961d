"""How services send messages without knowing the channel.

The app gives services an `Outbox`; Telegram's lives in handlers/outbox.py, and a Zalo one would
render buttons as a numbered text menu. Failures come back as channel-free exceptions so that a
broadcast or an escalation can decide what to do (wait, skip, retry) in one place.
"""

from __future__ import annotations

from typing import Protocol

Buttons = list[list[tuple[str, str]]]  # rows of (label, callback data)


class SendError(Exception):
    """Base of every delivery failure."""


class RetryLater(SendError):
    """The channel asks us to slow down (Telegram 429): wait `seconds`, then resend."""

    def __init__(self, seconds: float):
        super().__init__(f"retry after {seconds}s")
        self.seconds = seconds


class Unreachable(SendError):
    """The person blocked the bot or deleted their account: stop sending to them."""


class BadRecipient(SendError):
    """The chat does not exist or the message was refused as it is: record it, do not retry."""


class Transient(SendError):
    """Network error or time-out: worth a few retries with backoff."""


class Outbox(Protocol):
    async def send(self, chat_id: int, text: str, buttons: Buttons | None = None, *,
                   photo: str | None = None, entities: list[dict] | None = None, paid: bool = False) -> int:
        """Send a message; return its id in that chat. `paid`: a campaign's paid broadcast (Telegram's
        allow_paid_broadcast: above 30/s, charged in Stars; a channel without it ignores it)."""

    async def send_photo_file(self, chat_id: int, data: bytes, content_type: str, caption: str, *,
                              entities: list[dict] | None = None, paid: bool = False) -> tuple[int, str | None]:
        """Send a photo from its bytes (JPEG, PNG or WebP, `content_type`) with `caption`; return the message's
        id and the channel's file id to send the same photo again without its bytes (None: the channel has none,
        e.g. Zalo, which gets it as a link)."""

    async def edit(self, chat_id: int, message_id: int, text: str, buttons: Buttons | None = None) -> None:
        """Replace a message's text and buttons (a no-op edit is not an error)."""

    async def copy(self, to_chat: int, from_chat: int, message_id: int, caption: str | None = None,
                   buttons: Buttons | None = None) -> int:
        """Relay a photo or voice message without revealing who sent it; return the new id."""

    async def set_commands(self, chat_id: int, commands: list[tuple[str, str]]) -> None:
        """This person's command menu (a channel without one ignores it)."""

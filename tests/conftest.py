"""One harness for every end-to-end test: the real Application on the Bot API stand-in."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import pytest

from bot.app import build_application, running
from bot.botapi_standin import ChatDriver, FakeBotAPI, Sent
from bot.clock import FakeClock
from bot.config import Settings
from bot.services import Services

ADMIN = 9001
ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Harness:
    app: object
    api: FakeBotAPI
    driver: ChatDriver
    clock: FakeClock
    errors: list[BaseException] = field(default_factory=list)

    @property
    def svc(self) -> Services:
        return self.app.bot_data["svc"]

    async def send(self, user: int, text: str, **kw) -> list[Sent]:
        return await self.driver.send(user, text, **kw)

    async def press(self, user: int, label: str, message_id: int | None = None) -> list[Sent]:
        """Press the button whose label contains `label` on the newest message with buttons."""
        msg = (self.driver.latest_with_buttons(user) if message_id is None
               else self.api.messages[user][message_id])
        labels = [b["text"] for row in msg["reply_markup"]["inline_keyboard"] for b in row]
        matches = [i for i, text in enumerate(labels, 1) if label in text]
        assert matches, f"no button {label!r} in {labels}"
        return await self.driver.press(user, matches[0], msg["message_id"])

    def last(self, chat: int) -> Sent:
        return [e for e in self.api.sent if e.chat_id == chat][-1]


def make_settings(tmp_path: Path, **overrides) -> Settings:
    return replace(Settings(), database_path=tmp_path / "bot.sqlite3", admin_ids=frozenset({ADMIN}), **overrides)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path)


@contextlib.asynccontextmanager
async def open_bot(settings: Settings, clock: FakeClock | None = None,
                   api: FakeBotAPI | None = None) -> AsyncIterator[Harness]:
    """The real Application on the stand-in; fails the test if any handler raised.
    Pass the same settings (database file), clock and api again to play a restart."""
    clock = clock or FakeClock()
    api = api or FakeBotAPI(clock, settings.bot_username)
    app = build_application(settings, request=api, clock=clock, rate_limit=False)
    harness = Harness(app, api, ChatDriver(app, api), clock)

    async def record(update: object, context) -> None:
        harness.errors.append(context.error)

    app.add_error_handler(record)
    async with running(app):
        yield harness
    assert harness.errors == [], "a handler raised"


@pytest.fixture
async def bot(settings: Settings) -> AsyncIterator[Harness]:
    async with open_bot(settings) as harness:
        yield harness

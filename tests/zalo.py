"""The Zalo harness: the real Application with both channels, Telegram on its stand-in and Zalo on its own
(bot/channels/zalo/standin.py), reached over httpx by the real Zalo client."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from pathlib import Path

from bot.app import build_application, running
from bot.botapi_standin import ChatDriver, FakeBotAPI
from bot.channels.zalo.adapter import ZaloChannel
from bot.channels.zalo.standin import TOKEN, ZaloSent, ZaloStandIn
from bot.clock import FakeClock
from bot.config import Settings
from bot.data import accounts
from tests.conftest import Harness

ZALO_SETTINGS = {"zalo_bot_token": TOKEN}


@dataclass
class ZaloHarness(Harness):
    zalo: ZaloStandIn = None  # type: ignore[assignment]
    channel: ZaloChannel = None  # type: ignore[assignment]
    pauses: list[float] = field(default_factory=list)

    async def say(self, user: str, text: str, **kw) -> list[ZaloSent]:
        """A Zalo person types `text`; what they were shown meanwhile."""
        return await self.deliver(self.zalo.text(user, text, **kw))

    async def deliver(self, update: dict) -> list[ZaloSent]:
        start = len(self.zalo.sent)
        await self.channel.accept(update)
        return self.zalo.sent[start:]

    def shown(self, user: str) -> list[str]:
        return [e.text for e in self.zalo.to(user)]

    async def uid(self, user: str) -> int:
        return (await accounts.zalo(self.svc.db, user, user, self.svc.now())).user_id


def zalo_settings(tmp_path: Path, **overrides) -> Settings:
    from tests.conftest import make_settings

    return make_settings(tmp_path, **{**ZALO_SETTINGS, **overrides})


@contextlib.asynccontextmanager
async def open_zalo_bot(settings: Settings, clock: FakeClock | None = None, media_url=None,
                        standin: ZaloStandIn | None = None) -> AsyncIterator[ZaloHarness]:
    """Both channels on their stand-ins; fails the test if any handler raised."""
    clock = clock or FakeClock()
    api = FakeBotAPI(clock, settings.bot_username)
    standin = standin or ZaloStandIn(clock, wait_for_updates=False)
    pauses: list[float] = []

    async def pause(seconds: float) -> None:  # the client's backoff, recorded instead of slept
        pauses.append(seconds)

    channel = ZaloChannel.from_settings(replace(settings, zalo_bot_token=settings.zalo_bot_token or TOKEN),
                                        transport=standin.transport, clock=clock, media_url=media_url, sleep=pause)
    app = build_application(settings, request=api, clock=clock, rate_limit=False, zalo=channel)
    harness = ZaloHarness(app, api, ChatDriver(app, api), clock, zalo=standin, channel=channel, pauses=pauses)

    async def record(update: object, context) -> None:
        harness.errors.append(context.error)

    app.add_error_handler(record)
    async with running(app):
        yield harness
    assert harness.errors == [], "a handler raised"

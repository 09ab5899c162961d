"""The local chat console: the real bot on the in-process Bot API stand-in.

The line protocol is a public interface (../shared/DESIGN.md); other tools script it. Keep it exact.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from dataclasses import replace
from datetime import UTC, datetime
from typing import TextIO

from telegram.ext import Application

from bot.app import TICKS, build_application, running
from bot.botapi_standin import ChatDriver, FakeBotAPI, Sent
from bot.channels.zalo.adapter import ZaloChannel
from bot.channels.zalo.standin import TOKEN as ZALO_TOKEN
from bot.channels.zalo.standin import ZaloSent, ZaloStandIn
from bot.clock import FakeClock
from bot.config import Settings

log = logging.getLogger(__name__)
FIRST_USER = 1001
WAIT_STEP = 60.0  # @wait moves the clock in steps so timed work happens in order
SEND_WAIT_MAX = 30.0  # real seconds one step may spend letting campaign sends finish
LINE_SECONDS = 1.0  # the console's clock moves this much per input line, so a long script is not a flood


class Console:
    def __init__(self, app: Application, api: FakeBotAPI, clock: FakeClock, out: TextIO,
                 zalo: ZaloConsole | None = None):
        self.app, self.api, self.clock, self.out = app, api, clock, out
        self.driver = ChatDriver(app, api)
        self.user = FIRST_USER
        self.zalo = zalo  # --channel zalo: the current user is a Zalo person unless `@as tg:ID`
        self.on_zalo = zalo is not None
        api.listeners.append(self.print_event)
        if zalo is not None:
            zalo.standin.listeners.append(self.print_event)

    def print_event(self, event: Sent | ZaloSent) -> None:
        self.out.write(event.render() + "\n")
        self.out.flush()

    async def wait(self, seconds: float) -> None:
        """Let timed work (escalations, broadcasts) run as if `seconds` had passed."""
        svc = self.app.bot_data["svc"]
        remaining = seconds
        while True:
            step = min(WAIT_STEP, remaining)
            self.clock.advance(step)
            remaining -= step
            for _name, _every, tick in TICKS:
                await tick(svc)
            await asyncio.sleep(0)
            # Ticks may start background sends (a campaign): let them finish, as they would in `step` seconds.
            await svc.sender.wait_idle(min(step, SEND_WAIT_MAX))
            if remaining <= 0:
                break

    async def handle(self, line: str) -> bool:
        """Process one input line to completion; False means quit."""
        line = line.rstrip("\r\n")
        self.clock.advance(LINE_SECONDS)  # a person takes at least this long per message (flood control counts)
        if self.zalo is not None and line.startswith("@as "):
            user, _, name = line[4:].strip().partition(" ")
            self.on_zalo = not user.startswith("tg:")
            line = "@as " + user.removeprefix("tg:") + (" " + name if name else "")
        if self.zalo is not None and self.on_zalo and not line.startswith(("@as ", "@wait ", "@echo", "@quit")):
            await self.zalo.handle(str(self.user), line)
            return True
        if line.startswith("#") and line[1:2].isdigit():
            button, _, message = line[1:].partition("@")
            await self.driver.press(self.user, int(button), int(message) if message else None)
            return True
        if not line.startswith("@"):
            if line.strip():
                await self.driver.send(self.user, line)
            return True
        command, _, rest = line[1:].partition(" ")
        if command == "quit":
            return False
        if command == "as":
            user_id, _, name = rest.strip().partition(" ")
            self.user = int(user_id)
            self.driver.names[self.user] = name.strip() or f"User {self.user}"
            if self.zalo is not None:
                self.zalo.standin.names[str(self.user)] = name.strip() or f"User {self.user}"
        elif command == "reply":
            message, _, text = rest.strip().partition(" ")
            await self.driver.send(self.user, text, reply_to=int(message))
        elif command == "contact":
            await self.driver.send_kind(self.user, "contact", phone=rest.strip() or None)
        elif command == "location":
            lat, lon = (float(v) for v in rest.split())
            await self.driver.send_kind(self.user, "location", lat=lat, lon=lon)
        elif command == "photo":
            await self.driver.send_kind(self.user, "photo", caption=rest.strip() or None)
        elif command == "voice":
            await self.driver.send_kind(self.user, "voice")
        elif command == "wait":
            await self.wait(float(rest))
        elif command == "echo":
            self.out.write(rest + "\n")
            self.out.flush()
        else:
            raise ValueError(f"unknown console command @{command}")
        return True


class ZaloConsole:
    """`console --channel zalo`: the current user is a Zalo person who types; Zalo's stand-in prints what they
    see (the same headers, choices as numbered lines inside the text, never an edit)."""

    def __init__(self, channel: ZaloChannel, standin: ZaloStandIn):
        self.channel, self.standin = channel, standin

    async def handle(self, user: str, line: str) -> None:
        """One input line from Zalo person `user` (their Zalo id), processed to completion."""
        if not line.startswith("@"):
            if line.strip():
                await self.channel.accept(self.standin.text(user, line))
            return
        command, _, rest = line[1:].partition(" ")
        if command == "reply":  # Zalo's Bot API has no replies: the text alone
            await self.channel.accept(self.standin.text(user, rest.strip().partition(" ")[2]))
        elif command == "photo":
            await self.channel.accept(self.standin.image(user, caption=rest.strip()))
        elif command == "sticker":
            await self.channel.accept(self.standin.sticker(user))
        elif command == "unsupported":
            await self.channel.accept(self.standin.unsupported(user))
        elif command in ("contact", "location", "voice"):
            raise ValueError(f"Zalo cannot send a {command}: type it in words (a phone number, a ward)")
        else:
            raise ValueError(f"unknown console command @{command}")


async def run_console(settings: Settings, stdin: TextIO = sys.stdin, stdout: TextIO = sys.stdout,
                      channel: str = "telegram") -> int:
    clock = FakeClock(datetime.now(UTC).replace(microsecond=0))
    api = FakeBotAPI(clock, settings.bot_username)
    api.keep_events = False  # printed as they happen; a long session should not grow in memory
    zalo = None
    if channel == "zalo":
        standin = ZaloStandIn(clock, wait_for_updates=False)
        standin.keep_events = False
        zalo = ZaloConsole(ZaloChannel.from_settings(replace(settings, zalo_bot_token=ZALO_TOKEN),
                                                     transport=standin.transport, clock=clock), standin)
    app = build_application(settings, request=api, clock=clock, rate_limit=False,
                            zalo=zalo.channel if zalo is not None else None)
    app.bot_data["exclusive"] = True  # never beside a running bot (PostgreSQL's lock; SQLite's is taken before)
    interactive = stdin.isatty()
    async with running(app):
        console = Console(app, api, clock, stdout, zalo)
        if interactive:
            print("Chat console: type /start. #N presses button N, @as ID switches user, @quit ends.",
                  file=sys.stderr)
        loop = asyncio.get_running_loop()
        while True:
            if interactive:
                print(f"[{console.user}] > ", end="", file=sys.stderr, flush=True)
            line = await loop.run_in_executor(None, stdin.readline)
            if not line:
                break
            try:
                if not await console.handle(line):
                    break
            except (ValueError, LookupError) as exc:
                print(f"! {exc}", file=sys.stderr)
    return 0

"""The local chat console: the real bot on the in-process Bot API stand-in.

The line protocol is a public interface (../shared/DESIGN.md); other tools script it. Keep it exact.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from datetime import UTC, datetime
from typing import TextIO

from telegram.ext import Application

from bot.app import TICKS, build_application, running
from bot.botapi_standin import ChatDriver, FakeBotAPI, Sent
from bot.clock import FakeClock
from bot.config import Settings

log = logging.getLogger(__name__)
FIRST_USER = 1001
WAIT_STEP = 60.0  # @wait moves the clock in steps so timed work happens in order
SEND_WAIT_MAX = 30.0  # real seconds one step may spend letting campaign sends finish
LINE_SECONDS = 1.0  # the console's clock moves this much per input line, so a long script is not a flood


class Console:
    def __init__(self, app: Application, api: FakeBotAPI, clock: FakeClock, out: TextIO):
        self.app, self.api, self.clock, self.out = app, api, clock, out
        self.driver = ChatDriver(app, api)
        self.user = FIRST_USER
        api.listeners.append(self.print_event)

    def print_event(self, event: Sent) -> None:
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


async def run_console(settings: Settings, stdin: TextIO = sys.stdin, stdout: TextIO = sys.stdout) -> int:
    clock = FakeClock(datetime.now(UTC).replace(microsecond=0))
    api = FakeBotAPI(clock, settings.bot_username)
    api.keep_events = False  # printed as they happen; a long session should not grow in memory
    app = build_application(settings, request=api, clock=clock, rate_limit=False)
    interactive = stdin.isatty()
    async with running(app):
        console = Console(app, api, clock, stdout)
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

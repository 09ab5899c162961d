"""The one harness every benchmark uses: the real Application, a temp SQLite file, the shipped
content, and the in-process Bot API stand-in. Plus the small measuring helpers they share."""

from __future__ import annotations

import contextlib
import itertools
import resource
import statistics
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import Application, ContextTypes, MessageHandler, TypeHandler, filters

from bot.botapi_standin import ChatDriver, FakeBotAPI
from bot.clock import Clock, FakeClock

if TYPE_CHECKING:
    from bot.services import Services
# The bot itself (bot.app, its handlers, services and data) is imported inside open_bot, so that the
# echo bot's cold start (bench/startup.py) pays for python-telegram-bot alone.
STANDIN_TOKEN = "123456:STAND-IN"

ADMIN = 9001
SIZES = ("smoke", "full")


class BenchAPI(FakeBotAPI):
    """The stand-in without its memory: no event log, and (optionally) no copy of the messages sent
    to chats nobody will press a button in (a broadcast's 100,000 recipients)."""

    def __init__(self, clock: Clock | None = None, forget: Callable[[int], bool] | None = None):
        super().__init__(clock)
        self.keep_events = False
        self.forget = forget
        self._global_ids = itertools.count(1)

    def new_message_id(self, chat_id: int) -> int:
        if self.forget is not None and self.forget(chat_id):
            return next(self._global_ids)  # ids unique per chat without a counter per chat
        return super().new_message_id(chat_id)

    def _store(self, chat_id: int, body: dict, markup: dict | None) -> dict:
        if self.forget is None or not self.forget(chat_id):
            return super()._store(chat_id, body, markup)
        msg = {"message_id": self.new_message_id(chat_id), "date": self.now_ts(),
               "chat": {"id": chat_id, "type": "private"}, "from": self.bot_user(), **body}
        if markup and "inline_keyboard" in markup:
            msg["reply_markup"] = markup
        return msg


@dataclass
class Bench:
    app: Application
    api: BenchAPI
    driver: ChatDriver
    clock: Clock

    @property
    def svc(self) -> Services:
        return self.app.bot_data["svc"]

    def latest_id(self, user_id: int) -> int:
        msg = self.driver.latest_with_buttons(user_id)
        assert msg is not None, f"user {user_id} has no message with buttons"
        return msg["message_id"]

    async def press(self, user_id: int, data: str, message_id: int | None = None) -> None:
        """Press the button with this callback data on the user's newest message with buttons."""
        await self.driver.press_data(user_id, data, message_id or self.latest_id(user_id))

    async def press_label(self, user_id: int, label: str) -> None:
        msg = self.driver.latest_with_buttons(user_id)
        assert msg is not None
        buttons = [b for row in msg["reply_markup"]["inline_keyboard"] for b in row]
        data = next(b["callback_data"] for b in buttons if label in b["text"])
        await self.driver.press_data(user_id, data, msg["message_id"])


@contextlib.asynccontextmanager
async def open_bot(*, fake_clock: bool = True, forget: Callable[[int], bool] | None = None,
                   **overrides) -> AsyncIterator[Bench]:
    """The real bot on the stand-in, with a fresh SQLite file that is deleted afterwards."""
    from bot.app import build_application, running
    from bot.config import Settings

    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        # The benchmark's clock stands still, so every user would look like a flooder: measure without it.
        overrides.setdefault("flood_max", 10**9)
        settings = replace(Settings(), database_path=Path(tmp) / "bot.sqlite3", admin_ids=frozenset({ADMIN}),
                           **overrides)
        clock = FakeClock() if fake_clock else Clock()
        api = BenchAPI(clock, forget)
        app = build_application(settings, request=api, clock=clock, rate_limit=False)
        errors: list[BaseException] = []

        async def record(update: object, context) -> None:
            errors.append(context.error)

        app.add_error_handler(record)
        async with running(app):
            yield Bench(app, api, ChatDriver(app, api), clock)
        if errors:
            raise RuntimeError(f"{len(errors)} handler error(s), first: {errors[0]!r}")


@contextlib.asynccontextmanager
async def open_echo() -> AsyncIterator[Bench]:
    """The framework's ceiling: an Application with one handler that echoes text, on the same stand-in."""
    api = BenchAPI(FakeClock())

    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await update.effective_message.reply_text(update.effective_message.text)

    app = Application.builder().token(STANDIN_TOKEN).request(api).get_updates_request(api).build()
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, echo))
    await app.initialize()
    try:
        yield Bench(app, api, ChatDriver(app, api), api.clock)
    finally:
        await app.shutdown()


@contextlib.asynccontextmanager
async def open_mirror(callback_messages: list[dict]) -> AsyncIterator[Bench]:
    """The framework's cost for the bot's own traffic: one handler with no logic that makes the calls the
    bot makes for each update (a button press: answer and edit that message with its keyboard; a text:
    a reply with a one-row keyboard), on the same stand-in, holding the messages the presses refer to."""
    api = BenchAPI(FakeClock())
    for message in callback_messages:
        api.messages[message["chat"]["id"]][message["message_id"]] = dict(message)
    edits = itertools.count()

    async def mirror(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        if query is not None and query.message is not None:
            await query.answer()
            message = query.message
            await context.bot.edit_message_text(f"{message.text} {next(edits)}", message.chat.id,
                                                message.message_id, reply_markup=message.reply_markup)
        elif update.effective_message is not None:
            markup = InlineKeyboardMarkup([[InlineKeyboardButton("🏠", callback_data="m")]])
            await update.effective_message.reply_text(update.effective_message.text or "…", reply_markup=markup)

    app = Application.builder().token(STANDIN_TOKEN).request(api).get_updates_request(api).build()
    app.add_handler(TypeHandler(Update, mirror))
    await app.initialize()
    try:
        yield Bench(app, api, ChatDriver(app, api), api.clock)
    finally:
        await app.shutdown()


async def make_volunteer(b: Bench, uid: int, wards: tuple[str, ...], topics: tuple[str, ...]) -> None:
    """An active, available volunteer (the same steps as the tests, straight into the data layer)."""
    from bot.data import users as user_data
    from bot.data import volunteers as vdata

    svc, now = b.svc, b.svc.now()
    await user_data.touch(svc.db, uid, f"TNV {uid}", None, now)
    await vdata.start_application(svc.db, uid, f"TNV {uid}", now)
    for w in wards:
        await vdata.toggle(svc.db, uid, "volunteer_wards", "ward", w)
    for t in topics:
        await vdata.toggle(svc.db, uid, "volunteer_topics", "topic", t)
    assert await vdata.set_status(svc.db, uid, "active", ("applying",), ADMIN, now)


# --- measuring --------------------------------------------------------------------------------
def percentiles(samples_ms: list[float]) -> dict[str, float]:
    if len(samples_ms) < 2:
        value = samples_ms[0] if samples_ms else 0.0
        return {"p50": value, "p95": value, "p99": value, "n": len(samples_ms)}
    qs = statistics.quantiles(samples_ms, n=100, method="inclusive")
    return {"p50": statistics.median(samples_ms), "p95": qs[94], "p99": qs[98], "n": len(samples_ms)}


def peak_rss_mb() -> float:
    """This process's peak resident set size (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def current_rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 2**20


class Stopwatch:
    """Sum of the time spent inside timed calls, and each call's duration per kind."""

    def __init__(self) -> None:
        self.total = 0.0
        self.count = 0
        self.samples: dict[str, list[float]] = {}

    @contextlib.contextmanager
    def timed(self, kind: str):
        start = time.perf_counter()
        try:
            yield
        finally:
            elapsed = time.perf_counter() - start
            self.total += elapsed
            self.count += 1
            self.samples.setdefault(kind, []).append(elapsed * 1000)

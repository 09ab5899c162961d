"""build_application(settings): the python-telegram-bot Application with our services and handlers."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

from telegram import BotCommand, BotCommandScopeDefault
from telegram.ext import AIORateLimiter, Application, ContextTypes
from telegram.request import BaseRequest, HTTPXRequest

import handlers
from bot import campaigns, help_requests, logsafe, privacy
from bot import commands as commands_mod
from bot import content as content_mod
from bot.clock import Clock
from bot.config import LOCALES, Settings
from bot.data import Database
from bot.data import screens as screens_data
from bot.i18n import I18n
from bot.search import SearchIndex
from bot.services import Services
from handlers.common import BotContext
from handlers.outbox import TelegramOutbox
from handlers.tgbot import ScreenBot

log = logging.getLogger(__name__)
STANDIN_TOKEN = "123456:STAND-IN"  # the stand-in accepts any token; this one never reaches Telegram

Tick = Callable[[Services], Awaitable[None]]
# Timed work, as (name, every N seconds, function). Each tick reads what is due from the database,
# so a restart loses nothing and the console's @wait can drive the same functions on its own clock.
TICKS: list[tuple[str, float, Tick]] = [
    ("escalations", 60.0, help_requests.tick),
    ("campaigns", 1.0, campaigns.tick),
    ("retention", 3600.0, privacy.retention_tick),  # idempotent: erases only what has passed retention
]


async def _post_init(app: Application) -> None:
    settings: Settings = app.bot_data["settings"]
    clock: Clock = app.bot_data["clock"]
    content = content_mod.load(settings.content_dir)
    db = await Database.open(settings.database_path)
    i18n = I18n(settings.default_locale, settings.tz)
    app.bot_data["svc"] = svc = Services(settings, db, content, SearchIndex(list(content.guides.values())), i18n,
                                         clock, TelegramOutbox(app.bot))
    for lang in LOCALES:
        _ = i18n.get(lang).gettext
        commands = [BotCommand(name, _(text)) for name, text in commands_mod.EVERYONE]
        await app.bot.set_my_commands(commands, scope=BotCommandScopeDefault(),
                                      language_code=None if lang == settings.default_locale else lang)
    await commands_mod.sync_all(svc)

    async def keep_screen(chat_id: int, message_id: int, screen, edit: bool) -> None:
        if screen is not None:
            await screens_data.record(db, chat_id, screen, svc.now(), edit=edit)
        else:
            await screens_data.forget(db, chat_id, message_id)

    app.bot.set_screen_sink(keep_screen)
    if app.job_queue is not None and app.bot_data.get("schedule_ticks"):
        for name, every, tick in TICKS:
            app.job_queue.run_repeating(lambda _ctx, tick=tick: tick(svc), interval=every, first=1, name=name)
    log.info("bot ready", extra={"guides": len(content.guides)})


async def _post_stop(app: Application) -> None:
    """Let campaign sends in flight finish and be recorded before the bot and the database go away."""
    svc: Services | None = app.bot_data.get("svc")
    if svc is not None:
        await svc.sender.stop()


async def _post_shutdown(app: Application) -> None:
    svc: Services | None = app.bot_data.get("svc")
    if svc is not None:
        await svc.sender.stop()
        await svc.db.close()


def build_application(settings: Settings, *, request: BaseRequest | None = None, clock: Clock | None = None,
                      rate_limit: bool = True) -> Application:
    """The real Application; `request` swaps Telegram's servers for the in-process stand-in."""
    logsafe.install()  # before anything logs: no message text or phone number in any log record
    urls = {}
    if settings.bot_api_base_url:
        base = settings.bot_api_base_url.rstrip("/")
        urls = {"base_url": f"{base}/bot", "base_file_url": f"{base}/file/bot"}
    # Built by hand (as ApplicationBuilder would) because it is our subclass that records screens.
    bot = ScreenBot(settings.bot_token or STANDIN_TOKEN, **urls,
                    request=request or HTTPXRequest(connection_pool_size=256),
                    get_updates_request=request or HTTPXRequest(connection_pool_size=1),
                    rate_limiter=AIORateLimiter(max_retries=3) if rate_limit else None)
    app = (
        Application.builder()
        .bot(bot)
        .context_types(ContextTypes(context=BotContext))
        .post_init(_post_init)
        .post_stop(_post_stop)
        .post_shutdown(_post_shutdown)
        .build()
    )
    app.bot_data["settings"] = settings
    app.bot_data["clock"] = clock or Clock()
    app.bot_data["schedule_ticks"] = request is None  # the console and tests drive ticks themselves
    handlers.register(app)
    return app


@contextlib.asynccontextmanager
async def running(app: Application) -> AsyncIterator[Application]:
    """Initialise and shut down as run_polling would, without polling (console, tests, benchmarks)."""
    await app.initialize()
    await _post_init(app)
    try:
        yield app
    finally:
        await _post_stop(app)
        await app.shutdown()
        await _post_shutdown(app)

"""build_application(settings): the python-telegram-bot Application with our services and handlers."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import AsyncIterator, Awaitable, Callable

from telegram import BotCommand, BotCommandScopeDefault, Update
from telegram.error import InvalidToken, NetworkError, RetryAfter, TelegramError
from telegram.ext import AIORateLimiter, Application, BaseUpdateProcessor, ContextTypes
from telegram.request import BaseRequest, HTTPXRequest, RequestData

import handlers
from bot import campaigns, help_requests, instance, logsafe, outcomes, privacy
from bot import commands as commands_mod
from bot import content as content_mod
from bot.channels.zalo.adapter import ChannelRequest, ZaloChannel
from bot.channels.zalo.client import ZaloApiError
from bot.channels.zalo.webhook import ZaloWebhook
from bot.clock import Clock
from bot.config import LOCALES, Settings, StartupError
from bot.data import Database
from bot.data import screens as screens_data
from bot.i18n import I18n
from bot.search import SearchIndex
from bot.services import Services
from bot.startup import until_reachable
from bot.web.app import WebState, create_app
from bot.web.ingress import Ingress, LocalSink
from bot.web.media import MediaStore
from bot.web.metrics import Metrics
from bot.web.server import http_server, listen
from bot.web.telegram import IngressProcessor, QueueProcessor, TelegramWebhook
from handlers.common import BotContext
from handlers.outbox import TelegramOutbox
from handlers.tgbot import ScreenBot

logsafe.expect(NetworkError, RetryAfter, InvalidToken)  # Telegram's recoverable errors: one WARNING line
log = logging.getLogger(__name__)
STANDIN_TOKEN = "123456:STAND-IN"  # the stand-in accepts any token; this one never reaches Telegram

Tick = Callable[[Services], Awaitable[None]]
# Timed work, as (name, every N seconds, function). Each tick reads what is due from the database,
# so a restart loses nothing and the console's @wait can drive the same functions on its own clock.
TICKS: list[tuple[str, float, Tick]] = [
    ("escalations", 60.0, help_requests.tick),
    ("campaigns", 1.0, campaigns.tick),
    ("retention", 3600.0, privacy.retention_tick),  # idempotent: erases only what has passed retention
    ("thanks", 900.0, outcomes.thanks_tick),  # monthly thank-you to volunteers, once each (thanks_sent)
]


async def _post_init(app: Application) -> None:
    settings: Settings = app.bot_data["settings"]
    clock: Clock = app.bot_data["clock"]
    content = content_mod.load(settings.content_dir)
    db = await Database.open(settings.database)
    exclusive = app.bot_data.get("exclusive")
    if exclusive:  # serve and the console: one such process per database; the ingress and workers: "shared"
        try:
            await db.claim_instance(shared=exclusive == "shared")
        except BaseException:
            await db.close()
            raise
    i18n = I18n(settings.default_locale, settings.tz)
    zalo = app.bot_data.get("zalo")  # issue 11: Zalo admins' ids are known once the database is open
    if zalo is not None:
        settings = app.bot_data["settings"] = await zalo.prepare(db, settings)
    await app.bot_data["media"].open(db)  # the links' key shared by every process on this database
    app.bot_data["svc"] = svc = Services(settings, db, content, SearchIndex(list(content.guides.values())), i18n,
                                         clock, TelegramOutbox(app.bot), media=app.bot_data["media"])
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
    if zalo is not None:
        zalo.bind(app, svc)
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
    """Close the database whatever else fails: its thread would keep the process alive."""
    svc: Services | None = app.bot_data.get("svc")
    zalo = app.bot_data.get("zalo")
    try:
        if svc is not None:
            try:
                await svc.sender.stop()
            finally:
                await svc.db.close()
    finally:
        if zalo is not None:
            await zalo.close()


class PollingRequest(HTTPXRequest):
    """The getUpdates connection; it tells `serve` when Telegram refuses the token (401) while running.

    python-telegram-bot's polling loop then only stops itself and leaves the process alive, answering nobody."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.token_refused = asyncio.Event()
        self.on_contact: Callable[[], None] | None = None  # each answered poll: Telegram is in contact (/readyz)

    async def do_request(self, url: str, method: str, request_data: RequestData | None = None,
                         **kwargs) -> tuple[int, bytes]:
        code, payload = await super().do_request(url, method, request_data, **kwargs)
        if code == 401:
            self.token_refused.set()
        elif code == 200 and self.on_contact is not None:
            self.on_contact()
        return code, payload


def build_application(settings: Settings, *, request: BaseRequest | None = None, clock: Clock | None = None,
                      rate_limit: bool = True, polling: bool = True,
                      update_processor: BaseUpdateProcessor | None = None,
                      zalo: ZaloChannel | None = None) -> Application:
    """The real Application; `request` swaps Telegram's servers for the in-process stand-in. Server mode
    (`serve` below) builds it without an updater for webhooks (`polling=False`) and with its own
    `update_processor` (per-person order) for long polling. `zalo` adds the Zalo channel (its calls are
    routed by chat, bot/channels/zalo/adapter.py)."""
    logsafe.install()  # before anything logs: no message text or phone number in any log record
    urls = {}
    if settings.bot_api_base_url:
        base = settings.bot_api_base_url.rstrip("/")
        urls = {"base_url": f"{base}/bot", "base_file_url": f"{base}/file/bot"}
    # Built by hand (as ApplicationBuilder would) because it is our subclass that records screens.
    poller = request or PollingRequest(connection_pool_size=1)
    general = request or HTTPXRequest(connection_pool_size=256)
    if zalo is not None:  # issue 11: Zalo chats to Zalo; Telegram's only when Telegram is on (or stood in)
        general = ChannelRequest(request or (general if settings.bot_token else None), zalo)
    bot = ScreenBot(settings.bot_token or STANDIN_TOKEN, **urls,
                    request=general,
                    get_updates_request=poller,
                    rate_limiter=AIORateLimiter(max_retries=3) if rate_limit else None)
    builder = (
        Application.builder()
        .bot(bot)
        .context_types(ContextTypes(context=BotContext))
        .post_init(_post_init)
        .post_stop(_post_stop)
        .post_shutdown(_post_shutdown)
    )
    if not polling:
        builder = builder.updater(None)
    if update_processor is not None:
        builder = builder.concurrent_updates(update_processor)
    app = builder.build()
    app.bot_data["settings"] = settings
    app.bot_data["polling_request"] = poller
    app.bot_data["clock"] = clock = clock or Clock()
    app.bot_data["media"] = MediaStore(settings.public_base_url, content_dir=settings.content_dir,
                                       ttl=settings.media_ttl, clock=clock)
    if zalo is not None and zalo.media_url is None and settings.public_base_url:
        zalo.media_url = app.bot_data["media"].url_for_bytes  # images to Zalo people go as signed links
    app.bot_data["schedule_ticks"] = request is None  # the console and tests drive ticks themselves
    app.bot_data["zalo"] = zalo
    app.bot_data["exclusive"] = False  # serve and the console set it: see _post_init
    handlers.register(app)
    return app


@contextlib.asynccontextmanager
async def running(app: Application) -> AsyncIterator[Application]:
    """Initialise and shut down as run_polling would, without polling (console, tests, benchmarks)."""
    await app.initialize()
    try:
        await _post_init(app)  # a failure here still shuts down and closes the database
        yield app
    finally:
        await _post_stop(app)
        await app.shutdown()
        await _post_shutdown(app)


TOKEN_REFUSED = ("Telegram refused BOT_TOKEN (401 Unauthorized{when}): check it with @BotFather "
                 "(/mybots → API Token) and set the current one")


async def _connect(app: Application, settings: Settings, stop: asyncio.Event) -> bool:
    """getMe until it answers (bot.startup.until_reachable: an unreachable Bot API is retried for
    STARTUP_RETRY_SECONDS). False if a stop signal came first; a refused token is one line."""

    async def initialize() -> None:
        try:
            await app.initialize()
        except InvalidToken:  # its message holds the token: never shown
            raise StartupError(TOKEN_REFUSED.format(when="")) from None

    def transient(exc: Exception) -> str | None:  # no connection, a timeout, a 5xx from the Bot API
        return type(exc).__name__ if isinstance(exc, NetworkError) else None

    return await until_reachable(initialize, transient, service="Bot API",
                                 where=settings.bot_api_base_url or "https://api.telegram.org",
                                 seconds=settings.startup_retry_seconds, stop=stop)


def _polling_error(app: Application) -> Callable[[TelegramError], None]:
    """A network error while polling (a 502, a timeout) is retried by the polling loop: one warning line,
    no traceback, no admin report. Any other polling error goes to the error handler as before."""

    def on_error(exc: TelegramError) -> None:
        if isinstance(exc, NetworkError):
            log.warning("polling: Bot API error, retrying", extra={"kind": type(exc).__name__})
            return
        app.create_task(app.process_error(update=None, error=exc))

    return on_error


# --- production: `python -m bot` with a token -------------------------------------------------------------
# The bot and its HTTP server (bot/web) share one event loop. PUBLIC_BASE_URL set: Telegram's webhook is
# registered at {PUBLIC_BASE_URL}/telegram with WEBHOOK_SECRET and Zalo's at {PUBLIC_BASE_URL}/zalo with
# ZALO_WEBHOOK_SECRET; the Application runs without an updater and each POST goes through the ingress. Unset:
# long polling (any old webhook deleted first); polled Telegram updates go through the same ingress, Zalo's one
# at a time; the HTTP server still serves health and metrics.
# Start: take the database's instance lock, listen, connect, open the database, register the channels, then
# /readyz turns 200. Stop (SIGTERM/SIGINT, or a token refused): /readyz and new webhooks turn 503, updates in
# flight finish, campaign sends in flight finish and are recorded, the database closes, the server stops.
DRAIN_SECONDS = 25.0  # updates in flight get this long to finish (systemd and docker wait 90 s and 10 s+)
PROBE_EVERY = 60.0  # seconds between webhook-mode checks that Telegram answers (getWebhookInfo)


def attach(app: Application, state: WebState) -> None:
    """Let the HTTP side see the started bot: its database and content (/readyz, /metrics), and the
    outcomes of campaign sends and Bot API errors (/metrics)."""
    svc: Services = app.bot_data["svc"]
    state.db = svc.db
    state.svc = svc
    state.content_loaded = lambda: bool(svc.content.guides)
    svc.sender.observe = state.metrics.campaign_hook()
    app.bot.set_api_error_hook(state.metrics.send_error_hook("telegram"))


def _channels(app: Application, settings: Settings, state: WebState, webhook: bool) -> None:
    """Which channels this process serves: Telegram when BOT_TOKEN is set, Zalo when ZALO_BOT_TOKEN is."""
    if settings.bot_token:
        if webhook:
            state.register(TelegramWebhook(app, settings.webhook_secret))
        else:
            state.expect("telegram")
            polling: PollingRequest = app.bot_data["polling_request"]
            polling.on_contact = lambda: state.touch("telegram")
    zalo: ZaloChannel | None = app.bot_data.get("zalo")
    if zalo is not None:
        if webhook:
            state.register(ZaloWebhook(zalo, settings.zalo_webhook_secret))
        else:
            state.expect("zalo")
        zalo.on_contact = lambda: state.touch("zalo")


async def serve(settings: Settings, *, queue: bool = False) -> None:
    """Run until SIGTERM or SIGINT (then return: exit 0), or raise StartupError with one line when the bot
    cannot start or go on (database in use or unusable, token refused, Bot API unreachable, port taken).
    Whatever happened, the database is closed and the lock released, so the process ends.

    `queue` (python -m bot ingress, PostgreSQL only): the same HTTP server and channel registration, but each
    update is put on the workers' queue (bot/queue.py) instead of processed here; no ticks, no campaign sends."""
    lock = None if settings.database_url else instance.acquire(settings.database_path)  # PostgreSQL: _post_init
    try:
        await _serve(settings, queue)
    finally:
        if lock is not None:
            lock.release()


class _Intake:
    """Where this process's updates go: its own `Ingress` lanes (a single process), or the workers' queue
    (the ingress of several workers), for webhooks and polled updates alike."""

    def __init__(self, metrics: Metrics, settings: Settings, queue: bool) -> None:
        self.ingress = Ingress(metrics)
        self.queue_app = None
        if queue:
            from bot import queue as queue_mod

            self.queue_app = queue_mod.build(settings.database_url)
            self.sink = queue_mod.QueueSink(self.queue_app, metrics)
        else:
            self.sink = LocalSink(self.ingress)

    def processor(self) -> BaseUpdateProcessor:
        """Telegram's long polling: each polled update through the same sink as a webhook's."""
        return QueueProcessor(self.sink) if self.queue_app is not None else IngressProcessor(self.ingress)

    async def open(self, app: Application) -> None:
        """Once the services are open: the queue's connection, procrastinate's tables (once), and this process
        sends no campaigns (the workers' tick picks up what the dashboard starts)."""
        if self.queue_app is None:
            return
        from bot import queue as queue_mod

        svc: Services = app.bot_data["svc"]
        await svc.sender.stop()  # Sender.start is a no-op from now on
        self.sink.db, self.sink.now = svc.db, svc.now
        await self.queue_app.open_async()
        await queue_mod.ensure_schema(self.queue_app, svc.db)
        zalo: ZaloChannel | None = app.bot_data.get("zalo")
        if zalo is not None:  # polled Zalo updates go on the queue too
            zalo.intake = queue_mod.intake(self.sink, ZaloWebhook(zalo, ""))

    async def close(self) -> None:
        if self.queue_app is not None:
            with contextlib.suppress(Exception):
                await self.queue_app.connector.close_async()


async def _serve(settings: Settings, queue: bool = False) -> None:
    webhook = bool(settings.public_base_url)
    if settings.public_base_url.startswith("http://"):
        log.warning("PUBLIC_BASE_URL is plain http: Telegram and Zalo need https, so put a TLS proxy in front (Caddy)")
    telegram = bool(settings.bot_token)
    zalo = ZaloChannel.from_settings(settings) if settings.zalo_bot_token else None
    metrics = Metrics()
    intake = _Intake(metrics, settings, queue)
    ingress = intake.ingress
    tg_polling = telegram and not webhook
    processor = intake.processor() if tg_polling else None
    app = build_application(settings, polling=tg_polling, zalo=zalo, update_processor=processor)
    if isinstance(processor, QueueProcessor):
        processor.channel = TelegramWebhook(app, settings.webhook_secret)
    app.bot_data["exclusive"] = "shared" if queue else True
    if queue:
        app.bot_data["schedule_ticks"] = False  # the workers run the ticks
    state = WebState(metrics=metrics, media=app.bot_data["media"], ingress=ingress, clock=app.bot_data["clock"],
                     sink=intake.sink)
    if settings.dashboard_secret:
        state.dashboard_secret = settings.dashboard_secret
    state.dashboard_https = settings.public_base_url.startswith("https://")
    _channels(app, settings, state, webhook)
    token_refused = asyncio.Event()
    if tg_polling:
        polling: PollingRequest = app.bot_data["polling_request"]
        token_refused = polling.token_refused

    sock = listen(settings.host, settings.port)
    host, port = sock.getsockname()[:2]
    server, server_task = http_server(create_app(state), sock)
    log.info("http server listening", extra={"host": logsafe.Safe(host), "port": port})

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    refused = False
    zalo_polling: asyncio.Future | None = None
    try:
        if zalo is not None:
            if not await zalo.connect(stop):  # a refused Zalo token: one line (StartupError); a signal: stop
                return
            state.touch("zalo")
        if not telegram:
            await app.initialize()  # Zalo alone: getMe is answered without Telegram
        elif not await _connect(app, settings, stop):
            return
        await _post_init(app)
        await intake.open(app)
        attach(app, state)
        if webhook:
            if telegram:
                await _register(app, settings)
                state.touch("telegram")
                if app.job_queue is not None:
                    app.job_queue.run_repeating(_probe(state, token_refused), interval=PROBE_EVERY,
                                                first=PROBE_EVERY, name="webhook-probe")
                log.info("webhook registered", extra={"channel": "telegram"})
            if zalo is not None:
                await zalo.use_webhook(f"{settings.public_base_url}/zalo")
                if app.job_queue is not None:
                    app.job_queue.run_repeating(_zalo_probe(zalo, state), interval=PROBE_EVERY, first=PROBE_EVERY,
                                                name="zalo-webhook-probe")
                log.info("webhook registered", extra={"channel": "zalo"})
            await app.start()
        else:
            if telegram:
                await app.bot.delete_webhook()  # Telegram refuses getUpdates while a webhook is set
                state.touch("telegram")  # it answered; from now on each answered poll is contact
                await app.updater.start_polling(allowed_updates=Update.ALL_TYPES,
                                                error_callback=_polling_error(app))
            await app.start()
            if zalo is not None:
                zalo_polling = asyncio.ensure_future(zalo.poll(stop))
        state.phase = "ready"
        waiters = [asyncio.ensure_future(token_refused.wait()), asyncio.ensure_future(stop.wait())]
        await asyncio.wait([*waiters, *([zalo_polling] if zalo_polling else [])],
                           return_when=asyncio.FIRST_COMPLETED)
        refused = token_refused.is_set()
        for waiter in waiters:
            waiter.cancel()
    except InvalidToken:  # set_webhook / delete_webhook refused: the token was revoked meanwhile
        refused = True
    finally:
        state.phase = "draining"  # /readyz and new webhooks: 503
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
        try:
            if zalo_polling is not None and not zalo_polling.done():
                zalo_polling.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await zalo_polling
            if app.updater is not None and app.updater.running:
                with contextlib.suppress(InvalidToken):  # the polling loop's own end when the token was refused
                    await app.updater.stop()
            # No new campaign send starts; those in flight and the updates being processed finish, and are
            # recorded, before the Application stops and the database closes.
            drained, _ = await asyncio.gather(intake.sink.drain(DRAIN_SECONDS), _post_stop(app))
            if not drained:
                log.warning("updates still running at shutdown", extra={"count": intake.sink.pending})
            if app.running:
                await app.stop()
            await app.shutdown()
        finally:
            await state.close_reader()
            await intake.close()
            state.svc = None
            await _post_shutdown(app)  # the database thread would keep the process alive
            state.db = None
            server.should_exit = True
            await server_task
    if zalo_polling is not None and zalo_polling.done() and not zalo_polling.cancelled():
        zalo_polling.result()  # a Zalo token refused while running: its StartupError line
    if refused:
        raise StartupError(TOKEN_REFUSED.format(when=" while running"))


async def _register(app: Application, settings: Settings) -> None:
    """setWebhook at {PUBLIC_BASE_URL}/telegram with the secret; Telegram's refusal is one line (its reason says
    what to fix: an http address, a port it does not call, a name it cannot resolve)."""
    try:
        await app.bot.set_webhook(f"{settings.public_base_url}/telegram", secret_token=settings.webhook_secret,
                                  allowed_updates=Update.ALL_TYPES)
    except InvalidToken:
        raise
    except TelegramError as exc:
        raise StartupError(f"PUBLIC_BASE_URL: Telegram did not accept the webhook {settings.public_base_url}/telegram "
                           f"({type(exc).__name__}: {exc.message}): check the address and that Caddy serves it "
                           "over https") from None


def _probe(state: WebState, token_refused: asyncio.Event):
    """Webhook mode hears from Telegram only when people write: ask it now and then (getWebhookInfo), so
    /readyz knows it answers; a refused token ends the process as in polling mode."""

    async def probe(context: ContextTypes.DEFAULT_TYPE) -> None:
        try:
            await context.bot.get_webhook_info()
        except InvalidToken:
            token_refused.set()
            return
        except TelegramError as exc:
            log.warning("webhook probe: Bot API error", extra={"kind": type(exc).__name__})
            return
        state.touch("telegram")

    return probe


def _zalo_probe(zalo: ZaloChannel, state: WebState):
    """Webhook mode hears from Zalo only when people write: ask it now and then (getMe), so /readyz knows it
    answers."""

    async def probe(context: ContextTypes.DEFAULT_TYPE) -> None:
        try:
            await zalo.client.get_me()
        except ZaloApiError as exc:  # a refused token or an outage: /readyz shows it after a while; one line here
            log.warning("zalo webhook probe: Bot API error", extra={"kind": type(exc).__name__})
            return
        state.touch("zalo")

    return probe


# --- several workers: `python -m bot worker` (PostgreSQL) ---------------------------------------------------
async def work(settings: Settings, concurrency: int = 8) -> None:
    """Run one worker until SIGTERM or SIGINT: the updates the ingress queued (bot/queue.py), the periodic ticks
    (each once across all workers), the campaigns tick each second, and putting back the jobs of workers that
    died. No webhook is registered and nothing is polled. Stop: no new job is fetched, jobs running and campaign
    sends in flight finish and are recorded (DRAIN_SECONDS at most), the database closes. StartupError with one
    line when it cannot start (no PostgreSQL, a single bot process holds the database, a token refused), or when
    the queue's worker ends by itself (PostgreSQL stopped for longer than its reconnects): the supervisor
    restarts it."""
    from bot import queue as queue_mod

    telegram = bool(settings.bot_token)
    zalo = ZaloChannel.from_settings(settings) if settings.zalo_bot_token else None
    if zalo is not None and not settings.public_base_url:  # Zalo's images are links this worker makes
        log.warning("PUBLIC_BASE_URL is not set: images and files go to Zalo people as text only; set it as the "
                    "ingress has it")
    app = build_application(settings, polling=False, zalo=zalo)
    app.bot_data["exclusive"] = "shared"
    app.bot_data["schedule_ticks"] = False  # the periodic tasks and the local campaigns loop below run them
    runtime = queue_mod.Runtime()
    queue_app = queue_mod.build(settings.database_url, runtime, pool_size=concurrency + 4)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    side: list[asyncio.Task] = []
    worker: asyncio.Task | None = None
    opened = False
    try:
        if zalo is not None and not await zalo.connect(stop):
            return
        if not telegram:
            await app.initialize()
        elif not await _connect(app, settings, stop):
            return
        await _post_init(app)
        await app.start()
        svc: Services = app.bot_data["svc"]
        runtime.svc = svc
        await svc.sender.member(svc)  # counted among the campaign senders now: its first send need not wait
        if telegram:
            runtime.channels["telegram"] = TelegramWebhook(app, "")
        if zalo is not None:
            runtime.channels["zalo"] = ZaloWebhook(zalo, "")
        await queue_app.open_async()
        opened = True
        await queue_mod.ensure_schema(queue_app, svc.db)
        side = [asyncio.ensure_future(queue_mod.every(1.0, lambda: campaigns.tick(svc), "campaigns")),
                asyncio.ensure_future(queue_mod.every(queue_mod.REAP_EVERY, lambda: queue_mod.reap(queue_app, svc.db),
                                                      "reaper"))]
        worker = asyncio.ensure_future(queue_app.run_worker_async(
            queues=[queue_mod.UPDATES, queue_mod.TICKS], concurrency=concurrency, install_signal_handlers=False,
            update_heartbeat_interval=queue_mod.HEARTBEAT, stalled_worker_timeout=queue_mod.STALLED_AFTER,
            shutdown_graceful_timeout=DRAIN_SECONDS, delete_jobs="successful", fetch_job_polling_interval=1.0))
        log.info("worker ready", extra={"concurrency": concurrency})
        waiter = asyncio.ensure_future(stop.wait())
        await asyncio.wait([waiter, worker], return_when=asyncio.FIRST_COMPLETED)
        waiter.cancel()
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
        try:
            for task in side:  # no new campaign sender starts, no reaping
                task.cancel()
            for task in side:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            if worker is not None and not worker.done():
                worker.cancel()  # procrastinate stops fetching and waits for the jobs running (graceful)
                with contextlib.suppress(asyncio.CancelledError):
                    await worker
            await _post_stop(app)  # campaign sends in flight finish and are recorded
            if app.running:
                await app.stop()
            await app.shutdown()
        finally:
            if opened:
                with contextlib.suppress(Exception):
                    await queue_app.connector.close_async()
            await _post_shutdown(app)
    if worker is not None and worker.done() and not worker.cancelled() and worker.exception() is not None:
        raise StartupError(f"worker stopped: {type(worker.exception()).__name__}")
    if worker is not None and not stop.is_set():  # procrastinate ended by itself (its database gone): status 1,
        raise StartupError("worker stopped: the queue's worker ended (is PostgreSQL reachable?)")  # restart me

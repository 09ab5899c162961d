"""Production: `python -m bot` with a token (BOT_TOKEN for Telegram, ZALO_BOT_TOKEN for Zalo, or both). The bot
and its HTTP server (uvicorn, bot/web/app.py) share one event loop, as python-telegram-bot's custom-webhook
example does.

    PUBLIC_BASE_URL set    Telegram's webhook is registered at {PUBLIC_BASE_URL}/telegram with WEBHOOK_SECRET,
                           Zalo's at {PUBLIC_BASE_URL}/zalo with ZALO_WEBHOOK_SECRET; the Application runs
                           without an updater and each POST goes through the ingress.
    PUBLIC_BASE_URL unset  long polling as before (any old webhook deleted first); polled Telegram updates go
                           through the same ingress, Zalo's one at a time; the HTTP server still serves health
                           and metrics.

Start: take the database's instance lock, listen, connect to the Bot API, open the database, register the
channels, then /readyz turns 200. Stop (SIGTERM/SIGINT, or the token refused): /readyz and new webhooks turn 503,
updates in flight finish, campaign sends in flight finish and are recorded, the database closes, the server stops.

Another channel plugs in at `_channels` below: register its `WebhookChannel` on the state (it is then served at
`POST /{name}` by the same code) and call `state.touch(name)` whenever it hears from its platform.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
from collections.abc import AsyncIterator

import uvicorn
from telegram import Update
from telegram.error import InvalidToken, TelegramError
from telegram.ext import Application, ContextTypes

from bot import instance, logsafe
from bot.app import (
    TOKEN_REFUSED,
    PollingRequest,
    _connect,
    _polling_error,
    _post_init,
    _post_shutdown,
    _post_stop,
    build_application,
)
from bot.channels.zalo.adapter import ZaloChannel
from bot.channels.zalo.client import ZaloApiError
from bot.channels.zalo.webhook import ZaloWebhook
from bot.config import Settings, StartupError
from bot.services import Services
from bot.web.app import WebState, create_app
from bot.web.ingress import Ingress
from bot.web.metrics import Metrics
from bot.web.telegram import IngressProcessor, TelegramWebhook

log = logging.getLogger(__name__)
DRAIN_SECONDS = 25.0  # updates in flight get this long to finish (systemd and docker wait 90 s and 10 s+)
PROBE_EVERY = 60.0  # seconds between webhook-mode checks that Telegram answers (getWebhookInfo)


class _Server(uvicorn.Server):
    """uvicorn without its own signal handling: `serve` decides when the server stops (after the drain)."""

    @contextlib.contextmanager
    def capture_signals(self):
        yield


def listen(host: str, port: int) -> socket.socket:
    """The listening socket, bound now so that a taken port is one line at start (PORT=0: any free port)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise StartupError(f"HOST/PORT: cannot listen on {host}:{port} ({exc.strerror}): choose another PORT "
                           "or stop what uses it") from None
    sock.listen(2048)
    sock.setblocking(False)
    return sock


def http_server(asgi_app, sock: socket.socket) -> tuple[_Server, asyncio.Task]:
    """uvicorn serving `asgi_app` on `sock` in this event loop: (server, its task). Stop it with
    `server.should_exit = True; await task`. `server.started` turns True once it accepts connections."""
    logging.getLogger("uvicorn.error").setLevel(logging.WARNING)
    server = _Server(uvicorn.Config(asgi_app, log_config=None, access_log=False, lifespan="off",
                                    timeout_graceful_shutdown=5))
    return server, asyncio.create_task(server.serve(sockets=[sock]), name="http-server")


@contextlib.asynccontextmanager
async def serving(asgi_app, host: str = "127.0.0.1", port: int = 0) -> AsyncIterator[str]:
    """Serve `asgi_app` on loopback for the duration (tests and benchmarks): yields its base URL once it
    accepts connections."""
    sock = listen(host, port)
    address = sock.getsockname()
    server, task = http_server(asgi_app, sock)
    try:
        async with asyncio.timeout(10):
            while not server.started:
                if task.done():
                    task.result()  # its error
                await asyncio.sleep(0.005)
        yield f"http://{address[0]}:{address[1]}"
    finally:
        server.should_exit = True
        await task


def attach(app: Application, state: WebState) -> None:
    """Let the HTTP side see the started bot: its database and content (/readyz, /metrics), and the
    outcomes of campaign sends and Bot API errors (/metrics)."""
    svc: Services = app.bot_data["svc"]
    state.db = svc.db
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


async def serve(settings: Settings) -> None:
    """Run until SIGTERM or SIGINT (then return: exit 0), or raise StartupError with one line when the bot
    cannot start or go on (database in use or unusable, token refused, Bot API unreachable, port taken).
    Whatever happened, the database is closed and the lock released, so the process ends."""
    lock = instance.acquire(settings.database_path)
    try:
        await _serve(settings)
    finally:
        if lock is not None:
            lock.release()


async def _serve(settings: Settings) -> None:
    webhook = bool(settings.public_base_url)
    if settings.public_base_url.startswith("http://"):
        log.warning("PUBLIC_BASE_URL is plain http: Telegram and Zalo need https, so put a TLS proxy in front (Caddy)")
    telegram = bool(settings.bot_token)
    zalo = ZaloChannel.from_settings(settings) if settings.zalo_bot_token else None
    metrics = Metrics()
    ingress = Ingress(metrics)
    tg_polling = telegram and not webhook
    app = build_application(settings, polling=tg_polling, zalo=zalo,
                            update_processor=IngressProcessor(ingress) if tg_polling else None)
    state = WebState(metrics=metrics, media=app.bot_data["media"], ingress=ingress, clock=app.bot_data["clock"])
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
            await zalo.connect()  # a refused Zalo token: one line (StartupError)
            state.touch("zalo")
        if not telegram:
            await app.initialize()  # Zalo alone: getMe is answered without Telegram
        elif not await _connect(app, settings, stop):
            return
        await _post_init(app)
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
            drained, _ = await asyncio.gather(ingress.drain(DRAIN_SECONDS), _post_stop(app))
            if not drained:
                log.warning("updates still running at shutdown", extra={"count": ingress.pending})
            if app.running:
                await app.stop()
            await app.shutdown()
        finally:
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

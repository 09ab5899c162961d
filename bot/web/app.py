"""The ASGI application (Starlette): webhooks, media links, health and metrics.

    POST /{channel}   a registered WebhookChannel ("telegram", "zalo"); 404 for any other name
    GET  /media/{token}  a signed, expiring image link (bot/web/media.py)
    GET  /healthz     200 while the process runs
    GET  /readyz      200 when ready to take updates: started, not draining, database answers, content
                      loaded, every channel heard from recently; else 503 with the failed checks
    GET  /metrics     Prometheus text (bot/web/metrics.py)
    /dashboard/…      the ward office's web dashboard (bot/web/dashboard.py); 503 until the bot has started

`create_app(state)` builds it around a `WebState`, which `bot.app.serve` fills as the bot
starts and drains; tests build one with a test channel and no bot at all.
"""

from __future__ import annotations

import asyncio
import hmac
import html
import json
import logging
import secrets
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Literal
from urllib.parse import quote

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Mount, Route

from bot.clock import Clock
from bot.data import Database, health
from bot.data.dashboard import open_reader
from bot.web.dashboard import dashboard_app
from bot.web.ingress import DUPLICATE, OVERLOADED, Ingress, LocalSink, Sink, WebhookChannel
from bot.web.media import Expired, MediaStore
from bot.web.metrics import Metrics

if TYPE_CHECKING:
    from bot.services import Services

log = logging.getLogger(__name__)
CONTACT_STALE = 300.0  # seconds without a word from a channel before /readyz says so
MAX_BODY = 1024 * 1024  # an update is a few kB; Telegram's largest are well under this
# What a one-time link shows before the download (both languages: the link does not know the person's).
DOWNLOAD_PAGE = """<!doctype html><html lang="vi"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>Trợ lý số</title></head>
<body style="font-family: sans-serif; font-size: 1.3em; margin: 2em; line-height: 1.5">
<p>📄 {name}</p>
<p><a href="?download=1" style="font-size: 1.2em">Bấm vào đây để tải về</a><br>Tap here to download</p>
<p>Đường link chỉ dùng được một lần. / This link works once.</p>
</body></html>"""
Phase = Literal["starting", "ready", "draining"]


class WebState:
    """What the HTTP side knows about the running bot. The server moves `phase`; channels call `touch`."""

    def __init__(self, *, metrics: Metrics | None = None, media: MediaStore | None = None,
                 ingress: Ingress | None = None, clock: Clock | None = None,
                 monotonic: Callable[[], float] = time.monotonic, sink: Sink | None = None) -> None:
        self.metrics = metrics or Metrics()
        self.media = media or MediaStore()
        self.ingress = ingress or Ingress(self.metrics)
        self._sink = sink
        self.clock = clock or Clock()
        self.monotonic = monotonic
        self.phase: Phase = "starting"
        self.channels: dict[str, WebhookChannel] = {}
        self.db: Database | None = None  # set once open
        self.content_loaded: Callable[[], bool] = lambda: False
        self._contacts: dict[str, float | None] = {}  # channel -> monotonic time of its last word
        self.svc: Services | None = None  # the bot's services, once started (the dashboard needs them)
        # the key signing the dashboard's session cookies: DASHBOARD_SECRET, else new at each start
        self.dashboard_secret = secrets.token_urlsafe(32)
        self.dashboard_https = False  # Secure cookies when PUBLIC_BASE_URL is https
        self._reader: Database | None = None
        self._reader_lock = asyncio.Lock()

    @property
    def sink(self) -> Sink:
        """Where updates go: the workers' queue (python -m bot ingress), else this process's `ingress` lanes."""
        return self._sink or LocalSink(self.ingress)

    async def dashboard_reader(self) -> Database:
        """The dashboard's own read-only connection to the database (opened at first use; on PostgreSQL a
        small read-only pool): a page never waits behind the bot's writes, nor holds them up."""
        assert self.svc is not None
        async with self._reader_lock:
            if self._reader is None:
                target = self.svc.settings.database
                self._reader = self.svc.db if str(target) == ":memory:" else await open_reader(target)
            return self._reader

    async def close_reader(self) -> None:
        reader, self._reader = self._reader, None
        if reader is not None and (self.svc is None or reader is not self.svc.db):
            await reader.close()

    def register(self, channel: WebhookChannel) -> None:
        """Serve `channel` at POST /{channel.name} (and expect contact from it)."""
        self.channels[channel.name] = channel
        self.expect(channel.name)

    def expect(self, channel: str) -> None:
        """/readyz requires recent contact with this channel (webhook or long-polling alike)."""
        self._contacts.setdefault(channel, None)

    def touch(self, channel: str) -> None:
        """The channel was heard from just now (an update, a poll answered, a probe answered)."""
        self._contacts[channel] = self.monotonic()

    def contact_age(self, channel: str) -> float | None:
        seen = self._contacts.get(channel)
        return None if seen is None else self.monotonic() - seen

    async def problems(self) -> list[str]:
        """Why the bot is not ready (empty: ready). Names checks, never data."""
        if self.phase != "ready":
            return [self.phase]
        found = []
        try:
            if self.db is None or not await health.ping(self.db):
                found.append("database")
        except Exception:  # any failure to answer is the answer
            found.append("database")
        if not self.content_loaded():
            found.append("content")
        for channel in sorted(self._contacts):
            age = self.contact_age(channel)
            if age is None or age > CONTACT_STALE:
                found.append(f"{channel}: no contact")
        return found


async def _body(request: Request) -> bytes:
    """The request's body, at most MAX_BODY bytes; ValueError beyond it, raised before more is read (a declared
    Content-Length over the limit is refused before reading anything, a chunked body as soon as it passes it)."""
    if int(request.headers.get("content-length") or 0) > MAX_BODY:
        raise ValueError("too large")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            raise ValueError("too large")
    return bytes(body)


def create_app(state: WebState) -> Starlette:
    """The Starlette application over `state`."""

    async def webhook(request: Request) -> Response:
        name = request.path_params["channel"]
        channel = state.channels.get(name)
        if channel is None:
            return Response(status_code=404)
        metrics = state.metrics
        given = request.headers.get(channel.secret_header, "")
        # Constant time; a channel without a secret takes nothing (no secret is not "any secret").
        if not channel.secret or not hmac.compare_digest(given.encode(), channel.secret.encode()):
            metrics.webhook_refused.labels(name, "forbidden").inc()
            return Response(status_code=403)
        if state.phase != "ready":  # starting or draining: the channel sends it again later
            metrics.webhook_refused.labels(name, "unavailable").inc()
            return Response(status_code=503)
        try:
            payload = json.loads(await _body(request))
            if not isinstance(payload, dict):
                raise ValueError("not an object")
            update_id, person = channel.key(payload)
            kind = channel.kind(payload)
        except (KeyError, TypeError, ValueError, AttributeError, ArithmeticError, RecursionError):
            # Anything the parser or the channel cannot read (nesting too deep for json, a number too large for
            # an id, a string where an object belongs) is not an update: 400, never a 500 with a traceback.
            metrics.webhook_refused.labels(name, "bad_request").inc()
            return Response(status_code=400)
        state.touch(name)
        outcome = await state.sink.offer(channel, payload, update_id, person, kind)
        if outcome == DUPLICATE:  # a re-send: it was taken already
            metrics.webhook_refused.labels(name, "duplicate").inc()
            return Response(status_code=200)
        if outcome == OVERLOADED:  # not taken: the channel sends it again
            metrics.webhook_refused.labels(name, "overloaded").inc()
            return Response(status_code=503)
        return Response(status_code=200)

    async def media(request: Request) -> Response:
        # A one-time link first shows a page with a download link: a messenger's link preview fetches the
        # page, never the file, so only the person's own tap uses the link up.
        download = request.query_params.get("download") == "1"
        try:
            found = await state.media.resolve(request.path_params["token"], consume=download)
            if found is not None and found.once and not download:
                return HTMLResponse(DOWNLOAD_PAGE.format(name=html.escape(found.filename or "")),
                                    headers={"Cache-Control": "no-store", "X-Robots-Tag": "noindex"})
        except Expired:
            return Response(status_code=410)
        if found is None:
            return Response(status_code=404)
        headers = {"Cache-Control": "no-store" if found.once else "private, max-age=60",
                   "X-Content-Type-Options": "nosniff"}
        if found.filename:
            headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(found.filename)}"
        return Response(found.body, media_type=found.content_type, headers=headers)

    async def healthz(request: Request) -> Response:
        return PlainTextResponse("ok")

    async def readyz(request: Request) -> Response:
        problems = await state.problems()
        state.metrics.ready.set(0 if problems else 1)
        return JSONResponse({"ready": not problems, "problems": problems}, status_code=503 if problems else 200)

    async def metrics(request: Request) -> Response:
        try:
            await state.metrics.refresh(state.db, state.clock.now())
        except Exception as exc:  # a closed or busy database must not hide the other metrics
            log.warning("metrics: database not read", extra={"error": type(exc).__name__})
        state.metrics.ready.set(0 if await state.problems() else 1)
        body, content_type = state.metrics.render()
        return Response(body, headers={"Content-Type": content_type})



    board = dashboard_app(state, state.dashboard_secret, https=state.dashboard_https)

    async def dashboard(scope, receive, send) -> None:
        if state.svc is None:  # starting: the services are not there yet
            await Response("starting", status_code=503)(scope, receive, send)
            return
        await board(scope, receive, send)

    routes = [
        Mount("/dashboard", app=dashboard),
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
        Route("/media/{token}", media, methods=["GET"]),
        Route("/{channel}", webhook, methods=["POST"]),
    ]
    return Starlette(routes=routes)


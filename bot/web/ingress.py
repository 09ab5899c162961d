"""Where updates enter, whatever the channel: dropped when already seen, kept in order per person, run
concurrently across people, counted and timed, and drained on shutdown.

A channel that receives webhooks implements `WebhookChannel`; `bot/web/app.py` serves it at
`POST /{name}` with the same rules for every channel (secret, 403/503, 200 at once). Telegram's long polling
uses the same `Ingress` through its update processor (`bot/web/telegram.py`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable
from typing import Protocol, runtime_checkable

from bot.web.metrics import Metrics

log = logging.getLogger(__name__)
Job = Callable[[], Awaitable[None]]


@runtime_checkable
class WebhookChannel(Protocol):
    """One channel's webhook, as `POST /{name}` serves it.

    - `name`: the route and the metrics label ("telegram", "zalo").
    - `secret_header`: the request header carrying the shared secret (Telegram:
      "X-Telegram-Bot-Api-Secret-Token"; Zalo: "X-Bot-Api-Secret-Token"); `secret`: its expected value.
    - `key(payload)`: (dedupe id, person key). The dedupe id is unique per update (a re-sent update has the
      same); updates with the same person key are processed one after another, in arrival order. Raises
      KeyError, TypeError or ValueError when the payload is not an update (answered 400).
    - `kind(payload)`: a word from a small fixed set ("message", "callback_query" …) for metrics; never an id.
    - `accept(payload)`: process one update to the end (reply included). Runs after the 200 was sent.
    """

    name: str
    secret_header: str
    secret: str

    def key(self, payload: dict) -> tuple[str, str]: ...

    def kind(self, payload: dict) -> str: ...

    async def accept(self, payload: dict) -> None: ...


class Ingress:
    """Per-person lanes over one event loop.

    Each (channel, person) key has a lane: a queue worked by one task, so a person's updates run in order
    while different people's run at once (at most `max_concurrent` at a time). `max_pending` bounds the
    updates waiting or running; beyond it `submit` refuses (the webhook answers 503 and the channel sends
    again later). Seen update ids are remembered per channel, the newest `remember` of them (memory only:
    a restart forgets them, see README "Deploying")."""

    def __init__(self, metrics: Metrics | None = None, *, max_concurrent: int = 64, max_pending: int = 10_000,
                 remember: int = 10_000) -> None:
        self.metrics = metrics or Metrics()
        self.max_pending = max_pending
        self.remember = remember
        self._slots = asyncio.Semaphore(max_concurrent)
        self._lanes: dict[tuple[str, str], deque[tuple[str, Job, asyncio.Future[None]]]] = {}
        self._tasks: set[asyncio.Task] = set()
        self._seen: dict[str, OrderedDict[str, None]] = {}
        self._pending = 0
        self._idle = asyncio.Event()
        self._idle.set()

    @property
    def pending(self) -> int:
        """Updates waiting or being processed."""
        return self._pending

    def seen(self, channel: str, update_id: str) -> bool:
        """True when this update id came before (drop it); otherwise remember it and return False."""
        ids = self._seen.setdefault(channel, OrderedDict())
        if update_id in ids:
            return True
        ids[update_id] = None
        if len(ids) > self.remember:
            ids.popitem(last=False)
        return False

    def forget(self, channel: str, update_id: str) -> None:
        """Undo `seen` for an update that was not taken after all (so its re-send is processed)."""
        self._seen.get(channel, OrderedDict()).pop(update_id, None)

    def submit(self, channel: str, person: str, kind: str, job: Job) -> asyncio.Future[None] | None:
        """Queue `job` behind this person's earlier updates; None when full. The future ends with the job
        (its exceptions are logged and counted, never raised to the caller)."""
        if self._pending >= self.max_pending:
            return None
        self.metrics.updates.labels(channel, kind).inc()
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        key = (channel, person)
        self._pending += 1
        self._idle.clear()
        lane = self._lanes.get(key)
        if lane is not None:
            lane.append((kind, job, future))
        else:
            self._lanes[key] = deque([(kind, job, future)])
            task = asyncio.get_running_loop().create_task(self._work(key), name=f"ingress-{channel}")
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return future

    async def drain(self, within: float | None = None) -> bool:
        """Wait until every submitted update is processed (True), or `within` seconds pass (False)."""
        try:
            await asyncio.wait_for(self._idle.wait(), within)
        except TimeoutError:
            return False
        return True

    async def _work(self, key: tuple[str, str]) -> None:
        channel = key[0]
        lane = self._lanes[key]
        try:
            while lane:
                kind, job, future = lane[0]
                async with self._slots:
                    started = time.perf_counter()
                    try:
                        await job()
                    except Exception as exc:
                        # The channel handles its own errors (python-telegram-bot's error handler); this is the
                        # last line: the kind only, never the update.
                        self.metrics.update_errors.labels(channel).inc()
                        log.error("update failed", extra={"channel": channel, "error": type(exc).__name__})
                    finally:
                        self.metrics.update_seconds.labels(channel, kind).observe(time.perf_counter() - started)
                lane.popleft()
                self._done(future)
        finally:
            if self._lanes.get(key) is lane:
                del self._lanes[key]
            for _, _, future in lane:  # only on cancellation: nobody waits for ever
                self._done(future)

    def _done(self, future: asyncio.Future[None]) -> None:
        if not future.done():
            future.set_result(None)
        self._pending -= 1
        if self._pending == 0:
            self._idle.set()


TAKEN, DUPLICATE, OVERLOADED = "taken", "duplicate", "overloaded"


class Sink(Protocol):
    """Where a received update goes: processed in this process (`LocalSink`) or put on the shared queue of
    several workers (bot/queue.py `QueueSink`). `offer` answers TAKEN (answer 200), DUPLICATE (a re-send:
    200, dropped) or OVERLOADED (not taken: 503, the channel sends it again). `drain` waits for what this
    process still runs (the queue's ingress runs nothing)."""

    async def offer(self, channel: WebhookChannel, payload: dict, update_id: str, person: str,
                    kind: str) -> str: ...

    async def drain(self, within: float | None = None) -> bool: ...

    @property
    def pending(self) -> int: ...


class LocalSink:
    """The single process's sink: the `Ingress` lanes of this event loop (in-memory dedupe)."""

    def __init__(self, ingress: Ingress) -> None:
        self.ingress = ingress

    async def offer(self, channel: WebhookChannel, payload: dict, update_id: str, person: str, kind: str) -> str:
        if self.ingress.seen(channel.name, update_id):  # a re-send: it was taken already
            return DUPLICATE
        if self.ingress.submit(channel.name, person, kind, lambda: channel.accept(payload)) is None:
            self.ingress.forget(channel.name, update_id)
            return OVERLOADED
        return TAKEN

    async def drain(self, within: float | None = None) -> bool:
        return await self.ingress.drain(within)

    @property
    def pending(self) -> int:
        return self.ingress.pending

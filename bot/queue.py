"""Several workers on one PostgreSQL database (issue 17): the update queue and the timed work, on procrastinate.

`python -m bot ingress` takes each webhook (or polled update) once (`seen_updates`, bot/data/updates.py) and
defers it as a `process_update` job on the queue "updates" with the lock "{channel}:{person}": procrastinate
runs the jobs of one lock one at a time, in id order (its procrastinate_fetch_job_v2 skips a job while an
earlier one of the same lock waits or runs), so one person's updates keep their order while different people's
run on different workers. `python -m bot worker` runs them through the same channel objects the single
process uses (bot/web/telegram.py TelegramWebhook, bot/channels/zalo/webhook.py ZaloWebhook).

Timed work: escalations, retention and thanks are procrastinate periodic tasks (each period deferred once
across all workers: a unique row per task and time), queue "ticks". The campaigns tick runs in every worker
each second (it only starts this worker's senders; bot/campaigns.py shares the recipients among them).

A worker killed (SIGKILL, a lost machine) leaves its jobs 'doing', which would also hold back that person's
later updates. Workers beat every HEARTBEAT seconds; every worker looks every REAP_EVERY seconds for jobs of
workers silent for STALLED_AFTER seconds and puts them back to run (procrastinate's get_stalled_jobs →
retry_job recipe), one worker at a time (an advisory lock), so each such job runs again once.

This module holds no SQL of the bot's own (that is bot/data/updates.py); procrastinate keeps its tables.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from procrastinate import App, PsycopgConnector
from procrastinate.jobs import Status

from bot import help_requests, outcomes, privacy
from bot.data import Database
from bot.data import updates as updates_data
from bot.web.ingress import DUPLICATE, OVERLOADED, TAKEN, WebhookChannel
from bot.web.metrics import Metrics

if TYPE_CHECKING:
    from bot.services import Services

log = logging.getLogger(__name__)
UPDATES = "updates"  # the queue of people's updates
TICKS = "ticks"  # the queue of the periodic tasks
HEARTBEAT = 2.0  # seconds between a worker's heartbeats
STALLED_AFTER = 10.0  # seconds without a heartbeat before a worker's jobs run again elsewhere
REAP_EVERY = 2.0  # seconds between looks for such jobs
REAPER_LOCK = "procrastinate-reaper"
# (periodic id, cron): escalations every minute, retention hourly, thanks every 15 minutes (bot/app.py TICKS)
PERIODIC = {"escalations": "* * * * *", "retention": "0 * * * *", "thanks": "*/15 * * * *"}
TICK_FUNCTIONS: dict[str, Callable[[Services], Awaitable[None]]] = {
    "escalations": help_requests.tick, "retention": privacy.retention_tick, "thanks": outcomes.thanks_tick}


@dataclass
class Runtime:
    """What a worker's jobs need: the channels that process an update, and the services for the ticks. Empty
    in the ingress (it only defers)."""

    channels: dict[str, WebhookChannel] = field(default_factory=dict)
    svc: Services | None = None
    processed: int = 0  # updates processed by this worker (logs, tests)


def build(url: str, runtime: Runtime | None = None, *, pool_size: int = 10) -> App:
    """The procrastinate App on DATABASE_URL (psycopg's pool; a libpq URL, so `?host=/socket/dir` works as for
    asyncpg) with the tasks registered. `runtime` is the worker's; the ingress passes none."""
    url = "postgresql://" + url.split("://", 1)[1]  # libpq knows both schemes; one spelling in logs
    runtime = runtime or Runtime()
    app = App(connector=PsycopgConnector(conninfo=url, min_size=1, max_size=pool_size),
              periodic_defaults={"max_delay": 600})

    @app.task(name="process_update", queue=UPDATES)
    async def process_update(channel: str, payload: dict[str, Any]) -> None:
        handler = runtime.channels.get(channel)
        if handler is None:  # a channel this worker does not serve (its token unset): say so, lose nothing else
            log.error("update for a channel this worker does not serve", extra={"channel": channel})
            raise LookupError(channel)
        try:
            await handler.accept(payload)
        except Exception as exc:  # the channel handles its own errors; this is the last line (the kind only)
            log.error("update failed", extra={"channel": channel, "error": type(exc).__name__})
        runtime.processed += 1

    for name, cron in PERIODIC.items():
        def make(tick_name: str):
            async def tick(timestamp: int) -> None:
                assert runtime.svc is not None
                await TICK_FUNCTIONS[tick_name](runtime.svc)
            return tick

        app.periodic(cron=cron, periodic_id=name)(app.task(name=name, queue=TICKS)(make(name)))
    return app


async def ensure_schema(app: App, db: Database) -> bool:
    """procrastinate's tables, created once when absent, under the bot's migration lock (processes starting
    together create them once). True when this call created them."""
    async with db.migration_lock():
        if await updates_data.has_table(db, "procrastinate_jobs"):
            return False
        await app.schema_manager.apply_schema_async()
        log.info("procrastinate schema applied")
        return True


class QueueSink:
    """The ingress's sink (bot/web/ingress.py `Sink`): each new update recorded in `seen_updates` and deferred;
    a re-send dropped; a defer that fails forgets the update again and answers 503 (the channel re-sends).
    The one window: the ingress killed between the record and the defer loses that update (Telegram got no
    answer and re-sends it, but the record says it was taken)."""

    def __init__(self, app: App, metrics: Metrics | None = None, now: Callable[[], str] | None = None) -> None:
        self.app = app
        self.metrics = metrics or Metrics()
        self.db: Database | None = None  # set once the services are open
        self.now = now  # the time as ISO text (Services.now)
        self.pending = 0

    async def offer(self, channel: WebhookChannel, payload: dict, update_id: str, person: str, kind: str) -> str:
        assert self.db is not None and self.now is not None
        try:
            if not await updates_data.take(self.db, channel.name, update_id, self.now()):
                return DUPLICATE
        except Exception as exc:  # the database does not answer: not taken, the channel sends it again
            log.warning("update not recorded", extra={"channel": channel.name, "error": type(exc).__name__})
            return OVERLOADED
        try:
            await defer(self.app, channel.name, person, payload)
        except Exception as exc:
            log.warning("update not queued", extra={"channel": channel.name, "error": type(exc).__name__})
            with contextlib.suppress(Exception):
                await updates_data.forget(self.db, channel.name, update_id)
            return OVERLOADED
        self.metrics.updates.labels(channel.name, kind).inc()
        return TAKEN

    async def drain(self, within: float | None = None) -> bool:
        return True  # nothing runs here: the workers process what was taken


async def defer(app: App, channel: str, person: str, payload: dict) -> int:
    """Queue one update for the workers, behind the same person's earlier ones; its job id."""
    task = app.tasks["process_update"]
    return await task.configure(lock=f"{channel}:{person}").defer_async(channel=channel, payload=payload)


async def reap(app: App, db: Database, stalled_after: float = STALLED_AFTER) -> int:
    """Put the jobs of workers silent for `stalled_after` seconds back to run; how many. One reaper at a time
    across all workers (a transaction's advisory lock), so a job is put back once, not once per worker. A job
    already put back once whose worker went silent again is marked failed instead (one error line): an update
    whose handling blocks a worker past its heartbeat would otherwise stall every worker in turn, for ever."""
    count = 0
    async with db.transaction():
        await db.lock(REAPER_LOCK)
        for job in await app.job_manager.get_stalled_jobs(seconds_since_heartbeat=stalled_after):
            try:
                if job.attempts >= 1:  # its second worker went silent too: the job itself stops them
                    await app.job_manager.finish_job(job, status=Status.FAILED, delete_job=False)
                    log.error("stalled job given up: it stalled a worker twice",
                              extra={"task": job.task_name, "job": job.id})
                    continue
                await app.job_manager.retry_job(job)
            except Exception as exc:  # finished or put back meanwhile
                log.warning("stalled job not retried", extra={"error": type(exc).__name__})
                continue
            count += 1
            log.warning("stalled job put back to run", extra={"task": job.task_name, "job": job.id})
    return count


async def every(seconds: float, work: Callable[[], Awaitable[Any]], name: str) -> None:
    """Run `work` every `seconds` until cancelled. A failure is one line and the loop goes on; while it goes on
    failing with the same kind of error (the database stopped) nothing more is logged, and the first success
    after it is one line: one line per problem, not one a second."""
    failing: str | None = None  # the kind of error logged last, until a success
    while True:
        await asyncio.sleep(seconds)
        try:
            await work()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            if type(exc).__name__ != failing:
                failing = type(exc).__name__
                log.error("periodic work failed", extra={"work": name, "error": failing})
            continue
        if failing is not None:
            failing = None
            log.info("periodic work works again", extra={"work": name})


async def offer_until_taken(sink: Any, channel: WebhookChannel, payload: dict, attempts: int = 8) -> bool:
    """A polled update (the channel will not send it again): offered until the queue takes it, waiting 1, 2,
    4 … s between tries. False when it was not an update, or the queue stayed unusable (logged)."""
    try:
        update_id, person = channel.key(payload)
    except (KeyError, TypeError, ValueError):
        return False
    kind = channel.kind(payload)
    for attempt in range(attempts):
        if await sink.offer(channel, payload, update_id, person, kind) != OVERLOADED:
            return True
        await asyncio.sleep(min(2.0 ** attempt, 30.0))
    log.error("polled update not queued: the database does not take it", extra={"channel": channel.name})
    return False


def intake(sink: Any, channel: WebhookChannel) -> Callable[[dict], Awaitable[bool]]:
    """For a channel's long polling in the ingress: each polled update onto the queue (`offer_until_taken`)."""

    async def take(payload: dict) -> bool:
        return await offer_until_taken(sink, channel, payload)

    return take

"""The reaper (bot/queue.py `reap`) on a real PostgreSQL: a job whose worker went silent runs again once, and
only once. A job that silences its worker every time (an update whose handling blocks the process past the
heartbeat) must not go round every worker for ever."""

from __future__ import annotations

import asyncpg
import pytest

from bot import queue
from bot.data import Database


async def _stalled_job(url: str, attempts: int) -> int:
    """One queued update, taken by a worker that has been silent for an hour, after `attempts` earlier runs."""
    app = queue.build(url, pool_size=1)
    await app.open_async()
    try:
        db = await Database.open(url)
        try:
            await queue.ensure_schema(app, db)
        finally:
            await db.close()
        job = await queue.defer(app, "telegram", "u1", {"update_id": 1})
    finally:
        await app.connector.close_async()
    conn = await asyncpg.connect(url)
    try:
        worker = await conn.fetchval("INSERT INTO procrastinate_workers (last_heartbeat) "
                                     "VALUES (now() - interval '1 hour') RETURNING id")
        await conn.execute("UPDATE procrastinate_jobs SET status = 'doing', worker_id = $1, attempts = $2 "
                           "WHERE id = $3", worker, attempts, job)
    finally:
        await conn.close()
    return job


async def _reap(url: str) -> None:
    app = queue.build(url, pool_size=1)
    await app.open_async()
    db = await Database.open(url)
    try:
        await queue.reap(app, db)
    finally:
        await db.close()
        await app.connector.close_async()


async def _status(url: str, job: int) -> str:
    conn = await asyncpg.connect(url)
    try:
        return await conn.fetchval("SELECT status::text FROM procrastinate_jobs WHERE id = $1", job)
    finally:
        await conn.close()


@pytest.fixture
def url(pg):
    made = pg.create(migrated=False)
    yield made
    pg.drop(made)


async def test_a_dead_workers_job_runs_again(url):
    job = await _stalled_job(url, attempts=0)
    await _reap(url)
    assert await _status(url, job) == "todo"


async def test_a_job_that_stalls_its_worker_again_is_given_up_not_passed_round_for_ever(url):
    job = await _stalled_job(url, attempts=1)  # put back once already, and its second worker went silent too
    await _reap(url)
    assert await _status(url, job) == "failed"

"""`bot.queue.every`, the worker's repeated work (campaign ticks each second, the reaper every 2 s): a problem
that lasts (PostgreSQL stopped) is one log line, not one a second, and its end is one line too."""

from __future__ import annotations

import asyncio
import logging

import pytest

from bot import queue


async def test_a_lasting_failure_is_logged_once_and_its_end_once(caplog):
    calls = 0
    done = asyncio.Event()

    async def work() -> None:
        nonlocal calls
        calls += 1
        if calls == 12:
            done.set()
        if calls <= 10:
            raise ConnectionRefusedError("no database")

    caplog.set_level(logging.INFO, logger="bot.queue")
    task = asyncio.ensure_future(queue.every(0, work, "campaigns"))
    await done.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    lines = [r.getMessage() for r in caplog.records if r.name == "bot.queue"]
    assert lines == ["periodic work failed", "periodic work works again"]

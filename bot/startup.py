"""Connecting to a channel's API at start: one retry rule for Telegram and Zalo."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from bot.config import StartupError

log = logging.getLogger(__name__)
MAX_PAUSE = 30.0  # seconds between attempts at most


async def until_reachable(connect: Callable[[], Awaitable[object]], transient: Callable[[Exception], str | None], *,
                          service: str, where: str, seconds: int, stop: asyncio.Event) -> bool:
    """Await `connect()` until it succeeds (True). A failure `transient` names (it returns a short reason such
    as "TimedOut" or "503"; None for anything else, which propagates) is retried with backoff 1, 2, 4 … 30 s
    for `seconds` (STARTUP_RETRY_SECONDS), one WARNING line per attempt, then StartupError with one line.
    False when `stop` (SIGTERM, SIGINT) is set first: the process then ends at once."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    delay, attempt = 1.0, 0
    while True:
        attempt += 1
        try:
            await connect()
            return True
        except Exception as exc:
            reason = transient(exc)
            if reason is None:
                raise
            left = deadline - loop.time()
            if left <= 0:
                raise StartupError(f"{service} not reachable at {where} ({reason}) after {attempt} attempt(s) in "
                                   f"{seconds} s (STARTUP_RETRY_SECONDS): giving up") from None
            pause = min(delay, left)
            log.warning(f"{service} not reachable at {where} ({reason}), attempt {attempt}: retrying in {pause:.0f} s")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), pause)
        if stop.is_set():
            return False
        delay = min(delay * 2, MAX_PAUSE)

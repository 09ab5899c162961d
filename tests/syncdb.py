"""A synchronous look into the bot's database for tests that check it between steps (sqlite3's API).

SQLite: a plain sqlite3 connection to the file. PostgreSQL: one asyncpg connection driven on a thread of its
own, answering `execute(sql, params).fetchone()/fetchall()` with tuples as sqlite3 does (`?` placeholders).
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from typing import Any

import asyncpg

from bot.config import Settings
from bot.data.dialect import placeholders


class _Rows:
    def __init__(self, rows: list[tuple]) -> None:
        self._rows = rows

    def fetchone(self) -> tuple | None:
        return self._rows[0] if self._rows else None

    def fetchall(self) -> list[tuple]:
        return self._rows


class SyncPostgres:
    def __init__(self, url: str) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="syncdb", daemon=True)
        self._thread.start()
        self._conn: asyncpg.Connection = self._run(asyncpg.connect(url))

    def _run(self, coro) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout=60)

    def execute(self, sql: str, params: tuple = ()) -> _Rows:
        return _Rows([tuple(r) for r in self._run(self._conn.fetch(placeholders(sql), *params))])

    def close(self) -> None:
        self._run(self._conn.close())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)


def connect(settings: Settings) -> sqlite3.Connection | SyncPostgres:
    """The test's view of the bot's database, whichever store it runs on."""
    if settings.database_url:
        return SyncPostgres(settings.database_url)
    return sqlite3.connect(settings.database_path, isolation_level=None)

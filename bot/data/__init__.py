"""The one SQLite connection (aiosqlite) and the numbered migrations that shape it.

All SQL lives in this package; services call the small functions of its modules and never write
SQL themselves, so a later move to PostgreSQL touches only this layer.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
from collections.abc import AsyncIterator, Iterable
from pathlib import Path
from typing import Any

import aiosqlite

from bot.data.migrations import MIGRATIONS

log = logging.getLogger(__name__)
# Set while the current task holds the database's transaction, so its own statements do not wait.
_holder: contextvars.ContextVar[Database | None] = contextvars.ContextVar("db_transaction", default=None)


class Database:
    def __init__(self, conn: aiosqlite.Connection):
        self.conn = conn
        # One connection serves every task: a transaction must not take in another task's statements,
        # so statements wait while some other task holds a transaction open.
        self._lock = asyncio.Lock()

    @classmethod
    async def open(cls, path: Path | str, *, upto: int | None = None) -> Database:
        """Open (creating folders), set pragmas, apply migrations up to `upto` (default: all)."""
        if str(path) != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        conn = await aiosqlite.connect(str(path), isolation_level=None)  # we manage transactions
        conn.row_factory = aiosqlite.Row
        for pragma in ("journal_mode = WAL", "foreign_keys = ON", "busy_timeout = 5000",
                       "synchronous = NORMAL"):
            await conn.execute(f"PRAGMA {pragma}")
        db = cls(conn)
        await db.migrate(upto)
        return db

    async def close(self) -> None:
        await self.conn.close()

    async def version(self) -> int:
        await self.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)"
        )
        row = await self.fetchone("SELECT MAX(version) AS v FROM schema_migrations")
        return int(row["v"] or 0) if row else 0

    async def migrate(self, upto: int | None = None) -> int:
        """Apply each missing migration in its own transaction and record it."""
        current = await self.version()
        target = len(MIGRATIONS) if upto is None else upto
        for number, statements in enumerate(MIGRATIONS[:target], 1):
            if number <= current:
                continue
            async with self.transaction():
                for sql in statements:
                    await self.execute(sql)
                await self.execute(
                    "INSERT INTO schema_migrations (version, applied_at) VALUES (?, datetime('now'))", (number,)
                )
            log.info("migration applied", extra={"version": number})
        return await self.version()

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[Database]:
        """BEGIN IMMEDIATE … COMMIT, all or nothing; nested use joins the outer transaction."""
        if _holder.get() is self:
            yield self
            return
        async with self._lock:
            token = _holder.set(self)
            try:
                await self.conn.execute("BEGIN IMMEDIATE")
                try:
                    yield self
                except BaseException:
                    await self.conn.execute("ROLLBACK")
                    raise
                await self.conn.execute("COMMIT")
            finally:
                _holder.reset(token)

    @contextlib.asynccontextmanager
    async def _turn(self) -> AsyncIterator[None]:
        if _holder.get() is self:
            yield
        else:
            async with self._lock:
                yield

    async def execute(self, sql: str, params: Iterable[Any] = ()) -> aiosqlite.Cursor:
        """Run one statement; the cursor tells rowcount and lastrowid."""
        async with self._turn():
            return await self.conn.execute(sql, tuple(params))

    async def executemany(self, sql: str, rows: Iterable[Iterable[Any]]) -> None:
        async with self._turn():
            await self.conn.executemany(sql, [tuple(r) for r in rows])

    # One trip to the database thread per query (a cursor's execute, fetch and close would be three):
    # on the update path, these trips are most of the time an update spends in the database.
    async def fetchone(self, sql: str, params: Iterable[Any] = ()) -> aiosqlite.Row | None:
        rows = await self.fetchall(sql, params)
        return rows[0] if rows else None

    async def fetchall(self, sql: str, params: Iterable[Any] = ()) -> list[aiosqlite.Row]:
        async with self._turn():
            return list(await self.conn.execute_fetchall(sql, tuple(params)))

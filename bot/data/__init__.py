"""The one SQLite connection (aiosqlite) and the numbered migrations that shape it.

All SQL lives in this package; services call the small functions of its modules and never write
SQL themselves, so a later move to PostgreSQL touches only this layer.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import os
import sqlite3
import stat
from collections.abc import AsyncIterator, Iterable
from pathlib import Path
from typing import Any

import aiosqlite

from bot.config import StartupError
from bot.data.migrations import MIGRATIONS

log = logging.getLogger(__name__)
# Set while the current task holds the database's transaction, so its own statements do not wait.
_holder: contextvars.ContextVar[Database | None] = contextvars.ContextVar("db_transaction", default=None)


def _refuse_unwritable(path: Path) -> None:
    """A read-only file (or folder) would be accepted by SQLite and then fail on every write: refuse it now.
    A file without any write permission bit counts as read-only even for root, who could write it anyway."""
    if path.exists():
        mode = path.stat().st_mode
        if not os.access(path, os.W_OK) or not mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH):
            raise StartupError(f"Database error: {path} is read-only: make it writable for the bot's user")
        if not os.access(path.parent, os.W_OK):
            raise StartupError(f"Database error: the folder of {path} is read-only (SQLite keeps its journal "
                               "next to the file): make it writable for the bot's user")


def _explain(exc: sqlite3.DatabaseError) -> str:
    """SQLite's own reason, put as what an operator can do about it (no SQL, no data)."""
    reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    if "readonly" in reason or "read-only" in reason:
        return f"cannot be written ({reason}): make it and its folder writable for the bot's user"
    if "locked" in reason or "busy" in reason:
        return f"is in use by another program ({reason}): stop the other bot process first"
    return f"is not a usable SQLite database ({reason}): restore a backup or move the file away"


class Database:
    def __init__(self, conn: aiosqlite.Connection):
        self.conn = conn
        self.path = "the database"  # the file, for error messages; set by open()
        # One connection serves every task: a transaction must not take in another task's statements,
        # so statements wait while some other task holds a transaction open.
        self._lock = asyncio.Lock()

    @classmethod
    async def open(cls, path: Path | str, *, upto: int | None = None) -> Database:
        """Open (creating folders), set pragmas, check the file, apply migrations up to `upto` (default: all).

        A file the bot cannot use (not SQLite, damaged, read-only, written by a newer version) raises
        StartupError naming the file and the problem, and the connection's thread is closed first: a failed
        start never leaves a thread that keeps the process alive."""
        memory = str(path) == ":memory:"
        if not memory:
            _refuse_unwritable(Path(path))
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        conn = await aiosqlite.connect(str(path), isolation_level=None)  # we manage transactions
        try:
            conn.row_factory = aiosqlite.Row
            for pragma in ("journal_mode = WAL", "foreign_keys = ON", "busy_timeout = 5000",
                           "synchronous = NORMAL"):
                await conn.execute(f"PRAGMA {pragma}")
            if not memory:
                async with conn.execute("PRAGMA quick_check(1)") as cursor:
                    row = await cursor.fetchone()
                if row is None or row[0] != "ok":
                    raise StartupError(f"Database error: {path} is damaged (SQLite's check failed): "
                                       "restore a backup (python -m bot backup makes one)")
            db = cls(conn)
            db.path = str(path)
            await db.migrate(upto)
        except sqlite3.DatabaseError as exc:
            await conn.close()
            raise StartupError(f"Database error: {path} {_explain(exc)}") from None
        except BaseException:
            await conn.close()
            raise
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
        if current > len(MIGRATIONS):
            raise StartupError(f"Database error: {self.path} was written by a newer version of the bot (schema "
                               f"version {current}, this one knows up to {len(MIGRATIONS)}): run that version "
                               "or restore a backup made before it")
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

"""The data-access layer: one `Database` interface over two stores, and the numbered migrations that shape them.

Without DATABASE_URL the bot keeps one SQLite file (aiosqlite), as a ward needs; `DATABASE_URL=postgresql://…`
selects PostgreSQL (asyncpg, bot/data/postgres.py) for several processes sharing one store. All SQL lives in
this package; services call the small functions of its modules and never write SQL themselves. The modules
write SQL both engines run; bot/data/dialect.py says what differs and how it is translated.

The interface (`Database`): `execute` (→ `.rowcount`), `executemany`, `fetchone`, `fetchall` (rows are read as
`row["column"]`, `row[0]`, `dict(row)`), `transaction()` (all or nothing; nested use joins), `close()`, and
a few per-dialect pieces of SQL text (`seconds_between`, `local_day`, `group_concat`, `for_update`,
`skip_locked`, `live_member`), and `join` for processes that share work (the campaign senders). Inserts
that need the new row's id say `RETURNING id`; there is no `lastrowid`.
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
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import aiosqlite

from bot.config import StartupError
from bot.data.dialect import SQLITE, statement
from bot.data.migrations import MIGRATIONS

log = logging.getLogger(__name__)
# Set while the current task holds the SQLite database's transaction, so its own statements do not wait.
_holder: contextvars.ContextVar[SqliteDatabase | None] = contextvars.ContextVar("db_transaction", default=None)


def is_url(target: Path | str) -> bool:
    """Whether a database target names a PostgreSQL server (a DATABASE_URL) rather than a SQLite file."""
    return str(target).startswith(("postgresql://", "postgres://"))


class Result(Protocol):
    """What `execute` returns: how many rows the statement changed (or inserted)."""

    rowcount: int


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
    """The interface every module of bot/data uses; `Database.open` picks the store."""

    dialect: str = SQLITE
    path: str = "the database"  # the file or server, for error messages

    @classmethod
    async def open(cls, target: Path | str, *, upto: int | None = None) -> Database:
        """Open the store and apply migrations up to `upto` (default: all). `target` is a SQLite file (created
        with its folders) or a DATABASE_URL (postgresql://…). A store the bot cannot use raises StartupError
        with one line naming it and the problem."""
        if is_url(target):
            from bot.data.postgres import PostgresDatabase

            return await PostgresDatabase.connect(str(target), upto=upto)
        return await SqliteDatabase.open_file(target, upto=upto)

    # --- the statements (each store implements them) ---------------------------------------------------
    async def close(self) -> None:
        raise NotImplementedError

    def transaction(self) -> contextlib.AbstractAsyncContextManager[Database]:
        """All or nothing; nested use joins the outer transaction."""
        raise NotImplementedError

    async def execute(self, sql: str, params: Iterable[Any] = ()) -> Result:
        """Run one statement; the result tells how many rows it changed."""
        raise NotImplementedError

    async def executemany(self, sql: str, rows: Iterable[Iterable[Any]]) -> None:
        raise NotImplementedError

    async def fetchall(self, sql: str, params: Iterable[Any] = ()) -> list[Any]:
        raise NotImplementedError

    async def fetchone(self, sql: str, params: Iterable[Any] = ()) -> Any | None:
        rows = await self.fetchall(sql, params)
        return rows[0] if rows else None

    # --- SQL text that differs between the stores --------------------------------------------------------
    def seconds_between(self, later: str, earlier: str) -> str:
        """SQL for the whole seconds from `earlier` to `later`, two columns of ISO timestamps."""
        return f"ROUND((julianday({later}) - julianday({earlier})) * 86400)"

    def local_day(self, column: str) -> str:
        """SQL for the local date (YYYY-MM-DD) of an ISO timestamp column; takes one parameter, the offset
        from UTC as text like '+420 minutes'."""
        return f"date({column}, ?)"

    def group_concat(self, column: str) -> str:
        """SQL for an aggregate joining a text column's values with commas (in no particular order)."""
        return f"group_concat({column}, ',')"

    @property
    def for_update(self) -> str:
        """Appended to a SELECT that a transaction then writes back: PostgreSQL locks the rows read (SQLite's
        transactions already run one at a time)."""
        return ""

    @property
    def skip_locked(self) -> str:
        """Appended to a SELECT whose rows one statement then claims: PostgreSQL locks them and skips rows another
        transaction holds (FOR UPDATE SKIP LOCKED), so concurrent claimers never wait for or take the same rows.
        SQLite: nothing (its writes run one at a time)."""
        return ""

    async def join(self, namespace: int) -> Member:
        """This process as a member of a group that shares work (`namespace` names the group): an id no other
        live member has, held until `Member.close()` or the process's end, and how many members are live.
        SQLite (one process per file): the process id, and always one member."""
        return Member(os.getpid())

    def live_member(self, column: str, namespace: int) -> str:
        """SQL, true when the member id in `column` belongs to a live member of `namespace`'s group; takes one
        parameter, this process's member id. PostgreSQL: a member is live while its advisory lock is granted (the
        server drops it the instant the member's connection ends, however its process ended). SQLite: only this
        process is live."""
        return f"{column} = ?"

    async def claim_instance(self, shared: bool = False) -> None:
        """Make this process the only bot process on the database (`shared`: one of the ingress and workers,
        which exclude only a single bot process), or raise StartupError with one line.
        SQLite: nothing here (its lock file, bot/instance.py, is taken before the file is opened)."""

    async def lock(self, name: str) -> None:
        """Inside a transaction: no other transaction passes `lock(name)` until this one ends (PostgreSQL: an
        advisory lock, for a decision one statement cannot take alone; SQLite's transactions are already one
        at a time)."""

    async def erasing(self) -> None:
        """Before erasing a person's data: SQLite overwrites deleted text with zeros (secure_delete)."""

    async def checkpoint(self) -> None:
        """After erasing: SQLite copies its write-ahead log into the file and empties it, so erased text does
        not stay readable in the -wal file. PostgreSQL has nothing to do here (its WAL is the server's)."""

    # --- migrations, shared by both stores ---------------------------------------------------------------
    @contextlib.asynccontextmanager
    async def _migrating(self) -> AsyncIterator[None]:
        """Held while migrating: PostgreSQL takes a lock so that workers starting at once migrate once."""
        yield

    def migration_lock(self) -> contextlib.AbstractAsyncContextManager[None]:
        """Held while setting up what other processes must not set up at the same time (the queue's tables)."""
        return self._migrating()

    async def version(self) -> int:
        await self.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)"
        )
        row = await self.fetchone("SELECT MAX(version) AS v FROM schema_migrations")
        return int(row["v"] or 0) if row else 0

    async def migrate(self, upto: int | None = None) -> int:
        """Apply each missing migration in its own transaction and record it; returns the version reached.
        A migration's statements are SQLite's, translated for PostgreSQL unless it gives its own
        (bot/data/dialect.py)."""
        async with self._migrating():
            current = await self.version()
            if current > len(MIGRATIONS):
                raise StartupError(f"Database error: {self.path} was written by a newer version of the bot "
                                   f"(schema version {current}, this one knows up to {len(MIGRATIONS)}): run that "
                                   "version or restore a backup made before it")
            target = len(MIGRATIONS) if upto is None else upto
            for number, statements in enumerate(MIGRATIONS[:target], 1):
                if number <= current:
                    continue
                async with self.transaction():
                    if await self.version() >= number:  # another process applied it meanwhile
                        continue
                    for sql in statements:
                        text = statement(sql, self.dialect)
                        if text:
                            await self.execute(text)
                    await self.execute("INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)",
                                       (number, datetime.now(UTC).isoformat(timespec="seconds")))
                    log.info("migration applied", extra={"version": number})
            return await self.version()


class Member:
    """One process in a group that shares work (`Database.join`): `id` is unique among the live members."""

    alone = True  # SQLite: the only member there can be (PgMember: False)

    def __init__(self, member_id: int) -> None:
        self.id = member_id

    async def count(self) -> int:
        """How many members are live now, this one included (raises if this member's own hold was lost)."""
        return 1

    async def close(self) -> None:
        """Leave the group (the id is never handed out again on PostgreSQL)."""


class SqliteDatabase(Database):
    """One SQLite file through one aiosqlite connection (a ward's bot: one process)."""

    dialect = SQLITE

    def __init__(self, conn: aiosqlite.Connection):
        self.conn = conn
        self.path = "the database"  # the file, for error messages; set by open()
        # One connection serves every task: a transaction must not take in another task's statements,
        # so statements wait while some other task holds a transaction open.
        self._lock = asyncio.Lock()

    @classmethod
    async def open_file(cls, path: Path | str, *, upto: int | None = None) -> SqliteDatabase:
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
        """Run one statement; the cursor tells rowcount."""
        async with self._turn():
            return await self.conn.execute(sql, tuple(params))

    async def executemany(self, sql: str, rows: Iterable[Iterable[Any]]) -> None:
        async with self._turn():
            await self.conn.executemany(sql, [tuple(r) for r in rows])

    # One trip to the database thread per query (a cursor's execute, fetch and close would be three):
    # on the update path, these trips are most of the time an update spends in the database.
    async def fetchall(self, sql: str, params: Iterable[Any] = ()) -> list[aiosqlite.Row]:
        async with self._turn():
            return list(await self.conn.execute_fetchall(sql, tuple(params)))

    async def erasing(self) -> None:
        await self.execute("PRAGMA secure_delete = ON")

    async def checkpoint(self) -> None:
        await self.execute("PRAGMA wal_checkpoint(TRUNCATE)")

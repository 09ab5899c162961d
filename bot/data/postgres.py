"""PostgreSQL behind the same `Database` interface (asyncpg): several bot processes share one store.

Statements are the modules' own SQL with `?` placeholders turned into `$N` (bot/data/dialect.py). Outside a
transaction each statement takes a connection from the pool for itself; `transaction()` keeps one connection
for the task until it ends (READ COMMITTED: the modules decide races with one conditional statement, and lock
what a transaction reads and then writes back with `db.for_update`).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import socket
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from bot.config import StartupError
from bot.data import Database, Member
from bot.data.dialect import POSTGRES, placeholders

log = logging.getLogger(__name__)
# The connection the current task holds (and whether it is inside a transaction on it), per database.
_held: contextvars.ContextVar[tuple[PostgresDatabase, asyncpg.Connection, bool] | None] = contextvars.ContextVar(
    "pg_connection", default=None)
MIGRATION_LOCK = 7_270_017  # pg_advisory_lock keys: one process migrates at a time,
INSTANCE_LOCK = 7_270_018  # and one `run` (or console) process serves a database (bot/instance.py's role)
POOL_SIZE = 10


@dataclass(frozen=True)
class Status:
    rowcount: int


def _rowcount(status: str) -> int:
    """'INSERT 0 5', 'UPDATE 3', 'DELETE 1' → 5, 3, 1; a statement without a count → -1 (as sqlite3 says)."""
    last = status.rsplit(" ", 1)[-1]
    return int(last) if last.isdigit() else -1


def _clean(params: Iterable[Any]) -> tuple:
    """PostgreSQL text cannot hold the NUL character (SQLite's can): it is dropped from text values, which
    only odd input carries (nothing the bot stores means anything with it)."""
    return tuple(p.replace("\x00", "") if type(p) is str and "\x00" in p else p for p in params)


def _number(text: str) -> int | float:
    """numeric as SQLite gives it: SUM of integers an int, AVG a float (never Decimal, which JSON refuses)."""
    return float(text) if any(c in text for c in ".eEN") else int(text)


async def _setup(conn: asyncpg.Connection) -> None:
    await conn.set_type_codec("numeric", encoder=str, decoder=_number, schema="pg_catalog", format="text")


def redacted(url: str) -> str:
    """The URL without its password, for messages and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def _explain(exc: BaseException) -> str:
    if isinstance(exc, asyncpg.InvalidCatalogNameError):
        return "the database does not exist: create it (createdb) or fix DATABASE_URL"
    if isinstance(exc, asyncpg.InvalidPasswordError | asyncpg.InvalidAuthorizationSpecificationError):
        return "the server refused the user or password: check DATABASE_URL"
    if isinstance(exc, socket.gaierror):
        return "its host name does not resolve: check DATABASE_URL"
    if isinstance(exc, OSError | TimeoutError):
        return "the server does not answer: start PostgreSQL or fix the host and port in DATABASE_URL"
    return f"cannot be used ({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''})"


class PgMember(Member):
    """A live member: its lock connection holds the advisory lock (namespace, id)."""

    alone = False

    def __init__(self, member_id: int, namespace: int, conn: asyncpg.Connection) -> None:
        super().__init__(member_id)
        self.namespace = namespace
        self.conn = conn
        self._turn = asyncio.Lock()  # one statement at a time on the connection

    async def count(self) -> int:
        """The granted locks of the namespace, read on the lock's own connection: if that connection was lost,
        this raises (asyncpg's error) and the caller stops sending, as the others may already count it gone."""
        async with self._turn:
            n = await self.conn.fetchval(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND classid = $1::int::oid "
                "AND objsubid = 2 AND granted AND database = (SELECT oid FROM pg_database "
                "WHERE datname = current_database())", self.namespace)
        return max(1, int(n))

    async def close(self) -> None:
        if not self.conn.is_closed():
            await self.conn.close()


class PostgresDatabase(Database):
    """A pool of asyncpg connections to one PostgreSQL database."""

    dialect = POSTGRES

    def __init__(self, pool: asyncpg.Pool, url: str) -> None:
        self.pool = pool
        self.url = url
        self.path = redacted(url)
        self._instance: asyncpg.Connection | None = None  # holds INSTANCE_LOCK while the process runs

    @classmethod
    async def connect(cls, url: str, *, upto: int | None = None, pool_size: int = POOL_SIZE) -> PostgresDatabase:
        """Connect and migrate; a server that cannot be used raises StartupError with one line (never the
        password)."""
        try:
            pool = await asyncpg.create_pool(url, min_size=1, max_size=pool_size, init=_setup, timeout=10)
        except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError, ValueError) as exc:
            raise StartupError(f"Database error: PostgreSQL at {redacted(url)} {_explain(exc)}") from None
        db = cls(pool, url)
        try:
            await db.migrate(upto)
        except asyncpg.PostgresError as exc:
            await pool.close()
            raise StartupError(f"Database error: PostgreSQL at {redacted(url)} {_explain(exc)}") from None
        except BaseException:
            await pool.close()
            raise
        return db

    @classmethod
    async def connect_reader(cls, url: str, *, pool_size: int) -> PostgresDatabase:
        """A pool of its own whose every transaction is read-only (the server refuses a write with
        "cannot execute … in a read-only transaction"); nothing is migrated. StartupError as connect()."""
        try:
            pool = await asyncpg.create_pool(url, min_size=1, max_size=pool_size, init=_setup, timeout=10,
                                             server_settings={"default_transaction_read_only": "on"})
        except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError, ValueError) as exc:
            raise StartupError(f"Database error: PostgreSQL at {redacted(url)} {_explain(exc)}") from None
        return cls(pool, url)

    async def close(self) -> None:
        if self._instance is not None:
            await self.pool.release(self._instance)  # the lock goes with the session (reset on release)
            self._instance = None
        await self.pool.close()

    async def claim_instance(self, shared: bool = False) -> None:
        """A session-level advisory lock, held on a connection of its own until close(); the server drops it
        the moment the process's connection ends, however the process ends. `shared`: the ingress and the
        workers, which run side by side, but never beside a single bot process (which takes it exclusively)."""
        conn = await self.pool.acquire()
        take = "pg_try_advisory_lock_shared" if shared else "pg_try_advisory_lock"
        if not await conn.fetchval(f"SELECT {take}($1)", INSTANCE_LOCK):
            await self.pool.release(conn)
            if shared:
                raise StartupError(f"Database error: {self.path} is in use by a single bot process (python -m bot): "
                                   "stop it before starting the ingress and workers")
            raise StartupError(f"Database error: {self.path} is in use by another bot process (or by the ingress "
                               "and workers): stop those first, or give this one its own database")
        self._instance = conn

    @contextlib.asynccontextmanager
    async def _connection(self) -> AsyncIterator[asyncpg.Connection]:
        held = _held.get()
        if held is not None and held[0] is self:
            yield held[1]
            return
        async with self.pool.acquire() as conn:
            yield conn

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[Database]:
        held = _held.get()
        if held is not None and held[0] is self and held[2]:
            yield self
            return
        async with self._connection() as conn, conn.transaction():
            token = _held.set((self, conn, True))
            try:
                yield self
            finally:
                _held.reset(token)

    @contextlib.asynccontextmanager
    async def _migrating(self) -> AsyncIterator[None]:
        async with self.pool.acquire() as conn:
            token = _held.set((self, conn, False))
            try:
                await conn.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK)
                try:
                    yield
                finally:
                    await conn.execute("SELECT pg_advisory_unlock($1)", MIGRATION_LOCK)
            finally:
                _held.reset(token)

    async def execute(self, sql: str, params: Iterable[Any] = ()) -> Status:
        async with self._connection() as conn:
            return Status(_rowcount(await conn.execute(placeholders(sql), *_clean(params))))

    async def executemany(self, sql: str, rows: Iterable[Iterable[Any]]) -> None:
        async with self._connection() as conn:
            await conn.executemany(placeholders(sql), [_clean(r) for r in rows])

    async def fetchall(self, sql: str, params: Iterable[Any] = ()) -> list[asyncpg.Record]:
        async with self._connection() as conn:
            return await conn.fetch(placeholders(sql), *_clean(params))

    # --- what differs ----------------------------------------------------------------------------------
    def seconds_between(self, later: str, earlier: str) -> str:
        return f"ROUND(EXTRACT(EPOCH FROM (CAST({later} AS timestamptz) - CAST({earlier} AS timestamptz))))"

    def local_day(self, column: str) -> str:
        return (f"to_char(CAST({column} AS timestamptz) AT TIME ZONE 'UTC' + CAST(CAST(? AS text) AS interval), "
                "'YYYY-MM-DD')")

    def group_concat(self, column: str) -> str:
        return f"string_agg({column}, ',')"

    @property
    def for_update(self) -> str:
        return " FOR UPDATE"

    @property
    def skip_locked(self) -> str:
        return " FOR UPDATE SKIP LOCKED"

    async def join(self, namespace: int) -> Member:
        """A connection of its own (outside the pool) takes a never-reused id from a sequence and holds the
        session advisory lock (namespace, id) on it: live while the lock is granted."""
        try:
            conn = await asyncpg.connect(self.url, timeout=10)
        except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            raise StartupError(f"Database error: PostgreSQL at {self.path} {_explain(exc)}") from None
        try:
            member_id = await conn.fetchval("SELECT nextval('campaign_sender_ids')")
            await conn.execute("SELECT pg_advisory_lock($1::int, $2::int)", namespace, member_id)
        except BaseException:
            await conn.close()
            raise
        return PgMember(int(member_id), namespace, conn)

    def live_member(self, column: str, namespace: int) -> str:
        # pg_locks is the whole server's: only this database's members count (ids are per database)
        return (f"({column} = ? OR {column} IN (SELECT objid::bigint FROM pg_locks WHERE locktype = 'advisory' "
                f"AND classid = {int(namespace)} AND objsubid = 2 AND granted "
                "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())))")

    async def lock(self, name: str) -> None:
        held = _held.get()
        assert held is not None and held[0] is self and held[2], "lock() belongs inside a transaction"
        await self.execute("SELECT pg_advisory_xact_lock(hashtext(?))", (name,))

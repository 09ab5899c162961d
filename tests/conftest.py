"""One harness for every end-to-end test: the real Application on the Bot API stand-in.

Every test that touches the database runs twice, on each store (issue 17): `store` is parametrised over
SQLite (a file in the test's folder) and PostgreSQL (a fresh database, made from a migrated template, on one
server the session starts from the machine's PostgreSQL binaries: bot/data/pgtemp.py). A test takes part
by asking for `store`, `settings` or `bot` (or `db_target`); `@pytest.mark.sqlite_only` keeps a test about the
SQLite file itself (its lock, its damage, its backup) on SQLite alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg
import pytest

from bot.app import build_application, running
from bot.botapi_standin import ChatDriver, FakeBotAPI, Sent
from bot.clock import FakeClock
from bot.config import Settings
from bot.data import Database
from bot.data.pgtemp import TempPostgres
from bot.services import Services

ADMIN = 9001
ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Harness:
    app: object
    api: FakeBotAPI
    driver: ChatDriver
    clock: FakeClock
    errors: list[BaseException] = field(default_factory=list)

    @property
    def svc(self) -> Services:
        return self.app.bot_data["svc"]

    async def send(self, user: int, text: str, **kw) -> list[Sent]:
        return await self.driver.send(user, text, **kw)

    async def press(self, user: int, label: str, message_id: int | None = None) -> list[Sent]:
        """Press the button whose label contains `label` on the newest message with buttons."""
        msg = (self.driver.latest_with_buttons(user) if message_id is None
               else self.api.messages[user][message_id])
        labels = [b["text"] for row in msg["reply_markup"]["inline_keyboard"] for b in row]
        matches = [i for i, text in enumerate(labels, 1) if label in text]
        assert matches, f"no button {label!r} in {labels}"
        return await self.driver.press(user, matches[0], msg["message_id"])

    def last(self, chat: int) -> Sent:
        return [e for e in self.api.sent if e.chat_id == chat][-1]


# --- the two stores ------------------------------------------------------------------------------------
class PgCluster:
    """The session's PostgreSQL server, started on first use; `create()` gives each test a database of its own.

    A migrated database is copied from a template (CREATE DATABASE, ~0.4 s on a busy machine); when its test
    ends it is emptied (every row deleted, ids restarted: ~0.02 s) and handed to the next test, so the copy is
    paid once per database rather than once per test. Admin statements go through connections on a thread of
    their own, so they never meet the event loop of the test that asks for them."""

    def __init__(self) -> None:
        self.server: TempPostgres | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._conn: asyncpg.Connection | None = None
        self._names = itertools.count(1)
        self._free: list[str] = []  # migrated databases emptied and ready for the next test
        self._reusable: dict[str, asyncpg.Connection] = {}  # migrated databases: a connection to empty them

    def _run(self, coro):
        assert self._loop is not None
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout=120)

    def _start(self) -> None:
        self.server = TempPostgres().start()
        self._loop = asyncio.new_event_loop()
        threading.Thread(target=self._loop.run_forever, name="pg-admin", daemon=True).start()

        async def begin() -> asyncpg.Connection:
            conn = await asyncpg.connect(self.server.url())
            await conn.execute("CREATE DATABASE empty TEMPLATE template0")
            await conn.execute("CREATE DATABASE migrated TEMPLATE template0")
            db = await Database.open(self.server.url("migrated"))  # the template: every migration applied once
            await db.close()
            return conn

        self._conn = self._run(begin())

    def create(self, *, migrated: bool = True) -> str:
        """A database's URL, for this test alone: with every migration applied and no rows, or empty."""
        if self.server is None:
            self._start()
        if migrated and self._free:
            return self.server.url(self._free.pop())
        name = f"t{next(self._names)}"
        self._run(self._conn.execute(f"CREATE DATABASE {name} TEMPLATE {'migrated' if migrated else 'empty'}"))
        if migrated:
            self._reusable[name] = self._run(asyncpg.connect(self.server.url(name)))
        return self.server.url(name)

    async def _empty(self, conn: asyncpg.Connection) -> None:
        """Every row gone and every id restarting at 1, as in a fresh copy of the template; whatever the test
        left connected is disconnected first."""
        await conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                           "WHERE datname = current_database() AND pid <> pg_backend_pid()")
        tables = [r[0] for r in await conn.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'schema_migrations'")]
        sequences = [r[0] for r in await conn.fetch(
            "SELECT sequencename FROM pg_sequences WHERE schemaname = 'public'")]
        await conn.execute("SET lock_timeout = '5s'; SET session_replication_role = replica;"  # no FK order needed
                           + "".join(f"DELETE FROM {t};" for t in tables)
                           + "".join(f"ALTER SEQUENCE {s} RESTART;" for s in sequences)
                           + "SET session_replication_role = DEFAULT;")

    def drop(self, url: str) -> None:
        """The test is over: a migrated database is emptied for the next one, any other dropped."""
        name = urlsplit(url).path.strip("/")
        conn = self._reusable.get(name)
        if conn is not None:
            try:
                self._run(self._empty(conn))
                self._free.append(name)
                return
            except (asyncpg.PostgresError, OSError, TimeoutError):
                self._reusable.pop(name)
        self._run(self._conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))

    def stop(self) -> None:
        if self.server is not None:
            self._run(self._conn.close())
            self._loop.call_soon_threadsafe(self._loop.stop)
            self.server.stop()


@pytest.fixture(scope="session")
def pg() -> Iterator[PgCluster]:
    cluster = PgCluster()
    yield cluster
    cluster.stop()


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Each test that uses the database, on both stores (SQLite only when marked sqlite_only)."""
    own = any("store" in m.args[0] for m in metafunc.definition.iter_markers("parametrize"))
    if "store" in metafunc.fixturenames and not own:
        stores = ["sqlite"] if metafunc.definition.get_closest_marker("sqlite_only") else ["sqlite", "postgres"]
        metafunc.parametrize("store", stores, indirect=True)


_current: list[str | Path] = []  # the running test's database, for make_settings


@pytest.fixture
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str | Path]:
    """This test's database: a SQLite file in its folder, or a PostgreSQL URL (every migration applied)."""
    target: str | Path = tmp_path / "bot.sqlite3"
    if request.param == "postgres":
        target = request.getfixturevalue("pg").create()
    _current.append(target)
    try:
        yield target
    finally:
        _current.pop()
        if request.param == "postgres":
            request.getfixturevalue("pg").drop(str(target))


@pytest.fixture
def db_target(store: str | Path, pg: PgCluster, tmp_path: Path) -> Callable[..., str | Path]:
    """Another database on this test's store, empty (for tests that migrate it themselves): call it with a
    file name; on PostgreSQL the name only tells the databases apart."""
    made: dict[str, str | Path] = {}

    def target(name: str = "other.sqlite3") -> str | Path:
        if name not in made:
            made[name] = tmp_path / name if isinstance(store, Path) else pg.create(migrated=False)
        return made[name]

    yield target
    for url in made.values():
        if isinstance(url, str):
            pg.drop(url)


def make_settings(tmp_path: Path, **overrides) -> Settings:
    """The tests' settings: the running test's store (a SQLite file in `tmp_path` unless it asked for
    `store` and runs on PostgreSQL), ADMIN as the admin."""
    target = _current[-1] if _current else tmp_path / "bot.sqlite3"
    database = {"database_url": target} if isinstance(target, str) else {"database_path": tmp_path / "bot.sqlite3"}
    return replace(Settings(), **{**database, "admin_ids": frozenset({ADMIN}), **overrides})


@pytest.fixture
def settings(tmp_path: Path, store: str | Path) -> Settings:
    return make_settings(tmp_path)


@contextlib.asynccontextmanager
async def open_bot(settings: Settings, clock: FakeClock | None = None,
                   api: FakeBotAPI | None = None) -> AsyncIterator[Harness]:
    """The real Application on the stand-in; fails the test if any handler raised.
    Pass the same settings (database file), clock and api again to play a restart."""
    clock = clock or FakeClock()
    api = api or FakeBotAPI(clock, settings.bot_username)
    app = build_application(settings, request=api, clock=clock, rate_limit=False)
    harness = Harness(app, api, ChatDriver(app, api), clock)

    async def record(update: object, context) -> None:
        harness.errors.append(context.error)

    app.add_error_handler(record)
    async with running(app):
        yield harness
    assert harness.errors == [], "a handler raised"


@pytest.fixture
async def bot(settings: Settings) -> AsyncIterator[Harness]:
    async with open_bot(settings) as harness:
        yield harness

"""The PostgreSQL store's own behaviour: settings, one-line start-up failures, the instance lock, and the
differences the data layer hides (NUL in text, numeric sums and averages)."""

from __future__ import annotations

import asyncio
import socket

import pytest

from bot.config import ConfigError, Settings, StartupError
from bot.data import Database
from bot.data.postgres import redacted


def test_database_url_selects_postgresql_and_a_wrong_one_names_the_variable():
    settings = Settings.from_env({"DATABASE_URL": "postgresql://bot:secret@db:5432/bot"})
    assert settings.database == "postgresql://bot:secret@db:5432/bot"
    assert Settings.from_env({}).database == Settings().database_path  # unset: the SQLite file, as before
    for wrong in ("mysql://x/y", "db:5432", "postgresql://"):
        with pytest.raises(ConfigError, match="DATABASE_URL"):
            Settings.from_env({"DATABASE_URL": wrong})


def test_the_password_never_shows():
    assert redacted("postgresql://bot:s3cret@db:5432/bot") == "postgresql://bot:***@db:5432/bot"
    assert redacted("postgresql://bot@/bot?host=/run/pg") == "postgresql://bot@/bot?host=/run/pg"


async def test_a_server_that_does_not_answer_is_one_line_without_the_password():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nobody listens here once closed
    with pytest.raises(StartupError) as caught:
        await Database.open(f"postgresql://bot:s3cret@127.0.0.1:{port}/bot")
    assert str(caught.value) == (f"Database error: PostgreSQL at postgresql://bot:***@127.0.0.1:{port}/bot the server "
                                 "does not answer: start PostgreSQL or fix the host and port in DATABASE_URL")


async def test_a_missing_database_is_one_line(pg):
    url = pg.create().rsplit("?", 1)
    missing = url[0].rsplit("/", 1)[0] + "/nosuchdb?" + url[1]
    with pytest.raises(StartupError, match="the database does not exist: create it"):
        await Database.open(missing)


@pytest.mark.parametrize("store", ["postgres"], indirect=True)
async def test_one_bot_process_per_database_and_the_lock_goes_with_it(store):
    first, second = await Database.open(store), await Database.open(store)
    try:
        await first.claim_instance()
        with pytest.raises(StartupError, match="is in use by another bot process"):
            await second.claim_instance()
        await first.close()
        await second.claim_instance()  # released with the first one's connection
    finally:
        await second.close()


async def test_text_with_nul_and_sums_and_averages_read_alike(store):
    db = await Database.open(store)
    try:
        await db.execute("INSERT INTO search_log (query, results, at) VALUES (?, ?, ?)", ("a\x00b", 1, "t"))
        await db.execute("INSERT INTO search_log (query, results, at) VALUES (?, ?, ?)", ("c", 2, "t"))
        row = await db.fetchone("SELECT SUM(results) AS s, AVG(results) AS a, MIN(query) AS q FROM search_log")
        assert (row["s"], row["a"]) == (3, 1.5) and type(row["s"]) is int
        assert row["q"] in ("a\x00b", "ab")  # PostgreSQL text holds no NUL: it is dropped, the rest kept
    finally:
        await db.close()


async def test_a_transaction_is_all_or_nothing_and_nested_use_joins_it(store):
    db = await Database.open(store)
    try:
        with pytest.raises(RuntimeError):
            async with db.transaction():
                await db.execute("INSERT INTO audit_events (kind, at) VALUES ('a', 't')")
                async with db.transaction():
                    await db.execute("INSERT INTO audit_events (kind, at) VALUES ('b', 't')")
                raise RuntimeError
        assert (await db.fetchone("SELECT COUNT(*) FROM audit_events"))[0] == 0
        await asyncio.gather(*(db.execute("INSERT INTO audit_events (kind, at) VALUES (?, 't')", (str(n),))
                               for n in range(20)))
        assert (await db.fetchone("SELECT COUNT(*) FROM audit_events"))[0] == 20
    finally:
        await db.close()


def test_migrate_command_brings_either_store_to_the_latest_version(db_target):
    import subprocess
    import sys

    from bot.data.migrations import MIGRATIONS
    from tests.conftest import ROOT

    target = db_target("fresh.sqlite3")
    env = {"PATH": "/usr/bin:/bin", **({"DATABASE_URL": target} if isinstance(target, str)
                                       else {"DATABASE_PATH": str(target)})}
    for _ in range(2):  # a second run finds nothing to do
        done = subprocess.run([sys.executable, "-m", "bot", "migrate"], cwd=ROOT, env=env, capture_output=True,
                              text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip().endswith(f"is at schema version {len(MIGRATIONS)} of {len(MIGRATIONS)}")
    if isinstance(target, str):
        backup = subprocess.run([sys.executable, "-m", "bot", "backup", "x"], cwd=ROOT, env=env, capture_output=True,
                                text=True, timeout=60)
        assert backup.returncode == 1 and "pg_dump" in backup.stderr

from bot.data import Database
from bot.data.migrations import MIGRATIONS


async def schema(db: Database) -> list[tuple]:
    rows = await db.fetchall("SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY name")
    return [tuple(r) for r in rows]


async def test_fresh_database_reaches_latest(tmp_path):
    db = await Database.open(tmp_path / "fresh.sqlite3")
    try:
        assert await db.version() == len(MIGRATIONS)
        assert (await db.fetchone("PRAGMA foreign_keys"))[0] == 1
        assert (await db.fetchone("PRAGMA journal_mode"))[0] == "wal"
    finally:
        await db.close()


async def test_every_earlier_version_upgrades_to_the_same_schema(tmp_path):
    fresh = await Database.open(tmp_path / "fresh.sqlite3")
    expected = await schema(fresh)
    await fresh.close()
    for version in range(len(MIGRATIONS)):
        path = tmp_path / f"v{version}.sqlite3"
        old = await Database.open(path, upto=version)
        assert await old.version() == version
        await old.close()
        upgraded = await Database.open(path)
        assert await upgraded.version() == len(MIGRATIONS)
        assert await schema(upgraded) == expected
        await upgraded.close()


async def test_reopening_applies_nothing_twice(tmp_path):
    for _ in range(2):
        db = await Database.open(tmp_path / "db.sqlite3")
        rows = await db.fetchall("SELECT version FROM schema_migrations")
        assert [r[0] for r in rows] == list(range(1, len(MIGRATIONS) + 1))
        await db.close()

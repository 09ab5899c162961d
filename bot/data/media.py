"""Media links across processes (bot/web/media.py): the signing key every process shares, and the bytes behind
`/media/…` links until they expire. Times are ISO text in UTC (bot.clock.iso)."""

from __future__ import annotations

from bot.data import Database

KEY_NAME = "media"


async def key(db: Database, candidate: bytes) -> bytes:
    """The shared signing key: `candidate` when no process has made one yet, else the one kept. Race-free: two
    processes starting at once both insert, one insert wins, and both read the winner's key."""
    await db.execute("INSERT INTO media_keys (name, secret) VALUES (?, ?) ON CONFLICT (name) DO NOTHING",
                     (KEY_NAME, candidate))
    row = await db.fetchone("SELECT secret FROM media_keys WHERE name = ?", (KEY_NAME,))
    assert row is not None
    return bytes(row["secret"])


async def keep(db: Database, blob_id: str, body: bytes, content_type: str, filename: str | None, once: bool,
               expires_at: str, now: str) -> None:
    """Keep `body` under `blob_id` until `expires_at`; rows already expired at `now` go first."""
    await db.execute("DELETE FROM media_blobs WHERE expires_at <= ?", (now,))
    await db.execute("INSERT INTO media_blobs (id, bytes, content_type, filename, once, expires_at) "
                     "VALUES (?, ?, ?, ?, ?, ?)", (blob_id, body, content_type, filename, int(once), expires_at))


async def get(db: Database, blob_id: str, now: str):
    """(bytes, content_type, filename, once) of a blob not yet expired, or None. Reads only."""
    return await db.fetchone("SELECT bytes, content_type, filename, once FROM media_blobs "
                             "WHERE id = ? AND expires_at > ?", (blob_id, now))


async def take(db: Database, blob_id: str, now: str):
    """A one-time blob, deleted as it is read (one statement: of two downloads at once, one gets it); None when
    it is gone, expired, or not one-time."""
    return await db.fetchone("DELETE FROM media_blobs WHERE id = ? AND once = 1 AND expires_at > ? "
                             "RETURNING bytes, content_type, filename, once", (blob_id, now))


async def prune(db: Database, now: str) -> int:
    """Delete the blobs expired at `now`; how many."""
    return (await db.execute("DELETE FROM media_blobs WHERE expires_at <= ?", (now,))).rowcount

"""Updates the ingress has taken (several workers on PostgreSQL): each (channel, update id) is taken once, so a
re-sent update is dropped however many ingress processes run and however often they restart."""

from __future__ import annotations

from bot.data import Database


async def take(db: Database, channel: str, update_id: str, at: str) -> bool:
    """Record the update as taken at `at` (ISO text); False when it was taken before (a re-send)."""
    row = await db.fetchone("INSERT INTO seen_updates (channel, update_id, received_at) VALUES (?, ?, ?) "
                            "ON CONFLICT DO NOTHING RETURNING update_id", (channel, update_id, at))
    return row is not None


async def forget(db: Database, channel: str, update_id: str) -> None:
    """Undo `take` for an update that could not be queued: its re-send is then taken."""
    await db.execute("DELETE FROM seen_updates WHERE channel = ? AND update_id = ?", (channel, update_id))


async def prune(db: Database, before: str) -> int:
    """Forget updates received before `before` (ISO text): the channels stop re-sending long before. How many."""
    return (await db.execute("DELETE FROM seen_updates WHERE received_at < ?", (before,))).rowcount


async def count(db: Database, channel: str) -> int:
    """How many of this channel's updates are remembered."""
    row = await db.fetchone("SELECT COUNT(*) AS n FROM seen_updates WHERE channel = ?", (channel,))
    return int(row["n"]) if row else 0


async def has_table(db: Database, name: str) -> bool:
    """Whether a table of this name exists (PostgreSQL: the queue's tables, created by procrastinate)."""
    row = await db.fetchone("SELECT to_regclass(?) AS t", (name,))
    return row is not None and row["t"] is not None

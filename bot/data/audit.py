"""The audit trail: who did something sensitive (admin changes, bans, contact exports, erasures)."""

from __future__ import annotations

from bot.data import Database


async def record(db: Database, actor_id: int | None, kind: str, detail: str | None, now: str) -> None:
    await db.execute("INSERT INTO audit_events (actor_id, kind, detail, at) VALUES (?, ?, ?, ?)",
                     (actor_id, kind, detail, now))

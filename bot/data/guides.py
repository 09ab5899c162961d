"""Guide views, helpful/not-helpful feedback and the search log."""

from __future__ import annotations

from bot.data import Database
from bot.textnorm import mask_digits


async def record_view(db: Database, guide_id: str, user_id: int, now: str) -> None:
    await db.execute("INSERT INTO guide_views (guide_id, user_id, at) VALUES (?, ?, ?)", (guide_id, user_id, now))


async def record_feedback(db: Database, guide_id: str, user_id: int, helpful: bool, now: str) -> None:
    """One vote per resident and guide; a second press changes it."""
    await db.execute(
        """INSERT INTO guide_feedback (guide_id, user_id, helpful, at) VALUES (?, ?, ?, ?)
           ON CONFLICT(guide_id, user_id) DO UPDATE SET helpful = excluded.helpful, at = excluded.at""",
        (guide_id, user_id, int(helpful), now),
    )


async def log_search(db: Database, query: str, results: int, now: str) -> None:
    """One search, without its author; a run of four or more digits (a phone, an ID, a code) is masked."""
    await db.execute("INSERT INTO search_log (query, results, at) VALUES (?, ?, ?)", (mask_digits(query), results, now))

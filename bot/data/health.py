"""What the health and metrics endpoints read from the database (computed when asked, never cached)."""

from __future__ import annotations

from bot.data import Database


async def ping(db: Database) -> bool:
    """True when the database answers a query."""
    row = await db.fetchone("SELECT 1")
    return row is not None and row[0] == 1


async def open_requests_by_ward_level(db: Database) -> list[tuple[str, int, int]]:
    """Help requests waiting for a volunteer, as (ward id or "", escalation level, count)."""
    rows = await db.fetchall("SELECT COALESCE(ward, '') AS ward, escalation, COUNT(*) AS n FROM help_requests "
                             "WHERE status = 'open' GROUP BY 1, 2 ORDER BY 1, 2")
    return [(r["ward"], int(r["escalation"]), int(r["n"])) for r in rows]


async def oldest_open_since(db: Database) -> str | None:
    """When the longest-waiting open request was (re)opened (UTC ISO text), or None when none is open."""
    row = await db.fetchone("SELECT MIN(opened_at) FROM help_requests WHERE status = 'open'")
    return row[0] if row else None

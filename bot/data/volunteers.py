"""Volunteers (tổ công nghệ số cộng đồng): applications, coverage, availability, routing choice."""

from __future__ import annotations

from dataclasses import dataclass

from bot.data import Database


@dataclass(frozen=True)
class VolunteerRow:
    user_id: int
    display_name: str
    status: str
    available: bool
    usual_hours: str | None
    wards: tuple[str, ...]
    topics: tuple[str, ...]


async def get(db: Database, user_id: int) -> VolunteerRow | None:
    row = await db.fetchone("SELECT * FROM volunteers WHERE user_id = ?", (user_id,))
    if row is None:
        return None
    wards = await db.fetchall("SELECT ward FROM volunteer_wards WHERE user_id = ? ORDER BY ward", (user_id,))
    topics = await db.fetchall("SELECT topic FROM volunteer_topics WHERE user_id = ? ORDER BY topic", (user_id,))
    return VolunteerRow(row["user_id"], row["display_name"], row["status"], bool(row["available"]),
                        row["usual_hours"], tuple(r["ward"] for r in wards), tuple(r["topic"] for r in topics))


async def start_application(db: Database, user_id: int, name: str, now: str) -> None:
    """A new or renewed application; an active, paused or pending volunteer keeps their status (a pending
    application is updated in place, so admins are not asked twice)."""
    await db.execute(
        """INSERT INTO volunteers (user_id, display_name, status, applied_at) VALUES (?, ?, 'applying', ?)
           ON CONFLICT(user_id) DO UPDATE SET display_name = excluded.display_name, applied_at = excluded.applied_at,
               status = CASE WHEN volunteers.status IN ('active', 'paused', 'pending') THEN volunteers.status
                                  ELSE 'applying' END""",
        (user_id, name, now))


async def toggle(db: Database, user_id: int, table: str, column: str, value: str) -> None:
    assert (table, column) in {("volunteer_wards", "ward"), ("volunteer_topics", "topic")}
    cur = await db.execute(f"DELETE FROM {table} WHERE user_id = ? AND {column} = ?", (user_id, value))
    if cur.rowcount == 0:
        await db.execute(f"INSERT INTO {table} (user_id, {column}) VALUES (?, ?)", (user_id, value))


async def set_hours(db: Database, user_id: int, hours: str) -> None:
    await db.execute("UPDATE volunteers SET usual_hours = ? WHERE user_id = ?", (hours, user_id))


async def set_status(db: Database, user_id: int, new: str, allowed_from: tuple[str, ...], actor: int | None,
                     now: str) -> bool:
    marks = ",".join("?" * len(allowed_from))
    cur = await db.execute(
        f"UPDATE volunteers SET status = ?, decided_by = ?, decided_at = ? WHERE user_id = ? AND status IN ({marks})",
        (new, actor, now, user_id, *allowed_from))
    return cur.rowcount == 1


async def set_available(db: Database, user_id: int, available: bool) -> bool:
    cur = await db.execute("UPDATE volunteers SET available = ? WHERE user_id = ? AND status = 'active'",
                           (int(available), user_id))
    return cur.rowcount == 1


async def mark_assigned(db: Database, user_id: int, now: str) -> None:
    await db.execute("UPDATE volunteers SET last_assigned_at = ? WHERE user_id = ?", (now, user_id))


async def listed(db: Database, statuses: tuple[str, ...]) -> list[VolunteerRow]:
    marks = ",".join("?" * len(statuses))
    rows = await db.fetchall(f"SELECT user_id FROM volunteers WHERE status IN ({marks}) ORDER BY display_name",
                             statuses)
    return [v for r in rows if (v := await get(db, r["user_id"])) is not None]


async def choose(db: Database, ward: str | None, topic: str | None, limit: int, per_volunteer: int,
                 exclude: set[int]) -> list[int]:
    """Who gets an offer: active, available, covers the ward and knows the topic (None = any),
    below their open-request limit. Least load first (the requests they hold plus the offers still
    waiting for them, so a burst spreads over everyone eligible), then longest since last assignment."""
    excluded = ",".join(str(int(v)) for v in exclude) or "-1"  # NOT IN (NULL) would match nobody
    rows = await db.fetchall(
        f"""SELECT user_id FROM (
              SELECT v.user_id, v.last_assigned_at,
                   (SELECT COUNT(*) FROM help_requests r WHERE r.volunteer_id = v.user_id AND r.status = 'claimed')
                       AS holding,
                   (SELECT COUNT(*) FROM offers o WHERE o.volunteer_id = v.user_id) AS offered
              FROM volunteers v
              WHERE v.status = 'active' AND v.available = 1 AND v.user_id NOT IN ({excluded})
                AND NOT EXISTS (SELECT 1 FROM users b WHERE b.id = v.user_id AND b.banned = 1)
                AND (CAST(? AS TEXT) IS NULL
                     OR EXISTS (SELECT 1 FROM volunteer_wards w WHERE w.user_id = v.user_id AND w.ward = ?))
                AND (CAST(? AS TEXT) IS NULL
                     OR EXISTS (SELECT 1 FROM volunteer_topics t WHERE t.user_id = v.user_id AND t.topic = ?))
            ) c
            WHERE holding < ?
            ORDER BY holding + offered, COALESCE(last_assigned_at, ''), user_id
            LIMIT ?""",
        (ward, ward, topic, topic, per_volunteer, limit))
    return [r["user_id"] for r in rows]


async def can_take(db: Database, user_id: int, per_volunteer: int) -> bool:
    """Active, available, not banned and below their open-request limit: may be offered a request now."""
    row = await db.fetchone(
        """SELECT 1 FROM volunteers v
           WHERE v.user_id = ? AND v.status = 'active' AND v.available = 1
             AND NOT EXISTS (SELECT 1 FROM users b WHERE b.id = v.user_id AND b.banned = 1)
             AND (SELECT COUNT(*) FROM help_requests r
                  WHERE r.volunteer_id = v.user_id AND r.status = 'claimed') < ?""",
        (user_id, per_volunteer))
    return row is not None

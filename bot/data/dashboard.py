"""The web dashboard's SQL (issue 13): one-time sign-in links, and the reads behind its pages.

The pages read through their own read-only connection (`open_reader`), so a long page never waits for, nor
holds up, the bot's one writing connection; everything the dashboard changes goes through the services on
the bot's connection as the chat does. On PostgreSQL the reader is a small pool of its own whose every
transaction is read-only (default_transaction_read_only), so it cannot take connections the bot needs.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import aiosqlite

from bot.data import Database, SqliteDatabase, is_url

READER_POOL = 2  # PostgreSQL connections the dashboard's pages read through


def _absolute(path: Path | str) -> str:
    return os.path.abspath(path)


async def open_reader(path: Path | str) -> Database:
    """A second connection to the bot's database that can only read. `path` is what `Database.open` took:
    a SQLite file (SQLite's mode=ro; WAL lets it read while the bot writes), or a DATABASE_URL (a pool of
    READER_POOL connections whose transactions are read-only). The store must exist and be migrated already
    (the bot opens it first). A write through it raises the store's read-only error."""
    if is_url(path):
        from bot.data.postgres import PostgresDatabase

        return await PostgresDatabase.connect_reader(str(path), pool_size=READER_POOL)
    uri = f"file:{quote(_absolute(path))}?mode=ro"
    conn = await aiosqlite.connect(uri, uri=True, isolation_level=None)
    try:
        conn.row_factory = aiosqlite.Row
        await conn.execute("PRAGMA busy_timeout = 5000")
        await conn.execute("PRAGMA query_only = ON")
    except BaseException:
        await conn.close()
        raise
    db = SqliteDatabase(conn)
    db.path = str(path)
    return db


# --- one-time sign-in links -------------------------------------------------------------------------------
async def add_login(db: Database, token_hash: str, user_id: int, now: str, expires_at: str) -> None:
    await db.execute("INSERT INTO dashboard_logins (token_hash, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)",
                     (token_hash, user_id, now, expires_at))


async def redeem_login(db: Database, token_hash: str, now: str) -> int | None:
    """Use the link once: the one UPDATE that marks it used decides (two tabs racing: one wins). Returns the
    user id, or None for an unknown, used or expired link (`login_state` tells which)."""
    async with db.transaction():
        cur = await db.execute("UPDATE dashboard_logins SET used_at = ? WHERE token_hash = ? AND used_at IS NULL "
                               "AND expires_at > ?", (now, token_hash, now))
        if cur.rowcount != 1:
            return None
        row = await db.fetchone("SELECT user_id FROM dashboard_logins WHERE token_hash = ?", (token_hash,))
    return int(row["user_id"])


async def login_state(db: Database, token_hash: str) -> tuple[str | None, str] | None:
    """(used_at, expires_at) of a link, None if no such link was ever made."""
    row = await db.fetchone("SELECT used_at, expires_at FROM dashboard_logins WHERE token_hash = ?", (token_hash,))
    return None if row is None else (row["used_at"], row["expires_at"])


async def forget_logins(db: Database, before: str) -> None:
    """Links that expired before `before` are of no use any more."""
    await db.execute("DELETE FROM dashboard_logins WHERE expires_at < ?", (before,))


# --- sessions (server-side: the cookie holds a random id; only its hash is kept) ----------------------------
async def add_session(db: Database, token_hash: str, user_id: int, now: str, expires_at: str) -> None:
    """A new session; sessions (and sign-in links) that ended before `now` are dropped on the way."""
    async with db.transaction():
        await db.execute("DELETE FROM dashboard_sessions WHERE expires_at <= ?", (now,))
        await db.execute("INSERT INTO dashboard_sessions (token_hash, user_id, created_at, expires_at) "
                         "VALUES (?, ?, ?, ?)", (token_hash, user_id, now, expires_at))


async def session_user(db: Database, token_hash: str, now: str) -> int | None:
    """The user id of a live session, None for one that ended (logged out, expired, never made)."""
    row = await db.fetchone("SELECT user_id FROM dashboard_sessions WHERE token_hash = ? AND expires_at > ?",
                            (token_hash, now))
    return None if row is None else int(row["user_id"])


async def end_session(db: Database, token_hash: str) -> None:
    await db.execute("DELETE FROM dashboard_sessions WHERE token_hash = ?", (token_hash,))


async def end_sessions_of(db: Database, user_id: int) -> int:
    """Every session and unused sign-in link of one person (their role is gone, or their data is erased)."""
    async with db.transaction():
        cur = await db.execute("DELETE FROM dashboard_sessions WHERE user_id = ?", (user_id,))
        await db.execute("DELETE FROM dashboard_logins WHERE user_id = ?", (user_id,))
    return cur.rowcount


# --- Today --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class QueueRow:
    id: int
    code: str
    topic: str
    ward: str | None
    mode: str
    status: str
    escalation: int
    opened_at: str
    volunteer_id: int | None
    volunteer_name: str | None


QUEUE_COLUMNS = ("r.id, r.code, r.topic, r.ward, r.mode, r.status, r.escalation, r.opened_at, r.volunteer_id, "
                 "v.display_name AS volunteer_name")


async def queue(db: Database, *, wards: tuple[str, ...] | None, volunteer_id: int | None, only_open: bool,
                ward: str | None, limit: int) -> list[QueueRow]:
    """Requests waiting or being helped, oldest first (by when each last became open).

    `wards` None: every ward (an admin); else the open queue of those wards (and of requests whose ward is
    unknown) plus what `volunteer_id` holds. `only_open`: waiting ones only ("not yet helped"). `ward`: one
    ward only."""
    statuses = ("open",) if only_open else ("open", "claimed")
    marks = ",".join("?" * len(statuses))
    where, params = [f"r.status IN ({marks})"], list(statuses)
    if wards is not None:
        ward_marks = ",".join("?" * len(wards)) or "NULL"
        where.append(f"((r.status = 'open' AND (r.ward IS NULL OR r.ward IN ({ward_marks}))) "
                     "OR (r.status = 'claimed' AND r.volunteer_id = ?))")
        params += [*wards, volunteer_id]
    if ward is not None:
        where.append("r.ward = ?")
        params.append(ward)
    rows = await db.fetchall(
        f"SELECT {QUEUE_COLUMNS} FROM help_requests r LEFT JOIN volunteers v ON v.user_id = r.volunteer_id "
        f"WHERE {' AND '.join(where)} ORDER BY r.opened_at, r.id LIMIT ?", [*params, limit])
    return [QueueRow(**dict(r)) for r in rows]


async def open_count(db: Database) -> int:
    row = await db.fetchone("SELECT COUNT(*) AS n FROM help_requests WHERE status = 'open'")
    return int(row["n"])


@dataclass(frozen=True)
class EventRow:
    actor_id: int | None
    actor_name: str | None
    kind: str
    detail: str | None
    at: str


async def timeline(db: Database, request_id: int) -> list[EventRow]:
    """A request's events, oldest first, with who did each (a volunteer's display name, else the first name)."""
    rows = await db.fetchall(
        """SELECT e.actor_id, COALESCE(v.display_name, u.first_name) AS actor_name, e.kind, e.detail, e.at
           FROM request_events e LEFT JOIN volunteers v ON v.user_id = e.actor_id
           LEFT JOIN users u ON u.id = e.actor_id WHERE e.request_id = ? ORDER BY e.id""", (request_id,))
    return [EventRow(**dict(r)) for r in rows]


async def resident_contact(db: Database, request_id: int) -> tuple[str | None, str | None, str | None]:
    """(first name, username, phone) of the resident of a request."""
    row = await db.fetchone("SELECT u.first_name, u.username, r.phone FROM help_requests r "
                            "LEFT JOIN users u ON u.id = r.resident_id WHERE r.id = ?", (request_id,))
    return (None, None, None) if row is None else (row["first_name"], row["username"], row["phone"])


# --- Volunteers ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class VolunteerLine:
    user_id: int
    display_name: str
    status: str
    available: bool
    wards: tuple[str, ...]
    topics: tuple[str, ...]
    open_load: int
    rating: float | None
    last_active_at: str | None
    applied_at: str


async def volunteer_lines(db: Database, statuses: tuple[str, ...]) -> list[VolunteerLine]:
    """Volunteers in these statuses with their wards, topics, requests held now, average rating and last
    activity (the newest of: last seen, last assigned)."""
    marks = ",".join("?" * len(statuses))
    rows = await db.fetchall(
        f"""SELECT v.user_id, v.display_name, v.status, v.available, v.applied_at,
                   (SELECT {db.group_concat('ward')} FROM volunteer_wards w WHERE w.user_id = v.user_id) AS wards,
                   (SELECT {db.group_concat('topic')} FROM volunteer_topics t WHERE t.user_id = v.user_id)
                       AS topics,
                   (SELECT COUNT(*) FROM help_requests h WHERE h.volunteer_id = v.user_id AND h.status = 'claimed')
                       AS open_load,
                   (SELECT AVG(rating) FROM help_requests h WHERE h.volunteer_id = v.user_id
                       AND h.rating IS NOT NULL) AS rating,
                   CASE WHEN COALESCE(u.last_seen_at, '') > COALESCE(v.last_assigned_at, '')
                        THEN u.last_seen_at ELSE v.last_assigned_at END AS last_active_at
            FROM volunteers v LEFT JOIN users u ON u.id = v.user_id
            WHERE v.status IN ({marks}) ORDER BY v.applied_at, v.user_id""", statuses)
    return [VolunteerLine(r["user_id"], r["display_name"], r["status"], bool(r["available"]),
                          tuple(sorted(r["wards"].split(","))) if r["wards"] else (),
                          tuple(sorted(r["topics"].split(","))) if r["topics"] else (),
                          r["open_load"], r["rating"], r["last_active_at"] or None, r["applied_at"]) for r in rows]


async def active_volunteers(db: Database) -> list[tuple[int, str]]:
    """(user id, display name) of every active volunteer, by name: whom an admin may assign a request to."""
    rows = await db.fetchall("SELECT user_id, display_name FROM volunteers WHERE status = 'active' "
                             "ORDER BY display_name, user_id")
    return [(r["user_id"], r["display_name"]) for r in rows]


# --- Audit log ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class AuditRow:
    actor_id: int | None
    actor_name: str | None
    kind: str
    detail: str | None
    at: str


async def audit_log(db: Database, limit: int, offset: int = 0) -> list[AuditRow]:
    """Newest first."""
    rows = await db.fetchall(
        """SELECT a.actor_id, u.first_name AS actor_name, a.kind, a.detail, a.at FROM audit_events a
           LEFT JOIN users u ON u.id = a.actor_id ORDER BY a.at DESC, a.id DESC LIMIT ? OFFSET ?""", (limit, offset))
    return [AuditRow(**dict(r)) for r in rows]


# --- Campaigns ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CampaignLine:
    id: int
    status: str
    text: str
    audience_kind: str
    audience_value: str | None
    created_at: str
    scheduled_at: str | None
    finished_at: str | None
    total: int
    sent: int
    failed: int
    blocked: int
    pending: int


async def campaign_lines(db: Database, limit: int, cid: int | None = None) -> list[CampaignLine]:
    """The newest campaigns (or one), each with its recipients counted by outcome now."""
    where, params = ("WHERE c.id = ?", [cid]) if cid is not None else ("", [])
    rows = await db.fetchall(
        f"""SELECT c.id, c.status, c.text, c.audience_kind, c.audience_value, c.created_at, c.scheduled_at,
                   c.finished_at, c.total,
                   (SELECT COUNT(*) FROM campaign_recipients r WHERE r.campaign_id = c.id
                        AND r.status = 'sent') AS sent,
                   (SELECT COUNT(*) FROM campaign_recipients r WHERE r.campaign_id = c.id
                        AND r.status IN ('failed', 'skipped')) AS failed,
                   (SELECT COUNT(*) FROM campaign_recipients r WHERE r.campaign_id = c.id
                        AND r.status = 'blocked') AS blocked,
                   (SELECT COUNT(*) FROM campaign_recipients r WHERE r.campaign_id = c.id
                        AND r.status = 'pending') AS pending
            FROM campaigns c {where} ORDER BY c.id DESC LIMIT ?""", [*params, limit])
    return [CampaignLine(**dict(r)) for r in rows]

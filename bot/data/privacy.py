"""Personal data: what is kept about one person, erasing it, and the retention sweep.

Every statement that reads or erases a person's data for /mydata, /deletemydata and the daily
retention tick lives here, so what "personal data" means is written down once.
"""

from __future__ import annotations

from typing import Any

from bot.data import Database, audit
from bot.data import outcomes as outcomes_data

# Columns of help_requests that identify or describe a person; erased on request and after retention.
PERSONAL_REQUEST_FIELDS = ("phone", "description", "rating_comment", "attachment_kind", "attachment_message_id",
                           "attachments")
_ERASE_REQUEST = ", ".join(f"{c} = NULL" for c in PERSONAL_REQUEST_FIELDS)
_HAS_PERSONAL = " OR ".join(f"{c} IS NOT NULL" for c in PERSONAL_REQUEST_FIELDS)


def _dicts(rows) -> list[dict[str, Any]]:
    return [dict(r) for r in rows]


async def export(db: Database, user_id: int) -> dict[str, Any]:
    """Everything stored about one person, as plain JSON-ready values."""
    user = await db.fetchone(
        """SELECT id, first_name, username, locale, ward, is_admin, subscribed, reachable, banned, created_at,
                  last_seen_at FROM users WHERE id = ?""", (user_id,))
    requests = await db.fetchall(
        """SELECT r.id, r.code, r.topic, r.guide_id, r.description, r.attachment_kind, r.ward, r.mode, r.phone,
                  r.status, v.display_name AS volunteer_name, r.created_at, r.claimed_at, r.resolved_at,
                  r.closed_at, r.rating, r.rating_comment
           FROM help_requests r LEFT JOIN volunteers v ON v.user_id = r.volunteer_id
           WHERE r.resident_id = ? ORDER BY r.id""", (user_id,))
    events = await db.fetchall(
        """SELECT e.request_id, e.kind, e.at FROM request_events e JOIN help_requests r ON r.id = e.request_id
           WHERE r.resident_id = ? ORDER BY e.id""", (user_id,))
    volunteer = await db.fetchone(
        "SELECT display_name, status, available, usual_hours, applied_at, decided_at FROM volunteers WHERE user_id = ?",
        (user_id,))
    volunteer_data: dict[str, Any] | None = None
    if volunteer is not None:
        volunteer_data = dict(volunteer)
        volunteer_data["wards"] = [r[0] for r in await db.fetchall(
            "SELECT ward FROM volunteer_wards WHERE user_id = ? ORDER BY ward", (user_id,))]
        volunteer_data["topics"] = [r[0] for r in await db.fetchall(
            "SELECT topic FROM volunteer_topics WHERE user_id = ? ORDER BY topic", (user_id,))]
    return {
        "user": dict(user) if user else None,
        "consents": _dicts(await db.fetchall(
            "SELECT purpose, granted, at FROM consents WHERE user_id = ? ORDER BY id", (user_id,))),
        "help_requests": _dicts(requests),
        "help_request_events": _dicts(events),
        "request_draft": (lambda r: dict(r) if r else None)(await db.fetchone(
            "SELECT * FROM request_drafts WHERE user_id = ?", (user_id,))),
        "guide_feedback": _dicts(await db.fetchall(
            "SELECT guide_id, helpful, at FROM guide_feedback WHERE user_id = ? ORDER BY at", (user_id,))),
        "guide_views": _dicts(await db.fetchall(
            "SELECT guide_id, at FROM guide_views WHERE user_id = ? ORDER BY id", (user_id,))),
        "campaign_receipts": _dicts(await db.fetchall(
            """SELECT campaign_id, status, sent_at FROM campaign_recipients WHERE user_id = ?
               ORDER BY campaign_id""", (user_id,))),
        "volunteer": volunteer_data,
        "outcomes": await outcomes_data.of_person(db, user_id),
        # the channel account (Zalo: its id) and the photos sent there, kept as URLs
        "accounts": _dicts(await db.fetchall(
            "SELECT channel, external_id, created_at FROM accounts WHERE user_id = ?", (user_id,))),
        "photos_sent": _dicts(await db.fetchall(
            "SELECT message_id, url, at FROM channel_media WHERE user_id = ? ORDER BY message_id", (user_id,))),
        "targets_set": await outcomes_data.targets_set_by(db, user_id),
        # the web dashboard: its one-time sign-in links and sessions (when, never the tokens)
        "dashboard_sign_in_links": _dicts(await db.fetchall(
            "SELECT created_at, expires_at, used_at FROM dashboard_logins WHERE user_id = ? ORDER BY created_at",
            (user_id,))),
        "dashboard_sessions": _dicts(await db.fetchall(
            "SELECT created_at, expires_at FROM dashboard_sessions WHERE user_id = ? ORDER BY created_at",
            (user_id,))),
    }


# --- consent ----------------------------------------------------------------------------------
async def latest_consent(db: Database, user_id: int, purpose: str) -> bool | None:
    """The newest decision for one purpose: True, False, or None when never asked."""
    row = await db.fetchone("SELECT granted FROM consents WHERE user_id = ? AND purpose = ? ORDER BY id DESC LIMIT 1",
                            (user_id, purpose))
    return None if row is None else bool(row[0])


async def erase_live_phones(db: Database, user_id: int) -> int:
    """Withdrawn contact consent: the phone leaves every request still in progress and the draft."""
    cur = await db.execute("UPDATE help_requests SET phone = NULL WHERE resident_id = ? AND phone IS NOT NULL "
                           "AND status IN ('open', 'claimed')", (user_id,))
    await db.execute("UPDATE request_drafts SET phone = NULL WHERE user_id = ?", (user_id,))
    return cur.rowcount


# --- deleting one person's data -----------------------------------------------------------------
async def live_requests(db: Database, user_id: int) -> list[tuple[int, str]]:
    """(id, status) of the person's requests still open or claimed."""
    rows = await db.fetchall("SELECT id, status FROM help_requests WHERE resident_id = ? "
                             "AND status IN ('open', 'claimed') ORDER BY id", (user_id,))
    return [(r[0], r[1]) for r in rows]


async def erase_person(db: Database, user_id: int, now: str) -> int:
    """Erase one person's data in one transaction; the anonymous counts stay. Returns their request count.

    The users row keeps only its id (so a ban or an unsubscribe still holds, and stats still count a
    resident); names, ward and language go. Requests lose their link to the person and every personal field.
    In the history the person's id becomes NULL, the anonymous marker: `request_events.actor_id` of what they
    did, and `help_requests.volunteer_id` of the closed requests they helped with.
    """
    await db.erasing()  # SQLite: erased text is overwritten with zeros, not left in free space
    async with db.transaction():
        requests = [r[0] for r in await db.fetchall("SELECT id FROM help_requests WHERE resident_id = ?",
                                                     (user_id,))]
        marks = ",".join("?" * len(requests))
        if requests:
            await db.execute(f"DELETE FROM relay_messages WHERE request_id IN ({marks})", requests)
            await db.execute(f"DELETE FROM relay_sources WHERE request_id IN ({marks})", requests)
            await db.execute(f"DELETE FROM awaiting WHERE kind IN ('relay', 'comment') AND ref IN ({marks})",
                             requests)
        await db.execute(f"UPDATE help_requests SET {_ERASE_REQUEST}, resident_id = NULL WHERE resident_id = ?",
                         (user_id,))
        await db.execute("UPDATE help_requests SET volunteer_id = NULL WHERE volunteer_id = ? "
                         "AND status IN ('resolved', 'cancelled')", (user_id,))
        await db.execute("UPDATE request_events SET actor_id = NULL WHERE actor_id = ?", (user_id,))
        await db.execute("DELETE FROM relay_messages WHERE chat_id = ?", (user_id,))
        await db.execute("DELETE FROM relay_sources WHERE chat_id = ?", (user_id,))
        await db.execute("DELETE FROM offers WHERE volunteer_id = ?", (user_id,))
        for table in ("request_drafts", "awaiting", "screens", "consents", "guide_feedback", "campaign_recipients",
                      "volunteers", "channel_media", "dashboard_logins", "dashboard_sessions"):
            await db.execute(f"DELETE FROM {table} WHERE user_id = ?", (user_id,))
        await db.execute("UPDATE guide_views SET user_id = NULL WHERE user_id = ?", (user_id,))
        await outcomes_data.erase_person(db, user_id)  # outcomes stay as anonymous counts
        await db.execute("UPDATE users SET first_name = NULL, username = NULL, ward = NULL, locale = NULL, "
                         "subscribed = 0 WHERE id = ?", (user_id,))
        # the anonymous record that a deletion happened (no id, no name)
        await audit.record(db, None, "personal_data_erased", None, now)
    return len(requests)


async def checkpoint(db: Database) -> None:
    """SQLite: copy the write-ahead log into the database file and empty it (`wal_checkpoint(TRUNCATE)`), so
    the text just erased does not stay readable in the -wal file while the bot runs."""
    await db.checkpoint()


# --- retention ----------------------------------------------------------------------------------
async def expire(db: Database, closed_before: str) -> tuple[int, int, int]:
    """Personal fields of requests closed before the cut-off, their relay bookkeeping, old drafts.

    Idempotent: a second run finds nothing left to erase. Returns (requests, relay rows, drafts).
    """
    async with db.transaction():
        cur = await db.execute(
            f"""UPDATE help_requests SET {_ERASE_REQUEST}
                WHERE status IN ('resolved', 'cancelled') AND closed_at <= ? AND ({_HAS_PERSONAL})""",
            (closed_before,))
        erased = cur.rowcount
        cur = await db.execute(
            """DELETE FROM relay_messages WHERE request_id IN (
                   SELECT id FROM help_requests WHERE status IN ('resolved', 'cancelled') AND closed_at <= ?)""",
            (closed_before,))
        relays = cur.rowcount
        await db.execute(
            """DELETE FROM relay_sources WHERE request_id IN (
                   SELECT id FROM help_requests WHERE status IN ('resolved', 'cancelled') AND closed_at <= ?)""",
            (closed_before,))
        cur = await db.execute("DELETE FROM request_drafts WHERE updated_at <= ?", (closed_before,))
        drafts = cur.rowcount
        await db.execute("DELETE FROM channel_media WHERE at <= ?", (closed_before,))  # Zalo photos' URLs
        # dashboard sign-in links and sessions long over (each is also swept when a new one is made)
        await db.execute("DELETE FROM dashboard_logins WHERE expires_at <= ?", (closed_before,))
        await db.execute("DELETE FROM dashboard_sessions WHERE expires_at <= ?", (closed_before,))
    return erased, relays, drafts

"""Campaigns and their recipients: the snapshot, the sender's bookkeeping and the audit trail."""

from __future__ import annotations

import json
from dataclasses import dataclass

from bot.data import Database

# Who may receive campaign messages at all.
SUBSCRIBED = "u.subscribed = 1 AND u.reachable = 1 AND u.banned = 0"
AUDIENCES = ("all", "ward", "locale", "volunteers")


@dataclass(frozen=True)
class CampaignRow:
    id: int
    admin_id: int
    text: str
    entities: list[dict]
    photo: str | None
    audience_kind: str
    audience_value: str | None
    texts: dict[str, dict] | None
    status: str
    scheduled_at: str | None
    created_at: str
    started_at: str | None
    finished_at: str | None
    total: int
    progress_chat_id: int | None
    progress_message_id: int | None


def _row(r) -> CampaignRow:
    return CampaignRow(r["id"], r["admin_id"], r["text"], json.loads(r["entities"] or "[]"), r["photo"],
                       r["audience_kind"], r["audience_value"], json.loads(r["texts"]) if r["texts"] else None,
                       r["status"], r["scheduled_at"], r["created_at"], r["started_at"], r["finished_at"],
                       r["total"], r["progress_chat_id"], r["progress_message_id"])


def _audience(kind: str, value: str | None, default_locale: str) -> tuple[str, list]:
    """The WHERE clause (over `users u`) of one audience; subscribed residents only."""
    if kind == "all":
        return SUBSCRIBED, []
    if kind == "ward":
        return f"{SUBSCRIBED} AND u.ward = ?", [value]
    if kind == "locale":
        return f"{SUBSCRIBED} AND COALESCE(u.locale, ?) = ?", [default_locale, value]
    if kind == "volunteers":
        return f"{SUBSCRIBED} AND u.id IN (SELECT user_id FROM volunteers WHERE status = 'active')", []
    raise ValueError(f"unknown audience {kind!r}")


async def audience_size(db: Database, kind: str, value: str | None, default_locale: str) -> dict[str, int]:
    """Recipients per language (the stored locale, or the default one)."""
    where, params = _audience(kind, value, default_locale)
    rows = await db.fetchall(
        f"SELECT COALESCE(u.locale, ?) AS lang, COUNT(*) AS n FROM users u WHERE {where} GROUP BY lang",
        [default_locale, *params])
    return {r["lang"]: r["n"] for r in rows}


async def wards(db: Database) -> list[tuple[str, int]]:
    """Wards that have subscribed residents, with how many."""
    rows = await db.fetchall(
        f"SELECT u.ward AS ward, COUNT(*) AS n FROM users u WHERE {SUBSCRIBED} AND u.ward IS NOT NULL "
        "GROUP BY u.ward ORDER BY n DESC, u.ward")
    return [(r["ward"], r["n"]) for r in rows]


async def create(db: Database, *, admin_id: int, text: str, entities: list[dict], photo: str | None,
                 audience_kind: str, audience_value: str | None, texts: dict[str, dict] | None,
                 status: str, scheduled_at: str | None, now: str, default_locale: str) -> tuple[int, int]:
    """The campaign and the snapshot of its recipients, in one transaction; (id, recipients)."""
    where, params = _audience(audience_kind, audience_value, default_locale)
    async with db.transaction() as conn:
        row = await conn.fetchone(
            """INSERT INTO campaigns (admin_id, text, entities, photo, audience_kind, audience_value, texts,
                                      status, scheduled_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
               RETURNING id""",
            (admin_id, text, json.dumps(entities, ensure_ascii=False), photo, audience_kind, audience_value,
             json.dumps(texts, ensure_ascii=False) if texts else None, status, scheduled_at, now))
        cid = row["id"] if row else None
        cur = await conn.execute(
            f"""INSERT INTO campaign_recipients (campaign_id, user_id, locale)
                SELECT ?, u.id, COALESCE(u.locale, ?) FROM users u WHERE {where}""",
            (cid, default_locale, *params))
        total = cur.rowcount
        await conn.execute("UPDATE campaigns SET total = ? WHERE id = ?", (total, cid))
    assert cid is not None
    return cid, total


async def get(db: Database, cid: int) -> CampaignRow | None:
    row = await db.fetchone("SELECT * FROM campaigns WHERE id = ?", (cid,))
    return _row(row) if row else None


async def recent(db: Database, limit: int = 5) -> list[CampaignRow]:
    rows = await db.fetchall("SELECT * FROM campaigns ORDER BY id DESC LIMIT ?", (limit,))
    return [_row(r) for r in rows]


async def set_status(db: Database, cid: int, new: str, allowed_from: tuple[str, ...]) -> bool:
    """One conditional UPDATE decides (a Pause racing the last send, two admins pressing at once)."""
    marks = ",".join("?" * len(allowed_from))
    cur = await db.execute(f"UPDATE campaigns SET status = ? WHERE id = ? AND status IN ({marks})",
                           (new, cid, *allowed_from))
    return cur.rowcount > 0


async def start_due(db: Database, now: str) -> list[int]:
    """Scheduled campaigns whose time has come become 'sending'; returns them."""
    rows = await db.fetchall(
        "UPDATE campaigns SET status = 'sending' WHERE status = 'scheduled' AND scheduled_at <= ? RETURNING id",
        (now,))
    return [r["id"] for r in rows]


async def sending(db: Database) -> list[int]:
    rows = await db.fetchall("SELECT id FROM campaigns WHERE status = 'sending' ORDER BY id")
    return [r["id"] for r in rows]


async def mark_started(db: Database, cid: int, now: str) -> None:
    await db.execute("UPDATE campaigns SET started_at = COALESCE(started_at, ?) WHERE id = ?", (now, cid))


async def set_progress_message(db: Database, cid: int, chat_id: int, message_id: int) -> None:
    await db.execute("UPDATE campaigns SET progress_chat_id = ?, progress_message_id = ? WHERE id = ?",
                     (chat_id, message_id, cid))


@dataclass(frozen=True)
class Pending:
    user_id: int
    locale: str
    attempts: int
    still_subscribed: bool


async def pending(db: Database, cid: int, limit: int) -> list[Pending]:
    """The next recipients still to send, with whether they may still receive campaign messages."""
    rows = await db.fetchall(
        f"""SELECT r.user_id, r.locale, r.attempts,
                   CASE WHEN {SUBSCRIBED} THEN 1 ELSE 0 END AS ok
            FROM campaign_recipients r LEFT JOIN users u ON u.id = r.user_id
            WHERE r.campaign_id = ? AND r.status = 'pending' ORDER BY r.user_id LIMIT ?""",
        (cid, limit))
    return [Pending(r["user_id"], r["locale"], r["attempts"], bool(r["ok"])) for r in rows]


async def mark(db: Database, cid: int, user_id: int, status: str, now: str, error: str | None = None) -> None:
    """Right after each send, so a crash re-sends at most the messages in flight."""
    await db.execute(
        """UPDATE campaign_recipients SET status = ?, error = ?, attempts = attempts + 1,
                  sent_at = CASE WHEN ? = 'sent' THEN ? ELSE sent_at END
           WHERE campaign_id = ? AND user_id = ? AND status = 'pending'""",
        (status, error, status, now, cid, user_id))


async def mark_blocked(db: Database, cid: int, user_id: int, now: str, error: str) -> None:
    """The resident blocked the bot: no campaign (of any admin) tries them again."""
    async with db.transaction() as conn:
        await conn.execute("UPDATE users SET reachable = 0 WHERE id = ?", (user_id,))
        await conn.execute(
            """UPDATE campaign_recipients SET status = 'blocked', error = ?, attempts = attempts + 1
               WHERE campaign_id = ? AND user_id = ? AND status = 'pending'""", (error[:200], cid, user_id))


async def add_attempt(db: Database, cid: int, user_id: int, error: str) -> None:
    await db.execute("UPDATE campaign_recipients SET attempts = attempts + 1, error = ? "
                     "WHERE campaign_id = ? AND user_id = ?", (error[:200], cid, user_id))


async def counts(db: Database, cid: int) -> dict[str, int]:
    rows = await db.fetchall("SELECT status, COUNT(*) AS n FROM campaign_recipients WHERE campaign_id = ? "
                             "GROUP BY status", (cid,))
    result = {"pending": 0, "sent": 0, "blocked": 0, "failed": 0, "skipped": 0}
    result.update({r["status"]: r["n"] for r in rows})
    return result


async def store_counters(db: Database, cid: int, c: dict[str, int]) -> None:
    await db.execute("UPDATE campaigns SET sent = ?, failed = ?, blocked = ? WHERE id = ?",
                     (c["sent"], c["failed"] + c["skipped"], c["blocked"], cid))


async def finish(db: Database, cid: int, now: str) -> bool:
    """'sending' → 'done' once nothing is pending; one statement, so only one task reports it."""
    cur = await db.execute(
        """UPDATE campaigns SET status = 'done', finished_at = ? WHERE id = ? AND status = 'sending'
           AND NOT EXISTS (SELECT 1 FROM campaign_recipients WHERE campaign_id = ? AND status = 'pending')""",
        (now, cid, cid))
    return cur.rowcount > 0


async def mark_cancelled(db: Database, cid: int, now: str) -> None:
    await db.execute("UPDATE campaigns SET finished_at = ? WHERE id = ?", (now, cid))


async def resend_failed(db: Database, cid: int) -> int | None:
    """A finished campaign's failed recipients become pending again (attempts and error reset) and the
    campaign 'sending'; how many, or None when the campaign is not finished (one transaction)."""
    async with db.transaction() as conn:
        cur = await conn.execute(
            """UPDATE campaigns SET status = 'sending', finished_at = NULL WHERE id = ? AND status = 'done'
               AND EXISTS (SELECT 1 FROM campaign_recipients WHERE campaign_id = ? AND status = 'failed')""",
            (cid, cid))
        if cur.rowcount == 0:
            row = await conn.fetchone("SELECT status FROM campaigns WHERE id = ?", (cid,))
            return 0 if row is not None and row["status"] == "done" else None
        cur = await conn.execute(
            """UPDATE campaign_recipients SET status = 'pending', attempts = 0, error = NULL
               WHERE campaign_id = ? AND status = 'failed'""", (cid,))
        return cur.rowcount

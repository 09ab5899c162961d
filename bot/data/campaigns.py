"""Campaigns and their recipients: the snapshot, the sender's bookkeeping and the audit trail."""

from __future__ import annotations

import json
from dataclasses import dataclass

from bot.data import Database, Member

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
    image_id: int | None = None  # a photo uploaded on the dashboard (campaign_images), sent instead of `photo`


def _row(r) -> CampaignRow:
    return CampaignRow(r["id"], r["admin_id"], r["text"], json.loads(r["entities"] or "[]"), r["photo"],
                       r["audience_kind"], r["audience_value"], json.loads(r["texts"]) if r["texts"] else None,
                       r["status"], r["scheduled_at"], r["created_at"], r["started_at"], r["finished_at"],
                       r["total"], r["progress_chat_id"], r["progress_message_id"], r["image_id"])


def audience_where(wards: tuple[str, ...], langs: tuple[str, ...], role: str,
                   default_locale: str) -> tuple[str, list]:
    """The WHERE clause (over `users u`) of an audience: subscribed people, narrowed by ward (any of `wards`),
    by language (any of `langs`, a person without one reads the default) and by role ("all", "volunteers":
    active volunteers, "residents": everyone else). An empty tuple does not narrow. bot.campaigns.Audience
    decides what an audience is; this is only its SQL."""
    where, params = [SUBSCRIBED], []
    if wards:
        where.append(f"u.ward IN ({','.join('?' * len(wards))})")
        params += list(wards)
    if langs:
        where.append(f"COALESCE(u.locale, ?) IN ({','.join('?' * len(langs))})")
        params += [default_locale, *langs]
    if role == "volunteers":
        where.append(f"u.id IN ({ACTIVE_VOLUNTEERS})")
    elif role == "residents":
        where.append(f"u.id NOT IN ({ACTIVE_VOLUNTEERS})")
    elif role != "all":
        raise ValueError(f"unknown role {role!r}")
    return " AND ".join(where), params


ACTIVE_VOLUNTEERS = "SELECT user_id FROM volunteers WHERE status = 'active'"
Where = tuple[tuple[str, ...], tuple[str, ...], str]  # (wards, languages, role) of bot.campaigns.Audience


async def audience_size(db: Database, who: Where, default_locale: str) -> dict[tuple[str, str], int]:
    """Recipients of an audience now, per (language, channel): the stored language or the default one; the
    person's channel account ("zalo"), else "telegram"."""
    where, params = audience_where(*who, default_locale)
    rows = await db.fetchall(
        f"""SELECT COALESCE(u.locale, ?) AS lang, COALESCE(a.channel, 'telegram') AS channel, COUNT(*) AS n
            FROM users u LEFT JOIN accounts a ON a.user_id = u.id WHERE {where} GROUP BY 1, 2""",
        [default_locale, *params])
    return {(r["lang"], r["channel"]): r["n"] for r in rows}


async def wards(db: Database) -> list[tuple[str, int]]:
    """Wards that have subscribed residents, with how many."""
    rows = await db.fetchall(
        f"SELECT u.ward AS ward, COUNT(*) AS n FROM users u WHERE {SUBSCRIBED} AND u.ward IS NOT NULL "
        "GROUP BY u.ward ORDER BY n DESC, u.ward")
    return [(r["ward"], r["n"]) for r in rows]


async def create(db: Database, *, admin_id: int, text: str, entities: list[dict], photo: str | None,
                 audience_kind: str, audience_value: str | None, who: Where, texts: dict[str, dict] | None,
                 status: str, scheduled_at: str | None, now: str, default_locale: str,
                 image_id: int | None = None) -> tuple[int, int]:
    """The campaign (its audience stored as `audience_kind`, `audience_value`) and the snapshot of its
    recipients, `who`, in one transaction; (id, recipients)."""
    where, params = audience_where(*who, default_locale)
    async with db.transaction() as conn:
        row = await conn.fetchone(
            """INSERT INTO campaigns (admin_id, text, entities, photo, audience_kind, audience_value, texts,
                                      status, scheduled_at, created_at, image_id)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id""",
            (admin_id, text, json.dumps(entities, ensure_ascii=False), photo, audience_kind, audience_value,
             json.dumps(texts, ensure_ascii=False) if texts else None, status, scheduled_at, now, image_id))
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


SENDERS = 7_270_019  # the advisory-lock namespace of campaign senders (bot/data/postgres.py has its neighbours)


async def join(db: Database) -> Member:
    """This process as a campaign sender: its id (what its claims carry) and how many senders are live."""
    return await db.join(SENDERS)


async def claim(db: Database, cid: int, me: int, limit: int) -> list[Pending]:
    """Claim up to `limit` pending recipients of a campaign that is 'sending' for sender `me`, in user id order,
    and return them (with whether they may still receive campaign messages). A recipient can be claimed when
    nobody claimed it or its claimer is no longer live (killed, or gone); one statement, and on PostgreSQL the
    rows it picks are locked and rows another claimer holds skipped, so two senders never get the same row.
    Nothing once the campaign is paused or cancelled (the other workers stop within one claim)."""
    rows = await db.fetchall(
        f"""UPDATE campaign_recipients SET claimed_by = ?
            WHERE campaign_id = ? AND user_id IN (
                SELECT r.user_id FROM campaign_recipients r
                WHERE r.campaign_id = ? AND r.status = 'pending'
                  AND (r.claimed_by IS NULL OR NOT {db.live_member("r.claimed_by", SENDERS)})
                  AND EXISTS (SELECT 1 FROM campaigns c WHERE c.id = ? AND c.status = 'sending')
                ORDER BY r.user_id LIMIT ?{db.skip_locked})
            RETURNING user_id, locale, attempts,
                COALESCE((SELECT CASE WHEN {SUBSCRIBED} THEN 1 ELSE 0 END FROM users u
                          WHERE u.id = campaign_recipients.user_id), 0) AS ok""",
        (me, cid, cid, me, cid, limit))
    return sorted((Pending(r["user_id"], r["locale"], r["attempts"], bool(r["ok"])) for r in rows),
                  key=lambda p: p.user_id)


async def release(db: Database, cid: int, me: int) -> int:
    """Sender `me` gives back the recipients it claimed and did not send (it stops, or starts the campaign
    again); how many."""
    cur = await db.execute("UPDATE campaign_recipients SET claimed_by = NULL WHERE campaign_id = ? "
                           "AND claimed_by = ? AND status = 'pending'", (cid, me))
    return cur.rowcount


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
            """UPDATE campaign_recipients SET status = 'pending', attempts = 0, error = NULL, claimed_by = NULL
               WHERE campaign_id = ? AND status = 'failed'""", (cid,))
        return cur.rowcount


# --- drafts (the dashboard's and the chat's /broadcast: one table, so a restart loses neither) -------------
@dataclass(frozen=True)
class DraftRow:
    id: int
    admin_id: int
    texts: dict[str, str]  # language -> text
    entities: dict[str, list[dict]]  # language -> Telegram entity dicts of that text
    photo: str | None  # the channel's file id
    audience: str  # bot.campaigns.Audience's key
    chat_of: int | None  # the admin whose chat /broadcast is composing it; None: a dashboard draft
    updated_at: str
    image_id: int | None = None  # a photo uploaded on the dashboard (campaign_images)


def _draft(r) -> DraftRow:
    return DraftRow(r["id"], r["admin_id"], json.loads(r["texts"]), json.loads(r["entities"] or "{}"), r["photo"],
                    r["audience"], r["chat_of"], r["updated_at"], r["image_id"])


async def save_draft(db: Database, draft_id: int | None, admin_id: int, texts: dict[str, str],
                     entities: dict[str, list[dict]], photo: str | None, audience: str, now: str,
                     image_id: int | None = None) -> int:
    """Insert a dashboard draft, or update draft `draft_id` (a new one if it was deleted meanwhile; a chat's
    draft saved on the dashboard becomes the dashboard's); its id. `image_id`: an uploaded photo (campaign_images)."""
    body = json.dumps(texts, ensure_ascii=False)
    marks = json.dumps(entities, ensure_ascii=False)
    if draft_id is not None:
        cur = await db.execute("UPDATE campaign_drafts SET admin_id = ?, texts = ?, entities = ?, photo = ?, "
                               "audience = ?, chat_of = NULL, updated_at = ?, image_id = ? WHERE id = ?",
                               (admin_id, body, marks, photo, audience, now, image_id, draft_id))
        if cur.rowcount == 1:
            return draft_id
    row = await db.fetchone("INSERT INTO campaign_drafts (admin_id, texts, entities, photo, audience, updated_at, "
                            "image_id) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
                            (admin_id, body, marks, photo, audience, now, image_id))
    return int(row["id"])


async def keep_chat_draft(db: Database, admin_id: int, texts: dict[str, str], entities: dict[str, list[dict]],
                          photo: str | None, audience: str, now: str) -> int:
    """The admin's /broadcast draft as it stands (one per admin's chat, replaced at each step); its id."""
    row = await db.fetchone(
        """INSERT INTO campaign_drafts (admin_id, texts, entities, photo, audience, chat_of, updated_at)
           VALUES (?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (chat_of) WHERE chat_of IS NOT NULL DO UPDATE SET texts = excluded.texts,
               entities = excluded.entities, photo = excluded.photo, audience = excluded.audience,
               updated_at = excluded.updated_at
           RETURNING id""",
        (admin_id, json.dumps(texts, ensure_ascii=False), json.dumps(entities, ensure_ascii=False), photo, audience,
         admin_id, now))
    return int(row["id"])


async def set_aside_chat_draft(db: Database, admin_id: int) -> bool:
    """The admin's /broadcast draft stays, as a dashboard draft (a new /broadcast starts afresh); whether
    there was one."""
    cur = await db.execute("UPDATE campaign_drafts SET chat_of = NULL WHERE chat_of = ?", (admin_id,))
    return cur.rowcount > 0


async def drop_chat_draft(db: Database, admin_id: int) -> None:
    """Sent, scheduled or cancelled in chat: the draft has done its work."""
    await db.execute("DELETE FROM campaign_drafts WHERE chat_of = ?", (admin_id,))


async def drafts(db: Database, draft_id: int | None = None) -> list[DraftRow]:
    """Every draft, newest first (or one)."""
    where, params = ("WHERE id = ?", (draft_id,)) if draft_id is not None else ("", ())
    rows = await db.fetchall(f"SELECT * FROM campaign_drafts {where} ORDER BY updated_at DESC, id DESC", params)
    return [_draft(r) for r in rows]


async def delete_draft(db: Database, draft_id: int) -> bool:
    cur = await db.execute("DELETE FROM campaign_drafts WHERE id = ?", (draft_id,))
    return cur.rowcount == 1


# --- photos uploaded on the dashboard (no personal data: the ward office's own pictures) --------------------------
@dataclass(frozen=True)
class ImageRow:
    id: int
    data: bytes
    content_type: str  # image/jpeg, image/png or image/webp
    telegram_file_id: str | None  # after the first upload to Telegram: what later sends use


async def keep_image(db: Database, data: bytes, content_type: str, now: str, forget_before: str) -> int:
    """Keep an uploaded campaign photo; its id. Photos uploaded before `forget_before` that no draft or campaign
    uses (a preview never sent) are deleted at the same time."""
    async with db.transaction() as conn:
        await conn.execute(
            """DELETE FROM campaign_images WHERE created_at < ?
                 AND id NOT IN (SELECT image_id FROM campaign_drafts WHERE image_id IS NOT NULL)
                 AND id NOT IN (SELECT image_id FROM campaigns WHERE image_id IS NOT NULL)""", (forget_before,))
        row = await conn.fetchone("INSERT INTO campaign_images (bytes, content_type, created_at) VALUES (?, ?, ?) "
                                  "RETURNING id", (data, content_type, now))
    assert row is not None
    return int(row["id"])


async def image(db: Database, image_id: int) -> ImageRow | None:
    row = await db.fetchone("SELECT id, bytes, content_type, telegram_file_id FROM campaign_images WHERE id = ?",
                            (image_id,))
    return ImageRow(row[0], bytes(row[1]), row[2], row[3]) if row else None


async def image_file_id(db: Database, image_id: int) -> str | None:
    """Telegram's file id of the photo once it has been uploaded, else None."""
    row = await db.fetchone("SELECT telegram_file_id FROM campaign_images WHERE id = ?", (image_id,))
    return row[0] if row else None


async def set_image_file_id(db: Database, image_id: int, file_id: str) -> None:
    await db.execute("UPDATE campaign_images SET telegram_file_id = ? WHERE id = ?", (file_id, image_id))

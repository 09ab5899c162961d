"""Help requests, their events, offers, drafts, relay bookkeeping and consents."""

from __future__ import annotations

import json
from dataclasses import dataclass, fields

from bot.data import Database


@dataclass(frozen=True)
class RequestRow:
    id: int
    code: str
    resident_id: int | None
    topic: str
    guide_id: str | None
    description: str | None
    attachment_kind: str | None
    attachment_message_id: int | None
    ward: str | None
    mode: str
    phone: str | None
    status: str
    volunteer_id: int | None
    escalation: int
    created_at: str
    opened_at: str
    claimed_at: str | None
    resolved_at: str | None
    closed_at: str | None
    last_activity_at: str | None
    reminded_at: str | None
    rating: int | None
    rating_comment: str | None
    attachments: str | None = None  # JSON [[kind, message id], ...]


@dataclass(frozen=True)
class Draft:
    user_id: int
    step: str
    topic: str | None
    guide_id: str | None
    description: str | None
    attachment_kind: str | None
    attachment_message_id: int | None
    ward: str | None
    ward_chosen: bool
    mode: str | None
    phone: str | None
    updated_at: str
    attachments: str | None = None  # JSON [[kind, message id], ...]


def attachments_of(row: RequestRow | Draft) -> list[tuple[str, int]]:
    """Every attachment of a request or draft as (kind, message id), oldest first."""
    if row.attachments:
        return [(kind, int(mid)) for kind, mid in json.loads(row.attachments)]
    if row.attachment_kind and row.attachment_message_id:
        return [(row.attachment_kind, row.attachment_message_id)]
    return []


def _build(cls, row):
    return cls(**{f.name: row[f.name] for f in fields(cls)}) if row else None


# --- requests ---------------------------------------------------------------------------------
async def get(db: Database, request_id: int) -> RequestRow | None:
    return _build(RequestRow, await db.fetchone("SELECT * FROM help_requests WHERE id = ?", (request_id,)))


async def by_code(db: Database, code: str) -> RequestRow | None:
    return _build(RequestRow, await db.fetchone("SELECT * FROM help_requests WHERE code = ?", (code,)))


async def insert(db: Database, code: str, draft: Draft, now: str) -> int:
    row = await db.fetchone(
        """INSERT INTO help_requests (code, resident_id, topic, guide_id, description, attachment_kind,
               attachment_message_id, attachments, ward, mode, phone, created_at, opened_at, last_activity_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id""",
        (code, draft.user_id, draft.topic, draft.guide_id, draft.description, draft.attachment_kind,
         draft.attachment_message_id, draft.attachments, draft.ward, draft.mode, draft.phone, now, now, now))
    assert row is not None
    return int(row["id"])


async def code_exists(db: Database, code: str) -> bool:
    return await db.fetchone("SELECT 1 FROM help_requests WHERE code = ?", (code,)) is not None


async def transition(db: Database, request_id: int, from_status: str, sets: dict[str, object],
                     extra_where: str = "", extra_params: tuple = ()) -> bool:
    """The one conditional UPDATE that decides a race: true only for the caller that moved it."""
    assignments = ", ".join(f"{column} = ?" for column in sets)
    cur = await db.execute(
        f"UPDATE help_requests SET {assignments} WHERE id = ? AND status = ? {extra_where}",
        (*sets.values(), request_id, from_status, *extra_params))
    return cur.rowcount == 1


# --- who may claim and who may act as holder: each rule once, in SQL -----------------------------
ACTIVE_VOLUNTEERS = "SELECT user_id FROM volunteers WHERE status = 'active'"
# Checked against the request row (help_requests) with numbered parameters: ?1 the volunteer,
# ?2 1 when an admin assigns (any active volunteer, away or not, any ward), ?3 the per-volunteer limit.
# Order matters: the first rule that fails is the reason a refused volunteer is told.
CLAIM_RULES: dict[str, str] = {
    "active": f"?1 IN ({ACTIVE_VOLUNTEERS})",
    "not_banned": "NOT EXISTS (SELECT 1 FROM users b WHERE b.id = ?1 AND b.banned = 1)",
    # a volunteer who asks for help is helped by someone else
    "not_own": "help_requests.resident_id IS DISTINCT FROM ?1",
    "available": "(?2 = 1 OR EXISTS (SELECT 1 FROM volunteers a WHERE a.user_id = ?1 AND a.available = 1))",
    # the request's ward is theirs, or unknown, or it was offered to them (an outstanding offer row)
    "in_reach": """(?2 = 1 OR help_requests.ward IS NULL
        OR EXISTS (SELECT 1 FROM volunteer_wards w WHERE w.user_id = ?1 AND w.ward = help_requests.ward)
        OR EXISTS (SELECT 1 FROM offers o WHERE o.request_id = help_requests.id AND o.volunteer_id = ?1))""",
    "below_limit": "(SELECT COUNT(*) FROM help_requests h WHERE h.volunteer_id = ?1 AND h.status = 'claimed') < ?3",
}
# A holder action (resolve, release, relay, in person) needs the holder to be an active volunteer still.
HELD_BY = f"AND volunteer_id = ? AND volunteer_id IN ({ACTIVE_VOLUNTEERS})"


async def claim(db: Database, request_id: int, volunteer_id: int, limit: int, now: str, *,
                assigned: bool = False) -> bool:
    """First press wins: open → claimed, only when every claim rule holds, decided by this one UPDATE."""
    rules = " AND ".join(CLAIM_RULES.values())
    cur = await db.execute(
        f"""UPDATE help_requests SET status = 'claimed', volunteer_id = ?1, claimed_at = ?4, last_activity_at = ?4,
                                     reminded_at = NULL
            WHERE id = ?5 AND status = 'open' AND {rules}""",
        (volunteer_id, int(assigned), limit, now, request_id))
    return cur.rowcount == 1


async def claim_rules(db: Database, request_id: int | None, volunteer_id: int, limit: int) -> dict[str, bool]:
    """Which claim rules hold right now, to tell a refused volunteer why (no such request: only the
    volunteer's own rules matter)."""
    columns = ", ".join(f"{sql} AS {name}" for name, sql in CLAIM_RULES.items())
    row = await db.fetchone(
        f"SELECT {columns} FROM (SELECT 1 AS one) q LEFT JOIN help_requests ON help_requests.id = ?4",
        (volunteer_id, 0, limit, request_id))
    return {name: bool(row[name]) for name in CLAIM_RULES}


async def held(db: Database, request_id: int, volunteer_id: int) -> RequestRow | None:
    """The request if this volunteer holds it and is still an active volunteer."""
    return _build(RequestRow, await db.fetchone(
        f"SELECT * FROM help_requests WHERE id = ? AND status = 'claimed' {HELD_BY}", (request_id, volunteer_id)))


async def held_by_active(db: Database, volunteer_id: int) -> list[RequestRow]:
    """What this volunteer may act on now: nothing unless they are an active volunteer."""
    rows = await db.fetchall(f"SELECT * FROM help_requests WHERE status = 'claimed' {HELD_BY} ORDER BY id",
                             (volunteer_id,))
    return [_build(RequestRow, r) for r in rows]


async def inactive_holders(db: Database) -> list[int]:
    """Volunteers who hold a request although they are no longer active (paused, removed)."""
    rows = await db.fetchall(
        f"""SELECT DISTINCT volunteer_id FROM help_requests
            WHERE status = 'claimed' AND volunteer_id IS NOT NULL AND volunteer_id NOT IN ({ACTIVE_VOLUNTEERS})
            ORDER BY volunteer_id""")
    return [r["volunteer_id"] for r in rows]


async def add_event(db: Database, request_id: int, actor_id: int | None, kind: str, now: str,
                    detail: str | None = None) -> None:
    await db.execute("INSERT INTO request_events (request_id, actor_id, kind, detail, at) VALUES (?, ?, ?, ?, ?)",
                     (request_id, actor_id, kind, detail, now))


async def events(db: Database, request_id: int) -> list[tuple[int | None, str, str | None]]:
    rows = await db.fetchall("SELECT actor_id, kind, detail FROM request_events WHERE request_id = ? ORDER BY id",
                             (request_id,))
    return [(r["actor_id"], r["kind"], r["detail"]) for r in rows]


async def of_resident(db: Database, resident_id: int, limit: int = 10) -> list[RequestRow]:
    rows = await db.fetchall("SELECT * FROM help_requests WHERE resident_id = ? ORDER BY id DESC LIMIT ?",
                             (resident_id, limit))
    return [_build(RequestRow, r) for r in rows]


async def of_resident_in(db: Database, resident_id: int, statuses: tuple[str, ...]) -> list[RequestRow]:
    """A resident's requests in these statuses, oldest first."""
    marks = ",".join("?" * len(statuses))
    rows = await db.fetchall(f"SELECT * FROM help_requests WHERE resident_id = ? AND status IN ({marks}) ORDER BY id",
                             (resident_id, *statuses))
    return [_build(RequestRow, r) for r in rows]


async def held_by(db: Database, volunteer_id: int) -> list[RequestRow]:
    rows = await db.fetchall("SELECT * FROM help_requests WHERE volunteer_id = ? AND status = 'claimed' ORDER BY id",
                             (volunteer_id,))
    return [_build(RequestRow, r) for r in rows]


async def open_oldest_first(db: Database, limit: int = 30) -> list[RequestRow]:
    rows = await db.fetchall("SELECT * FROM help_requests WHERE status = 'open' ORDER BY opened_at, id LIMIT ?",
                             (limit,))
    return [_build(RequestRow, r) for r in rows]


async def due_open(db: Database, below_level: int, opened_before: str) -> list[RequestRow]:
    rows = await db.fetchall(
        "SELECT * FROM help_requests WHERE status = 'open' AND escalation < ? AND opened_at <= ? ORDER BY id",
        (below_level, opened_before))
    return [_build(RequestRow, r) for r in rows]


async def due_claimed(db: Database, quiet_since: str, *, unreminded: bool) -> list[RequestRow]:
    extra = "AND reminded_at IS NULL" if unreminded else ""
    rows = await db.fetchall(
        f"SELECT * FROM help_requests WHERE status = 'claimed' AND last_activity_at <= ? {extra} ORDER BY id",
        (quiet_since,))
    return [_build(RequestRow, r) for r in rows]


async def touch_activity(db: Database, request_id: int, now: str) -> None:
    await db.execute("UPDATE help_requests SET last_activity_at = ?, reminded_at = NULL WHERE id = ?",
                     (now, request_id))


async def set_rating(db: Database, request_id: int, resident_id: int, stars: int) -> bool:
    cur = await db.execute(
        "UPDATE help_requests SET rating = ? WHERE id = ? AND resident_id = ? AND status = 'resolved'",
        (stars, request_id, resident_id))
    return cur.rowcount == 1


async def set_comment(db: Database, request_id: int, resident_id: int, comment: str) -> bool:
    cur = await db.execute(
        "UPDATE help_requests SET rating_comment = ? WHERE id = ? AND resident_id = ? AND rating IS NOT NULL",
        (comment, request_id, resident_id))
    return cur.rowcount == 1


# --- offers -----------------------------------------------------------------------------------
async def add_offer(db: Database, request_id: int, volunteer_id: int, message_id: int, now: str) -> None:
    await db.execute("INSERT INTO offers (request_id, volunteer_id, message_id, at) VALUES (?, ?, ?, ?) "
                     "ON CONFLICT (request_id, volunteer_id) DO UPDATE SET message_id = excluded.message_id, "
                     "at = excluded.at",
                     (request_id, volunteer_id, message_id, now))


async def offers_of(db: Database, request_id: int) -> list[tuple[int, int]]:
    rows = await db.fetchall("SELECT volunteer_id, message_id FROM offers WHERE request_id = ?", (request_id,))
    return [(r["volunteer_id"], r["message_id"]) for r in rows]


async def offers_to(db: Database, volunteer_id: int) -> list[tuple[int, str, int]]:
    """This volunteer's outstanding offers as (request id, code, message id)."""
    rows = await db.fetchall(
        """SELECT o.request_id, r.code, o.message_id FROM offers o JOIN help_requests r ON r.id = o.request_id
           WHERE o.volunteer_id = ? ORDER BY o.request_id""", (volunteer_id,))
    return [(r["request_id"], r["code"], r["message_id"]) for r in rows]


async def withdraw_offer(db: Database, request_id: int, volunteer_id: int) -> bool:
    """Delete one offer; true only for the caller that deleted it."""
    cur = await db.execute("DELETE FROM offers WHERE request_id = ? AND volunteer_id = ?", (request_id, volunteer_id))
    return cur.rowcount == 1


async def clear_offers(db: Database, request_id: int) -> None:
    await db.execute("DELETE FROM offers WHERE request_id = ?", (request_id,))


async def offered_volunteers(db: Database, request_id: int) -> set[int]:
    """Everyone ever offered or who held it (from events), so re-routing reaches new people first."""
    rows = await db.fetchall(
        """SELECT volunteer_id AS v FROM offers WHERE request_id = ?
           UNION SELECT actor_id FROM request_events WHERE request_id = ? AND kind IN ('released', 'claimed')""",
        (request_id, request_id))
    return {r["v"] for r in rows if r["v"] is not None}


# --- drafts -----------------------------------------------------------------------------------
async def get_draft(db: Database, user_id: int) -> Draft | None:
    return _build(Draft, await db.fetchone("SELECT * FROM request_drafts WHERE user_id = ?", (user_id,)))


async def start_draft(db: Database, user_id: int, step: str, topic: str | None, guide_id: str | None,
                      now: str) -> None:
    await db.execute("DELETE FROM request_drafts WHERE user_id = ?", (user_id,))
    await db.execute("INSERT INTO request_drafts (user_id, step, topic, guide_id, updated_at) VALUES (?, ?, ?, ?, ?)",
                     (user_id, step, topic, guide_id, now))


DRAFT_COLUMNS = {"step", "topic", "description", "attachment_kind", "attachment_message_id", "attachments", "ward",
                 "ward_chosen",
                 "mode", "phone"}


async def update_draft(db: Database, user_id: int, now: str, **values: object) -> bool:
    assert set(values) <= DRAFT_COLUMNS, values
    assignments = ", ".join(f"{column} = ?" for column in values)
    cur = await db.execute(f"UPDATE request_drafts SET {assignments}, updated_at = ? WHERE user_id = ?",
                           (*values.values(), now, user_id))
    return cur.rowcount == 1


async def delete_draft(db: Database, user_id: int) -> None:
    await db.execute("DELETE FROM request_drafts WHERE user_id = ?", (user_id,))


# --- what a user's next message means ---------------------------------------------------------
async def set_awaiting(db: Database, user_id: int, kind: str, ref: int | None, now: str) -> None:
    """What the person's next message answers. Messages kept for "which request?" stay kept: only
    choosing, /cancel or the menu (take_unsent) end them."""
    await db.execute(
        """INSERT INTO awaiting (user_id, kind, ref, at) VALUES (?, ?, ?, ?)
           ON CONFLICT(user_id) DO UPDATE SET kind = excluded.kind, ref = excluded.ref, at = excluded.at""",
        (user_id, kind, ref, now))


async def get_awaiting(db: Database, user_id: int) -> tuple[str, int | None] | None:
    row = await db.fetchone("SELECT kind, ref FROM awaiting WHERE user_id = ?", (user_id,))
    return (row["kind"], row["ref"]) if row else None


async def clear_awaiting(db: Database, user_id: int, ref: int | None = None) -> None:
    if ref is None:
        await db.execute("DELETE FROM awaiting WHERE user_id = ?", (user_id,))
    else:
        await db.execute("DELETE FROM awaiting WHERE user_id = ? AND ref = ?", (user_id, ref))


async def clear_awaiting_kind(db: Database, user_id: int, kind: str) -> None:
    await db.execute("DELETE FROM awaiting WHERE user_id = ? AND kind = ?", (user_id, kind))


async def clear_awaiting_kinds(db: Database, user_id: int, kinds: tuple[str, ...]) -> None:
    marks = ",".join("?" * len(kinds))
    await db.execute(f"DELETE FROM awaiting WHERE user_id = ? AND kind IN ({marks})", (user_id, *kinds))


async def keep_unsent(db: Database, user_id: int, message: dict, now: str) -> int:
    """Add a message to those kept until their sender says which request they are for; returns how many
    are kept. Kept as JSON only until delivered (take_unsent) or the person moves on."""
    async with db.transaction():
        row = await db.fetchone("SELECT unsent FROM awaiting WHERE user_id = ? AND kind = 'relay' AND ref IS NULL"
                                + db.for_update, (user_id,))
        kept = [*(json.loads(row["unsent"]) if row and row["unsent"] else []), message]
        await db.execute(
            """INSERT INTO awaiting (user_id, kind, ref, at, unsent) VALUES (?, 'relay', NULL, ?, ?)
               ON CONFLICT (user_id) DO UPDATE SET kind = excluded.kind, ref = excluded.ref, at = excluded.at,
                                                   unsent = excluded.unsent""",
            (user_id, now, json.dumps(kept, ensure_ascii=False)))
    return len(kept)


async def take_unsent(db: Database, user_id: int) -> list[dict]:
    """The kept messages, removed in the same transaction, so each is delivered once."""
    async with db.transaction():
        row = await db.fetchone("SELECT unsent FROM awaiting WHERE user_id = ? AND unsent IS NOT NULL" + db.for_update,
                                (user_id,))
        if row:
            await db.execute("UPDATE awaiting SET unsent = NULL WHERE user_id = ?", (user_id,))
    return json.loads(row["unsent"]) if row else []


async def conversations_of(db: Database, user_id: int) -> list[RequestRow]:
    """Claimed requests this person is a party to, as resident or as the volunteer holding it."""
    rows = await db.fetchall(
        """SELECT * FROM help_requests WHERE status = 'claimed' AND (resident_id = ? OR volunteer_id = ?)
           ORDER BY id""", (user_id, user_id))
    return [_build(RequestRow, r) for r in rows]


async def clear_awaiting_for_request(db: Database, request_id: int) -> None:
    """The request closed: a comment prompt on it ends, and a relay focused on it is no longer clear (the
    person's next message is asked about, never sent on to their other conversation by default)."""
    await db.execute("UPDATE awaiting SET ref = NULL WHERE ref = ? AND kind = 'relay'", (request_id,))
    await db.execute("DELETE FROM awaiting WHERE ref = ? AND kind = 'comment'", (request_id,))


# --- relay ------------------------------------------------------------------------------------
async def remember_relay(db: Database, chat_id: int, message_id: int, request_id: int, now: str) -> None:
    await db.execute("INSERT INTO relay_messages (chat_id, message_id, request_id, at) VALUES (?, ?, ?, ?) "
                     "ON CONFLICT (chat_id, message_id) DO UPDATE SET request_id = excluded.request_id, "
                     "at = excluded.at",
                     (chat_id, message_id, request_id, now))


async def remember_source(db: Database, chat_id: int, message_id: int, request_id: int, now: str) -> None:
    """A person's own message that was relayed for a request (ids only), so that its edit can follow."""
    await db.execute("INSERT INTO relay_sources (chat_id, message_id, request_id, at) VALUES (?, ?, ?, ?) "
                     "ON CONFLICT (chat_id, message_id) DO UPDATE SET request_id = excluded.request_id, "
                     "at = excluded.at",
                     (chat_id, message_id, request_id, now))


async def source_request(db: Database, chat_id: int, message_id: int) -> int | None:
    """The request a person's own message was relayed for; None when it was not relayed."""
    row = await db.fetchone("SELECT request_id FROM relay_sources WHERE chat_id = ? AND message_id = ?",
                            (chat_id, message_id))
    return row["request_id"] if row else None


async def relayed_request(db: Database, chat_id: int, message_id: int) -> int | None:
    row = await db.fetchone("SELECT request_id FROM relay_messages WHERE chat_id = ? AND message_id = ?",
                            (chat_id, message_id))
    return row["request_id"] if row else None


# --- consents ---------------------------------------------------------------------------------
async def record_consent(db: Database, user_id: int, purpose: str, granted: bool, now: str) -> None:
    await db.execute("INSERT INTO consents (user_id, purpose, granted, at) VALUES (?, ?, ?, ?)",
                     (user_id, purpose, int(granted), now))

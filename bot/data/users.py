"""Residents, volunteers and admins as rows of `users`."""

from __future__ import annotations

from dataclasses import dataclass

from bot.data import Database, accounts
from bot.screens import Screen


@dataclass(frozen=True)
class UserRow:
    id: int
    first_name: str | None
    locale: str | None
    ward: str | None
    is_admin: bool
    subscribed: bool
    banned: bool
    created_at: str


def _row(r) -> UserRow:
    return UserRow(r["id"], r["first_name"], r["locale"], r["ward"], bool(r["is_admin"]),
                   bool(r["subscribed"]), bool(r["banned"]), r["created_at"])


async def touch(db: Database, user_id: int, first_name: str | None, username: str | None, now: str) -> UserRow:
    """Create the user on first contact, refresh name and last-seen otherwise; one statement."""
    row = await db.fetchone(
        """INSERT INTO users (id, first_name, username, created_at, last_seen_at) VALUES (?, ?, ?, ?, ?)
           ON CONFLICT(id) DO UPDATE SET first_name = excluded.first_name, username = excluded.username,
                                         last_seen_at = excluded.last_seen_at
           RETURNING *""",
        (user_id, first_name, username, now, now),
    )
    assert row is not None
    if not accounts.is_zalo(user_id):  # a Telegram user's account: their Telegram id is their surrogate id
        await accounts.telegram(db, user_id, now)
    return _row(row)


@dataclass(frozen=True)
class Arrival:
    """Who sent an update, and what their next message answers (an open ask draft, a relay…)."""

    user: UserRow
    draft_step: str | None
    awaiting: tuple[str, int | None] | None
    screen: Screen | None = None  # the newest choices they were shown
    conversations: int = 0  # claimed requests they are a party to (resident or volunteer)
    holding: bool = False  # a message of theirs waits for the answer to "which request is this for?"


async def arrive(db: Database, user_id: int, first_name: str | None, username: str | None, now: str,
                 seen_before: str) -> Arrival:
    """One read per update; a write only for someone new, renamed, or last seen before `seen_before`."""
    row = await db.fetchone(
        """SELECT u.*, d.step AS draft_step, a.kind AS awaiting_kind, a.ref AS awaiting_ref,
                  a.unsent IS NOT NULL AS holding, s.message_id AS screen_message, s.choices AS screen_choices,
                  (SELECT COUNT(*) FROM help_requests h WHERE h.status = 'claimed' AND h.volunteer_id = q.uid)
                  + (SELECT COUNT(*) FROM help_requests h WHERE h.status = 'claimed' AND h.resident_id = q.uid)
                  AS conversations
           FROM (SELECT CAST(? AS BIGINT) AS uid) q LEFT JOIN users u ON u.id = q.uid
           LEFT JOIN request_drafts d ON d.user_id = q.uid LEFT JOIN awaiting a ON a.user_id = q.uid
           LEFT JOIN screens s ON s.user_id = q.uid""",
        (user_id,))
    assert row is not None
    fresh = (row["id"] is not None and row["first_name"] == first_name and row["username"] == username
             and row["last_seen_at"] >= seen_before)
    user = _row(row) if fresh else await touch(db, user_id, first_name, username, now)
    awaiting = (row["awaiting_kind"], row["awaiting_ref"]) if row["awaiting_kind"] else None
    screen = Screen.from_json(row["screen_message"], row["screen_choices"]) if row["screen_message"] else None
    return Arrival(user, row["draft_step"], awaiting, screen, row["conversations"], bool(row["holding"]))


async def get(db: Database, user_id: int) -> UserRow | None:
    row = await db.fetchone("SELECT * FROM users WHERE id = ?", (user_id,))
    return _row(row) if row else None


async def set_ward(db: Database, user_id: int, ward: str) -> None:
    """The ward a resident last said they live in (campaigns by ward use it)."""
    await db.execute("UPDATE users SET ward = ? WHERE id = ?", (ward, user_id))


async def set_locale(db: Database, user_id: int, locale: str) -> None:
    await db.execute("UPDATE users SET locale = ? WHERE id = ?", (locale, user_id))


async def set_subscribed(db: Database, user_id: int, subscribed: bool) -> None:
    """Campaign messages only; help requests and replies are not affected."""
    await db.execute("UPDATE users SET subscribed = ? WHERE id = ?", (int(subscribed), user_id))


async def set_admin(db: Database, user_id: int, is_admin: bool) -> bool:
    """Promote or demote a known user; False when nobody with that id has talked to the bot."""
    cur = await db.execute("UPDATE users SET is_admin = ? WHERE id = ?", (int(is_admin), user_id))
    return cur.rowcount > 0


async def promoted_admins(db: Database) -> list[UserRow]:
    rows = await db.fetchall("SELECT * FROM users WHERE is_admin = 1 ORDER BY id")
    return [_row(r) for r in rows]


async def get_many(db: Database, ids: list[int]) -> dict[int, UserRow]:
    if not ids:
        return {}
    marks = ",".join("?" * len(ids))
    rows = await db.fetchall(f"SELECT * FROM users WHERE id IN ({marks})", ids)
    return {r["id"]: _row(r) for r in rows}


async def set_banned(db: Database, user_id: int, banned: bool) -> bool:
    """Ban or unban a known user; an unban also forgets that the ban notice was sent."""
    cur = await db.execute("UPDATE users SET banned = ?, ban_notified = 0 WHERE id = ?", (int(banned), user_id))
    return cur.rowcount > 0


async def claim_ban_notice(db: Database, user_id: int) -> bool:
    """True exactly once per ban: the one statement that decides whether the notice is still owed."""
    cur = await db.execute("UPDATE users SET ban_notified = 1 WHERE id = ? AND banned = 1 AND ban_notified = 0",
                           (user_id,))
    return cur.rowcount == 1

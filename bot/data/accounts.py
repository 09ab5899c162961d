"""Channel accounts: a person is one `users` row with a surrogate id; each account is (channel, external id).

Telegram users keep their Telegram user id as their surrogate id (Telegram ids have at most 52 significant
bits). A Zalo person gets `ZALO_ID_BASE + n` (n = 1, 2, …), a range Telegram never uses, so the core can keep
using one integer per person and one private chat per person. Account rows are never deleted: like the
`users` row after /deletemydata, the id alone keeps a ban or an unsubscribe in force.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.data import Database

TELEGRAM = "telegram"
ZALO = "zalo"
ZALO_ID_BASE = 2**53  # above every Telegram id (52 significant bits), far below SQLite's 2**63 - 1


def is_zalo(user_id: int) -> bool:
    """Whether a surrogate id (or private chat id) belongs to a Zalo person."""
    return user_id > ZALO_ID_BASE


@dataclass(frozen=True)
class Account:
    channel: str
    external_id: str  # the channel's id for the person (Zalo: opaque text, never shown to other people)
    user_id: int  # users.id, the surrogate id
    chat_id: str | None  # where to write to them on that channel


def _row(r) -> Account:
    return Account(r["channel"], r["external_id"], r["user_id"], r["chat_id"])


async def zalo(db: Database, external_id: str, chat_id: str | None, now: str) -> Account:
    """The Zalo person with this id, created with the next surrogate id on first contact; one statement
    decides the id, under a lock that several processes sharing PostgreSQL take in turn (SQLite has one writer).
    A chat id replaces the stored one; None keeps it (an admin's account made at start, before they wrote)."""
    async with db.transaction():
        await db.lock("accounts.zalo")
        row = await db.fetchone(
            """INSERT INTO accounts (channel, external_id, user_id, chat_id, created_at)
               SELECT ?, ?, COALESCE((SELECT MAX(user_id) FROM accounts WHERE user_id > ?), ?) + 1, ?, ?
               ON CONFLICT(channel, external_id) DO UPDATE SET chat_id = COALESCE(excluded.chat_id, accounts.chat_id)
               RETURNING *""",
            (ZALO, external_id, ZALO_ID_BASE, ZALO_ID_BASE, chat_id, now))
    assert row is not None
    return _row(row)


async def telegram(db: Database, user_id: int, now: str) -> None:
    """Record a Telegram user's account (their surrogate id is their Telegram id); nothing if known."""
    await db.execute(
        "INSERT INTO accounts (channel, external_id, user_id, chat_id, created_at) VALUES (?, ?, ?, ?, ?) "
        "ON CONFLICT DO NOTHING", (TELEGRAM, str(user_id), user_id, str(user_id), now))


async def of_user(db: Database, user_id: int) -> Account | None:
    row = await db.fetchone("SELECT * FROM accounts WHERE user_id = ?", (user_id,))
    return _row(row) if row else None


async def next_message_id(db: Database, user_id: int) -> int:
    """The next message id in this person's chat (both directions count, as in a Telegram chat)."""
    row = await db.fetchone("UPDATE accounts SET last_message_id = last_message_id + 1 WHERE user_id = ? "
                            "RETURNING last_message_id", (user_id,))
    if row is None:
        raise LookupError("no account for this chat")
    return int(row[0])


async def keep_media(db: Database, user_id: int, message_id: int, kind: str, url: str, now: str) -> None:
    """A photo a Zalo person sent (its URL), so the relay and their request can pass it on later."""
    await db.execute("INSERT INTO channel_media (user_id, message_id, kind, url, at) VALUES (?, ?, ?, ?, ?) "
                     "ON CONFLICT (user_id, message_id) DO UPDATE SET kind = excluded.kind, url = excluded.url, "
                     "at = excluded.at",
                     (user_id, message_id, kind, url, now))


async def media(db: Database, user_id: int, message_id: int) -> tuple[str, str] | None:
    """(kind, url) of a kept photo, or None (never sent, or erased)."""
    row = await db.fetchone("SELECT kind, url FROM channel_media WHERE user_id = ? AND message_id = ?",
                            (user_id, message_id))
    return (row[0], row[1]) if row else None


async def campaign_on_zalo(db: Database, campaign_id: int) -> tuple[int, int]:
    """(sent, recipients) of a campaign among Zalo people, so the report counts them separately."""
    row = await db.fetchone("SELECT COALESCE(SUM(CASE WHEN status = 'sent' THEN 1 ELSE 0 END), 0), COUNT(*) "
                            "FROM campaign_recipients WHERE campaign_id = ? AND user_id > ?",
                            (campaign_id, ZALO_ID_BASE))
    assert row is not None
    return int(row[0]), int(row[1])

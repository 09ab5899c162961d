"""The newest screen each person was shown: one row per person, replaced only by a newer message."""

from __future__ import annotations

from bot.data import Database
from bot.screens import Screen


async def record(db: Database, user_id: int, screen: Screen, now: str) -> None:
    """Keep `screen` unless a newer message with choices is already kept (an edit of an old
    message, such as a campaign's progress, must not take the place of what is on screen now)."""
    await db.execute(
        """INSERT INTO screens (user_id, message_id, choices, at)
           VALUES (?, ?, ?, ?)
           ON CONFLICT(user_id) DO UPDATE SET message_id = excluded.message_id, choices = excluded.choices,
                                              at = excluded.at
           WHERE excluded.message_id >= screens.message_id""",
        (user_id, screen.message_id, screen.to_json(), now))


async def forget(db: Database, user_id: int, message_id: int) -> None:
    """That message lost its choices: if it was the screen, there is none now."""
    await db.execute("DELETE FROM screens WHERE user_id = ? AND message_id = ?", (user_id, message_id))


async def get(db: Database, user_id: int) -> Screen | None:
    row = await db.fetchone("SELECT message_id, choices FROM screens WHERE user_id = ?", (user_id,))
    return Screen.from_json(row["message_id"], row["choices"]) if row else None

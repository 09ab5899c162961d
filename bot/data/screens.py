"""The newest screen each person was shown: one row per person, replaced only by a newer message."""

from __future__ import annotations

from bot.data import Database
from bot.screens import Screen


async def record(db: Database, user_id: int, screen: Screen, now: str, *, edit: bool = False) -> None:
    """Keep `screen` as the person's newest. A message just sent always is; an edited one only if it is not
    older than the one kept (a campaign's progress, edited now and then, must not take the place of what is
    on screen now). Message ids are compared only for edits: the console numbers messages anew each run."""
    await db.execute(
        f"""INSERT INTO screens (user_id, message_id, choices, at)
           VALUES (?, ?, ?, ?)
           ON CONFLICT(user_id) DO UPDATE SET message_id = excluded.message_id, choices = excluded.choices,
                                              at = excluded.at
           {"WHERE excluded.message_id >= screens.message_id" if edit else ""}""",
        (user_id, screen.message_id, screen.to_json(), now))


async def forget(db: Database, user_id: int, message_id: int) -> None:
    """That message lost its choices: if it was the screen, there is none now."""
    await db.execute("DELETE FROM screens WHERE user_id = ? AND message_id = ?", (user_id, message_id))


async def get(db: Database, user_id: int) -> Screen | None:
    row = await db.fetchone("SELECT message_id, choices FROM screens WHERE user_id = ?", (user_id,))
    return Screen.from_json(row["message_id"], row["choices"]) if row else None

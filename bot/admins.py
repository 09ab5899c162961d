"""Who is an admin: ADMIN_IDS from the settings, plus residents promoted in chat by another admin."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.data import audit, users

if TYPE_CHECKING:
    from bot.services import Services


@dataclass(frozen=True)
class AdminEntry:
    id: int
    name: str | None
    from_settings: bool


async def listing(svc: Services) -> list[AdminEntry]:
    promoted = {u.id: u for u in await users.promoted_admins(svc.db)}
    configured = await users.get_many(svc.db, sorted(svc.settings.admin_ids))
    entries = [AdminEntry(i, configured[i].first_name if i in configured else None, True)
               for i in sorted(svc.settings.admin_ids)]
    entries += [AdminEntry(u.id, u.first_name, False) for u in promoted.values() if u.id not in svc.settings.admin_ids]
    return entries


async def change(svc: Services, actor: users.UserRow | None, target: int, promote: bool) -> str:
    """'ok', 'not_allowed', 'unknown_user' (never talked to the bot), 'configured' (ADMIN_IDS) or 'self'."""
    if not svc.is_admin(actor):
        return "not_allowed"
    assert actor is not None
    if not promote and target in svc.settings.admin_ids:
        return "configured"
    if not promote and target == actor.id:
        return "self"
    if not await users.set_admin(svc.db, target, promote):
        return "unknown_user"
    await audit.record(svc.db, actor.id, "admin_added" if promote else "admin_removed", str(target),
                              svc.now())
    return "ok"

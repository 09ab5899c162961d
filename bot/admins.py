"""Who is an admin: ADMIN_IDS from the settings, plus residents promoted in chat by another admin."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.data import audit, users
from bot.data import dashboard as dashboard_data
from bot.i18n import N_
from bot.refusal import ADMINS_ONLY, Refused

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


async def change(svc: Services, actor: users.UserRow | None, target: int, promote: bool) -> None:
    """Promote or demote `target`. Raises Refused (msgids take `{id}`) for a non-admin actor, an admin from
    ADMIN_IDS, removing oneself, or someone who never talked to the bot."""
    if not svc.is_admin(actor):
        raise Refused(ADMINS_ONLY)
    assert actor is not None
    if not promote and target in svc.settings.admin_ids:
        raise Refused(N_("{id} is an admin from the bot's settings (ADMIN_IDS) and stays one."))
    if not promote and target == actor.id:
        raise Refused(N_("You cannot remove yourself. Ask another admin."))
    if not await users.set_admin(svc.db, target, promote):
        raise Refused(N_("{id} has not talked to the bot yet. Ask them to send /start first."))
    await audit.record(svc.db, actor.id, "admin_added" if promote else "admin_removed", str(target),
                              svc.now())
    if not promote:  # their dashboard sessions end now (a volunteer too signs in again)
        await dashboard_data.end_sessions_of(svc.db, target)

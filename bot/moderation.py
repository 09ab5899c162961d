"""Abuse resistance: per-user flood control (in memory) and bans (in the database). Channel-free."""

from __future__ import annotations

import logging
from collections import deque
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from bot.data import audit, users
from bot.data import dashboard as dashboard_data
from bot.i18n import N_
from bot.refusal import ADMINS_ONLY, Refused

if TYPE_CHECKING:
    from bot.services import Services

log = logging.getLogger(__name__)

OK, NOTICE, DROP = "ok", "notice", "drop"
ADMIN_FACTOR = 10  # admins work fast on purpose; only a runaway client (10× the limit) is cut off


class FloodGuard:
    """More than `limit` updates in `window` from one person → one notice, then silence until the
    cooldown (one window) passes. Memory stays small: a deque of at most limit+1 times per active
    person (ADMIN_FACTOR×limit+1 for an admin), and people quiet for a whole window are forgotten on the
    next sweep. Admins get a ceiling ADMIN_FACTOR times higher: quick work is never throttled, a runaway
    client still is."""

    def __init__(self, limit: int, window: float):
        self.limit, self.window = limit, timedelta(seconds=window)
        self._seen: dict[int, deque[datetime]] = {}
        self._muted: dict[int, datetime] = {}  # user → end of their cooldown
        self._last_sweep: datetime | None = None

    def at_limit(self, user_id: int, now: datetime) -> bool:
        """Whether the next update would be over the normal limit (and the person is not muted already):
        the one moment worth asking whether they are an admin."""
        if user_id in self._muted and now < self._muted[user_id]:
            return False
        seen = self._seen.get(user_id, ())
        return sum(1 for t in seen if now - t < self.window) >= self.limit

    def check(self, user_id: int, now: datetime, admin: bool = False) -> str:
        """'ok' (serve it), 'notice' (the first update over the limit: say so once), 'drop'.
        An admin's limit is ADMIN_FACTOR times the normal one."""
        limit = self.limit * ADMIN_FACTOR if admin else self.limit
        self._sweep(now)
        until = self._muted.get(user_id)
        if until is not None:
            if now < until:
                return DROP
            del self._muted[user_id]
            self._seen.pop(user_id, None)
        seen = self._seen.setdefault(user_id, deque())
        while seen and now - seen[0] >= self.window:
            seen.popleft()
        seen.append(now)
        if len(seen) > limit:
            self._muted[user_id] = now + self.window
            self._seen.pop(user_id, None)
            log.warning("flood cooldown", extra={"user": user_id})
            return NOTICE
        return OK

    def _sweep(self, now: datetime) -> None:
        if self._last_sweep is not None and now - self._last_sweep < self.window:
            return
        self._last_sweep = now
        for uid in [u for u, s in self._seen.items() if not s or now - s[-1] >= self.window]:
            del self._seen[uid]
        for uid in [u for u, until in self._muted.items() if until <= now]:
            del self._muted[uid]

    def tracked(self) -> int:
        return len(self._seen) + len(self._muted)


async def set_ban(svc: Services, actor: users.UserRow | None, target: int, banned: bool) -> None:
    """Ban or unban `target` (audited). Raises Refused (msgids take `{id}`) for a non-admin actor, oneself,
    an admin, or someone who never talked to the bot."""
    if not svc.is_admin(actor):
        raise Refused(ADMINS_ONLY)
    assert actor is not None
    if target == actor.id:
        raise Refused(N_("You cannot ban yourself."))
    if banned and (target in svc.settings.admin_ids or svc.is_admin(await users.get(svc.db, target))):
        raise Refused(N_("{id} is an admin and cannot be banned."))
    if not await users.set_banned(svc.db, target, banned):
        raise Refused(N_("{id} has not talked to the bot yet."))
    await audit.record(svc.db, actor.id, "user_banned" if banned else "user_unbanned", str(target), svc.now())
    if banned:  # their dashboard sessions end now
        await dashboard_data.end_sessions_of(svc.db, target)
    log.info("ban changed", extra={"user": target, "banned": banned, "admin": actor.id})


async def owes_ban_notice(svc: Services, user_id: int) -> bool:
    """True the first time a banned person writes after the ban; never again until unbanned."""
    return await users.claim_ban_notice(svc.db, user_id)

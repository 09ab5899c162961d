"""When a handler fails: admins hear about it, but at most once per error kind per quiet period."""

from __future__ import annotations

import logging
import traceback
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from bot.i18n import N_
from bot.logsafe import Safe
from bot.messaging import SendError

if TYPE_CHECKING:
    from bot.services import Services

log = logging.getLogger(__name__)

QUIET = timedelta(minutes=10)
HANDLERS_DIR = Path(__file__).resolve().parent.parent / "handlers"
ADMIN_NOTE = N_("⚠️ The bot hit an error: {kind} in {where}.\nThe details are in the log. "
                "I will not repeat this one for 10 minutes.")


def error_key(error: BaseException) -> Safe:
    """Exception class + the handler it came from (the outermost frame in handlers/), e.g.
    'KeyError@handlers.requests.request_button'. Holds no message text, so logs show it as it is."""
    where = "?"
    for frame in traceback.extract_tb(error.__traceback__):
        path = Path(frame.filename)
        if path.is_relative_to(HANDLERS_DIR):
            where = f"handlers.{path.stem}.{frame.name}"
            break
    return Safe(f"{type(error).__name__}@{where}")


class ErrorThrottle:
    """In memory, per process: which error kinds were reported to admins, and when."""

    def __init__(self, quiet: timedelta = QUIET):
        self.quiet = quiet
        self._last: dict[str, datetime] = {}

    def due(self, key: str, now: datetime) -> bool:
        last = self._last.get(key)
        if last is not None and now - last < self.quiet:
            return False
        self._last[key] = now
        return True


async def _admins(svc: Services) -> set[int]:
    """Who hears about errors; ADMIN_IDS alone when the database (which knows the others) is what failed."""
    try:
        return await svc.admin_ids()
    except Exception:
        return set(svc.settings.admin_ids)


async def report(svc: Services, error: BaseException) -> bool:
    """Tell every admin about this error kind unless it was reported in the last 10 minutes."""
    key = error_key(error)
    if not svc.errors.due(key, svc.clock.now()):
        return False

    kind, _sep, where = key.partition("@")
    for admin in sorted(await _admins(svc)):
        try:
            t = await svc.translator(admin)
        except Exception:  # the database may be what failed: write in the default language
            t = svc.i18n.get(None)
        try:
            await svc.outbox.send(admin, t.gettext(ADMIN_NOTE).format(kind=kind, where=where))
        except SendError:
            log.info("error report not delivered", extra={"admin": admin})
    return True

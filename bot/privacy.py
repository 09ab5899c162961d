"""Privacy by design: consent per purpose, withdrawal, a copy of one's data, deletion, retention.

Channel-free. Purposes: 'volunteer_contact' (the phone shared in the ask wizard) and 'campaigns'
(campaign messages; users.subscribed stays the switch). Law 91/2025/QH15 and Decree 356/2025/NĐ-CP
ask for consent per purpose, withdrawal that stops the processing, and deletion on request.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import timedelta

from bot import commands
from bot import help_requests as requests_service
from bot.clock import iso
from bot.data import privacy as data
from bot.data import requests as rdata
from bot.data import updates as updates_data
from bot.data import users
from bot.help_requests import CONTACT_PURPOSE
from bot.refusal import Refused
from bot.services import Services

log = logging.getLogger(__name__)
SEEN_UPDATES_DAYS = 7  # Telegram re-sends an unanswered update for about a day; a week is ample

CAMPAIGNS_PURPOSE = "campaigns"

async def set_campaigns(svc: Services, user_id: int, on: bool) -> None:
    """/subscribe and /unsubscribe: the switch and the consent record change together."""
    async with svc.db.transaction():
        await users.set_subscribed(svc.db, user_id, on)
        await rdata.record_consent(svc.db, user_id, CAMPAIGNS_PURPOSE, on, svc.now())
    log.info("consent changed", extra={"user": user_id, "purpose": CAMPAIGNS_PURPOSE, "granted": on})


async def has_contact_consent(svc: Services, user_id: int) -> bool:
    return bool(await data.latest_consent(svc.db, user_id, CONTACT_PURPOSE))


async def withdraw_contact(svc: Services, user_id: int) -> int:
    """Withdraw phone consent: recorded, and the phone leaves every request still in progress."""
    async with svc.db.transaction():
        await rdata.record_consent(svc.db, user_id, CONTACT_PURPOSE, False, svc.now())
        erased = await data.erase_live_phones(svc.db, user_id)
    log.info("consent changed", extra={"user": user_id, "purpose": CONTACT_PURPOSE, "granted": False,
                                       "requests": erased})
    return erased


async def export(svc: Services, user_id: int) -> tuple[str, bytes]:
    """Everything stored about the person, as a JSON file (name, bytes)."""
    body = await data.export(svc.db, user_id)
    body = {"exported_at": svc.now(), **body}
    text = json.dumps(body, ensure_ascii=False, indent=2, default=str)
    log.info("personal data exported", extra={"user": user_id})
    return f"my-data-{user_id}.json", text.encode("utf-8")


@dataclass(frozen=True)
class Erased:
    requests: int
    cancelled: int
    closed: int
    released: int


async def delete_person(svc: Services, user_id: int) -> Erased:
    """Erase the person's data: waiting requests are cancelled, a request being helped is closed (its
    volunteer is told), requests they hold as a volunteer go back to the queue; then one transaction
    erases the rest. Only anonymous counts and an anonymous audit row remain."""
    cancelled = closed = released = 0
    for request_id, status in await data.live_requests(svc.db, user_id):
        if status == "open":
            try:
                await requests_service.cancel(svc, request_id, user_id)
                cancelled += 1
                continue
            except Refused:
                pass  # claimed meanwhile: closed just below
        closed += await requests_service.close_for_erasure(svc, request_id)
    for request in await rdata.held_by(svc.db, user_id):
        try:
            await requests_service.release(svc, request.id, user_id, "erased")
            released += 1
        except Refused:
            pass
    count = await data.erase_person(svc.db, user_id, svc.now())
    await data.checkpoint(svc.db)
    await commands.sync(svc, user_id)
    log.info("personal data erased", extra={"requests": count})
    return Erased(count, cancelled, closed, released)


async def retention_tick(svc: Services) -> None:
    """Hourly and idempotent: personal fields of requests closed more than RETENTION_DAYS ago go,
    with their relay bookkeeping and abandoned drafts; the ids of updates taken more than SEEN_UPDATES_DAYS
    ago are forgotten (several workers: the channels stopped re-sending them long before); the bytes of expired
    media links go."""
    cutoff = iso(svc.clock.now() - timedelta(days=svc.settings.retention_days))
    await updates_data.prune(svc.db, iso(svc.clock.now() - timedelta(days=SEEN_UPDATES_DAYS)))
    await svc.media.prune()  # the bytes of expired media links (a one-time /mydata file not downloaded)
    erased, relays, drafts = await data.expire(svc.db, cutoff)
    if erased:
        await data.checkpoint(svc.db)
    if erased or relays or drafts:
        log.info("retention applied", extra={"requests": erased, "relay_rows": relays, "drafts": drafts})

"""Help requests: filing, routing to volunteers, the state machine, relay and escalation.

Channel-free: it sends through `svc.outbox` and renders each message in its recipient's language.
Every transition is one function here that checks the actor and the current state with a single
conditional UPDATE, writes an event row, and tells the people concerned.

    open → claimed → resolved      open → cancelled
    claimed → open (release by the holder; by the system after a long silence or when the holder
                    stops being an active volunteer)      resolved → open (reopen within 7 days)
    claimed → cancelled (the resident erased their data)
"""

from __future__ import annotations

import json
import logging
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta

from bot import actions as A
from bot.clock import iso, parse
from bot.content import SupportPoint
from bot.data import requests as data
from bot.data import users
from bot.data import volunteers as vdata
from bot.data.requests import Draft, RequestRow
from bot.i18n import N_, Translator
from bot.messaging import Buttons, SendError, Unreachable
from bot.refusal import Refused
from bot.services import Services
from bot.textnorm import clean, phone_e164, replace_phones

log = logging.getLogger(__name__)

CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O, 1/I: read aloud over the phone
REOPEN_WINDOW = timedelta(days=7)
DESCRIPTION_LIMIT = 1000
SECRET_WARNING = N_("⚠️ This looks like a code, a password, a card number or an ID number. Never share codes or "
                    "passwords with anyone, not even a volunteer or someone who says they are from the police or a "
                    "bank: nobody helping you needs them.")
PHONE_REFUSED = N_("Sorry, that does not look like a phone number I can use. Please type it with its area code, "
                   "for example 0901 234 567 or +84 901 234 567.\nOr tap “📞 Send my phone number” below.")
MODES = {
    "chat": N_("💬 Messages through the bot"),
    "phone": N_("📞 A phone call"),
    "in_person": N_("🏢 In person at a support point"),
    "home_visit": N_("🏠 A home visit (if you cannot travel)"),
}
STATUS = {
    "open": N_("⏳ Waiting for a volunteer"),
    "claimed": N_("🙋 A volunteer is helping"),
    "resolved": N_("✅ Resolved"),
    "cancelled": N_("✖ Cancelled"),
}
RELEASE_REASONS = {
    "unreachable": N_("Could not reach the resident"),
    "skills": N_("Beyond what I can help with"),
    "busy": N_("Something came up"),
}
CONTACT_PURPOSE = "volunteer_contact"
ATTACHMENT_NOTES = {"photo": N_("(with a photo)"), "voice": N_("(with a voice message)"), "file": N_("(with a file)")}
ONLY_ACTIVE = N_("Only active volunteers can claim requests.")
CLAIM_REFUSALS = {  # why a claim rule of bot.data.requests.CLAIM_RULES failed, in the rules' order
    "active": ONLY_ACTIVE,
    "not_banned": ONLY_ACTIVE,
    "not_own": N_("This is your own request. Another volunteer will help you."),
    "available": N_("You are away. Send /available first, then claim it."),
    "in_reach": N_("This request is for another ward."),
    "below_limit": N_("You already hold as many requests as you can. Close one first."),
}
# A system release tells the previous holder why, unless they already know (they were paused or removed).
SYSTEM_RELEASE_NOTES = {
    "silent": N_("↩ Request {code} went back to the queue after a long silence, so someone else can help."),
    "volunteer_left": None,
    "admin": N_("↩ An admin put request {code} back in the queue, so someone else can help."),
}
OFFER_WITHDRAWN = N_("No longer available to you")


@dataclass(frozen=True)
class ClaimResult:
    won: bool
    request: RequestRow | None


# --- the ask wizard (a draft row survives restarts) ---------------------------------------------
STEPS = ("topic", "description", "ward", "mode", "contact", "confirm")


def next_step(draft: Draft) -> str:
    if not draft.topic:
        return "topic"
    if not draft.description and not draft.attachment_kind:
        return "description"
    if not draft.ward_chosen:
        return "ward"
    if not draft.mode:
        return "mode"
    if draft.step in ("contact", "phone") or (draft.mode == "phone" and not draft.phone):
        return draft.step if draft.step in ("contact", "phone") else "contact"
    return "confirm"


OPEN_STATUSES = ("open", "claimed")
AT_LIMIT = N_("You already have {n} requests waiting or being helped: {codes}.\n"
              "A volunteer will help with them. When one is resolved, or you cancel one in /myrequests, "
              "you can ask again.")


async def open_requests(svc: Services, user_id: int) -> list[RequestRow]:
    """A resident's requests still waiting or being helped, oldest first."""
    return await data.of_resident_in(svc.db, user_id, OPEN_STATUSES)


async def at_limit(svc: Services, user_id: int) -> list[RequestRow]:
    """The resident's open requests when they already have MAX_OPEN_REQUESTS of them, else []."""
    found = await open_requests(svc, user_id)
    return found if len(found) >= svc.settings.max_open_requests else []


async def begin(svc: Services, user_id: int, guide_id: str | None = None) -> Draft:
    """Start the ask wizard. Raises Refused(AT_LIMIT) when the resident already has MAX_OPEN_REQUESTS open
    (the caller shows which, see `at_limit`)."""
    if await at_limit(svc, user_id):
        raise Refused(AT_LIMIT)
    guide = svc.guide(guide_id) if guide_id else None
    await data.clear_awaiting_kind(svc.db, user_id, "vol_name")  # an unanswered /volunteer must not take the text
    await data.start_draft(svc.db, user_id, "topic", guide.category if guide else None,
                           guide.id if guide else None, svc.now())
    return await _advance(svc, user_id)


MAX_ATTACHMENTS = 10


def attachment_note(t: Translator, row: RequestRow | Draft) -> str:
    """"(with a photo)", or "(with 3 attachments)" when there are several."""
    found = data.attachments_of(row)
    if len(found) > 1:
        return t.gettext("(with {n} attachments)").format(n=len(found))
    return t.gettext(ATTACHMENT_NOTES.get(found[0][0] if found else "file", ATTACHMENT_NOTES["file"]))


async def attach(svc: Services, user_id: int, draft: Draft, kind: str, message_id: int,
                 caption: str | None) -> Draft | None:
    """Add a photo, voice note or file (and its caption, after the description) to the draft; each one is
    kept, up to MAX_ATTACHMENTS. None when the draft is gone."""
    found = [*data.attachments_of(draft), (kind, message_id)][-MAX_ATTACHMENTS:]
    description = "\n".join(part for part in (draft.description, (caption or "").strip()) if part) or None
    return await answer(svc, user_id, attachment_kind=found[0][0], attachment_message_id=found[0][1],
                        attachments=json.dumps(found), description=description)


async def answer(svc: Services, user_id: int, **values: object) -> Draft | None:
    """Store one answer and move to the next question; None when there is no draft (stale button)."""
    if "description" in values and isinstance(values["description"], str):
        values["description"] = values["description"].strip()[:DESCRIPTION_LIMIT]
    if not await data.update_draft(svc.db, user_id, svc.now(), **values):
        return None
    return await _advance(svc, user_id)


async def _advance(svc: Services, user_id: int) -> Draft:
    draft = await data.get_draft(svc.db, user_id)
    assert draft is not None
    step = next_step(draft)
    if step != draft.step:
        await data.update_draft(svc.db, user_id, svc.now(), step=step)
        draft = await data.get_draft(svc.db, user_id)
    return draft


async def cancel_draft(svc: Services, user_id: int) -> None:
    await data.delete_draft(svc.db, user_id)


async def _new_code(svc: Services) -> str:
    while True:
        code = "HT-" + "".join(secrets.choice(CODE_ALPHABET) for _ in range(4))
        if not await data.code_exists(svc.db, code):
            return code


async def file(svc: Services, user_id: int) -> RequestRow | None:
    """Commit the request (and the consent, if a phone was shared) before anyone is told. Raises
    Refused(AT_LIMIT) when the resident already has MAX_OPEN_REQUESTS open (the draft is kept)."""
    draft = await data.get_draft(svc.db, user_id)
    if draft is None or next_step(draft) != "confirm":
        return None
    if await at_limit(svc, user_id):
        raise Refused(AT_LIMIT)
    now = svc.now()
    async with svc.db.transaction():
        code = await _new_code(svc)
        request_id = await data.insert(svc.db, code, draft, now)
        await data.add_event(svc.db, request_id, user_id, "filed", now)
        if draft.phone:
            await data.record_consent(svc.db, user_id, CONTACT_PURPOSE, True, now)
        if draft.ward:
            await users.set_ward(svc.db, user_id, draft.ward)
        await data.delete_draft(svc.db, user_id)
    log.info("request filed", extra={"request": request_id})
    request = await data.get(svc.db, request_id)
    await route(svc, request)
    return request


# --- rendering for other people ---------------------------------------------------------------
def topic_name(svc: Services, t: Translator, topic: str) -> str:
    category = svc.content.categories.get(topic)
    return f"{category.emoji} {category.name.get(t.locale)}" if category else topic


def ward_name(svc: Services, t: Translator, ward: str | None) -> str:
    w = svc.content.wards.get(ward or "")
    return w.name.get(t.locale) if w else t.gettext("Not sure")


_PHONE = re.compile(r"(?<![\d+])(?:\+?84|0)(?:[\s.-]?\d){8,10}(?!\d)")


# A 12-digit ID (căn cước) number or a 13–19-digit card number, spaces or dashes allowed between digits.
_ID_OR_CARD = re.compile(r"(?<![\d+])\d(?:[\s-]?\d){11,18}(?!\d)")
_OTP_WORDS = re.compile(r"\b(?:otp|m[aã]|code|pin|x[aá]c (?:th[uự]c|nh[aậ]n))\b", re.IGNORECASE)
_CODE = re.compile(r"(?<![\d+])\d{4,8}(?!\d)")
# "mật khẩu: …", "mat khau la …", "pass abc123": the word, then a value (after ":", "=", "là", or with a digit)
_PASSWORD = re.compile(r"\b(?:m[aậ]t kh[aẩ]u|pass(?:word)?|mk|pw)\b(?:\s*(?:[:=]|l[aà]\b)\s*(?!g[iì]\b)\S"
                       r"|\s+\S*\d)", re.IGNORECASE)


def hide_phones(text: str, mark: str, number_mark: str | None = None) -> str:
    """A description with Vietnamese phone numbers (0909 123 456, +84 909…) replaced by `mark`, and 12-digit
    ID or 13–19-digit card numbers by `number_mark` (or `mark`): only the volunteer who holds the request, with
    the resident's consent, sees a number."""
    text = _ID_OR_CARD.sub(number_mark or mark, text)
    return replace_phones(_PHONE.sub(mark, text), mark)


def looks_secret(text: str | None) -> bool:
    """Whether free text (a description, a comment, a relayed message) seems to hold something nobody should
    share: a one-time code (4–8 digits with "OTP", "mã", "code"…), a password line ("mật khẩu: …", "pass"),
    a card number (13–19 digits) or a 12-digit ID number. The person is warned and may still send it."""
    if not text:
        return False
    text = clean(text)
    if _ID_OR_CARD.search(text) or _PASSWORD.search(text):
        return True
    return bool(_OTP_WORDS.search(text) and _CODE.search(text))


def card(svc: Services, t: Translator, r: RequestRow, *, full: bool) -> str:
    """A request as a volunteer sees it. Never the resident's name or account; the phone only in
    the full card, which only the holder gets, and only when the resident consented."""
    _ = t.gettext
    waited = svc.clock.now() - parse(r.opened_at)
    lines = [
        _("🙋 Help request {code}").format(code=r.code),
        _("Topic: {topic}").format(topic=topic_name(svc, t, r.topic)),
        _("Ward: {ward}").format(ward=ward_name(svc, t, r.ward)),
        _("How: {mode}").format(mode=_(MODES[r.mode])),
        _("Waiting: {age}").format(age=t.age(waited)),
    ]
    if r.guide_id and (guide := svc.guide(r.guide_id)):
        lines.append(_("Guide tried: {title}").format(title=guide.title.get(t.locale)))
    if r.description:
        lines += ["", r.description if full else hide_phones(r.description, _("(phone number hidden)"),
                                                                         _("(number hidden)"))]
    if r.attachment_kind:
        lines.append(attachment_note(t, r))
    if full:
        lines.append("")
        lines.append(_("📞 Phone: {phone}").format(phone=phone_e164(r.phone) or r.phone) if r.phone
                     else _("The resident chose messages through the bot only."))
    return "\n".join(lines)


def holder_buttons(t: Translator, r: RequestRow) -> Buttons:
    """What the volunteer holding a request can do with it."""
    _ = t.gettext
    return [[(_("💬 Message the resident"), A.Write(r.id).pack())],
            [(_("✅ Resolved"), A.Resolve(r.id).pack()), (_("↩ Release"), A.Release(r.id).pack())],
            [(_("🏢 Needs in person"), A.InPerson(r.id).pack())]]


UNREACHABLE = N_("Sorry, this person can no longer be reached through the bot. Your message was not delivered.")
NOT_TOLD = N_("⚠️ {code}: the other person can no longer be reached through the bot (they blocked it or deleted "
              "their account), so they were not told.")


async def _send(svc: Services, user_id: int, text: str, buttons: Buttons | None = None, *,
                actor: int | None = None, request: RequestRow | None = None) -> int | None:
    """Tell someone; a person who blocked the bot must not break the transition that already happened.

    The one place a notice about a request meets an unreachable person (blocked the bot, deleted their
    account): the request's history records it ("unreachable"), and `actor`, who caused the notice,
    is told plainly that the other side was not told. None when nothing was delivered."""
    try:
        return await svc.outbox.send(user_id, text, buttons)
    except Unreachable:
        log.info("notice not delivered: unreachable", extra={"user": user_id})
        if request is not None:
            await data.add_event(svc.db, request.id, None, "unreachable", svc.now(), str(user_id))
            if actor is not None and actor != user_id:
                t = await svc.translator(actor)
                await _send(svc, actor, t.gettext(NOT_TOLD).format(code=request.code))
        return None
    except SendError as exc:
        log.warning("notice not delivered", extra={"user": user_id, "error": type(exc).__name__})
        return None


# --- routing ----------------------------------------------------------------------------------
async def route(svc: Services, request: RequestRow, *, everyone_in_area: bool = False) -> int:
    """Offer an open request to up to K fitting volunteers (or to all available in the ward)."""
    s = svc.settings
    exclude = await data.offered_volunteers(svc.db, request.id) | ({request.resident_id} - {None})  # not their own
    chosen = await vdata.choose(svc.db, request.ward, None if everyone_in_area else request.topic,
                                10_000 if everyone_in_area else s.offer_count, s.volunteer_limit, exclude)
    for volunteer_id in chosen:
        await _offer(svc, request, volunteer_id)
    return len(chosen)


async def _offer(svc: Services, request: RequestRow, volunteer_id: int, intro: str | None = None) -> None:
    """Send one volunteer the request's card with "✋ Claim", and record the offer (it makes them eligible)."""
    t = await svc.translator(volunteer_id)
    text = card(svc, t, request, full=False)
    if intro:
        text = t.gettext(intro).format(code=request.code) + "\n\n" + text
    message_id = await _send(svc, volunteer_id, text, [[(t.gettext("✋ Claim"), A.Claim(request.id).pack())]])
    if message_id is not None:
        await data.add_offer(svc.db, request.id, volunteer_id, message_id, svc.now())
        await data.add_event(svc.db, request.id, None, "offered", svc.now(), str(volunteer_id))


async def _close_offers(svc: Services, request: RequestRow, keep: int | None, note: str) -> None:
    """Edit every outstanding offer at once, so nobody presses a button that cannot work."""
    offers = await data.offers_of(svc.db, request.id)
    people = await users.get_many(svc.db, [volunteer_id for volunteer_id, _mid in offers])  # one query, not one each
    for volunteer_id, message_id in offers:
        if volunteer_id == keep:
            continue
        person = people.get(volunteer_id)
        await _lock_offer(svc, svc.i18n.get(person.locale if person else None), volunteer_id, message_id,
                          request.code, note)
    await data.clear_offers(svc.db, request.id)


async def _lock_offer(svc: Services, t: Translator, volunteer_id: int, message_id: int, code: str,
                      note: str) -> None:
    """An offer becomes "🔒 CODE: why", without its Claim button."""
    try:
        await svc.outbox.edit(volunteer_id, message_id, f"🔒 {code}: {t.gettext(note)}")
    except SendError:
        log.info("offer not edited", extra={"volunteer": volunteer_id})


async def _withdraw_offers(svc: Services, volunteer_id: int) -> int:
    """Take back every outstanding offer of a volunteer who stopped being active; how many."""
    withdrawn = 0
    t = await svc.translator(volunteer_id)
    for request_id, code, message_id in await data.offers_to(svc.db, volunteer_id):
        if not await data.withdraw_offer(svc.db, request_id, volunteer_id):
            continue  # claimed or cancelled meanwhile: that path edited it
        await data.add_event(svc.db, request_id, None, "offer_withdrawn", svc.now(), str(volunteer_id))
        await _lock_offer(svc, t, volunteer_id, message_id, code, OFFER_WITHDRAWN)
        withdrawn += 1
    return withdrawn


# --- transitions ------------------------------------------------------------------------------
async def claim(svc: Services, request_id: int, volunteer_id: int) -> ClaimResult:
    """open → claimed by the volunteer who pressed Claim, if the claim rules allow it (see
    bot.data.requests.CLAIM_RULES); `why_not_claimed` explains a refusal."""
    return await _claim(svc, request_id, volunteer_id, assigned=False)


async def _claim(svc: Services, request_id: int, volunteer_id: int, *, assigned: bool) -> ClaimResult:
    now = svc.now()
    async with svc.db.transaction():
        won = await data.claim(svc.db, request_id, volunteer_id, svc.settings.volunteer_limit, now,
                               assigned=assigned)
        if won:
            await data.add_event(svc.db, request_id, volunteer_id, "claimed", now)
            await vdata.mark_assigned(svc.db, volunteer_id, now)
    request = await data.get(svc.db, request_id)
    if not won:
        return ClaimResult(False, request)
    log.info("request claimed", extra={"request": request_id})
    await _close_offers(svc, request, keep=volunteer_id, note=N_("Taken by another volunteer"))
    others = [r.id for r in await data.conversations_of(svc.db, volunteer_id) if r.id != request_id]
    # with another conversation going on, the next plain message is asked about, never guessed
    await data.set_awaiting(svc.db, volunteer_id, "relay", None if others else request_id, now)
    volunteer = await vdata.get(svc.db, volunteer_id)
    if request.resident_id:
        await _focus_on_arrival(svc, request.resident_id, request_id)  # "To answer, just type."
        t = await svc.translator(request.resident_id)
        await _send(svc, request.resident_id, t.gettext(
            "🙋 Volunteer {name} is now helping you with request {code}.\n"
            "Their messages will come here. To answer, just type.").format(
            name=volunteer.display_name if volunteer else "", code=request.code), actor=volunteer_id, request=request)
    return ClaimResult(True, request)


async def why_not_claimed(svc: Services, request: RequestRow | None, volunteer_id: int) -> str:
    """The msgid that explains a lost or refused claim: the first claim rule that fails now."""
    rules = await data.claim_rules(svc.db, request.id if request else None, volunteer_id,
                                   svc.settings.volunteer_limit)
    if not (rules["active"] and rules["not_banned"]):
        return ONLY_ACTIVE
    if request is None:
        return N_("This request no longer exists.")
    if request.status == "open":
        failed = [name for name, ok in rules.items() if not ok]
        return CLAIM_REFUSALS[failed[0]] if failed else N_("It did not work this time. Please try again.")
    if request.volunteer_id == volunteer_id:
        return N_("You already hold this request.")
    return N_("Taken by another volunteer")


async def holder_request(svc: Services, request_id: int, volunteer_id: int) -> RequestRow:
    """The request its holder may act on; refused unless they hold it and are still an active volunteer."""
    request = await data.held(svc.db, request_id, volunteer_id)
    if request is None:
        raise Refused(N_("You do not hold this request any more."))
    return request


async def holding(svc: Services, volunteer_id: int) -> list[RequestRow]:
    """What a volunteer holds and may act on (/mine): nothing once they are paused or removed."""
    return await data.held_by_active(svc.db, volunteer_id)


async def resolve(svc: Services, request_id: int, volunteer_id: int) -> RequestRow:
    """claimed → resolved by its holder (an active volunteer); the resident is asked to rate."""
    now = svc.now()
    async with svc.db.transaction():
        moved = await data.transition(svc.db, request_id, "claimed", {"status": "resolved", "resolved_at": now,
                                                                      "closed_at": now},
                                      data.HELD_BY, (volunteer_id,))
        if not moved:
            raise Refused(N_("You do not hold this request any more."))
        await data.add_event(svc.db, request_id, volunteer_id, "resolved", now)
    request = await data.get(svc.db, request_id)
    await data.clear_awaiting_for_request(svc.db, request_id)
    if request.resident_id:
        t = await svc.translator(request.resident_id)
        _ = t.gettext
        await _send(svc, request.resident_id,
                    _("✅ Your request {code} is resolved.\n"
                      "How was the help? Tap the stars, or type a number from 1 to 5.").format(code=request.code),
                    [[("⭐" * int(n), A.Rate(request_id, n).pack()) for n in ("1", "2", "3")],
                     [("⭐" * int(n), A.Rate(request_id, n).pack()) for n in ("4", "5")],
                     [(_("🔁 It's back"), A.Reopen(request_id).pack())]], actor=volunteer_id, request=request)
    return request


async def release(svc: Services, request_id: int, volunteer_id: int | None, reason: str, *,
                  holder: int | None = None, by: int | None = None) -> RequestRow:
    """claimed → open, by the holder (volunteer_id, an active volunteer) or by the system (None, only
    while `holder`, when given, still holds it; `by`: the admin who asked, see `release_by_admin`); then
    route again."""
    now = svc.now()
    async with svc.db.transaction():
        if volunteer_id is not None:
            extra, params = data.HELD_BY, (volunteer_id,)
        else:
            extra, params = ("AND volunteer_id = ?", (holder,)) if holder is not None else ("", ())
        previous = await data.get(svc.db, request_id)
        moved = await data.transition(svc.db, request_id, "claimed",
                                      {"status": "open", "volunteer_id": None, "opened_at": now, "escalation": 0,
                                       "claimed_at": None, "reminded_at": None}, extra, params)
        if not moved:
            raise Refused(N_("You do not hold this request any more."))
        kind = "released" if volunteer_id else "admin_released" if by is not None else "auto_released"
        await data.add_event(svc.db, request_id, volunteer_id or by, kind, now, reason)
    await data.clear_awaiting_for_request(svc.db, request_id)
    request = await data.get(svc.db, request_id)
    if volunteer_id is None and previous and previous.volunteer_id and SYSTEM_RELEASE_NOTES.get(reason):
        t = await svc.translator(previous.volunteer_id)
        await _send(svc, previous.volunteer_id, t.gettext(SYSTEM_RELEASE_NOTES[reason]).format(code=request.code))
    if request.resident_id:
        t = await svc.translator(request.resident_id)
        await _send(svc, request.resident_id, t.gettext(
            "Request {code}: the volunteer could not continue. We are finding another volunteer for you.").format(
            code=request.code), actor=volunteer_id, request=request)
    await route(svc, request)
    return request


async def volunteer_left(svc: Services, volunteer_id: int) -> list[RequestRow]:
    """A volunteer paused or removed loses access at once: each request they hold goes back to routing
    (a system release, reason "volunteer_left"; the resident is told) and their offers are withdrawn.
    Returns the released requests."""
    released = []
    for request in await data.held_by(svc.db, volunteer_id):
        try:
            released.append(await release(svc, request.id, None, "volunteer_left", holder=volunteer_id))
        except Refused:
            pass  # resolved or released meanwhile
    withdrawn = await _withdraw_offers(svc, volunteer_id)
    log.info("volunteer left", extra={"volunteer": volunteer_id, "released": len(released), "offers": withdrawn})
    return released


async def cancel(svc: Services, request_id: int, resident_id: int) -> RequestRow:
    now = svc.now()
    async with svc.db.transaction():
        moved = await data.transition(svc.db, request_id, "open", {"status": "cancelled", "closed_at": now},
                                      "AND resident_id = ?", (resident_id,))
        if not moved:
            raise Refused(N_("Only a request that is still waiting can be cancelled."))
        await data.add_event(svc.db, request_id, resident_id, "cancelled", now)
    request = await data.get(svc.db, request_id)
    await _close_offers(svc, request, keep=None, note=N_("Cancelled by the resident"))
    return request


def reopenable(svc: Services, r: RequestRow) -> bool:
    """Resolved within REOPEN_WINDOW: the resident may say it is back."""
    return r.status == "resolved" and r.resolved_at is not None and (
        svc.clock.now() - parse(r.resolved_at) <= REOPEN_WINDOW)


async def reopen(svc: Services, request_id: int, resident_id: int) -> RequestRow:
    now_dt = svc.clock.now()
    now = iso(now_dt)
    since = iso(now_dt - REOPEN_WINDOW)
    async with svc.db.transaction():
        previous = await data.get(svc.db, request_id)
        moved = await data.transition(svc.db, request_id, "resolved",
                                      {"status": "open", "opened_at": now, "escalation": 0, "volunteer_id": None,
                                       "resolved_at": None, "closed_at": None},
                                      "AND resident_id = ? AND resolved_at >= ?", (resident_id, since))
        if not moved:
            raise Refused(N_("This request can no longer be reopened. Please ask for help again."))
        await data.add_event(svc.db, request_id, resident_id, "reopened", now)
    request = await data.get(svc.db, request_id)
    helper = previous.volunteer_id if previous else None
    if helper is not None and await vdata.can_take(svc.db, helper, svc.settings.volunteer_limit):
        # the volunteer who knows the case hears first, and may take it again
        await _offer(svc, request, helper, N_("🔁 The resident says request {code} is not solved yet."))
    await route(svc, request)
    return request


ERASED_NOTE = N_("🔒 Request {code} was closed: the resident asked to delete their data. "
                 "Thank you for your help.")


async def close_for_erasure(svc: Services, request_id: int) -> int:
    """claimed → cancelled when the resident erases their data; the volunteer is told. 1 if it moved."""
    now = svc.now()
    async with svc.db.transaction():
        request = await data.get(svc.db, request_id)
        if request is None or not await data.transition(svc.db, request_id, "claimed",
                                                         {"status": "cancelled", "closed_at": now}):
            return 0
        await data.add_event(svc.db, request_id, None, "closed_erased", now)
        await data.clear_awaiting_for_request(svc.db, request_id)
    if request.volunteer_id:
        t = await svc.translator(request.volunteer_id)
        await _send(svc, request.volunteer_id, t.gettext(ERASED_NOTE).format(code=request.code))
    return 1


async def rate(svc: Services, request_id: int, resident_id: int, stars: int) -> None:
    if not 1 <= stars <= 5 or not await data.set_rating(svc.db, request_id, resident_id, stars):
        raise Refused(N_("Only the resident can rate a resolved request."))
    await data.add_event(svc.db, request_id, resident_id, "rated", svc.now(), str(stars))
    await data.set_awaiting(svc.db, resident_id, "comment", request_id, svc.now())


async def comment(svc: Services, request_id: int, resident_id: int, text: str) -> bool:
    await data.clear_awaiting(svc.db, resident_id)
    return await data.set_comment(svc.db, request_id, resident_id, text.strip()[:DESCRIPTION_LIMIT])


async def assign(svc: Services, request_id: int, admin_id: int, volunteer_id: int) -> ClaimResult:
    """An admin hands an open request to a volunteer: the same atomic claim, recorded as theirs."""
    if not svc.is_admin(await users.get(svc.db, admin_id)):
        raise Refused(N_("Only admins can do this."))
    result = await _claim(svc, request_id, volunteer_id, assigned=True)
    if result.won:
        await data.add_event(svc.db, request_id, admin_id, "assigned", svc.now(), str(volunteer_id))
        t = await svc.translator(volunteer_id)
        await _send(svc, volunteer_id, t.gettext("An admin gave you this request:") + "\n\n"
                    + card(svc, t, result.request, full=True), holder_buttons(t, result.request),
                    actor=admin_id, request=result.request)
    return result


async def release_by_admin(svc: Services, request_id: int, admin_id: int) -> RequestRow:
    """An admin puts a request being helped back in the queue (the web dashboard): the holder is told, the
    resident too, and it is routed again. Refused for a non-admin or a request nobody holds."""
    if not svc.is_admin(await users.get(svc.db, admin_id)):
        raise Refused(N_("Only admins can do this."))
    request = await data.get(svc.db, request_id)
    if request is None or request.status != "claimed":
        raise Refused(N_("Nobody is helping with this request now."))
    try:
        return await release(svc, request_id, None, "admin", holder=request.volunteer_id, by=admin_id)
    except Refused:
        raise Refused(N_("Nobody is helping with this request now.")) from None


async def in_person(svc: Services, request_id: int, volunteer_id: int) -> bool:
    """Suggest the support points of the resident's ward (all of them when the ward is unknown).
    False when the resident could not be told (the volunteer hears why from `_send`)."""
    request = await holder_request(svc, request_id, volunteer_id)
    await data.add_event(svc.db, request_id, volunteer_id, "in_person", svc.now())
    if request.resident_id:
        t = await svc.translator(request.resident_id)
        points = _ward_points(svc, request.ward) or list(svc.content.points.values())[:3]
        lines = [t.gettext("🏢 Request {code}: the volunteer suggests meeting in person at a support point:").format(
            code=request.code)]
        for p in points:
            lines += ["", *_point_lines(t, p)]
        return await _send(svc, request.resident_id, "\n".join(lines), actor=volunteer_id,
                           request=request) is not None
    return False


def _ward_points(svc: Services, ward: str | None) -> list[SupportPoint]:
    return [p for p in svc.content.points.values() if ward and p.ward == ward]


def _point_lines(t: Translator, point: SupportPoint) -> list[str]:
    """A support point as a resident reads it: name, address, hours, and a warning until it is confirmed."""
    lines = [f"📍 {point.name.get(t.locale)}", point.address, "🕘 " + point.hours.get(t.locale)]
    if not point.verified:
        lines.append(t.gettext("⚠️ Not yet confirmed: please check before going."))
    return lines


# --- relay ------------------------------------------------------------------------------------
async def relay_target(svc: Services, user_id: int, request_id: int) -> tuple[RequestRow, int, str]:
    """Who is on the other side of a claimed request, and how the sender is labelled."""
    request = await data.get(svc.db, request_id)
    if request is None or request.status != "claimed":
        raise Refused(N_("This conversation has ended."))
    if user_id == request.resident_id and request.volunteer_id:
        return request, request.volunteer_id, "resident"
    if user_id == request.volunteer_id and request.resident_id and await data.held(svc.db, request_id, user_id):
        return request, request.resident_id, "volunteer"  # only while the holder is still an active volunteer
    raise Refused(N_("This conversation has ended."))


async def relay(svc: Services, user_id: int, request_id: int, text: str | None = None,
                from_chat: int | None = None, message_id: int | None = None, caption: str | None = None, *,
                source: int | None = None, correction: bool = False) -> RequestRow:
    """Pass a text (or copy a photo, voice note, video or file, with its caption) to the other side,
    labelled with the request code. Neither side sees the other's account; the content is not stored.
    A text longer than the channel allows is split, never cut. Raises Refused when `user_id` is not
    a party to the claimed request, and SendError when the other side cannot be reached (Unreachable
    is also recorded in the request's history).

    `source` is the id of the sender's own message: it is remembered (ids only, never the text) so that
    when they edit it, the edit goes to the same request, labelled as a correction (`correction`)."""
    request, to_user, role = await relay_target(svc, user_id, request_id)
    t = await svc.translator(to_user)
    _ = t.gettext
    if role == "volunteer":
        volunteer = await vdata.get(svc.db, user_id)
        name = volunteer.display_name if volunteer else ""
        label = (_("✏️ {code} · Volunteer {name} · correction:") if correction
                 else _("💬 {code} · Volunteer {name}:")).format(code=request.code, name=name)
        buttons = [[(_("💬 Reply"), A.Write(request_id).pack())],
                   [(_("✖ Done, back to the menu"), A.StopRelay().pack())]]
    else:
        label = (_("✏️ {code} · Resident · correction:") if correction
                 else _("💬 {code} · Resident:")).format(code=request.code)
        buttons = [[(_("💬 Reply"), A.Write(request_id).pack())]]
    try:
        await _pass_on(svc, to_user, request_id, label, buttons, text, from_chat, message_id, caption)
    except Unreachable:
        await data.add_event(svc.db, request_id, None, "unreachable", svc.now(), str(to_user))
        raise
    if source is not None:
        await data.remember_source(svc.db, user_id, source, request_id, svc.now())
    await _focus_on_arrival(svc, to_user, request_id)
    await data.set_awaiting(svc.db, user_id, "relay", request_id, svc.now())  # the sender acted on this one
    await data.touch_activity(svc.db, request_id, svc.now())
    await data.add_event(svc.db, request_id, user_id, "corrected" if correction else "relayed", svc.now())
    return request


async def _pass_on(svc: Services, to_user: int, request_id: int, label: str, buttons: Buttons, text: str | None,
                   from_chat: int | None, message_id: int | None, caption: str | None) -> None:
    """Send a relayed text (split to fit) or copy a relayed file, and remember each message sent."""
    limit = getattr(svc.outbox, "text_limit", 4096)
    if text is not None:
        parts = split_text(text, limit - len(label) - 1)
        for n, part in enumerate(parts, 1):
            sent = await svc.outbox.send(to_user, f"{label}\n{part}", buttons if n == len(parts) else None)
            await data.remember_relay(svc.db, to_user, sent, request_id, svc.now())
    else:
        full = f"{label}\n{caption}" if caption else label
        fits = len(full) <= getattr(svc.outbox, "caption_limit", 1024)
        sent = await svc.outbox.copy(to_user, from_chat, message_id, caption=full if fits else label,
                                     buttons=buttons if fits else None)
        await data.remember_relay(svc.db, to_user, sent, request_id, svc.now())
        for n, part in enumerate(parts := ([] if fits else split_text(caption or "", limit - len(label) - 1)), 1):
            sent = await svc.outbox.send(to_user, f"{label}\n{part}", buttons if n == len(parts) else None)
            await data.remember_relay(svc.db, to_user, sent, request_id, svc.now())


def split_text(text: str, limit: int) -> list[str]:
    """Pieces of at most `limit` characters, cut at a line break or a space where there is one."""
    pieces, rest = [], text
    while len(rest) > limit:
        cut = max(rest.rfind("\n", 0, limit), rest.rfind(" ", 0, limit))
        cut = cut if cut > limit // 2 else limit
        pieces.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    return [*pieces, rest] if rest or not pieces else pieces


async def _focus_on_arrival(svc: Services, user_id: int, request_id: int) -> None:
    """A message from request R arrives: the person's next text answers R, unless they were writing
    about another request; then it is no longer clear, and the bot will ask which one."""
    awaiting = await data.get_awaiting(svc.db, user_id)
    if awaiting is None or awaiting[0] == "idle" or awaiting == ("relay", request_id):
        await data.set_awaiting(svc.db, user_id, "relay", request_id, svc.now())
    elif awaiting[0] == "relay" and awaiting[1] is not None:
        await data.set_awaiting(svc.db, user_id, "relay", None, svc.now())
    elif awaiting == ("relay", None) and [r.id for r in await data.conversations_of(svc.db, user_id)] == [request_id]:
        await data.set_awaiting(svc.db, user_id, "relay", request_id, svc.now())  # the only conversation now


async def addressee(svc: Services, user_id: int, replied_message_id: int | None) -> RequestRow | list[RequestRow]:
    """The request a message from `user_id` is for: the one it replies to, else the one they last
    acted on, else their only conversation. A list (possibly empty) when there is no single answer:
    the caller asks which, never guesses. Raises Refused for a reply to a conversation that has ended."""
    active = {r.id: r for r in await data.conversations_of(svc.db, user_id)}
    if replied_message_id is not None:
        replied = await data.relayed_request(svc.db, user_id, replied_message_id)
        if replied in active:
            return active[replied]
        if replied is not None:
            raise Refused(N_("This conversation has ended."))
    awaiting = await data.get_awaiting(svc.db, user_id)
    if awaiting and awaiting[0] == "relay" and awaiting[1] in active:
        return active[awaiting[1]]
    if len(active) == 1 and awaiting != ("relay", None):  # ("relay", None): unclear since a request closed
        return next(iter(active.values()))
    return list(active.values())


async def keep_unsent(svc: Services, user_id: int, message: dict) -> int:
    """Keep a message until its sender picks the request (rq:to); returns how many are waiting."""
    return await data.keep_unsent(svc.db, user_id, message, svc.now())


async def take_unsent(svc: Services, user_id: int) -> list[dict]:
    return await data.take_unsent(svc.db, user_id)


# --- nothing left behind ----------------------------------------------------------------------
async def tick(svc: Services) -> None:
    """Escalate what has waited too long. Each step is claimed by a conditional UPDATE, so a step
    happens once even if two ticks (or two workers) race; the database holds every timer."""
    s, now_dt = svc.settings, svc.clock.now()
    now = iso(now_dt)
    for request in await data.due_open(svc.db, 1, iso(now_dt - timedelta(minutes=s.escalate_area_min))):
        if await data.transition(svc.db, request.id, "open", {"escalation": 1}, "AND escalation = 0"):
            await data.add_event(svc.db, request.id, None, "escalated_area", now)
            await route(svc, request, everyone_in_area=True)
            await _tell_resident_still_waiting(svc, request, 1)
    for request in await data.due_open(svc.db, 2, iso(now_dt - timedelta(minutes=s.escalate_admins_min))):
        if await data.transition(svc.db, request.id, "open", {"escalation": 2}, "AND escalation < 2"):
            await data.add_event(svc.db, request.id, None, "escalated_admins", now)
            await _tell_admins(svc, request)
            await _tell_resident_still_waiting(svc, request, 2)
    for volunteer_id in await data.inactive_holders(svc.db):  # a pause interrupted before its releases
        await volunteer_left(svc, volunteer_id)
    for request in await data.due_claimed(svc.db, iso(now_dt - timedelta(minutes=s.release_silent_min)),
                                          unreminded=False):
        try:
            await release(svc, request.id, None, "silent", holder=request.volunteer_id)
        except Refused:
            pass  # someone acted meanwhile: nothing to do
    for request in await data.due_claimed(svc.db, iso(now_dt - timedelta(minutes=s.remind_volunteer_min)),
                                          unreminded=True):
        if await data.transition(svc.db, request.id, "claimed", {"reminded_at": now}, "AND reminded_at IS NULL"):
            await data.add_event(svc.db, request.id, None, "reminded", now)
            t = await svc.translator(request.volunteer_id)
            await _send(svc, request.volunteer_id, t.gettext(
                "⏰ Request {code} has been quiet for a while. Please message the resident, "
                "or mark it resolved or release it.").format(code=request.code), holder_buttons(t, request))


STILL_WAITING = {
    1: N_("⏳ Request {code}: we are still looking for a volunteer for you."),
    2: N_("⏳ Request {code}: we are still waiting for a volunteer. We have asked the ward admins to help too."),
}


async def _tell_resident_still_waiting(svc: Services, request: RequestRow, level: int) -> None:
    """Once per escalation step: the resident learns we are still looking, where to get help in person
    meanwhile (their ward's support point, else the first one), and how to cancel."""
    if not request.resident_id:
        return
    t = await svc.translator(request.resident_id)
    lines = [t.gettext(STILL_WAITING[level]).format(code=request.code)]
    points = _ward_points(svc, request.ward) or list(svc.content.points.values())
    if points:
        lines += ["", t.gettext("You can also get help in person at a support point:"), *_point_lines(t, points[0])]
    lines += ["", t.gettext("No longer need help? Send /myrequests to cancel the request.")]
    await _send(svc, request.resident_id, "\n".join(lines))


async def _tell_admins(svc: Services, request: RequestRow) -> None:
    for admin in sorted(await svc.admin_ids()):
        t = await svc.translator(admin)
        await _send(svc, admin, t.gettext("⚠️ No volunteer has claimed this request yet:") + "\n\n"
                    + card(svc, t, request, full=False), [[(t.gettext("👤 Assign"), A.AssignList(request.id).pack())]])

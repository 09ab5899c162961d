"""Volunteers: applying, admins deciding, availability. Channel-free like every service."""

from __future__ import annotations

from bot import actions as A
from bot import commands, help_requests
from bot.data import audit, users
from bot.data import dashboard as dashboard_data
from bot.data import requests as rdata
from bot.data import volunteers as data
from bot.data.volunteers import VolunteerRow
from bot.i18n import N_
from bot.messaging import SendError, Unreachable
from bot.refusal import Refused
from bot.services import Services
from bot.textnorm import clean, has_phone

NAME_LIMIT = 40
HOURS = {
    "weekday": N_("Weekdays"),
    "evening": N_("Evenings"),
    "weekend": N_("Weekends"),
    "any": N_("Any time"),
}


async def start(svc: Services, user_id: int) -> None:
    """The next text the user sends is their display name."""
    await rdata.set_awaiting(svc.db, user_id, "vol_name", None, svc.now())


async def set_name(svc: Services, user_id: int, name: str) -> VolunteerRow:
    """The display name residents will see: without control or format characters (direction overrides,
    zero-width ones), full-width letters folded; a name with a phone number in it is refused."""
    name = clean(name)[:NAME_LIMIT].strip()
    if not name:
        raise Refused(N_("Please type your name in letters."))
    if has_phone(name):
        raise Refused(N_("Please type only your name, without a phone number: residents reach you through the "
                         "bot, and your number stays private."))
    await rdata.clear_awaiting(svc.db, user_id)
    await data.start_application(svc.db, user_id, name, svc.now())
    return await data.get(svc.db, user_id)


async def toggle_ward(svc: Services, user_id: int, ward: str) -> VolunteerRow | None:
    if ward not in svc.content.wards or await data.get(svc.db, user_id) is None:
        return None
    await data.toggle(svc.db, user_id, "volunteer_wards", "ward", ward)
    return await data.get(svc.db, user_id)


async def toggle_topic(svc: Services, user_id: int, topic: str) -> VolunteerRow | None:
    if topic not in svc.content.categories or await data.get(svc.db, user_id) is None:
        return None
    await data.toggle(svc.db, user_id, "volunteer_topics", "topic", topic)
    return await data.get(svc.db, user_id)


async def submit(svc: Services, user_id: int, hours: str) -> VolunteerRow:
    """Send the application to every admin; an active volunteer's update applies at once. One pending
    application per person: resubmitting while it waits updates it without telling the admins again
    (their buttons decide on the current details)."""
    volunteer = await data.get(svc.db, user_id)
    if volunteer is None or hours not in HOURS or not volunteer.wards or not volunteer.topics:
        raise Refused(N_("Please choose at least one ward and one topic first."))
    await data.set_hours(svc.db, user_id, hours)
    if volunteer.status in ("active", "paused", "pending"):
        return await data.get(svc.db, user_id)
    await data.set_status(svc.db, user_id, "pending", ("applying", "rejected", "removed"), None, svc.now())
    volunteer = await data.get(svc.db, user_id)
    for admin in sorted(await svc.admin_ids()):
        t = await svc.translator(admin)
        _ = t.gettext
        text = "\n".join([
            _("🙋 New volunteer application"),
            _("Name: {name}").format(name=volunteer.display_name),
            _("Wards: {wards}").format(wards=", ".join(svc.content.wards[w].name.get(t.locale)
                                                        for w in volunteer.wards)),
            _("Topics: {topics}").format(topics=", ".join(svc.content.categories[c].name.get(t.locale)
                                                          for c in volunteer.topics)),
            _("Usually: {hours}").format(hours=_(HOURS[hours])),
        ])
        try:
            await svc.outbox.send(admin, text, [[(_("✅ Approve"), A.Decide("ok", user_id).pack()),
                                                 (_("❌ Reject"), A.Decide("no", user_id).pack())]])
        except SendError:
            pass
    return volunteer


DECISIONS = {
    # action: (new status, from statuses, message to the volunteer)
    "ok": ("active", ("pending",), N_("🎉 Your volunteer application is approved. Thank you!\n"
                                      "New requests will come here. /away pauses them, /available resumes.")),
    "no": ("rejected", ("pending",), N_("Your volunteer application was not approved this time. "
                                        "Thank you for offering to help.")),
    "pause": ("paused", ("active",), N_("An admin has paused your volunteer work. You will get no new requests.")),
    "resume": ("active", ("paused",), N_("An admin has resumed your volunteer work. Welcome back!")),
    "remove": ("removed", ("active", "paused", "pending"), N_("An admin has removed you from the volunteer list.")),
}


AUDIT_KINDS = {"ok": "volunteer_approved", "no": "volunteer_rejected", "pause": "volunteer_paused",
               "resume": "volunteer_resumed", "remove": "volunteer_removed"}
NOT_TOLD = N_("⚠️ {name} can no longer be reached through the bot (they blocked it or deleted their account), "
              "so they were not told.")
LEFT = ("paused", "removed")  # statuses that end a volunteer's access to requests at once
RELEASED_NOTE = N_("The requests you were helping with went back to the queue, so another volunteer can "
                   "continue: {codes}")


async def decide(svc: Services, admin_id: int, volunteer_id: int, action: str) -> VolunteerRow:
    """An admin approves, rejects, pauses, resumes or removes a volunteer. Pausing or removing takes
    effect at once: what they hold goes back to routing and their offers are withdrawn."""
    if not svc.is_admin(await users.get(svc.db, admin_id)):
        raise Refused(N_("Only admins can do this."))
    if action not in DECISIONS:
        raise Refused(N_("This button is out of date. Here is the menu."))
    new, allowed, note = DECISIONS[action]
    if not await data.set_status(svc.db, volunteer_id, new, allowed, admin_id, svc.now()):
        raise Refused(N_("This was already decided."))
    await audit.record(svc.db, admin_id, AUDIT_KINDS[action], str(volunteer_id), svc.now())
    released = await help_requests.volunteer_left(svc, volunteer_id) if new in LEFT else []
    if new in LEFT:  # their dashboard sessions end now (an admin among them signs in again)
        await dashboard_data.end_sessions_of(svc.db, volunteer_id)
    t = await svc.translator(volunteer_id)
    text = t.gettext(note)
    if released:
        text += "\n" + t.gettext(RELEASED_NOTE).format(codes=", ".join(r.code for r in released))
    try:
        await svc.outbox.send(volunteer_id, text)
    except Unreachable:  # the decision stands; the admin learns the volunteer was not told
        volunteer = await data.get(svc.db, volunteer_id)
        t_admin = await svc.translator(admin_id)
        try:
            await svc.outbox.send(admin_id, t_admin.gettext(NOT_TOLD).format(
                name=volunteer.display_name if volunteer else volunteer_id))
        except SendError:
            pass
    except SendError:
        pass
    await commands.sync(svc, volunteer_id)
    return await data.get(svc.db, volunteer_id)


async def set_available(svc: Services, user_id: int, available: bool) -> bool:
    return await data.set_available(svc.db, user_id, available)

"""Volunteers apply, admins decide; availability, one's own requests, the admin queue and assigning."""

from __future__ import annotations

from telegram import Update
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
)

from bot import actions as A
from bot import help_requests as service
from bot import volunteers
from bot.clock import parse
from bot.data import requests as rdata
from bot.data import volunteers as vdata
from bot.data.volunteers import VolunteerRow
from bot.i18n import N_
from bot.refusal import Refused
from bot.screens import meaningful
from handlers.common import BotContext, Button, home_button, keyboard, not_allowed, show, stale


# --- applying ---------------------------------------------------------------------------------
async def apply(update: Update, context: BotContext) -> None:
    """/volunteer: name → wards → topics → usual hours → admins decide."""
    _ = context.t.gettext
    await volunteers.start(context.svc, context.user.id)
    await update.effective_message.reply_text(_(
        "🙋 Thank you for wanting to help as a volunteer (Tổ công nghệ số cộng đồng)!\n"
        "First, what name should residents see? Type your first name."))


async def name_typed(update: Update, context: BotContext) -> None:
    """The text after /volunteer is the display name (handlers/typed.py decides when)."""
    message = update.effective_message
    if not meaningful(message.text):  # "tiep", "ok", "English" or "123" are not names
        await message.reply_text(context.t.gettext("Please type your name in letters."))
        return
    try:
        volunteer = await volunteers.set_name(context.svc, context.user.id, message.text)
    except Refused as exc:  # still waiting for a name
        await message.reply_text(context.t.gettext(exc.message))
        return
    text, markup = wards_view(context, volunteer)
    await message.reply_text(text, reply_markup=markup)


def _ticked(label: str, on: bool) -> str:
    return ("✅ " if on else "⬜ ") + label


def wards_view(context: BotContext, v: VolunteerRow):
    """The wards step of applying: every ward, ticked where chosen, then Next."""
    _ = context.t.gettext
    rows = [[(_ticked(w.name.get(context.t.locale), w.id in v.wards), A.VolunteerWard(w.id).pack())]
            for w in context.svc.content.wards.values()]
    return (_("Which wards can you cover? Type a number to choose it (again to unchoose it), then the number of "
              "“Next ▶”.") if context.on_zalo else _("Which wards can you cover? Tap to choose, then tap Next."),
            keyboard(*rows, [(_("Next ▶"), A.VolunteerWardsDone().pack())]))


def topics_view(context: BotContext, v: VolunteerRow):
    """The topics step of applying: every topic, ticked where chosen, then Next."""
    _ = context.t.gettext
    rows = [[(_ticked(f"{c.emoji} {c.name.get(context.t.locale)}", c.id in v.topics), A.VolunteerTopic(c.id).pack())]
            for c in context.svc.content.categories.values()]
    return (_("Which topics can you help with? Type a number to choose it (again to unchoose it), then the number "
              "of “Next ▶”.") if context.on_zalo
            else _("Which topics can you help with? Tap to choose, then tap Next."),
            keyboard(*rows, [(_("Next ▶"), A.VolunteerTopicsDone().pack())]))


async def application_button(update: Update, context: BotContext) -> None:
    """A.VolunteerWard · A.VolunteerWardsDone · A.VolunteerTopic · A.VolunteerTopicsDone · A.VolunteerHours"""
    svc, uid = context.svc, context.user.id
    query = update.callback_query
    _ = context.t.gettext
    current = await vdata.get(svc.db, uid)
    if current is None:
        await stale(update, context)
        return
    match A.parse(query.data):
        case A.VolunteerWard(ward=ward) if (v := await volunteers.toggle_ward(svc, uid, ward)):
            await show(update, context, *wards_view(context, v))
        case A.VolunteerWardsDone() if current.wards:
            await show(update, context, *topics_view(context, current))
        case A.VolunteerTopic(topic=topic) if (v := await volunteers.toggle_topic(svc, uid, topic)):
            await show(update, context, *topics_view(context, v))
        case A.VolunteerTopicsDone() if current.topics:
            rows = [[(_(label), A.VolunteerHours(key).pack())] for key, label in volunteers.HOURS.items()]
            await show(update, context, _("When are you usually free?"), keyboard(*rows))
        case A.VolunteerHours(hours=hours):
            try:
                v = await volunteers.submit(svc, uid, hours)
            except Refused as exc:
                await query.answer(_(exc.message), show_alert=True)
                return
            if v.status in ("active", "paused"):
                text = _("✅ Your details are updated.")
            elif current.status == "pending":
                text = _("✅ Your application is updated. It is still waiting for the ward admins; "
                         "I will tell you their answer.")
            else:
                text = _("✅ Thank you! Your application was sent to the ward admins. I will tell you their answer.")
            await show(update, context, text, keyboard([home_button(context.t)]))
        case A.VolunteerWardsDone() | A.VolunteerTopicsDone():
            await query.answer(_("Please choose at least one."), show_alert=True)
            return
        case _:
            await stale(update, context)
            return
    await query.answer()


# --- admins decide ----------------------------------------------------------------------------
async def admin_decision(update: Update, context: BotContext) -> None:
    """A.Decide: approve, reject, pause, resume or remove a volunteer; the role is checked in the service."""
    query = update.callback_query
    _ = context.t.gettext
    action = A.parse(query.data)
    if not isinstance(action, A.Decide):
        await stale(update, context)
        return
    try:
        v = await volunteers.decide(context.svc, context.user.id, action.volunteer, action.decision)
    except Refused as exc:
        await query.answer(_(exc.message), show_alert=True)
        return
    await query.answer(_("Done."))
    await show(update, context, _("{name}: {status}").format(name=v.display_name, status=_(STATUS_LABELS[v.status])))


STATUS_LABELS = {
    "active": N_("✅ Approved"), "rejected": N_("❌ Rejected"), "paused": N_("⏸ Paused"), "removed": N_("🗑 Removed"),
    "pending": N_("⏳ Waiting for a decision"), "applying": N_("✍ Still applying"),
}


async def volunteer_list(update: Update, context: BotContext) -> None:
    """/volunteers (admins): pause, resume or remove."""
    _ = context.t.gettext
    if not context.svc.is_admin(context.user):
        await not_allowed(update, context)
        return
    listed = await vdata.listed(context.svc.db, ("active", "paused", "pending"))
    if not listed:
        await update.effective_message.reply_text(_("No volunteers yet."))
        return
    for v in listed:
        rows: list[Button] = []
        if v.status == "active":
            rows.append((_("⏸ Pause"), A.Decide("pause", v.user_id).pack()))
        elif v.status == "paused":
            rows.append((_("▶ Resume"), A.Decide("resume", v.user_id).pack()))
        elif v.status == "pending":
            rows += [(_("✅ Approve"), A.Decide("ok", v.user_id).pack()),
                     (_("❌ Reject"), A.Decide("no", v.user_id).pack())]
        rows.append((_("🗑 Remove"), A.Decide("remove", v.user_id).pack()))
        await update.effective_message.reply_text(
            f"{v.display_name} · {_(STATUS_LABELS[v.status])}\n"
            + ", ".join(context.svc.content.wards[w].name.get(context.t.locale) for w in v.wards),
            reply_markup=keyboard(rows))


# --- a volunteer's own work -------------------------------------------------------------------
async def available(update: Update, context: BotContext) -> None:
    """/available and /away"""
    _ = context.t.gettext
    on = update.effective_message.text.split()[0].lower().startswith("/available")
    if not await volunteers.set_available(context.svc, context.user.id, on):
        me = await vdata.get(context.svc.db, context.user.id)
        await update.effective_message.reply_text(
            _("An admin has paused your volunteer work. You will get no new requests.") if me and me.status == "paused"
            else _("This is for approved volunteers. Apply with /volunteer."))
        return
    await update.effective_message.reply_text(
        _("✅ Available: new requests will come to you.") if on
        else _("⏸ Away: no new requests until you send /available."))


async def mine(update: Update, context: BotContext) -> None:
    """/mine: the requests this volunteer holds, each with its actions."""
    _ = context.t.gettext
    held = await service.holding(context.svc, context.user.id)
    if not held:
        await update.effective_message.reply_text(_("You hold no requests right now. Thank you for being ready!"))
        return
    for r in held:
        await update.effective_message.reply_text(service.card(context.svc, context.t, r, full=True),
                                                  reply_markup=keyboard(*service.holder_buttons(context.t, r)))


async def queue(update: Update, context: BotContext) -> None:
    """/queue (admins): everything still open, oldest first, each with Assign."""
    _ = context.t.gettext
    svc = context.svc
    if not svc.is_admin(context.user):
        await not_allowed(update, context)
        return
    waiting = await rdata.open_oldest_first(svc.db)
    if not waiting:
        await update.effective_message.reply_text(_("🎉 No request is waiting."))
        return
    lines = [_("⏳ Waiting requests, oldest first:")]
    rows = []
    for r in waiting:
        waited = context.t.age(svc.clock.now() - parse(r.opened_at))
        lines.append(f"{r.code} · {service.topic_name(svc, context.t, r.topic)} · "
                     f"{service.ward_name(svc, context.t, r.ward)} · {waited}")
        rows.append([(_("👤 Assign {code}").format(code=r.code), A.AssignList(r.id).pack())])
    await update.effective_message.reply_text("\n".join(lines), reply_markup=keyboard(*rows[:20]))


async def assign_button(update: Update, context: BotContext) -> None:
    """A.AssignList lists volunteers; A.AssignTo hands the request over (admins only: anyone else, even
    with forged data, hears the refusal)."""
    query = update.callback_query
    svc = context.svc
    _ = context.t.gettext
    if not svc.is_admin(context.user):
        await not_allowed(update, context)
        return
    action = A.parse(query.data)
    request = await rdata.get(svc.db, action.request) if isinstance(action, A.AssignList | A.AssignTo) else None
    if request is None:
        await stale(update, context)
        return
    if isinstance(action, A.AssignList):
        chosen = await vdata.choose(svc.db, None, None, 20, svc.settings.volunteer_limit,
                                    {request.resident_id} - {None})  # never the resident themselves
        people = [v for uid in chosen if (v := await vdata.get(svc.db, uid))]
        await query.answer()
        if not people:
            await show(update, context, _("No volunteer is available right now."))
            return
        await show(update, context, _("Who should take {code}?").format(code=request.code),
                   keyboard(*[[(v.display_name, A.AssignTo(request.id, v.user_id).pack())] for v in people]))
        return
    try:
        result = await service.assign(svc, request.id, context.user.id, action.volunteer)
    except Refused as exc:
        await query.answer(_(exc.message), show_alert=True)
        return
    if not result.won:
        await query.answer(_("It could not be assigned: it was taken, or the volunteer is full."), show_alert=True)
        return
    await query.answer(_("Done."))
    await show(update, context, _("👤 {code} is assigned.").format(code=request.code))


def register(app: Application) -> None:
    app.add_handler(CommandHandler("volunteer", apply))
    app.add_handler(CommandHandler("volunteers", volunteer_list))
    app.add_handler(CommandHandler(["available", "away"], available))
    app.add_handler(CommandHandler("mine", mine))
    app.add_handler(CommandHandler("queue", queue))
    app.add_handler(CallbackQueryHandler(application_button, pattern=A.any_of(
        A.VolunteerWard, A.VolunteerWardsDone, A.VolunteerTopic, A.VolunteerTopicsDone, A.VolunteerHours)))
    app.add_handler(CallbackQueryHandler(admin_decision, pattern=A.Decide.filter))
    app.add_handler(CallbackQueryHandler(assign_button, pattern=A.family(A.AssignList, A.AssignTo)))

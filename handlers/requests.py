"""Asking for help, following one's requests, and the volunteer ↔ resident relay."""

from __future__ import annotations

from telegram import KeyboardButton, ReplyKeyboardMarkup, ReplyKeyboardRemove, Update
from telegram.ext import (
    Application,
    ApplicationHandlerStop,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    filters,
)

from bot import help_requests as service
from bot.data import requests as data
from bot.data.requests import Draft, RequestRow
from bot.help_requests import MODES, RELEASE_REASONS, STATUS, Refused
from bot.i18n import N_
from handlers.common import BotContext, Button, as_id, callback_args, home_button, keyboard, menu_rows, show, stale

TOTAL_STEPS = 5
STEP_NUMBER = {"topic": 1, "description": 2, "ward": 3, "mode": 4, "contact": 5, "phone": 5}
PHONE_BUTTON = N_("📞 Send my phone number")
CHAT_ONLY = N_("💬 Messages through the bot only")
CANCEL = N_("✖ Cancel")


# --- the ask wizard ---------------------------------------------------------------------------
async def ask(update: Update, context: BotContext) -> None:
    """/ask, the menu's 🙋 button, or "Still stuck?" under a guide (ask:GUIDE_ID pre-fills the topic)."""
    guide_id = None
    if update.callback_query and update.callback_query.data.startswith("ask:"):
        (guide_id,) = callback_args(update, 1)
        await update.callback_query.answer()
    elif update.callback_query:
        await update.callback_query.answer()
    draft = await service.begin(context.svc, context.user.id, guide_id)
    await render(update, context, draft)


def step_header(context: BotContext, draft: Draft) -> str:
    _ = context.t.gettext
    return _("🙋 Ask for help") + " · " + _("Step {n} of {total}").format(n=STEP_NUMBER[draft.step],
                                                                          total=TOTAL_STEPS)


async def render(update: Update, context: BotContext, draft: Draft) -> None:
    """Show the question for the draft's current step (editing the wizard message when pressed)."""
    _ = context.t.gettext
    svc, locale = context.svc, context.t.locale
    cancel = [(_(CANCEL), "aw:x")]
    head = step_header(context, draft) if draft.step in STEP_NUMBER else ""
    if draft.step == "topic":
        rows = [[(f"{c.emoji} {c.name.get(locale)}", f"aw:t:{c.id}")] for c in svc.content.categories.values()]
        await show(update, context, head + "\n\n" + _("What do you need help with?"), keyboard(*rows, cancel))
    elif draft.step == "description":
        await show(update, context, head + "\n\n" + _(
            "What is the problem? Type a few sentences.\n"
            "You can also send a photo of your screen or a voice message.\n"
            "⚠️ Never send a password, an OTP code or health details."), keyboard(cancel))
    elif draft.step == "ward":
        rows = [[(w.name.get(locale), f"aw:w:{w.id}")] for w in svc.content.wards.values()]
        await show(update, context, head + "\n\n" + _("Which ward do you live in?"),
                   keyboard(*rows, [(_("🤷 Not sure"), "aw:w:-")], cancel))
    elif draft.step == "mode":
        rows = [[(_(label), f"aw:m:{mode}")] for mode, label in MODES.items()]
        await show(update, context, head + "\n\n" + _("How would you like to be helped?"), keyboard(*rows, cancel))
    elif draft.step == "contact":
        rows: list[list[Button]] = [[(_(PHONE_BUTTON), "aw:c:phone")]]
        if draft.mode != "phone":
            rows.insert(0, [(_(CHAT_ONLY), "aw:c:chat")])
        await show(update, context, head + "\n\n" + _("How may the volunteer contact you?"), keyboard(*rows, cancel))
    elif draft.step == "phone":
        if update.callback_query:
            await update.callback_query.edit_message_reply_markup(None)
        buttons = [[KeyboardButton(_(PHONE_BUTTON), request_contact=True)]]
        if draft.mode != "phone":
            buttons.append([KeyboardButton(_(CHAT_ONLY))])
        buttons.append([KeyboardButton(_(CANCEL))])
        await context.bot.send_message(update.effective_chat.id, head + "\n\n" + _(
            "Your phone number will be seen only by the volunteer who takes this request, to call you about it. "
            "It is deleted with your request's personal data after {days} days, or earlier if you ask.\n"
            "If you agree, tap “📞 Send my phone number” below.").format(days=svc.settings.retention_days),
            reply_markup=ReplyKeyboardMarkup(buttons, resize_keyboard=True, one_time_keyboard=True))
    else:  # confirm
        await show(update, context, summary(context, draft),
                   keyboard([(_("✅ Confirm"), "aw:ok")], cancel))


def summary(context: BotContext, draft: Draft) -> str:
    _ = context.t.gettext
    svc, t = context.svc, context.t
    lines = [_("Please check your request:"), "",
             _("Topic: {topic}").format(topic=service.topic_name(svc, t, draft.topic)),
             _("Ward: {ward}").format(ward=service.ward_name(svc, t, draft.ward)),
             _("How: {mode}").format(mode=_(MODES[draft.mode])),
             _("📞 Phone: {phone}").format(phone=draft.phone) if draft.phone
             else _("Contact: messages through the bot only")]
    if draft.description:
        lines += ["", draft.description]
    if draft.attachment_kind:
        lines.append(_("(with a photo)") if draft.attachment_kind == "photo" else _("(with a voice message)"))
    return "\n".join(lines)


async def wizard_button(update: Update, context: BotContext) -> None:
    """aw:t:TOPIC · aw:w:WARD · aw:m:MODE · aw:c:chat|phone · aw:ok · aw:x"""
    action, value = callback_args(update, 2)
    svc, uid = context.svc, context.user.id
    query = update.callback_query
    _ = context.t.gettext
    if action == "x":
        await service.cancel_draft(svc, uid)
        await query.answer()
        await show(update, context, _("Cancelled. Nothing was sent."), keyboard([home_button(context.t)]))
        return
    if action == "ok":
        request = await service.file(svc, uid)
        if request is None:
            await stale(update, context)
            return
        await query.answer()
        await show(update, context, filed_text(context, request), keyboard([home_button(context.t)]))
        return
    values: dict[str, object] | None = None
    if action == "t" and value in svc.content.categories:
        values = {"topic": value}
    elif action == "w" and (value in svc.content.wards or value == "-"):
        values = {"ward": None if value == "-" else value, "ward_chosen": 1}
    elif action == "m" and value in MODES:
        values = {"mode": value, "step": "contact"}
    elif action == "c" and value in ("chat", "phone"):
        values = {"step": "confirm" if value == "chat" else "phone", "phone": None}
    draft = await service.answer(svc, uid, **values) if values else None
    if draft is None:
        await stale(update, context)
        return
    await query.answer()
    await render(update, context, draft)


def filed_text(context: BotContext, request: RequestRow) -> str:
    return context.t.gettext(
        "✅ Your request is saved. Request code: {code}\n"
        "A volunteer will message you here. You can see it any time with /myrequests.").format(code=request.code)


# --- what a user's next message means (group -1: before search) -------------------------------
async def pending_message(update: Update, context: BotContext) -> None:
    """A message that answers the wizard, continues a relay or adds a comment; else fall through."""
    message = update.effective_message
    svc, uid = context.svc, context.user.id
    _ = context.t.gettext
    if message.text and message.text.startswith("/"):
        return  # commands keep working everywhere
    if context.pending.draft_step in ("description", "phone"):
        draft = await data.get_draft(svc.db, uid)
        if draft is not None:
            await answer_draft(update, context, draft)
            raise ApplicationHandlerStop
    replied = message.reply_to_message
    request_id = await service.relay_from_reply(svc, uid, replied.message_id) if replied else None
    awaiting = context.pending.awaiting
    if request_id is None and awaiting and awaiting[0] == "relay":
        request_id = awaiting[1]
    if request_id is not None and (message.text or message.photo or message.voice):
        try:
            if message.text:
                await service.relay(svc, uid, request_id, text=message.text[:3500])
            else:
                await service.relay(svc, uid, request_id, from_chat=uid, message_id=message.message_id)
        except Refused as exc:
            await data.clear_awaiting(svc.db, uid)
            await message.reply_text(_(exc.message), reply_markup=keyboard([home_button(context.t)]))
        else:
            await message.reply_text(_("✓ Sent."))
        raise ApplicationHandlerStop
    if awaiting and awaiting[0] == "comment" and message.text:
        await service.comment(svc, awaiting[1], uid, message.text)
        await message.reply_text(_("Thank you! Your comment is saved."),
                                 reply_markup=keyboard([home_button(context.t)]))
        raise ApplicationHandlerStop


async def answer_draft(update: Update, context: BotContext, draft: Draft) -> None:
    message = update.effective_message
    svc, uid = context.svc, context.user.id
    _ = context.t.gettext
    if draft.step == "description":
        if message.text and message.text.strip():
            new = await service.answer(svc, uid, description=message.text)
        elif message.photo or message.voice:
            new = await service.answer(svc, uid, attachment_kind="photo" if message.photo else "voice",
                                       attachment_message_id=message.message_id,
                                       description=message.caption or draft.description)
        else:
            await message.reply_text(_("Please type a few words, or send a photo or a voice message."))
            return
        await render(update, context, new)
        return
    # step "phone": only the resident's own contact, shared with the button, is taken
    if message.text == _(CANCEL):
        await service.cancel_draft(svc, uid)
        await message.reply_text(_("Cancelled. Nothing was sent."), reply_markup=ReplyKeyboardRemove())
        return
    if message.text == _(CHAT_ONLY) and draft.mode != "phone":
        new = await service.answer(svc, uid, step="confirm", phone=None)
    elif message.contact and message.contact.user_id == uid:
        new = await service.answer(svc, uid, step="confirm", phone=message.contact.phone_number[:20])
    else:
        await message.reply_text(_("Please use the button “📞 Send my phone number” below, so the number is yours."))
        return
    await message.reply_text(_("Thank you."), reply_markup=ReplyKeyboardRemove())
    await render(update, context, new)


# --- following one's requests -----------------------------------------------------------------
async def my_requests(update: Update, context: BotContext) -> None:
    """/myrequests: code, topic, status, when, who helps; cancel an open one, reopen a recent one."""
    _ = context.t.gettext
    svc, t = context.svc, context.t
    rows = await data.of_resident(svc.db, context.user.id)
    if not rows:
        await update.effective_message.reply_text(
            _("You have no help requests yet."), reply_markup=keyboard([(_("🙋 Ask for help"), "m:h")],
                                                                       [home_button(t)]))
        return
    from bot.clock import parse
    from bot.data import volunteers

    lines, buttons = [_("📋 Your help requests:")], []
    for r in rows:
        line = f"\n{r.code} · {service.topic_name(svc, t, r.topic)}\n{_(STATUS[r.status])} · " + t.datetime(
            parse(r.created_at))
        if r.status == "claimed" and r.volunteer_id and (v := await volunteers.get(svc.db, r.volunteer_id)):
            line += "\n" + _("Volunteer: {name}").format(name=v.display_name)
        lines.append(line)
        if r.status == "open":
            buttons.append([(_("✖ Cancel {code}").format(code=r.code), f"rq:cancel:{r.id}")])
    await update.effective_message.reply_text("\n".join(lines), reply_markup=keyboard(*buttons, [home_button(t)]))


# --- buttons on requests (offers, holder actions, ratings) ------------------------------------
async def request_button(update: Update, context: BotContext) -> None:
    """rq:ACTION:ID[:ARG] — every press re-checks who may do what in the service."""
    action, raw_id, arg = callback_args(update, 3)
    query = update.callback_query
    svc, uid = context.svc, context.user.id
    _ = context.t.gettext
    if action == "stop":
        await data.clear_awaiting(svc.db, uid)
        await query.answer()
        await show(update, context, _("What do you need? Choose an option below."), keyboard(*menu_rows(context.t)))
        return
    request_id = as_id(raw_id)
    if request_id is None:
        await stale(update, context)
        return
    try:
        if action == "claim":
            result = await service.claim(svc, request_id, uid)
            if not result.won:
                reason = await service.why_not_claimed(svc, result.request, uid)
                await query.answer(_(reason), show_alert=True)
                if result.request and result.request.status != "open":
                    await show(update, context, f"🔒 {result.request.code}: {_(reason)}")
                return
            await query.answer(_("You claimed it. Thank you!"))
            await show(update, context, service.card(svc, context.t, result.request, full=True),
                       keyboard(*service.holder_buttons(context.t, result.request)))
            await copy_attachment(context, result.request, uid)
        elif action == "msg":
            request, _other, _role = await service.relay_target(svc, uid, request_id)
            await data.set_awaiting(svc.db, uid, "relay", request_id, svc.now())
            await query.answer()
            await context.bot.send_message(uid, _("✍ Type your message for request {code}. I will pass it on.")
                                           .format(code=request.code))
        elif action == "done":
            request = await service.resolve(svc, request_id, uid)
            await query.answer()
            await show(update, context, _("✅ {code}: resolved. Thank you for helping!").format(code=request.code))
        elif action == "rel":
            request = await service.holder_request(svc, request_id, uid)
            await query.answer()
            rows = [[(_(label), f"rq:relr:{request_id}:{key}")] for key, label in RELEASE_REASONS.items()]
            await show(update, context, _("Why are you releasing {code}?").format(code=request.code),
                       keyboard(*rows, [(_("↩ Back"), f"rq:card:{request_id}")]))
        elif action == "relr" and arg in RELEASE_REASONS:
            request = await service.release(svc, request_id, uid, arg)
            await query.answer()
            await show(update, context, _("↩ {code} is back in the queue. Thank you.").format(code=request.code))
        elif action == "card":
            request = await service.holder_request(svc, request_id, uid)
            await query.answer()
            await show(update, context, service.card(svc, context.t, request, full=True),
                       keyboard(*service.holder_buttons(context.t, request)))
        elif action == "inp":
            await service.in_person(svc, request_id, uid)
            await query.answer(_("The resident got the nearest support points."), show_alert=True)
        elif action == "rate" and arg in ("1", "2", "3", "4", "5"):
            await service.rate(svc, request_id, uid, int(arg))
            await query.answer()
            await show(update, context, _("Thank you for rating: {stars}\nWould you like to add a comment? "
                                          "Just type it, or tap Skip.").format(stars="⭐" * int(arg)),
                       keyboard([(_("Skip"), "rq:stop")]))
        elif action == "reopen":
            request = await service.reopen(svc, request_id, uid)
            await query.answer()
            await show(update, context, _("🔁 Request {code} is open again. We are finding a volunteer.").format(
                code=request.code))
        elif action == "cancel":
            request = await service.cancel(svc, request_id, uid)
            await query.answer()
            await show(update, context, _("✖ Request {code} is cancelled.").format(code=request.code),
                       keyboard([home_button(context.t)]))
        else:
            await stale(update, context)
    except Refused as exc:
        await query.answer(_(exc.message), show_alert=True)


async def copy_attachment(context: BotContext, request: RequestRow, volunteer_id: int) -> None:
    """The resident's photo or voice message, copied so that their account stays hidden."""
    if request.attachment_kind and request.resident_id and request.attachment_message_id:
        await context.svc.outbox.copy(volunteer_id, request.resident_id, request.attachment_message_id,
                                      caption=request.code)


def register(app: Application) -> None:
    app.add_handler(MessageHandler(filters.UpdateType.MESSAGE & (filters.TEXT | filters.PHOTO | filters.VOICE
                                                                 | filters.CONTACT), pending_message), group=-1)
    app.add_handler(CommandHandler("ask", ask))
    app.add_handler(CommandHandler("myrequests", my_requests))
    app.add_handler(CallbackQueryHandler(ask, pattern=r"^(m:h|ask:[A-Za-z0-9_-]+)$"))
    app.add_handler(CallbackQueryHandler(wizard_button, pattern=r"^aw:"))
    app.add_handler(CallbackQueryHandler(request_button, pattern=r"^rq:(?!assign:|asg:)"))

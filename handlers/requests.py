"""Asking for help, following one's requests, and the volunteer ↔ resident relay."""

from __future__ import annotations

from telegram import KeyboardButton, ReplyKeyboardMarkup, ReplyKeyboardRemove, Update
from telegram.ext import Application, ApplicationHandlerStop, CallbackQueryHandler, CommandHandler, MessageHandler
from telegram.ext import filters as F

from bot import actions as A
from bot import help_requests as service
from bot.actions import DraftCancel, DraftContact, RelayTo
from bot.data import requests as data
from bot.data.requests import Draft, RequestRow
from bot.help_requests import MODES, RELEASE_REASONS, STATUS, Refused
from bot.i18n import N_
from bot.messaging import SendError, Unreachable
from bot.screens import Choice, Mode, Screen, meaningful
from bot.textnorm import phone_e164
from handlers import outcomes
from handlers.common import (
    BotContext,
    Button,
    clear_buttons,
    confirmed,
    home_button,
    keyboard,
    menu_rows,
    show,
    stale,
)

TOTAL_STEPS = 5
STEP_NUMBER = {"topic": 1, "description": 2, "ward": 3, "mode": 4, "contact": 5, "phone": 5}
PHONE_BUTTON = N_("📞 Send my phone number")
CHAT_ONLY = N_("💬 Messages through the bot only")
CANCEL = N_("✖ Cancel")


# --- the ask wizard ---------------------------------------------------------------------------
async def ask(update: Update, context: BotContext) -> None:
    """/ask, the menu's 🙋 button, or "Still stuck?" under a guide (which fills in the topic). A draft with
    answers in it is never thrown away: the resident chooses to continue it or start again."""
    action = A.parse(update.callback_query.data) if update.callback_query else None
    if update.callback_query:
        await update.callback_query.answer()
    svc, uid = context.svc, context.user.id
    if await at_limit_shown(update, context):
        return
    draft = await data.get_draft(svc.db, uid)
    if draft is not None and (draft.topic or draft.description or draft.attachment_kind or draft.ward_chosen
                              or draft.mode):
        _ = context.t.gettext
        await show(update, context, _("You have already started a request. Continue it, or start again?"),
                   keyboard([(_("▶ Continue my request"), A.DraftContinue().pack())],
                            [(_("🔄 Start again"), A.DraftRestart().pack())],
                            [(_(CANCEL), A.DraftCancel().pack())]))
        return
    guide_id = action.guide if isinstance(action, A.AskAbout) else None
    await render(update, context, await service.begin(svc, uid, guide_id))


async def at_limit_shown(update: Update, context: BotContext) -> bool:
    """When the resident already has MAX_OPEN_REQUESTS open, say so kindly with their codes (True)."""
    found = await service.at_limit(context.svc, context.user.id)
    if not found:
        return False
    _ = context.t.gettext
    text = _(service.AT_LIMIT).format(n=len(found), codes=", ".join(r.code for r in found))
    await show(update, context, text, keyboard([home_button(context.t)]))
    return True


def step_header(context: BotContext, draft: Draft) -> str:
    _ = context.t.gettext
    return _("🙋 Ask for help") + " · " + _("Step {n} of {total}").format(n=STEP_NUMBER[draft.step],
                                                                          total=TOTAL_STEPS)


async def render(update: Update, context: BotContext, draft: Draft) -> None:
    """Show the question for the draft's current step (editing the wizard message when pressed)."""
    _ = context.t.gettext
    svc, locale = context.svc, context.t.locale
    cancel = [(_(CANCEL), A.DraftCancel().pack())]
    head = step_header(context, draft) if draft.step in STEP_NUMBER else ""
    if draft.step == "topic":
        rows = [[(f"{c.emoji} {c.name.get(locale)}", A.DraftTopic(c.id).pack())]
                for c in svc.content.categories.values()]
        await show(update, context, head + "\n\n" + _("What do you need help with?"), keyboard(*rows, cancel))
    elif draft.step == "description":
        question = _(
            "What is the problem? Type a few sentences.\n"
            "You can also send a photo of your screen.\n"
            "⚠️ Never send a password, an OTP code or health details.") if context.on_zalo else _(
            "What is the problem? Type a few sentences.\n"
            "You can also send a photo of your screen or a voice message.\n"
            "⚠️ Never send a password, an OTP code or health details.")
        await show(update, context, head + "\n\n" + question, keyboard(cancel))
    elif draft.step == "ward":
        rows = [[(w.name.get(locale), A.DraftWard(w.id).pack())] for w in svc.content.wards.values()]
        await show(update, context, head + "\n\n" + _("Which ward do you live in?"),
                   keyboard(*rows, [(_("🤷 Not sure"), A.DraftWard("-").pack())], cancel))
    elif draft.step == "mode":
        rows = [[(_(label), A.DraftMode(mode).pack())] for mode, label in MODES.items()]
        await show(update, context, head + "\n\n" + _("How would you like to be helped?"), keyboard(*rows, cancel))
    elif draft.step == "contact":
        rows: list[list[Button]] = [[(_(PHONE_BUTTON), A.DraftContact("phone").pack())]]
        if draft.mode != "phone":
            rows.insert(0, [(_(CHAT_ONLY), A.DraftContact("chat").pack())])
        await show(update, context, head + "\n\n" + _("How may the volunteer contact you?"), keyboard(*rows, cancel))
    elif draft.step == "phone":
        await clear_buttons(update)
        await context.bot.send_message(update.effective_chat.id, head + "\n\n" + _(
            "Your phone number will be seen only by the volunteer who takes this request, to call you about it. "
            "It is deleted with your request's personal data after {days} days, or earlier if you ask.\n"
            "If you agree, tap “📞 Send my phone number” below.").format(days=svc.settings.retention_days),
            reply_markup=phone_keyboard(context, draft))
    else:  # confirm
        await show(update, context, summary(context, draft),
                   keyboard([(_("✅ Confirm"), A.DraftConfirm().pack())], cancel))


def phone_keyboard(context: BotContext, draft: Draft) -> ReplyKeyboardMarkup:
    """The phone step's keyboard: share my number (Telegram), messages only (unless a call was asked for), cancel.
    Every message of that step carries it and names the share button on a line of its own, so that on Zalo,
    which has no such button, that line becomes what to type instead (bot/channels/zalo/render.py)."""
    _ = context.t.gettext
    buttons = [[KeyboardButton(_(PHONE_BUTTON), request_contact=True)]]
    if draft.mode != "phone":
        buttons.append([KeyboardButton(_(CHAT_ONLY))])
    buttons.append([KeyboardButton(_(CANCEL))])
    return ReplyKeyboardMarkup(buttons, resize_keyboard=True, one_time_keyboard=True)


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
        lines.append(service.attachment_note(t, draft))
    return "\n".join(lines)


async def wizard_button(update: Update, context: BotContext) -> None:
    """A choice in the ask wizard: topic, ward, mode, contact, confirm, cancel, continue or start again."""
    action = A.parse(update.callback_query.data)
    svc, uid = context.svc, context.user.id
    query = update.callback_query
    _ = context.t.gettext
    values: dict[str, object] | None = None
    match action:
        case A.DraftCancel():
            await service.cancel_draft(svc, uid)
            await query.answer()
            await show(update, context, _("Cancelled. Nothing was sent."), keyboard([home_button(context.t)]))
            return
        case A.DraftConfirm():
            if await at_limit_shown(update, context):
                await query.answer()
                return
            request = await service.file(svc, uid)
            if request is None:
                await stale(update, context)
                return
            confirmed(update, context)
            await query.answer()
            await show(update, context, filed_text(context, request), keyboard([home_button(context.t)]))
            return
        case A.DraftContinue():
            draft = await data.get_draft(svc.db, uid)
            if draft is None:
                await stale(update, context)
                return
            await query.answer()
            await render(update, context, draft)
            return
        case A.DraftRestart():
            await query.answer()
            if await at_limit_shown(update, context):
                return
            await render(update, context, await service.begin(svc, uid, None))
            return
        case A.DraftTopic(topic=topic) if topic in svc.content.categories:
            values = {"topic": topic}
        case A.DraftWard(ward=ward) if ward in svc.content.wards or ward == "-":
            values = {"ward": None if ward == "-" else ward, "ward_chosen": 1}
        case A.DraftMode(mode=mode):
            values = {"mode": mode, "step": "contact"}
        case A.DraftContact(contact=contact):
            values = {"step": "confirm" if contact == "chat" else "phone", "phone": None}
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


# --- answers typed into the ask wizard (handlers/typed.py decides when) -------------------------
ATTACHMENT_KIND = (("photo", "photo"), ("voice", "voice"), ("audio", "voice"), ("video_note", "voice"),
                   ("video", "file"), ("document", "file"))


def attachment_of(message) -> str | None:
    """What kind of attachment a message carries for a request: photo, voice, file, or None."""
    return next((kind for attr, kind in ATTACHMENT_KIND if getattr(message, attr, None)), None)


async def answer_draft(update: Update, context: BotContext, draft: Draft) -> None:
    """A message while the ask wizard is open: the description, the phone number, or an attachment
    (a photo or voice note is kept at any step, never refused)."""
    message = update.effective_message
    svc, uid = context.svc, context.user.id
    _ = context.t.gettext
    kind = attachment_of(message)
    if kind is not None:
        new = await service.attach(svc, uid, draft, kind, message.message_id, message.caption)
        if draft.step != "description":
            await message.reply_text(_("📎 Added to your request."))
        await render(update, context, new)
        return
    if message.contact and draft.step in ("contact", "phone"):
        if message.contact.user_id != uid:
            await message.reply_text(_("Please use the button “📞 Send my phone number” below, so the number is "
                                       "yours."))
            return
        phone = phone_e164(message.contact.phone_number or "")
        if phone is None:
            await message.reply_text(_(service.PHONE_REFUSED), reply_markup=phone_keyboard(context, draft))
            return
        new = await service.answer(svc, uid, step="confirm", phone=phone)
        await message.reply_text(_("Thank you."), reply_markup=ReplyKeyboardRemove())
        await render(update, context, new)
        return
    if draft.step == "description":
        if meaningful(message.text):
            if len(message.text.strip()) > service.DESCRIPTION_LIMIT:
                await message.reply_text(_("That is long: I kept the first {n} characters. A volunteer can ask you "
                                           "for the rest.").format(n=context.t.number(service.DESCRIPTION_LIMIT)))
            if service.looks_secret(message.text):  # a warning, and the draft goes on: it is sent only on confirm
                await message.reply_text(_(service.SECRET_WARNING) + "\n" + (_(
                    "Nothing is sent before you confirm; to change it, type “huy” and start again.")
                    if context.on_zalo else _(
                    "Nothing is sent before you confirm; to change it, tap “✖ Cancel” and start again.")))
            await render(update, context, await service.answer(svc, uid, description=message.text))
        else:
            await message.reply_text(_("Please tell me in a few words what is wrong, or send a photo.")
                                     if context.on_zalo else
                                     _("Please tell me in a few words what is wrong, or send a photo or a voice "
                                       "message."))
        return
    if draft.step != "phone":
        await render(update, context, draft)
        return
    # step "phone": the resident's own contact, shared with the button, or a number typed (kept in E.164)
    typed = context.svc.vocab.match(message.text or "", Screen(0, (Choice(_(CHAT_ONLY), DraftContact("chat").pack()),
                                                                  Choice(_(CANCEL), DraftCancel().pack()))),
                                    Mode.TEXT) if message.text else None
    if isinstance(typed, Choice) and typed.data == DraftCancel().pack():
        await service.cancel_draft(svc, uid)
        await message.reply_text(_("Cancelled. Nothing was sent."), reply_markup=ReplyKeyboardRemove())
        return
    if isinstance(typed, Choice) and draft.mode != "phone":
        new = await service.answer(svc, uid, step="confirm", phone=None)
    elif message.text and sum(ch.isdigit() for ch in message.text) >= 7:  # a typed number: only a valid one
        phone = phone_e164(message.text)
        if phone is None:
            await message.reply_text(_(service.PHONE_REFUSED), reply_markup=phone_keyboard(context, draft))
            return
        new = await service.answer(svc, uid, step="confirm", phone=phone)
    else:
        await message.reply_text(_("Please type your phone number, for example 0901 234 567.\n"
                                   "Or tap “📞 Send my phone number” below."),
                                 reply_markup=phone_keyboard(context, draft))
        return
    await message.reply_text(_("Thank you."), reply_markup=ReplyKeyboardRemove())
    await render(update, context, new)


async def comment_typed(update: Update, context: BotContext) -> None:
    """The comment after a rating."""
    _ = context.t.gettext
    awaiting = context.pending.awaiting
    text = update.effective_message.text
    await service.comment(context.svc, awaiting[1], context.user.id, text)
    if service.looks_secret(text):  # saved all the same: a warning, so it does not happen again
        await update.effective_message.reply_text(_(service.SECRET_WARNING))
    await update.effective_message.reply_text(_("Thank you! Your comment is saved."),
                                              reply_markup=keyboard([home_button(context.t)]))


# --- the relay between a resident and the volunteer who holds their request ------------------------
ALBUMS_KEPT = 1000  # media groups remembered per process, so an album is confirmed once


def relayable(message) -> dict:
    """What a message carries through the relay: its text, or (for media) where to copy it from; and its
    id ("source"), so that an edit of it can follow as a correction."""
    if message.text is not None:
        return {"text": message.text, "source": message.message_id}
    return {"message_id": message.message_id, "caption": message.caption, "source": message.message_id}


async def relay_message(update: Update, context: BotContext) -> bool:
    """A message for the other side of a help request. False when it is not one (no conversation, or
    the person went back to the menu and did not reply to a relayed message): then it is searched."""
    message = update.effective_message
    svc, uid = context.svc, context.user.id
    replied = message.reply_to_message
    explicit = replied is not None and await data.relayed_request(svc.db, uid, replied.message_id) is not None
    awaiting = context.pending.awaiting
    if not explicit and (not context.pending.conversations or (awaiting and awaiting[0] == "idle")):
        return False
    try:
        target = await service.addressee(svc, uid, replied.message_id if replied else None)
    except Refused as exc:
        await message.reply_text(context.t.gettext(exc.message), reply_markup=keyboard([home_button(context.t)]))
        return True
    if isinstance(target, list):
        if not target:
            return False
        kept = await service.keep_unsent(svc, uid, relayable(message))
        _ = context.t.gettext
        rows = [[(f"{r.code} · {snippet(r.description) or service.topic_name(svc, context.t, r.topic)}",
                  RelayTo(r.id).pack())] for r in target]
        question = (_("You have several conversations. Which request is this message for?") if kept == 1 else
                    _("I am keeping your {n} messages. Which request are they for?").format(n=kept))
        await message.reply_text(question, reply_markup=keyboard(*rows))
        return True
    content = relayable(message)
    if service.looks_secret(content.get("text") or content.get("caption")):
        await service.keep_unsent(svc, uid, content)
        await ask_before_secret(context, target.id)
        return True
    await deliver(update, context, target.id, content)
    return True


async def ask_before_secret(context: BotContext, request_id: int) -> None:
    """A message that looks like a code, a password or an ID number is kept, and the sender asked first."""
    _ = context.t.gettext
    await context.bot.send_message(context.user.id, _(service.SECRET_WARNING) + "\n" + _("Send it anyway?"),
                                   reply_markup=keyboard([(_("📤 Send anyway"), A.RelaySecret(request_id, "1").pack())],
                                                         [(_("✖ Do not send"), A.RelaySecret(request_id, "0").pack())]))


def snippet(text: str | None, length: int = 40) -> str:
    """The start of a description, so two requests on the same topic can be told apart."""
    words = " ".join((text or "").split())
    return words if len(words) <= length else words[:length].rstrip() + "…"


async def deliver(update: Update, context: BotContext, request_id: int, content: dict, *,
                  correction: bool = False) -> None:
    """Relay one message (or, with `correction`, an edit of one) and tell the sender where it went (by
    request code) or why it could not go."""
    svc, uid = context.svc, context.user.id
    _ = context.t.gettext
    message = update.effective_message
    source = content.get("source")
    try:
        if "text" in content:
            request = await service.relay(svc, uid, request_id, text=content["text"], source=source,
                                          correction=correction)
        else:
            request = await service.relay(svc, uid, request_id, from_chat=uid, message_id=content["message_id"],
                                          caption=content.get("caption"), source=source)
    except Refused as exc:
        await data.clear_awaiting(svc.db, uid)
        await context.bot.send_message(uid, _(exc.message), reply_markup=keyboard([home_button(context.t)]))
        return
    except Unreachable:
        await context.bot.send_message(uid, _(service.UNREACHABLE), reply_markup=keyboard([home_button(context.t)]))
        return
    except SendError:
        await context.bot.send_message(uid, _("Sorry, I could not deliver your message just now. Please try again."))
        return
    if correction:
        await context.bot.send_message(uid, _("✓ Correction sent to {code}.").format(code=request.code))
        return
    albums = context.application.bot_data.setdefault("albums", {})
    group = getattr(message, "media_group_id", None) if message is not None else None
    if group is not None and albums.get(uid) == group:
        return  # the rest of an album: confirmed once
    if group is not None:
        albums.pop(uid, None)
        albums[uid] = group
        while len(albums) > ALBUMS_KEPT:
            albums.pop(next(iter(albums)))
    await context.bot.send_message(uid, _("✓ Sent to {code}.").format(code=request.code))


async def relay_edit(update: Update, context: BotContext) -> None:
    """An edited text that was relayed: the new text goes to the same request, labelled as a correction
    (the first version cannot be taken back). Edits of anything else change nothing, as before."""
    message = update.edited_message
    if message is None or message.text is None:
        return
    request_id = await data.source_request(context.svc.db, context.user.id, message.message_id)
    if request_id is None:
        return
    await deliver(update, context, request_id, relayable(message), correction=True)
    raise ApplicationHandlerStop


# --- following one's requests -----------------------------------------------------------------
async def my_requests(update: Update, context: BotContext) -> None:
    """/myrequests: code, topic, status, when, who helps; cancel an open one, reopen a recent one."""
    _ = context.t.gettext
    svc, t = context.svc, context.t
    rows = await data.of_resident(svc.db, context.user.id)
    if not rows:
        await update.effective_message.reply_text(
            _("You have no help requests yet."), reply_markup=keyboard([(_("🙋 Ask for help"), A.Menu("h").pack())],
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
            buttons.append([(_("✖ Cancel {code}").format(code=r.code), A.CancelRequest(r.id).pack())])
        elif service.reopenable(svc, r):
            buttons.append([(_("🔁 {code} is not solved yet").format(code=r.code), A.Reopen(r.id).pack())])
    await update.effective_message.reply_text("\n".join(lines), reply_markup=keyboard(*buttons, [home_button(t)]))


# --- buttons on requests (offers, holder actions, ratings) ------------------------------------
async def request_button(update: Update, context: BotContext) -> None:
    """Claim, write, resolve, release, rate, reopen, cancel: every press re-checks in the service
    who may do what."""
    action = A.parse(update.callback_query.data)
    query = update.callback_query
    svc, uid, t = context.svc, context.user.id, context.t
    _ = t.gettext
    try:
        match action:
            case A.StopRelay():
                # the relayed message above stays on screen: the menu comes as a new message
                await data.set_awaiting(svc.db, uid, "idle", None, svc.now())
                await query.answer()
                text = _("What do you need? Choose an option below.")
                rows = menu_rows(t)
                helped = [r for r in await data.of_resident(svc.db, uid)
                          if r.status == "claimed"] if context.pending.conversations and context.on_zalo else []
                if helped:
                    # Zalo: a typed answer goes to this menu now, not to the volunteer's message: the way back
                    # to them is a choice here.
                    rows = [[(_("💬 Write to the volunteer of {code}").format(code=r.code), A.Write(r.id).pack())]
                            for r in helped] + rows
                    text = _("To write to the volunteer again, choose “💬 Write to the volunteer” below.") + "\n" + text
                elif context.pending.conversations and not context.on_zalo:
                    text = _("To write to the volunteer again, tap “💬 Reply” under their message.") + "\n" + text
                await context.bot.send_message(uid, text, reply_markup=keyboard(*rows))
            case A.RelaySecret(request=request_id, send=send):
                unsent = await service.take_unsent(svc, uid)
                await query.answer()
                if send == "1" and not unsent:
                    await context.bot.send_message(uid, _("Nothing is waiting to be sent."))
                elif send == "1":
                    for message in unsent:
                        await deliver(update, context, request_id, message)
                else:
                    await data.set_awaiting(svc.db, uid, "relay", request_id, svc.now())
                    await context.bot.send_message(uid, _("Not sent. Thank you for being careful."))
            case A.RelayTo(request=request_id):
                unsent = await service.take_unsent(svc, uid)
                if any(service.looks_secret(m.get("text") or m.get("caption")) for m in unsent):
                    for message in unsent:  # kept again, and asked first
                        await service.keep_unsent(svc, uid, message)
                    await query.answer()
                    await ask_before_secret(context, request_id)
                    return
                await query.answer()
                if not unsent:
                    await context.bot.send_message(uid, _("✍ Type your message for request {code}. I will pass it "
                                                          "on.").format(code=(await service.relay_target(
                                                              svc, uid, request_id))[0].code))
                    await data.set_awaiting(svc.db, uid, "relay", request_id, svc.now())
                for message in unsent:
                    await deliver(update, context, request_id, message)
            case A.Claim(request=request_id):
                result = await service.claim(svc, request_id, uid)
                if not result.won:
                    reason = await service.why_not_claimed(svc, result.request, uid)
                    await query.answer(_(reason), show_alert=True)
                    if result.request and result.request.status != "open":
                        await show(update, context, f"🔒 {result.request.code}: {_(reason)}")
                    return
                await query.answer(_("You claimed it. Thank you!"))
                await show(update, context, service.card(svc, t, result.request, full=True),
                           keyboard(*service.holder_buttons(t, result.request)))
                await copy_attachment(context, result.request, uid)
            case A.Write(request=request_id):
                request, _other, _role = await service.relay_target(svc, uid, request_id)
                await data.set_awaiting(svc.db, uid, "relay", request_id, svc.now())
                await query.answer()
                await context.bot.send_message(uid, _("✍ Type your message for request {code}. I will pass it on.")
                                               .format(code=request.code))
            case A.Resolve(request=request_id):
                request = await service.resolve(svc, request_id, uid)
                await query.answer()
                # resolved and committed first; what it achieved is one optional question after (issue 16)
                await outcomes.show_picker(update, context, request, set(),
                                           _("✅ {code}: resolved. Thank you for helping!").format(code=request.code))
            case A.Release(request=request_id):
                request = await service.holder_request(svc, request_id, uid)
                await query.answer()
                rows = [[(_(label), A.ReleaseBecause(request_id, key).pack())]
                        for key, label in RELEASE_REASONS.items()]
                await show(update, context, _("Why are you releasing {code}?").format(code=request.code),
                           keyboard(*rows, [(_("↩ Back"), A.Card(request_id).pack())]))
            case A.ReleaseBecause(request=request_id, reason=reason):
                request = await service.release(svc, request_id, uid, reason)
                await query.answer()
                await show(update, context, _("↩ {code} is back in the queue. Thank you.").format(code=request.code))
            case A.Card(request=request_id):
                request = await service.holder_request(svc, request_id, uid)
                await query.answer()
                await show(update, context, service.card(svc, t, request, full=True),
                           keyboard(*service.holder_buttons(t, request)))
            case A.InPerson(request=request_id):
                if await service.in_person(svc, request_id, uid):
                    await query.answer(_("The resident got the nearest support points."), show_alert=True)
                else:
                    await query.answer()
            case A.Rate(request=request_id, stars=stars):
                await service.rate(svc, request_id, uid, int(stars))
                await query.answer()
                await show(update, context, _("Thank you for rating: {stars}\nWould you like to add a comment? "
                                              "Just type it, or tap Skip.").format(stars="⭐" * int(stars)),
                           keyboard([(_("Skip"), A.StopRelay().pack())]))
            case A.Reopen(request=request_id):
                request = await service.reopen(svc, request_id, uid)
                await query.answer()
                await show(update, context, _("🔁 Request {code} is open again. We are finding a volunteer.").format(
                    code=request.code))
            case A.CancelRequest(request=request_id):
                request = await service.cancel(svc, request_id, uid)
                await query.answer()
                await show(update, context, _("✖ Request {code} is cancelled.").format(code=request.code),
                           keyboard([home_button(t)]))
            case _:
                await stale(update, context)
    except Refused as exc:
        await query.answer(_(exc.message), show_alert=True)


async def copy_attachment(context: BotContext, request: RequestRow, volunteer_id: int) -> None:
    """The resident's photos, voice notes and files, copied so that their account stays hidden."""
    if request.resident_id is None:
        return
    for _kind, message_id in data.attachments_of(request):
        try:
            await context.svc.outbox.copy(volunteer_id, request.resident_id, message_id, caption=request.code)
        except SendError:  # deleted by the resident meanwhile: the card still says it was there
            continue


def register(app: Application) -> None:
    app.add_handler(CommandHandler("ask", ask))
    app.add_handler(CommandHandler("myrequests", my_requests))
    app.add_handler(CallbackQueryHandler(ask, pattern=lambda d: A.parse(d) == A.Menu("h") or A.AskAbout.filter(d)))
    app.add_handler(CallbackQueryHandler(wizard_button, pattern=A.any_of(
        A.DraftTopic, A.DraftWard, A.DraftMode, A.DraftContact, A.DraftConfirm, A.DraftCancel, A.DraftContinue,
        A.DraftRestart)))
    app.add_handler(CallbackQueryHandler(request_button, pattern=A.any_of(
        A.StopRelay, A.RelayTo, A.RelaySecret, A.Claim, A.Write, A.Resolve, A.Release, A.ReleaseBecause, A.Card,
        A.InPerson, A.Rate, A.Reopen, A.CancelRequest)))
    # forged or malformed data: handlers/fallback.py answers it with `stale`
    # an edit is never a new message: before any feature (group 0) could read it as one
    app.add_handler(MessageHandler(F.UpdateType.EDITED_MESSAGE & F.ChatType.PRIVATE & F.TEXT, relay_edit), group=-1)

"""/broadcast (compose → audience → languages → preview → send now / schedule), campaign controls,
and the residents' /subscribe and /unsubscribe."""

from __future__ import annotations

import warnings

from telegram import Message, Update
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)
from telegram.warnings import PTBUserWarning

from bot import actions as A
from bot import campaigns, privacy
from bot.campaigns import Draft
from bot.config import LOCALES
from bot.refusal import ADMINS_ONLY, OUT_OF_DATE, Refused
from handlers.admin import is_admin, not_allowed
from handlers.common import BotContext, Button, confirmed, keyboard, show, stale
from handlers.start import LANGUAGE_NAMES

COMPOSE, PHOTO, AUDIENCE, WARD, LANGUAGE, MODE, PER_LANG, CONFIRM, SCHEDULE = range(9)
END = ConversationHandler.END
EXAMPLE_TIME = "28/11/2026 08:30"
BROADCAST = (A.BroadcastNext, A.BroadcastAudience, A.BroadcastWard, A.BroadcastLanguage, A.BroadcastMode,
             A.BroadcastSend, A.BroadcastSchedule, A.BroadcastCancel)  # every step's button


def _cancel_button(context: BotContext) -> Button:
    return (context.t.gettext("✖ Cancel"), A.BroadcastCancel().pack())


def _markup(buttons: list[list[Button]]):
    return keyboard(*buttons) if buttons else None


def _draft(context: BotContext) -> Draft:
    return context.user_data["bc_draft"]


async def _keep(context: BotContext) -> None:
    """The draft as it stands goes to the database: a restart loses nothing, and the dashboard shows it."""
    await campaigns.keep_draft(context.svc, context.user.id, _draft(context))


async def _answer(update: Update) -> None:
    if update.callback_query:
        await update.callback_query.answer()


def admin_step(func):
    """Every step re-checks the role server-side: a demoted admin's conversation ends here."""

    async def wrapper(update: Update, context: BotContext) -> int:
        if not is_admin(context):
            await not_allowed(update, context)
            context.user_data.pop("bc_draft", None)
            return END
        return await func(update, context)

    wrapper.__doc__ = func.__doc__
    return wrapper


@admin_step
async def start(update: Update, context: BotContext) -> int:
    """/broadcast: a new campaign message."""
    _ = context.t.gettext
    context.user_data.pop("bc_draft", None)
    if await campaigns.set_aside_draft(context.svc, context.user.id):
        await update.effective_message.reply_text(
            _("Your earlier unsent campaign message is kept as a draft on the dashboard (send /dashboard, then "
              "open “Campaigns”)."))
    await update.effective_message.reply_text(
        _("📣 New campaign message.\nSend the text.\nYou can also send one photo with the text as its caption.")
        if context.on_zalo else  # Zalo's messages carry no bold, italics or links to keep
        _("📣 New campaign message.\nSend the text. Bold, italics and links are kept.\n"
          "You can also send one photo with the text as its caption."),
        reply_markup=keyboard([_cancel_button(context)]))
    return COMPOSE


def _too_long(context: BotContext, text: str, photo: bool) -> bool:
    return not campaigns.fits(context.svc, text, photo)


async def _say_too_long(update: Update, context: BotContext, photo: bool) -> None:
    _ = context.t.gettext
    limit = campaigns.CAPTION_LIMIT if photo else campaigns.TEXT_LIMIT
    await update.effective_message.reply_text(
        _("This text is too long. Please keep it under {n} characters.").format(n=context.t.number(limit - 100)),
        reply_markup=keyboard([_cancel_button(context)]))


@admin_step
async def compose_text(update: Update, context: BotContext) -> int:
    """The campaign text, with its formatting as entities."""
    message: Message = update.effective_message
    if _too_long(context, message.text, False):
        await _say_too_long(update, context, False)
        return COMPOSE
    context.user_data["bc_draft"] = Draft(message.text, [e.to_dict() for e in message.entities])
    await _keep(context)
    _ = context.t.gettext
    await message.reply_text(_("Send a photo to go with it, or choose Next."),
                             reply_markup=keyboard([(_("Next ▶"), A.BroadcastNext().pack())],
                                                   [_cancel_button(context)]))
    return PHOTO


@admin_step
async def compose_photo(update: Update, context: BotContext) -> int:
    """A photo with the text as its caption."""
    message: Message = update.effective_message
    _ = context.t.gettext
    if not message.caption:
        await message.reply_text(_("Please send the photo with the text as its caption."),
                                 reply_markup=keyboard([_cancel_button(context)]))
        return COMPOSE
    if _too_long(context, message.caption, True):
        await _say_too_long(update, context, True)
        return COMPOSE
    context.user_data["bc_draft"] = Draft(message.caption, [e.to_dict() for e in message.caption_entities],
                                          message.photo[-1].file_id)
    await _keep(context)
    return await ask_audience(update, context)


@admin_step
async def add_photo(update: Update, context: BotContext) -> int:
    """The optional photo after the text."""
    draft = _draft(context)
    if _too_long(context, draft.text, True):
        await _say_too_long(update, context, True)
        return PHOTO
    draft.photo = update.effective_message.photo[-1].file_id
    await _keep(context)
    return await ask_audience(update, context)


@admin_step
async def photo_expected(update: Update, context: BotContext) -> int:
    """Text where the optional photo was asked for: say what the step wants, lose nothing."""
    _ = context.t.gettext
    await update.effective_message.reply_text(_("Please send a photo, or tap “Next ▶” to go on without one."),
                                              reply_markup=keyboard([(_("Next ▶"), A.BroadcastNext().pack())],
                                                                    [_cancel_button(context)]))
    return PHOTO


@admin_step
async def ask_audience(update: Update, context: BotContext) -> int:
    """Who receives it; the count of everyone subscribed is shown on the first button."""
    _ = context.t.gettext
    await _answer(update)
    everyone = sum((await campaigns.audience(context.svc, "all", None)).values())
    rows = [[(_("👥 Everyone subscribed ({n})").format(n=context.t.number(everyone)),
              A.BroadcastAudience("all").pack())],
            [(_("🏘 By ward"), A.BroadcastAudience("ward").pack()),
             (_("🌐 By language"), A.BroadcastAudience("locale").pack())],
            [(_("🙋 Volunteers"), A.BroadcastAudience("volunteers").pack())], [_cancel_button(context)]]
    await show(update, context, _("Who should receive it?"), keyboard(*rows))
    return AUDIENCE


@admin_step
async def choose_audience(update: Update, context: BotContext) -> int:
    """A.BroadcastAudience: everyone and volunteers go on; a ward or a language is asked for next."""
    _ = context.t.gettext
    action = A.parse(update.callback_query.data)
    kind = action.kind if isinstance(action, A.BroadcastAudience) else None
    draft = _draft(context)
    if kind in ("all", "volunteers"):
        draft.audience_kind, draft.audience_value = kind, None
        return await after_audience(update, context)
    await _answer(update)
    if kind == "ward":
        wards = await campaigns.wards(context.svc)
        if not wards:
            await update.callback_query.answer(_("No subscribed resident has chosen a ward yet."), show_alert=True)
            return AUDIENCE
        context.user_data["bc_wards"] = [w for w, _n in wards]
        names = context.svc.content.wards
        rows = [[(f"{names[w].name.get(context.t.locale) if w in names else w} ({context.t.number(n)})",
                  A.BroadcastWard(i).pack())] for i, (w, n) in enumerate(wards[:30])]
        await show(update, context, _("Which ward?"), keyboard(*rows, [_cancel_button(context)]))
        return WARD
    rows = [[(LANGUAGE_NAMES[lang], A.BroadcastLanguage(lang).pack()) for lang in LOCALES], [_cancel_button(context)]]
    await show(update, context, _("Which language?"), keyboard(*rows))
    return LANGUAGE


@admin_step
async def choose_ward(update: Update, context: BotContext) -> int:
    """A.BroadcastWard: the index into the list shown, so a long ward name fits callback data."""
    action = A.parse(update.callback_query.data)
    wards = context.user_data.get("bc_wards", [])
    if not isinstance(action, A.BroadcastWard) or action.index >= len(wards):
        await stale(update, context)
        return WARD
    draft = _draft(context)
    draft.audience_kind, draft.audience_value = "ward", wards[action.index]
    return await after_audience(update, context)


@admin_step
async def choose_language(update: Update, context: BotContext) -> int:
    """A.BroadcastLanguage"""
    action = A.parse(update.callback_query.data)
    if not isinstance(action, A.BroadcastLanguage):
        await stale(update, context)
        return LANGUAGE
    draft = _draft(context)
    draft.audience_kind, draft.audience_value = "locale", action.lang
    return await after_audience(update, context)


async def after_audience(update: Update, context: BotContext) -> int:
    _ = context.t.gettext
    await _answer(update)
    draft = _draft(context)
    draft.texts = None
    await _keep(context)
    sizes = await campaigns.audience(context.svc, draft.who)
    if not sum(sizes.values()):
        await update.effective_message.reply_text(
            _("Nobody in this audience gets campaign messages. Please choose another audience."))
        return await ask_audience(update, context)
    if len(sizes) > 1:
        await show(update, context,
                   _("These residents read {n} languages. One text for all, or a text for each language?")
                   .format(n=len(sizes)),
                   keyboard([(_("One text for all"), A.BroadcastMode("one").pack())],
                            [(_("A text for each language"), A.BroadcastMode("each").pack())],
                            [_cancel_button(context)]))
        return MODE
    return await confirm(update, context)


@admin_step
async def choose_mode(update: Update, context: BotContext) -> int:
    """A.BroadcastMode: one text for all, or a text for each language."""
    await _answer(update)
    if A.parse(update.callback_query.data) == A.BroadcastMode("each"):
        draft = _draft(context)
        sizes = await campaigns.audience(context.svc, draft.who)
        context.user_data["bc_langs"] = [lang for lang in LOCALES if lang in sizes]
        draft.texts = {}
        return await ask_language_text(update, context)
    return await confirm(update, context)


async def ask_language_text(update: Update, context: BotContext) -> int:
    _ = context.t.gettext
    lang = context.user_data["bc_langs"][0]
    await update.effective_message.reply_text(
        _("Send the text for residents who read {language}.").format(language=LANGUAGE_NAMES[lang]),
        reply_markup=keyboard([_cancel_button(context)]))
    return PER_LANG


@admin_step
async def language_text(update: Update, context: BotContext) -> int:
    """One language's text; the next language, or the preview."""
    message: Message = update.effective_message
    draft = _draft(context)
    if _too_long(context, message.text, bool(draft.photo)):
        await _say_too_long(update, context, bool(draft.photo))
        return PER_LANG
    lang = context.user_data["bc_langs"].pop(0)
    assert draft.texts is not None
    draft.texts[lang] = {"text": message.text, "entities": [e.to_dict() for e in message.entities]}
    await _keep(context)
    if context.user_data["bc_langs"]:
        return await ask_language_text(update, context)
    return await confirm(update, context)


async def confirm(update: Update, context: BotContext) -> int:
    """The exact recipient count and a preview per language, exactly as residents will see it."""
    _ = context.t.gettext
    svc, draft = context.svc, _draft(context)
    chat = update.effective_chat.id
    counted = await campaigns.reach(svc, draft.who)
    sizes = counted.per_language
    for lang in (lang for lang in LOCALES if lang in sizes):
        await context.bot.send_message(chat, _("👀 Preview for residents who read {language}:")
                                       .format(language=LANGUAGE_NAMES[lang]))
        text, entities = campaigns.message_for(svc, draft.text, draft.entities, draft.texts, lang)
        await svc.outbox.send(chat, text, photo=draft.photo, entities=entities or None)
    channels = _("On Telegram: {telegram} · On Zalo: {zalo}").format(
        telegram=context.t.number(counted.per_channel.get("telegram", 0)),
        zalo=context.t.number(counted.per_channel.get("zalo", 0)))
    await context.bot.send_message(
        chat, _("It will go to {n} residents. Send it now, or schedule it?").format(n=context.t.number(counted.total))
        + "\n" + channels,
        reply_markup=keyboard([(_("📣 Send now"), A.BroadcastSend().pack()),
                               (_("🗓 Schedule"), A.BroadcastSchedule().pack())], [_cancel_button(context)]))
    return CONFIRM


@admin_step
async def send_now(update: Update, context: BotContext) -> int:
    """A.BroadcastSend: save the campaign and its recipients; the sender starts on its next tick."""
    query = update.callback_query
    await query.answer()
    cid, _total = await campaigns.create(context.svc, context.user.id, _draft(context), None,
                                         (query.message.chat.id, query.message.message_id))
    confirmed(update, context)
    text, buttons = await campaigns.progress_view(context.svc, cid, context.t)
    _ = context.t.gettext
    await show(update, context, _("✅ Saved. Sending starts in a moment.") + "\n\n" + text, _markup(buttons))
    context.user_data.pop("bc_draft", None)
    await campaigns.drop_draft(context.svc, context.user.id)
    return END


@admin_step
async def ask_schedule(update: Update, context: BotContext) -> int:
    """A.BroadcastSchedule: ask for the date and time."""
    _ = context.t.gettext
    await _answer(update)
    await show(update, context, _("When should it go out? Type the date and time as DD/MM/YYYY HH:MM "
                                  "(Ho Chi Minh City time), for example {example}.").format(example=EXAMPLE_TIME),
               keyboard([_cancel_button(context)]))
    return SCHEDULE


@admin_step
async def schedule_time(update: Update, context: BotContext) -> int:
    """The typed date and time."""
    _ = context.t.gettext
    svc = context.svc
    message: Message = update.effective_message
    when = campaigns.parse_schedule(svc, message.text or "")
    if when is None:
        await message.reply_text(_("I could not read that time. Please type it like {example}.")
                                 .format(example=EXAMPLE_TIME), reply_markup=keyboard([_cancel_button(context)]))
        return SCHEDULE
    if when <= svc.clock.now():
        await message.reply_text(_("That time has already passed. Please choose a later time."),
                                 reply_markup=keyboard([_cancel_button(context)]))
        return SCHEDULE
    cid, _total = await campaigns.create(svc, context.user.id, _draft(context), when)
    text, buttons = await campaigns.progress_view(svc, cid, context.t)
    sent = await message.reply_text(_("✅ Saved. It will go out at {when}.").format(when=context.t.datetime(when))
                                    + "\n\n" + text, reply_markup=_markup(buttons))
    await campaigns.set_progress_message(svc, cid, sent.chat.id, sent.message_id)
    await campaigns.drop_draft(svc, context.user.id)
    context.user_data.pop("bc_draft", None)
    return END


async def cancel(update: Update, context: BotContext) -> int:
    """✖ Cancel or /cancel at any step: nothing is saved (the draft kept so far goes too)."""
    _ = context.t.gettext
    context.user_data.pop("bc_draft", None)
    await campaigns.drop_draft(context.svc, context.user.id)
    await _answer(update)
    await show(update, context, _("Cancelled. Nothing was sent."))
    return END


async def control(update: Update, context: BotContext) -> None:
    """A.CampaignControl (pause, resume, cancel, resend to failed) on the progress message; the service checks
    the role."""
    _ = context.t.gettext
    action = A.parse(update.callback_query.data)
    if not isinstance(action, A.CampaignControl):
        await stale(update, context)
        return
    cid = action.campaign
    resent = 0
    try:
        if action.op == "resend":
            resent = await campaigns.resend_failed(context.svc, context.user, cid)
        else:
            await campaigns.control(context.svc, context.user, cid, action.op)
    except Refused as exc:
        if exc.message == ADMINS_ONLY:
            await not_allowed(update, context)
            return
        if exc.message == OUT_OF_DATE:
            await stale(update, context)
            return
        await update.callback_query.answer(_(exc.message))
    else:
        notes = {"pause": _("Paused."), "resume": _("Sending again."), "cancel": _("Cancelled."),
                 "resend": _("Sending again to {n} who failed.").format(n=resent)}
        await update.callback_query.answer(notes[action.op])
    text, buttons = await campaigns.progress_view(context.svc, cid, context.t)
    await show(update, context, text, _markup(buttons))


async def out_of_conversation(update: Update, context: BotContext) -> None:
    """A broadcast button outside an open broadcast, or forged broadcast or campaign data: refused for
    non-admins, out of date for admins."""
    if not is_admin(context):
        await not_allowed(update, context)
    else:
        await stale(update, context)


async def unsubscribe(update: Update, context: BotContext) -> None:
    """/unsubscribe: no more campaign messages (help requests are not affected)."""
    _ = context.t.gettext
    await privacy.set_campaigns(context.svc, context.user.id, False)
    await update.effective_message.reply_text(
        _("Done. You will not get campaign messages any more. Your help requests are not affected.\n"
          "To get them again, send /subscribe."))


async def subscribe(update: Update, context: BotContext) -> None:
    """/subscribe: campaign messages again."""
    _ = context.t.gettext
    await privacy.set_campaigns(context.svc, context.user.id, True)
    await update.effective_message.reply_text(
        _("Done. You will get campaign messages again. To stop them, send /unsubscribe."))


def register(app: Application) -> None:
    text = filters.TEXT & ~filters.COMMAND
    cancel_button = CallbackQueryHandler(cancel, pattern=A.BroadcastCancel.filter)
    with warnings.catch_warnings():  # per_message=False is what we want: one conversation per admin chat
        warnings.simplefilter("ignore", PTBUserWarning)
        conversation = ConversationHandler(
            entry_points=[CommandHandler("broadcast", start)],
            states={
                COMPOSE: [MessageHandler(text, compose_text), MessageHandler(filters.PHOTO, compose_photo)],
                PHOTO: [MessageHandler(filters.PHOTO, add_photo),
                        CallbackQueryHandler(ask_audience, A.BroadcastNext.filter),
                        MessageHandler(text, photo_expected)],
                AUDIENCE: [CallbackQueryHandler(choose_audience, A.BroadcastAudience.filter)],
                WARD: [CallbackQueryHandler(choose_ward, A.BroadcastWard.filter)],
                LANGUAGE: [CallbackQueryHandler(choose_language, A.BroadcastLanguage.filter)],
                MODE: [CallbackQueryHandler(choose_mode, A.BroadcastMode.filter)],
                PER_LANG: [MessageHandler(text, language_text)],
                CONFIRM: [CallbackQueryHandler(send_now, A.BroadcastSend.filter),
                          CallbackQueryHandler(ask_schedule, A.BroadcastSchedule.filter)],
                SCHEDULE: [MessageHandler(text, schedule_time)],
            },
            fallbacks=[cancel_button, CommandHandler("cancel", cancel), CommandHandler("broadcast", start)],
            name="broadcast",
        )
    app.add_handler(conversation)
    app.bot_data["broadcast_conversation"] = conversation  # handlers/typed.py asks it whether a text is its step
    app.add_handler(CallbackQueryHandler(control, pattern=A.CampaignControl.filter))
    app.add_handler(CallbackQueryHandler(out_of_conversation, pattern=A.family(*BROADCAST, A.CampaignControl)))
    app.add_handler(CommandHandler("unsubscribe", unsubscribe))
    app.add_handler(CommandHandler("subscribe", subscribe))

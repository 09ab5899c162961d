"""/privacy, /mydata, /deletemydata and withdrawing phone consent."""

from __future__ import annotations

from telegram import InputFile, Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from bot import actions as A
from bot import privacy
from handlers.common import BotContext, Button, confirmed, double_tap, home_button, keyboard, show, stale


async def privacy_notice(update: Update, context: BotContext) -> None:
    """/privacy: what is kept, why, who sees it, how long, and how to withdraw or delete."""
    _ = context.t.gettext
    svc = context.svc
    text = _(
        "🔒 Your personal data\n\n"
        "What I keep: your Telegram id and name, your language and ward, your help requests "
        "(what you wrote, and your phone number only if you agreed), your ratings and comments, "
        "and which guides helped you.\n\n"
        "Why: to answer you, to pass your request to a volunteer, and to send campaign messages "
        "if you want them.\n\n"
        "Who sees it: only the volunteer who takes your request sees it, and your phone number only if you "
        "agreed. Ward admins see the requests and the numbers.\n\n"
        "How long: the phone number, descriptions and comments of a finished request are deleted after "
        "{days} days. Messages between you and a volunteer are passed on, not stored.\n\n"
        "Your rights (Law 91/2025/QH15 and Decree 356/2025/NĐ-CP): to know, to agree or withdraw, "
        "to see, to correct and to delete your data.\n"
        "• /unsubscribe stops campaign messages.\n"
        "• /mydata sends you everything I keep.\n"
        "• /deletemydata deletes it.").format(days=context.t.number(svc.settings.retention_days))
    rows: list[list[Button]] = []
    if await privacy.has_contact_consent(svc, context.user.id):
        rows.append([(_("📵 Withdraw my phone number"), A.PrivacyChoice("phone").pack())])
    rows += [[(_("📂 My data"), A.PrivacyChoice("data").pack()),
              (_("🗑 Delete my data"), A.PrivacyChoice("del").pack())], [home_button(context.t)]]
    await show(update, context, text, keyboard(*rows))
    if update.callback_query:
        await update.callback_query.answer()


async def my_data(update: Update, context: BotContext) -> None:
    """/mydata: a JSON file of everything stored about the person."""
    _ = context.t.gettext
    name, body = await privacy.export(context.svc, context.user.id)
    if update.callback_query:
        await update.callback_query.answer()
    await context.bot.send_document(update.effective_chat.id, InputFile(body, filename=name),
                                    caption=_("📂 Everything I keep about you. Keep this file safe."))


async def delete_ask(update: Update, context: BotContext) -> None:
    """/deletemydata: say what goes, then Confirm or Cancel."""
    _ = context.t.gettext
    text = _("🗑 Delete my data\n\n"
             "I will delete your name, language, ward, consents, your volunteer record, and the descriptions, "
             "phone numbers and comments of your help requests. Requests still waiting are cancelled; "
             "a request a volunteer is helping with is closed.\n"
             "Only numbers without your name stay, for statistics.\n\n"
             "This cannot be undone. Do you want to continue?")
    await show(update, context, text, keyboard([(_("✅ Confirm"), A.PrivacyChoice("delok").pack()),
                                                (_("✖ Cancel"), A.PrivacyChoice("x").pack())]))
    if update.callback_query:
        await update.callback_query.answer()


async def privacy_button(update: Update, context: BotContext) -> None:
    """A.PrivacyChoice: my data, delete (ask, then confirm or cancel), withdraw the phone number."""
    svc, uid = context.svc, context.user.id
    query = update.callback_query
    _ = context.t.gettext
    match A.parse(query.data):
        case A.PrivacyChoice(op="data"):
            await my_data(update, context)
        case A.PrivacyChoice(op="del"):
            await delete_ask(update, context)
        case A.PrivacyChoice(op="x"):
            await query.answer()
            await show(update, context, _("Cancelled. Nothing was deleted."), keyboard([home_button(context.t)]))
        case A.PrivacyChoice(op="delok"):
            if double_tap(update, context):
                await query.answer()  # done already, and "Done" is on screen
                return
            await privacy.delete_person(svc, uid)
            confirmed(update, context)
            await query.answer()
            await show(update, context, _("✅ Done. Your personal data is deleted.\n"
                                          "If you write to me again, I will only know what you send from then on."))
        case A.PrivacyChoice(op="phone"):
            erased = await privacy.withdraw_contact(svc, uid)
            await query.answer()
            text = _("✅ Done. Volunteers will no longer get your phone number.")
            if erased:
                text += "\n" + _("It was removed from {n} of your requests.").format(n=context.t.number(erased))
            await show(update, context, text, keyboard([home_button(context.t)]))
        case _:
            await stale(update, context)


def register(app: Application) -> None:
    app.add_handler(CommandHandler("privacy", privacy_notice))
    app.add_handler(CommandHandler("mydata", my_data))
    app.add_handler(CommandHandler("deletemydata", delete_ask))
    app.add_handler(CallbackQueryHandler(privacy_button, pattern=A.PrivacyChoice.filter))

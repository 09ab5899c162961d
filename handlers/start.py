"""Welcome, main menu and language."""

from __future__ import annotations

from telegram import Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from bot.config import LOCALES
from bot.data import requests as requests_data
from bot.data import users
from handlers import guides
from handlers.common import BotContext, home_button, keyboard, menu_rows, show, stale

LANGUAGE_NAMES = {"vi": "Tiếng Việt", "en": "English"}  # each in its own language


def welcome_markup(context: BotContext):
    other = "en" if context.t.locale == "vi" else "vi"
    return keyboard(*menu_rows(context.t), [(f"🌐 {LANGUAGE_NAMES[other]}", f"lang:{other}:w")])


def welcome_text(context: BotContext) -> str:
    _ = context.t.gettext
    return _("Hello! I am the Digital Assistant.\n"
             "I help you use digital services: VNeID, public services, payments, shopping "
             "and staying safe online.\n"
             "Choose an option below.")


async def start(update: Update, context: BotContext) -> None:
    """/start, or /start GUIDE_ID from a deep link or a QR poster."""
    if context.args:
        guide = context.svc.guide(context.args[0])
        if guide is not None:
            await guides.open_guide(update, context, guide)
            return
        _ = context.t.gettext
        await update.effective_message.reply_text(
            _("I could not find that guide. Please choose one from the list."),
            reply_markup=keyboard(*menu_rows(context.t)))
        return
    await update.effective_message.reply_text(welcome_text(context), reply_markup=welcome_markup(context))


async def menu(update: Update, context: BotContext) -> None:
    """/menu and the 🏠 button; it also ends a relay, so the next text is a search again (until the other
    side writes again), and drops any prompt in progress."""
    await requests_data.set_awaiting(context.svc.db, context.user.id, "idle", None, context.svc.now())
    _ = context.t.gettext
    await show(update, context, _("What do you need? Choose an option below."), keyboard(*menu_rows(context.t)))
    if update.callback_query:
        await update.callback_query.answer()


async def help_command(update: Update, context: BotContext) -> None:
    """/help: what the bot can do, in four lines, then the menu."""
    _ = context.t.gettext
    await update.effective_message.reply_text(
        _("I can help you:\n"
          "📚 follow a guide step by step\n"
          "🔎 find a guide: just type a few words, accents are not needed\n"
          "🙋 ask a volunteer for help\n"
          "📍 find a support point near you\n"
          "Choose an option below."),
        reply_markup=keyboard(*menu_rows(context.t)))


async def language(update: Update, context: BotContext) -> None:
    """/language and the 🌐 button: the two languages, one tap each."""
    _ = context.t.gettext
    rows = [[(LANGUAGE_NAMES[lang], f"lang:{lang}") for lang in LOCALES], [home_button(context.t)]]
    await show(update, context, _("Choose your language:"), keyboard(*rows))
    if update.callback_query:
        await update.callback_query.answer()


async def set_language(update: Update, context: BotContext) -> None:
    """lang:vi / lang:en (…:w from the welcome message keeps showing the welcome)."""
    query = update.callback_query
    parts = query.data.split(":")
    if len(parts) < 2 or parts[1] not in LOCALES:
        await stale(update, context)
        return
    await users.set_locale(context.svc.db, context.user.id, parts[1])
    context.t = context.svc.i18n.get(parts[1])
    _ = context.t.gettext
    await query.answer(_("Language: English") if parts[1] == "en" else _("Language: Vietnamese"))
    if parts[-1] == "w":
        await show(update, context, welcome_text(context), welcome_markup(context))
    else:
        await show(update, context, _("What do you need? Choose an option below."),
                   keyboard(*menu_rows(context.t)))


def register(app: Application) -> None:
    app.add_handler(CommandHandler("start", start))
    app.add_handler(CommandHandler("menu", menu))
    app.add_handler(CommandHandler("help", help_command))
    app.add_handler(CommandHandler("language", language))
    app.add_handler(CallbackQueryHandler(menu, pattern=r"^m$"))
    app.add_handler(CallbackQueryHandler(language, pattern=r"^m:l$"))
    app.add_handler(CallbackQueryHandler(set_language, pattern=r"^lang:"))

"""Search: free text outside a conversation, /search, and the 🔎 button."""

from __future__ import annotations

from collections.abc import Iterable

from telegram import Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot import actions as A
from bot.content import PhoneLine
from bot.i18n import Translator
from bot.intents import wants_human
from handlers.common import BotContext, home_button, keyboard, show
from handlers.guides import open_guide, topic_rows

ECHO_LIMIT = 40  # how much of the query we repeat back


async def prompt(update: Update, context: BotContext) -> None:
    """The 🔎 button and a bare /search: tell the resident they can just type."""
    _ = context.t.gettext
    await show(update, context, _("🔎 What are you looking for?\nType a few words, with or without accents.\n"
                                  "For example: cai dat vneid"), keyboard([home_button(context.t)]))
    if update.callback_query:
        await update.callback_query.answer()


async def search_command(update: Update, context: BotContext) -> None:
    """/search WORDS"""
    if context.args:
        await run_search(update, context, " ".join(context.args))
    else:
        await prompt(update, context)


async def search_text(update: Update, context: BotContext) -> None:
    """Any text outside a conversation is a search, unless it only asks for a person."""
    await run_search(update, context, update.effective_message.text or "", free_text=True)


def phone_lines_text(lines: Iterable[PhoneLine], t: Translator) -> str:
    """The "📞 Or call:" block from content/phone_lines.toml; empty when there is no line to show.
    A line not yet verified carries a note to check it; hours are shown when the file gives them."""
    _ = t.gettext
    out = []
    for line in lines:
        out.append(f"{line.number}: {line.purpose.get(t.locale)}")
        if line.hours is not None:
            out.append(_("🕘 Hours: {hours}").format(hours=line.hours.get(t.locale)))
        if not line.verified:
            out.append(_("⚠️ Not yet confirmed: please check the number before calling."))
    return "\n".join([_("📞 Or call:"), *out]) if out else ""


async def reach_people(update: Update, context: BotContext) -> None:
    """Every way to reach a person ("cho tôi gặp người thật") on one screen, so one step gets there."""
    _ = context.t.gettext
    parts = [_("🙋 A volunteer can help you.\n"
               "Tap “Ask for help” and say what you need. A volunteer will contact you."),
             phone_lines_text(context.svc.content.phone_lines.values(), context.t),
             _("📍 Or come to a support point.")]
    text = "\n\n".join(p for p in parts if p)
    await update.effective_message.reply_text(text, reply_markup=keyboard(
        [(_("🙋 Ask for help"), A.Menu("h").pack())], [(_("📍 Support points"), A.Menu("p").pack())],
        [home_button(context.t)]))


async def run_search(update: Update, context: BotContext, query: str, *, free_text: bool = False) -> None:
    """A guide's exact title opens it, and so does its short code as a QR poster prints it for Zalo (which has
    no deep links); typed free text that only asks for a person gets the ways to reach people; anything else
    lists the guides and support points found."""
    guide = context.svc.guide(query.strip().lower()) or await context.svc.guide_titled(query)
    if guide is not None:
        await open_guide(update, context, guide)
        return
    if free_text and wants_human(query):
        await reach_people(update, context)
        return
    _ = context.t.gettext
    hits = await context.svc.search(query, context.t.locale)
    wards = context.svc.wards_in(query)
    shown = " ".join(query.split())
    shown = shown if len(shown) <= ECHO_LIMIT else shown[:ECHO_LIMIT] + "…"
    if hits or wards:
        rows = [[(h.guide.title.get(context.t.locale), A.GuideOpen(h.guide.id).pack())] for h in hits]
        rows += [[("📍 " + _("Support points: {ward}").format(ward=w.name.get(context.t.locale)),
                   A.PointsInWard(w.id).pack())] for w in wards]
        await update.effective_message.reply_text(
            (_("🔎 Guides for “{query}”:") if hits else _("📍 Support points for “{query}”:")).format(query=shown),
            reply_markup=keyboard(*rows, [(_("🙋 Ask for help"), A.Menu("h").pack()), home_button(context.t)]))
        return
    if not any(ch.isalnum() for ch in query):
        text = _("Please type a few words about what you need.\nFor example: cai dat vneid")
    else:
        text = _("I found no guide for “{query}”.\nChoose a topic below, or ask a volunteer for help.").format(
            query=shown)
    await update.effective_message.reply_text(
        text, reply_markup=keyboard(*topic_rows(context),
                                    [(_("🙋 Ask for help"), A.Menu("h").pack()), home_button(context.t)]))


def register(app: Application) -> None:
    app.add_handler(CommandHandler("search", search_command))
    app.add_handler(CallbackQueryHandler(prompt, pattern=A.exactly(A.Menu("s"))))


def register_fallback(app: Application) -> None:
    """Registered last in group 0: text nothing else wanted."""
    app.add_handler(MessageHandler(filters.UpdateType.MESSAGE & filters.TEXT & ~filters.COMMAND, search_text))

"""Flood control before anything else (group -200), and the admins' /ban and /unban."""

from __future__ import annotations

from telegram import Update
from telegram.ext import Application, ApplicationHandlerStop, CommandHandler, TypeHandler

from bot import moderation
from bot.data import users
from bot.refusal import Refused
from handlers.common import BotContext, as_id, not_allowed


async def flood_gate(update: Update, context: BotContext) -> None:
    """Counts every update per person in memory. Admins (ADMIN_IDS, or promoted: looked up only when someone
    reaches the normal limit, so a flooder costs one query per cooldown) get a ceiling 10× higher."""
    user = update.effective_user
    if user is None or getattr(update.callback_query, "id", "").startswith("typed:"):
        return  # the gate drops it; a typed choice was counted as the message it came from
    svc = context.svc
    now = svc.clock.now()
    admin = user.id in svc.settings.admin_ids
    if not admin and svc.flood.at_limit(user.id, now):
        admin = svc.is_admin(await users.get(svc.db, user.id))
    verdict = svc.flood.check(user.id, now, admin=admin)
    if verdict == moderation.OK:
        return
    chat = update.effective_chat
    if verdict == moderation.NOTICE and chat is not None and chat.type == chat.PRIVATE:
        row = await users.get(svc.db, user.id)
        _ = svc.i18n.get(row.locale if row else None).gettext
        await context.bot.send_message(chat.id, _(
            "⏳ You are sending messages very fast. Please wait {n} seconds, then try again.").format(
            n=svc.settings.flood_seconds))
    raise ApplicationHandlerStop


async def ban_command(update: Update, context: BotContext) -> None:
    """/ban ID and /unban ID (admins; written to audit_events)."""
    svc = context.svc
    if not svc.is_admin(context.user):
        await not_allowed(update, context)
        return
    _ = context.t.gettext
    message = update.effective_message
    ban = message.text.split()[0].lower().startswith("/ban")
    args = context.args or []
    target = as_id(args[0], signed=True) if len(args) == 1 else None
    if target is None:
        await message.reply_text(_("Use /ban ID or /unban ID."))
        return
    try:
        await moderation.set_ban(svc, context.user, target, ban)
    except Refused as exc:
        await message.reply_text(_(exc.message).format(id=target))
        return
    await message.reply_text((_("Done: {id} is banned.") if ban else _("Done: {id} can use the bot again."))
                             .format(id=target))


def register_flood(app: Application) -> None:
    app.add_handler(TypeHandler(Update, flood_gate), group=-200)


def register(app: Application) -> None:
    app.add_handler(CommandHandler(["ban", "unban"], ban_command))

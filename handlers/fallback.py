"""What nothing else handled: unknown commands, things we cannot read, old buttons, errors."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.ext import Application, CallbackQueryHandler, MessageHandler, filters

from bot import faults
from handlers.common import BotContext, keyboard, menu_rows, stale

log = logging.getLogger(__name__)


async def unknown_command(update: Update, context: BotContext) -> None:
    _ = context.t.gettext
    await update.effective_message.reply_text(_("I don't know that command yet. Please choose from the menu."),
                                              reply_markup=keyboard(*menu_rows(context.t)))


async def not_text(update: Update, context: BotContext) -> None:
    """Stickers, photos, voice, contacts… where words are expected. A shared contact is not kept."""
    _ = context.t.gettext
    await update.effective_message.reply_text(
        _("I can only read words here. Type what you need, or choose from the menu."),
        reply_markup=keyboard(*menu_rows(context.t)))


FAILED_KEPT = 1000  # update ids remembered per process, so one update gets one apology


def first_failure(context: BotContext, update: object) -> bool:
    """True for the first failure of an update (a button typed as a choice is the same update); later
    failures of the same update are logged, but neither the person nor the admins hear of them again."""
    update_id = getattr(update, "update_id", None)
    if update_id is None:
        return True
    failed = context.application.bot_data.setdefault("failed_updates", {})
    if update_id in failed:
        return False
    failed[update_id] = True
    while len(failed) > FAILED_KEPT:
        failed.pop(next(iter(failed)))
    return True


async def on_error(update: object, context: BotContext) -> None:
    """Log the failure by update id and error kind only (no text, no phone); tell admins (at most once
    per kind every 10 minutes) and the user kindly, once per update."""
    error = context.error
    key = faults.error_key(error) if error is not None else "?"
    log.error("handler failed", exc_info=error, extra={"update_id": getattr(update, "update_id", None),
                                                       "error_key": key})
    if not first_failure(context, update):
        return
    svc = context.application.bot_data.get("svc")
    if svc is not None and error is not None:
        try:
            await faults.report(svc, error)
        except Exception:  # the error report must never raise itself
            log.warning("could not tell the admins about an error", extra={"error_key": key})
    if isinstance(update, Update) and update.effective_chat and update.effective_chat.type == "private":
        t = getattr(context, "t", None) or context.application.bot_data["svc"].i18n.get(None)
        _ = t.gettext
        try:
            await context.bot.send_message(update.effective_chat.id,
                                           _("Sorry, something went wrong on my side. Please try again."))
        except Exception:  # the error report must never raise itself
            log.warning("could not tell the user about an error")


def register(app: Application) -> None:
    """Registered last in group 0."""
    app.add_handler(MessageHandler(filters.UpdateType.MESSAGE & filters.COMMAND, unknown_command))
    app.add_handler(MessageHandler(filters.UpdateType.MESSAGE & ~filters.TEXT, not_text))
    app.add_handler(CallbackQueryHandler(stale))
    app.add_error_handler(on_error)

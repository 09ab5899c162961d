"""/dashboard: a one-time sign-in link to the web dashboard (issue 13), for admins and active volunteers."""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, LinkPreviewOptions, Update, WebAppInfo
from telegram.ext import Application, CommandHandler

from bot import dashboard
from bot.refusal import Refused
from handlers.common import BotContext


async def dashboard_command(update: Update, context: BotContext) -> None:
    """/dashboard: the service decides who may have a link; the link is never previewed (a preview would
    open it)."""
    _ = context.t.gettext
    try:
        url = await dashboard.issue_link(context.svc, context.user.id)
    except Refused as exc:
        await update.effective_message.reply_text(_(exc.message))
        return
    app_url = dashboard.mini_app_url(context.svc, context.user.id)
    # On Telegram the pages also open inside the app (a Mini App button: no callback data, nothing to pack)
    markup = (InlineKeyboardMarkup([[InlineKeyboardButton(_("📱 Open in Telegram"), web_app=WebAppInfo(app_url))]])
              if app_url else None)
    await update.effective_message.reply_text(
        _("🔑 Your sign-in link to the dashboard. It works once, for 10 minutes. Do not forward it.\n{url}")
        .format(url=url), link_preview_options=LinkPreviewOptions(is_disabled=True), reply_markup=markup)


def register(app: Application) -> None:
    app.add_handler(CommandHandler("dashboard", dashboard_command))

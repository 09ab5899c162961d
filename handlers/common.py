"""Shared Telegram glue: the context type, the per-update gate, keyboards and replies."""

from __future__ import annotations

import logging
import re
from datetime import timedelta

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.error import BadRequest
from telegram.ext import Application, ApplicationHandlerStop, CallbackContext, ExtBot

from bot import actions as A
from bot import moderation
from bot.clock import iso
from bot.data import accounts, users
from bot.i18n import N_, Translator
from bot.services import Services
from handlers.tgbot import answering_press

log = logging.getLogger(__name__)
LAST_SEEN_EVERY = timedelta(minutes=10)  # last_seen_at is refreshed at most this often: a read, not a write


class BotContext(CallbackContext[ExtBot, dict, dict, dict]):
    """CallbackContext with the app's services and, after the gate, the user and their language."""

    user: users.UserRow
    pending: users.Arrival  # what this person's next message answers, read once per update
    t: Translator

    @property
    def svc(self) -> Services:
        return self.application.bot_data["svc"]

    @property
    def on_zalo(self) -> bool:
        """Whether this person writes from Zalo, whose Bot API brings only text, photos and stickers: no voice
        message, file, contact or location to ask them for (README "Zalo")."""
        user = getattr(self, "user", None)  # set by the gate; absent before it
        return user is not None and accounts.is_zalo(user.id)


Button = tuple[str, str]  # (label, callback data: a packed action, bot/actions.py)


def keyboard(*rows: list[Button] | None) -> InlineKeyboardMarkup:
    """The one place inline keyboards are built; empty rows are skipped."""
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(label, callback_data=data) for label, data in row] for row in rows if row]
    )


_ID = re.compile(r"-?[0-9]{1,19}")


def as_id(raw: str, *, signed: bool = False) -> int | None:
    """A number from a command argument (/admins add ID, /ban ID): ASCII digits only (str.isdigit() also
    takes '²' and other scripts' digits) and within SQLite's INTEGER range; None otherwise. Callback data
    is read by bot/actions.py."""
    if not _ID.fullmatch(raw) or (raw.startswith("-") and not signed):
        return None
    value = int(raw)
    return value if -A.MAX_ID <= value <= A.MAX_ID else None


MENU_ITEMS = (
    (N_("📚 Guides"), A.Menu("g")),
    (N_("🔎 Search"), A.Menu("s")),
    (N_("🙋 Ask for help"), A.Menu("h")),
    (N_("📍 Support points"), A.Menu("p")),
    (N_("🌐 Language"), A.Menu("l")),
)


def menu_rows(t: Translator) -> list[list[Button]]:
    """The main menu's five buttons, two to a row."""
    items = [(t.gettext(label), action.pack()) for label, action in MENU_ITEMS]
    return [items[0:2], items[2:4], items[4:5]]


def home_button(t: Translator) -> Button:
    """🏠 Main menu."""
    return (t.gettext("🏠 Main menu"), A.Home().pack())


async def show(update: Update, context: BotContext, text: str, markup: InlineKeyboardMarkup | None = None) -> None:
    """Answer a button press by editing its message in place; anything else gets a new message."""
    query = update.callback_query
    if query is not None and isinstance(query.message, Message) and query.message.text is not None:
        try:
            with answering_press():
                await query.edit_message_text(text, reply_markup=markup)
            return
        except BadRequest as exc:
            if "not modified" in str(exc):
                return
            log.info("edit failed, sending anew", extra={"error": type(exc).__name__})
    chat = update.effective_chat
    if chat is not None:
        await context.bot.send_message(chat.id, text, reply_markup=markup)


async def clear_buttons(update: Update) -> None:
    """Take the buttons off the pressed message, because a new message follows. When they are gone
    already (a double tap, a message deleted or too old to edit) there is nothing to do."""
    query = update.callback_query
    if query is None:
        return
    try:
        await query.edit_message_reply_markup(None)
    except BadRequest as exc:
        log.info("buttons not cleared", extra={"error": type(exc).__name__})


async def stale(update: Update, context: BotContext) -> None:
    """A button from an old message or forged data: say so kindly and offer the menu."""
    _ = context.t.gettext
    query = update.callback_query
    if query is not None and double_tap(update, context):
        # a double tap on a confirm button: the first tap did the work and its result is on screen;
        # replacing it with the menu would hide the request code or the campaign's progress
        await query.answer()
        return
    if query:
        await query.answer(_("This choice is out of date. Here is the menu.") if context.on_zalo
                           else _("This button is out of date. Here is the menu."))
    await show(update, context, _("What do you need? Choose an option below."), keyboard(*menu_rows(context.t)))


async def not_allowed(update: Update, context: BotContext) -> None:
    """A short refusal for a non-admin; nothing else happens."""
    _ = context.t.gettext
    text = _("Sorry, this is for admins only.")
    if update.callback_query:
        await update.callback_query.answer(text, show_alert=True)
    elif update.effective_message:
        await update.effective_message.reply_text(text)


DONE_KEPT = 1000  # confirm presses remembered per process, so a double tap is recognised


def _pressed(update: Update) -> tuple[int, int, object] | None:
    """Which button of which message a press was: (chat, message id, action)."""
    query = update.callback_query
    if query is None or query.message is None:
        return None
    return query.message.chat.id, query.message.message_id, A.parse(query.data)


def confirmed(update: Update, context: BotContext) -> None:
    """A confirm button (file the request, send the campaign, delete my data) did its work: a second tap
    on the same button of the same message is a double tap, which `stale` answers silently."""
    pressed = _pressed(update)
    if pressed is None:
        return
    done = context.application.bot_data.setdefault("confirmed", {})
    done.pop(pressed, None)
    done[pressed] = True
    while len(done) > DONE_KEPT:
        done.pop(next(iter(done)))


def double_tap(update: Update, context: BotContext) -> bool:
    """This press repeats a confirm press that already did its work (see `confirmed`)."""
    return _pressed(update) in context.application.bot_data.get("confirmed", {})


async def banned(update: Update, context: BotContext) -> None:
    """A banned person hears it once; everything after is ignored."""
    if not await moderation.owes_ban_notice(context.svc, context.user.id):
        return
    _ = context.t.gettext
    text = _("Sorry, you can no longer use this bot. If you think this is a mistake, contact your ward office.")
    chat = update.effective_chat
    if chat is not None and chat.type == chat.PRIVATE:
        await context.bot.send_message(chat.id, text)
    if update.callback_query:
        await update.callback_query.answer()


async def gate(update: Update, context: BotContext) -> None:
    """Runs before every handler: who is this, which language; private chats only.

    When the gate itself fails (the database is locked, full or gone), no later handler can work without
    the person it would have found: the failure goes to the error handler once (one apology, one report)
    and the update stops here, instead of every later group failing on its own."""
    try:
        await _admit(update, context)
    except ApplicationHandlerStop:
        raise
    except Exception as exc:
        await context.application.process_error(update, exc)
        raise ApplicationHandlerStop from exc


async def _admit(update: Update, context: BotContext) -> None:
    """The gate's work; raises ApplicationHandlerStop for what gets no answer beyond this."""
    user, chat = update.effective_user, update.effective_chat
    if user is None or chat is None or user.is_bot:
        raise ApplicationHandlerStop  # channel posts, polls, service updates: nothing to answer
    svc = context.svc
    now = svc.clock.now()
    arrival = await users.arrive(svc.db, user.id, user.first_name, user.username, iso(now),
                                 seen_before=iso(now - LAST_SEEN_EVERY))
    context.user, context.pending = arrival.user, arrival
    context.t = svc.i18n.get(context.user.locale)
    if context.user.banned and not svc.is_admin(context.user):
        await banned(update, context)
        raise ApplicationHandlerStop
    if update.callback_query is not None and not update.callback_query.data:
        # python-telegram-bot routes data-less queries to every pattern handler: stop them here
        await stale(update, context)
        raise ApplicationHandlerStop
    if chat.type != chat.PRIVATE:
        message = update.effective_message
        if message is not None and message.text and message.text.startswith("/"):
            _ = context.t.gettext
            link = f"https://t.me/{svc.settings.bot_username}"
            await message.reply_text(_("I help people one to one. Please talk to me privately: {link}")
                                     .format(link=link))
        raise ApplicationHandlerStop


def register(app: Application) -> None:
    from telegram.ext import TypeHandler

    app.add_handler(TypeHandler(Update, gate), group=-100)

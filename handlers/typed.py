"""What a message means, before any feature sees it (group -1): every choice can be tapped or typed.

Order, for a message in a private chat:
1. a command goes to its command handler;
2. a text that matches a choice on the person's newest screen (bot/screens.py) is that choice, pressed:
   the same handler runs as for the button, answering with new messages (nothing on screen is edited);
   under a list to tick, several numbers ("1 3") press each;
3. "menu", "huy" / "cancel", "English" / "Tiếng Việt" and asking for a person ("cho toi gap nguoi that")
   work everywhere outside a conversation with a volunteer;
4. a control word that fits nothing on the screen ("5" under three choices) shows the choices again;
5. the current step's free-text answer: the ask wizard, a volunteer's name, a comment, a campaign text,
   a message for the other side of a help request (but while "which request is this for?" or one of the
   bot's own questions to this person is on screen, its number or words are a choice: step 2);
6. anything else falls through to group 0: search, a shared location, "I can only read words".
"""

from __future__ import annotations

import logging

from telegram import CallbackQuery, Message, ReplyKeyboardRemove, Update
from telegram.error import TelegramError
from telegram.ext import Application, ApplicationHandlerStop, CommandHandler, ConversationHandler, MessageHandler
from telegram.ext import filters as F

from bot import actions as A
from bot import help_requests as service
from bot.data import requests as rdata
from bot.data.users import Arrival
from bot.intents import wants_human
from bot.screens import (
    AMBIGUOUS,
    CANCEL_WORDS,
    LANGUAGE_WORDS,
    MENU_WORDS,
    UNCLEAR,
    WIZARDS,
    Choice,
    Mode,
    Screen,
    by_number,
    number,
    phrase,
    several,
    wizard_of,
)
from handlers import requests, search, volunteers
from handlers.common import BotContext, keyboard, menu_rows

log = logging.getLogger(__name__)
RELAYABLE = F.PHOTO | F.VOICE | F.VIDEO | F.Document.ALL | F.AUDIO | F.ANIMATION | F.VIDEO_NOTE | F.Sticker.ALL
ATTACHABLE = F.PHOTO | F.VOICE | F.VIDEO | F.Document.ALL | F.AUDIO | F.VIDEO_NOTE


class TypedQuery(CallbackQuery):
    """A choice made by typing. The button's handler runs unchanged, but what it would show in place
    (an edit, a toast, an alert) comes as new messages below what the person typed."""

    async def answer(self, text: str | None = None, show_alert: bool | None = None, *args, **kwargs) -> bool:
        """A toast or alert, as a message; like a real answer (handlers/tgbot.py), its failure is logged and
        never stops what the choice does."""
        if text:
            try:
                await self.get_bot().send_message(self.from_user.id, text)
            except TelegramError as exc:
                log.info("typed choice not answered", extra={"error": type(exc).__name__})
                return False
        return True

    async def edit_message_text(self, text: str, *args, reply_markup=None, **kwargs):
        return await self.get_bot().send_message(self.from_user.id, text, reply_markup=reply_markup)

    async def edit_message_caption(self, caption: str | None = None, *args, reply_markup=None, **kwargs):
        if caption:
            return await self.get_bot().send_message(self.from_user.id, caption, reply_markup=reply_markup)
        return True

    async def edit_message_reply_markup(self, *args, **kwargs) -> bool:
        return True

    async def delete_message(self, *args, **kwargs) -> bool:
        return True


async def press(update: Update, context: BotContext, choice: Choice, screen_message_id: int) -> None:
    """Run `choice` through the application exactly as if its button had been pressed."""
    message = update.effective_message
    shown = Message(screen_message_id, message.date, message.chat)
    query = TypedQuery(id=f"typed:{update.update_id}", from_user=message.from_user, chat_instance=str(message.chat.id),
                       message=shown, data=choice.data)
    for obj in (shown, query):
        obj.set_bot(context.bot)
    typed = Update(update.update_id, callback_query=query)
    await context.application.process_update(typed)


def _conversation(context: BotContext) -> ConversationHandler | None:
    return context.application.bot_data.get("broadcast_conversation")


async def answer_mode(update: Update, context: BotContext) -> tuple[Mode, str | None]:
    """What the person's next free text answers here, and so how freely it may be read as a choice.

    A wizard (the ask draft, a volunteer application, a campaign) owns typed text only while its question
    is the person's newest screen: once they went to the menu or a search, the draft waits (and /ask offers
    to continue it) instead of taking what they type next."""
    pending = context.pending
    screen = pending.screen
    wizard = wizard_of(screen)
    if pending.draft_step in ("description", "phone") and (wizard == "draft" or screen is None):
        return Mode.TEXT, "draft_text"
    awaiting = pending.awaiting
    if awaiting and awaiting[0] in ("vol_name", "comment"):
        return Mode.TEXT, awaiting[0]
    conversation = _conversation(context)
    if conversation is not None and conversation.check_update(update):
        return Mode.TEXT, "broadcast_text"
    if wizard == "draft" and pending.draft_step is None:
        wizard = None  # a question of a draft that was filed or cancelled meanwhile
    if wizard == "broadcast" and "bc_draft" not in context.user_data:
        wizard = None
    if wizard is not None:
        return Mode.CHOICE, wizard
    if pending.conversations and not (awaiting and awaiting[0] == "idle"):
        return (Mode.CHOICE if asks_which_request(pending) or asks_own_question(pending.screen)
                else Mode.RELAY), "relay"
    return Mode.CHOICE, None


# The bot's own questions to one person (what a resolved request achieved, "did you do it?", the ranking
# consent): a volunteer still helping someone else, or a resident being helped, answers them by typing
# "2", "xong" or "co", and those words are for the bot, not for the other side of the conversation.
OWN_QUESTIONS = (A.OutcomeToggle, A.OutcomeNone, A.OutcomeDone, A.GuideDid, A.RankingConsent)


def asks_own_question(screen: Screen | None) -> bool:
    """The newest screen is one of the bot's own questions (OWN_QUESTIONS)."""
    return screen is not None and any(isinstance(A.parse(c.data), OWN_QUESTIONS) for c in screen.choices)


def zalo_mode(context: BotContext, text: str, screen: Screen | None, mode: Mode) -> Mode:
    """On Zalo every screen says "answer with a number" under its numbered choices, so in a conversation a
    number that a choice on screen has picks that choice (on Telegram, where choices are tapped, it is a message
    for the other side). Any other text, numbers no choice has included, is still a message for them."""
    if mode is Mode.RELAY and screen is not None and context.on_zalo:
        n = number(text)
        if n is not None and 1 <= n <= len(screen.choices):
            return Mode.CHOICE
    return mode


def asks_which_request(pending: Arrival) -> bool:
    """A message waits for "which request is this for?" and that question is on screen: a typed number
    or code answers it, instead of taking the held message's place."""
    screen = pending.screen
    return pending.holding and screen is not None and bool(screen.choices) and all(
        isinstance(A.parse(c.data), A.RelayTo | A.RelaySecret) for c in screen.choices)


async def route(update: Update, context: BotContext) -> None:
    """The one place that decides what a person's message means (see the module docstring)."""
    message = update.effective_message
    if message is None or update.effective_chat.type != "private":
        return
    text = message.text
    if text is not None and text.startswith("/"):
        return
    mode, consumer = await answer_mode(update, context)
    screen = context.pending.screen
    listed = several(text, screen) if text is not None and mode is Mode.CHOICE else None
    if listed is not None:
        for choice in listed:  # "1 3" under a list to tick: each, as if tapped one after the other
            await press(update, context, choice, screen.message_id)
        if not listed:  # "1 9" under seven: the choices again, not a search
            await show_again(update, context, screen)
        raise ApplicationHandlerStop
    if text is not None:
        verdict = context.svc.vocab.match(text, screen, zalo_mode(context, text, screen, mode))
        if isinstance(verdict, Choice):
            await press(update, context, verdict, screen.message_id if screen else message.message_id)
            raise ApplicationHandlerStop
        if verdict is AMBIGUOUS:
            await show_again(update, context, screen)
            raise ApplicationHandlerStop
        if await global_word(update, context, text, mode, consumer):
            raise ApplicationHandlerStop
        if consumer in WIZARDS or verdict is UNCLEAR:
            await show_again(update, context, screen)
            raise ApplicationHandlerStop
    if consumer == "draft_text" or (consumer == "draft" and (ATTACHABLE | F.CONTACT).check_update(update)):
        draft = await rdata.get_draft(context.svc.db, context.user.id)
        if draft is not None:
            await requests.answer_draft(update, context, draft)
            raise ApplicationHandlerStop
    if consumer == "vol_name" and text is not None:
        await volunteers.name_typed(update, context)
        raise ApplicationHandlerStop
    if consumer == "comment" and text is not None:
        await requests.comment_typed(update, context)
        raise ApplicationHandlerStop
    if consumer == "broadcast_text":
        return  # the campaign conversation in group 0 takes it
    if (text is not None or RELAYABLE.check_update(update)) and await requests.relay_message(update, context):
        raise ApplicationHandlerStop


async def global_word(update: Update, context: BotContext, text: str, mode: Mode, consumer: str | None) -> bool:
    """Menu, cancel and language words, and asking for a person, where no choice on the screen took them."""
    said = phrase(text)
    if said in MENU_WORDS:
        await go_home(update, context)
        return True
    if mode is Mode.RELAY:
        return False  # "ok", "huy", "English" may be words for the volunteer
    if said in CANCEL_WORDS:
        await cancel_anything(update, context)
        return True
    if mode is Mode.CHOICE and consumer != "draft" and wants_human(text):  # in the ask wizard they are asking
        await search.reach_people(update, context)
        return True
    for lang, words in LANGUAGE_WORDS.items():
        if said in words and mode is Mode.CHOICE:
            await press(update, context, Choice(lang, A.SetLanguage(lang).pack()), update.effective_message.message_id)
            return True
    return False


async def go_home(update: Update, context: BotContext) -> None:
    await press(update, context, Choice("menu", A.Home().pack()), update.effective_message.message_id)


async def cancel_anything(update: Update, context: BotContext) -> None:
    """/cancel or a typed "huy": end the step in progress (the ask draft, a prompt, messages waiting for
    "which request?"); a help request already sent stays (/myrequests cancels it)."""
    svc, uid = context.svc, context.user.id
    _ = context.t.gettext
    pending = context.pending
    unsent = await service.take_unsent(svc, uid)
    await service.cancel_draft(svc, uid)
    await rdata.clear_awaiting_kinds(svc.db, uid, ("vol_name", "comment"))
    prompt = pending.awaiting is not None and pending.awaiting[0] in ("vol_name", "comment")
    busy = pending.draft_step is not None or bool(unsent) or prompt
    menu = _("What do you need? Choose an option below.")
    if pending.draft_step == "phone":  # take the phone keyboard away too
        await update.effective_message.reply_text(_("Cancelled. Nothing was sent."), reply_markup=ReplyKeyboardRemove())
        await update.effective_message.reply_text(menu, reply_markup=keyboard(*menu_rows(context.t)))
        return
    text = (_("Cancelled. Nothing was sent.") + "\n" + menu) if busy else menu
    await update.effective_message.reply_text(text, reply_markup=keyboard(*menu_rows(context.t)))


async def cancel_command(update: Update, context: BotContext) -> None:
    """/cancel outside a campaign conversation (which has its own)."""
    await cancel_anything(update, context)


async def show_again(update: Update, context: BotContext, screen: Screen | None) -> None:
    """A word or number that fits nothing on screen: the same choices again, numbered as typed."""
    _ = context.t.gettext
    if screen is None or not screen.choices:
        await update.effective_message.reply_text(
            _("Sorry, I did not understand. What do you need? Choose an option below."),
            reply_markup=keyboard(*menu_rows(context.t)))
        return
    # The numbers that pick a choice here (not reopening under the stars, say): the first n, when they lead.
    pickable = [by_number(A.parse(c.data), Mode.CHOICE) for c in screen.choices]
    n = pickable.index(False) if False in pickable else len(pickable)
    if n > 1:
        text = _("Sorry, I did not understand. Please choose one below, or type its number (1 to {n}).").format(n=n)
    elif n == 1 and not context.on_zalo:
        text = _("Sorry, I did not understand. Please tap the button below, or type 1.")
    else:  # Zalo has no button to tap: its lines below say what to type
        text = _("Sorry, I did not understand. Please choose an option below.")
    if wizard_of(screen) == "draft" and (draft := await rdata.get_draft(context.svc.db, context.user.id)):
        await update.effective_message.reply_text(text)
        await requests.render(update, context, draft)  # the wizard's question itself, fresh below
        return
    await update.effective_message.reply_text(text, reply_markup=keyboard(*[[(c.label, c.data)]
                                                                            for c in screen.choices]))


def register(app: Application) -> None:
    app.add_handler(MessageHandler(F.UpdateType.MESSAGE & F.ChatType.PRIVATE, route), group=-1)


def register_cancel(app: Application) -> None:
    """After the campaign conversation, whose own /cancel comes first while it is open."""
    app.add_handler(CommandHandler("cancel", cancel_command))

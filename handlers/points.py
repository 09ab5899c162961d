"""Support points: by ward, or the three nearest to a shared location."""

from __future__ import annotations

from telegram import KeyboardButton, ReplyKeyboardMarkup, ReplyKeyboardRemove, Update
from telegram.ext import Application, CallbackQueryHandler, MessageHandler, filters

from bot import actions as A
from bot.content import SupportPoint
from handlers.common import BotContext, home_button, keyboard, show, stale


def describe(context: BotContext, point: SupportPoint, km: float | None = None) -> str:
    """One support point: name (and distance), address, hours, services, and whether it is confirmed."""
    _ = context.t.gettext
    locale = context.t.locale
    lines = [f"📍 {point.name.get(locale)}"]
    if km is not None:
        lines[0] += " " + _("({km} km away)").format(km=context.t.number(round(km, 1)))
    lines += [point.address, "🕘 " + point.hours.get(locale), point.services.get(locale)]
    if not point.verified:
        lines.append(_("⚠️ Not yet confirmed: please check before going."))
    return "\n".join(lines)


async def wards(update: Update, context: BotContext) -> None:
    """The 📍 button (A.Menu("p")): pick a ward, or find the nearest point."""
    _ = context.t.gettext
    locale = context.t.locale
    rows = [[(w.name.get(locale), A.PointsInWard(w.id).pack())] for w in context.svc.content.wards.values()]
    await show(update, context, _("📍 Support points help you in person.\nChoose your ward, or find the nearest one."),
               keyboard(*rows, [(_("📍 Nearest to me"), A.PointsNear().pack())], [home_button(context.t)]))
    if update.callback_query:
        await update.callback_query.answer()


async def in_ward(update: Update, context: BotContext) -> None:
    """A.PointsInWard lists that ward's points; A.PointsNear asks for the location."""
    action = A.parse(update.callback_query.data)
    _ = context.t.gettext
    if isinstance(action, A.PointsNear):
        await update.callback_query.answer()
        button = KeyboardButton(_("📍 Send my location"), request_location=True)
        await context.bot.send_message(
            update.effective_chat.id,
            _("Tap “📍 Send my location” below. I will show the three nearest support points."),
            reply_markup=ReplyKeyboardMarkup([[button]], resize_keyboard=True, one_time_keyboard=True))
        return
    ward = context.svc.content.wards.get(action.ward) if isinstance(action, A.PointsInWard) else None
    if ward is None:
        await stale(update, context)
        return
    points = [p for p in context.svc.content.points.values() if p.ward == ward.id]
    text = "\n\n".join(describe(context, p) for p in points) or _("No support point is listed for this ward yet.")
    await show(update, context, text, keyboard([(_("↩ Wards"), A.Menu("p").pack()), home_button(context.t)]))
    await update.callback_query.answer()


async def nearest(update: Update, context: BotContext) -> None:
    """A shared location: the three nearest support points with their distance."""
    loc = update.effective_message.location
    _ = context.t.gettext
    found = context.svc.content.nearest_points(loc.latitude, loc.longitude, 3)
    text = _("📍 The support points nearest to you:") + "\n\n" + "\n\n".join(
        describe(context, p, km) for p, km in found)
    await update.effective_message.reply_text(text, reply_markup=ReplyKeyboardRemove())


def register(app: Application) -> None:
    app.add_handler(CallbackQueryHandler(wards, pattern=A.exactly(A.Menu("p"))))
    app.add_handler(CallbackQueryHandler(in_ward, pattern=A.any_of(A.PointsNear, A.PointsInWard)))
    app.add_handler(MessageHandler(filters.UpdateType.MESSAGE & filters.LOCATION, nearest))

"""Admin commands: /admins, /stats and /export. Every one checks the role server-side first."""

from __future__ import annotations

import math

from telegram import InputFile, Update
from telegram.ext import Application, CommandHandler

from bot import admins, commands, stats
from bot.refusal import Refused
from handlers import outcomes
from handlers.common import BotContext, as_id, not_allowed


def is_admin(context: BotContext) -> bool:
    return context.svc.is_admin(context.user)


async def admins_command(update: Update, context: BotContext) -> None:
    """/admins, /admins add ID, /admins remove ID"""
    if not is_admin(context):
        await not_allowed(update, context)
        return
    _ = context.t.gettext
    svc, message = context.svc, update.effective_message
    args = context.args or []
    if args and args[0] in ("add", "remove") and len(args) == 2 and as_id(args[1], signed=True) is not None:
        target = as_id(args[1], signed=True)
        try:
            await admins.change(svc, context.user, target, args[0] == "add")
        except Refused as exc:
            await message.reply_text(_(exc.message).format(id=target))
            return
        await commands.sync(svc, target)
        text = _("Done: {id} is now an admin.") if args[0] == "add" else _("Done: {id} is no longer an admin.")
        await message.reply_text(text.format(id=target))
        return
    if args:
        await message.reply_text(_("Use /admins to list, /admins add ID or /admins remove ID."))
        return
    lines = [_("👮 Admins:")]
    for entry in await admins.listing(svc):
        name = entry.name or _("(not started yet)")
        note = _("from settings") if entry.from_settings else _("added in chat")
        lines.append(f"• {name} · {entry.id} · {note}")
    lines += ["", _("Use /admins add ID or /admins remove ID.")]
    await message.reply_text("\n".join(lines))


def _duration(context: BotContext, seconds: float | None) -> str:
    _ = context.t.gettext
    if seconds is None:
        return "—"
    minutes = math.ceil(seconds / 60)
    if minutes < 120:
        return _("{n} min").format(n=context.t.number(minutes))
    return _("{n} h").format(n=context.t.number(round(seconds / 3600, 1)))


def _period_lines(context: BotContext, period: stats.Period) -> list[str]:
    _ = context.t.gettext
    t, svc = context.t, context.svc

    def title(gid: str) -> str:
        guide = svc.guide(gid)
        return guide.title.get(t.locale) if guide else gid

    lines = [_("New residents: {n}").format(n=t.number(period.new_residents))]
    lines.append(_("Guides viewed most:"))
    lines += [f"  {i}. {title(g)} · {t.number(n)}" for i, (g, n) in enumerate(period.top_guides, 1)] or ["  —"]
    lines.append(_("Rated not helpful:"))
    lines += [f"  • {title(g)} · {t.number(n)}" for g, n in period.unhelpful] or ["  —"]
    lines.append(_("Searches with no result:"))
    lines += [f"  • “{q}” · {t.number(n)}" for q, n in period.empty_searches] or ["  —"]
    r = period.requests
    lines.append(_("Help requests: {filed} filed, {claimed} claimed, {resolved} resolved, {open} open now")
                 .format(filed=t.number(r.filed), claimed=t.number(r.claimed), resolved=t.number(r.resolved),
                         open=t.number(r.open)))
    if r.oldest_open_at is not None:
        age = (svc.clock.now() - r.oldest_open_at).total_seconds()
        lines.append(_("Oldest open request: waiting {age}").format(age=_duration(context, age)))
    lines.append(_("Median time to claim: {claim} · to resolve: {resolve}")
                 .format(claim=_duration(context, r.median_claim_s),
                         resolve=_duration(context, r.median_resolve_s)))
    rating = "—" if r.average_rating is None else t.number(round(r.average_rating, 1))
    lines.append(_("Average rating: {rating}").format(rating=rating))
    if r.per_ward:
        lines.append(_("Per ward (filed / resolved / open):"))
        lines += [f"  • {stats.ward_name(svc, t, w)}: {t.number(f)} / {t.number(res)} / {t.number(o)}"
                  for w, f, res, o in r.per_ward[:10]]
    return lines


async def stats_command(update: Update, context: BotContext) -> None:
    """/stats: the last 7 days and all time, then one chart."""
    if not is_admin(context):
        await not_allowed(update, context)
        return
    _ = context.t.gettext
    report = await stats.report(context.svc)
    lines = [_("📊 Last 7 days"), *_period_lines(context, report.week), "",
             _("📊 All time"), *_period_lines(context, report.all_time), "",
             *await outcomes.stats_section(context)]  # pledges and progress (issue 16)
    await update.effective_message.reply_text("\n".join(lines)[:4096])
    png = await stats.chart_png(context.svc, context.t)
    await context.bot.send_photo(update.effective_chat.id, InputFile(png, filename="stats.png"),
                                 caption=_("📈 The last 7 days"))


async def export_command(update: Update, context: BotContext) -> None:
    """/export (no names or phone numbers) or /export contacts (audited)."""
    if not is_admin(context):
        await not_allowed(update, context)
        return
    _ = context.t.gettext
    contacts = bool(context.args) and context.args[0].lower() == "contacts"
    result = await stats.export_csv(context.svc, context.user, contacts)
    if result is None:
        await not_allowed(update, context)
        return
    name, body = result
    caption = (_("Includes names and contacts. Keep it safe and delete it when done.") if contacts
               else _("No names or phone numbers."))
    await context.bot.send_document(update.effective_chat.id, InputFile(body, filename=name), caption=caption)


def register(app: Application) -> None:
    app.add_handler(CommandHandler("admins", admins_command))
    app.add_handler(CommandHandler("stats", stats_command))
    app.add_handler(CommandHandler("export", export_command))

"""Outcomes after a resolve and at a guide's end; /targets, /progress, /report, /certificate, /ranking."""

from __future__ import annotations

from datetime import date

from telegram import InputFile, Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from bot import actions as A
from bot import outcomes as service
from bot import reports
from bot.content import Guide
from bot.data.outcomes import TargetRow
from bot.data.requests import RequestRow
from bot.i18n import N_
from bot.refusal import Refused
from handlers.common import BotContext, Button, home_button, keyboard, not_allowed, show, stale

EXAMPLE = "/targets Bến Thành | vneid-level2 | 500 | 31/12/2026"
PICK_HINT = N_("What did the resident get done? Tap each one, then “✅ Done”. It is counted for the ward, "
               "without names.")
PICK_HINT_TYPED = N_("What did the resident get done? Type the number of each one, then the number of “✅ Done”. "
                     "It is counted for the ward, without names.")  # Zalo: nothing to tap


# --- after resolving: what was achieved -----------------------------------------------------------
def picker_rows(context: BotContext, request: RequestRow, ticked: set[str]) -> list[list[Button]]:
    _ = context.t.gettext
    rows = [[(("☑ " if o.id in ticked else "▫️ ") + o.name.get(context.t.locale),
              A.OutcomeToggle(request.id, o.id).pack())] for o in service.for_topic(context.svc, request.topic)]
    rows.append([(_("🚫 Nothing to count"), A.OutcomeNone(request.id).pack())])
    rows.append([(_("✅ Done"), A.OutcomeDone(request.id).pack())])
    return rows


async def show_picker(update: Update, context: BotContext, request: RequestRow, ticked: set[str],
                      head: str | None = None) -> None:
    """The resolved message, with the outcome question under it (the request is already resolved)."""
    _ = context.t.gettext
    if not context.svc.content.outcomes:
        if head:
            await show(update, context, head)
        return
    text = (head + "\n\n" if head else f"✅ {request.code}\n") + _(PICK_HINT_TYPED if context.on_zalo else PICK_HINT)
    await show(update, context, text, keyboard(*picker_rows(context, request, ticked)))


async def outcome_button(update: Update, context: BotContext) -> None:
    """OutcomeToggle / OutcomeNone / OutcomeDone: only the volunteer who resolved the request."""
    query = update.callback_query
    action = A.parse(query.data)
    svc, uid, t = context.svc, context.user.id, context.t
    _ = t.gettext
    try:
        match action:
            case A.OutcomeToggle(request=request_id, outcome=outcome_id):
                request, ticked = await service.toggle(svc, request_id, uid, outcome_id)
                await query.answer()
                await show_picker(update, context, request, ticked,
                                  _("✅ {code}: resolved. Thank you for helping!").format(code=request.code))
            case A.OutcomeNone(request=request_id):
                request = await service.clear(svc, request_id, uid)
                await query.answer()
                await show(update, context, _("✅ {code}: resolved, nothing to count. Thank you for helping!")
                           .format(code=request.code))
            case A.OutcomeDone(request=request_id):
                request, ticked = await service.chosen(svc, request_id, uid)
                await query.answer()
                names = [o.name.get(t.locale) for o in svc.content.outcomes.values() if o.id in ticked]
                text = (_("✅ {code}: resolved. Counted for the ward: {outcomes}. Thank you for helping!")
                        .format(code=request.code, outcomes="; ".join(names)) if names else
                        _("✅ {code}: resolved, nothing to count. Thank you for helping!").format(code=request.code))
                await show(update, context, text)
            case _:
                await stale(update, context)
    except Refused as exc:
        await query.answer(_(exc.message), show_alert=True)


# --- at a guide's end: "Did you do it?" -----------------------------------------------------------
async def guide_question(context: BotContext, guide: Guide) -> tuple[str, list[Button]] | None:
    """The one optional question after 👍, when the guide records an outcome the resident has not yet
    reported: (text, buttons)."""
    outcome = await service.guide_question_due(context.svc, context.user.id, guide.id)
    if outcome is None:
        return None
    _ = context.t.gettext
    text = _("Did you do it: {outcome}?").format(outcome=outcome.name.get(context.t.locale))
    return text, [(_("✅ Yes, I did it"), A.GuideDid(guide.id, "1").pack()),
                  (_("⏳ Not yet"), A.GuideDid(guide.id, "0").pack())]


async def guide_did(update: Update, context: BotContext) -> None:
    """A.GuideDid: "yes" counts the guide's outcome for the resident's ward (once); "not yet" counts nothing."""
    query = update.callback_query
    action = A.parse(query.data)
    guide = context.svc.guide(action.guide) if isinstance(action, A.GuideDid) else None
    if guide is None:
        await stale(update, context)
        return
    _ = context.t.gettext
    await query.answer()
    if action.did == "1":
        await service.record_guide(context.svc, context.user.id, guide.id)
        text = _("🎉 Well done! It is counted for your ward, without your name.")
        rows = [[(_("📚 Other guides"), A.Menu("g").pack()), home_button(context.t)]]
    else:
        text = _("No problem. Do it when you are ready. A volunteer can help you.")
        rows = [[(_("🙋 Ask for help"), A.AskAbout(guide.id).pack())],
                [(_("📚 Other guides"), A.Menu("g").pack()), home_button(context.t)]]
    await show(update, context, text, keyboard(*rows))


# --- admins: targets, progress ---------------------------------------------------------------------
def _args_text(update: Update) -> str:
    text = update.effective_message.text or ""
    return text.split(maxsplit=1)[1].strip() if len(text.split(maxsplit=1)) == 2 else ""


def _day(d: date) -> str:
    """Dates as residents and officers write them: 31/12/2026."""
    return d.strftime("%d/%m/%Y")


def target_line(context: BotContext, row: TargetRow) -> str:
    _ = context.t.gettext
    svc, t = context.svc, context.t
    return _("{ward} · {outcome}: {target} from {starts} to {ends}").format(
        ward=service.ward_label(svc, t, row.ward), outcome=service.outcome_name(svc, t, row.outcome),
        target=t.number(row.target), starts=_day(date.fromisoformat(row.starts)),
        ends=_day(date.fromisoformat(row.ends)))


async def targets_command(update: Update, context: BotContext) -> None:
    """/targets: list (with remove buttons); /targets WARD | OUTCOME | NUMBER | LAST DAY [| FIRST DAY] sets one."""
    if not context.svc.is_admin(context.user):
        await not_allowed(update, context)
        return
    _ = context.t.gettext
    svc, message = context.svc, update.effective_message
    line = _args_text(update)
    if line:
        try:
            spec, _id = await service.set_target(svc, context.user, line)
        except service.BadTarget as exc:
            reason = _(exc.message).format(**exc.values, wards=service.ward_names(svc, context.t))
            await message.reply_text(reason + "\n" + _("For example:") + "\n" + EXAMPLE)
            return
        await message.reply_text(_("🎯 Saved: {ward} · {outcome}: {target} from {starts} to {ends}.").format(
            ward=service.ward_label(svc, context.t, spec.ward), outcome=service.outcome_name(svc, context.t,
                                                                                            spec.outcome),
            target=context.t.number(spec.target), starts=_day(spec.starts),
            ends=_day(spec.ends)) + "\n" + _("See how it goes with /progress."))
        return
    await show_targets(update, context)


async def show_targets(update: Update, context: BotContext) -> None:
    _ = context.t.gettext
    try:
        rows = await service.targets(context.svc, context.user)
    except Refused:
        await not_allowed(update, context)
        return
    lines = [_("🎯 Targets:")] if rows else [_("No targets yet.")]
    buttons = []
    for n, row in enumerate(rows, 1):
        lines.append(f"{n}. " + target_line(context, row))
        buttons.append([(_("🗑 Remove target {n}").format(n=n), A.TargetRemove(row.id).pack())])
    lines += ["", _("To set one, write ward | outcome | number | last day, for example:"), EXAMPLE,
              _("Outcomes (write the code or the name):")]
    lines += [f"• {o.id}: {o.name.get(context.t.locale)}" for o in context.svc.content.outcomes.values()]
    await show(update, context, "\n".join(lines), keyboard(*buttons) if buttons else None)


async def target_button(update: Update, context: BotContext) -> None:
    """A.TargetRemove: admins only, re-checked here."""
    query = update.callback_query
    action = A.parse(query.data)
    _ = context.t.gettext
    if not isinstance(action, A.TargetRemove):
        await stale(update, context)
        return
    try:
        removed = await service.remove_target(context.svc, context.user, action.target)
    except Refused as exc:
        await query.answer(_(exc.message), show_alert=True)
        return
    await query.answer(_("Target removed.") if removed else _("That target was already removed."))
    await show_targets(update, context)


async def progress_lines(context: BotContext, items: list[service.Progress], weekly: service.Trend) -> list[str]:
    """Each target ranked (done / target, share, days left) and outcomes per ward per week."""
    _ = context.t.gettext
    svc, t = context.svc, context.t
    lines = [_("🏁 Progress against targets:")]
    for n, p in enumerate(items, 1):
        when = (_("{n} days left").format(n=t.number(p.days_left)) if p.days_left > 0 else
                _("last day today") if p.days_left == 0 else
                _("ended {day}").format(day=_day(date.fromisoformat(p.target.ends))))
        lines.append(f"{n}. {service.ward_label(svc, t, p.target.ward)} · "
                     f"{service.outcome_name(svc, t, p.target.outcome)}: {t.number(p.done)}/"
                     f"{t.number(p.target.target)} ({t.number(round(p.share * 100))}%) · {when}")
    if not items:
        lines += [_("No targets yet. Set one like this:"), EXAMPLE]
    lines.append(_("📈 Outcomes per week (the last {n} weeks, this week last):").format(n=len(weekly.weeks)))
    for ward, counts in sorted(weekly.per_ward.items()):
        lines.append(f"  • {service.ward_label(svc, t, ward)}: " + " · ".join(t.number(c) for c in counts))
    if not weekly.per_ward:
        lines.append("  —")
    return lines


async def progress_command(update: Update, context: BotContext) -> None:
    """/progress: ranked progress, weekly trend, then the chart."""
    _ = context.t.gettext
    svc = context.svc
    try:
        items = await service.progress(svc, context.user)
    except Refused:
        await not_allowed(update, context)
        return
    weekly = await service.trend(svc)
    await update.effective_message.reply_text("\n".join(await progress_lines(context, items, weekly))[:4096])
    png = await service.chart_png(svc, context.t, items, weekly)
    await context.bot.send_photo(update.effective_chat.id, InputFile(png, filename="progress.png"),
                                 caption=_("📈 Progress against targets"))


async def stats_section(context: BotContext) -> list[str]:
    """The progress part of /stats (admins only: refused for anyone else)."""
    items = await service.progress(context.svc, context.user)
    return await progress_lines(context, items, await service.trend(context.svc))


# --- admins: report, certificate, ranking ------------------------------------------------------------
async def _month_and_rest(update: Update, context: BotContext) -> tuple[date, list[str]] | None:
    """The command's month (default: this month) and its other words; None, having said how to write the
    month, when it cannot be read."""
    try:
        month, rest = service.month_and_rest(context.args or [])
    except Refused as exc:
        await update.effective_message.reply_text(context.t.gettext(exc.message))
        return None
    return month or service.today(context.svc).replace(day=1), rest


async def report_command(update: Update, context: BotContext) -> None:
    """/report [YYYY-MM] [ward]: the month's one-page A4 report as a PDF."""
    if not context.svc.is_admin(context.user):
        await not_allowed(update, context)
        return
    _ = context.t.gettext
    if (asked := await _month_and_rest(update, context)) is None:
        return
    month, rest = asked
    ward = None
    if rest:
        found = service.find_ward(context.svc.content.wards, " ".join(rest))
        if found is None:
            await update.effective_message.reply_text(_(service.NO_WARD).format(
                text=service.quoted(" ".join(rest)), wards=service.ward_names(context.svc, context.t)))
            return
        ward = found.id
    name, pdf = await reports.report_for(context.svc, context.user, context.t, month, ward)
    await context.bot.send_document(update.effective_chat.id, InputFile(pdf, filename=name),
                                    caption=_("📄 Report for {month}").format(month=month.strftime("%m/%Y")))


async def certificate_command(update: Update, context: BotContext) -> None:
    """/certificate ID [YYYY-MM] (a volunteer) or /certificate WARD [YYYY-MM] (its team): PNG and PDF."""
    if not context.svc.is_admin(context.user):
        await not_allowed(update, context)
        return
    _ = context.t.gettext
    svc, message = context.svc, update.effective_message
    if (asked := await _month_and_rest(update, context)) is None:
        return
    month, rest = asked
    if not rest:
        await message.reply_text(_("Write whom to thank: /certificate followed by a volunteer's number (see "
                                   "/ranking) or a ward, and a month if you like. For example:\n"
                                   "/certificate 2001 2026-10\n/certificate Bến Thành 2026-10"))
        return
    try:
        made = await reports.certificate(svc, context.user, " ".join(rest), month)
    except Refused as exc:
        await message.reply_text(_(exc.message).format(**getattr(exc, "values", {})))
        return
    for file_name, body in ((made.name + ".png", made.png), (made.name + ".pdf", made.pdf)):
        await context.bot.send_document(update.effective_chat.id, InputFile(body, filename=file_name))
    await message.reply_text(_("🏅 Certificate of thanks for {who}, {month}: print it, or send it on.").format(
        who=made.who, month=month.strftime("%m/%Y")))


async def ranking_command(update: Update, context: BotContext) -> None:
    """/ranking: admins see consenting volunteers ranked for a month; a volunteer decides whether to be shown."""
    _ = context.t.gettext
    svc, t = context.svc, context.t
    if not svc.is_admin(context.user):
        await ask_consent(update, context, quiet=False)
        return
    if (asked := await _month_and_rest(update, context)) is None:
        return
    month = asked[0]
    shown, hidden = await service.ranking(svc, context.user, service.month_of(month, svc.settings.tz))
    lines = [_("🏅 Volunteers in {month} (only those who agreed to be shown):").format(
        month=month.strftime("%m/%Y"))]
    for n, f in enumerate(shown, 1):
        rating = "—" if f.rating is None else t.number(round(f.rating, 1))
        lines.append(_("{n}. {name} ({id}) · {helped} helped · {outcomes} outcomes · {rating} ⭐").format(
            n=n, name=f.name, id=f.volunteer_id, helped=t.number(f.helped), outcomes=t.number(f.outcomes),
            rating=rating))
    if not shown:
        lines.append("—")
    if hidden:
        lines.append(_("{n} more volunteers helped but did not agree to be shown.").format(n=t.number(hidden)))
    if shown:  # the numbers to write are on the list
        lines.append(_("Thank one of them: /certificate NUMBER {month}").format(month=month.strftime("%Y-%m")))
    await update.effective_message.reply_text("\n".join(lines)[:4096])
    await ask_consent(update, context, quiet=True)  # an admin who volunteers decides for themselves too


async def ask_consent(update: Update, context: BotContext, *, quiet: bool) -> None:
    """A volunteer's own choice about the ranking, with the two buttons; for someone who is no volunteer,
    a short refusal (or nothing, when `quiet`)."""
    _ = context.t.gettext
    try:
        consent = await service.ranking_consent(context.svc, context.user.id)
    except Refused as exc:
        if not quiet:
            await update.effective_message.reply_text(_(exc.message))
        return
    state = _("Now: your name is shown to admins.") if consent else _("Now: your name is not shown.")
    await update.effective_message.reply_text(_(service.RANKING_QUESTION) + "\n" + state,
                                              reply_markup=keyboard(*service.consent_buttons(context.t)))


async def consent_button(update: Update, context: BotContext) -> None:
    """A.RankingConsent: recorded like every consent; only volunteers."""
    query = update.callback_query
    action = A.parse(query.data)
    _ = context.t.gettext
    if not isinstance(action, A.RankingConsent):
        await stale(update, context)
        return
    try:
        await service.set_ranking_consent(context.svc, context.user.id, action.granted == "1")
    except Refused as exc:
        await query.answer(_(exc.message), show_alert=True)
        return
    await query.answer()
    await show(update, context, _("Thank you. Admins will see your name in the ranking.") if action.granted == "1"
               else _("All right. Your name will not be shown in the ranking."), keyboard([home_button(context.t)]))


def register(app: Application) -> None:
    app.add_handler(CallbackQueryHandler(outcome_button, pattern=A.any_of(A.OutcomeToggle, A.OutcomeNone,
                                                                          A.OutcomeDone)))
    app.add_handler(CallbackQueryHandler(guide_did, pattern=A.GuideDid.filter))
    app.add_handler(CallbackQueryHandler(target_button, pattern=A.family(A.TargetRemove)))
    app.add_handler(CallbackQueryHandler(consent_button, pattern=A.RankingConsent.filter))
    for name, callback in (("targets", targets_command), ("progress", progress_command), ("report", report_command),
                           ("certificate", certificate_command), ("ranking", ranking_command)):
        app.add_handler(CommandHandler(name, callback))

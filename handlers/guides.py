"""Browsing guides: categories → guides (paged) → one step per message, edited in place."""

from __future__ import annotations

from telegram import InputFile, Update
from telegram.ext import Application, CallbackQueryHandler

from bot import actions as A
from bot.content import Guide
from bot.data import guides as guide_data
from handlers import outcomes
from handlers.common import BotContext, Button, clear_buttons, home_button, keyboard, show, stale

PAGE_SIZE = 8


def topic_rows(context: BotContext) -> list[list[Button]]:
    """One button per topic, each opening its first page of guides."""
    locale = context.t.locale
    return [[(f"{c.emoji} {c.name.get(locale)}", A.Category(c.id, 0).pack())]
            for c in context.svc.content.categories.values()]


async def categories(update: Update, context: BotContext) -> None:
    """The 📚 button (A.Menu("g")): every topic."""
    _ = context.t.gettext
    await show(update, context, _("📚 Choose a topic:"), keyboard(*topic_rows(context), [home_button(context.t)]))
    if update.callback_query:
        await update.callback_query.answer()


async def category(update: Update, context: BotContext) -> None:
    """A.Category: the guides of one topic, eight to a page."""
    query = update.callback_query
    action = A.parse(query.data)
    cat = context.svc.content.categories.get(action.category) if isinstance(action, A.Category) else None
    if cat is None:
        await stale(update, context)
        return
    _ = context.t.gettext
    locale = context.t.locale
    items = context.svc.content.guides_in(cat.id)
    pages = max(1, -(-len(items) // PAGE_SIZE))
    n = min(action.page, pages - 1)
    rows = [[(g.title.get(locale), A.GuideOpen(g.id).pack())] for g in items[n * PAGE_SIZE:(n + 1) * PAGE_SIZE]]
    nav: list[Button] = []
    if n > 0:
        nav.append((_("◀ Back"), A.Category(cat.id, n - 1).pack()))
    if n + 1 < pages:
        nav.append((_("Next ▶"), A.Category(cat.id, n + 1).pack()))
    text = f"{cat.emoji} {cat.name.get(locale)}\n" + _("Choose a guide:")
    if pages > 1:
        text += "\n" + _("Page {page} of {pages}").format(page=n + 1, pages=pages)
    await show(update, context, text,
               keyboard(*rows, nav, [(_("↩ Topics"), A.Menu("g").pack()), home_button(context.t)]))
    await query.answer()


def step_text(context: BotContext, guide: Guide, index: int) -> str:
    _ = context.t.gettext
    locale = context.t.locale
    step = guide.steps[index]
    lines = [f"📚 {guide.title.get(locale)}",
             _("Step {n} of {total}").format(n=index + 1, total=len(guide.steps)), "", step.text.get(locale)]
    if step.warning:
        lines += ["", "⚠️ " + step.warning.get(locale)]
    return "\n".join(lines)


def step_markup(context: BotContext, guide: Guide, index: int):
    """A step's buttons. Forward (Next, or Done on the last step) is always the first button, so tapping
    the same spot again and again walks through the guide; Back comes after it."""
    _ = context.t.gettext
    last = index + 1 == len(guide.steps)
    nav: list[Button] = [(_("✅ Done"), A.GuideDone(guide.id).pack()) if last
                         else (_("Next ▶"), A.GuideStep(guide.id, index + 1).pack())]
    if index > 0:
        nav.append((_("◀ Back"), A.GuideStep(guide.id, index - 1).pack()))
    return keyboard(nav, [(_("🙋 Still stuck? Ask a volunteer"), A.AskAbout(guide.id).pack())],
                    [home_button(context.t)])


async def open_guide(update: Update, context: BotContext, guide: Guide) -> None:
    """Step 1 of a guide, as a new message (from a deep link) or in place (from a button)."""
    svc = context.svc
    await guide_data.record_view(svc.db, guide.id, context.user.id, svc.now())
    await render_step(update, context, guide, 0)


async def render_step(update: Update, context: BotContext, guide: Guide, index: int) -> None:
    step = guide.steps[index]
    if step.image is None:
        await show(update, context, step_text(context, guide, index), step_markup(context, guide, index))
        return
    # A picture step cannot replace a text message in place: send it, and clear the old buttons.
    await clear_buttons(update)
    with step.image.open("rb") as f:
        await context.bot.send_photo(update.effective_chat.id, InputFile(f, filename=step.image.name),
                                     caption=step_text(context, guide, index)[:1024],
                                     reply_markup=step_markup(context, guide, index))


async def step(update: Update, context: BotContext) -> None:
    """A.GuideOpen starts a guide (and counts a view); A.GuideStep steps; A.GuideDone asks whether it helped."""
    query = update.callback_query
    action = A.parse(query.data)
    guide = context.svc.guide(action.guide) if isinstance(action, A.GuideOpen | A.GuideStep | A.GuideDone) else None
    if guide is None or (isinstance(action, A.GuideStep) and action.index >= len(guide.steps)):
        await stale(update, context)
        return
    await query.answer()
    match action:
        case A.GuideDone():
            _ = context.t.gettext
            text = _("🎉 You finished: {title}.\nDid this guide help you?").format(
                title=guide.title.get(context.t.locale))
            # 👍 first: whoever keeps tapping where "Next ▶" was must not file a 👎 by accident.
            await show(update, context, text, keyboard(
                [(_("👍 Helpful"), A.GuideFeedback(guide.id, "1").pack()),
                 (_("👎 Not helpful"), A.GuideFeedback(guide.id, "0").pack())],
                [(_("🙋 Still stuck? Ask a volunteer"), A.AskAbout(guide.id).pack())],
                [(_("📚 Other guides"), A.Menu("g").pack()), home_button(context.t)]))
        case A.GuideOpen():
            await open_guide(update, context, guide)
        case A.GuideStep(index=index):
            await render_step(update, context, guide, index)


async def feedback(update: Update, context: BotContext) -> None:
    """A.GuideFeedback records whether a guide helped (one vote per resident, the last press counts)."""
    query = update.callback_query
    action = A.parse(query.data)
    guide = context.svc.guide(action.guide) if isinstance(action, A.GuideFeedback) else None
    if guide is None:
        await stale(update, context)
        return
    svc, helpful = context.svc, action.helpful == "1"
    await guide_data.record_feedback(svc.db, guide.id, context.user.id, helpful, svc.now())
    _ = context.t.gettext
    await query.answer()
    text = _("Thank you for telling us!") if helpful else _(
        "Thank you for telling us. We will make this guide better.\nA volunteer can help you too.")
    question = await outcomes.guide_question(context, guide) if helpful else None  # one optional question (issue 16)
    if question is not None:
        text += "\n\n" + question[0]
    await show(update, context, text, keyboard(
        question[1] if question else None,
        None if helpful else [(_("🙋 Ask for help"), A.AskAbout(guide.id).pack())],
        [(_("📚 Other guides"), A.Menu("g").pack()), home_button(context.t)]))


def register(app: Application) -> None:
    app.add_handler(CallbackQueryHandler(categories, pattern=A.exactly(A.Menu("g"))))
    app.add_handler(CallbackQueryHandler(category, pattern=A.Category.filter))
    app.add_handler(CallbackQueryHandler(step, pattern=A.any_of(A.GuideOpen, A.GuideStep, A.GuideDone)))
    app.add_handler(CallbackQueryHandler(feedback, pattern=A.GuideFeedback.filter))

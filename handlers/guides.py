"""Browsing guides: categories → guides (paged) → one step per message, edited in place."""

from __future__ import annotations

from telegram import InputFile, Update
from telegram.ext import Application, CallbackQueryHandler

from bot.content import Guide
from bot.data import guides as guide_data
from handlers.common import BotContext, Button, as_id, callback_args, clear_buttons, home_button, keyboard, show, stale

PAGE_SIZE = 8


def topic_rows(context: BotContext) -> list[list[Button]]:
    locale = context.t.locale
    return [[(f"{c.emoji} {c.name.get(locale)}", f"cat:{c.id}:0")] for c in context.svc.content.categories.values()]


async def categories(update: Update, context: BotContext) -> None:
    """m:g and the 📚 button."""
    _ = context.t.gettext
    await show(update, context, _("📚 Choose a topic:"), keyboard(*topic_rows(context), [home_button(context.t)]))
    if update.callback_query:
        await update.callback_query.answer()


async def category(update: Update, context: BotContext) -> None:
    """cat:ID:PAGE: the guides of one topic, eight to a page."""
    query = update.callback_query
    cid, page = callback_args(update, 2)
    cat = context.svc.content.categories.get(cid)
    if cat is None or as_id(page) is None:
        await stale(update, context)
        return
    _ = context.t.gettext
    locale = context.t.locale
    items = context.svc.content.guides_in(cid)
    pages = max(1, -(-len(items) // PAGE_SIZE))
    n = min(as_id(page), pages - 1)
    rows = [[(g.title.get(locale), f"g:{g.id}:open")] for g in items[n * PAGE_SIZE:(n + 1) * PAGE_SIZE]]
    nav: list[Button] = []
    if n > 0:
        nav.append((_("◀ Back"), f"cat:{cid}:{n - 1}"))
    if n + 1 < pages:
        nav.append((_("Next ▶"), f"cat:{cid}:{n + 1}"))
    text = f"{cat.emoji} {cat.name.get(locale)}\n" + _("Choose a guide:")
    if pages > 1:
        text += "\n" + _("Page {page} of {pages}").format(page=n + 1, pages=pages)
    await show(update, context, text, keyboard(*rows, nav, [(_("↩ Topics"), "m:g"), home_button(context.t)]))
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
    nav: list[Button] = [(_("✅ Done"), f"g:{guide.id}:done") if last else (_("Next ▶"), f"g:{guide.id}:{index + 1}")]
    if index > 0:
        nav.append((_("◀ Back"), f"g:{guide.id}:{index - 1}"))
    return keyboard(nav, [(_("🙋 Still stuck? Ask a volunteer"), f"ask:{guide.id}")], [home_button(context.t)])


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
    """g:ID:open starts a guide (and counts a view); g:ID:N steps; g:ID:done asks whether it helped."""
    query = update.callback_query
    gid, arg = callback_args(update, 2)
    guide = context.svc.guide(gid)
    index = as_id(arg)
    if guide is None or not (arg in ("open", "done") or (index is not None and index < len(guide.steps))):
        await stale(update, context)
        return
    await query.answer()
    if arg == "done":
        _ = context.t.gettext
        text = _("🎉 You finished: {title}.\nDid this guide help you?").format(title=guide.title.get(context.t.locale))
        # 👍 first: whoever keeps tapping where "Next ▶" was must not file a 👎 by accident.
        await show(update, context, text, keyboard(
            [(_("👍 Helpful"), f"fb:{gid}:1"), (_("👎 Not helpful"), f"fb:{gid}:0")],
            [(_("🙋 Still stuck? Ask a volunteer"), f"ask:{gid}")],
            [(_("📚 Other guides"), "m:g"), home_button(context.t)]))
    elif arg == "open":
        await open_guide(update, context, guide)
    else:
        await render_step(update, context, guide, index)


async def feedback(update: Update, context: BotContext) -> None:
    """fb:ID:1|0 records whether a guide helped (one vote per resident, the last press counts)."""
    query = update.callback_query
    gid, vote = callback_args(update, 2)
    if context.svc.guide(gid) is None or vote not in ("0", "1"):
        await stale(update, context)
        return
    svc = context.svc
    await guide_data.record_feedback(svc.db, gid, context.user.id, vote == "1", svc.now())
    _ = context.t.gettext
    await query.answer()
    text = _("Thank you for telling us!") if vote == "1" else _(
        "Thank you for telling us. We will make this guide better.\nA volunteer can help you too.")
    await show(update, context, text, keyboard(
        [(_("🙋 Ask for help"), f"ask:{gid}")] if vote == "0" else None,
        [(_("📚 Other guides"), "m:g"), home_button(context.t)]))


def register(app: Application) -> None:
    app.add_handler(CallbackQueryHandler(categories, pattern=r"^m:g$"))
    app.add_handler(CallbackQueryHandler(category, pattern=r"^cat:"))
    app.add_handler(CallbackQueryHandler(step, pattern=r"^g:"))
    app.add_handler(CallbackQueryHandler(feedback, pattern=r"^fb:"))

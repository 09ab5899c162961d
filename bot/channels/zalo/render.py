"""How a screen looks on Zalo, which has no buttons: the text, its choices as numbered lines, one short line
saying to answer with a number, and the whole cut into messages of at most 2,000 characters (the choices stay
together in the last one). Pure functions, so the console, the tests and the adapter render alike."""

from __future__ import annotations

from bot import actions as A
from bot.i18n import Translator
from bot.screens import Mode, by_number

LIMIT = 2000  # characters per Zalo text (1 to 2,000)


def inline_buttons(markup: dict | None) -> tuple[list[str], list[tuple[str, str]]]:
    """(labels of the choices, (label, url) of the link buttons) of an inline keyboard, row by row: the
    choices are numbered as handlers/tgbot.py records them, so a typed "2" is the second choice."""
    labels: list[str] = []
    links: list[tuple[str, str]] = []
    for row in (markup or {}).get("inline_keyboard") or []:
        for button in row:
            if isinstance(button.get("callback_data"), str):
                labels.append(str(button.get("text", "")))
            elif button.get("url"):
                links.append((str(button.get("text", "")), str(button["url"])))
    return labels, links


def _callback_data(markup: dict | None) -> list[str]:
    return [b["callback_data"] for row in (markup or {}).get("inline_keyboard") or [] for b in row
            if isinstance(b.get("callback_data"), str)]


def numbered(data: list[str]) -> list[bool]:
    """Which choices (their callback data, in screen order) a typed number picks, as handlers/typed.py reads
    them: not those no number ever picks (bot/screens.py `by_number`: reopening under the stars, an admin's
    decision …), nor the lone cancel of a step that waits for the person's own words (the description of a
    help request, a campaign's text: a number there is read as their words)."""
    actions = [A.parse(d) for d in data]
    free_text = len(actions) == 1 and isinstance(actions[0], A.DraftCancel | A.BroadcastCancel)
    return [not free_text and by_number(action, Mode.CHOICE) for action in actions]


def _keyboard_buttons(markup: dict | None) -> list[dict]:
    rows = (markup or {}).get("keyboard") or []
    return [b if isinstance(b, dict) else {"text": str(b)} for row in rows for b in row]


def reply_keyboard(markup: dict | None, t: Translator) -> str:
    """What a Telegram reply keyboard (share my phone number, share my location, typed answers) becomes on
    Zalo: a line saying what to type instead. Empty when there is no such keyboard."""
    _ = t.gettext
    buttons = _keyboard_buttons(markup)
    lines = []
    if any(b.get("request_contact") for b in buttons):
        lines.append(_("📞 If you agree, type your phone number here."))
    if any(b.get("request_location") for b in buttons):
        lines.append(_("📍 Type the name of your ward, or its number in the list above: I will show its support "
                       "points."))
    words = [f"“{b['text']}”" for b in buttons if not b.get("request_contact") and not b.get("request_location")]
    if words:
        lines.append(_("Or type: {words}").format(words=" / ".join(words)))
    return "\n".join(lines)


def without_button_lines(text: str, markup: dict | None) -> str:
    """The text without its lines that send the person to a share-contact or share-location button (“tap …
    below”): Zalo has none, and `reply_keyboard` says what to type instead."""
    labels = [f"“{b['text']}”" for b in _keyboard_buttons(markup)
              if b.get("request_contact") or b.get("request_location")]
    if not labels:
        return text
    return "\n".join(line for line in text.split("\n") if not any(label in line for label in labels))


def hint(n: int, t: Translator) -> str:
    _ = t.gettext
    return _("Reply with a number from 1 to {n}.").format(n=n) if n > 1 else _("Reply with 1 to choose it.")


def choice_lines(labels: list[str], data: list[str], t: Translator) -> list[str]:
    """The choices as lines, `N. label` for those a number picks (N is its place on the screen, as typed) and
    `– label` for the others, then the hint: the numbers to answer with, and to type the words of the rest."""
    _ = t.gettext
    by_num = numbered(data) if len(data) == len(labels) else [True] * len(labels)
    lines = [f"{n}. {label}" if ok else f"– {label}"
             for n, (label, ok) in enumerate(zip(labels, by_num, strict=True), 1)]
    count = sum(by_num)
    if count and by_num[:count] == [True] * count:  # the numbered ones come first: 1 to count
        lines.append(hint(count, t))
    elif count:
        lines.append(_("Reply with one of the numbers above."))
    if count < len(labels):
        lines.append(_("For a choice without a number, type its words."))
    return lines


def split(text: str, limit: int = LIMIT) -> list[str]:
    """Cut a text into parts of at most `limit` characters, at a blank line, else a line end, else a space."""
    parts: list[str] = []
    rest = text.strip()
    while len(rest) > limit:
        cut = -1
        for sep in ("\n\n", "\n", " "):
            cut = rest.rfind(sep, 0, limit + 1)
            if cut > limit // 4:
                break
        if cut <= 0:
            cut = limit
        parts.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest:
        parts.append(rest)
    return parts


def compose(text: str, markup: dict | None, t: Translator, limit: int = LIMIT) -> list[str]:
    """The Zalo messages for one Telegram message: its text, then its choices numbered `1. …` (`choice_lines`)
    with the hint line, its link buttons as `label: url`, and what to type for a reply keyboard; the choices are
    in the last message, whole. Never an empty list for a non-empty text or any choice."""
    labels, links = inline_buttons(markup)
    choices = choice_lines(labels, _callback_data(markup), t) if labels else []
    tail_lines = choices[:len(labels)]
    tail_lines += [f"{label}: {url}" for label, url in links]
    tail_lines += choices[len(labels):]
    typed = reply_keyboard(markup, t)
    if typed:
        tail_lines.append(typed)
    tail = "\n".join(tail_lines)
    text = without_button_lines(text, markup).strip()
    whole = "\n\n".join(p for p in (text, tail) if p)
    if len(whole) <= limit:
        return [whole] if whole else []
    parts = split(text, limit)
    if tail:
        if parts and len(parts[-1]) + 2 + len(tail) <= limit:
            parts[-1] = parts[-1] + "\n\n" + tail
        else:
            parts += split(tail, limit)
    return parts

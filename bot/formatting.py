"""Campaign text formatting as Telegram keeps it: plain text plus entities (offsets in UTF-16 code units).

The chat's /broadcast gets entities from Telegram as the officer typed them. The dashboard has a plain text box,
so it writes the same few styles in a small markup and turns it into the same (text, entities):

    **bold**   __italic__   ~~struck through~~   `code`   [words](https://link)

`to_markup` goes the other way (a draft composed in chat opens in the text box with its formatting), and
`to_html` shows (text, entities) in a browser as Telegram shows it to residents. Links, mentions and the
like that Telegram finds in plain text by itself need no entity and are not written in markup.
"""

from __future__ import annotations

import html
import re

MARKERS = {"**": "bold", "__": "italic", "~~": "strikethrough", "`": "code"}
MARK_OF = {kind: marker for marker, kind in MARKERS.items()}
LINK = r"\[([^\]\n]+)\]\(((?:https?://|tg://)[^\s()]+)\)"
TOKEN = re.compile(rf"\*\*|__|~~|`|{LINK}")
HTML_TAGS = {"bold": "b", "italic": "i", "underline": "u", "strikethrough": "s", "code": "code", "pre": "pre",
             "blockquote": "blockquote"}


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units: how Telegram counts entity offsets (an emoji outside the BMP is 2)."""
    return len(text.encode("utf-16-le")) // 2


def from_markup(markup: str) -> tuple[str, list[dict]]:
    """(text, entities) of the dashboard's markup. A marker without its pair stays as typed, so nothing the
    officer wrote is lost; a link's words are plain (no styles inside a link)."""
    tokens = list(TOKEN.finditer(markup))
    # which markers pair up: a stack per style; openers left at the end are plain text
    literal: set[int] = set()
    open_at: dict[str, int] = {}
    for i, m in enumerate(tokens):
        marker = m.group(0)
        if marker not in MARKERS:
            continue
        if marker in open_at:
            del open_at[marker]
        else:
            open_at[marker] = i
    literal.update(open_at.values())
    text: list[str] = []
    length = 0  # UTF-16 units written so far
    started: dict[str, int] = {}
    entities: list[dict] = []
    pos = 0
    for i, m in enumerate(tokens):
        plain = markup[pos:m.start()]
        text.append(plain)
        length += utf16_len(plain)
        pos = m.end()
        marker = m.group(0)
        if marker not in MARKERS or i in literal:
            if marker in MARKERS:
                text.append(marker)
                length += utf16_len(marker)
            else:  # a link
                words, url = m.group(1), m.group(2)
                entities.append({"type": "text_link", "offset": length, "length": utf16_len(words), "url": url})
                text.append(words)
                length += utf16_len(words)
            continue
        kind = MARKERS[marker]
        if kind in started:
            start = started.pop(kind)
            if length > start:
                entities.append({"type": kind, "offset": start, "length": length - start})
        else:
            started[kind] = length
    text.append(markup[pos:])
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return "".join(text), entities


def _index(text: str) -> dict[int, int]:
    """UTF-16 offset → index into the Python string, for every character boundary."""
    where, units = {0: 0}, 0
    for i, ch in enumerate(text, 1):
        units += 2 if ord(ch) > 0xFFFF else 1
        where[units] = i
    return where


def _spans(text: str, entities: list[dict], kinds: set[str]) -> list[tuple[int, int, dict]]:
    """(start, end, entity) as Python indices, for the entities of `kinds` that fall on character boundaries."""
    where = _index(text)
    spans = []
    for e in entities:
        start, end = where.get(e.get("offset", -1)), where.get(e.get("offset", 0) + e.get("length", 0))
        if e.get("type") in kinds and start is not None and end is not None and end > start:
            spans.append((start, end, e))
    return sorted(spans, key=lambda s: (s[0], -s[1]))


def to_markup(text: str, entities: list[dict]) -> str:
    """The markup that `from_markup` reads back as this text and these entities (for the styles it knows;
    others, e.g. underline or a spoiler, are left out)."""
    inserts: dict[int, list[str]] = {}
    for start, end, e in _spans(text, entities, set(MARK_OF) | {"text_link"}):
        if e["type"] == "text_link":
            opening, closing = "[", f"]({e.get('url', '')})"
        else:
            opening = closing = MARK_OF[e["type"]]
        inserts.setdefault(start, []).append(opening)
        inserts.setdefault(end, []).insert(0, closing)
    out = []
    for i in range(len(text) + 1):
        closing_first = inserts.get(i, [])
        out.extend(closing_first)
        if i < len(text):
            out.append(text[i])
    return "".join(out)


def to_html(text: str, entities: list[dict]) -> str:
    """HTML of the text as Telegram shows it (bold, italics, links …); everything escaped, links only http(s)
    or tg. Entities that overlap without nesting are shown as far as they nest."""
    spans = _spans(text, entities, set(HTML_TAGS) | {"text_link", "spoiler"})
    opens: dict[int, list[tuple[int, str, str]]] = {}
    for start, end, e in spans:
        kind = e["type"]
        if kind == "text_link":
            url = str(e.get("url", ""))
            if not re.match(r"(https?|tg)://", url):
                continue
            tag, attrs = "a", f' href="{html.escape(url)}" rel="noopener noreferrer" target="_blank"'
        elif kind == "spoiler":
            tag, attrs = "span", ' class="spoiler"'
        else:
            tag, attrs = HTML_TAGS[kind], ""
        opens.setdefault(start, []).append((end, tag, attrs))
    out: list[str] = []
    stack: list[tuple[int, str]] = []  # (end, tag) of what is open, innermost last
    for i in range(len(text) + 1):
        while stack and stack[-1][0] == i:
            out.append(f"</{stack.pop()[1]}>")
        if i == len(text):
            break
        for end, tag, attrs in opens.get(i, []):
            if stack and end > stack[-1][0]:  # would cross an open one: shorten it to nest
                end = stack[-1][0]
            out.append(f"<{tag}{attrs}>")
            stack.append((end, tag))
        out.append(html.escape(text[i]))
    while stack:
        out.append(f"</{stack.pop()[1]}>")
    return "".join(out)

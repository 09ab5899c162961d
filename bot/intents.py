"""What a free-text message wants, when it is not a search.

Today one intent: the resident asks for a person ("cho tôi gặp người thật", "call me"). Those messages
used to get a list of guides, which is the one answer such a person did not want.

The test is deliberately strict, to leave how-to questions to search: a message is a request for a
human only when all of it is made of the phrases below, with at least one HUMAN phrase. So
"gọi điện cho tôi" is a request, while "cách gọi điện video" (how to video-call) and "nhân viên ngân
hàng gọi điện cho tôi" (a bank employee called me: probably a scam) are searches, because "cách",
"video", "ngân hàng" are no part of a request for a person.

Matching is on folded text (no case, accents, đ→d, punctuation or emoji) with the spaces taken out,
so "nguoithat" and "goi  dien cho toi" count too. Phrases of one or two letters ("a", "k", "ko") only
count as whole words, so they cannot glue a longer word together.
"""

from __future__ import annotations

from bot.textnorm import fold, words

# Ways a resident refers to themselves after "gọi cho …" (call …). "mẹ", "con", "bà" are left out on
# purpose: "gọi cho mẹ" is how to call one's mother.
_ME = ("toi", "tui", "minh")

# Phrases that ask for a person, folded; "{me}" stands for each of _ME.
HUMAN = (
    # Vietnamese: who
    "nguoi that", "nguoi that su", "con nguoi", "gap nguoi", "voi nguoi", "mot nguoi", "nguoi ho tro",
    "nguoi giup", "nguoi tu van", "nguoi huong dan", "tu van", "tu van vien", "nhan vien", "nhan vien ho tro",
    "tinh nguyen vien", "tong dai vien", "tong dai", "so tong dai", "hotline", "so hotline",
    "so dien thoai ho tro", "can bo", "can bo phuong", "admin", "co ai", "ai do", "alo", "nguoi chi",
    "so dien thoai", "xin so", "gap truc tiep",
    # Vietnamese: what they want done
    "noi chuyen", "tro chuyen", "giup", "giup do", "ho tro", "nho ho tro", "cuu", "goi cho {me}",
    "goi dien cho {me}", "goi dien thoai cho {me}", "goi dt cho {me}", "goi lai cho {me}", "goi lai",
    "goi dien lai", "nho giup", "chi giup", "chi cho {me}",
    "lien he", "lien lac",
    # English
    "human", "person", "real person", "someone", "somebody", "anyone", "anybody", "agent", "operator",
    "a volunteer", "the volunteer", "volunteers", "staff", "call me", "call me back", "phone me", "ring me",
    "help", "helper", "support", "sos",
)

# Words that may surround such a phrase without changing what the message asks. How-to words ("cách",
# "làm sao", "thế nào", "how"), topics and anything that names a third person are absent on purpose.
FILLER = (
    # Vietnamese: pronouns and forms of address
    "toi", "tui", "minh", "em", "con", "chau", "bac", "co", "chu", "anh", "chi", "ong", "ba", "ban", "ban oi",
    # Vietnamese: request words and particles
    "cho", "muon", "can", "xin", "xin chao", "chao", "vui long", "lam on", "hay", "voi", "gap", "ai",
    "duoc", "dc", "duoc khong", "khong", "ko", "k", "kg", "hong", "a", "ah", "oi", "nhe", "nha", "di", "dum",
    "truc tiep", "qua dien thoai", "bang dien thoai", "ngay", "la", "de", "o do", "o day", "biet", "lam", "nho",
    "chi cho",
    # English
    "i", "me", "my", "a", "an", "to", "with", "need", "want", "would", "like", "please", "pls", "plz", "can",
    "could", "you", "is", "there", "hello", "hi", "just", "now", "talk", "speak", "chat", "get", "let", "for",
    "ask", "some", "real", "live", "actual", "back", "urgent",
)

MAX_CHARS = 120  # folded, without spaces: a longer message says more than "I want a person"
_WHOLE_WORD = 2  # phrases this short must be whole words of the message


def _expand(phrases: tuple[str, ...]) -> set[str]:
    out: set[str] = set()
    for phrase in phrases:
        out |= {phrase.replace("{me}", me) for me in _ME} if "{me}" in phrase else {phrase}
    return {p.replace(" ", "") for p in out}


_HUMAN = _expand(HUMAN)
_TOKENS: dict[str, bool] = {**dict.fromkeys(_expand(FILLER), False), **dict.fromkeys(_HUMAN, True)}


def wants_human(text: str) -> bool:
    """True when the message, folded, is only a request for a person (a volunteer, a phone call) and
    says nothing about a topic: such a person gets the ways to reach people instead of search results."""
    parts = [fold(w) for w in words(text[:4 * MAX_CHARS])]
    compact = "".join(parts)
    if not compact or len(compact) > MAX_CHARS:
        return False
    bounds, at = {0}, 0
    for part in parts:
        at += len(part)
        bounds.add(at)
    # reached[p]: None = the first p letters cannot be read as phrases; False = they can, without a
    # HUMAN phrase; True = with one. Phrases have at least one letter, so one pass forward is enough.
    reached: list[bool | None] = [None] * (len(compact) + 1)
    reached[0] = False
    for start in range(len(compact)):
        if reached[start] is None:
            continue
        for token, human in _TOKENS.items():
            end = start + len(token)
            if not compact.startswith(token, start):
                continue
            if len(token) <= _WHOLE_WORD and not (start in bounds and end in bounds):
                continue
            reached[end] = bool(reached[end]) or reached[start] or human
    return reached[-1] is True

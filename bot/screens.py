"""Screens and typed choices: what a person's typed message means, on any channel.

A screen is the newest message a person was shown that offers choices; each choice is a label and a
packed action (bot/actions.py). It is kept in the database (bot/data/screens.py), so it survives
restarts and works the same for a channel with buttons (Telegram) and one without (Zalo).

A typed message is matched against that screen first, in this order:
1. the label itself, folded (case, accents, đ, emoji and punctuation do not matter), in either language;
2. the choice's declared words ("tiep", "next", "huy", "5 sao", "goi dien cho toi" ...);
3. its number: "2", "2.", "số 2", "#2", full-width "２";
4. a few words that fit exactly one label ("ben thanh" for "Phường Bến Thành").
Where the person is answering a free-text step (a description, a comment, a message to a volunteer)
only 1 and 2 apply, and only to the whole message, so a sentence is never taken for a button.
A control word that fits no choice on the screen ("5" under three choices, "tiep" with no "Next")
is UNCLEAR: the bot shows the choices again instead of searching for it.
"""

from __future__ import annotations

import enum
import json
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from bot import actions as A
from bot.i18n import N_, I18n
from bot.textnorm import clean, fold

Label = str
Data = str


@dataclass(frozen=True)
class Choice:
    """One choice on a screen: what the person sees and the packed action it carries."""

    label: Label
    data: Data


@dataclass(frozen=True)
class Screen:
    """The newest message with choices a person was shown (`message_id` in their chat)."""

    message_id: int
    choices: tuple[Choice, ...]

    def to_json(self) -> str:
        return json.dumps([[c.label, c.data] for c in self.choices], ensure_ascii=False)

    @classmethod
    def from_json(cls, message_id: int, raw: str) -> Screen:
        return cls(message_id, tuple(Choice(label, data) for label, data in json.loads(raw)))


class Mode(enum.Enum):
    """How much a typed message may be read as a choice, by what it would otherwise answer."""

    CHOICE = "choice"  # nothing else takes free text here (a list, a question with buttons, the top level)
    TEXT = "text"  # a step that takes free text: whole-message labels and declared words only
    RELAY = "relay"  # a message for the other side of a request: labels and the menu words only


UNCLEAR = object()  # a control word that fits nothing on the screen: show the choices again
AMBIGUOUS = object()  # words that fit several choices (two "✖ Hủy HT-…" under /myrequests): ask again

# --- words ------------------------------------------------------------------------------------------
# Folded (no accents, lower case); Vietnamese as residents type it, and English.
MENU_WORDS = frozenset({"menu", "trang chu", "ve menu", "menu chinh", "ve trang chu", "main menu", "home",
                        "quay ve menu", "bat dau lai", "start"})
CANCEL_WORDS = frozenset({"huy", "huy bo", "huy di", "thoat", "thoat ra", "dung lai", "thoi", "khong lam nua",
                          "huy yeu cau", "huy yeu cau nay", "toi muon huy", "thoi khong can nua", "khong can nua",
                          "thoi khong can", "thoi khoi", "cancel", "stop", "exit", "quit"})
REQUEST_CANCEL_WORDS = frozenset({"huy", "huy yeu cau", "huy yeu cau nay", "cancel", "cancel request"})
NEXT_WORDS = frozenset({"tiep", "tiep theo", "tiep tuc", "buoc tiep", "buoc tiep theo", "sau", "next", "continue",
                        "go on"})
BACK_WORDS = frozenset({"quay lai", "lui", "lui lai", "truoc", "buoc truoc", "tro lai", "back", "previous",
                        "go back"})
YES_WORDS = frozenset({"co", "vang", "da", "u", "uh", "ok", "oke", "okay", "dong y", "xac nhan", "duoc", "gui",
                       "gui di", "yes", "y", "confirm", "sure"})
NO_WORDS = frozenset({"khong", "ko", "k", "no", "nope", "chua"})
DONE_WORDS = frozenset({"xong", "xong roi", "hoan thanh", "done", "finish", "finished"})
SKIP_WORDS = frozenset({"bo qua", "khong can", "skip"})
NOT_SURE_WORDS = frozenset({"khong biet", "khong ro", "khong chac", "chua biet", "not sure", "dont know",
                            "don t know", "i don t know"})
# Whole language names only: "anh" (photo, brother), "ví" (wallet) and "en" are everyday words.
LANGUAGE_WORDS = {"en": frozenset({"english", "tieng anh", "in english"}),
                  "vi": frozenset({"tieng viet", "vietnamese", "bang tieng viet"})}
_NUMERALS = {1: ("mot",), 2: ("hai",), 3: ("ba",), 4: ("bon", "tu"), 5: ("nam",)}
_ENGLISH = {1: "one", 2: "two", 3: "three", 4: "four", 5: "five"}
# A whole message that is one of these is that number ("sau", six, is left out: it also means "next").
NUMBER_WORDS = {"mot": 1, "hai": 2, "ba": 3, "bon": 4, "nam": 5, "bay": 7, "tam": 8, "chin": 9, "muoi": 10}

# Labels whose meaning is plain navigation: their declared words come with the label (both "Next ▶"
# buttons of a guide and of a page carry the same kind of action, so the label tells them apart).
LABEL_WORDS: dict[str, frozenset[str]] = {
    N_("Next ▶"): NEXT_WORDS,
    N_("◀ Back"): BACK_WORDS,
    N_("↩ Back"): BACK_WORDS,
    N_("↩ Topics"): BACK_WORDS,
    N_("↩ Wards"): BACK_WORDS,
    N_("✅ Done"): DONE_WORDS,
    N_("Skip"): SKIP_WORDS | NO_WORDS,
    N_("🏠 Main menu"): MENU_WORDS,
    N_("👍 Helpful"): frozenset({"co", "co giup", "huu ich", "tot", "yes", "helpful", "thich"}),
    N_("👎 Not helpful"): frozenset({"khong", "khong giup", "khong huu ich", "no", "not helpful"}),
    N_("🔁 It's back"): frozenset({"chua xong", "van chua xong", "lai bi", "not fixed", "still broken"}),
    N_("💬 Reply"): frozenset({"tra loi", "reply"}),
}
# Labels worth matching in the other language too (a resident may type what they know).
BILINGUAL = (*LABEL_WORDS, N_("📚 Guides"), N_("🔎 Search"), N_("🙋 Ask for help"), N_("📍 Support points"),
             N_("🌐 Language"), N_("✖ Cancel"), N_("✅ Confirm"), N_("✋ Claim"), N_("✅ Resolved"),
             N_("↩ Release"), N_("🤷 Not sure"), N_("📚 Other guides"))

_MODE_WORDS = {
    "chat": frozenset({"nhan tin", "tin nhan", "chat", "nhan tin qua bot", "message", "messages", "text"}),
    "phone": frozenset({"goi dien", "goi dien cho toi", "goi cho toi", "dien thoai", "goi", "call", "call me",
                        "phone", "phone call"}),
    "in_person": frozenset({"truc tiep", "gap truc tiep", "den diem ho tro", "in person", "meet"}),
    "home_visit": frozenset({"den nha", "tai nha", "den nha toi", "home visit", "visit"}),
}


def action_words(action: A.Action | None) -> frozenset[str]:
    """The words a choice declares by what it does, whatever its label says."""
    match action:
        case A.Home():
            return MENU_WORDS
        case A.DraftCancel() | A.BroadcastCancel():
            return CANCEL_WORDS
        case A.CancelRequest():
            return REQUEST_CANCEL_WORDS  # not "thoat" or "stop": those mean leaving the screen
        case A.DraftConfirm():
            return YES_WORDS
        case A.DraftContinue():
            return YES_WORDS | NEXT_WORDS | frozenset({"lam tiep", "tiep tuc yeu cau"})
        case A.DraftRestart():
            return frozenset({"lam lai", "lam moi", "bat dau lai", "moi", "start again", "new"})
        case A.DraftMode(mode=mode):
            return _MODE_WORDS[mode]
        case A.DraftContact(contact="chat"):
            return _MODE_WORDS["chat"] | frozenset({"chi nhan tin", "messages only"})
        case A.DraftContact(contact="phone"):
            return frozenset({"so dien thoai", "gui so", "gui so dien thoai", "phone number", "my number",
                              "goi dien", "goi dien cho toi", "goi cho toi", "dien thoai", "call me", "phone"})
        case A.DraftWard(ward="-"):
            return NOT_SURE_WORDS
        case A.Rate(stars=stars):
            n = int(stars)
            return frozenset({stars, f"{n} sao", f"{n}sao", f"{n} 5", f"{n} sao nhe", f"{n} sao nha", f"{n} star",
                              f"{n} stars", "⭐" * n, f"{_ENGLISH[n]} star", f"{_ENGLISH[n]} stars",
                              *(f"{word} sao" for word in _NUMERALS[n])})
        case A.SetLanguage(lang=lang) | A.SetLanguageWelcome(lang=lang):
            return LANGUAGE_WORDS[lang]
        case A.BroadcastNext() | A.VolunteerWardsDone() | A.VolunteerTopicsDone():
            return NEXT_WORDS
        case A.PrivacyChoice(op="x") | A.RelaySecret(send="0"):
            return CANCEL_WORDS
        case A.StopRelay():
            return MENU_WORDS | DONE_WORDS
        case A.OutcomeDone():
            return DONE_WORDS
        case A.GuideDid(did="0"):
            return NO_WORDS | frozenset({"chua lam", "chua lam duoc", "not yet"})
        case A.OutcomeNone():
            return frozenset({"khong co", "khong co gi", "khong", "none", "nothing"})
        case A.GuideDid(did="1") | A.RankingConsent(granted="1"):
            return YES_WORDS | frozenset({"da lam", "da lam duoc", "lam duoc roi", "dong y", "i did", "i did it"})
        case A.RankingConsent(granted="0"):
            return NO_WORDS | frozenset({"khong dong y"})
    return frozenset()


CONTROL_WORDS = (MENU_WORDS | CANCEL_WORDS | NEXT_WORDS | BACK_WORDS | YES_WORDS | NO_WORDS | DONE_WORDS
                 | SKIP_WORDS | frozenset().union(*LANGUAGE_WORDS.values())
                 | frozenset(f"{n} sao" for n in range(1, 6)) | frozenset(f"{n} stars" for n in range(1, 6))
                 | frozenset("⭐" * n for n in range(1, 6))
                 | frozenset(f"{word} sao" for words in _NUMERALS.values() for word in words))


def by_number(action: A.Action | None, mode: Mode) -> bool:
    """May this choice be picked by its number? Not reopening a request (the rating screen asks for 1 to 5),
    not an admin's decision on one volunteer's card among several, not removing a target, and in a free-text
    step not a cancel."""
    if isinstance(action, A.Reopen | A.Decide | A.TargetRemove):  # removing a pledge by a slip of "1" would hurt
        return False
    return mode is not Mode.TEXT or not isinstance(action, A.DraftCancel | A.BroadcastCancel)

# --- folding ----------------------------------------------------------------------------------------
_WORD = re.compile(r"\w+")
_NUMBER = re.compile(r"(?:(?:so|muc|cau|dong|number|no|lua chon|chon|option)\s*)?([0-9]{1,2})")
_SIGNED = re.compile(r"^\s*[-−–+]")
_STARS = re.compile(r"[⭐★☆*]+")


def phrase(text: str) -> str:
    """Folded words only: "  Tiếp ▶ " → "tiep"; "⭐⭐⭐" → "⭐⭐⭐" (stars are kept, they mean a rating)."""
    text = unicodedata.normalize("NFKC", clean(text))
    stripped = text.strip()
    if stripped and _STARS.fullmatch(stripped.replace(" ", "")):
        return "⭐" * len(stripped.replace(" ", ""))
    return " ".join(fold(w) for w in _WORD.findall(text.replace("'", " ").replace("’", " "))).replace("_", " ")


def number(text: str) -> int | None:
    """ "2", "2.", "số 2", "#2", "２" → 2; anything else → None."""
    if _SIGNED.match(unicodedata.normalize("NFKC", text)):
        return None  # "-1" is not choice 1
    said = phrase(text)
    m = _NUMBER.fullmatch(said)
    if m:
        return int(m.group(1))
    words = said.split()
    if words and words[0] in ("so", "muc", "cau", "dong"):
        words = words[1:]
    return NUMBER_WORDS.get(" ".join(words))


# Choices that tick or untick one item of a list (what a resolved request achieved, a volunteer's wards and
# topics): several may be typed at once, as their numbers ("1 3", "1, 3", "1 và 3").
TOGGLES = (A.OutcomeToggle, A.VolunteerWard, A.VolunteerTopic)


def several(text: str, screen: Screen | None) -> list[Choice] | None:
    """The toggles on `screen` that `text` lists by number, each once, in the order typed. None when the text
    is no such list (fewer than two numbers, other words, a range like "1-3") or the screen has no toggles;
    [] when a number fits no toggle (the choices are shown again)."""
    if screen is None or "-" in text or not any(isinstance(A.parse(c.data), TOGGLES) for c in screen.choices):
        return None
    words = [w for w in phrase(text).split() if w not in ("va", "and")]
    if len(words) < 2 or not all(w.isascii() and w.isdigit() and len(w) <= 2 for w in words):
        return None
    picked = []
    for n in dict.fromkeys(int(w) for w in words):
        if not 1 <= n <= len(screen.choices) or not isinstance(A.parse(screen.choices[n - 1].data), TOGGLES):
            return []
        picked.append(screen.choices[n - 1])
    return picked


class Vocabulary:
    """Folded forms of the choice labels in every language, built once from the catalogs."""

    def __init__(self, i18n: I18n, locales: Iterable[str]):
        self._forms: dict[str, frozenset[str]] = {}
        translators = [i18n.get(lang) for lang in locales]
        for msgid in BILINGUAL:
            forms = {phrase(t.gettext(msgid)) for t in translators} | LABEL_WORDS.get(msgid, frozenset())
            for t in translators:
                key = phrase(t.gettext(msgid))
                self._forms[key] = self._forms.get(key, frozenset()) | frozenset(forms)

    def words(self, choice: Choice) -> frozenset[str]:
        """Everything a person may type for this choice: its label, its other-language label, its words."""
        label = phrase(choice.label)
        return (frozenset({label}) | self._forms.get(label, frozenset())
                | action_words(A.parse(choice.data))) - {""}

    def match(self, text: str, screen: Screen | None, mode: Mode) -> Choice | object | None:
        """The choice the typed `text` means on `screen`, UNCLEAR, or None (not a choice: free text)."""
        said = phrase(text)
        if not said:
            return None
        if _SIGNED.match(unicodedata.normalize("NFKC", text)) and number(text.lstrip(" -−–+")) is not None:
            return UNCLEAR  # "-1" or "+3" is no choice and no rating
        choices = screen.choices if screen else ()
        if mode is Mode.RELAY:
            exact = [c for c in choices if phrase(c.label) == said or (said in MENU_WORDS and said in self.words(c))]
            return exact[0] if len(exact) == 1 else None
        hits = [c for c in choices if said in self.words(c)]
        if len({c.data for c in hits}) == 1:
            return hits[0]
        if hits:
            return AMBIGUOUS
        n = number(text)
        if mode is Mode.TEXT:
            picked = choices[n - 1] if n is not None and 1 <= n <= len(choices) else None
            return picked if picked is not None and by_number(A.parse(picked.data), mode) else None
        if n is not None:
            picked = choices[n - 1] if 1 <= n <= len(choices) else None
            return picked if picked is not None and by_number(A.parse(picked.data), mode) else UNCLEAR
        loose = _loose(said, choices)
        if loose is not None:
            return loose
        if said in CONTROL_WORDS:
            return UNCLEAR
        return None


WIZARDS = {  # the families of actions whose screens wait for a choice: typed words never leave them
    "draft": (A.DraftTopic, A.DraftWard, A.DraftMode, A.DraftContact, A.DraftConfirm, A.DraftCancel,
              A.DraftContinue, A.DraftRestart),
    "volunteer": (A.VolunteerWard, A.VolunteerWardsDone, A.VolunteerTopic, A.VolunteerTopicsDone,
                  A.VolunteerHours),
    "broadcast": (A.BroadcastNext, A.BroadcastAudience, A.BroadcastWard, A.BroadcastLanguage, A.BroadcastMode,
                  A.BroadcastSend, A.BroadcastSchedule, A.BroadcastCancel),
}


def wizard_of(screen: Screen | None) -> str | None:
    """Which wizard this screen belongs to ("draft", "volunteer", "broadcast"), or None."""
    for name, family in WIZARDS.items():
        if screen is not None and any(isinstance(A.parse(c.data), family) for c in screen.choices):
            return name
    return None


def meaningful(text: str | None) -> bool:
    """Words worth keeping as a description or a name: not empty, not a control word, some letters."""
    if not text:
        return False
    said = phrase(text)
    return said not in CONTROL_WORDS and said not in DECLARED_WORDS and sum(ch.isalpha() for ch in said) >= 3


def _loose(said: str, choices: tuple[Choice, ...]) -> Choice | None:
    """A few words that fit exactly one label as a whole-word run ("ben thanh" in "phuong ben thanh")."""
    if len(said) < 3 or said in CONTROL_WORDS:
        return None
    padded = f" {said} "
    fits = {c.data: c for c in choices if padded in f" {phrase(c.label)} "}
    return next(iter(fits.values())) if len(fits) == 1 else None


# Every word some choice declares (modes, contact, "lam tiep"...): typed alone it answers a button, not a question.
DECLARED_WORDS = frozenset().union(*(_MODE_WORDS.values()), NOT_SURE_WORDS, *LABEL_WORDS.values(),
                                   action_words(A.DraftContinue()), action_words(A.DraftRestart()),
                                   action_words(A.DraftContact("chat")), action_words(A.DraftContact("phone")))

"""Every action a choice can carry: a name and typed fields, packed within Telegram's 64 bytes.

Modelled on aiogram's `CallbackData`: each action is a frozen dataclass with a format such as
``"rq:claim:{request}"``; `pack()` writes it, `parse(data)` reads any packed action back and
validates every field (ids are ASCII digits within SQLite's INTEGER range, names are short tokens,
literals are one of their values). Nothing else builds or splits action strings: handlers read
`parse(query.data)` and route with `X.filter`, `any_of(...)` or `family(...)` (tests/test_actions.py
fails on a hand-built string anywhere in bot/ or handlers/).

Channel-free: Telegram puts the packed form in callback data; a channel without buttons keeps the
same strings in the stored screen, and a typed answer resolves to one of them.
"""

from __future__ import annotations

import functools
import re
import typing
from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import ClassVar, Literal, get_args, get_origin

MAX_BYTES = 64  # Telegram's limit on callback data
MAX_ID = 2**63 - 1  # SQLite INTEGER
_TOKEN = r"[A-Za-z0-9_-]{1,48}"  # a content id (bot/content.py ID_RE) or a short name
_INT = r"[0-9]{1,19}"
_FIELD = re.compile(r"\{(\w+)\}")
_REGISTRY: list[type[Action]] = []


class Action:
    """Base of every action. Subclasses are frozen dataclasses declared with `fmt=`."""

    fmt: ClassVar[str]
    _head: ClassVar[str]  # the fixed start of `fmt` up to its last ":" before a field, for `family`
    _regex: ClassVar[re.Pattern[str]]
    _kinds: ClassVar[dict[str, object]]

    def __init_subclass__(cls, fmt: str = "", **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        if fmt:
            cls.fmt = fmt

    @classmethod
    def _compile(cls) -> None:
        hints = typing.get_type_hints(cls)
        cls._kinds = {f.name: hints[f.name] for f in fields(cls)}  # type: ignore[arg-type]
        pattern, last = "", 0
        for m in _FIELD.finditer(cls.fmt):
            pattern += re.escape(cls.fmt[last:m.start()])
            kind = cls._kinds[m.group(1)]
            if kind is int:
                rx = _INT
            elif get_origin(kind) is Literal:
                rx = "|".join(re.escape(str(v)) for v in get_args(kind))
            else:
                rx = _TOKEN
            pattern += f"(?P<{m.group(1)}>{rx})"
            last = m.end()
        cls._regex = re.compile(pattern + re.escape(cls.fmt[last:]))
        fixed = cls.fmt.split("{", 1)[0]
        cls._head = fixed[:fixed.rindex(":") + 1] if ":" in fixed else fixed

    def pack(self) -> str:
        """The wire form, e.g. "rq:claim:12". Raises ValueError past 64 bytes, on a bad field, or when the
        form would read back as another action (so `parse(x.pack()) == x` always holds)."""
        data = self.fmt.format(**{f.name: getattr(self, f.name) for f in fields(self)})  # type: ignore[arg-type]
        if parse(data) != self:
            raise ValueError(f"cannot pack {self!r}")
        return data

    @classmethod
    def unpack(cls, data: str) -> typing.Self | None:
        """This action from its wire form, or None when it is not one (wrong shape or field)."""
        m = cls._regex.fullmatch(data)
        if m is None:
            return None
        values: dict[str, object] = {}
        for name, raw in m.groupdict().items():
            if cls._kinds[name] is int:
                value = int(raw)
                if value > MAX_ID:
                    return None
                values[name] = value
            else:
                values[name] = raw
        return cls(**values)

    @classmethod
    def filter(cls, data: object) -> bool:
        """For python-telegram-bot's `CallbackQueryHandler(pattern=...)`."""
        return isinstance(data, str) and cls.unpack(data) is not None


def action(fmt: str):
    """Declare an action: `@action("rq:claim:{request}") class Claim: request: int`."""

    def wrap(cls: type) -> type[Action]:
        body = {k: v for k, v in cls.__dict__.items() if k not in ("__dict__", "__weakref__")}
        new = type(cls.__name__, (Action,), body, fmt=fmt)
        new = dataclass(frozen=True)(new)
        new._compile()
        _REGISTRY.append(new)
        return new

    return wrap


@functools.lru_cache(maxsize=4096)  # typed messages re-read the same screen's actions: parse each once
def _parse(data: str) -> Action | None:
    for cls in _REGISTRY:
        found = cls.unpack(data)
        if found is not None:
            return found
    return None


def parse(data: object) -> Action | None:
    """Any packed action back as its typed object; None for unknown, forged or malformed data."""
    if not isinstance(data, str) or len(data.encode(errors="surrogatepass")) > MAX_BYTES:
        return None
    return _parse(data)


def any_of(*classes: type[Action]) -> Callable[[object], bool]:
    """A `CallbackQueryHandler` pattern that accepts any of these actions."""
    return lambda data: isinstance(data, str) and any(c.unpack(data) is not None for c in classes)


def exactly(expected: Action) -> Callable[[object], bool]:
    """A `CallbackQueryHandler` pattern for this one action, e.g. `exactly(Menu("g"))`."""
    return lambda data: parse(data) == expected


def family(*classes: type[Action]) -> Callable[[object], bool]:
    """A pattern for any data that starts like one of these actions, valid or not: its format up to the
    last ":" before the first field ("rq:asg:" for `AssignTo`, "bc:" for `BroadcastNext`). For the handler
    that must refuse forged data its own way (a non-admin hears the admin refusal, not "out of date")."""
    heads = tuple(c._head for c in classes)
    return lambda data: isinstance(data, str) and data.startswith(heads)


# --- menu, language, guides, search, support points ---------------------------------------------
MenuItem = Literal["g", "s", "h", "p", "l"]


@action("m")
class Home:
    """The main menu."""


@action("m:{item}")
class Menu:
    """A main-menu item: g guides, s search, h ask for help, p support points, l language."""

    item: MenuItem


@action("lang:{lang}")
class SetLanguage:
    lang: Literal["vi", "en"]


@action("lang:{lang}:w")
class SetLanguageWelcome:
    """Chosen on the welcome message, which then shows the welcome again."""

    lang: Literal["vi", "en"]


@action("cat:{category}:{page}")
class Category:
    category: str
    page: int


@action("g:{guide}:open")
class GuideOpen:
    guide: str


@action("g:{guide}:{index}")
class GuideStep:
    guide: str
    index: int


@action("g:{guide}:done")
class GuideDone:
    guide: str


@action("fb:{guide}:{helpful}")
class GuideFeedback:
    guide: str
    helpful: Literal["1", "0"]


@action("ask:{guide}")
class AskAbout:
    """"Still stuck?" under a guide: the ask wizard with the topic filled in."""

    guide: str


@action("pts:near")
class PointsNear:
    pass


@action("pts:{ward}")
class PointsInWard:
    ward: str


# --- the ask wizard -------------------------------------------------------------------------------
@action("aw:t:{topic}")
class DraftTopic:
    topic: str


@action("aw:w:{ward}")
class DraftWard:
    """A ward id, or "-" for "not sure"."""

    ward: str


@action("aw:m:{mode}")
class DraftMode:
    mode: Literal["chat", "phone", "in_person", "home_visit"]


@action("aw:c:{contact}")
class DraftContact:
    contact: Literal["chat", "phone"]


@action("aw:ok")
class DraftConfirm:
    pass


@action("aw:x")
class DraftCancel:
    pass


@action("aw:go")
class DraftContinue:
    """Continue the saved draft."""


@action("aw:new")
class DraftRestart:
    """Throw the saved draft away and start again."""


# --- help requests --------------------------------------------------------------------------------
@action("rq:claim:{request}")
class Claim:
    request: int


@action("rq:msg:{request}")
class Write:
    """Write to the other side of a claimed request."""

    request: int


@action("rq:done:{request}")
class Resolve:
    request: int


@action("rq:rel:{request}")
class Release:
    request: int


@action("rq:relr:{request}:{reason}")
class ReleaseBecause:
    request: int
    reason: Literal["unreachable", "skills", "busy"]


@action("rq:card:{request}")
class Card:
    request: int


@action("rq:inp:{request}")
class InPerson:
    request: int


@action("rq:rate:{request}:{stars}")
class Rate:
    request: int
    stars: Literal["1", "2", "3", "4", "5"]


@action("rq:reopen:{request}")
class Reopen:
    request: int


@action("rq:cancel:{request}")
class CancelRequest:
    request: int


@action("rq:stop")
class StopRelay:
    """"Done, back to the menu" under a relayed message."""


@action("rq:to:{request}")
class RelayTo:
    """The answer to "which request is this for?": deliver the held message there."""

    request: int


@action("rq:sec:{request}:{send}")
class RelaySecret:
    """The answer to "this looks like a code or a password: send it anyway?" for the kept message(s)."""

    request: int
    send: Literal["1", "0"]


@action("rq:assign:{request}")
class AssignList:
    request: int


@action("rq:asg:{request}:{volunteer}")
class AssignTo:
    request: int
    volunteer: int


# --- volunteers -----------------------------------------------------------------------------------
@action("vol:w:{ward}")
class VolunteerWard:
    ward: str


@action("vol:wd")
class VolunteerWardsDone:
    pass


@action("vol:t:{topic}")
class VolunteerTopic:
    topic: str


@action("vol:td")
class VolunteerTopicsDone:
    pass


@action("vol:h:{hours}")
class VolunteerHours:
    hours: Literal["weekday", "evening", "weekend", "any"]


@action("vadm:{decision}:{volunteer}")
class Decide:
    decision: Literal["ok", "no", "pause", "resume", "remove"]
    volunteer: int


# --- campaigns ------------------------------------------------------------------------------------
@action("bc:next")
class BroadcastNext:
    pass


@action("bc:aud:{kind}")
class BroadcastAudience:
    kind: Literal["all", "ward", "locale", "volunteers"]


@action("bc:w:{index}")
class BroadcastWard:
    index: int


@action("bc:l:{lang}")
class BroadcastLanguage:
    lang: Literal["vi", "en"]


@action("bc:mode:{mode}")
class BroadcastMode:
    mode: Literal["one", "each"]


@action("bc:send")
class BroadcastSend:
    pass


@action("bc:sched")
class BroadcastSchedule:
    pass


@action("bc:cancel")
class BroadcastCancel:
    pass


@action("cmp:{op}:{campaign}")
class CampaignControl:
    """On the progress message: pause, resume, cancel, or (once finished) resend to those who failed."""

    op: Literal["pause", "resume", "cancel", "resend"]
    campaign: int


# --- privacy --------------------------------------------------------------------------------------
@action("pv:{op}")
class PrivacyChoice:
    op: Literal["phone", "data", "del", "delok", "x"]


# --- outcomes, targets, ranking (issue 16) --------------------------------------------------------
@action("oc:{request}:{outcome}")
class OutcomeToggle:
    """After resolving: tick or untick one outcome the resident achieved."""

    request: int
    outcome: str


@action("oc:none:{request}")
class OutcomeNone:
    """After resolving: nothing to count (clears any ticks)."""

    request: int


@action("oc:ok:{request}")
class OutcomeDone:
    """After resolving: the ticks are final."""

    request: int


@action("gd:{guide}:{did}")
class GuideDid:
    """"Did you do it?" after a guide rated helpful: 1 records the guide's outcome, 0 does not."""

    guide: str
    did: Literal["1", "0"]


@action("pl:rm:{target}")
class TargetRemove:
    target: int


@action("rk:{granted}")
class RankingConsent:
    """A volunteer agrees (1) or not (0) to appear by name in the admins' ranking."""

    granted: Literal["1", "0"]

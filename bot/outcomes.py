"""What changed for residents: outcomes per ward, the wards' pledges (targets) and progress, thanks.

Channel-free. An outcome (content/outcomes.toml) is counted when a volunteer ticks it after resolving a
request, or when a resident who found a guide helpful says they did it. Rows keep the ward and the local
day; the person's id only until they erase their data (bot/data/outcomes.erase_person), so what remains
is an anonymous count. Admins set targets per ward, outcome and period (thi đua pledges) and watch
progress; each month every volunteer who helped gets a personal thank-you once (thanks_sent).
"""

from __future__ import annotations

import asyncio
import io
import logging
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING

from bot import actions as A
from bot.clock import iso
from bot.content import Outcome, Ward
from bot.data import outcomes as data
from bot.data import privacy as pdata
from bot.data import requests as rdata
from bot.data import users
from bot.data import volunteers as vdata
from bot.data.outcomes import TargetRow, VolunteerFigures
from bot.i18n import N_, Translator
from bot.messaging import SendError, Transient
from bot.refusal import ADMINS_ONLY, Refused
from bot.search import match_wards
from bot.textnorm import clean, fold

if TYPE_CHECKING:
    from bot.data.users import UserRow
    from bot.services import Services

log = logging.getLogger(__name__)
RANKING_PURPOSE = "ranking"
WEEKS = 8  # the trend shows this many weeks, this one last
THANKS_DAYS = 7  # the month's thank-you goes out in the first week of the next month (after 9:00)
THANKS_HOUR = 9


class BadTarget(Refused):
    """A /targets line that cannot be read; `values` fill the msgid's {fields}."""

    def __init__(self, message: str, **values: object):
        super().__init__(message)
        self.values = values


# --- time ---------------------------------------------------------------------------------------
def today(svc: Services) -> date:
    """The local date (Asia/Ho_Chi_Minh by default): outcomes and targets count local days."""
    return svc.clock.now().astimezone(svc.settings.tz).date()


@dataclass(frozen=True)
class Month:
    first: date
    last: date
    start: str  # UTC ISO of the first local midnight
    end: str  # UTC ISO of the next month's first local midnight (excluded)

    @property
    def key(self) -> str:
        return self.first.strftime("%Y-%m")

    @property
    def label(self) -> str:
        return self.first.strftime("%m/%Y")


def month_of(day: date, tz) -> Month:
    """The local calendar month holding `day`."""
    first = day.replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)

    def utc(d: date) -> str:
        return iso(datetime(d.year, d.month, d.day, tzinfo=tz).astimezone(UTC))

    return Month(first, following - timedelta(days=1), utc(first), utc(following))


MONTH_RE = re.compile(r"^(\d{4})-(\d{2})$|^(\d{1,2})/(\d{4})$")
MONTH_LIKE = re.compile(r"^\d{1,4}[-/.]\d{1,4}$")  # what someone meant as a month, readable or not


def parse_month(text: str) -> date | None:
    """ "2026-10" or "10/2026" → 1 October 2026; None otherwise."""
    m = MONTH_RE.match(text.strip())
    if not m:
        return None
    year, month = (int(m.group(1)), int(m.group(2))) if m.group(1) else (int(m.group(4)), int(m.group(3)))
    return date(year, month, 1) if 1 <= month <= 12 and 2000 <= year <= 2100 else None


MONTH_WORDS = frozenset({"thang", "month"})
BAD_MONTH = N_("Please write the month like 10/2026 or 2026-10.")


def month_and_rest(words: list[str]) -> tuple[date | None, list[str]]:
    """The month among a command's words ("2026-10" or "10/2026") and the other words. Raises
    Refused(BAD_MONTH) for a month that cannot be read ("2026-13") or a second month, rather than take it
    for a ward's name or quietly show another month."""
    month, rest = None, []
    for word in words:
        if fold(clean(word)) in MONTH_WORDS:
            continue  # "tháng 10/2026": the word itself says nothing more
        if MONTH_LIKE.match(word.strip()):
            parsed = parse_month(word)
            if parsed is None or month is not None:
                raise Refused(BAD_MONTH)
            month = parsed
        else:
            rest.append(word)
    return month, rest


def quoted(text: str, limit: int = 40) -> str:
    """Someone's own words, shortened to fit in an answer (they may have pasted a whole page)."""
    text = clean(text)
    return text if len(text) <= limit else text[:limit - 1].rstrip() + "…"


# --- the outcome list -----------------------------------------------------------------------------
def outcome_name(svc: Services, t: Translator, outcome_id: str) -> str:
    outcome = svc.content.outcomes.get(outcome_id)
    return outcome.name.get(t.locale) if outcome else outcome_id


def for_topic(svc: Services, topic: str | None) -> list[Outcome]:
    """The outcomes offered after resolving a request on `topic`: that topic's, then those of any topic;
    every outcome when the topic has none of its own."""
    everything = list(svc.content.outcomes.values())
    own = [o for o in everything if topic in o.categories]
    if not own:
        return everything
    return own + [o for o in everything if not o.categories]


def of_guide(svc: Services, guide_id: str) -> Outcome | None:
    """The outcome a guide's end asks about ("Did you do it?"), if any."""
    return next((o for o in svc.content.outcomes.values() if guide_id in o.guides), None)


async def guide_question_due(svc: Services, user_id: int, guide_id: str) -> Outcome | None:
    """The outcome to ask "Did you do it?" about at this guide's end; None when the guide records none or
    the resident already said yes (they are not asked again)."""
    outcome = of_guide(svc, guide_id)
    if outcome is None or await data.has_guide_outcome(svc.db, guide_id, user_id):
        return None
    return outcome


# --- recording ------------------------------------------------------------------------------------
async def _resolved_by(svc: Services, request_id: int, actor: int) -> rdata.RequestRow:
    request = await rdata.get(svc.db, request_id)
    if request is None or request.status != "resolved" or request.volunteer_id != actor:
        raise Refused(N_("Only the volunteer who resolved this request can record what it achieved."))
    return request


async def chosen(svc: Services, request_id: int, actor: int) -> tuple[rdata.RequestRow, set[str]]:
    """The request and the outcomes ticked so far; refused for anyone but its resolver."""
    request = await _resolved_by(svc, request_id, actor)
    return request, await data.request_outcomes(svc.db, request_id)


async def toggle(svc: Services, request_id: int, actor: int, outcome_id: str) -> tuple[rdata.RequestRow, set[str]]:
    """Tick or untick one outcome of a resolved request (its resolver only). Each tick is saved at once,
    so leaving the question half-way keeps what was ticked."""
    request = await _resolved_by(svc, request_id, actor)
    if outcome_id not in svc.content.outcomes:
        raise Refused(N_("This button is out of date. Here is the menu."))
    async with svc.db.transaction():
        if outcome_id in await data.request_outcomes(svc.db, request_id):
            await data.remove_request_outcome(svc.db, request_id, outcome_id)
        else:
            await data.add_request_outcome(svc.db, request_id, outcome_id, request.ward, today(svc).isoformat(),
                                           actor, svc.now())
    return request, await data.request_outcomes(svc.db, request_id)


async def clear(svc: Services, request_id: int, actor: int) -> rdata.RequestRow:
    """"Nothing to count": every tick of the request goes."""
    request = await _resolved_by(svc, request_id, actor)
    await data.clear_request_outcomes(svc.db, request_id)
    return request


async def record_guide(svc: Services, user_id: int, guide_id: str) -> Outcome | None:
    """The resident did what the guide shows: its outcome counts once for them, in their ward (their own,
    or their newest request's; unknown otherwise). None when the guide records no outcome."""
    outcome = of_guide(svc, guide_id)
    if outcome is None:
        return None
    user = await users.get(svc.db, user_id)
    ward = (user.ward if user else None) or await data.latest_request_ward(svc.db, user_id)
    await data.add_guide_outcome(svc.db, guide_id, user_id, outcome.id, ward, today(svc).isoformat(), svc.now())
    return outcome


# --- targets --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TargetSpec:
    ward: str
    outcome: str
    target: int
    starts: date
    ends: date


_DATE = re.compile(r"^(\d{1,2})[/.-](\d{1,2})(?:[/.-](\d{4}))?$")
_ISO_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")


def parse_date(text: str, today_: date) -> date | None:
    """ "31/12/2026", "31-12-2026", "2026-12-31", or "31/12" (this year) → a date; None otherwise."""
    text = text.strip().removeprefix("từ ").removeprefix("tu ").removeprefix("from ").strip()
    try:
        if m := _ISO_DATE.match(text):
            return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        if m := _DATE.match(text):
            return date(int(m.group(3) or today_.year), int(m.group(2)), int(m.group(1)))
    except ValueError:
        return None
    return None


def find_ward(wards: dict[str, Ward], text: str) -> Ward | None:
    """One ward from what an admin typed: its id, its name with or without "Phường"/"Ward" and accents
    ("ben thanh", "Phường Cầu Ông Lãnh"), or words naming one ward only (an old ward name that was split
    names several, and so none)."""
    said = _folded(text)
    if text.strip() in wards:
        return wards[text.strip()]
    for ward in wards.values():
        names = {_folded(ward.name.vi), _folded(ward.name.en)}
        if said in names | {n.removeprefix("phuong ").removesuffix(" ward") for n in names}:
            return ward
    found = match_wards(text, list(wards.values())) or match_wards("phường " + text, list(wards.values()))
    return found[0] if len(found) == 1 else None


def _folded(text: str) -> str:
    return " ".join(fold(w) for w in re.findall(r"\w+", clean(text)))


def match_outcome(svc: Services, text: str) -> Outcome | None:
    """An outcome by id ("vneid-level2") or by words of its name in either language, in any order
    ("vneid muc 2", "thanh toan qr"); None when no outcome or several fit."""
    said = _folded(text)
    if not said:
        return None
    for outcome in svc.content.outcomes.values():
        if fold(text.strip()) == outcome.id or said == outcome.id.replace("-", " "):
            return outcome
    words = set(said.split())
    fits = [o for o in svc.content.outcomes.values()
            if any(words <= set(_folded(name).split()) for name in (o.name.vi, o.name.en))]
    return fits[0] if len(fits) == 1 else None


# 500, 1.000, 1,000, 1 000 000 (ASCII digits only: \d also takes other scripts' digits)
NUMBER = re.compile(r"^[0-9]{1,3}(?:([.,\s])[0-9]{3}(?:\1[0-9]{3})*)?$|^[0-9]+$")


NO_WARD = N_("I could not find one ward called “{text}”. Wards: {wards}.")  # {wards}: ward_names()


def ward_names(svc: Services, t: Translator) -> str:
    """Every ward's name in the reader's language, for answers that ask them to pick one."""
    return ", ".join(w.name.get(t.locale) for w in svc.content.wards.values())


def parse_target(svc: Services, line: str) -> TargetSpec:
    """ "Bến Thành | vneid-level2 | 500 | 31/12/2026 [| 10/10/2026]": ward (accents optional), outcome
    (id or name words), number, last day, and optionally the first day (default: today).
    Raises BadTarget naming the part that cannot be read."""
    parts = [p.strip() for p in clean(line).split("|")]
    if len(parts) not in (4, 5) or not all(parts):
        raise BadTarget(N_("Please write it in one line: ward | outcome | number | last day."))
    ward_text, outcome_text, number_text, ends_text = parts[:4]
    ward = find_ward(svc.content.wards, ward_text)
    if ward is None:
        raise BadTarget(NO_WARD, text=quoted(ward_text))
    outcome = match_outcome(svc, outcome_text)
    if outcome is None:
        raise BadTarget(N_("I could not find the outcome “{text}”. Use one of: {ids}."), text=quoted(outcome_text),
                        ids=", ".join(svc.content.outcomes))
    digits = re.sub(r"[.,\s]", "", number_text) if NUMBER.match(number_text) else ""
    if not digits or not 0 < int(digits) <= 10_000_000:
        raise BadTarget(N_("The target must be a whole number above 0, like 500."))
    now = today(svc)
    ends = parse_date(ends_text, now)
    starts = parse_date(parts[4], now) if len(parts) == 5 else now
    if ends is None or starts is None:
        raise BadTarget(N_("Please write dates as day/month/year, like 31/12/2026."))
    if ends < starts:
        if len(parts) == 4:  # the first day is today: the admin wrote a last day that has passed
            raise BadTarget(N_("The last day {day} has already passed. Write a later day, or add the first day "
                               "at the end for a past period."), day=ends.strftime("%d/%m/%Y"))
        raise BadTarget(N_("The last day is before the first day."))
    return TargetSpec(ward.id, outcome.id, int(digits), starts, ends)


def _admin(svc: Services, actor: UserRow | None) -> None:
    if not svc.is_admin(actor):
        raise Refused(ADMINS_ONLY)


async def set_target(svc: Services, actor: UserRow | None, line: str) -> tuple[TargetSpec, int]:
    """Admins only: read a /targets line and save it (the same ward, outcome and last day: updated)."""
    _admin(svc, actor)
    spec = parse_target(svc, line)
    target_id = await data.set_target(svc.db, spec.ward, spec.outcome, spec.target, spec.starts.isoformat(),
                                      spec.ends.isoformat(), actor.id, svc.now())
    log.info("target set", extra={"target": target_id, "actor": actor.id})
    return spec, target_id


async def targets(svc: Services, actor: UserRow | None) -> list[TargetRow]:
    """Admins only: every target, oldest first."""
    _admin(svc, actor)
    return await data.targets(svc.db)


async def remove_target(svc: Services, actor: UserRow | None, target_id: int) -> bool:
    _admin(svc, actor)
    return await data.remove_target(svc.db, target_id)


@dataclass(frozen=True)
class Progress:
    target: TargetRow
    done: int  # outcomes counted from its first day to its last (or to `as_of`)
    days_left: int  # from `as_of` to the last day; negative once it has ended

    @property
    def share(self) -> float:
        return self.done / self.target.target


async def progress(svc: Services, actor: UserRow | None, as_of: date | None = None,
                   within: tuple[date, date] | None = None) -> list[Progress]:
    """Admins only: each target's progress on `as_of` (default today), best share first. `within` keeps
    the targets whose period overlaps those days (a month's report)."""
    _admin(svc, actor)
    return await progress_of(svc, as_of or today(svc), within)


async def progress_of(svc: Services, as_of: date, within: tuple[date, date] | None = None) -> list[Progress]:
    """The unchecked part of `progress`, for reports made outside a chat."""
    rows = await data.targets(svc.db, (within[0].isoformat(), within[1].isoformat()) if within else None)
    found = []
    for row in rows:
        until = min(date.fromisoformat(row.ends), as_of).isoformat()
        done = await data.count_for(svc.db, row.ward, row.outcome, row.starts, until) if until >= row.starts else 0
        found.append(Progress(row, done, (date.fromisoformat(row.ends) - as_of).days))
    return sorted(found, key=lambda p: (-p.share, -p.done, p.target.id))


@dataclass(frozen=True)
class Trend:
    weeks: list[date]  # Mondays, oldest first
    per_ward: dict[str, list[int]]  # ward id ('' = not known) -> outcomes per week


async def trend(svc: Services, until: date | None = None, weeks: int = WEEKS) -> Trend:
    """Outcomes per ward per week (Monday to Sunday), the `weeks` weeks up to the one holding `until`."""
    until = until or today(svc)
    last_monday = until - timedelta(days=until.weekday())
    mondays = [last_monday - timedelta(weeks=n) for n in range(weeks - 1, -1, -1)]
    per_ward: dict[str, list[int]] = {}
    for ward, day, n in await data.per_day(svc.db, mondays[0].isoformat(), until.isoformat()):
        index = (date.fromisoformat(day) - mondays[0]).days // 7
        per_ward.setdefault(ward, [0] * weeks)[index] += n
    return Trend(mondays, per_ward)


# --- chart ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ChartInput:
    """What the progress chart shows, already in the reader's language."""

    bars: list[tuple[str, int, int]]  # "Phường Bến Thành · VNeID mức 2", done, target (ranked)
    weeks: list[str]  # "05/10" labels
    lines: dict[str, list[int]]  # ward name -> outcomes per week
    title_bars: str
    title_lines: str
    empty: str


def ward_label(svc: Services, t: Translator, ward_id: str | None) -> str:
    ward = svc.content.wards.get(ward_id or "")
    return ward.name.get(t.locale) if ward else t.gettext("Not sure")


def chart_input(svc: Services, t: Translator, items: list[Progress], weekly: Trend) -> ChartInput:
    _ = t.gettext
    bars = [(f"{ward_label(svc, t, p.target.ward)} · {outcome_name(svc, t, p.target.outcome)}", p.done,
             p.target.target) for p in items]
    lines = {ward_label(svc, t, w): counts for w, counts in sorted(weekly.per_ward.items())}
    return ChartInput(bars, [d.strftime("%d/%m") for d in weekly.weeks], lines, _("Progress against targets"),
                      _("Outcomes per week"), _("No targets yet"))


def draw_chart(chart: ChartInput, *, size: tuple[float, float] = (11, 5)) -> bytes:
    """Ranked bars of progress (share of each target, done/target written on it) beside a line per ward of
    outcomes per week; PNG bytes. matplotlib's object API on Agg with DejaVu Sans (Vietnamese glyphs)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=size, dpi=110)
    FigureCanvasAgg(fig)
    fig.set_layout_engine("tight")
    font = {"fontfamily": "DejaVu Sans"}
    left, right = fig.subplots(1, 2, gridspec_kw={"width_ratios": [3, 2]})
    bars = chart.bars[:10]
    if bars:
        labels = [_wrap(label) for label, _d, _t in bars]
        shares = [min(done / target, 1.0) * 100 for _l, done, target in bars]
        colours = ["#29bf12" if done >= target else "#2e86ab" for _l, done, target in bars]
        left.barh(labels, shares, color=colours, height=0.6)
        left.set_xlim(0, 118)
        # the best first, at the top; one or two targets keep bars of a usual thickness
        left.set_ylim(max(len(bars), 4) - 0.4, -0.6)
        for y, (_label, done, target) in enumerate(bars):
            left.text(min(done / target, 1.0) * 100 + 1, y, f"{done}/{target} · {round(done / target * 100)}%",
                      va="center", fontsize=8, **font)
        left.set_xlabel("%", **font)
    else:
        left.text(0.5, 0.5, chart.empty, ha="center", va="center", transform=left.transAxes, **font)
        left.set_xticks([])
        left.set_yticks([])
    left.set_title(chart.title_bars, **font)
    x = list(range(len(chart.weeks)))
    for name, counts in chart.lines.items():
        right.plot(x, counts, marker="o", label=_wrap(name))
    right.set_xticks(x, chart.weeks, rotation=45, fontsize=8)
    right.set_title(chart.title_lines, **font)
    right.yaxis.get_major_locator().set_params(integer=True)
    right.set_ylim(bottom=0)
    if len(chart.lines) > 3:  # many wards: the legend goes below the lines instead of over them
        right.legend(prop={"family": "DejaVu Sans", "size": 7}, loc="upper center", bbox_to_anchor=(0.5, -0.16),
                     ncol=2, frameon=False)
    elif chart.lines:
        right.legend(prop={"family": "DejaVu Sans", "size": 8})
    for label in [*left.get_yticklabels(), *right.get_xticklabels()]:
        label.set_fontfamily("DejaVu Sans")
        label.set_fontsize(8)
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def _wrap(label: str, width: int = 28) -> str:
    """Two lines at most for a long "ward · outcome" label."""
    if len(label) <= width:
        return label
    cut = label.rfind(" ", 0, width)
    cut = cut if cut > 0 else width
    rest = label[cut:].strip()
    return label[:cut] + "\n" + (rest if len(rest) <= width else rest[:width - 1] + "…")


async def chart_png(svc: Services, t: Translator, items: list[Progress], weekly: Trend) -> bytes:
    return await asyncio.to_thread(draw_chart, chart_input(svc, t, items, weekly))


# --- thanks and ranking ---------------------------------------------------------------------------
def thanks_text(t: Translator, figures: VolunteerFigures, month: Month, achieved: list[tuple[str, int]]) -> str:
    """The month's thank-you: residents helped, what they got done (outcome name and count), the rating."""
    _ = t.gettext
    lines = [_("🙏 Thank you, {name}!").format(name=figures.name),
             _("In {month} you helped {n} residents through the Digital Assistant.").format(month=month.label,
                                                                               n=t.number(figures.helped))]
    if achieved:
        lines.append(_("What they got done with your help:"))
        lines += [f"• {name}: {t.number(n)}" for name, n in achieved]
    if figures.rating is not None:
        lines.append(_("Their average rating: {rating} ⭐.").format(rating=t.number(round(figures.rating, 1))))
    lines.append(_("No one is left behind, thanks to you."))
    return "\n".join(lines)


def consent_buttons(t: Translator) -> list[list[tuple[str, str]]]:
    _ = t.gettext
    return [[(_("🏅 Yes, show my name"), A.RankingConsent("1").pack())],
            [(_("No, thank you"), A.RankingConsent("0").pack())]]


RANKING_QUESTION = N_("May ward admins see your name in the volunteers' ranking? Only admins see it. "
                      "You can change this any time with /ranking.")


async def thanks_tick(svc: Services) -> None:
    """In the first week of a month (from 9:00 on the 1st), each volunteer still active who resolved a request
    last month gets one personal thank-you with their figures. thanks_sent decides, so a restart or a second
    tick never sends it twice; a send that failed for a passing reason is tried again next tick."""
    now = svc.clock.now().astimezone(svc.settings.tz)
    if now.day > THANKS_DAYS or (now.day == 1 and now.hour < THANKS_HOUR):
        return
    month = month_of(now.date().replace(day=1) - timedelta(days=1), svc.settings.tz)
    for figures in await data.volunteer_figures(svc.db, month.start, month.end):
        volunteer = await vdata.get(svc.db, figures.volunteer_id)
        if volunteer is None or volunteer.status != "active":
            continue
        if not await data.claim_thanks(svc.db, figures.volunteer_id, month.key, svc.now()):
            continue
        t = await svc.translator(figures.volunteer_id)
        achieved = [(outcome_name(svc, t, o), n) for o, n in await data.volunteer_outcomes(
            svc.db, figures.volunteer_id, month.first.isoformat(), month.last.isoformat())]
        text = thanks_text(t, figures, month, achieved)
        buttons = None
        if await pdata.latest_consent(svc.db, figures.volunteer_id, RANKING_PURPOSE) is None:
            text += "\n\n" + t.gettext(RANKING_QUESTION)
            buttons = consent_buttons(t)
        try:
            await svc.outbox.send(figures.volunteer_id, text, buttons)
        except Transient:
            await data.unclaim_thanks(svc.db, figures.volunteer_id, month.key)
        except SendError:
            pass  # blocked the bot or gone: no retry
        else:
            log.info("monthly thanks sent", extra={"volunteer": figures.volunteer_id})


async def set_ranking_consent(svc: Services, user_id: int, granted: bool) -> None:
    """A volunteer agrees (or not) to appear by name in the admins' ranking; recorded like every consent."""
    if await vdata.get(svc.db, user_id) is None:
        raise Refused(N_("Only volunteers appear in the ranking."))
    await rdata.record_consent(svc.db, user_id, RANKING_PURPOSE, granted, svc.now())
    log.info("consent changed", extra={"user": user_id, "purpose": RANKING_PURPOSE, "granted": granted})


async def ranking_consent(svc: Services, user_id: int) -> bool | None:
    """A volunteer's newest decision (None: never asked). Refused for someone who is no volunteer."""
    if await vdata.get(svc.db, user_id) is None:
        raise Refused(N_("Only volunteers appear in the ranking."))
    return await pdata.latest_consent(svc.db, user_id, RANKING_PURPOSE)


async def ranking(svc: Services, actor: UserRow | None, month: Month) -> tuple[list[VolunteerFigures], int]:
    """Admins only: volunteers who agreed to be ranked, most helped in `month` first; and how many helped
    but are not shown (no consent)."""
    _admin(svc, actor)
    everyone = await data.volunteer_figures(svc.db, month.start, month.end)
    shown = [f for f in everyone if await pdata.latest_consent(svc.db, f.volunteer_id, RANKING_PURPOSE)]
    return shown, len(everyone) - len(shown)

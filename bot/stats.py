"""Numbers for admins: a 7-day and an all-time summary, one PNG chart, and CSV exports.

The chart is drawn with matplotlib's object API on the Agg canvas (no pyplot, no display, no global
state), in a worker thread so the bot keeps answering meanwhile. DejaVu Sans ships with matplotlib
and has every Vietnamese glyph.
"""

from __future__ import annotations

import asyncio
import csv
import io
import statistics
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from bot.clock import iso
from bot.data import audit
from bot.data import stats as data
from bot.i18n import N_, Translator

if TYPE_CHECKING:
    from bot.data.users import UserRow
    from bot.services import Services

DAYS = 7
STATUSES = ("open", "claimed", "resolved", "cancelled")
STATUS_LABELS = {"open": N_("open"), "claimed": N_("claimed"), "resolved": N_("resolved"),
                 "cancelled": N_("cancelled")}


@dataclass(frozen=True)
class RequestStats:
    filed: int
    claimed: int
    resolved: int
    open: int
    oldest_open_at: datetime | None
    median_claim_s: float | None
    median_resolve_s: float | None
    average_rating: float | None
    per_ward: list[tuple[str, int, int, int]]  # ward, filed, resolved, open


@dataclass(frozen=True)
class Period:
    new_residents: int
    top_guides: list[tuple[str, int]]
    unhelpful: list[tuple[str, int]]
    empty_searches: list[tuple[str, int]]
    requests: RequestStats


@dataclass(frozen=True)
class Report:
    week: Period
    all_time: Period


def _median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


async def _period(svc: Services, since: str | None, until: str | None = None) -> Period:
    db = svc.db
    counts = await data.request_counts(db, since, until)
    oldest = await data.oldest_open(db)
    requests = RequestStats(counts["filed"], counts["claimed"], counts["resolved"], counts["open"],
                            datetime.fromisoformat(oldest) if oldest else None,
                            _median(await data.claim_seconds(db, since, until)),
                            _median(await data.resolve_seconds(db, since, until)),
                            await data.average_rating(db, since, until),
                            await data.requests_per_ward(db, since, until))
    return Period(await data.new_residents(db, since, until), await data.top_guides(db, since, until=until),
                  await data.unhelpful_guides(db, since, until=until),
                  await data.empty_searches(db, since, until=until), requests)


async def period(svc: Services, since: datetime | None, until: datetime | None = None) -> Period:
    """The /stats figures from `since` (None: all time) to `until` (exclusive; None: now); what the web
    dashboard's Numbers page shows for its date range."""
    return await _period(svc, iso(since) if since else None, iso(until) if until else None)


async def report(svc: Services) -> Report:
    since = iso(svc.clock.now() - timedelta(days=DAYS))
    return Report(await _period(svc, since), await _period(svc, None))


def ward_name(svc: Services, t: Translator, ward_id: str | None) -> str:
    ward = svc.content.wards.get(ward_id or "")
    return ward.name.get(t.locale) if ward else t.gettext("Not sure")


# --- chart ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ChartData:
    days: list[str]  # local dates, oldest first
    series: dict[str, list[int]]  # status -> count per day
    wards: list[tuple[str, int]]  # ward name (in the reader's language) -> requests


def _offset(svc: Services) -> str:
    delta = svc.clock.now().astimezone(svc.settings.tz).utcoffset() or timedelta()
    return f"{int(delta.total_seconds() // 60):+d} minutes"


async def chart_data(svc: Services, t: Translator) -> ChartData:
    now = svc.clock.now().astimezone(svc.settings.tz)
    days = [(now.date() - timedelta(days=n)).isoformat() for n in range(DAYS - 1, -1, -1)]
    start = datetime.fromisoformat(days[0]).replace(tzinfo=svc.settings.tz)
    since = iso(start)
    series = {s: [0] * DAYS for s in STATUSES}
    for day, status, n in await data.requests_per_day(svc.db, since, _offset(svc)):
        if day in days and status in series:
            series[status][days.index(day)] = n
    wards = [(ward_name(svc, t, w), n) for w, n, _r, _o in await data.requests_per_ward(svc.db, since)]
    return ChartData(days, series, wards)


def draw_chart(chart: ChartData, t: Translator) -> bytes:
    """Per day (stacked by status) and per ward, labelled in the admin's language; PNG bytes."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    _ = t.gettext
    fig = Figure(figsize=(10, 4.5), dpi=100)
    FigureCanvasAgg(fig)
    fig.set_layout_engine("tight")
    font = {"fontfamily": "DejaVu Sans"}
    left, right = fig.subplots(1, 2, gridspec_kw={"width_ratios": [3, 2]})
    labels = [f"{d[8:10]}/{d[5:7]}" for d in chart.days]
    colours = {"open": "#e4572e", "claimed": "#f3a712", "resolved": "#29bf12", "cancelled": "#a8a8a8"}
    bottom = [0] * len(labels)
    for key, values in chart.series.items():
        left.bar(labels, values, bottom=bottom, color=colours[key], label=_(STATUS_LABELS[key]))
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    left.set_title(_("Help requests per day"), **font)
    left.legend(prop={"family": "DejaVu Sans"})
    left.yaxis.get_major_locator().set_params(integer=True)
    wards = chart.wards[:10][::-1]
    right.barh([w for w, _n in wards] or [""], [n for _w, n in wards] or [0], color="#2e86ab")
    right.set_title(_("Per ward (last 7 days)"), **font)
    right.xaxis.get_major_locator().set_params(integer=True)
    for label in [*left.get_xticklabels(), *right.get_yticklabels()]:
        label.set_fontfamily("DejaVu Sans")
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


async def chart_png(svc: Services, t: Translator) -> bytes:
    chart = await chart_data(svc, t)
    return await asyncio.to_thread(draw_chart, chart, t)


# --- export -----------------------------------------------------------------------------------
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")  # OWASP: a spreadsheet evaluates a cell starting so
TEXT_COLUMNS = frozenset({"phone"})  # numbers a spreadsheet would mangle (leading 0, "+", 11 digits)


def safe_cell(value: object, *, text: bool = False) -> object:
    """One CSV cell as a spreadsheet should show it, never evaluate it (OWASP CSV injection): a text that
    starts with = + - @ tab or CR gets a leading apostrophe; with `text`, any value (a phone) is written
    as text the same way, so "+84901234567" and "0901234567" keep their digits."""
    if value is None:
        return ""
    if text or (isinstance(value, str) and value.startswith(FORMULA_STARTS)):
        return "'" + str(value)
    return value


def write_csv(header: list[str], rows: list[tuple]) -> bytes:
    """UTF-8 CSV with BOM (spreadsheet apps then read Vietnamese), every cell made safe: every export uses it."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([safe_cell(h) for h in header])
    text = [h in TEXT_COLUMNS for h in header]
    writer.writerows([safe_cell(v, text=t and v is not None) for v, t in zip(row, text, strict=True)]
                     for row in rows)
    return out.getvalue().encode("utf-8-sig")

async def export_csv(svc: Services, actor: UserRow | None, contacts: bool) -> tuple[str, bytes] | None:
    """(file name, UTF-8 CSV with BOM so spreadsheet apps read Vietnamese); None if not allowed.

    Without `contacts` there are no names or phone numbers; with it, an audit row records who took them.
    """
    if not svc.is_admin(actor):
        return None
    assert actor is not None
    header, rows = await data.request_rows(svc.db, contacts)
    kind = "requests"
    if contacts:
        await audit.record(svc.db, actor.id, "export_contacts", f"{kind}:{len(rows)}", svc.now())
    day = svc.clock.now().astimezone(svc.settings.tz).strftime("%Y%m%d")
    name = f"{kind}-{'contacts-' if contacts else ''}{day}.csv"
    return name, write_csv(header, rows)

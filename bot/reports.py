"""Printable things for ward officers: the month's one-page A4 report (PDF) and certificates of thanks.

PDFs are written with fpdf2, PNGs with Pillow; both embed DejaVu Sans, which ships with matplotlib and has
every Vietnamese glyph, so nothing depends on the fonts of the machine. Drawing runs in a worker thread.
What a page says is built first as plain lines (`ReportData`, `CertificateText`), then drawn, so tests can
read exactly what was placed on the page.
"""

from __future__ import annotations

import asyncio
import io
import statistics
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from bot import outcomes
from bot.actions import MAX_ID
from bot.data import outcomes as data
from bot.data import volunteers as vdata
from bot.i18n import N_, Translator
from bot.refusal import ADMINS_ONLY, Refused

if TYPE_CHECKING:
    from bot.data.users import UserRow
    from bot.services import Services


def font_path(bold: bool = False) -> Path:
    """DejaVu Sans from matplotlib's own data (always installed with it)."""
    import matplotlib

    name = "DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"
    return Path(matplotlib.get_data_path()) / "fonts" / "ttf" / name


def _duration(t: Translator, seconds: float | None) -> str:
    if seconds is None:
        return "—"
    minutes = round(seconds / 60)
    if minutes < 120:
        return t.gettext("{n} min").format(n=t.number(minutes))
    return t.gettext("{n} h").format(n=t.number(round(seconds / 3600, 1)))


# --- the month's report ---------------------------------------------------------------------------
CHART_SIZE = (10.0, 5.4)  # inches: the chart fills the page's lower part
CHART_MIN_HEIGHT = 85  # mm: a smaller chart cannot be read on paper


@dataclass(frozen=True)
class ReportData:
    """Everything on the report's page, already in the reader's language."""

    title: str
    place: str
    made: str
    outcomes_title: str
    outcome_header: list[str]  # "Outcome", ward names…, "Total"
    outcome_rows: list[list[str]]
    requests_title: str
    request_lines: list[tuple[str, str]]  # label, figure
    pledges_title: str
    pledge_lines: list[str]
    pledges_more: str  # "… and {n} more targets", for the pledges the page has no room for
    chart_png: bytes
    footer: str


async def report_data(svc: Services, t: Translator, month_first: date, ward: str | None) -> ReportData:
    """The figures of one local calendar month, for one ward or (ward None) the whole area."""
    _ = t.gettext
    month = outcomes.month_of(month_first, svc.settings.tz)
    counted = await data.counts(svc.db, month.first.isoformat(), month.last.isoformat(), ward)
    wards = [ward] if ward else [w for w in svc.content.wards] + ([""] if any(w == "" for w, _o, _n in counted)
                                                                  else [])
    by = {(w, o): n for w, o, n in counted}
    header = [_("Outcome")] + ([] if ward else [_short(outcomes.ward_label(svc, t, w)) for w in wards]) + [_("Total")]
    rows = []
    for o in svc.content.outcomes.values():
        per = [by.get((w, o.id), 0) for w in wards]
        rows.append([o.name.get(t.locale)] + ([] if ward else [t.number(n) for n in per]) + [t.number(sum(per))])
    totals = [sum(by.get((w, o), 0) for o in svc.content.outcomes) for w in wards]
    rows.append([_("All outcomes")] + ([] if ward else [t.number(n) for n in totals]) + [t.number(sum(totals))])
    req = await data.month_requests(svc.db, month.start, month.end, ward)
    rating = "—" if req.rating is None else _("{rating} of 5 ({n} ratings)").format(
        rating=t.number(round(req.rating, 1)), n=t.number(req.ratings))
    request_lines = [(_("Help requests filed"), t.number(req.filed)),
                     (_("Residents helped (requests resolved)"), t.number(req.helped)),
                     (_("Median wait until a volunteer took the request"),
                      _duration(t, statistics.median(req.wait_seconds) if req.wait_seconds else None)),
                     (_("Average rating"), rating),
                     (_("Volunteers who helped"), t.number(req.volunteers))]
    end = min(month.last, outcomes.today(svc))
    items = [p for p in await outcomes.progress_of(svc, end, (month.first, month.last))
             if ward is None or p.target.ward == ward]
    pledge_lines = [_("{ward} · {outcome}: {done} of {target} ({share}%) by {ends}").format(
        ward=outcomes.ward_label(svc, t, p.target.ward), outcome=outcomes.outcome_name(svc, t, p.target.outcome),
        done=t.number(p.done), target=t.number(p.target.target), share=t.number(round(p.share * 100)),
        ends=date.fromisoformat(p.target.ends).strftime("%d/%m/%Y")) for p in items]
    weekly = await outcomes.trend(svc, end)
    if ward:
        weekly = outcomes.Trend(weekly.weeks, {w: c for w, c in weekly.per_ward.items() if w == ward})
    chart = outcomes.chart_input(svc, t, items, weekly)
    png = await asyncio.to_thread(outcomes.draw_chart, chart, size=CHART_SIZE)
    place = outcomes.ward_label(svc, t, ward) if ward else _("All wards ({n})").format(n=len(svc.content.wards))
    return ReportData(
        title=_("Digital Assistant · Report for {month}").format(month=month.label), place=place,
        made=_("Made on {day}. Counts only, without names.").format(day=outcomes.today(svc).strftime("%d/%m/%Y")),
        outcomes_title=_("What residents got done"), outcome_header=header, outcome_rows=rows,
        requests_title=_("Help requests and volunteers"), request_lines=request_lines,
        pledges_title=_("Progress against pledges (targets)"),
        pledge_lines=pledge_lines or [_("No targets for this month. Set them with /targets.")],
        pledges_more=_("… and {n} more targets: see /progress"),
        chart_png=png,
        footer=_("No one is left behind. Made by the Digital Assistant from the bot's anonymous counts."))


def _short(ward_name: str) -> str:
    """ "Phường Bến Thành" → "Bến Thành" for a narrow column."""
    for prefix in ("Phường ", "phường "):
        if ward_name.startswith(prefix):
            return ward_name[len(prefix):]
    return ward_name.removesuffix(" Ward")


def render_report(report: ReportData) -> bytes:
    """One A4 page: title, outcomes table, request figures, pledges, chart, footer. PDF bytes."""
    from fpdf import FPDF
    from fpdf.enums import MethodReturnValue
    from fpdf.fonts import FontFace

    pdf = FPDF(format="A4", unit="mm")
    pdf.set_auto_page_break(False)
    pdf.set_margins(15, 12, 15)
    pdf.add_font("DejaVu", "", str(font_path()))
    pdf.add_font("DejaVu", "B", str(font_path(bold=True)))
    pdf.set_title(report.title)
    pdf.add_page()
    pdf.set_fill_color(46, 134, 171)
    pdf.rect(0, 0, 210, 6, style="F")
    pdf.set_font("DejaVu", "B", 17)
    pdf.cell(0, 10, report.title, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", "B", 13)
    pdf.set_text_color(46, 134, 171)
    pdf.cell(0, 7, report.place, new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(90, 90, 90)
    pdf.set_font("DejaVu", "", 8.5)
    pdf.cell(0, 5, report.made, new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(0, 0, 0)

    def heading(text: str) -> None:
        pdf.ln(2.5)
        pdf.set_font("DejaVu", "B", 11.5)
        pdf.cell(0, 7, text, new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("DejaVu", "", 9)

    heading(report.outcomes_title)
    columns = len(report.outcome_header) - 1
    first = 62 if columns > 1 else 140
    others = (180 - first) / columns
    # ward names wrap between words, never inside one ("Thàn/h"): the heading shrinks until its longest word fits
    head_size = 9.0
    pdf.set_font("DejaVu", "B", head_size)
    longest = max((w for label in report.outcome_header[1:] for w in label.split()), key=pdf.get_string_width,
                  default="")
    while head_size > 6 and pdf.get_string_width(longest) > others - 2 * pdf.c_margin - 0.5:
        head_size -= 0.5
        pdf.set_font_size(head_size)
    pdf.set_font("DejaVu", "", 9)
    pdf.set_fill_color(255, 255, 255)
    pdf.set_draw_color(200, 200, 200)
    with pdf.table(col_widths=(first, *[others] * columns), line_height=5.2,
                   text_align=("LEFT", *["RIGHT"] * columns),
                   headings_style=FontFace(emphasis="BOLD", size_pt=head_size, fill_color=(225, 238, 245)),
                   cell_fill_color=(246, 248, 250), cell_fill_mode="ROWS",
                   borders_layout="HORIZONTAL_LINES") as table:
        rows = [report.outcome_header, *report.outcome_rows]
        for n, values in enumerate(rows):
            row = table.row(style=FontFace(emphasis="BOLD") if 0 < n == len(rows) - 1 else None)
            for value in values:
                row.cell(value)
    heading(report.requests_title)
    for label, figure in report.request_lines:
        pdf.cell(120, 5.5, label)
        pdf.set_font("DejaVu", "B", 9)
        pdf.cell(0, 5.5, figure, new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("DejaVu", "", 9)
    heading(report.pledges_title)
    # as many pledges as leave the chart a readable size; the others are counted, never silently dropped
    limit = 297 - 14 - CHART_MIN_HEIGHT - 2
    lines = report.pledge_lines
    for n, line in enumerate(lines):
        height = pdf.multi_cell(0, 5, "• " + line, align="L", dry_run=True, output=MethodReturnValue.HEIGHT)
        left = len(lines) - n
        if pdf.get_y() + height + (5 if left > 1 else 0) > limit and n > 0:
            pdf.multi_cell(0, 5, report.pledges_more.format(n=left), align="L", new_x="LMARGIN", new_y="NEXT")
            break
        pdf.multi_cell(0, 5, "• " + line, align="L", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    room = 297 - 14 - pdf.get_y()  # what is left above the footer
    width = min(180.0, room * CHART_SIZE[0] / CHART_SIZE[1])
    pdf.image(io.BytesIO(report.chart_png), x=(210 - width) / 2, w=width)
    pdf.set_y(-13)
    pdf.set_font("DejaVu", "", 8)
    pdf.set_text_color(90, 90, 90)
    pdf.cell(0, 5, report.footer, align="C")
    return bytes(pdf.output())


async def report_for(svc: Services, actor: UserRow | None, t: Translator, month_first: date,
                     ward: str | None) -> tuple[str, bytes]:
    """/report: admins only (Refused otherwise); (file name, PDF bytes)."""
    if not svc.is_admin(actor):
        raise Refused(ADMINS_ONLY)
    return await report_pdf(svc, t, month_first, ward)


async def report_pdf(svc: Services, t: Translator, month_first: date, ward: str | None) -> tuple[str, bytes]:
    """(file name, PDF bytes) of the month's report, for `report_for` and the command line (which reads the
    database file directly, as its operator)."""
    report = await report_data(svc, t, month_first, ward)
    body = await asyncio.to_thread(render_report, report)
    return f"report-{month_first.strftime('%Y-%m')}{'-' + ward if ward else ''}.pdf", body


# --- certificates of thanks -----------------------------------------------------------------------
@dataclass(frozen=True)
class Line:
    text: str
    size: float  # points on the PDF page; the PNG scales them
    bold: bool = False
    colour: tuple[int, int, int] = (30, 30, 30)


@dataclass(frozen=True)
class CertificateText:
    lines: list[Line]
    signature: str
    place_date: str


@dataclass(frozen=True)
class Certificate:
    name: str  # file name without extension
    who: str
    text: CertificateText
    png: bytes
    pdf: bytes


SHOWN_KINDS = 4  # outcomes named on a certificate, the most frequent first
NOBODY_HELPED = N_("In {month}, {who} helped no residents through the Digital Assistant yet, so there is no "
                   "certificate. Try another month: add it at the end, like 2026-10.")


class NobodyHelped(Refused):
    """No certificate: nobody was helped in that month; `values` fill the msgid's {fields}."""

    def __init__(self, message: str, **values: object):
        super().__init__(message)
        self.values = values


RED = (176, 30, 35)
GOLD = (191, 144, 0)
NOT_FOUND = N_("I could not find that volunteer or ward. Write a volunteer's number (see /ranking) or a ward's "
               "name.")


def certificate_text(t: Translator, who: str, kind_line: str, month: outcomes.Month, helped: int,
                     achieved: list[tuple[str, int]], rating: float | None, today: date) -> CertificateText:
    """The certificate's words (in the translator's language; Vietnamese when printed for a ward)."""
    _ = t.gettext
    lines = [Line(_("Digital Assistant · Community digital technology teams"), 13, colour=(90, 90, 90)),
             Line(_("CERTIFICATE OF THANKS"), 30, bold=True, colour=RED),
             Line(_("With warm thanks to"), 14),
             Line(who, 28, bold=True, colour=(20, 60, 110)),
             Line(kind_line, 14),
             Line(_("for helping {n} residents use digital services in {month}.").format(
                 n=t.number(helped), month=month.label), 14)]
    if achieved:
        total = sum(n for _name, n in achieved)
        lines.append(Line(_("Residents got {n} things done with this help:").format(n=t.number(total)), 12))
        named = [f"{name}: {t.number(n)}" for name, n in achieved[:SHOWN_KINDS]]
        if len(achieved) > SHOWN_KINDS:  # the list adds up to the total: the rest summed, not dropped
            named.append(_("and {n} other things").format(n=t.number(sum(n for _name, n in achieved[SHOWN_KINDS:]))))
        lines.append(Line("; ".join(named), 11))
    if rating is not None:
        lines.append(Line(_("Average rating from residents: {rating} of 5").format(
            rating=t.number(round(rating, 1))), 12))
    lines.append(Line(_("“No one is left behind”"), 13, colour=GOLD))
    place_date = _("Ho Chi Minh City, {day}").format(day=today.strftime("%d/%m/%Y"))
    return CertificateText(lines, _("On behalf of the ward"), place_date)


def draw_certificate_png(text: CertificateText, width: int = 1754) -> bytes:
    """A4 landscape at 150 dpi (1754 × 1240): a double border and the lines centred. PNG bytes."""
    from PIL import Image, ImageDraw, ImageFont

    height = round(width * 210 / 297)
    scale = width / 297 / 72 * 25.4 * 1.0  # PDF points → pixels at this width
    image = Image.new("RGB", (width, height), (255, 253, 245))
    draw = ImageDraw.Draw(image)
    m = round(width * 0.03)
    draw.rectangle((m, m, width - m, height - m), outline=RED, width=max(4, width // 300))
    draw.rectangle((m * 1.6, m * 1.6, width - m * 1.6, height - m * 1.6), outline=GOLD, width=max(2, width // 700))
    y = height * 0.12
    for line in text.lines:
        font = ImageFont.truetype(str(font_path(line.bold)), round(line.size * scale))
        box = draw.textbbox((0, 0), line.text, font=font)
        w = box[2] - box[0]
        if w > width * 0.82:  # a long line of figures: smaller rather than off the page
            font = ImageFont.truetype(str(font_path(line.bold)), round(line.size * scale * width * 0.82 / w))
            box = draw.textbbox((0, 0), line.text, font=font)
            w = box[2] - box[0]
        draw.text(((width - w) / 2, y), line.text, font=font, fill=line.colour)
        y += (box[3] - box[1]) + line.size * scale * 0.9
    small = ImageFont.truetype(str(font_path()), round(12 * scale))
    bold = ImageFont.truetype(str(font_path(True)), round(12 * scale))
    right = width * 0.72
    draw.text((right, height * 0.78), text.place_date, font=small, fill=(30, 30, 30), anchor="mm")
    draw.text((right, height * 0.82), text.signature, font=bold, fill=(30, 30, 30), anchor="mm")
    buf = io.BytesIO()
    image.save(buf, format="PNG", optimize=True)
    return buf.getvalue()


def draw_certificate_pdf(text: CertificateText) -> bytes:
    """The same certificate as a one-page A4 landscape PDF."""
    from fpdf import FPDF

    pdf = FPDF(orientation="landscape", format="A4", unit="mm")
    pdf.set_auto_page_break(False)
    pdf.add_font("DejaVu", "", str(font_path()))
    pdf.add_font("DejaVu", "B", str(font_path(bold=True)))
    pdf.set_title(text.lines[1].text if len(text.lines) > 1 else "")
    pdf.add_page()
    pdf.set_fill_color(255, 253, 245)
    pdf.rect(0, 0, 297, 210, style="F")
    pdf.set_draw_color(*RED)
    pdf.set_line_width(1.2)
    pdf.rect(9, 9, 279, 192)
    pdf.set_draw_color(*GOLD)
    pdf.set_line_width(0.5)
    pdf.rect(14, 14, 269, 182)
    pdf.set_y(26)
    for line in text.lines:
        pdf.set_font("DejaVu", "B" if line.bold else "", line.size)
        while pdf.get_string_width(line.text) > 240 and pdf.font_size_pt > 7:
            pdf.set_font_size(pdf.font_size_pt - 0.5)
        pdf.set_text_color(*line.colour)
        pdf.cell(0, line.size * 0.5, line.text, align="C", new_x="LMARGIN", new_y="NEXT")
        pdf.ln(line.size * 0.18)
    pdf.set_text_color(30, 30, 30)
    pdf.set_font("DejaVu", "", 12)
    pdf.set_xy(170, 162)
    pdf.cell(90, 6, text.place_date, align="C")
    pdf.set_font("DejaVu", "B", 12)
    pdf.set_xy(170, 169)
    pdf.cell(90, 6, text.signature, align="C")
    return bytes(pdf.output())


async def certificate(svc: Services, actor: UserRow | None, who: str, month_first: date) -> Certificate:
    """Admins only: a certificate of thanks, in Vietnamese, for a volunteer (`who` = their number) or a
    ward's team (`who` = the ward's name, accents optional), with the month's figures. Raises Refused."""
    if not svc.is_admin(actor):
        raise Refused(ADMINS_ONLY)
    t = svc.i18n.get("vi")
    _ = t.gettext
    month = outcomes.month_of(month_first, svc.settings.tz)
    today = outcomes.today(svc)
    counts: dict[str, int] = {}
    who = who.strip()
    if who.isascii() and who.isdigit():
        volunteer = await vdata.get(svc.db, int(who)) if int(who) <= MAX_ID else None
        if volunteer is None:
            raise Refused(NOT_FOUND)
        figures = await data.volunteer_figures(svc.db, month.start, month.end, only=volunteer.user_id)
        helped = figures[0].helped if figures else 0
        rating = figures[0].rating if figures else None
        for outcome_id, n in await _outcomes_of_volunteer(svc, volunteer.user_id, month):
            counts[outcome_id] = n
        wards = ", ".join(outcomes.ward_label(svc, t, w) for w in volunteer.wards)
        kind = _("Volunteer of the community digital technology team, {wards}").format(wards=wards) if wards else \
            _("Volunteer of the community digital technology team")
        name, shown = f"certificate-{volunteer.user_id}-{month.key}", volunteer.display_name
    else:
        ward = outcomes.find_ward(svc.content.wards, who)
        if ward is None:
            raise Refused(NOT_FOUND)
        figures = await data.volunteer_figures(svc.db, month.start, month.end, ward=ward.id)
        helped = sum(f.helped for f in figures)
        rated = [f.rating for f in figures if f.rating is not None]
        rating = sum(rated) / len(rated) if rated else None
        for outcome_id, n in await data.ward_request_outcomes(svc.db, month.start, month.end, ward.id):
            counts[outcome_id] = n  # with the team's help only: a guide's "I did it" is not theirs
        kind = _("and its {n} volunteers").format(n=t.number(len(figures)))
        shown = _("The community digital technology team of {ward}").format(ward=ward.name.get("vi"))
        name = f"certificate-{ward.id}-{month.key}"
    if helped == 0:  # a certificate saying "helped 0 residents" thanks no one
        raise NobodyHelped(NOBODY_HELPED, who=shown, month=month.label)
    achieved = [(outcomes.outcome_name(svc, t, o), n) for o, n in sorted(counts.items(), key=lambda kv: -kv[1]) if n]
    text = certificate_text(t, shown, kind, month, helped, achieved, rating, today)
    png = await asyncio.to_thread(draw_certificate_png, text)
    pdf = await asyncio.to_thread(draw_certificate_pdf, text)
    return Certificate(name, shown, text, png, pdf)


async def _outcomes_of_volunteer(svc: Services, volunteer_id: int, month: outcomes.Month) -> list[tuple[str, int]]:
    return await data.volunteer_outcomes(svc.db, volunteer_id, month.first.isoformat(), month.last.isoformat())



def _unwritable(target: Path) -> str | None:
    """Why the report cannot be written there, or None."""
    if target.is_dir():
        return "it is a folder"
    return None if target.parent.is_dir() else "no such folder"


async def run_report(settings, month_text: str, ward_text: str | None, lang: str, output: str) -> int:
    """The `report` command: read the database, write the PDF, print one line. Returns the exit code;
    a bad month, ward or database is one line on stderr (StartupError for the database)."""
    import sys

    from bot.clock import Clock
    from bot.content import load
    from bot.data import Database
    from bot.i18n import I18n
    from bot.search import SearchIndex
    from bot.services import Services

    month = outcomes.parse_month(month_text)
    if month is None:
        print(f"--month must look like 2026-10, got {month_text!r}", file=sys.stderr)
        return 2
    content = load(settings.content_dir)
    ward = None
    if ward_text:
        found = outcomes.find_ward(content.wards, ward_text)
        if found is None:
            print(f"--ward: no single ward matches {ward_text!r}; ids: {', '.join(content.wards)}", file=sys.stderr)
            return 2
        ward = found.id
    if not settings.database_url and not settings.database_path.exists():
        print(f"No database at {settings.database_path}", file=sys.stderr)
        return 1
    target = Path(output)
    if problem := _unwritable(target):  # said before the work, not after
        print(f"Cannot write the report to {output}: {problem}", file=sys.stderr)
        return 1
    db = await Database.open(settings.database)
    try:
        i18n = I18n(settings.default_locale, settings.tz)
        # nothing is sent from here: the services get no outbox
        svc = Services(settings, db, content, SearchIndex(list(content.guides.values())), i18n, Clock(),
                       outbox=None)  # type: ignore[arg-type]
        _name, body = await report_pdf(svc, i18n.get(lang), month, ward)
    finally:
        await db.close()
    try:
        await asyncio.to_thread(target.write_bytes, body)
    except OSError as exc:  # no permission, disk full: one line, not a traceback
        print(f"Cannot write the report to {output}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    print(f"Report for {month.strftime('%m/%Y')} written to {output} ({len(body)} bytes)")
    return 0

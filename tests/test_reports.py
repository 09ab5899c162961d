"""The month's report (PDF) and certificates of thanks (PNG and PDF): what is on the page."""

import io
import re
import shutil
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from PIL import Image
from pypdf import PdfReader

from bot import help_requests, outcomes, reports
from bot.__main__ import main
from bot.clock import FakeClock
from bot.data import outcomes as odata
from bot.data import users
from bot.i18n import I18n
from bot.refusal import Refused
from tests.conftest import ADMIN, ROOT, Harness, make_settings, open_bot
from tests.handlers.test_requests import file_request, make_volunteer

V = 2001


def pdf_text(body: bytes) -> tuple[PdfReader, str]:
    reader = PdfReader(io.BytesIO(body))
    return reader, "\n".join(page.extract_text() for page in reader.pages)


async def seed(bot: Harness) -> None:
    """November 2026: a resolved request in Bến Thành with an outcome, outcomes in two other wards, a
    target; and one outcome on 1 December (local)."""
    svc = bot.svc
    await make_volunteer(bot, V, name="Nguyễn Thị Lan")
    request = await file_request(bot)
    await help_requests.claim(svc, request.id, V)
    await help_requests.resolve(svc, request.id, V)
    await help_requests.rate(svc, request.id, 1001, 5)
    await outcomes.toggle(svc, request.id, V, "vneid-level2")
    now = svc.now()
    for n, (ward, outcome) in enumerate([("cau-ong-lanh", "qr-payment"), ("tan-dinh", "vneid-level1"),
                                         ("cau-ong-lanh", "qr-payment")]):
        await odata.add_guide_outcome(svc.db, f"g{n}", 5000 + n, outcome, ward, "2026-11-15", now)
    await odata.add_guide_outcome(svc.db, "g9", 5009, "qr-payment", "cau-ong-lanh", "2026-12-01", now)
    await odata.set_target(svc.db, "cau-ong-lanh", "qr-payment", 10, "2026-10-10", "2026-12-31", ADMIN, now)


@pytest.fixture
async def bot(settings):
    # 30/11/2026 20:00 in Ho Chi Minh City
    async with open_bot(settings, FakeClock(datetime(2026, 11, 30, 13, 0, tzinfo=UTC))) as harness:
        yield harness


async def test_report_is_one_a4_page_with_ward_names_and_figures(bot: Harness):
    await seed(bot)
    t = bot.svc.i18n.get("vi")
    name, body = await reports.report_pdf(bot.svc, t, date(2026, 11, 1), None)
    assert name == "report-2026-11.pdf"
    reader, text = pdf_text(body)
    assert len(reader.pages) == 1
    box = reader.pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (595, 842)  # A4 in points
    for expected in ("Trợ lý số · Báo cáo tháng 11/2026", "Tất cả các phường (4)", "Bến Thành", "Cầu Ông Lãnh",
                     "Tân Định", "Có tài khoản VNeID mức 2", "Thanh toán bằng mã QR lần đầu",
                     "Người dân được giúp (yêu cầu đã giải quyết)", "Tình nguyện viên đã giúp",
                     "Phường Cầu Ông Lãnh · Thanh toán bằng mã QR lần đầu: 2/10 (20%), hạn 31/12/2026"):
        assert expected in text, expected
    fonts = {str(f.get("/BaseFont")) for f in reader.pages[0]["/Resources"]["/Font"].get_object().values()}
    assert any("DejaVu" in f for f in fonts)  # embedded, not the reader's fonts


async def test_report_counts_local_days_of_the_month_only(bot: Harness):
    await seed(bot)
    t = bot.svc.i18n.get("vi")
    november = await reports.report_data(bot.svc, t, date(2026, 11, 1), None)
    assert november.outcome_header == ["Kết quả", "Sài Gòn", "Tân Định", "Bến Thành", "Cầu Ông Lãnh", "Tổng"]
    qr = next(r for r in november.outcome_rows if r[0] == "Thanh toán bằng mã QR lần đầu")
    assert qr == ["Thanh toán bằng mã QR lần đầu", "0", "0", "0", "2", "2"]  # 1/12 is December's
    assert november.outcome_rows[-1] == ["Tất cả kết quả", "0", "1", "1", "2", "4"]
    assert dict(november.request_lines)["Người dân được giúp (yêu cầu đã giải quyết)"] == "1"
    assert dict(november.request_lines)["Đánh giá trung bình"].startswith("5/5")
    december = await reports.report_data(bot.svc, t, date(2026, 12, 1), "cau-ong-lanh")
    assert december.place == "Phường Cầu Ông Lãnh"
    assert december.outcome_header == ["Kết quả", "Tổng"]
    assert ["Thanh toán bằng mã QR lần đầu", "1"] in december.outcome_rows


async def test_report_command_line(bot: Harness, tmp_path):
    await seed(bot)
    out = tmp_path / "report.pdf"
    assert await reports.run_report(bot.svc.settings, "2026-11", "ben thanh", "vi", str(out)) == 0
    _reader, text = pdf_text(out.read_bytes())
    assert "Phường Bến Thành" in text and "Báo cáo tháng 11/2026" in text
    assert await reports.run_report(bot.svc.settings, "2026-11", "Hà Nội", "vi", str(out)) == 2


def test_report_command_refuses_a_bad_month_in_one_line(tmp_path, capsys):
    assert main(["report", "--month", "2026-13", "-o", str(tmp_path / "x.pdf")]) == 2
    assert capsys.readouterr().err.strip() == "--month must look like 2026-10, got '2026-13'"


async def test_certificate_for_a_volunteer_png_and_pdf(bot: Harness):
    await seed(bot)
    admin = await users.touch(bot.svc.db, ADMIN, "Cán bộ", None, bot.svc.now())
    made = await reports.certificate(bot.svc, admin, "2001", date(2026, 11, 1))
    words = [line.text for line in made.text.lines]
    assert "Nguyễn Thị Lan" in words and "THƯ CẢM ƠN" in words
    assert "Tình nguyện viên Tổ công nghệ số cộng đồng, Phường Bến Thành" in words
    assert "đã giúp 1 người dân dùng dịch vụ số trong tháng 11/2026." in words
    image = Image.open(io.BytesIO(made.png))
    image.load()
    assert image.size == (1754, 1240)
    assert len(image.getcolors(maxcolors=100_000) or []) > 50  # text and borders drawn, not a blank page
    reader, text = pdf_text(made.pdf)
    assert len(reader.pages) == 1 and "Nguyễn Thị Lan" in text and "Phường Bến Thành" in text


async def test_certificate_for_a_ward_team_and_refusals(bot: Harness):
    await seed(bot)
    admin = await users.touch(bot.svc.db, ADMIN, "Cán bộ", None, bot.svc.now())
    # residents of Cầu Ông Lãnh did two things alone, after a guide: no thanks "for helping 0 residents"
    with pytest.raises(reports.NobodyHelped):
        await reports.certificate(bot.svc, admin, "cau ong lanh", date(2026, 11, 1))
    made = await reports.certificate(bot.svc, admin, "ben thanh", date(2026, 11, 1))
    words = [line.text for line in made.text.lines]
    assert "Tổ công nghệ số cộng đồng Phường Bến Thành" in words
    assert "Nhờ đó người dân đã làm được 1 việc:" in words and "Có tài khoản VNeID mức 2: 1" in words
    # guide outcomes in Bến Thành would not count as the team's: only the request's one does
    await odata.add_guide_outcome(bot.svc.db, "g7", 5007, "qr-payment", "ben-thanh", "2026-11-20", bot.svc.now())
    again = await reports.certificate(bot.svc, admin, "ben thanh", date(2026, 11, 1))
    assert "Nhờ đó người dân đã làm được 1 việc:" in [line.text for line in again.text.lines]
    _reader, text = pdf_text(made.pdf)
    assert "Phường Bến Thành" in text
    resident = await users.get(bot.svc.db, 1001)
    with pytest.raises(Refused):
        await reports.certificate(bot.svc, resident, "2001", date(2026, 11, 1))
    with pytest.raises(Refused):
        await reports.certificate(bot.svc, admin, "Hà Nội", date(2026, 11, 1))


async def test_report_command_line_names_an_output_it_cannot_write_in_one_line(bot: Harness, tmp_path, capsys):
    await seed(bot)
    missing = tmp_path / "no-such-folder" / "report.pdf"
    assert await reports.run_report(bot.svc.settings, "2026-11", None, "vi", str(missing)) == 1
    assert capsys.readouterr().err.strip() == f"Cannot write the report to {missing}: no such folder"
    assert await reports.run_report(bot.svc.settings, "2026-11", None, "vi", str(tmp_path)) == 1
    assert capsys.readouterr().err.strip() == f"Cannot write the report to {tmp_path}: it is a folder"


def test_a_certificate_names_every_kind_of_outcome_it_counts():
    """The total and the list agree: past four kinds, the rest are summed up, not dropped."""
    t = I18n("vi", ZoneInfo("Asia/Ho_Chi_Minh")).get("vi")
    month = outcomes.Month(date(2026, 11, 1), date(2026, 11, 30), "", "")
    achieved = [("A", 5), ("B", 4), ("C", 3), ("D", 2), ("E", 1), ("F", 1)]
    text = reports.certificate_text(t, "Lan", "x", month, 9, achieved, None, date(2026, 11, 30))
    words = [line.text for line in text.lines]
    assert "Nhờ đó người dân đã làm được 16 việc:" in words
    assert "A: 5; B: 4; C: 3; D: 2; và 2 việc khác" in words


MORE_WARDS = [("Phường Chánh Hưng", "Chanh Hung Ward"), ("Phường Bình Hưng Hòa", "Binh Hung Hoa Ward"),
              ("Phường Tân Sơn Nhất", "Tan Son Nhat Ward"),
              ("Phường Nguyễn Thái Bình Mới Ghép Từ Ba Phường", "Nguyen Thai Binh Merged Ward")]


def image_heights(body: bytes) -> list[float]:
    """Heights in points of the images placed on the first page (from the `W 0 0 H x y cm /I Do` operators)."""
    reader = PdfReader(io.BytesIO(body))
    stream = reader.pages[0].get_contents().get_data().decode("latin-1")
    return [float(h) for h in re.findall(r"[\d.]+ 0 0 ([\d.]+) [\d.]+ [\d.]+ cm /I\w* Do", stream)]


async def test_report_stays_readable_with_many_wards_long_names_and_many_pledges(tmp_path):
    """Eight wards, one with a long name, twelve pledges: still one page; ward names in the table break
    between words, not inside them; every pledge is on the page or counted; the chart keeps a usable size."""
    content = tmp_path / "content"
    shutil.copytree(ROOT / "content", content)
    extra = "".join(f'\n[[ward]]\nid = "w{n}"\nvi = "{vi}"\nen = "{en}"\naliases = []\n'
                    for n, (vi, en) in enumerate(MORE_WARDS))
    (content / "wards.toml").write_text((content / "wards.toml").read_text(encoding="utf-8") + extra,
                                        encoding="utf-8")
    settings = make_settings(tmp_path, content_dir=content)
    async with open_bot(settings, FakeClock(datetime(2026, 11, 30, 13, 0, tzinfo=UTC))) as bot:
        svc, now = bot.svc, bot.svc.now()
        for n, ward in enumerate(svc.content.wards):
            await odata.add_guide_outcome(svc.db, "vietqr-pay", 6000 + n, "qr-payment", ward, "2026-11-20", now)
        pledged = ["sai-gon", "tan-dinh", "ben-thanh", "cau-ong-lanh", "w1", "w3"]
        for ward in pledged:
            for outcome in ("vneid-level2", "qr-payment"):
                await odata.set_target(svc.db, ward, outcome, 50, "2026-11-01", "2026-12-31", ADMIN, now)
        _name, body = await reports.report_pdf(svc, svc.i18n.get("vi"), date(2026, 11, 1), None)
    reader, text = pdf_text(body)
    assert len(reader.pages) == 1
    words = set(text.split())
    for word in ("Chánh", "Hưng", "Thành", "Nguyễn", "Không"):  # none cut like "Chán" + "h"
        assert word in words, word
    assert "Chán" not in words and "Thàn" not in words
    shown = text.count("• ")
    assert shown == 12 or f"… và {12 - shown} chỉ tiêu khác: xem /progress" in text  # shown or counted
    [chart] = image_heights(body)
    assert chart >= 80 / 25.4 * 72  # at least 8 cm high: readable on paper

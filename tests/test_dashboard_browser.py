"""The web dashboard in a real browser (Playwright driving Debian's Chromium at /usr/bin/chromium): an officer
signs in by link, sees a request filed a moment earlier through the stand-in, assigns it, approves a volunteer,
sends a small campaign and watches its progress reach 100% (Server-Sent Events), downloads an XLSX; a
screenshot of each page (into docs/ with DASHBOARD_SCREENSHOTS=docs, else a temporary folder).

The only suite that may be skipped, and only where Chromium is absent; .ci/run sets REQUIRE_BROWSER=1, which
turns that skip into a failure."""

from __future__ import annotations

import asyncio
import io
import os
from pathlib import Path

import pytest
from openpyxl import load_workbook

from bot import dashboard
from bot.data import requests as rdata
from bot.data import volunteers as vdata
from tests.conftest import ADMIN, ROOT
from tests.handlers.test_requests import file_request
from tests.test_dashboard import BASE, PENDING, RESIDENT, VOL, people, site  # noqa: F401 (the fixture)

CHROMIUM = Path("/usr/bin/chromium")
if not CHROMIUM.exists() and os.environ.get("REQUIRE_BROWSER") == "1":
    raise RuntimeError("REQUIRE_BROWSER=1 but /usr/bin/chromium is missing: sudo apt-get install -y chromium")
pytestmark = pytest.mark.skipif(not CHROMIUM.exists(),
                                reason="browser tests skipped: no /usr/bin/chromium (apt-get install chromium)")


@pytest.fixture
async def browser():
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        launched = await p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        try:
            yield launched
        finally:
            await launched.close()


def shots(tmp_path: Path) -> Path:
    folder = ROOT / "docs" if os.environ.get("DASHBOARD_SCREENSHOTS") == "docs" else tmp_path
    folder.mkdir(exist_ok=True)
    return folder


async def test_an_officers_morning(site, browser, tmp_path):  # noqa: F811 (site is the fixture)
    bot, client = site
    base = str(client.base_url).rstrip("/")
    folder = shots(tmp_path)
    await people(bot)
    request = await file_request(bot, RESIDENT, text="Tôi không nhận được mã OTP khi đăng ký VNeID")
    bot.clock.advance(25 * 60)
    await file_request(bot, 1002, ward="Tân Định", text="Cài đặt VNeID trên điện thoại mới")
    bot.clock.advance(5 * 60)

    context = await browser.new_context(viewport={"width": 1280, "height": 800}, accept_downloads=True)
    page = await context.new_page()
    link = await dashboard.issue_link(bot.svc, ADMIN)
    await page.goto(link.replace(BASE, base))
    await page.screenshot(path=folder / "dashboard-signin.png")
    await page.get_by_role("button", name="Đăng nhập bảng điều khiển").click()
    await page.wait_for_url(f"{base}/dashboard/")
    assert await page.get_by_role("link", name=request.code).is_visible()
    await page.screenshot(path=folder / "dashboard-today.png", full_page=True)

    await page.get_by_role("link", name=request.code).click()
    await page.get_by_label("Giao cho").select_option(label="Lan")
    await page.get_by_role("button", name="Giao", exact=True).click()
    await page.wait_for_selector("text=Quản trị viên giao")
    assert (await rdata.get(bot.svc.db, request.id)).volunteer_id == VOL
    await page.get_by_role("button", name="Xem liên hệ").click()
    await page.wait_for_selector(".contact")
    await page.screenshot(path=folder / "dashboard-request.png", full_page=True)

    await page.get_by_role("link", name="Tình nguyện viên").click()
    await page.get_by_label("Mai").check()
    await page.get_by_role("button", name="✅ Duyệt").click()
    await page.wait_for_selector("text=Đã xong cho 1 tình nguyện viên.")
    assert (await vdata.get(bot.svc.db, PENDING)).status == "active"
    await page.screenshot(path=folder / "dashboard-volunteers.png", full_page=True)

    await page.get_by_role("link", name="Thông báo chiến dịch").click()
    await page.get_by_label("Nội dung tiếng Việt").fill("**Chủ nhật này** phường có điểm hỗ trợ cài VNeID.")
    await page.get_by_label("Vai trò").select_option(label="Người dân (không phải tình nguyện viên)")
    await page.get_by_label("Người đọc tiếng Việt").check()  # combined: residents × Vietnamese (every ward)
    await page.get_by_role("button", name="Xem trước và đếm người nhận").click()
    await page.wait_for_selector("text=Người dân sẽ thấy")
    assert await page.locator("table.counts td", has_text="Zalo").is_visible()
    assert await page.locator(".bubble b", has_text="Chủ nhật này").first.is_visible()  # bold, as residents see it
    await page.screenshot(path=folder / "dashboard-campaign-preview.png", full_page=True)
    await page.get_by_role("button", name="Gửi ngay").click()
    await page.wait_for_selector("#progress .percent:text('100%')", timeout=20_000)  # by Server-Sent Events
    await page.wait_for_selector("#progress .status:text('đã gửi xong')")
    assert not await page.get_by_role("button", name="Tạm dừng").is_visible()  # nothing left to pause
    await page.screenshot(path=folder / "dashboard-campaign.png", full_page=True)
    assert any(e.chat_id == RESIDENT and e.text.startswith("Chủ nhật này") for e in bot.api.sent)

    await page.get_by_role("link", name="Tải dữ liệu").click()
    await page.screenshot(path=folder / "dashboard-exports.png", full_page=True)
    async with page.expect_download() as download_info:
        await page.get_by_role("button", name="Tải tệp Excel (XLSX)").first.click()
    download = await download_info.value
    assert download.suggested_filename.endswith(".xlsx")
    body = await asyncio.to_thread(Path(await download.path()).read_bytes)
    sheet = load_workbook(io.BytesIO(body)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == "Mã yêu cầu" and {r[0] for r in rows[1:]} >= {request.code}

    await page.get_by_role("link", name="Nhật ký thao tác").click()
    assert await page.get_by_text("Duyệt tình nguyện viên").is_visible()
    await page.screenshot(path=folder / "dashboard-audit.png", full_page=True)

    await page.get_by_role("link", name="Số liệu").click()
    await page.wait_for_selector("text=Theo phường")
    today = bot.clock.now().astimezone(bot.svc.settings.tz).date()
    await page.get_by_label("Từ ngày").fill(today.isoformat())  # the date pickers: a range in TIMEZONE
    await page.get_by_label("Đến ngày").fill(today.isoformat())
    await page.get_by_role("button", name="Xem", exact=True).click()
    await page.wait_for_selector(f"text=Từ {today:%d/%m/%Y} đến nay")
    assert await page.locator("h2", has_text="Người dân mới theo phường").is_visible()
    await page.wait_for_load_state("networkidle")  # the two charts (the CSP forbids evaluating a script here)
    await page.screenshot(path=folder / "dashboard-numbers.png", full_page=True)

    phone = await browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=1)
    await phone.add_cookies(await context.cookies())
    small = await phone.new_page()
    await small.goto(f"{base}/dashboard/")
    await small.screenshot(path=folder / "dashboard-phone.png", full_page=True)
    await phone.close()

    copied = await context.cookies()  # sign out: the session ends on the server, so a copy of the cookie fails
    await page.get_by_role("button", name="Đăng xuất").click()
    await page.wait_for_selector("text=Bạn đã đăng xuất")
    other = await browser.new_context()
    await other.add_cookies(copied)
    again = await other.new_page()
    response = await again.goto(f"{base}/dashboard/")
    assert response.status == 401 and not await again.get_by_role("link", name="Thông báo chiến dịch").count()
    await other.close()
    await context.close()

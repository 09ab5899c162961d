"""The web dashboard (issue 13) over real HTTP: the real Application on the stand-in, the real Starlette app on
loopback (uvicorn), httpx as the browser. Sign-in, sessions, CSRF, role checks on every route, the pages'
actions through the chat's services, exports."""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import json
import re
import time
from dataclasses import replace
from urllib.parse import urlencode

import httpx
import pytest
from openpyxl import load_workbook

from bot import dashboard
from bot.data import Database, users
from bot.data import requests as rdata
from bot.data import volunteers as vdata
from bot.refusal import Refused
from bot.web.app import WebState, create_app
from bot.web.server import serving
from tests.conftest import ADMIN, make_settings, open_bot
from tests.handlers.test_requests import file_request, make_volunteer

BASE = "https://dash.example.vn"
TOKEN = "123456:TEST-TOKEN"
VOL, OTHER_WARD_VOL, PENDING, RESIDENT = 2001, 2002, 2003, 1001


@pytest.fixture
async def site(tmp_path, store):
    """(harness, client) with the dashboard served on loopback, on each store; the client does not follow
    redirects."""
    settings = make_settings(tmp_path, public_base_url=BASE, bot_token=TOKEN)
    async with open_bot(settings) as bot:
        state = WebState(clock=bot.clock)
        state.db, state.svc = bot.svc.db, bot.svc
        state.phase = "ready"
        try:
            async with serving(create_app(state)) as url, httpx.AsyncClient(base_url=url) as client:
                yield bot, client
        finally:
            await state.close_reader()


async def link_path(bot, user_id: int) -> str:
    url = await dashboard.issue_link(bot.svc, user_id)
    assert url.startswith(f"{BASE}/dashboard/login/")
    return url.removeprefix(BASE)


async def sign_in(bot, client: httpx.AsyncClient, user_id: int) -> str:
    """Sign in by a fresh link; returns the session's CSRF token (read from a page's form)."""
    response = await client.post(await link_path(bot, user_id))
    assert response.status_code == 303 and response.headers["location"] == "/dashboard/"
    page = await client.get("/dashboard/")
    assert page.status_code == 200
    return re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)


async def people(bot) -> None:
    await make_volunteer(bot, VOL, name="Lan")
    await make_volunteer(bot, OTHER_WARD_VOL, wards=("tan-dinh",), name="Hùng")
    await users.touch(bot.svc.db, PENDING, "Mai", None, bot.svc.now())
    await vdata.start_application(bot.svc.db, PENDING, "Mai", bot.svc.now())
    await vdata.set_status(bot.svc.db, PENDING, "pending", ("applying",), None, bot.svc.now())
    await users.touch(bot.svc.db, ADMIN, "Cán bộ", None, bot.svc.now())


# --- sign-in ------------------------------------------------------------------------------------------------
async def test_link_signs_in_once_and_the_session_is_http_only_lax(site):
    bot, client = site
    path = await link_path(bot, ADMIN)
    shown = await client.get(path)  # a chat app's preview opens links: a GET uses nothing
    assert shown.status_code == 200 and "Đăng nhập" in shown.text
    assert shown.headers["referrer-policy"] == "no-referrer"
    response = await client.post(path)
    assert response.status_code == 303
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "path=/dashboard" in cookie
    assert "secure" not in cookie  # plain http on loopback here; behind https it is Secure (next test)
    assert "max-age=28800" in cookie
    assert (await client.get("/dashboard/")).status_code == 200
    client.cookies.clear()
    again = await client.post(path)
    assert again.status_code == 403 and "đã được dùng" in again.text


async def test_behind_https_the_cookie_is_secure(site):
    bot, _client = site
    state = WebState(clock=bot.clock)
    state.db, state.svc, state.dashboard_https = bot.svc.db, bot.svc, True
    try:
        async with serving(create_app(state)) as url, httpx.AsyncClient(base_url=url) as client:
            response = await client.post(await link_path(bot, ADMIN))
        assert response.status_code == 303 and "; secure" in response.headers["set-cookie"].lower()
    finally:
        await state.close_reader()


async def test_expired_and_forged_links_are_refused(site):
    bot, client = site
    path = await link_path(bot, ADMIN)
    bot.clock.advance(dashboard.LINK_TTL.total_seconds() + 1)
    expired = await client.post(path)
    assert expired.status_code == 403 and "hết hạn" in expired.text
    forged = await client.post("/dashboard/login/" + "A" * 43)
    assert forged.status_code == 403 and "không hợp lệ" in forged.text
    assert (await client.get("/dashboard/")).status_code == 401  # no session came of either


async def test_links_only_for_admins_and_active_volunteers(site):
    bot, _client = site
    await people(bot)
    await users.touch(bot.svc.db, RESIDENT, "Bà Tư", None, bot.svc.now())
    for refused in (RESIDENT, PENDING, 424242):
        with pytest.raises(Refused):
            await dashboard.issue_link(bot.svc, refused)
    assert (await dashboard.issue_link(bot.svc, VOL)).startswith(BASE)


async def test_dashboard_command_in_chat_sends_a_link(site):
    bot, client = site
    await people(bot)
    sent = await bot.send(VOL, "/dashboard")
    url = re.search(r"https://\S+", sent[-1].text).group(0)
    button = bot.api.messages[VOL][sent[-1].message_id]["reply_markup"]["inline_keyboard"][0][0]
    assert button["web_app"]["url"] == f"{BASE}/dashboard/app" and "Mở trong Telegram" in button["text"]
    assert (await client.post(url.removeprefix(BASE))).status_code == 303
    sent = await bot.send(RESIDENT, "/dashboard")
    assert "https://" not in sent[-1].text and "tình nguyện viên" in sent[-1].text


async def test_session_ends_after_eight_hours_and_at_logout(site):
    bot, client = site
    csrf = await sign_in(bot, client, ADMIN)
    assert (await client.post("/dashboard/logout", data={"csrf": "wrong"})).status_code == 403
    bot.clock.advance(dashboard.SESSION_TTL.total_seconds() - 60)
    assert (await client.get("/dashboard/")).status_code == 200
    assert (await client.post("/dashboard/logout", data={"csrf": csrf})).status_code == 200
    assert (await client.get("/dashboard/")).status_code == 401
    await sign_in(bot, client, ADMIN)
    bot.clock.advance(dashboard.SESSION_TTL.total_seconds() + 1)
    assert (await client.get("/dashboard/")).status_code == 401


async def test_a_forged_cookie_is_no_session(site):
    _bot, client = site
    client.cookies.set("dashboard", "eyJ1aWQiOiA5MDAxfQ==.forged.sig", domain="127.0.0.1", path="/dashboard")
    assert (await client.get("/dashboard/")).status_code == 401


async def test_a_role_lost_in_chat_ends_the_dashboard(site):
    bot, client = site
    await people(bot)
    await sign_in(bot, client, VOL)
    from bot import volunteers

    await volunteers.decide(bot.svc, ADMIN, VOL, "pause")
    page = await client.get("/dashboard/")
    assert page.status_code == 403
    assert (await client.get("/dashboard/")).status_code == 401  # and the session is gone


def init_data(user_id: int, auth_date: int, token: str = TOKEN, **extra) -> str:
    pairs = {"auth_date": str(auth_date), "query_id": "AAH", "user": json.dumps({"id": user_id, "first_name": "A"}),
             **extra}
    check = "\n".join(f"{k}={v}" for k, v in sorted(pairs.items()))
    secret = hmac.new(b"WebAppData", token.encode(), hashlib.sha256).digest()
    pairs["hash"] = hmac.new(secret, check.encode(), hashlib.sha256).hexdigest()
    return urlencode(pairs)


async def test_mini_app_init_data_valid_tampered_stale(site):
    bot, client = site
    now = int(bot.clock.now().timestamp())
    good = init_data(ADMIN, now - 30)
    response = await client.post("/dashboard/app", data={"init_data": good})
    assert response.status_code == 303 and (await client.get("/dashboard/")).status_code == 200
    client.cookies.clear()
    tampered = good.replace(str(ADMIN), "9002")
    assert (await client.post("/dashboard/app", data={"init_data": tampered})).status_code == 403
    stale = init_data(ADMIN, now - 11 * 60)
    assert (await client.post("/dashboard/app", data={"init_data": stale})).status_code == 403
    other_bot = init_data(ADMIN, now, token="999:OTHER")
    assert (await client.post("/dashboard/app", data={"init_data": other_bot})).status_code == 403
    assert (await client.post("/dashboard/app", data={"init_data": "garbage"})).status_code == 403
    assert (await client.get("/dashboard/")).status_code == 401
    with pytest.raises(Refused):  # a resident with a valid signature is still no one here
        dashboard.check_init_data(init_data(RESIDENT, now), TOKEN, bot.clock.now()) and await dashboard.viewer(
            bot.svc, RESIDENT)


# --- role checks on every route -----------------------------------------------------------------------------
ADMIN_PAGES = ("/dashboard/volunteers", "/dashboard/exports", "/dashboard/audit")


async def test_nobody_signed_in_sees_nothing(site):
    _bot, client = site
    for path in ("/dashboard/", "/dashboard/requests/1", *ADMIN_PAGES):
        response = await client.get(path)
        assert response.status_code == 401, path
    for path in ("/dashboard/requests/1/assign", "/dashboard/requests/1/release", "/dashboard/requests/1/contact",
                 "/dashboard/volunteers", "/dashboard/exports", "/dashboard/logout"):
        assert (await client.post(path, data={"csrf": "x"})).status_code in (401, 403), path


async def test_a_volunteer_sees_their_wards_and_no_admin_page(site):
    bot, client = site
    await people(bot)
    mine = await file_request(bot, RESIDENT)  # Bến Thành: Lan's ward
    other = await file_request(bot, 1002, ward="Tân Định")
    csrf = await sign_in(bot, client, VOL)
    today = (await client.get("/dashboard/")).text
    assert mine.code in today and other.code not in today
    assert (await client.get(f"/dashboard/requests/{mine.id}")).status_code == 200
    assert (await client.get(f"/dashboard/requests/{other.id}")).status_code == 404
    for path in ADMIN_PAGES:
        page = await client.get(path)
        assert page.status_code == 403 and "quản trị viên" in page.text, path
    for path, data in (("/dashboard/volunteers", {"action": "ok", "volunteer": str(PENDING)}),
                       ("/dashboard/exports", {"format": "csv"}),
                       (f"/dashboard/requests/{other.id}/contact", {}),
                       (f"/dashboard/requests/{mine.id}/contact", {}),  # open, not held: no contact
                       (f"/dashboard/requests/{mine.id}/assign", {"volunteer": str(VOL)})):
        response = await client.post(path, data={"csrf": csrf, **data})
        assert response.status_code in (403, 404), path  # 404: a request they may not see is not there
    assert (await vdata.get(bot.svc.db, PENDING)).status == "pending"
    assert (await rdata.get(bot.svc.db, mine.id)).status == "open"


async def test_csrf_is_required_on_every_form(site):
    bot, client = site
    await people(bot)
    request = await file_request(bot, RESIDENT)
    await sign_in(bot, client, ADMIN)
    for path, data in ((f"/dashboard/requests/{request.id}/assign", {"volunteer": str(VOL)}),
                       (f"/dashboard/requests/{request.id}/contact", {}),
                       ("/dashboard/volunteers", {"action": "ok", "volunteer": str(PENDING)}),
                       ("/dashboard/exports", {"format": "csv"})):
        for token in (None, "forged"):
            form = {**data, **({"csrf": token} if token else {})}
            response = await client.post(path, data=form)
            assert response.status_code == 403 and "hết hạn" in response.text, path
    assert (await rdata.get(bot.svc.db, request.id)).status == "open"
    assert (await vdata.get(bot.svc.db, PENDING)).status == "pending"


# --- the pages' work ----------------------------------------------------------------------------------------
async def test_today_assign_timeline_release_and_contact_is_audited(site):
    bot, client = site
    await people(bot)
    older = await file_request(bot, RESIDENT, phone=True)
    bot.clock.advance(600)
    newer = await file_request(bot, 1002, ward="Tân Định")
    csrf = await sign_in(bot, client, ADMIN)
    today = (await client.get("/dashboard/")).text
    assert today.index(older.code) < today.index(newer.code)  # oldest first
    assert "10 phút" in today
    only_tan_dinh = (await client.get("/dashboard/", params={"ward": "tan-dinh"})).text
    assert newer.code in only_tan_dinh and older.code not in only_tan_dinh
    page = (await client.get(f"/dashboard/requests/{older.id}")).text
    assert "+849" not in page and "0901" not in page  # the phone stays hidden
    response = await client.post(f"/dashboard/requests/{older.id}/assign", data={"csrf": csrf, "volunteer": str(VOL)})
    assert response.status_code == 303
    assert (await rdata.get(bot.svc.db, older.id)).volunteer_id == VOL
    assert any("quản trị viên đã giao" in e.text.lower() for e in bot.api.sent if e.chat_id == VOL)
    not_helped = (await client.get("/dashboard/", params={"open": "1"})).text
    assert older.code not in not_helped and newer.code in not_helped
    page = (await client.get(f"/dashboard/requests/{older.id}")).text
    assert "Quản trị viên giao" in page and "Lan" in page  # the timeline
    shown = await client.post(f"/dashboard/requests/{older.id}/contact", data={"csrf": csrf})
    assert shown.status_code == 200 and "+84" in shown.text
    row = await bot.svc.db.fetchone("SELECT actor_id, kind, detail FROM audit_events WHERE kind = 'contact_shown'")
    assert (row["actor_id"], row["detail"]) == (ADMIN, older.code)
    assert (await client.post(f"/dashboard/requests/{older.id}/release", data={"csrf": csrf})).status_code == 303
    released = await rdata.get(bot.svc.db, older.id)
    assert released.status == "open" and released.volunteer_id is None
    assert any("đưa yêu cầu " + older.code in e.text for e in bot.api.sent if e.chat_id == VOL)
    audit = (await client.get("/dashboard/audit")).text
    assert "Xem liên hệ" in audit


async def test_a_holder_sees_contact_and_releases_their_own(site):
    bot, client = site
    await people(bot)
    request = await file_request(bot, RESIDENT, phone=True)
    assert (await dashboard.assign(bot.svc, await dashboard.viewer(bot.svc, ADMIN), request.id, VOL)).won
    csrf = await sign_in(bot, client, VOL)
    shown = await client.post(f"/dashboard/requests/{request.id}/contact", data={"csrf": csrf})
    assert shown.status_code == 200 and "+84" in shown.text
    assert (await client.post(f"/dashboard/requests/{request.id}/release", data={"csrf": csrf})).status_code == 303
    assert (await rdata.get(bot.svc.db, request.id)).status == "open"


async def test_volunteers_bulk_approve_then_pause(site):
    bot, client = site
    await people(bot)
    await users.touch(bot.svc.db, 2004, "Tú", None, bot.svc.now())
    await vdata.start_application(bot.svc.db, 2004, "Tú", bot.svc.now())
    await vdata.set_status(bot.svc.db, 2004, "pending", ("applying",), None, bot.svc.now())
    csrf = await sign_in(bot, client, ADMIN)
    page = (await client.get("/dashboard/volunteers")).text
    assert "Mai" in page and "Tú" in page and "Lan" in page
    response = await client.post("/dashboard/volunteers",
                                 data={"csrf": csrf, "action": "ok", "volunteer": [str(PENDING), "2004"]})
    assert response.status_code == 200 and "2 tình nguyện viên" in response.text
    assert {(await vdata.get(bot.svc.db, i)).status for i in (PENDING, 2004)} == {"active"}
    assert any("được duyệt" in e.text for e in bot.api.sent if e.chat_id == PENDING)
    response = await client.post("/dashboard/volunteers", data={"csrf": csrf, "action": "pause", "volunteer": str(VOL)})
    assert (await vdata.get(bot.svc.db, VOL)).status == "paused"
    again = await client.post("/dashboard/volunteers", data={"csrf": csrf, "action": "ok", "volunteer": str(PENDING)})
    assert "đã được quyết định" in again.text
    kinds = [r["kind"] for r in await bot.svc.db.fetchall("SELECT kind FROM audit_events ORDER BY id")]
    assert kinds == ["volunteer_approved", "volunteer_approved", "volunteer_paused"]


async def test_exports_csv_and_xlsx_headers_local_time_and_no_formula(site):
    bot, client = site
    await people(bot)
    request = await file_request(bot, RESIDENT, phone=True, text="=HYPERLINK(\"http://x\") cần giúp")
    await bot.svc.db.execute("UPDATE users SET first_name = ? WHERE id = ?", ("=1+1", RESIDENT))
    csrf = await sign_in(bot, client, ADMIN)
    plain = await client.post("/dashboard/exports", data={"csrf": csrf, "format": "csv"})
    assert plain.status_code == 200 and "attachment" in plain.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(plain.content.decode("utf-8-sig"))))
    assert rows[0][:5] == ["Mã yêu cầu", "Chủ đề", "Phường", "Trạng thái", "Gửi lúc"]
    assert rows[1][0] == request.code and rows[1][2] == "Phường Bến Thành" and rows[1][3] == "Đang chờ"
    assert rows[1][4] == "28/11/2026 09:00"  # 02:00 UTC is 09:00 in Ho Chi Minh City
    assert "=1+1" not in plain.text and "+84" not in plain.text
    book = await client.post("/dashboard/exports", data={"csrf": csrf, "format": "xlsx", "contacts": "1"})
    assert book.headers["content-type"].startswith("application/vnd.openxmlformats")
    sheet = load_workbook(io.BytesIO(book.content)).active
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    header = values[0]
    assert header[header.index("Tên")] == "Tên" and "Số điện thoại" in header
    name = values[1][header.index("Tên")]
    assert name == "'=1+1" and sheet.cell(2, header.index("Tên") + 1).data_type == "s"  # text, never a formula
    assert values[1][header.index("Số điện thoại")].startswith("'+84")
    kinds = [r["kind"] for r in await bot.svc.db.fetchall("SELECT kind FROM audit_events ORDER BY id")]
    assert kinds == ["export", "export_contacts"]


async def test_english_switch(site):
    bot, client = site
    await sign_in(bot, client, ADMIN)
    switched = await client.get("/dashboard/lang/en", params={"next": "/dashboard/audit"})
    assert switched.status_code == 303 and switched.headers["location"] == "/dashboard/audit"
    assert "Audit log" in (await client.get("/dashboard/audit")).text
    away = await client.get("/dashboard/lang/vi", params={"next": "//evil.example/"})
    assert away.headers["location"] == "/dashboard/"
    assert "Nhật ký" in (await client.get("/dashboard/audit")).text


async def test_pages_read_through_their_own_read_only_connection(store):
    db = await Database.open(store)
    from bot.data.dashboard import open_reader

    reader = await open_reader(store)
    try:
        await db.execute("INSERT INTO audit_events (actor_id, kind, detail, at) VALUES (1, 'k', NULL, 't')")
        assert (await reader.fetchone("SELECT COUNT(*) AS n FROM audit_events"))["n"] == 1
        with pytest.raises(Exception, match=r"readonly|read-only|query_only"):
            await reader.execute("DELETE FROM audit_events")
    finally:
        await reader.close()
        await db.close()


def test_init_data_checks_follow_telegram(monkeypatch):
    now = time.time()
    from datetime import UTC, datetime

    at = datetime.fromtimestamp(now, UTC)
    assert dashboard.check_init_data(init_data(77, int(now)), TOKEN, at) == 77
    with pytest.raises(Refused):
        dashboard.check_init_data(init_data(77, int(now), signature="abc").replace("signature=abc", "signature=abd"),
                                  TOKEN, at)
    with pytest.raises(Refused):
        dashboard.check_init_data(init_data(77, int(now)), "", at)


def test_settings_dashboard_secret(tmp_path):
    from bot.config import ConfigError, Settings

    assert Settings.from_env({"DASHBOARD_SECRET": "x" * 32}).dashboard_secret == "x" * 32
    with pytest.raises(ConfigError, match="DASHBOARD_SECRET"):
        Settings.from_env({"DASHBOARD_SECRET": "short"})
    assert replace(make_settings(tmp_path)).dashboard_secret == ""


# --- Campaigns ------------------------------------------------------------------------------------------------
async def test_campaign_preview_counts_send_now_and_progress_by_sse(site):
    bot, client = site
    await people(bot)
    for uid in (RESIDENT, 1002, 1003):
        await bot.send(uid, "/start")
    await bot.svc.db.execute("UPDATE users SET locale = 'en' WHERE id = 1003")
    csrf = await sign_in(bot, client, ADMIN)
    form = {"csrf": csrf, "text_vi": "Chủ nhật này có điểm hỗ trợ VNeID", "text_en": "VNeID help this Sunday",
            "audience": "all"}
    shown = await client.post("/dashboard/campaigns", data={**form, "step": "preview"})
    assert shown.status_code == 200
    total = (await bot.svc.db.fetchone("SELECT COUNT(*) AS n FROM users WHERE subscribed = 1 AND reachable = 1 "
                                       "AND banned = 0"))["n"]
    assert f"{total} người" in shown.text and "Telegram: " in shown.text and "VNeID help this Sunday" in shown.text
    assert await bot.svc.db.fetchone("SELECT id FROM campaigns") is None  # a preview saves nothing
    sent = await client.post("/dashboard/campaigns", data={**form, "step": "send"})
    assert sent.status_code == 303
    page = sent.headers["location"]
    events = []
    async with client.stream("GET", page + "/events") as stream:
        async for line in stream.aiter_lines():
            if line.startswith("data: "):
                events.append(json.loads(line.removeprefix("data: ")))
    assert events[-1]["status"] == "done" and events[-1]["percent"] == 100 and events[-1]["sent"] == total
    assert any(e.chat_id == 1003 and e.text.startswith("VNeID help this Sunday") for e in bot.api.sent)
    assert any(e.chat_id == RESIDENT and e.text.startswith("Chủ nhật này") for e in bot.api.sent)
    history = (await client.get("/dashboard/campaigns")).text
    assert "đã gửi xong" in history


async def test_campaign_schedule_then_cancel_and_refusals(site):
    bot, client = site
    await people(bot)
    csrf = await sign_in(bot, client, ADMIN)
    form = {"csrf": csrf, "text_vi": "Nhắc lịch", "audience": "ward:ben-thanh"}
    past = await client.post("/dashboard/campaigns", data={**form, "step": "schedule", "when": "2020-01-01T08:00"})
    assert past.status_code == 400 and await bot.svc.db.fetchone("SELECT id FROM campaigns") is None
    empty = await client.post("/dashboard/campaigns", data={**form, "text_vi": " ", "step": "preview"})
    assert empty.status_code == 400
    later = await client.post("/dashboard/campaigns", data={**form, "step": "schedule", "when": "2026-12-01T08:00"})
    assert later.status_code == 303
    row = await bot.svc.db.fetchone("SELECT id, status, scheduled_at FROM campaigns")
    assert row["status"] == "scheduled" and row["scheduled_at"] == "2026-12-01T01:00:00+00:00"  # 08:00 local
    cancelled = await client.post(f"/dashboard/campaigns/{row['id']}", data={"csrf": csrf, "action": "cancel"})
    assert cancelled.status_code == 303
    assert (await bot.svc.db.fetchone("SELECT status FROM campaigns"))["status"] == "cancelled"
    again = await client.post(f"/dashboard/campaigns/{row['id']}", data={"csrf": csrf, "action": "cancel"})
    assert again.status_code == 409
    assert (await client.post(f"/dashboard/campaigns/{row['id']}", data={"action": "cancel"})).status_code == 403


async def test_volunteers_cannot_reach_campaigns(site):
    bot, client = site
    await people(bot)
    cid, _ = await __import__("bot.campaigns").campaigns.create(
        bot.svc, ADMIN, __import__("bot.campaigns").campaigns.Draft("x"), None)
    csrf = await sign_in(bot, client, VOL)
    for path in ("/dashboard/campaigns", f"/dashboard/campaigns/{cid}", f"/dashboard/campaigns/{cid}/events"):
        assert (await client.get(path)).status_code == 403, path
    for path, data in (("/dashboard/campaigns", {"text_vi": "x", "audience": "all", "step": "send"}),
                       (f"/dashboard/campaigns/{cid}", {"action": "pause"})):
        assert (await client.post(path, data={"csrf": csrf, **data})).status_code == 403, path
    assert (await bot.svc.db.fetchone("SELECT COUNT(*) AS n FROM campaigns"))["n"] == 1


# --- Numbers --------------------------------------------------------------------------------------------------
async def test_numbers_for_a_chosen_start_day_and_charts(site):
    bot, client = site
    await people(bot)
    await file_request(bot, RESIDENT)
    bot.clock.advance(10 * 24 * 3600)
    await file_request(bot, 1002, ward="Tân Định")
    await sign_in(bot, client, ADMIN)
    week = (await client.get("/dashboard/numbers")).text  # default: the last 7 days
    assert "Theo phường" in week and "Phường Tân Định" in week and "Phường Bến Thành" not in week
    everything = (await client.get("/dashboard/numbers", params={"since": "all"})).text
    assert "Phường Bến Thành" in everything and "Phường Tân Định" in everything
    from_day = (await client.get("/dashboard/numbers", params={"since": "2026-11-28"})).text
    assert "Từ 28/11/2026 đến nay" in from_day and "Phường Bến Thành" in from_day
    assert "Chưa có chỉ tiêu" in from_day
    for chart in ("requests", "progress"):
        png = await client.get(f"/dashboard/numbers/{chart}.png")
        assert png.status_code == 200 and png.content.startswith(b"\x89PNG"), chart
    assert (await client.get("/dashboard/numbers/other.png")).status_code == 403
    client.cookies.clear()
    await sign_in(bot, client, VOL)
    assert (await client.get("/dashboard/numbers")).status_code == 403
    assert (await client.get("/dashboard/numbers/requests.png")).status_code == 403


async def test_campaign_drafts_are_kept_in_the_database_until_sent(site):
    bot, client = site
    await people(bot)
    csrf = await sign_in(bot, client, ADMIN)
    form = {"csrf": csrf, "text_vi": "Bản nháp: lịch hỗ trợ tháng 12", "text_en": "", "audience": "volunteers"}
    saved = await client.post("/dashboard/campaigns", data={**form, "step": "save"})
    assert saved.status_code == 200 and "Đã lưu bản nháp" in saved.text
    draft = await bot.svc.db.fetchone("SELECT id, audience FROM campaign_drafts")
    assert draft["audience"] == "volunteers"
    opened = (await client.get("/dashboard/campaigns", params={"draft": draft["id"]})).text
    assert "Bản nháp: lịch hỗ trợ tháng 12</textarea>" in opened and 'value="volunteers" selected' in opened
    resaved = await client.post("/dashboard/campaigns", data={**form, "text_vi": "Lịch hỗ trợ tháng 12",
                                                              "draft_id": str(draft["id"]), "step": "save"})
    assert resaved.status_code == 200
    assert (await bot.svc.db.fetchone("SELECT COUNT(*) AS n FROM campaign_drafts"))["n"] == 1
    sent = await client.post("/dashboard/campaigns", data={**form, "text_vi": "Lịch hỗ trợ tháng 12",
                                                           "draft_id": str(draft["id"]), "step": "send"})
    assert sent.status_code == 303
    assert (await bot.svc.db.fetchone("SELECT COUNT(*) AS n FROM campaign_drafts"))["n"] == 0
    await client.post("/dashboard/campaigns", data={**form, "step": "save"})
    other = (await bot.svc.db.fetchone("SELECT id FROM campaign_drafts"))["id"]
    assert (await client.post(f"/dashboard/campaigns/drafts/{other}/delete", data={"csrf": "x"})).status_code == 403
    deleted = await client.post(f"/dashboard/campaigns/drafts/{other}/delete", data={"csrf": csrf})
    assert deleted.status_code == 303
    assert (await bot.svc.db.fetchone("SELECT COUNT(*) AS n FROM campaign_drafts"))["n"] == 0
    await bot.svc.sender.wait_idle(10)

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
from datetime import date, timedelta
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


async def test_logout_ends_the_session_on_the_server_so_a_copied_cookie_fails(site):
    bot, client = site
    csrf = await sign_in(bot, client, ADMIN)
    copied = dict(client.cookies)  # what someone could copy from this browser
    assert (await bot.svc.db.fetchone("SELECT COUNT(*) AS n FROM dashboard_sessions WHERE user_id = ?",
                                      (ADMIN,)))["n"] == 1
    assert (await client.post("/dashboard/logout", data={"csrf": csrf})).status_code == 200
    assert (await bot.svc.db.fetchone("SELECT COUNT(*) AS n FROM dashboard_sessions"))["n"] == 0
    async with httpx.AsyncClient(base_url=str(client.base_url), cookies=copied) as thief:
        page = await thief.get("/dashboard/")
    assert page.status_code == 401 and "/dashboard" in page.text and 'name="csrf"' not in page.text


async def test_a_role_lost_in_chat_ends_the_session_even_if_given_back(site):
    bot, client = site
    await people(bot)
    await sign_in(bot, client, VOL)
    copied = dict(client.cookies)
    from bot import volunteers

    await volunteers.decide(bot.svc, ADMIN, VOL, "pause")
    assert (await bot.svc.db.fetchone("SELECT COUNT(*) AS n FROM dashboard_sessions WHERE user_id = ?",
                                      (VOL,)))["n"] == 0
    await volunteers.decide(bot.svc, ADMIN, VOL, "resume")
    async with httpx.AsyncClient(base_url=str(client.base_url), cookies=copied) as old:
        assert (await old.get("/dashboard/")).status_code == 401
    await sign_in(bot, client, VOL)  # a new link works again
    from bot import admins, moderation

    await users.touch(bot.svc.db, 9100, "Phó", None, bot.svc.now())
    admin_row = await users.get(bot.svc.db, ADMIN)
    await admins.change(bot.svc, admin_row, 9100, True)
    other = httpx.AsyncClient(base_url=str(client.base_url))
    async with other:
        await sign_in(bot, other, 9100)
        await admins.change(bot.svc, admin_row, 9100, False)
        assert (await other.get("/dashboard/")).status_code == 401
    await moderation.set_ban(bot.svc, admin_row, VOL, True)  # VOL's session from above ends too
    assert (await client.get("/dashboard/")).status_code == 401


async def test_dashboard_sign_ins_are_in_mydata_and_erased_with_the_person(site):
    bot, client = site
    await people(bot)
    await sign_in(bot, client, VOL)
    await dashboard.issue_link(bot.svc, VOL)  # one more link, never used
    from bot import privacy

    _name, body = await privacy.export(bot.svc, VOL)
    mine = json.loads(body)
    assert len(mine["dashboard_sign_in_links"]) == 2 and len(mine["dashboard_sessions"]) == 1
    assert "token_hash" not in body.decode()
    await privacy.delete_person(bot.svc, VOL)
    for table in ("dashboard_logins", "dashboard_sessions"):
        n = (await bot.svc.db.fetchone(f"SELECT COUNT(*) AS n FROM {table} WHERE user_id = ?", (VOL,)))["n"]
        assert n == 0, table
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
    assert page.status_code == 401 and 'name="csrf"' not in page.text  # the session ended with the role
    await volunteers.decide(bot.svc, ADMIN, VOL, "resume")
    await sign_in(bot, client, VOL)
    await bot.svc.db.execute("UPDATE users SET banned = 1 WHERE id = ?", (VOL,))  # not through the chat's ban
    assert (await client.get("/dashboard/")).status_code == 403  # refused when next seen, and ended:
    assert (await bot.svc.db.fetchone("SELECT COUNT(*) AS n FROM dashboard_sessions"))["n"] == 0


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
    assert f"{total} người" in shown.text and "VNeID help this Sunday" in shown.text
    assert re.search(rf"<td>Telegram</td><td class=\"n\">{total}</td>", shown.text)
    assert re.search(r"<td>Zalo</td><td class=\"n\">0</td>", shown.text)
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


async def test_campaign_audience_by_ward_language_and_role_combined_counted_per_channel(site):
    bot, client = site
    await people(bot)
    people_now = {1001: ("ben-thanh", "vi"), 1002: ("ben-thanh", "en"), 1003: ("tan-dinh", "vi"),
                  1004: ("ben-thanh", "vi"), VOL: ("ben-thanh", "vi")}
    for uid, (ward, lang) in people_now.items():
        await users.touch(bot.svc.db, uid, f"P{uid}", None, bot.svc.now())
        await bot.svc.db.execute("UPDATE users SET ward = ?, locale = ? WHERE id = ?", (ward, lang, uid))
    await bot.svc.db.execute("UPDATE accounts SET channel = 'zalo', external_id = 'z-1004' WHERE user_id = 1004")
    csrf = await sign_in(bot, client, ADMIN)
    form = {"csrf": csrf, "text_vi": "Họp tổ dân phố", "role": "residents", "ward": ["ben-thanh"], "lang": ["vi"]}
    shown = await client.post("/dashboard/campaigns", data={**form, "step": "preview"})
    assert shown.status_code == 200 and "2 người" in shown.text  # 1001 on Telegram, 1004 on Zalo; not VOL
    assert '<td>Telegram</td><td class="n">1</td>' in shown.text and '<td>Zalo</td><td class="n">1</td>' in shown.text
    key = re.search(r'name="audience" value="([^"]+)"', shown.text).group(1)
    assert key == "role=residents;ward=ben-thanh;lang=vi"
    later = await client.post("/dashboard/campaigns", data={"csrf": csrf, "text_vi": "Họp tổ dân phố",
                                                            "audience": key, "step": "schedule",
                                                            "when": "2026-12-01T08:00"})
    assert later.status_code == 303
    got = await bot.svc.db.fetchall("SELECT user_id FROM campaign_recipients ORDER BY user_id")
    assert [r["user_id"] for r in got] == [1001, 1004]
    volunteers_only = await client.post("/dashboard/campaigns", data={
        **form, "role": "volunteers", "lang": [], "ward": ["ben-thanh", "tan-dinh"], "step": "preview"})
    assert "1 người" in volunteers_only.text  # VOL, by the chat's own rule (the same service counts both)
    from bot import campaigns

    assert await campaigns.audience(bot.svc, campaigns.Audience(("ben-thanh", "tan-dinh"), (), "volunteers")) == \
        {"vi": 1}
    assert await campaigns.audience(bot.svc, "ward", "ben-thanh") == {"vi": 3, "en": 1}  # the chat's "By ward"
    unknown = await client.post("/dashboard/campaigns", data={**form, "ward": ["nowhere"], "step": "preview"})
    assert unknown.status_code == 400 and "chọn người nhận" in unknown.text


def test_an_audience_is_stored_as_the_chat_stores_its_own():
    from bot.campaigns import Audience

    assert Audience().stored() == ("all", None)
    assert Audience(wards=("ben-thanh",)).stored() == ("ward", "ben-thanh")
    assert Audience(langs=("en",)).stored() == ("locale", "en")
    assert Audience(role="volunteers").stored() == ("volunteers", None)
    mixed = Audience(("a", "b"), ("vi",), "residents")
    assert mixed.stored() == ("all", "role=residents;ward=a,b;lang=vi")
    assert Audience.of(*mixed.stored()) == mixed and Audience.parse(mixed.key()) == mixed
    assert Audience.parse("ward:ben-thanh") == Audience(wards=("ben-thanh",))
    assert Audience.parse("nonsense") is None and Audience.parse("role=x;role=y") is None


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


async def test_numbers_for_a_date_range_in_the_time_zone_with_per_ward_tables(site):
    bot, client = site
    await people(bot)
    start = bot.clock.now().astimezone(bot.svc.settings.tz).date()
    await file_request(bot, RESIDENT)  # Bến Thành, on the first day
    await bot.svc.db.execute("UPDATE users SET ward = 'ben-thanh' WHERE id = ?", (RESIDENT,))
    bot.clock.advance(10 * 24 * 3600)
    await file_request(bot, 1002, ward="Tân Định")
    await bot.svc.db.execute("UPDATE users SET ward = 'tan-dinh' WHERE id = 1002")
    await sign_in(bot, client, ADMIN)
    first = (start.isoformat(), (start + timedelta(days=1)).isoformat())
    page = (await client.get("/dashboard/numbers", params={"from": first[0], "to": first[1]})).text
    assert f"Từ {start:%d/%m/%Y} đến {start + timedelta(days=1):%d/%m/%Y}" in page
    per_ward = page.split("Theo phường")[1].split("Người dân mới theo phường")[0]
    assert "Phường Bến Thành" in per_ward and "Phường Tân Định" not in per_ward
    new_per_ward = page.split("Người dân mới theo phường")[1].split("</table>")[0]
    assert "Phường Tân Định" not in new_per_ward
    assert f'name="to" value="{first[1]}"' in page
    reversed_ = (await client.get("/dashboard/numbers", params={"from": first[1], "to": first[0]})).text
    assert f"Từ {start:%d/%m/%Y} đến {start + timedelta(days=1):%d/%m/%Y}" in reversed_  # read the right way round
    later = bot.clock.now().astimezone(bot.svc.settings.tz).date().isoformat()
    last = (await client.get("/dashboard/numbers", params={"from": later, "to": later})).text
    per_ward = last.split("Theo phường")[1].split("Người dân mới theo phường")[0]
    assert "Phường Tân Định" in per_ward and "Phường Bến Thành" not in per_ward
    assert "Phường Tân Định" in last.split("Người dân mới theo phường")[1].split("</table>")[0]
    odd = await client.get("/dashboard/numbers", params={"from": "x", "to": "31/12/2026"})
    assert odd.status_code == 200 and "đến nay" in odd.text  # unreadable days: the last 7 days


async def test_numbers_chart_is_drawn_for_the_chosen_range_by_day_or_by_week(site, monkeypatch):
    from bot import stats

    drawn: list[stats.ChartData] = []
    real = stats.draw_chart
    monkeypatch.setattr(stats, "draw_chart", lambda chart, t: drawn.append(chart) or real(chart, t))
    bot, client = site
    await people(bot)
    start = bot.clock.now().astimezone(bot.svc.settings.tz).date()
    await file_request(bot, RESIDENT)  # on the first day
    bot.clock.advance(10 * 24 * 3600)
    await file_request(bot, 1002, ward="Tân Định")  # ten days later
    await sign_in(bot, client, ADMIN)
    page = (await client.get("/dashboard/numbers", params={"from": start.isoformat(),
                                                           "to": (start + timedelta(days=13)).isoformat()})).text
    src = re.search(r'<img class="chart" src="(/dashboard/numbers/requests\.png[^"]*)"', page).group(1)
    png = await client.get(src.replace("&amp;", "&"))
    assert png.status_code == 200 and png.content.startswith(b"\x89PNG")
    days = drawn[-1].days  # the range up to today (a future "to" is today): one bar per day, both requests drawn
    assert days[0] == start.isoformat() and days[-1] == (start + timedelta(days=10)).isoformat() and len(days) == 11
    total = [sum(v[i] for v in drawn[-1].series.values()) for i in range(len(days))]
    assert total[0] == 1 and total[-1] == 1 and sum(total) == 2 and not drawn[-1].weekly
    def drawn_total() -> int:
        return sum(map(sum, drawn[-1].series.values()))

    await client.get("/dashboard/numbers/requests.png", params={"from": (start + timedelta(days=5)).isoformat()})
    assert drawn[-1].days[0] == (start + timedelta(days=5)).isoformat() and drawn_total() == 1
    long = start - timedelta(days=100)  # a long range: one bar per week, Monday first
    await client.get("/dashboard/numbers/requests.png", params={"from": long.isoformat()})
    weeks = [date.fromisoformat(d) for d in drawn[-1].days]
    assert drawn[-1].weekly and all(d.weekday() == 0 for d in weeks)
    assert weeks[0] <= long < weeks[0] + timedelta(days=7) and drawn_total() == 2
    assert weeks[-1] <= start + timedelta(days=10) < weeks[-1] + timedelta(days=7)
    await client.get("/dashboard/numbers/requests.png", params={"from": "all"})  # all time: from the first request
    assert drawn[-1].days[0] == start.isoformat() and drawn_total() == 2


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


async def test_a_broadcast_draft_from_chat_survives_a_restart_and_is_sent_from_the_dashboard(tmp_path, store):
    from tests.handlers.test_admin import send_formatted

    settings = make_settings(tmp_path, public_base_url=BASE, bot_token=TOKEN)
    bold = [{"type": "bold", "offset": 0, "length": 8}]
    async with open_bot(settings) as bot:
        for uid in (ADMIN, RESIDENT, 1002):
            await bot.send(uid, "/start")
        await bot.send(ADMIN, "/broadcast")
        await send_formatted(bot, ADMIN, "Tiêm chủng miễn phí thứ Bảy", bold)
        await bot.press(ADMIN, "Tiếp")
        await bot.press(ADMIN, "Tất cả")  # at "send now or schedule?" the bot stops
        clock, api = bot.clock, bot.api
    async with open_bot(settings, clock, api) as bot:  # the same database file: a restart
        row = await bot.svc.db.fetchone("SELECT id, texts, entities, audience, chat_of FROM campaign_drafts")
        assert json.loads(row["texts"]) == {"vi": "Tiêm chủng miễn phí thứ Bảy"} and row["chat_of"] == ADMIN
        assert json.loads(row["entities"]) == {"vi": bold} and row["audience"] == "all"
        state = WebState(clock=bot.clock)
        state.db, state.svc, state.phase = bot.svc.db, bot.svc, "ready"
        try:
            async with serving(create_app(state)) as url, httpx.AsyncClient(base_url=url) as client:
                csrf = await sign_in(bot, client, ADMIN)
                listed = (await client.get("/dashboard/campaigns")).text
                assert "Tiêm chủng miễn phí thứ Bảy" in listed and "soạn trong trò chuyện" in listed
                [_told] = [e for e in await bot.send(ADMIN, "/broadcast") if "bảng điều khiển" in e.text]
                assert (await bot.svc.db.fetchone("SELECT chat_of FROM campaign_drafts"))["chat_of"] is None
                await bot.send(ADMIN, "/cancel")  # cancels the new one only
                opened = (await client.get("/dashboard/campaigns", params={"draft": row["id"]})).text
                assert "**Tiêm chủ**ng miễn phí thứ Bảy</textarea>" in opened  # the chat's bold, as markup
                form = {"csrf": csrf, "text_vi": "**Tiêm chủ**ng miễn phí thứ Bảy", "text_en": "", "audience": "all",
                        "draft_id": str(row["id"])}
                shown = (await client.post("/dashboard/campaigns", data={**form, "step": "preview"})).text
                assert '<div class="bubble"><b>Tiêm chủ</b>ng miễn phí thứ Bảy' in shown
                sent = await client.post("/dashboard/campaigns", data={**form, "step": "send"})
                assert sent.status_code == 303
                await bot.svc.sender.wait_idle(10)
        finally:
            await state.close_reader()
        campaign = await bot.svc.db.fetchone("SELECT text, entities FROM campaigns")
        assert json.loads(campaign["entities"]) == bold  # the chat's formatting, kept through the dashboard
        assert bot.api.messages[RESIDENT][max(bot.api.messages[RESIDENT])]["entities"] == bold
        assert (await bot.svc.db.fetchone("SELECT COUNT(*) AS n FROM campaign_drafts"))["n"] == 0


async def test_a_broadcast_sent_or_cancelled_in_chat_leaves_no_draft(site):
    bot, _client = site
    from tests.handlers.test_admin import compose_to_everyone

    await bot.send(RESIDENT, "/start")
    await compose_to_everyone(bot, "Lịch tiêm")
    assert (await bot.svc.db.fetchone("SELECT chat_of FROM campaign_drafts"))["chat_of"] == ADMIN
    await bot.press(ADMIN, "Gửi ngay")
    assert (await bot.svc.db.fetchone("SELECT COUNT(*) AS n FROM campaign_drafts"))["n"] == 0
    await compose_to_everyone(bot, "Lịch tiêm 2")
    await bot.press(ADMIN, "Hủy")
    assert (await bot.svc.db.fetchone("SELECT COUNT(*) AS n FROM campaign_drafts"))["n"] == 0
    await bot.svc.sender.wait_idle(10)


async def test_compose_keeps_formatting_as_entities_and_the_preview_shows_it(site):
    bot, client = site
    await people(bot)
    await bot.send(RESIDENT, "/start")
    csrf = await sign_in(bot, client, ADMIN)
    markup = "📣 **Tiêm chủng** miễn phí <thứ Bảy>: [xem lịch](https://example.vn/lich?a=1&b=2)"
    form = {"csrf": csrf, "text_vi": markup, "role": "residents"}
    shown = await client.post("/dashboard/campaigns", data={**form, "step": "preview"})
    assert ('<div class="bubble">📣 <b>Tiêm chủng</b> miễn phí &lt;thứ Bảy&gt;: <a href="https://example.vn/lich?a=1'
            '&amp;b=2" rel="noopener noreferrer" target="_blank">xem lịch</a>\n\nĐể ngừng') in shown.text
    assert shown.text.count("<b>") == 1 and "&lt;thứ Bảy&gt;" in shown.text  # the text itself is escaped
    saved = await client.post("/dashboard/campaigns", data={**form, "step": "save"})
    assert saved.status_code == 200 and "📣 **Tiêm chủng** miễn phí &lt;thứ Bảy&gt;: [xem lịch](" in saved.text
    draft = await bot.svc.db.fetchone("SELECT texts, entities FROM campaign_drafts")
    assert json.loads(draft["texts"])["vi"] == "📣 Tiêm chủng miễn phí <thứ Bảy>: xem lịch"
    sent = await client.post("/dashboard/campaigns", data={**form, "step": "send"})
    assert sent.status_code == 303
    await bot.svc.sender.wait_idle(10)
    got = bot.api.messages[RESIDENT][max(bot.api.messages[RESIDENT])]
    assert got["text"].startswith("📣 Tiêm chủng miễn phí <thứ Bảy>: xem lịch\n\n")
    assert got["entities"] == [{"type": "bold", "offset": 3, "length": 10},
                               {"type": "text_link", "offset": 34, "length": 8,
                                "url": "https://example.vn/lich?a=1&b=2"}]


async def test_a_chat_draft_with_a_photo_is_sent_with_it_from_the_dashboard(site):
    bot, client = site
    await bot.send(RESIDENT, "/start")
    await bot.send(ADMIN, "/broadcast")
    await bot.driver.send_kind(ADMIN, "photo", caption="Điểm hỗ trợ mới")
    draft = await bot.svc.db.fetchone("SELECT id, photo FROM campaign_drafts")
    assert draft["photo"].startswith("in-photo-")
    csrf = await sign_in(bot, client, ADMIN)
    listed = (await client.get("/dashboard/campaigns")).text
    assert "có ảnh" in listed
    opened = (await client.get("/dashboard/campaigns", params={"draft": draft["id"]})).text
    assert "Kèm ảnh đã gửi trong trò chuyện" in opened
    form = {"csrf": csrf, "text_vi": "Điểm hỗ trợ mới ở UBND phường", "audience": "all", "draft_id": str(draft["id"])}
    shown = (await client.post("/dashboard/campaigns", data={**form, "step": "preview"})).text
    assert "Kèm ảnh đã gửi trong trò chuyện" in shown and "Điểm hỗ trợ mới ở UBND phường" in shown
    assert (await client.post("/dashboard/campaigns", data={**form, "step": "send"})).status_code == 303
    await bot.svc.sender.wait_idle(10)
    assert (await bot.svc.db.fetchone("SELECT photo FROM campaigns"))["photo"] == draft["photo"]
    assert bot.last(RESIDENT).kind == "photo" and bot.last(RESIDENT).text.startswith("Điểm hỗ trợ mới ở UBND")


def a_photo(fmt: str = "PNG") -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (16, 12), "orange").save(out, fmt)
    return out.getvalue()


async def test_a_photo_uploaded_with_a_campaign_is_previewed_and_sent_to_everyone_uploaded_once(site):
    bot, client = site
    await people(bot)
    residents = list(range(1101, 1131))  # more residents than the sender has workers: they race for the upload
    for uid in residents:
        await bot.send(uid, "/start")
    csrf = await sign_in(bot, client, ADMIN)
    photo = a_photo()
    form = {"csrf": csrf, "text_vi": "📣 **Điểm tiêm** mới ở UBND phường", "role": "residents", "step": "preview"}
    shown = await client.post("/dashboard/campaigns", data=form, files={"photo": ("poster.png", photo, "image/png")})
    assert shown.status_code == 200 and "<b>Điểm tiêm</b> mới ở UBND phường" in shown.text
    image_id = re.search(r'name="image_id" value="(\d+)"', shown.text).group(1)
    assert f'<img src="/dashboard/campaigns/photos/{image_id}"' in shown.text  # the preview shows it
    served = await client.get(f"/dashboard/campaigns/photos/{image_id}")
    assert served.content == photo and served.headers["content-type"] == "image/png"
    audience = re.search(r'name="audience" value="([^"]*)"', shown.text).group(1)
    send = {"csrf": csrf, "text_vi": form["text_vi"], "audience": audience, "image_id": image_id, "step": "send"}
    photos: list[dict] = []
    bot.api.fault = lambda method, params: photos.append(params) if method == "sendPhoto" else None
    assert (await client.post("/dashboard/campaigns", data=send)).status_code == 303
    await bot.svc.sender.wait_idle(10)
    recipients = [r["user_id"] for r in await bot.svc.db.fetchall("SELECT user_id FROM campaign_recipients")]
    assert set(residents) <= set(recipients)
    for uid in recipients:  # each exactly once, as a photo with the message as its caption
        got = [e.kind for e in bot.api.sent if e.chat_id == uid and e.text.startswith("📣 Điểm tiêm mới ở UBND")]
        assert got == ["photo"], uid
    assert [data for _chat, data in bot.api.uploads] == [photo]  # the bytes went up once; the rest by its file id
    row = await bot.svc.db.fetchone("SELECT telegram_file_id FROM campaign_images WHERE id = ?", (int(image_id),))
    assert row["telegram_file_id"].startswith("photo-")
    by_id = [p for p in photos if p.get("photo") == row["telegram_file_id"]]
    assert len(photos) == len(recipients) and len(by_id) == len(recipients) - 1  # the others by the file id
    client.cookies.clear()
    await sign_in(bot, client, VOL)
    assert (await client.get(f"/dashboard/campaigns/photos/{image_id}")).status_code == 403


async def test_a_bad_photo_is_refused_kindly_and_the_typed_text_stays(site, monkeypatch):
    bot, client = site
    await people(bot)
    csrf = await sign_in(bot, client, ADMIN)
    form = {"csrf": csrf, "text_vi": "Lịch tiêm **thứ Bảy**", "text_en": "Saturday", "role": "residents",
            "step": "preview"}
    for name, body, kind, says in (
            ("notes.txt", b"not a picture at all", "text/plain", "Tệp này không phải là ảnh"),
            ("fake.png", b"\x89PNG\r\n\x1a\n" + b"0" * 64, "image/png", "Tệp này không phải là ảnh"),
            ("huge.jpg", b"\xff\xd8\xff" + b"0" * dashboard.PHOTO_MAX_BYTES, "image/jpeg", "Ảnh này quá lớn")):
        page = await client.post("/dashboard/campaigns", data=form, files={"photo": (name, body, kind)})
        assert page.status_code == 400 and says in page.text, name
        assert "Lịch tiêm **thứ Bảy**</textarea>" in page.text and "Saturday</textarea>" in page.text, name
    assert (await bot.svc.db.fetchone("SELECT COUNT(*) AS n FROM campaign_images"))["n"] == 0
    assert (await bot.svc.db.fetchone("SELECT COUNT(*) AS n FROM campaigns"))["n"] == 0


async def test_a_draft_with_an_uploaded_photo_survives_a_restart_and_is_sent_with_it(tmp_path):
    settings = make_settings(tmp_path, public_base_url=BASE, bot_token=TOKEN)
    photo = a_photo("JPEG")

    async def site_of(bot):
        state = WebState(clock=bot.clock)
        state.db, state.svc, state.phase = bot.svc.db, bot.svc, "ready"
        return state

    async with open_bot(settings) as bot:
        for uid in (RESIDENT, 1002, 1003):
            await bot.send(uid, "/start")
        state = await site_of(bot)
        try:
            async with serving(create_app(state)) as url, httpx.AsyncClient(base_url=url) as client:
                csrf = await sign_in(bot, client, ADMIN)
                form = {"csrf": csrf, "text_vi": "Điểm hỗ trợ mới", "role": "residents", "step": "save"}
                saved = await client.post("/dashboard/campaigns", data=form,
                                          files={"photo": ("p.jpg", photo, "image/jpeg")})
                assert saved.status_code == 200 and "Đã lưu bản nháp" in saved.text
        finally:
            await state.close_reader()
        clock, api = bot.clock, bot.api
    async with open_bot(settings, clock, api) as bot:  # the same database file: a restart
        draft = await bot.svc.db.fetchone("SELECT id, image_id FROM campaign_drafts")
        assert draft["image_id"] is not None
        state = await site_of(bot)
        try:
            async with serving(create_app(state)) as url, httpx.AsyncClient(base_url=url) as client:
                csrf = await sign_in(bot, client, ADMIN)
                opened = (await client.get("/dashboard/campaigns", params={"draft": draft["id"]})).text
                assert f'<img src="/dashboard/campaigns/photos/{draft["image_id"]}"' in opened
                image_id = re.search(r'name="image_id" value="(\d+)"', opened).group(1)
                send = {"csrf": csrf, "text_vi": "Điểm hỗ trợ mới", "role": "residents", "step": "send",
                        "draft_id": str(draft["id"]), "image_id": image_id}
                assert (await client.post("/dashboard/campaigns", data=send)).status_code == 303
                await bot.svc.sender.wait_idle(10)
        finally:
            await state.close_reader()
        for uid in (RESIDENT, 1002, 1003):
            assert bot.last(uid).kind == "photo" and bot.last(uid).text.startswith("Điểm hỗ trợ mới"), uid
        assert [data for _chat, data in bot.api.uploads] == [photo]
        assert (await bot.svc.db.fetchone("SELECT image_id FROM campaigns"))["image_id"] == draft["image_id"]
        assert (await bot.svc.db.fetchone("SELECT COUNT(*) AS n FROM campaign_drafts"))["n"] == 0


async def test_a_photo_uploaded_for_a_preview_and_never_used_is_forgotten_a_day_later(site):
    bot, _client = site
    await people(bot)
    viewer = await dashboard.viewer(bot.svc, ADMIN)
    kept = await dashboard.keep_photo(bot.svc, viewer, a_photo())
    used = await dashboard.keep_photo(bot.svc, viewer, a_photo("JPEG"))
    await dashboard.save_draft(bot.svc, viewer, {"vi": "Nháp có ảnh"}, "all", image_id=used)
    bot.clock.advance(2 * 24 * 3600)
    await dashboard.keep_photo(bot.svc, viewer, a_photo())
    left = {r["id"] for r in await bot.svc.db.fetchall("SELECT id FROM campaign_images")}
    assert kept not in left and used in left and len(left) == 2

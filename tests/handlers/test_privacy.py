"""/privacy, /mydata, /deletemydata and withdrawing consent, through the real Application."""

import json

from bot import help_requests, privacy
from bot.data import requests as rdata
from tests.conftest import Harness
from tests.handlers.test_requests import file_request, make_volunteer

R, V = 1001, 2001


async def consents(bot: Harness, uid: int) -> list[tuple[str, int]]:
    rows = await bot.svc.db.fetchall("SELECT purpose, granted FROM consents WHERE user_id = ? ORDER BY id", (uid,))
    return [(r[0], r[1]) for r in rows]


async def test_privacy_notice_in_plain_vietnamese_with_buttons(bot: Harness):
    [notice] = await bot.send(R, "/privacy")
    assert notice.text.startswith("🔒 Dữ liệu cá nhân của bạn")
    assert "Luật 91/2025/QH15" in notice.text and "Nghị định 356/2025/NĐ-CP" in notice.text
    assert "sau 90 ngày" in notice.text and "/unsubscribe" in notice.text and "/deletemydata" in notice.text
    assert notice.labels == ["📂 Dữ liệu của tôi", "🗑 Xóa dữ liệu của tôi", "🏠 Menu chính"]  # no phone shared yet
    await bot.svc.db.execute("UPDATE users SET locale = 'en' WHERE id = ?", (R,))
    [notice] = await bot.send(R, "/privacy")
    assert notice.text.startswith("🔒 Your personal data") and "Law 91/2025/QH15" in notice.text


async def test_subscribe_and_unsubscribe_record_consent(bot: Harness):
    await bot.send(R, "/unsubscribe")
    await bot.send(R, "/subscribe")
    assert await consents(bot, R) == [("campaigns", 0), ("campaigns", 1)]
    row = await bot.svc.db.fetchone("SELECT subscribed FROM users WHERE id = ?", (R,))
    assert row[0] == 1


async def test_withdrawing_phone_consent_erases_it_from_live_requests(bot: Harness):
    await make_volunteer(bot, V)
    claimed = await file_request(bot, phone=True)
    await help_requests.claim(bot.svc, claimed.id, V)
    waiting = await file_request(bot, phone=True)
    [notice] = await bot.send(R, "/privacy")
    assert notice.labels[0] == "📵 Rút lại số điện thoại của tôi"
    [edit] = [e for e in await bot.press(R, "Rút lại số điện thoại") if e.kind == "edit"]
    assert edit.text == ("✅ Xong. Tình nguyện viên sẽ không nhận số điện thoại của bạn nữa.\n"
                         "Số điện thoại đã được xóa khỏi 2 yêu cầu của bạn.")
    for request in (claimed, waiting):
        assert (await rdata.get(bot.svc.db, request.id)).phone is None
    assert (await consents(bot, R))[-1] == ("volunteer_contact", 0)
    [notice] = await bot.send(R, "/privacy")
    assert "📵 Rút lại số điện thoại của tôi" not in notice.labels


async def test_mydata_sends_a_json_file_of_everything(bot: Harness):
    await make_volunteer(bot, V)
    request = await file_request(bot, phone=True, text="Tôi quên mật khẩu VNeID")
    await help_requests.claim(bot.svc, request.id, V)
    await help_requests.resolve(bot.svc, request.id, V)
    await bot.press(R, "⭐⭐⭐⭐⭐")
    await bot.send(R, "Rất tốt")
    events = await bot.send(R, "/mydata")
    [doc] = [e for e in events if e.kind == "file"]
    assert doc.file_name == f"my-data-{R}.json"
    assert doc.text == "📂 Đây là mọi dữ liệu mình lưu về bạn. Bạn giữ tệp này cẩn thận."
    _name, body = await privacy.export(bot.svc, R)  # the same body the handler attached
    exported = json.loads(body)
    assert exported["user"]["id"] == R and exported["user"]["first_name"] == "User 1001"
    assert exported["consents"][0]["purpose"] == "volunteer_contact"
    [mine] = exported["help_requests"]
    assert (mine["code"], mine["description"], mine["phone"], mine["rating"], mine["rating_comment"]) == (
        request.code, "Tôi quên mật khẩu VNeID", "+84900001001", 5, "Rất tốt")
    assert mine["volunteer_name"] == f"Vol{V}"
    assert exported["volunteer"] is None
    volunteer_copy = json.loads((await privacy.export(bot.svc, V))[1])
    assert volunteer_copy["volunteer"]["wards"] == ["ben-thanh"] and volunteer_copy["help_requests"] == []


async def test_deletemydata_asks_then_erases_and_tells_the_volunteer(bot: Harness):
    await make_volunteer(bot, V)
    claimed = await file_request(bot, phone=True, text="Cần cài VNeID")
    await help_requests.claim(bot.svc, claimed.id, V)
    waiting = await file_request(bot, text="Quên mật khẩu")
    await bot.send(R, "/unsubscribe")
    [ask] = await bot.send(R, "/deletemydata")
    assert ask.text.startswith("🗑 Xóa dữ liệu của tôi") and ask.labels == ["✅ Xác nhận", "✖ Hủy"]
    [cancelled] = [e for e in await bot.press(R, "Hủy") if e.kind == "edit"]
    assert cancelled.text == "Đã hủy. Chưa có gì bị xóa."
    assert (await rdata.get(bot.svc.db, waiting.id)).status == "open"

    await bot.send(R, "/deletemydata")
    events = await bot.press(R, "Xác nhận")
    told = [e for e in events if e.chat_id == V and e.kind == "to"]
    assert [e.text for e in told] == [f"🔒 Yêu cầu {claimed.code} đã đóng: người dân đã xin xóa dữ liệu của mình. "
                                      "Cảm ơn bạn đã hỗ trợ."]
    done = [e for e in events if e.chat_id == R and e.kind == "edit"][-1]
    assert done.text.startswith("✅ Xong. Dữ liệu cá nhân của bạn đã được xóa.")
    db = bot.svc.db
    for request, status in ((claimed, "cancelled"), (waiting, "cancelled")):
        row = await rdata.get(db, request.id)
        assert (row.status, row.resident_id, row.phone, row.description) == (status, None, None, None)
    user = await db.fetchone("SELECT first_name, username, ward, locale, subscribed FROM users WHERE id = ?", (R,))
    assert tuple(user) == (None, None, None, None, 0)
    for table in ("consents", "request_drafts", "awaiting", "guide_feedback", "campaign_recipients"):
        assert (await db.fetchone(f"SELECT COUNT(*) FROM {table} WHERE user_id = ?", (R,)))[0] == 0, table
    assert (await db.fetchone("SELECT COUNT(*) FROM relay_messages WHERE chat_id = ?", (R,)))[0] == 0
    assert (await db.fetchone("SELECT COUNT(*) FROM request_events WHERE actor_id = ?", (R,)))[0] == 0
    audit = await db.fetchall("SELECT actor_id, kind, detail FROM audit_events")
    assert [tuple(a) for a in audit] == [(None, "personal_data_erased", None)]
    # the anonymous counts survive for /stats
    assert (await db.fetchone("SELECT COUNT(*) FROM help_requests"))[0] == 2
    assert (await db.fetchone("SELECT COUNT(*) FROM users WHERE id = ?", (R,)))[0] == 1
    # the volunteer's relay to the resident has ended
    [reply] = await bot.send(V, "cai dat vneid")
    assert reply.text.startswith("🔎")


async def test_a_volunteer_deleting_their_data_releases_their_requests(bot: Harness):
    await make_volunteer(bot, V)
    await make_volunteer(bot, V + 1)
    request = await file_request(bot)
    await help_requests.claim(bot.svc, request.id, V)
    await bot.send(V, "/deletemydata")
    await bot.press(V, "Xác nhận")
    row = await rdata.get(bot.svc.db, request.id)
    assert row.status == "open" and row.volunteer_id is None
    assert (await bot.svc.db.fetchone("SELECT COUNT(*) FROM volunteers WHERE user_id = ?", (V,)))[0] == 0
    assert (await bot.svc.db.fetchone("SELECT COUNT(*) FROM volunteer_wards WHERE user_id = ?", (V,)))[0] == 0
    assert any(e.chat_id == V + 1 and "✋ Nhận hỗ trợ" in e.labels for e in bot.api.sent)  # routed again

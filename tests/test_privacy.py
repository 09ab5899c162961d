"""Retention and logs: personal data leaves on time, and never reaches a log line."""

import logging
from datetime import timedelta

from bot import help_requests, privacy
from bot.clock import iso
from bot.data import requests as rdata
from tests.conftest import Harness
from tests.handlers.test_requests import file_request, make_volunteer

R, V = 1001, 2001
DAY = 24 * 3600


async def test_retention_erases_closed_requests_after_the_period_only(bot: Harness):
    await make_volunteer(bot, V)
    old = await file_request(bot, phone=True, text="Yêu cầu cũ")
    await help_requests.claim(bot.svc, old.id, V)
    await bot.send(V, "Chào bác")
    await bot.send(R, "Chào cháu")
    await help_requests.resolve(bot.svc, old.id, V)
    await bot.press(R, "⭐⭐⭐")
    await bot.send(R, "Tốt lắm")
    cancelled = await file_request(bot, text="Hủy rồi")
    await help_requests.cancel(bot.svc, cancelled.id, R)
    db = bot.svc.db
    assert (await db.fetchone("SELECT COUNT(*) FROM relay_messages WHERE request_id = ?", (old.id,)))[0] == 2

    bot.clock.advance(80 * DAY)
    recent = await file_request(bot, phone=True, text="Yêu cầu mới")
    still_open = await file_request(bot, phone=True, text="Vẫn chờ")
    await help_requests.cancel(bot.svc, recent.id, R)
    await privacy.retention_tick(bot.svc)
    assert (await rdata.get(db, old.id)).description == "Yêu cầu cũ"  # 80 days: kept

    bot.clock.advance(11 * DAY)  # old and cancelled: 91 days; recent: 11 days
    await privacy.retention_tick(bot.svc)
    for request in (old, cancelled):
        row = await rdata.get(db, request.id)
        assert (row.phone, row.description, row.rating_comment, row.attachment_kind) == (None, None, None, None)
    assert (await rdata.get(db, old.id)).rating == 3  # the anonymous number stays
    assert (await db.fetchone("SELECT COUNT(*) FROM relay_messages WHERE request_id = ?", (old.id,)))[0] == 0
    assert (await rdata.get(db, recent.id)).description == "Yêu cầu mới"
    row = await rdata.get(db, still_open.id)
    assert (row.status, row.description, row.phone) == ("open", "Vẫn chờ", "+84900001001")
    before = [tuple(r) for r in await db.fetchall("SELECT * FROM help_requests ORDER BY id")]
    await privacy.retention_tick(bot.svc)  # idempotent
    assert [tuple(r) for r in await db.fetchall("SELECT * FROM help_requests ORDER BY id")] == before


async def test_retention_is_one_of_the_ticks():
    from bot.app import TICKS

    assert ("retention", 3600.0, privacy.retention_tick) in TICKS


PHONE = "+84987654321"
TYPED = ["Tôi bị khóa tài khoản ngân hàng số 0987", "Bác bấm vào nút Quên mật khẩu nhé",
         "Được rồi cháu ơi cảm ơn", "Cháu giúp rất tận tình", "lam sao doi so dien thoai vneid",
         "Chụp giúp bác màn hình"]


def record_texts(record: logging.LogRecord) -> list[str]:
    texts = [str(record.msg), record.getMessage()]
    texts += [repr(a) for a in (record.args if isinstance(record.args, tuple) else [record.args] if record.args
                                else [])]
    texts += [repr(v) for v in vars(record).values()]
    if record.exc_info:
        texts.append(logging.Formatter().formatException(record.exc_info))
    return texts


async def test_logs_never_hold_phone_numbers_or_typed_text(bot: Harness, caplog):
    caplog.set_level(logging.DEBUG)
    for name in list(logging.root.manager.loggerDict):
        logging.getLogger(name).setLevel(logging.NOTSET)  # every logger at DEBUG through the root
    await make_volunteer(bot, V)
    request = await file_request(bot, text=TYPED[0], phone=False)
    await bot.send(R, "/ask")
    await bot.press(R, "VNeID")
    await bot.send(R, TYPED[5])
    await bot.press(R, "Bến Thành")
    await bot.press(R, "Gọi điện thoại")
    await bot.press(R, "Gửi số điện thoại")
    await bot.driver.send_kind(R, "contact", phone=PHONE)
    await bot.press(R, "Xác nhận")
    phoned = (await rdata.of_resident(bot.svc.db, R))[0]
    assert phoned.phone == PHONE
    for r in (request, phoned):
        offer = [e for e in bot.api.sent if e.chat_id == V and f"rq:claim:{r.id}" in
                 [b.data for b in e.flat_buttons]][-1]
        await bot.driver.press_data(V, f"rq:claim:{r.id}", offer.message_id)
    await bot.send(V, TYPED[1], reply_to=None)
    await bot.send(R, TYPED[2])
    await help_requests.resolve(bot.svc, phoned.id, V)
    await bot.press(R, "⭐⭐⭐⭐⭐")
    await bot.send(R, TYPED[3])
    await bot.send(R, TYPED[4])  # a search
    assert (await rdata.get(bot.svc.db, phoned.id)).rating_comment == TYPED[3]
    assert len(caplog.records) > 20, "the flow should have logged something"
    needles = [PHONE, PHONE.lstrip("+"), "987654321", *TYPED, *(t[:20] for t in TYPED)]
    for record in caplog.records:
        for text in record_texts(record):
            for needle in needles:
                assert needle not in text, (record.name, record.msg, needle)


async def test_the_retention_tick_forgets_update_ids_after_a_week(bot):
    from bot.data import updates as updates_data
    from bot.privacy import SEEN_UPDATES_DAYS, retention_tick

    now = bot.svc.clock.now()
    old = iso(now - timedelta(days=SEEN_UPDATES_DAYS, minutes=1))
    assert await updates_data.take(bot.svc.db, "telegram", "1", old)
    assert await updates_data.take(bot.svc.db, "telegram", "2", iso(now))
    assert not await updates_data.take(bot.svc.db, "telegram", "2", iso(now))  # a re-send
    await retention_tick(bot.svc)
    assert await updates_data.count(bot.svc.db, "telegram") == 1
    assert await updates_data.take(bot.svc.db, "telegram", "1", iso(now))  # forgotten: taken anew

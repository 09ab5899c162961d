"""Flood control and bans, through the real Application with the test clock."""

from bot.moderation import DROP, NOTICE, OK, FloodGuard
from tests.conftest import ADMIN, Harness

R, OTHER = 1001, 1002
NOTICE_TEXT = "⏳ Bạn đang gửi tin rất nhanh. Bạn chờ 10 giây rồi thử lại nhé."
BANNED_TEXT = ("Xin lỗi, bạn không thể dùng Trợ lý số nữa. Nếu bạn nghĩ có nhầm lẫn, bạn liên hệ UBND phường.")


async def test_a_flooder_gets_one_notice_then_silence_others_are_served(bot: Harness):
    answers = [await bot.send(R, "cai dat vneid") for _ in range(20)]
    assert all(len(a) == 1 and a[0].text.startswith("🔎") for a in answers)  # 20 in 10 s are fine
    bot.clock.advance(1)
    [notice] = await bot.send(R, "cai dat vneid")
    assert notice.text == NOTICE_TEXT
    for _ in range(30):
        assert await bot.send(R, "cai dat vneid") == []
        assert await bot.driver.press_data(R, "m:g", 1) == []
    [served] = await bot.send(OTHER, "cai dat vneid")  # someone else is not affected
    assert served.text.startswith("🔎")
    searches = (await bot.svc.db.fetchone("SELECT COUNT(*) FROM search_log"))[0]
    assert searches == 21  # the dropped updates never reached the database
    bot.clock.advance(10)
    [again] = await bot.send(R, "cai dat vneid")
    assert again.text.startswith("🔎")


async def test_a_slow_steady_user_is_never_cut_off(bot: Harness):
    for _ in range(100):
        bot.clock.advance(0.6)  # 16-17 updates per 10 s
        assert len(await bot.send(R, "vneid")) == 1


def test_flood_guard_forgets_quiet_people():
    from datetime import UTC, datetime, timedelta

    guard = FloodGuard(3, 10)
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    assert [guard.check(1, t0) for _ in range(5)] == [OK, OK, OK, NOTICE, DROP]
    for uid in range(2, 1000):
        guard.check(uid, t0)
    assert guard.tracked() == 999
    assert guard.check(5000, t0 + timedelta(seconds=11)) == OK
    assert guard.tracked() == 1  # everyone quiet for a window was swept, the cooldown ended too
    assert guard.check(1, t0 + timedelta(seconds=11)) == OK


async def test_admins_ban_and_unban(bot: Harness):
    await bot.send(R, "/start")
    [refused] = await bot.send(OTHER, f"/ban {R}")
    assert refused.text == "Xin lỗi, mục này chỉ dành cho quản trị viên."
    [done] = await bot.send(ADMIN, f"/ban {R}")
    assert done.text == f"Xong: {R} đã bị chặn."
    [notice] = await bot.send(R, "/start")
    assert notice.text == BANNED_TEXT
    assert await bot.send(R, "/start") == []
    assert await bot.send(R, "cai dat vneid") == []
    events = await bot.driver.press_data(R, "m:g", 1)
    assert all(e.kind != "to" and e.kind != "edit" for e in events)
    assert await bot.driver.send_kind(R, "sticker") == []
    [unknown] = await bot.send(ADMIN, "/ban 424242")
    assert unknown.text == "424242 chưa trò chuyện với Trợ lý số."
    [admin] = await bot.send(ADMIN, f"/ban {ADMIN}")
    assert admin.text == "Bạn không thể tự chặn mình."
    [usage] = await bot.send(ADMIN, "/ban")
    assert usage.text == "Dùng /ban ID hoặc /unban ID."
    [lifted] = await bot.send(ADMIN, f"/unban {R}")
    assert lifted.text == f"Xong: {R} đã dùng lại được Trợ lý số."
    [welcome] = await bot.send(R, "/start")
    assert welcome.text.startswith("Chào bạn!")
    audit = await bot.svc.db.fetchall("SELECT actor_id, kind, detail FROM audit_events ORDER BY id")
    assert [tuple(a) for a in audit] == [(ADMIN, "user_banned", str(R)), (ADMIN, "user_unbanned", str(R))]
    # a second ban notifies once more
    await bot.send(ADMIN, f"/ban {R}")
    assert [e.text for e in await bot.send(R, "hi")] == [BANNED_TEXT]


async def test_admins_cannot_be_banned(bot: Harness):
    await bot.send(R, "/start")
    await bot.send(ADMIN, "/admins add 1001")
    [refused] = await bot.send(ADMIN, f"/ban {R}")
    assert refused.text == f"{R} là quản trị viên, không thể chặn."

"""Admins in chat: /broadcast end to end, campaign buttons, /admins, /stats, /export; refusals for everyone else."""

from __future__ import annotations

import pytest

from bot.app import TICKS
from bot.data import users
from tests.conftest import ADMIN, Harness

R = 1001
NOT_ALLOWED = "Xin lỗi, mục này chỉ dành cho quản trị viên."


async def residents(bot: Harness, n: int, start: int = 2000, **columns) -> list[int]:
    ids = list(range(start, start + n))
    for uid in ids:
        await users.touch(bot.svc.db, uid, f"Dân {uid}", None, bot.svc.now())
        for name, value in columns.items():
            await bot.svc.db.execute(f"UPDATE users SET {name} = ? WHERE id = ?", (value, uid))
    return ids


async def ticks(bot: Harness) -> None:
    for _name, _every, tick in TICKS:
        await tick(bot.svc)
    await bot.svc.sender.wait_idle()


async def compose_to_everyone(bot: Harness, text: str) -> None:
    """/broadcast → text → no photo → everyone: up to the "send now or schedule?" question."""
    await bot.send(ADMIN, "/broadcast")
    await bot.send(ADMIN, text)
    await bot.press(ADMIN, "Tiếp")
    await bot.press(ADMIN, "Tất cả")


async def send_formatted(bot: Harness, user: int, text: str, entities: list[dict]):
    msg = bot.driver._message(user, text=text, entities=entities)
    return await bot.driver.feed({"message": msg})


async def test_broadcast_end_to_end_with_preview_and_exact_count(bot: Harness):
    await bot.send(ADMIN, "/start")
    await bot.svc.db.execute("UPDATE users SET subscribed = 0 WHERE id = ?", (ADMIN,))
    vi = await residents(bot, 3)
    en = await residents(bot, 2, start=3000, locale="en")
    [intro] = await bot.send(ADMIN, "/broadcast")
    assert intro.text.startswith("📣 Thông báo chiến dịch mới.") and intro.labels == ["✖ Hủy"]
    bold = [{"type": "bold", "offset": 0, "length": 8}]
    [ask_photo] = await send_formatted(bot, ADMIN, "Tiêm chủng miễn phí thứ Bảy", bold)
    assert ask_photo.labels == ["Tiếp ▶", "✖ Hủy"]
    [audience] = await bot.press(ADMIN, "Tiếp")
    assert audience.text == "Gửi cho ai?"
    assert audience.labels[0] == "👥 Tất cả người nhận thông báo (5)"
    [mode] = await bot.press(ADMIN, "Tất cả")
    assert mode.text.startswith("Những người dân này đọc 2 ngôn ngữ.")
    events = await bot.press(ADMIN, "Một nội dung cho tất cả")
    texts = [e.text for e in events if e.kind == "to"]
    assert texts[0] == "👀 Bản xem trước cho người dân đọc Tiếng Việt:"
    assert texts[1] == "Tiêm chủng miễn phí thứ Bảy\n\nĐể ngừng nhận thông báo chiến dịch, gửi /unsubscribe"
    assert texts[3] == "Tiêm chủng miễn phí thứ Bảy\n\nTo stop campaign messages, send /unsubscribe"
    assert texts[4] == "Tin sẽ gửi đến 5 người dân. Gửi ngay hay hẹn giờ?\nTrên Telegram: 5 · Trên Zalo: 0"
    preview = bot.api.messages[ADMIN][events[1].message_id]
    assert preview["entities"] == bold
    assert (await bot.svc.db.fetchone("SELECT COUNT(*) FROM campaigns"))[0] == 0
    [saved] = [e for e in await bot.press(ADMIN, "Gửi ngay") if e.kind == "edit"]
    assert saved.text.startswith("✅ Đã lưu. Tin sẽ bắt đầu gửi trong giây lát.")
    assert saved.labels == ["⏸ Tạm dừng", "✖ Hủy"]
    assert (await bot.svc.db.fetchone("SELECT COUNT(*) FROM campaign_recipients"))[0] == 5
    await ticks(bot)
    for uid in vi + en:
        [msg] = bot.api.messages[uid].values()
        assert msg["entities"] == bold
    assert bot.last(ADMIN).text.startswith("✅ Thông báo chiến dịch #1 đã gửi xong.\nĐã gửi: 5 / 5")


async def test_text_per_language_by_ward_with_photo(bot: Harness):
    await residents(bot, 2, ward="sai-gon")
    await residents(bot, 1, start=3000, ward="sai-gon", locale="en")
    await residents(bot, 4, start=4000, ward="ben-thanh")
    await bot.send(ADMIN, "/broadcast")
    await bot.send(ADMIN, "Họp tổ dân phố")
    await bot.driver.send_kind(ADMIN, "photo")
    await bot.press(ADMIN, "Theo phường")
    [wards] = [e for e in bot.api.sent if e.chat_id == ADMIN][-1:]
    assert wards.labels[:2] == ["Phường Bến Thành (4)", "Phường Sài Gòn (3)"]
    await bot.press(ADMIN, "Phường Sài Gòn")
    [ask] = await bot.press(ADMIN, "Mỗi ngôn ngữ")
    assert ask.text == "Gửi nội dung cho người dân đọc Tiếng Việt."
    [ask] = await bot.send(ADMIN, "Họp tổ dân phố tối nay")
    assert ask.text == "Gửi nội dung cho người dân đọc English."
    events = await bot.send(ADMIN, "Neighbourhood meeting tonight")
    assert [e.kind for e in events] == ["to", "photo", "to", "photo", "to"]
    assert events[-1].text.startswith("Tin sẽ gửi đến 3 người dân.")
    await bot.press(ADMIN, "Gửi ngay")
    await ticks(bot)
    assert bot.last(3000).kind == "photo" and bot.last(3000).text.startswith("Neighbourhood meeting tonight\n\n")
    assert bot.last(2000).text.startswith("Họp tổ dân phố tối nay\n\n")
    assert 4000 not in bot.api.messages


async def test_schedule_by_typed_time_then_cancel_from_the_message(bot: Harness):
    await residents(bot, 2)
    await compose_to_everyone(bot, "Ngày hội chuyển đổi số")
    [when] = await bot.press(ADMIN, "Hẹn giờ")
    assert "28/11/2026 08:30" in when.text
    [reply] = await bot.send(ADMIN, "ngày mai")
    assert reply.text.startswith("Mình chưa hiểu thời gian này.")
    [reply] = await bot.send(ADMIN, "28/11/2026 08:00")  # the fake clock says 09:00 there
    assert reply.text.startswith("Thời điểm này đã qua.")
    [saved] = await bot.send(ADMIN, "28/11/2026 10:00")
    assert saved.text.startswith("✅ Đã lưu. Tin sẽ được gửi lúc 10:00 28/11/2026.")
    assert saved.labels == ["✖ Hủy"]
    await ticks(bot)
    assert 2000 not in bot.api.messages
    bot.clock.advance(3600)
    await ticks(bot)
    assert len(bot.api.messages[2000]) == 1 and len(bot.api.messages[2001]) == 1

    await compose_to_everyone(bot, "Thêm một tin")
    await bot.press(ADMIN, "Hẹn giờ")
    [saved] = await bot.send(ADMIN, "29/11/2026 10:00")
    events = await bot.press(ADMIN, "Hủy", saved.message_id)
    assert events[0].text == "Đã hủy." and "đã hủy" in events[1].text
    bot.clock.advance(2 * 86400)
    await ticks(bot)
    assert len(bot.api.messages[2000]) == 1


async def test_cancel_at_a_step_saves_nothing(bot: Harness):
    await residents(bot, 1)
    await bot.send(ADMIN, "/broadcast")
    await bot.send(ADMIN, "Bản nháp")
    await bot.press(ADMIN, "Tiếp")
    [done] = await bot.press(ADMIN, "Hủy")
    assert done.text == "Đã hủy. Chưa có tin nào được gửi."
    assert (await bot.svc.db.fetchone("SELECT COUNT(*) FROM campaigns"))[0] == 0
    [reply] = await bot.send(ADMIN, "/broadcast")
    [reply] = await bot.send(ADMIN, "/cancel")
    assert reply.text == "Đã hủy. Chưa có tin nào được gửi."


async def test_progress_buttons_pause_resume(bot: Harness):
    await residents(bot, 3)
    await compose_to_everyone(bot, "Tạm dừng rồi gửi tiếp")
    await bot.press(ADMIN, "Gửi ngay")
    events = await bot.press(ADMIN, "Tạm dừng")
    assert events[0].text == "Đã tạm dừng." and events[1].labels == ["▶ Gửi tiếp", "✖ Hủy"]
    await ticks(bot)
    assert 2000 not in bot.api.messages
    await bot.press(ADMIN, "Gửi tiếp")
    await bot.svc.sender.wait_idle()
    assert all(len(bot.api.messages[u]) == 1 for u in (2000, 2001, 2002))


@pytest.mark.parametrize("command", ["/broadcast", "/stats", "/export", "/export contacts", "/admins",
                                     f"/admins add {R}", f"/admins remove {ADMIN}"])
async def test_admin_commands_are_refused_for_residents(bot: Harness, command: str):
    events = await bot.send(R, command)
    assert [e.text for e in events] == [NOT_ALLOWED]
    assert (await bot.svc.db.fetchone("SELECT COUNT(*) FROM audit_events"))[0] == 0
    assert (await users.get(bot.svc.db, R)).is_admin is False


@pytest.mark.parametrize("data", ["cmp:pause:1", "cmp:resume:1", "cmp:cancel:1", "bc:send", "bc:aud:all",
                                  "bc:cancel", "bc:sched"])
async def test_forged_admin_buttons_are_refused(bot: Harness, data: str):
    await residents(bot, 2)
    await compose_to_everyone(bot, "Thật")
    await bot.press(ADMIN, "Hẹn giờ")
    await bot.send(ADMIN, "29/11/2026 10:00")
    [menu] = await bot.send(R, "/menu")
    events = await bot.driver.press_data(R, data, menu.message_id)
    assert [(e.kind, e.text) for e in events] == [("alert", NOT_ALLOWED)]
    row = await bot.svc.db.fetchone("SELECT MIN(status), COUNT(*) FROM campaigns")
    assert tuple(row) == ("scheduled", 1)


async def test_admins_add_list_remove_with_audit(bot: Harness):
    [reply] = await bot.send(ADMIN, "/admins add 5555")
    assert reply.text == "5555 chưa trò chuyện với bot. Bạn nhờ người đó gửi /start trước."
    await bot.send(R, "/start")
    [reply] = await bot.send(ADMIN, f"/admins add {R}")
    assert reply.text == f"Xong: {R} đã là quản trị viên."
    [reply] = await bot.send(R, "/admins")
    assert reply.text.startswith("👮 Quản trị viên:")
    assert f"• User {R} · {R} · thêm trong trò chuyện" in reply.text and f"{ADMIN} · từ cấu hình" in reply.text
    [reply] = await bot.send(R, f"/admins remove {ADMIN}")
    assert "ADMIN_IDS" in reply.text
    [reply] = await bot.send(R, f"/admins remove {R}")
    assert reply.text.startswith("Bạn không thể tự bỏ quyền")
    [reply] = await bot.send(ADMIN, f"/admins remove {R}")
    assert reply.text == f"Xong: {R} không còn là quản trị viên."
    assert [e.text for e in await bot.send(R, "/stats")] == [NOT_ALLOWED]
    rows = await bot.svc.db.fetchall("SELECT actor_id, kind, detail FROM audit_events ORDER BY id")
    assert [tuple(r) for r in rows] == [(ADMIN, "admin_added", str(R)), (ADMIN, "admin_removed", str(R))]


async def test_demoted_admin_mid_broadcast_is_stopped(bot: Harness):
    await bot.send(R, "/start")
    await bot.send(ADMIN, f"/admins add {R}")
    await bot.send(R, "/broadcast")
    await bot.send(ADMIN, f"/admins remove {R}")
    events = await bot.send(R, "Tin của người đã mất quyền")
    assert [e.text for e in events] == [NOT_ALLOWED]


async def test_stats_sends_text_and_a_chart(bot: Harness):
    await bot.send(R, "/start vneid-install")
    await bot.send(R, "qqqzzz wwwxxx")
    events = await bot.send(ADMIN, "/stats")
    assert [e.kind for e in events] == ["to", "photo"]
    text = events[0].text
    assert text.startswith("📊 7 ngày qua\nNgười dân mới: 2")
    assert "Cài đặt" in text or "VNeID" in text
    assert "“qqqzzz wwwxxx” · 1" in text
    assert "📊 Từ trước đến nay" in text
    assert events[1].text == "📈 7 ngày qua"


async def test_export_sends_a_csv_and_audits_contacts(bot: Harness):
    await bot.send(R, "/start vneid-install")
    [doc] = await bot.send(ADMIN, "/export")
    assert doc.kind == "file" and doc.file_name.endswith(".csv") and "contacts" not in doc.file_name
    assert doc.text == "Không có tên và số điện thoại."
    [doc] = await bot.send(ADMIN, "/export contacts")
    assert "contacts" in doc.file_name
    rows = await bot.svc.db.fetchall("SELECT actor_id, kind FROM audit_events")
    assert [tuple(r) for r in rows] == [(ADMIN, "export_contacts")]


async def test_subscribe_commands_are_in_everyones_menu(bot: Harness):
    vi = {c["command"]: c["description"] for c in bot.api.commands[("default", "")]}
    assert vi["unsubscribe"] == "Hủy nhận thông báo" and "subscribe" in vi

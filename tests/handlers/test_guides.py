import shutil
from dataclasses import replace

import pytest

from tests.conftest import ROOT, Harness

R = 1001


async def test_browse_and_step_through_a_guide_editing_one_message(bot: Harness):
    [menu] = await bot.send(R, "/menu")
    await bot.press(R, "Hướng dẫn")
    await bot.press(R, "VNeID")
    guide = bot.svc.guide("vneid-install")
    [first] = await bot.press(R, guide.title.vi)
    assert first.kind == "edit" and first.message_id == menu.message_id
    assert f"Bước 1/{len(guide.steps)}" in first.text
    assert guide.steps[0].text.vi in first.text
    assert "⚠️ " + guide.steps[0].warning.vi in first.text
    assert first.labels == ["Tiếp ▶", "🙋 Vẫn chưa được? Nhờ tình nguyện viên", "🏠 Menu chính"]
    for n in range(2, len(guide.steps) + 1):
        [event] = await bot.press(R, "Tiếp")
        assert event.kind == "edit" and event.message_id == menu.message_id
        assert f"Bước {n}/{len(guide.steps)}" in event.text
    assert event.labels[:2] == ["✅ Xong", "◀ Trước"]  # forward keeps the first place; Back follows
    [back] = await bot.press(R, "Trước")
    assert f"Bước {len(guide.steps) - 1}/" in back.text
    await bot.press(R, "Tiếp")
    [done] = await bot.press(R, "Xong")
    assert done.text.startswith("🎉 Bạn đã làm xong")
    [thanks] = await bot.press(R, "Có ích")
    # this guide records an outcome: one optional question follows the thanks (tests/handlers/test_outcomes.py)
    assert thanks.text == "Cảm ơn bạn đã góp ý!\n\nBạn đã làm được chưa: Đăng ký tài khoản VNeID mức 1?"
    assert [e.kind for e in bot.api.sent] == ["to"] + ["edit"] * (len(bot.api.sent) - 1)  # no flood
    row = await bot.svc.db.fetchone("SELECT helpful FROM guide_feedback WHERE user_id = ? AND guide_id = ?",
                                    (R, "vneid-install"))
    assert row["helpful"] == 1
    views = await bot.svc.db.fetchone("SELECT COUNT(*) FROM guide_views WHERE guide_id = 'vneid-install'")
    assert views[0] == 1


async def test_tapping_the_first_button_again_and_again_walks_through_the_guide(bot: Harness):
    guide = bot.svc.guide("vneid-level2")
    [step] = await bot.send(R, "/start vneid-level2")
    assert step.buttons[0][0].label == "Tiếp ▶"
    for n in range(2, len(guide.steps) + 1):
        [step] = await bot.driver.press(R, 1)
        assert f"Bước {n}/{len(guide.steps)}" in step.text
        assert [b.label for b in step.buttons[0]] == (["Tiếp ▶", "◀ Trước"] if n < len(guide.steps)
                                                       else ["✅ Xong", "◀ Trước"])
    [done] = await bot.driver.press(R, 1)
    assert done.text.startswith("🎉 Bạn đã làm xong")
    assert done.buttons[0][0].label == "👍 Có ích"  # never 👎 in the spot the resident kept tapping
    assert "👎" not in done.buttons[0][0].label
    [thanks] = await bot.driver.press(R, 1)
    assert thanks.text.startswith("Cảm ơn bạn đã góp ý!\n\nBạn đã làm được chưa:")  # the guide's outcome


async def test_not_helpful_is_recorded_and_offers_help(bot: Harness):
    await bot.send(R, "/start scam-calls")
    await bot.driver.press_data(R, "g:scam-calls:done", bot.last(R).message_id)
    [reply] = await bot.press(R, "Chưa ích")
    assert "🙋 Nhờ hỗ trợ" in reply.labels
    row = await bot.svc.db.fetchone("SELECT helpful FROM guide_feedback WHERE user_id = ?", (R,))
    assert row["helpful"] == 0


async def test_english_reader_sees_english_steps(bot: Harness):
    await bot.send(R, "/start")
    await bot.press(R, "English")
    [step] = await bot.send(R, "/start vneid-install")
    guide = bot.svc.guide("vneid-install")
    assert step.text.startswith(f"📚 {guide.title.en}\nStep 1 of {len(guide.steps)}")
    assert step.labels[0] == "Next ▶"


@pytest.fixture
def settings(tmp_path, settings):
    """Content with 19 extra guides in one topic, to page through."""
    root = tmp_path / "content"
    shutil.copytree(ROOT / "content", root)
    template = (root / "guides" / "vneid-install.toml").read_text(encoding="utf-8")
    for n in range(19):
        (root / "guides" / f"extra-{n:02}.toml").write_text(
            template.replace('id = "vneid-install"', f'id = "extra-{n:02}"')
            .replace('category = "vneid"', 'category = "shopping"'), encoding="utf-8")
    return replace(settings, content_dir=root)


async def test_long_topics_are_paged_by_eight(bot: Harness):
    await bot.send(R, "/menu")
    await bot.press(R, "Hướng dẫn")
    [page1] = await bot.press(R, "Mua sắm")
    assert "Trang 1/3" in page1.text
    assert len([b for b in page1.labels if b.startswith("Cài VNeID")]) == 8
    assert "Tiếp ▶" in page1.labels and "◀ Trước" not in page1.labels
    await bot.press(R, "Tiếp")
    [page3] = await bot.press(R, "Tiếp")
    assert "Trang 3/3" in page3.text and "Tiếp ▶" not in page3.labels
    assert page3.labels[-3:] == ["◀ Trước", "↩ Chủ đề", "🏠 Menu chính"]
    assert len(page3.labels) - 3 == 20 - 16  # one shipped shopping guide plus 19 extras

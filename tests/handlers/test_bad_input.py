"""Every odd thing a phone can send gets a friendly answer, and nothing raises (the harness checks)."""

import pytest

from tests.conftest import Harness

R = 1001


async def test_whitespace_and_emoji_only_get_a_hint(bot: Harness):
    for text in ("   ", "😀😀😀", "…?!"):
        [reply] = await bot.send(R, text)
        assert reply.text.startswith("Bạn gõ vài chữ về điều cần tìm nhé.")


async def test_huge_text_is_answered_and_not_echoed_whole(bot: Harness):
    [reply] = await bot.send(R, "vneid " * 1000)
    assert len(reply.text) < 200
    [reply] = await bot.send(R, "\u202e\u0000ạ" * 3000)
    assert reply.kind == "to"


@pytest.mark.parametrize("kind", ["sticker", "photo", "voice", "contact"])
async def test_non_text_where_text_is_expected(bot: Harness, kind):
    [reply] = await bot.driver.send_kind(R, kind)
    assert reply.text.startswith("Ở đây mình chỉ đọc được chữ.")
    row = await bot.svc.db.fetchone("SELECT COUNT(*) FROM search_log")
    assert row[0] == 0


async def test_unknown_command(bot: Harness):
    [reply] = await bot.send(R, "/frobnicate now")
    assert reply.text == "Mình chưa hiểu lệnh này. Bạn chọn trong menu nhé."


@pytest.mark.parametrize("data", ["g:no-such-guide:0", "g:vneid-install:99", "g:vneid-install:-1", "cat:nope:0",
                                  "cat:vneid:x", "fb:vneid-install:7", "pts:nowhere", "lang:fr", "zzz", "", "g"])
async def test_stale_or_forged_buttons_are_refused_kindly(bot: Harness, data):
    [menu] = await bot.send(R, "/menu")
    events = await bot.driver.press_data(R, data, menu.message_id)
    assert events, "no answer at all"
    assert events[0].kind == "alert" and events[0].text == "Nút này đã cũ. Mình gửi lại menu cho bạn."
    row = await bot.svc.db.fetchone("SELECT COUNT(*) FROM guide_feedback")
    assert row[0] == 0


async def test_button_on_a_deleted_message_sends_a_new_message(bot: Harness):
    events = await bot.driver.press_data(R, "m:g", 424242)
    assert [e.kind for e in events] == ["to"]
    assert events[0].text == "📚 Chọn chủ đề:"


async def test_group_chat_gets_only_a_link_to_talk_privately(bot: Harness):
    events = await bot.send(R, "/start", chat_id=-100123, chat_type="supergroup")
    assert len(events) == 1
    assert events[0].text.endswith("https://t.me/TroLySoBot")
    assert await bot.send(R, "cai dat vneid", chat_id=-100123, chat_type="supergroup") == []


async def test_channel_post_and_updates_without_a_user_are_ignored(bot: Harness):
    post = {"message_id": 5, "date": 0, "chat": {"id": -100777, "type": "channel", "title": "c"}, "text": "hi"}
    assert await bot.driver.feed({"channel_post": post}) == []
    assert await bot.driver.feed({"edited_message": {**post, "chat": {"id": R, "type": "private"},
                                                     "from": bot.driver.user(R), "edit_date": 1}}) == []

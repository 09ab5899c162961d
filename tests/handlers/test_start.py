from bot.data import users
from tests.conftest import Harness

R = 1001  # a resident


async def test_start_welcomes_in_vietnamese_with_menu_and_english_switch(bot: Harness):
    [welcome] = await bot.send(R, "/start")
    assert welcome.kind == "to"
    assert welcome.text.startswith("Chào bạn! Mình là Trợ lý số.")
    assert welcome.labels == ["📚 Hướng dẫn", "🔎 Tìm kiếm", "🙋 Nhờ hỗ trợ", "📍 Điểm hỗ trợ", "🌐 Ngôn ngữ",
                              "🌐 English"]


async def test_one_tap_english_switch_is_kept(bot: Harness):
    await bot.send(R, "/start")
    events = await bot.press(R, "English")
    assert [e.kind for e in events] == ["alert", "edit"]
    assert events[1].text.startswith("Hello! I am the Digital Assistant.")
    assert (await users.get(bot.svc.db, R)).locale == "en"
    [menu] = await bot.send(R, "/menu")
    assert menu.labels[:2] == ["📚 Guides", "🔎 Search"]
    await bot.press(R, "Language")
    events = await bot.press(R, "Tiếng Việt")
    assert events[-1].text == "Bạn cần gì? Chọn một mục bên dưới nhé."
    assert (await users.get(bot.svc.db, R)).locale == "vi"


async def test_language_command_offers_both_languages(bot: Harness):
    [picker] = await bot.send(R, "/language")
    assert picker.text == "Chọn ngôn ngữ của bạn:"
    assert picker.labels == ["Tiếng Việt", "English", "🏠 Menu chính"]


async def test_every_menu_button_answers(bot: Harness):
    await bot.send(R, "/menu")
    for label, expected in [("Hướng dẫn", "📚 Chọn chủ đề:"), ("Tìm kiếm", "🔎 Bạn cần tìm gì?"),
                            ("Điểm hỗ trợ", "📍 Điểm hỗ trợ giúp bạn trực tiếp."), ("Ngôn ngữ", "Chọn ngôn ngữ")]:
        events = await bot.press(R, label)
        assert events[0].kind == "edit" and events[0].text.startswith(expected), events
        await bot.press(R, "Menu chính")


async def test_ask_for_help_is_never_an_error(bot: Harness):
    await bot.send(R, "/menu")
    events = await bot.press(R, "Nhờ hỗ trợ")
    assert events and all(e.kind in ("alert", "edit", "to") for e in events)


async def test_deep_link_opens_the_guide(bot: Harness):
    [step] = await bot.send(R, "/start vietqr-pay")
    guide = bot.svc.guide("vietqr-pay")
    assert step.text.startswith(f"📚 {guide.title.vi}\nBước 1/{len(guide.steps)}")
    row = await bot.svc.db.fetchone("SELECT COUNT(*) FROM guide_views WHERE guide_id = 'vietqr-pay'")
    assert row[0] == 1


async def test_unknown_deep_link_gets_the_menu_and_a_kind_note(bot: Harness):
    [reply] = await bot.send(R, "/start no-such-guide")
    assert reply.text == "Mình không tìm thấy hướng dẫn này. Bạn chọn trong danh sách nhé."
    assert "📚 Hướng dẫn" in reply.labels


async def test_commands_menu_is_set_per_language(bot: Harness):
    vi = {c["command"]: c["description"] for c in bot.api.commands[("default", "")]}
    en = {c["command"]: c["description"] for c in bot.api.commands[("default", "en")]}
    assert vi["menu"] == "Menu chính" and en["menu"] == "Main menu"
    assert set(vi) == set(en) >= {"start", "menu", "search", "language"}


async def test_last_seen_is_refreshed_at_most_every_ten_minutes(bot: Harness):
    async def seen() -> str:
        return (await bot.svc.db.fetchone("SELECT last_seen_at FROM users WHERE id = ?", (R,)))[0]

    await bot.send(R, "/start")
    first = await seen()
    bot.clock.advance(5 * 60)
    await bot.send(R, "/menu")
    assert await seen() == first  # a read only
    bot.clock.advance(6 * 60)
    await bot.send(R, "/menu")
    assert await seen() > first
    bot.driver.names[R] = "Bà Tư"  # a new name is stored at once
    await bot.send(R, "/menu")
    row = await bot.svc.db.fetchone("SELECT first_name FROM users WHERE id = ?", (R,))
    assert row[0] == "Bà Tư"


async def test_help_says_what_the_bot_does_and_offers_the_menu(bot: Harness):
    [reply] = await bot.send(R, "/help")
    assert reply.text.startswith("Mình có thể giúp bạn:")
    assert "📚 Hướng dẫn" in reply.labels

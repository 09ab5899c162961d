from tests.conftest import Harness

R = 1001


async def test_free_text_is_a_search_with_results_as_buttons(bot: Harness):
    [reply] = await bot.send(R, "cai dat vneid")
    assert reply.text == "🔎 Hướng dẫn cho “cai dat vneid”:"
    assert reply.labels[0] == bot.svc.guide("vneid-install").title.vi
    assert reply.labels[-2:] == ["🙋 Nhờ hỗ trợ", "🏠 Menu chính"]
    assert len(reply.labels) <= 5 + 2
    [step] = await bot.press(R, reply.labels[0])
    assert "Bước 1/" in step.text


async def test_no_result_offers_topics_and_help_and_is_logged(bot: Harness):
    [reply] = await bot.send(R, "Nấu phở bò")
    assert reply.text.startswith("Mình chưa tìm thấy hướng dẫn cho “Nấu phở bò”.")
    assert "🪪 VNeID và định danh điện tử" in reply.labels and "🙋 Nhờ hỗ trợ" in reply.labels
    row = await bot.svc.db.fetchone("SELECT query, results FROM search_log")
    assert tuple(row) == ("nau pho bo", 0)


async def test_search_command_and_button(bot: Harness):
    [reply] = await bot.send(R, "/search lừa đảo")
    assert bot.svc.guide("scam-calls").title.vi in reply.labels
    [prompt] = await bot.send(R, "/search")
    assert prompt.text.startswith("🔎 Bạn cần tìm gì?")


async def test_english_search(bot: Harness):
    await bot.send(R, "/start")
    await bot.press(R, "English")
    [reply] = await bot.send(R, "scam phone call")
    assert reply.labels[0] == bot.svc.guide("scam-calls").title.en


async def test_ward_names_without_accents_lead_to_support_points(bot: Harness):
    [reply] = await bot.send(R, "diem ho tro phuong tan dinh")
    assert "📍 Điểm hỗ trợ: Phường Tân Định" in reply.labels
    [split] = await bot.send(R, "da kao")  # an old ward split between two new ones
    assert {"📍 Điểm hỗ trợ: Phường Sài Gòn", "📍 Điểm hỗ trợ: Phường Tân Định"} <= set(split.labels)
    assert split.text == "📍 Điểm hỗ trợ cho “da kao”:"
    [points] = await bot.press(R, "Phường Tân Định")
    assert points.text.startswith("📍 ")

import shutil
from pathlib import Path

from tests.conftest import ROOT, Harness, make_settings, open_bot

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


async def test_typing_a_guide_title_opens_the_guide(bot: Harness):
    guide = bot.svc.guide("vneid-level2")
    for n, typed in enumerate(["Kích hoạt tài khoản VNeID mức 2", "kich hoat tai khoan vneid muc 2",
                               "  Kich   hoat tai khoan VNEID muc 2 . ", "kich hoat tai khoan vneid muc 2?"], 1):
        [step] = await bot.send(R, typed)
        assert step.kind == "to"
        assert step.text.startswith(f"📚 {guide.title.vi}\nBước 1/{len(guide.steps)}")
        assert step.labels[0] == "Tiếp ▶"
        views = await bot.svc.db.fetchone("SELECT COUNT(*) FROM guide_views WHERE guide_id = 'vneid-level2' "
                                          "AND user_id = ?", (R,))
        assert views[0] == n
    [second] = await bot.press(R, "Tiếp")
    assert f"Bước 2/{len(guide.steps)}" in second.text
    row = await bot.svc.db.fetchone("SELECT query, results FROM search_log ORDER BY id LIMIT 1")
    assert tuple(row) == ("kich hoat tai khoan vneid muc 2", 1)


async def test_a_title_in_the_other_language_or_after_search_opens_the_guide(bot: Harness):
    guide = bot.svc.guide("zalo-video")
    [step] = await bot.send(R, guide.title.en)  # a Vietnamese reader pasting the English title
    assert step.text.startswith(f"📚 {guide.title.vi}\nBước 1/")
    [step] = await bot.send(R, "/search " + guide.title.vi.lower())
    assert step.text.startswith(f"📚 {guide.title.vi}\nBước 1/")


async def test_part_of_a_title_is_still_a_search(bot: Harness):
    [reply] = await bot.send(R, "kich hoat tai khoan vneid")
    assert reply.text.startswith("🔎 Hướng dẫn cho")
    assert bot.svc.guide("vneid-level2").title.vi in reply.labels


async def test_asking_for_a_person_shows_every_way_to_reach_people_in_one_step(bot: Harness):
    for typed in ("cho toi gap nguoi that", "Có ai giúp tôi không?", "gọi điện cho tôi", "tư vấn viên"):
        [reply] = await bot.send(R, typed)
        assert reply.text.startswith("🙋 Tình nguyện viên có thể giúp bạn.")
        assert "1022: tổng đài hỗ trợ và phản ánh của TP.HCM" in reply.text
        assert "1900 0368: tổng đài VNeID" in reply.text
        assert reply.labels == ["🙋 Nhờ hỗ trợ", "📍 Điểm hỗ trợ", "🏠 Menu chính"]
        assert [b.data for b in reply.flat_buttons] == ["m:h", "m:p", "m"]
    row = await bot.svc.db.fetchone("SELECT COUNT(*) FROM search_log")
    assert row[0] == 0  # not a search
    [wizard] = await bot.press(R, "Nhờ hỗ trợ")
    assert wizard.text.startswith("🙋 Nhờ hỗ trợ · Bước 1/5")
    events = await bot.send(R, "cho toi gap nguoi that")  # already asking for a person: the wizard stays
    assert "Bước 1/5" in events[-1].text
    await bot.send(R, "menu")
    await bot.send(R, "cho toi gap nguoi that")
    [points] = await bot.press(R, "Điểm hỗ trợ")
    assert points.text.startswith("📍 ")


async def test_phone_lines_come_from_the_content_file_and_unverified_ones_say_so(store, tmp_path: Path):
    content = tmp_path / "content"
    shutil.copytree(ROOT / "content", content)
    lines = content / "phone_lines.toml"
    lines.write_text(lines.read_text(encoding="utf-8") + """
[[line]]
id = "test-ward"
number = "0912 345 678"
name.vi = "Điểm hỗ trợ thử"
name.en = "Test support point"
for.vi = "điểm hỗ trợ thử của phường"
for.en = "a test ward support point"
hours.vi = "7:30–17:00, thứ Hai đến thứ Sáu"
hours.en = "7:30–17:00, Monday to Friday"
source = "a test"
verified = false
""", encoding="utf-8")
    async with open_bot(make_settings(tmp_path, content_dir=content)) as bot:
        [reply] = await bot.send(R, "cho toi gap nguoi that")
        assert reply.text == (
            "🙋 Tình nguyện viên có thể giúp bạn.\n"
            "Bấm “Nhờ hỗ trợ” và cho biết bạn cần gì. Tình nguyện viên sẽ liên hệ với bạn.\n\n"
            "📞 Hoặc gọi:\n"
            "1022: tổng đài hỗ trợ và phản ánh của TP.HCM\n"
            "1900 0368: tổng đài VNeID, chỉ cho việc về VNeID\n"
            "0912 345 678: điểm hỗ trợ thử của phường\n"
            "🕘 Giờ làm việc: 7:30–17:00, thứ Hai đến thứ Sáu\n"
            "⚠️ Chưa được xác nhận: bạn kiểm tra lại số trước khi gọi nhé.\n\n"
            "📍 Hoặc đến điểm hỗ trợ.")
        await bot.send(R, "/start")
        await bot.press(R, "English")
        [reply] = await bot.send(R, "I need a person")
        assert "0912 345 678: a test ward support point\n🕘 Hours: 7:30–17:00, Monday to Friday\n" \
               "⚠️ Not yet confirmed: please check the number before calling." in reply.text


async def test_without_phone_lines_the_call_block_is_left_out(store, tmp_path: Path):
    content = tmp_path / "content"
    shutil.copytree(ROOT / "content", content)
    (content / "phone_lines.toml").write_text("# no line confirmed yet\n", encoding="utf-8")
    async with open_bot(make_settings(tmp_path, content_dir=content)) as bot:
        [reply] = await bot.send(R, "cho toi gap nguoi that")
        assert "📞" not in reply.text
        assert reply.text.endswith("liên hệ với bạn.\n\n📍 Hoặc đến điểm hỗ trợ.")


async def test_asking_for_a_person_in_english(bot: Harness):
    await bot.send(R, "/start")
    await bot.press(R, "English")
    [reply] = await bot.send(R, "I need a person")
    assert reply.text.startswith("🙋 A volunteer can help you.")
    assert "1022: Ho Chi Minh City's line" in reply.text and "1900 0368: the VNeID switchboard" in reply.text
    assert reply.labels == ["🙋 Ask for help", "📍 Support points", "🏠 Main menu"]


async def test_how_to_questions_about_calling_are_still_searches(bot: Harness):
    zalo = bot.svc.guide("zalo-video").title.vi
    for typed in ("cach goi dien video zalo", "goi dien video"):
        [reply] = await bot.send(R, typed)
        assert reply.text.startswith("🔎 Hướng dẫn cho") and zalo in reply.labels
    [reply] = await bot.send(R, "quen mat khau")
    assert reply.text.startswith("🔎 Hướng dẫn cho")
    assert bot.svc.guide("vneid-password").title.vi in reply.labels

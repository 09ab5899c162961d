from tests.conftest import Harness

R = 1001


async def test_points_by_ward_carry_the_unverified_note(bot: Harness):
    await bot.send(R, "/menu")
    [wards] = await bot.press(R, "Điểm hỗ trợ")
    assert wards.labels[:4] == ["Phường Sài Gòn", "Phường Tân Định", "Phường Bến Thành", "Phường Cầu Ông Lãnh"]
    [listing] = await bot.press(R, "Tân Định")
    point = next(p for p in bot.svc.content.points.values() if p.ward == "tan-dinh")
    assert listing.text.startswith(f"📍 {point.name.vi}")
    assert "⚠️ Chưa được xác nhận: bạn hỏi lại trước khi đến nhé." in listing.text


async def test_sharing_a_location_lists_the_three_nearest(bot: Harness):
    await bot.send(R, "/menu")
    await bot.press(R, "Điểm hỗ trợ")
    [ask] = await bot.press(R, "Gần tôi nhất")
    assert ask.keyboard == ["📍 Gửi vị trí của tôi"]
    [reply] = await bot.driver.send_kind(R, "location", lat=10.7769, lon=106.7009)
    assert reply.text.startswith("📍 Các điểm hỗ trợ gần bạn nhất:")
    assert reply.text.count("📍 ") == 1 + 3
    distances = [float(part.split("(cách ")[1].split(" km")[0].replace(",", "."))
                 for part in reply.text.split("\n") if "(cách " in part]
    assert distances == sorted(distances) and len(distances) == 3

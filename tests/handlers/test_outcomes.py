"""Outcomes at resolve and at a guide's end, targets and progress, thanks, report, certificate, ranking:
end to end through the real Application on the stand-in."""

import json
from datetime import UTC, datetime

from bot import actions as A
from bot import help_requests, outcomes, privacy
from bot.app import TICKS
from bot.clock import FakeClock
from bot.data import requests as rdata
from tests.conftest import ADMIN, Harness, open_bot
from tests.handlers.test_requests import file_request, make_volunteer

R, V, OTHER = 1001, 2001, 3333
NOT_ALLOWED = "Xin lỗi, mục này chỉ dành cho quản trị viên."


async def outcome_rows(bot: Harness) -> list[tuple]:
    rows = await bot.svc.db.fetchall("SELECT outcome, ward, day, source, request_id, guide_id, volunteer_id, "
                                     "resident_id FROM outcomes ORDER BY id")
    return [tuple(r) for r in rows]


async def resolved_by_volunteer(bot: Harness) -> tuple[rdata.RequestRow, object]:
    """A request in Bến Thành, claimed and resolved by V with the button: returns it and the picker."""
    await make_volunteer(bot, V, name="Lan")
    request = await file_request(bot)
    await help_requests.claim(bot.svc, request.id, V)
    [card] = await bot.send(V, "/mine")
    events = await bot.press(V, "Đã giải quyết", card.message_id)
    picker = next(e for e in events if e.chat_id == V)
    return request, picker


async def test_volunteer_ticks_outcomes_after_resolving_by_tap_and_by_typing(bot: Harness):
    request, picker = await resolved_by_volunteer(bot)
    assert (await rdata.get(bot.svc.db, request.id)).status == "resolved"  # resolved before the question
    assert picker.text.startswith(f"✅ {request.code}: đã giải quyết")
    assert "Người dân đã làm được việc gì?" in picker.text
    # the request's topic (VNeID) first, then "other"; then "nothing" and "Done"
    assert picker.labels == ["▫️ Đăng ký tài khoản VNeID mức 1", "▫️ Có tài khoản VNeID mức 2",
                             "▫️ Tích hợp giấy tờ vào VNeID", "▫️ Nộp hồ sơ trực tuyến lần đầu",
                             "▫️ Việc khác đã làm được", "🚫 Không có kết quả", "✅ Xong"]
    [ticked] = await bot.press(V, "VNeID mức 2")
    assert "☑ Có tài khoản VNeID mức 2" in ticked.labels
    typed = await bot.send(V, "3")  # typed: the third choice
    assert "☑ Tích hợp giấy tờ vào VNeID" in typed[-1].labels
    await bot.send(V, "tich hop giay to")  # typed words without accents untick it
    done = await bot.send(V, "xong")
    assert done[-1].text == (f"✅ {request.code}: đã giải quyết. Phường đã đếm: Có tài khoản VNeID mức 2. "
                             "Cảm ơn bạn đã hỗ trợ!")
    day = outcomes.today(bot.svc).isoformat()
    assert await outcome_rows(bot) == [("vneid-level2", "ben-thanh", day, "request", request.id, None, V, None)]


async def test_skipping_the_question_loses_nothing_and_none_clears(bot: Harness):
    request, _picker = await resolved_by_volunteer(bot)
    await bot.send(V, "cai dat vneid")  # goes elsewhere: the request stays resolved
    assert (await rdata.get(bot.svc.db, request.id)).status == "resolved"
    assert await outcome_rows(bot) == []
    await bot.driver.press_data(V, A.OutcomeToggle(request.id, "vneid-level1").pack(), _picker.message_id)
    assert len(await outcome_rows(bot)) == 1
    [cleared] = await bot.driver.press_data(V, A.OutcomeNone(request.id).pack(), _picker.message_id)
    assert "không có kết quả để đếm" in cleared.text
    assert await outcome_rows(bot) == []


async def test_only_the_resolver_records_outcomes(bot: Harness):
    request, picker = await resolved_by_volunteer(bot)
    [menu] = await bot.send(OTHER, "/menu")
    [alert] = await bot.driver.press_data(OTHER, A.OutcomeToggle(request.id, "vneid-level2").pack(),
                                          menu.message_id)
    assert alert.kind == "alert" and alert.text.startswith("Chỉ tình nguyện viên đã giải quyết")
    [alert] = await bot.driver.press_data(V, A.OutcomeToggle(request.id, "no-such").pack(), picker.message_id)
    assert alert.kind == "alert"
    assert await outcome_rows(bot) == []


async def finish_guide(bot: Harness, uid: int, guide_id: str):
    bot.clock.advance(11)  # a person tapping through guides one after another is no flood
    await bot.send(uid, f"/start {guide_id}")
    guide = bot.svc.guide(guide_id)
    for _ in range(len(guide.steps) - 1):
        await bot.press(uid, "Tiếp")
    await bot.press(uid, "Xong")
    return await bot.press(uid, "Có ích")


async def test_guide_end_asks_did_you_do_it_once_and_counts_it(bot: Harness):
    await file_request(bot)  # the resident's ward is known from their request
    [thanks] = await finish_guide(bot, R, "vneid-level2")
    assert thanks.text == "Cảm ơn bạn đã góp ý!\n\nBạn đã làm được chưa: Có tài khoản VNeID mức 2?"
    assert thanks.labels[:2] == ["✅ Có, tôi đã làm được", "⏳ Chưa làm"]
    answer = await bot.send(R, "co")  # typed yes
    assert answer[-1].text.startswith("🎉 Chúc mừng bạn!")  # not the praise for a child
    day = outcomes.today(bot.svc).isoformat()
    assert await outcome_rows(bot) == [("vneid-level2", "ben-thanh", day, "guide", None, "vneid-level2", None, R)]
    [again] = await finish_guide(bot, R, "vneid-level2")  # already said yes: not asked again
    assert again.text == "Cảm ơn bạn đã góp ý!" and "✅ Có, tôi đã làm được" not in again.labels
    await bot.driver.press_data(R, A.GuideDid("vneid-level2", "1").pack(), again.message_id)  # an old button
    assert len(await outcome_rows(bot)) == 1  # a second "yes" for the same guide counts once


async def test_guide_not_yet_or_not_helpful_counts_nothing(bot: Harness):
    await finish_guide(bot, R, "vietqr-pay")
    [later] = await bot.press(R, "Chưa làm")
    assert later.text.startswith("Không sao.")
    await bot.send(R, "/start vietqr-pay")
    guide = bot.svc.guide("vietqr-pay")
    for _ in range(len(guide.steps) - 1):
        await bot.press(R, "Tiếp")
    await bot.press(R, "Xong")
    [unhelpful] = await bot.press(R, "Chưa ích")
    assert "Bạn đã làm được chưa" not in unhelpful.text
    [no_outcome] = await finish_guide(bot, R, "scam-calls")  # a guide that records no outcome asks nothing
    assert no_outcome.text == "Cảm ơn bạn đã góp ý!"
    assert await outcome_rows(bot) == []


async def test_non_admins_are_refused(bot: Harness):
    await make_volunteer(bot, V)
    for command in ("/targets", "/targets Bến Thành | vneid-level2 | 5 | 31/12/2026", "/progress", "/report",
                    "/certificate 2001"):
        [reply] = await bot.send(OTHER, command)
        assert reply.text == NOT_ALLOWED, command
    await bot.send(ADMIN, "/targets Bến Thành | vneid-level2 | 5 | 31/12/2026")
    [listing] = await bot.send(ADMIN, "/targets")
    target_id = (await bot.svc.db.fetchone("SELECT id FROM targets"))[0]
    [alert] = await bot.driver.press_data(OTHER, A.TargetRemove(target_id).pack(), listing.message_id)
    assert alert.text == NOT_ALLOWED
    assert (await bot.svc.db.fetchone("SELECT COUNT(*) FROM targets"))[0] == 1
    [ranking] = await bot.send(OTHER, "/ranking")  # not a volunteer: nothing to consent to, no ranking
    assert ranking.text == "Bảng xếp hạng chỉ dành cho tình nguyện viên."
    assert not [e for e in bot.api.sent if e.chat_id == OTHER and e.kind in ("photo", "file")]


async def test_targets_typed_without_accents_progress_across_a_month_boundary(settings):
    # 30/11/2026 20:00 in Ho Chi Minh City (13:00 UTC)
    clock = FakeClock(datetime(2026, 11, 30, 13, 0, tzinfo=UTC))
    async with open_bot(settings, clock) as bot:
        [bad] = await bot.send(ADMIN, "/targets ben thanh | vneid muc 9 | 3 | 31/12/2026")
        assert bad.text.startswith("Mình không tìm thấy kết quả “vneid muc 9”")
        [saved] = await bot.send(ADMIN, "/targets ben thanh | vneid muc 2 | 3 | 31/12/2026 | 1/11/2026")
        assert saved.text.startswith("🎯 Đã lưu: Phường Bến Thành · Có tài khoản VNeID mức 2: 3, "
                                     "từ 01/11/2026 đến 31/12/2026.")
        await bot.send(ADMIN, "/targets Tân Định | vneid-level1 | 10 | 31/12")
        await resolved_by_volunteer(bot)
        await bot.press(V, "VNeID mức 2")  # counted on 30/11 (local)
        clock.advance(5 * 3600)  # 01/12 01:00 local: a new month
        await file_request(bot)  # the resident says yes after a guide, in December
        await finish_guide(bot, R, "vneid-level2")
        await bot.press(R, "Có, tôi đã làm được")
        days = [r[2] for r in await outcome_rows(bot)]
        assert days == ["2026-11-30", "2026-12-01"]
        events = await bot.send(ADMIN, "/progress")
        text = events[0].text
        assert "1. Phường Bến Thành · Có tài khoản VNeID mức 2: 2/3 (67%) · còn 30 ngày" in text
        assert "2. Phường Tân Định · Đăng ký tài khoản VNeID mức 1: 0/10 (0%)" in text
        assert "Phường Bến Thành: 0 · 0 · 0 · 0 · 0 · 0 · 0 · 2" in text  # Monday 30/11 starts this week
        assert events[1].kind == "photo" and events[1].text == "📈 Tiến độ so với chỉ tiêu"
        [stats_text, _chart] = await bot.send(ADMIN, "/stats")
        assert "🏁 Tiến độ so với chỉ tiêu:" in stats_text.text and "2/3 (67%)" in stats_text.text
        november = outcomes.month_of(datetime(2026, 11, 1).date(), bot.svc.settings.tz)
        december = outcomes.month_of(datetime(2026, 12, 1).date(), bot.svc.settings.tz)
        assert (november.start, december.start) == ("2026-10-31T17:00:00+00:00", "2026-11-30T17:00:00+00:00")
        [listing] = await bot.send(ADMIN, "/targets")
        assert "1. Phường Bến Thành · Có tài khoản VNeID mức 2: 3, từ 01/11/2026 đến 31/12/2026" in listing.text
        await bot.send(ADMIN, "2")  # a bare number never removes a target: a slip would hurt
        assert (await bot.svc.db.fetchone("SELECT COUNT(*) FROM targets"))[0] == 2
        await bot.send(ADMIN, "/targets")
        await bot.send(ADMIN, "xoa chi tieu 2")  # its words do
        rows = await bot.svc.db.fetchall("SELECT ward FROM targets")
        assert [r[0] for r in rows] == ["ben-thanh"]


async def run_ticks(bot: Harness) -> None:
    for name, _every, tick in TICKS:
        if name == "thanks":
            await tick(bot.svc)


async def test_monthly_thanks_once_per_volunteer_across_restarts(settings):
    clock = FakeClock(datetime(2026, 11, 20, 3, 0, tzinfo=UTC))
    async with open_bot(settings, clock) as bot:
        request, _picker = await resolved_by_volunteer(bot)
        await bot.press(V, "VNeID mức 2")
        await help_requests.rate(bot.svc, request.id, R, 5)
        await make_volunteer(bot, 2002, name="Minh")  # active, helped nobody: no message
        await run_ticks(bot)
        assert not [e for e in bot.api.sent if e.text.startswith("🙏")]  # not before the month is over
        clock.advance(10 * 24 * 3600 + 14.5 * 3600)  # 1/12 00:30 local: too early in the day
        await run_ticks(bot)
        assert not [e for e in bot.api.sent if e.text.startswith("🙏")]
        clock.advance(9 * 3600)  # 1/12 09:30 local
        await run_ticks(bot)
        await run_ticks(bot)
        thanks = [e for e in bot.api.sent if e.text.startswith("🙏")]
        assert [e.chat_id for e in thanks] == [V]
        assert thanks[0].text.startswith("🙏 Cảm ơn Lan!\nTháng 11/2026, bạn đã giúp 1 người dân qua Trợ lý số.")
        assert "Nhờ bạn giúp, người dân đã làm được:\n• Có tài khoản VNeID mức 2: 1\n" in thanks[0].text
        assert "Người dân đánh giá trung bình: 5 ⭐." in thanks[0].text
        assert thanks[0].labels == ["🏅 Đồng ý hiện tên tôi", "Không, cảm ơn"]
        await bot.press(V, "Đồng ý hiện tên tôi")
    async with open_bot(settings, clock) as bot:  # a restart sends nothing again
        await run_ticks(bot)
        assert not [e for e in bot.api.sent if e.text.startswith("🙏")]
        [ranking] = await bot.send(ADMIN, "/ranking 2026-11")
        assert "1. Lan (2001) · giúp 1 người · 1 kết quả · 5 ⭐" in ranking.text


async def test_ranking_shows_only_volunteers_who_agreed(bot: Harness):
    await make_volunteer(bot, V, name="Lan")
    await make_volunteer(bot, 2002, name="Minh", topics=("vneid",))
    for volunteer in (V, 2002):
        request = await file_request(bot)
        await help_requests.claim(bot.svc, request.id, volunteer)
        await help_requests.resolve(bot.svc, request.id, volunteer)
    [ask] = await bot.send(2002, "/ranking")
    assert ask.text.startswith("Bạn có đồng ý cho cán bộ phường thấy tên bạn")
    await bot.send(2002, "co")  # typed yes
    [ranking] = await bot.send(ADMIN, "/ranking")
    assert "Minh (2002)" in ranking.text and "Lan" not in ranking.text
    assert "Còn 1 tình nguyện viên đã giúp nhưng chưa đồng ý hiện tên." in ranking.text  # never asked: no refusal
    await bot.send(2002, "/ranking")
    await bot.press(2002, "Không, cảm ơn")
    [ranking] = await bot.send(ADMIN, "/ranking")
    assert "Minh" not in ranking.text
    consents = await bot.svc.db.fetchall("SELECT granted FROM consents WHERE user_id = 2002 AND purpose = 'ranking'")
    assert [r[0] for r in consents] == [1, 0]
    await make_volunteer(bot, ADMIN, name="Cán bộ Hà")  # an admin who volunteers decides for themselves too
    [_ranking, own] = await bot.send(ADMIN, "/ranking")
    assert own.text.startswith("Bạn có đồng ý") and own.labels == ["🏅 Đồng ý hiện tên tôi", "Không, cảm ơn"]


async def test_report_and_certificate_reach_the_admin_as_files(bot: Harness):
    await resolved_by_volunteer(bot)
    await bot.press(V, "VNeID mức 2")
    events = await bot.send(ADMIN, "/report 2026-11 ben thanh")
    assert [(e.kind, e.file_name) for e in events] == [("file", "report-2026-11-ben-thanh.pdf")]
    [unknown] = await bot.send(ADMIN, "/report 2026-11 Hà Nội")
    assert unknown.text == ("Mình không tìm thấy đúng một phường tên “Hà Nội”. Các phường: Phường Sài Gòn, "
                            "Phường Tân Định, Phường Bến Thành, Phường Cầu Ông Lãnh.")
    events = await bot.send(ADMIN, "/certificate 2001 2026-11")
    assert [e.file_name for e in events if e.kind == "file"] == ["certificate-2001-2026-11.png",
                                                                 "certificate-2001-2026-11.pdf"]
    assert events[-1].text.startswith("🏅 Thư cảm ơn cho Lan, tháng 11/2026")
    events = await bot.send(ADMIN, "/certificate ben thanh 2026-11")
    assert next(e.file_name for e in events if e.kind == "file") == "certificate-ben-thanh-2026-11.png"
    [missing] = await bot.send(ADMIN, "/certificate 4242")
    assert missing.text.startswith("Mình không tìm thấy tình nguyện viên hay phường này.")


async def test_erasure_keeps_only_the_counts(bot: Harness):
    await resolved_by_volunteer(bot)
    await bot.press(V, "VNeID mức 2")
    await finish_guide(bot, R, "vneid-level2")
    await bot.press(R, "Có, tôi đã làm được")
    await bot.svc.db.execute("INSERT INTO thanks_sent (volunteer_id, month, at) VALUES (?, '2026-10', 'x')", (V,))
    _name, body = await privacy.export(bot.svc, V)  # /mydata shows what is kept with their id
    assert json.loads(body)["outcomes"][0]["outcome"] == "vneid-level2"
    for uid in (R, V):
        await bot.send(uid, "/deletemydata")
        await bot.press(uid, "Xác nhận")
    rows = await outcome_rows(bot)
    assert [(r[0], r[1], r[3]) for r in rows] == [("vneid-level2", "ben-thanh", "request"),
                                                  ("vneid-level2", "ben-thanh", "guide")]
    assert all(r[6] is None and r[7] is None for r in rows)  # no person left on any outcome
    assert (await bot.svc.db.fetchone("SELECT COUNT(*) FROM thanks_sent"))[0] == 0
    [progress, _chart] = await bot.send(ADMIN, "/progress")
    assert "Phường Bến Thành: 0 · 0 · 0 · 0 · 0 · 0 · 0 · 2" in progress.text  # still counted



async def test_typed_answers_to_the_questions_are_not_relayed_while_helping_someone_else(bot: Harness):
    """A volunteer still helping another resident types the outcome picker's answers; a resident whose
    request is being helped types "co" after a guide. Both answer the bot: nothing reaches the other side."""
    await make_volunteer(bot, V, name="Lan")
    first = await file_request(bot)
    await help_requests.claim(bot.svc, first.id, V)
    second = await file_request(bot, 1003, text="Tôi không đăng nhập được VNeID")
    await help_requests.claim(bot.svc, second.id, V)  # V stays in a conversation with 1003
    [card, _other_card] = await bot.send(V, "/mine")
    await bot.press(V, "Đã giải quyết", card.message_id)
    residents = (R, 1003)
    before = len([e for e in bot.api.sent if e.chat_id in residents])
    await bot.send(V, "2")
    await bot.send(V, "tich hop giay to")
    done = await bot.send(V, "xong")
    assert [e for e in bot.api.sent if e.chat_id in residents][before:] == []  # nothing reached a resident
    assert "Phường đã đếm: Có tài khoản VNeID mức 2; Tích hợp giấy tờ vào VNeID." in done[-1].text
    assert {r[0] for r in await outcome_rows(bot)} == {"vneid-level2", "vneid-documents"}
    # words for the resident still go their way (here the relay asks which request they are for)
    [which] = await bot.send(V, "Chào bác, bác mở VNeID giúp cháu nhé")
    assert which.text == "Bạn đang trao đổi về nhiều yêu cầu. Tin nhắn này dành cho yêu cầu nào?"
    await bot.send(V, "1")
    assert bot.last(1003).text.endswith("Chào bác, bác mở VNeID giúp cháu nhé")
    await finish_guide(bot, 1003, "vietqr-pay")  # the resident being helped says "co" after a guide
    answer = await bot.send(1003, "co")
    assert answer[-1].chat_id == 1003 and answer[-1].text.startswith("🎉")
    assert not bot.last(V).text.endswith("co")
    assert [r[0] for r in await outcome_rows(bot) if r[3] == "guide"] == ["qr-payment"]
    await bot.send(V, "/ranking")  # the ranking question, answered by typing
    await bot.send(V, "dong y")
    assert not bot.last(1003).text.endswith("dong y")
    assert await outcomes.ranking_consent(bot.svc, V) is True


async def test_typed_answers_reach_the_picker_under_a_newer_relayed_message(bot: Harness):
    """The resident writes after the request card was shown; the volunteer scrolls up, taps "✅ Đã giải
    quyết" on the card and then types: the picker they are looking at takes "2" and "xong"."""
    await make_volunteer(bot, V, name="Lan")
    request = await file_request(bot)
    await help_requests.claim(bot.svc, request.id, V)
    [card] = await bot.send(V, "/mine")
    await bot.send(R, "Bác thử lại rồi")  # reaches V with its own "💬 Trả lời" button, below the card
    assert bot.last(V).labels == ["💬 Trả lời"]
    await bot.press(V, "Đã giải quyết", card.message_id)
    await bot.send(V, "2")
    done = await bot.send(V, "xong")
    assert done[-1].text == (f"✅ {request.code}: đã giải quyết. Phường đã đếm: Có tài khoản VNeID mức 2. "
                             "Cảm ơn bạn đã hỗ trợ!")
    assert [r[0] for r in await outcome_rows(bot)] == ["vneid-level2"]


async def test_odd_targets_lines_get_one_clear_answer(bot: Harness):
    """What an admin sees for lines that cannot be read: one short reason, the example once, the wards to
    choose from, their own words quoted short; and nothing saved from a number that was not meant."""
    [empty] = await bot.send(ADMIN, "/targets | | |")
    assert empty.text.startswith("Bạn ghi trên một dòng: phường | kết quả | số lượng | hạn cuối.")
    assert empty.text.count("/targets Bến Thành | vneid-level2 | 500 | 31/12/2026") == 1  # the example once
    [short] = await bot.send(ADMIN, "/targets ben thanh | vneid muc 2 | 500")
    assert short.text.count("Ví dụ") == 1
    [nowhere] = await bot.send(ADMIN, "/targets Hà Nội | vneid-level2 | 5 | 31/12/2026")
    assert nowhere.text.startswith("Mình không tìm thấy đúng một phường tên “Hà Nội”. Các phường: Phường Sài Gòn, "
                                   "Phường Tân Định, Phường Bến Thành, Phường Cầu Ông Lãnh.")
    [split] = await bot.send(ADMIN, "/targets Đa Kao | vneid-level2 | 5 | 31/12/2026")  # an old ward, now split
    assert "Các phường: Phường Sài Gòn" in split.text
    [long] = await bot.send(ADMIN, "/targets " + "Phường " * 550 + "| other | 5 | 31/12/2026")
    assert len(long.text) < 600 and "Phường Phường Phường" in long.text and "…”" in long.text
    [decimal] = await bot.send(ADMIN, "/targets ben thanh | vneid muc 2 | 1,5 | 31/12/2026")
    assert decimal.text.startswith("Chỉ tiêu phải là số nguyên lớn hơn 0, ví dụ 500.")
    [past] = await bot.send(ADMIN, "/targets ben thanh | vneid muc 2 | 500 | 31/12/2020")
    assert past.text.startswith("Hạn cuối 31/12/2020 đã qua rồi.")
    [words] = await bot.send(ADMIN, "/targets ben thanh | thanh toan qr | 1.000 | 31/12/2026")  # name words, any order
    assert words.text.startswith("🎯 Đã lưu: Phường Bến Thành · Thanh toán bằng mã QR lần đầu: 1.000,")
    rows = await bot.svc.db.fetchall("SELECT ward, outcome, target FROM targets")
    assert [tuple(r) for r in rows] == [("ben-thanh", "qr-payment", 1000)]


async def test_report_certificate_and_ranking_say_when_the_month_cannot_be_read(bot: Harness):
    month_hint = "Bạn ghi tháng như 10/2026 hoặc 2026-10 nhé."
    for command in ("/report 2026-13", "/report 13/2026 ben thanh", "/report 2026-11 2026-10",
                    "/certificate 2001 2026-13", "/ranking 2026-13"):
        [reply] = await bot.send(ADMIN, command)
        assert reply.text == month_hint, command
    assert not [e for e in bot.api.sent if e.kind == "file"]
    await resolved_by_volunteer(bot)  # Lan (2001) helped someone this month
    month = outcomes.today(bot.svc).strftime("%m/%Y")
    events = await bot.send(ADMIN, f"/certificate 2001 tháng {month}")  # said as people say it
    assert [e.kind for e in events] == ["file", "file", "to"]
    [huge] = await bot.send(ADMIN, "/certificate 99999999999999999999999")  # no crash, the usual answer
    assert huge.text.startswith("Mình không tìm thấy tình nguyện viên hay phường này.")
    [long] = await bot.send(ADMIN, "/report 2026-11 " + "Phường " * 580)  # no crash on a long ward name
    assert long.text.startswith("Mình không tìm thấy đúng một phường tên “Phường Phường") and len(long.text) < 600


async def test_progress_says_when_today_is_the_last_day(bot: Harness):
    today = outcomes.today(bot.svc).strftime("%d/%m/%Y")
    await bot.send(ADMIN, f"/targets ben thanh | vneid muc 2 | 5 | {today}")
    [progress, _chart] = await bot.send(ADMIN, "/progress")
    assert "1. Phường Bến Thành · Có tài khoản VNeID mức 2: 0/5 (0%) · hôm nay là hạn cuối" in progress.text


async def test_no_certificate_that_says_zero_and_no_numbers_to_thank_when_none_are_shown(bot: Harness):
    await make_volunteer(bot, V, name="Lan")  # helped nobody this month
    events = await bot.send(ADMIN, "/certificate 2001")
    assert [e.kind for e in events] == ["to"]  # no file saying "đã giúp 0 người dân"
    assert events[0].text.startswith("Trong tháng " + outcomes.today(bot.svc).strftime("%m/%Y")
                                     + ", Lan chưa giúp người dân nào qua Trợ lý số")
    events = await bot.send(ADMIN, "/certificate cau ong lanh")
    assert [e.kind for e in events] == ["to"] and "Tổ công nghệ số cộng đồng Phường Cầu Ông Lãnh" in events[0].text
    [ranking] = await bot.send(ADMIN, "/ranking")
    assert "/certificate" not in ranking.text  # no numbers on the list to thank


async def test_an_admin_who_erases_their_data_leaves_their_targets_without_their_id(bot: Harness):
    await bot.send(ADMIN, "/targets ben thanh | vneid muc 2 | 5 | 31/12/2026")
    _name, body = await privacy.export(bot.svc, ADMIN)  # /mydata shows it while their id is kept
    assert [(t["ward"], t["target"]) for t in json.loads(body)["targets_set"]] == [("ben-thanh", 5)]
    await bot.send(ADMIN, "/deletemydata")
    await bot.press(ADMIN, "Xác nhận")
    rows = await bot.svc.db.fetchall("SELECT ward, target, created_by FROM targets")
    assert [tuple(r) for r in rows] == [("ben-thanh", 5, None)]  # the pledge stays, the person goes


async def test_several_numbers_typed_tick_several_outcomes(bot: Harness):
    """The question asks for one or more: "1 3" or "1, 3" ticks both, instead of searching the guides."""
    request, _picker = await resolved_by_volunteer(bot)
    shown = await bot.send(V, "1 3")
    assert "☑ Đăng ký tài khoản VNeID mức 1" in shown[-1].labels and "☑ Tích hợp giấy tờ vào VNeID" in shown[-1].labels
    [again] = await bot.send(V, "1 9")  # 9 fits nothing: the choices again, nothing ticked
    assert again.text.startswith("Mình chưa hiểu.")
    await bot.send(V, "3, 2")  # unticks 3, ticks 2
    done = await bot.send(V, "xong")
    assert "Phường đã đếm: Đăng ký tài khoản VNeID mức 1; Có tài khoản VNeID mức 2." in done[-1].text
    assert not [e for e in bot.api.sent if e.chat_id == V and e.text.startswith("🔎")]
    # the same for the volunteer application's lists of wards
    await bot.send(3001, "/volunteer")
    await bot.send(3001, "Minh")
    wards = (await bot.send(3001, "1 và 3"))[-1]
    assert [label for label in wards.labels if label.startswith("✅")] == ["✅ Phường Sài Gòn", "✅ Phường Bến Thành"]
    del request

"""Outcomes as content, reading /targets lines, months and weeks on local days, the thanks tick's retries."""

import shutil
from datetime import UTC, date, datetime

import pytest

from bot import outcomes
from bot.clock import FakeClock
from bot.content import check
from bot.data import outcomes as odata
from bot.messaging import Transient
from tests.conftest import ROOT, Harness, open_bot
from tests.handlers.test_requests import make_volunteer


@pytest.fixture
def content_copy(tmp_path):
    root = tmp_path / "content"
    shutil.copytree(ROOT / "content", root)
    return root


def test_shipped_outcomes_load_with_names_in_both_languages():
    content, problems = check(ROOT / "content")
    assert problems == []
    level2 = content.outcomes["vneid-level2"]
    assert (level2.name.vi, level2.name.en) == ("Có tài khoản VNeID mức 2", "VNeID level 2 account")
    assert "vneid-level2" in level2.guides and level2.categories == ("vneid",)
    assert content.outcomes["other"].categories == ()


def test_outcome_content_problems_are_named(content_copy):
    path = content_copy / "outcomes.toml"
    text = path.read_text(encoding="utf-8")
    text = text.replace('categories = ["payments"]\nguides = ["bank-biometric"]',
                        'categories = ["money"]\nguides = ["vneid-install", "no-such-guide"]')
    text = text.replace('en = "Something else done"\n', "")
    path.write_text(text, encoding="utf-8")
    problems = check(content_copy)[1]
    assert "content/outcomes.toml: outcome 5.categories: unknown category 'money'; see categories.toml" in problems
    assert "content/outcomes.toml: outcome 5.guides: guide 'vneid-install' already records 'vneid-level1': " \
           "one outcome per guide" in problems
    assert "content/outcomes.toml: outcome 5.guides: unknown guide 'no-such-guide'; see content/guides" in problems
    assert "content/outcomes.toml: outcome 8.en: missing or empty" in problems
    assert len(problems) == 4


@pytest.fixture
async def bot(settings):
    async with open_bot(settings, FakeClock(datetime(2026, 11, 30, 13, 0, tzinfo=UTC))) as harness:
        yield harness


@pytest.mark.parametrize(("line", "expected"), [
    ("Bến Thành | vneid-level2 | 500 | 31/12/2026", ("ben-thanh", "vneid-level2", 500, "2026-11-30", "2026-12-31")),
    ("phuong ben thanh|VNeID mức 2|1.000|31-12-2026|10/10/2026",
     ("ben-thanh", "vneid-level2", 1000, "2026-10-10", "2026-12-31")),
    ("Cầu Ông Lãnh | qr | 30 | 2027-01-31", ("cau-ong-lanh", "qr-payment", 30, "2026-11-30", "2027-01-31")),
    ("sai-gon | bank biometrics | 25 | 31/12", ("sai-gon", "bank-biometrics", 25, "2026-11-30", "2026-12-31")),
    ("tan dinh | thanh toan qr | 1 000 | 31/12/2026", ("tan-dinh", "qr-payment", 1000, "2026-11-30", "2026-12-31")),
    ("tan dinh | ngan hang | 1,000 | 31/12/2026", ("tan-dinh", "bank-biometrics", 1000, "2026-11-30", "2026-12-31")),
])
async def test_target_lines_are_read_without_accents(bot: Harness, line, expected):
    spec = outcomes.parse_target(bot.svc, line)
    assert (spec.ward, spec.outcome, spec.target, spec.starts.isoformat(), spec.ends.isoformat()) == expected


@pytest.mark.parametrize(("line", "message"), [
    ("Bến Thành vneid-level2 500", "Please write it in one line"),
    ("Đa Kao | vneid-level2 | 5 | 31/12/2026", "I could not find one ward"),  # split between two wards
    ("Bến Thành | vneid | 5 | 31/12/2026", "I could not find the outcome"),  # three outcomes say "vneid"
    ("Bến Thành | vneid-level2 | -5 | 31/12/2026", "The target must be a whole number"),
    ("Bến Thành | vneid-level2 | ٥ | 31/12/2026", "The target must be a whole number"),  # not ASCII digits
    ("Bến Thành | vneid-level2 | 5 | 31/02/2026", "Please write dates as day/month/year"),
    ("Bến Thành | vneid-level2 | 5 | 1/10/2026", "The last day {day} has already passed."),  # first day: today
    ("Bến Thành | vneid-level2 | 5 | 1/10/2026 | 2/10/2026", "The last day is before the first day."),
    ("Bến Thành | vneid-level2 | 1,5 | 31/12/2026", "The target must be a whole number"),  # not 15
    ("Bến Thành | vneid-level2 | 1.0000 | 31/12/2026", "The target must be a whole number"),
    ("Bến Thành | | 5 | 31/12/2026", "Please write it in one line"),
])
async def test_bad_target_lines_say_which_part(bot: Harness, line, message):
    with pytest.raises(outcomes.BadTarget) as refused:
        outcomes.parse_target(bot.svc, line)
    assert refused.value.message.startswith(message)


async def test_a_target_set_again_is_updated_not_doubled(bot: Harness):
    db, now = bot.svc.db, bot.svc.now()
    first = await odata.set_target(db, "ben-thanh", "vneid-level2", 500, "2026-10-10", "2026-12-31", 9001, now)
    again = await odata.set_target(db, "ben-thanh", "vneid-level2", 600, "2026-10-01", "2026-12-31", 9001, now)
    assert first == again
    assert [(t.target, t.starts) for t in await odata.targets(db)] == [(600, "2026-10-01")]


def test_months_are_local_calendar_months():
    tz = __import__("zoneinfo").ZoneInfo("Asia/Ho_Chi_Minh")
    month = outcomes.month_of(date(2026, 12, 31), tz)
    assert (month.first, month.last, month.key, month.label) == (date(2026, 12, 1), date(2026, 12, 31), "2026-12",
                                                                 "12/2026")
    assert (month.start, month.end) == ("2026-11-30T17:00:00+00:00", "2026-12-31T17:00:00+00:00")
    assert outcomes.parse_month("2026-10") == outcomes.parse_month("10/2026") == date(2026, 10, 1)
    assert outcomes.parse_month("2026-13") is None and outcomes.parse_month("october") is None


async def test_progress_counts_only_the_target_period_and_ranks_by_share(bot: Harness):
    db, now = bot.svc.db, bot.svc.now()
    await odata.set_target(db, "ben-thanh", "vneid-level2", 4, "2026-11-01", "2026-11-30", 9001, now)
    await odata.set_target(db, "tan-dinh", "vneid-level2", 2, "2026-11-01", "2026-12-31", 9001, now)
    for n, (ward, day) in enumerate([("ben-thanh", "2026-10-31"), ("ben-thanh", "2026-11-01"),
                                     ("ben-thanh", "2026-12-01"), ("tan-dinh", "2026-11-30")]):
        await odata.add_guide_outcome(db, "g", 7000 + n, "vneid-level2", ward, day, now)
    ranked = await outcomes.progress_of(bot.svc, date(2026, 12, 5))
    assert [(p.target.ward, p.done, p.days_left) for p in ranked] == [("tan-dinh", 1, 26), ("ben-thanh", 1, -5)]
    on_the_day = await outcomes.progress_of(bot.svc, date(2026, 11, 30))
    assert [p.done for p in on_the_day] == [1, 1]
    weekly = await outcomes.trend(bot.svc, date(2026, 12, 5), weeks=3)
    assert weekly.weeks == [date(2026, 11, 16), date(2026, 11, 23), date(2026, 11, 30)]
    assert weekly.per_ward == {"ben-thanh": [0, 0, 1], "tan-dinh": [0, 0, 1]}


async def test_thanks_that_failed_for_a_passing_reason_are_sent_on_the_next_tick(settings):
    clock = FakeClock(datetime(2026, 11, 20, 3, 0, tzinfo=UTC))
    async with open_bot(settings, clock) as bot:
        from bot import help_requests
        from tests.handlers.test_requests import file_request

        await make_volunteer(bot, 2001, name="Lan")
        request = await file_request(bot)
        await help_requests.claim(bot.svc, request.id, 2001)
        await help_requests.resolve(bot.svc, request.id, 2001)
        clock.advance(11 * 24 * 3600)  # 1/12, 10:00 local
        real_send = bot.svc.outbox.send
        calls = []

        async def flaky(chat_id, text, buttons=None, **kw):
            calls.append(chat_id)
            if len(calls) == 1:
                raise Transient("time-out")
            return await real_send(chat_id, text, buttons, **kw)

        bot.svc.outbox.send = flaky
        await outcomes.thanks_tick(bot.svc)
        assert (await bot.svc.db.fetchone("SELECT COUNT(*) FROM thanks_sent"))[0] == 0
        await outcomes.thanks_tick(bot.svc)
        await outcomes.thanks_tick(bot.svc)
        assert calls == [2001, 2001]
        assert [e.chat_id for e in bot.api.sent if e.text.startswith("🙏")] == [2001]
        clock.advance(7 * 24 * 3600)  # the second week: nothing more for November
        await bot.svc.db.execute("DELETE FROM thanks_sent")
        await outcomes.thanks_tick(bot.svc)
        assert calls == [2001, 2001]

"""Stats over guides, searches and help requests; the chart; the CSV export."""

from __future__ import annotations

import csv
import io
import warnings
from datetime import timedelta

from bot import stats
from bot.clock import iso
from bot.data import guides as guide_data
from bot.data import users
from tests.conftest import ADMIN, Harness


async def seed_usage(bot: Harness) -> None:
    db, now = bot.svc.db, bot.clock.now()
    for uid in (11, 12, 13):
        await users.touch(db, uid, f"Dân {uid}", None, iso(now - timedelta(days=30 if uid == 13 else 1)))
    for gid, n in (("vneid-install", 3), ("vietqr-pay", 2), ("scam-calls", 1)):
        for _ in range(n):
            await guide_data.record_view(db, gid, 11, iso(now - timedelta(days=1)))
    await guide_data.record_view(db, "vssid", 13, iso(now - timedelta(days=20)))
    await guide_data.record_feedback(db, "vietqr-pay", 12, False, iso(now))
    for q, n in (("the bhyt", 2), ("vneid", 0), ("the bhyt", 0), ("lam cccd", 0)):
        await guide_data.log_search(db, q, n, iso(now))


async def seed_requests(bot: Harness) -> None:
    db, now = bot.svc.db, bot.clock.now()
    rows = [  # code, ward, status, created (h ago), claim after (min), resolve after (min), rating
        ("A1", "sai-gon", "resolved", 30, 10, 60, 5),
        ("A2", "sai-gon", "resolved", 20, 30, 120, 4),
        ("A3", "ben-thanh", "claimed", 10, 20, None, None),
        ("A4", "ben-thanh", "open", 5, None, None, None),
        ("A5", None, "open", 2, None, None, None),
        ("A6", "sai-gon", "cancelled", 400, None, None, None),
    ]
    for code, ward, status, hours, claim, resolve, rating in rows:
        created = now - timedelta(hours=hours)
        await db.execute(
            "INSERT INTO help_requests (code, resident_id, topic, ward, mode, status, created_at, opened_at,"
            " claimed_at, resolved_at, rating) VALUES (?, 11, 'vneid', ?, 'chat', ?, ?, ?, ?, ?, ?)",
            (code, ward, status, iso(created), iso(created), iso(created + timedelta(minutes=claim)) if claim else None,
             iso(created + timedelta(minutes=resolve)) if resolve else None, rating))


async def test_usage_stats(bot: Harness):
    await seed_usage(bot)
    report = await stats.report(bot.svc)
    assert report.week.new_residents == 2 and report.all_time.new_residents == 3
    assert report.week.top_guides == [("vneid-install", 3), ("vietqr-pay", 2), ("scam-calls", 1)]
    assert ("vssid", 1) in report.all_time.top_guides
    assert report.week.unhelpful == [("vietqr-pay", 1)]
    assert report.week.empty_searches == [("lam cccd", 1), ("the bhyt", 1), ("vneid", 1)]
    assert report.week.requests.filed == 0 and report.week.requests.average_rating is None
    chart = await stats.chart_data(bot.svc, bot.svc.i18n.get("vi"))
    assert sum(sum(v) for v in chart.series.values()) == 0 and len(chart.days) == 7


async def test_request_stats(bot: Harness):
    await seed_usage(bot)
    await seed_requests(bot)
    report = await stats.report(bot.svc)
    week = report.week.requests
    assert week is not None
    assert (week.filed, week.claimed, week.resolved, week.open) == (5, 3, 2, 2)
    assert week.median_claim_s == 20 * 60
    assert week.median_resolve_s == 90 * 60
    assert week.average_rating == 4.5
    assert week.oldest_open_at == bot.clock.now() - timedelta(hours=5)
    assert ("sai-gon", 2, 2, 0) in week.per_ward and ("", 1, 0, 1) in week.per_ward
    assert report.all_time.requests.filed == 6
    chart = await stats.chart_data(bot.svc, bot.svc.i18n.get("vi"))
    assert sum(sum(v) for v in chart.series.values()) == 5
    assert ("Phường Sài Gòn", 2) in chart.wards and ("Không rõ", 1) in chart.wards


async def test_chart_is_a_png_with_vietnamese_glyphs(bot: Harness):
    await seed_usage(bot)
    await seed_requests(bot)
    for locale in ("vi", "en"):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            png = await stats.chart_png(bot.svc, bot.svc.i18n.get(locale))
        assert png.startswith(b"\x89PNG")
        assert not [w for w in caught if "missing from" in str(w.message)], "a glyph is missing"


async def test_export_leaves_out_contacts_unless_asked_and_audits(bot: Harness):
    await seed_usage(bot)
    await seed_requests(bot)
    admin = await users.touch(bot.svc.db, ADMIN, "Cán bộ", None, bot.svc.now())
    resident = await users.get(bot.svc.db, 11)
    assert await stats.export_csv(bot.svc, resident, False) is None
    name, body = await stats.export_csv(bot.svc, admin, False)
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert name.startswith("requests-") and rows[0][:4] == ["code", "topic", "ward", "status"]
    assert len(rows) == 7 and not any("Dân" in cell for row in rows for cell in row)
    assert (await bot.svc.db.fetchone("SELECT COUNT(*) FROM audit_events"))[0] == 0
    name, body = await stats.export_csv(bot.svc, admin, True)
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert "first_name" in rows[0] and rows[1][rows[0].index("first_name")] == "Dân 11"
    audit = await bot.svc.db.fetchone("SELECT actor_id, kind, detail FROM audit_events")
    assert tuple(audit) == (ADMIN, "export_contacts", "requests:6")

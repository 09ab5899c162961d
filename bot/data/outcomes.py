"""Outcomes (what residents achieved), the wards' targets, monthly thanks and the month's figures.

Days (`day`, `starts`, `ends`) are local dates as YYYY-MM-DD text; request timestamps are UTC ISO text,
so a month of requests is asked for as a UTC range [start, end).
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.data import Database


# --- outcomes -----------------------------------------------------------------------------------
async def add_request_outcome(db: Database, request_id: int, outcome: str, ward: str | None, day: str,
                              volunteer_id: int, now: str) -> bool:
    """Count one outcome for a resolved request (once per request and outcome). True if new."""
    cur = await db.execute(
        """INSERT INTO outcomes (outcome, ward, day, source, request_id, volunteer_id, at)
           VALUES (?, ?, ?, 'request', ?, ?, ?) ON CONFLICT DO NOTHING""",
        (outcome, ward, day, request_id, volunteer_id, now))
    return cur.rowcount == 1


async def remove_request_outcome(db: Database, request_id: int, outcome: str) -> None:
    await db.execute("DELETE FROM outcomes WHERE request_id = ? AND outcome = ?", (request_id, outcome))


async def clear_request_outcomes(db: Database, request_id: int) -> None:
    await db.execute("DELETE FROM outcomes WHERE request_id = ?", (request_id,))


async def request_outcomes(db: Database, request_id: int) -> set[str]:
    rows = await db.fetchall("SELECT outcome FROM outcomes WHERE request_id = ?", (request_id,))
    return {r[0] for r in rows}


async def add_guide_outcome(db: Database, guide_id: str, resident_id: int, outcome: str, ward: str | None,
                            day: str, now: str) -> bool:
    """A resident said they did what a guide shows (once per resident, guide and outcome). True if new."""
    cur = await db.execute(
        """INSERT INTO outcomes (outcome, ward, day, source, guide_id, resident_id, at)
           VALUES (?, ?, ?, 'guide', ?, ?, ?) ON CONFLICT DO NOTHING""",
        (outcome, ward, day, guide_id, resident_id, now))
    return cur.rowcount == 1


async def has_guide_outcome(db: Database, guide_id: str, resident_id: int) -> bool:
    """The resident already said they did what this guide shows."""
    row = await db.fetchone("SELECT 1 FROM outcomes WHERE guide_id = ? AND resident_id = ?", (guide_id, resident_id))
    return row is not None


async def latest_request_ward(db: Database, resident_id: int) -> str | None:
    """The ward of the resident's newest request that named one (their users.ward may be unset)."""
    row = await db.fetchone("SELECT ward FROM help_requests WHERE resident_id = ? AND ward IS NOT NULL "
                            "ORDER BY id DESC LIMIT 1", (resident_id,))
    return row[0] if row else None


async def counts(db: Database, first_day: str, last_day: str, ward: str | None = None) -> list[tuple[str, str, int]]:
    """(ward or '', outcome, count) of outcomes on days first_day..last_day (both included)."""
    where, params = ("AND ward = ?", [ward]) if ward else ("", [])
    rows = await db.fetchall(
        f"""SELECT COALESCE(ward, '') AS w, outcome, COUNT(*) FROM outcomes
            WHERE day BETWEEN ? AND ? {where} GROUP BY w, outcome ORDER BY w, outcome""",
        [first_day, last_day, *params])
    return [(r[0], r[1], r[2]) for r in rows]


async def per_day(db: Database, first_day: str, last_day: str) -> list[tuple[str, str, int]]:
    """(ward or '', day, count) of all outcomes per day, for weekly trends."""
    rows = await db.fetchall(
        """SELECT COALESCE(ward, '') AS w, day, COUNT(*) FROM outcomes WHERE day BETWEEN ? AND ?
           GROUP BY w, day ORDER BY day""", (first_day, last_day))
    return [(r[0], r[1], r[2]) for r in rows]


async def count_for(db: Database, ward: str, outcome: str, first_day: str, last_day: str) -> int:
    row = await db.fetchone("SELECT COUNT(*) FROM outcomes WHERE ward = ? AND outcome = ? AND day BETWEEN ? AND ?",
                            (ward, outcome, first_day, last_day))
    return int(row[0]) if row else 0


async def erase_person(db: Database, user_id: int) -> None:
    """Part of /deletemydata (inside its transaction): the outcome rows stay as anonymous counts, the targets
    an admin set stay without their id."""
    await db.execute("UPDATE outcomes SET volunteer_id = NULL WHERE volunteer_id = ?", (user_id,))
    await db.execute("UPDATE outcomes SET resident_id = NULL WHERE resident_id = ?", (user_id,))
    await db.execute("DELETE FROM thanks_sent WHERE volunteer_id = ?", (user_id,))
    await db.execute("UPDATE targets SET created_by = NULL WHERE created_by = ?", (user_id,))  # the pledge stays


async def of_person(db: Database, user_id: int) -> list[dict]:
    """For /mydata: the outcomes recorded with this person's id."""
    rows = await db.fetchall("SELECT outcome, ward, day, source, guide_id, request_id FROM outcomes "
                             "WHERE volunteer_id = ? OR resident_id = ? ORDER BY id", (user_id, user_id))
    return [dict(r) for r in rows]


async def targets_set_by(db: Database, user_id: int) -> list[dict]:
    """For /mydata: the targets this admin set (their id is kept with each until they erase their data)."""
    rows = await db.fetchall("SELECT ward, outcome, target, starts, ends, created_at FROM targets WHERE created_by = ? "
                             "ORDER BY id", (user_id,))
    return [dict(r) for r in rows]


# --- targets ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TargetRow:
    id: int
    ward: str
    outcome: str
    target: int
    starts: str
    ends: str


async def set_target(db: Database, ward: str, outcome: str, target: int, starts: str, ends: str,
                     actor: int, now: str) -> int:
    """Add a target, or change the number and start of the one with the same ward, outcome and end."""
    await db.execute(
        """INSERT INTO targets (ward, outcome, target, starts, ends, created_by, created_at)
           VALUES (?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT(ward, outcome, ends) DO UPDATE SET target = excluded.target, starts = excluded.starts,
               created_by = excluded.created_by, created_at = excluded.created_at""",
        (ward, outcome, target, starts, ends, actor, now))
    row = await db.fetchone("SELECT id FROM targets WHERE ward = ? AND outcome = ? AND ends = ?", (ward, outcome, ends))
    return int(row[0])


async def targets(db: Database, overlapping: tuple[str, str] | None = None) -> list[TargetRow]:
    """Every target (oldest first), or those whose period overlaps (first_day, last_day)."""
    where, params = ("WHERE starts <= ? AND ends >= ?", [overlapping[1], overlapping[0]]) if overlapping else ("", [])
    rows = await db.fetchall(f"SELECT id, ward, outcome, target, starts, ends FROM targets {where} ORDER BY id",
                             params)
    return [TargetRow(*r) for r in rows]


async def remove_target(db: Database, target_id: int) -> bool:
    cur = await db.execute("DELETE FROM targets WHERE id = ?", (target_id,))
    return cur.rowcount == 1


# --- monthly figures ----------------------------------------------------------------------------
async def claim_thanks(db: Database, volunteer_id: int, month: str, now: str) -> bool:
    """One thank-you per volunteer and month: the insert decides, so a restart never sends twice."""
    cur = await db.execute("INSERT INTO thanks_sent (volunteer_id, month, at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                           (volunteer_id, month, now))
    return cur.rowcount == 1


async def unclaim_thanks(db: Database, volunteer_id: int, month: str) -> None:
    """The send failed for a passing reason: the next tick tries again."""
    await db.execute("DELETE FROM thanks_sent WHERE volunteer_id = ? AND month = ?", (volunteer_id, month))


@dataclass(frozen=True)
class VolunteerFigures:
    volunteer_id: int
    name: str
    helped: int  # requests they resolved in the period
    outcomes: int  # outcomes recorded on those requests
    rating: float | None  # average stars the residents gave them


async def volunteer_figures(db: Database, start: str, end: str, *, ward: str | None = None,
                            only: int | None = None) -> list[VolunteerFigures]:
    """Per volunteer who resolved at least one request in [start, end) (UTC ISO), most helped first.
    `ward` keeps requests of that ward; `only` one volunteer."""
    where, params = "", [start, end]
    if ward:
        where += " AND r.ward = ?"
        params.append(ward)
    if only is not None:
        where += " AND r.volunteer_id = ?"
        params.append(only)
    rows = await db.fetchall(
        f"""SELECT r.volunteer_id, v.display_name, COUNT(*), AVG(r.rating),
                   (SELECT COUNT(*) FROM outcomes o JOIN help_requests q ON q.id = o.request_id
                    WHERE o.volunteer_id = r.volunteer_id AND q.resolved_at >= ? AND q.resolved_at < ?)
            FROM help_requests r JOIN volunteers v ON v.user_id = r.volunteer_id
            WHERE r.status = 'resolved' AND r.resolved_at >= ? AND r.resolved_at < ? {where}
            GROUP BY r.volunteer_id, v.display_name
            ORDER BY COUNT(*) DESC, AVG(r.rating) DESC NULLS LAST, v.display_name""",
        [start, end, *params])
    return [VolunteerFigures(r[0], r[1], r[2], r[4], float(r[3]) if r[3] is not None else None) for r in rows]


@dataclass(frozen=True)
class MonthRequests:
    filed: int
    helped: int  # resolved in the month
    wait_seconds: list[float]  # filed → claimed, for requests claimed in the month
    rating: float | None
    ratings: int
    volunteers: int  # distinct volunteers who resolved a request in the month


async def month_requests(db: Database, start: str, end: str, ward: str | None = None) -> MonthRequests:
    """Help requests of [start, end) (UTC ISO), of one ward or all."""
    where, params = ("AND ward = ?", [ward]) if ward else ("", [])
    filed = await db.fetchone(f"SELECT COUNT(*) FROM help_requests WHERE created_at >= ? AND created_at < ? {where}",
                              [start, end, *params])
    helped = await db.fetchone(
        f"""SELECT COUNT(*), AVG(rating), COUNT(rating), COUNT(DISTINCT volunteer_id) FROM help_requests
            WHERE status = 'resolved' AND resolved_at >= ? AND resolved_at < ? {where}""", [start, end, *params])
    waits = await db.fetchall(
        f"""SELECT {db.seconds_between('claimed_at', 'created_at')} FROM help_requests
            WHERE claimed_at >= ? AND claimed_at < ? {where}""", [start, end, *params])
    return MonthRequests(int(filed[0]), int(helped[0]), [float(r[0]) for r in waits],
                         float(helped[1]) if helped[1] is not None else None, int(helped[2]), int(helped[3]))


async def ward_request_outcomes(db: Database, start: str, end: str, ward: str) -> list[tuple[str, int]]:
    """(outcome, count) ticked on the ward's requests resolved in [start, end) (UTC ISO): what residents got
    done with a volunteer's help, not what they did alone after a guide."""
    rows = await db.fetchall(
        """SELECT o.outcome, COUNT(*) FROM outcomes o JOIN help_requests q ON q.id = o.request_id
           WHERE q.status = 'resolved' AND q.resolved_at >= ? AND q.resolved_at < ? AND q.ward = ?
           GROUP BY o.outcome ORDER BY o.outcome""", (start, end, ward))
    return [(r[0], r[1]) for r in rows]


async def volunteer_outcomes(db: Database, volunteer_id: int, first_day: str, last_day: str) -> list[tuple[str, int]]:
    """(outcome, count) a volunteer recorded on days first_day..last_day."""
    rows = await db.fetchall("SELECT outcome, COUNT(*) FROM outcomes WHERE volunteer_id = ? AND day BETWEEN ? AND ? "
                             "GROUP BY outcome ORDER BY outcome", (volunteer_id, first_day, last_day))
    return [(r[0], r[1]) for r in rows]

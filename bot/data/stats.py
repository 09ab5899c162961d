"""Read-only numbers for /stats and /export. `since` is a UTC ISO timestamp, or None for all time; `until`
(the dashboard's date range) an exclusive UTC ISO end, or None for until now.

help_requests is built by another feature; its queries run only when the table exists.
"""

from __future__ import annotations

from bot.data import Database


def _since(column: str, since: str | None, until: str | None = None) -> tuple[str, list]:
    where, params = [], []
    if since:
        where.append(f"{column} >= ?")
        params.append(since)
    if until:
        where.append(f"{column} < ?")
        params.append(until)
    return " AND ".join(where) or "1 = 1", params


async def new_residents(db: Database, since: str | None, until: str | None = None) -> int:
    where, params = _since("created_at", since, until)
    row = await db.fetchone(f"SELECT COUNT(*) FROM users WHERE {where}", params)
    return int(row[0]) if row else 0


async def top_guides(db: Database, since: str | None, limit: int = 5,
                     until: str | None = None) -> list[tuple[str, int]]:
    where, params = _since("at", since, until)
    rows = await db.fetchall(f"SELECT guide_id, COUNT(*) AS n FROM guide_views WHERE {where} "
                             "GROUP BY guide_id ORDER BY n DESC, guide_id LIMIT ?", [*params, limit])
    return [(r[0], r[1]) for r in rows]


async def unhelpful_guides(db: Database, since: str | None, limit: int = 5,
                           until: str | None = None) -> list[tuple[str, int]]:
    where, params = _since("at", since, until)
    rows = await db.fetchall(f"SELECT guide_id, COUNT(*) AS n FROM guide_feedback WHERE helpful = 0 AND {where} "
                             "GROUP BY guide_id ORDER BY n DESC, guide_id LIMIT ?", [*params, limit])
    return [(r[0], r[1]) for r in rows]


async def empty_searches(db: Database, since: str | None, limit: int = 5,
                         until: str | None = None) -> list[tuple[str, int]]:
    where, params = _since("at", since, until)
    rows = await db.fetchall(f"SELECT query, COUNT(*) AS n FROM search_log WHERE results = 0 AND {where} "
                             "GROUP BY query ORDER BY n DESC, query LIMIT ?", [*params, limit])
    return [(r[0], r[1]) for r in rows]


# --- help requests -------------------------------------------------
async def request_counts(db: Database, since: str | None, until: str | None = None) -> dict[str, int]:
    """Filed, claimed and resolved in the period; open now. Four counts, each over its own index (one pass
    over a million rows took about 400 ms)."""
    def cond(col: str) -> str:
        return _since(col, since, until)[0] if since or until else f"{col} IS NOT NULL"

    p = _since("x", since, until)[1] * 3
    row = await db.fetchone(
        f"""SELECT (SELECT COUNT(*) FROM help_requests WHERE {cond('created_at')}),
                   (SELECT COUNT(*) FROM help_requests WHERE {cond('claimed_at')}),
                   (SELECT COUNT(*) FROM help_requests WHERE {cond('resolved_at')} AND status = 'resolved'),
                   (SELECT COUNT(*) FROM help_requests WHERE status = 'open')""", p)
    values = [int(v or 0) for v in row] if row else [0, 0, 0, 0]
    return dict(zip(("filed", "claimed", "resolved", "open"), values, strict=True))


async def oldest_open(db: Database) -> str | None:
    row = await db.fetchone("SELECT MIN(created_at) FROM help_requests WHERE status = 'open'")
    return row[0] if row else None


async def claim_seconds(db: Database, since: str | None, until: str | None = None) -> list[float]:
    where, params = _since("created_at", since, until)
    rows = await db.fetchall(f"""SELECT {db.seconds_between('claimed_at', 'created_at')}
                                 FROM help_requests
                                 WHERE claimed_at IS NOT NULL AND {where}""", params)
    return [float(r[0]) for r in rows]


async def resolve_seconds(db: Database, since: str | None, until: str | None = None) -> list[float]:
    where, params = _since("created_at", since, until)
    rows = await db.fetchall(f"""SELECT {db.seconds_between('resolved_at', 'created_at')}
                                 FROM help_requests
                                 WHERE resolved_at IS NOT NULL AND status = 'resolved' AND {where}""", params)
    return [float(r[0]) for r in rows]


async def average_rating(db: Database, since: str | None, until: str | None = None) -> float | None:
    where, params = _since("created_at", since, until)
    row = await db.fetchone(f"SELECT AVG(rating) FROM help_requests WHERE rating IS NOT NULL AND {where}", params)
    return float(row[0]) if row and row[0] is not None else None


async def requests_per_ward(db: Database, since: str | None,
                            until: str | None = None) -> list[tuple[str, int, int, int]]:
    """(ward, filed, resolved, open now) for requests filed in the period."""
    where, params = _since("created_at", since, until)
    rows = await db.fetchall(
        f"""SELECT COALESCE(ward, '') AS w, COUNT(*) AS n,
                   SUM(CASE WHEN status = 'resolved' THEN 1 ELSE 0 END),
                   SUM(CASE WHEN status = 'open' THEN 1 ELSE 0 END)
            FROM help_requests WHERE {where} GROUP BY w ORDER BY n DESC, w""", params)
    return [(r[0], r[1], int(r[2] or 0), int(r[3] or 0)) for r in rows]


async def new_residents_per_ward(db: Database, since: str | None,
                                until: str | None = None) -> list[tuple[str, int]]:
    """(ward, residents who first wrote in the period) by ward chosen now, most first."""
    where, params = _since("created_at", since, until)
    rows = await db.fetchall(f"SELECT COALESCE(ward, '') AS w, COUNT(*) AS n FROM users WHERE {where} "
                             "GROUP BY w ORDER BY n DESC, w", params)
    return [(r[0], r[1]) for r in rows]


async def first_request_at(db: Database) -> str | None:
    """When the first help request was filed (UTC ISO), or None when there is none."""
    row = await db.fetchone("SELECT MIN(created_at) FROM help_requests")
    return row[0] if row else None


async def requests_per_day(db: Database, since: str, offset: str,
                           until: str | None = None) -> list[tuple[str, str, int]]:
    """(local day filed, status, count) for requests filed from `since` to `until` (exclusive; None: now)."""
    where, params = _since("created_at", since, until)
    rows = await db.fetchall(f"SELECT {db.local_day('created_at')} AS day, status, COUNT(*) FROM help_requests "
                             f"WHERE {where} GROUP BY day, status ORDER BY day", (offset, *params))
    return [(r[0], r[1], r[2]) for r in rows]


async def request_rows(db: Database, contacts: bool) -> tuple[list[str], list[tuple]]:
    """Requests for export; names and phone numbers only with `contacts`."""
    base = ["code", "topic", "ward", "status", "created_at", "claimed_at", "resolved_at", "rating"]
    cols = [f"r.{c}" for c in base]
    header = list(base)
    if contacts:
        cols += ["r.resident_id", "u.first_name", "u.username"]
        header += ["resident_id", "first_name", "username"]
        cols.append("r.phone")
        header.append("phone")
    rows = await db.fetchall(f"SELECT {', '.join(cols)} FROM help_requests r LEFT JOIN users u ON u.id = r.resident_id "
                             "ORDER BY r.created_at, r.id")
    return header, [tuple(r) for r in rows]



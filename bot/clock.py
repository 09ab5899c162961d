"""Time, injectable: the app reads the clock through one object so tests and the console can move it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


class Clock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class FakeClock(Clock):
    """A clock that moves only when told to (tests, the console's @wait)."""

    def __init__(self, start: datetime | None = None):
        self._now = start or datetime(2026, 11, 28, 2, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self._now

    def advance(self, seconds: float) -> None:
        self._now += timedelta(seconds=seconds)


def iso(dt: datetime) -> str:
    """UTC timestamps are stored as ISO text, sortable and portable."""
    return dt.astimezone(UTC).isoformat(timespec="seconds")


def parse(text: str) -> datetime:
    return datetime.fromisoformat(text)

"""Prometheus metrics for `GET /metrics` (prometheus-client), one registry per `Metrics` object.

No label ever holds a person's id, name, phone number or text: labels are channel names, update kinds
(a fixed vocabulary per channel), ward ids from the content, escalation levels, outcomes and error kinds.
Gauges that describe the database (open requests, oldest open request) are read from it at each scrape.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from bot.clock import parse
from bot.data import Database, health

# Handler latency: most updates take a few ms; a slow one (a chart, a broadcast confirm) up to seconds.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
SEND_ERROR_KINDS = ("retry_later", "unreachable", "bad_recipient", "transient", "other")
CAMPAIGN_OUTCOMES = ("sent", "failed", "blocked")


class Metrics:
    """Every metric the bot exports, registered in `registry` (a fresh one unless given)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = r = registry or CollectorRegistry()
        self.updates = Counter("bot_updates", "Updates received, by channel and kind",
                               ["channel", "kind"], registry=r)
        self.update_seconds = Histogram("bot_update_seconds", "Time to process one update (handlers included)",
                                        ["channel", "kind"], buckets=LATENCY_BUCKETS, registry=r)
        self.update_errors = Counter("bot_update_errors", "Updates whose processing raised, by channel",
                                     ["channel"], registry=r)
        self.webhook_refused = Counter("bot_webhook_refused", "Webhook calls not taken, by channel and reason "
                                       "(forbidden, unavailable, bad_request, duplicate, overloaded)",
                                       ["channel", "reason"], registry=r)
        self.campaign_messages = Counter("bot_campaign_messages", "Campaign messages by channel and outcome "
                                         "(sent, failed, blocked)", ["channel", "outcome"], registry=r)
        self.campaign_retry_after = Counter("bot_campaign_retry_after", "Times a channel asked the campaign "
                                            "sender to wait (Telegram's 429)", ["channel"], registry=r)
        self.send_errors = Counter("bot_send_errors", "Errors answered by a channel's API to a send or edit, "
                                   "by kind", ["channel", "kind"], registry=r)
        self.open_requests = Gauge("bot_open_requests", "Help requests waiting for a volunteer, by ward "
                                   "(empty: not given) and escalation level", ["ward", "level"], registry=r)
        self.oldest_open = Gauge("bot_oldest_open_request_seconds", "Age of the longest-waiting open help "
                                 "request (0 when none is open)", registry=r)
        self.ready = Gauge("bot_ready", "1 when /readyz would answer 200 (checked at each scrape)", registry=r)
        for outcome in CAMPAIGN_OUTCOMES:  # present from the start, so a rate() sees the first message
            self.campaign_messages.labels("telegram", outcome)
        self.campaign_retry_after.labels("telegram")

    def send_error_hook(self, channel: str) -> Callable[[str], None]:
        """A callable for a channel's bot object: called with one of SEND_ERROR_KINDS per refused call."""

        def hook(kind: str) -> None:
            self.send_errors.labels(channel, kind if kind in SEND_ERROR_KINDS else "other").inc()

        return hook

    def campaign_hook(self) -> Callable[[str, str], None]:
        """A callable for the campaign sender: (channel, outcome), outcome one of CAMPAIGN_OUTCOMES or
        "retry_after" (the channel asked everyone to wait)."""

        def hook(channel: str, outcome: str) -> None:
            if outcome == "retry_after":
                self.campaign_retry_after.labels(channel).inc()
            elif outcome in CAMPAIGN_OUTCOMES:
                self.campaign_messages.labels(channel, outcome).inc()

        return hook

    async def refresh(self, db: Database | None, now: datetime) -> None:
        """Read the gauges that describe the database (at each scrape; a few ms on an indexed table)."""
        if db is None:
            return
        self.open_requests.clear()
        for ward, level, n in await health.open_requests_by_ward_level(db):
            self.open_requests.labels(ward, str(level)).set(n)
        since = await health.oldest_open_since(db)
        self.oldest_open.set(max(0.0, (now - parse(since)).total_seconds()) if since else 0.0)

    def render(self) -> tuple[bytes, str]:
        """The exposition text and its content type."""
        return generate_latest(self.registry), CONTENT_TYPE_LATEST

"""Telegram glue. This is the one place that fixes handler order and groups.

Group -200 is flood control (in memory, before any database work). Group -100 is the gate (who,
which language, bans, private chats only). Groups -2 and -1 take messages that answer an open
question (a volunteer's name, the ask wizard, a relay, a comment) and stop there; anything else
falls through. Group 0 holds every feature, most specific first; the free-text search and the
catch-alls come last.
"""

from telegram.ext import Application

from handlers import (
    admin,
    campaigns,
    common,
    fallback,
    guides,
    moderation,
    points,
    privacy,
    requests,
    search,
    start,
    volunteers,
)


def register(app: Application) -> None:
    moderation.register_flood(app)
    common.register(app)
    for feature in (start, guides, search, points, requests, volunteers, campaigns, admin, privacy, moderation):
        feature.register(app)
    search.register_fallback(app)
    fallback.register(app)

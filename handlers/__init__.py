"""Telegram glue. This is the one place that fixes handler order and groups.

Group -200 is flood control (in memory, before any database work). Group -100 is the gate (who,
which language, bans, private chats only). Group -1 (handlers/typed.py) decides what a message
means: a typed choice, a menu or cancel word, or the answer to an open question (the ask wizard, a
volunteer's name, a comment, a relay), and stops there; anything else falls through. An edit of a relayed
text is passed on as a correction there too (handlers/requests.py `relay_edit`). Group 0 holds
every feature, most specific first; the free-text search and the catch-alls come last.
"""

from telegram.ext import Application

from handlers import (
    admin,
    campaigns,
    common,
    dashboard,
    fallback,
    guides,
    moderation,
    outcomes,
    points,
    privacy,
    requests,
    search,
    start,
    typed,
    volunteers,
)


def register(app: Application) -> None:
    moderation.register_flood(app)
    common.register(app)
    typed.register(app)
    for feature in (start, guides, search, points, requests, volunteers, campaigns, admin, privacy, moderation,
                    outcomes, dashboard):
        feature.register(app)
    typed.register_cancel(app)
    search.register_fallback(app)
    fallback.register(app)

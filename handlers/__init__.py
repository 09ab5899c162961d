"""Telegram glue. This is the one place that fixes handler order and groups.

Group -100 is the gate (who, which language, private chats only). Group 0 holds every feature,
most specific first; the free-text search and the catch-alls come last.
"""

from telegram.ext import Application

from handlers import admin, campaigns, common, fallback, guides, points, search, start


def register(app: Application) -> None:
    common.register(app)
    for feature in (start, guides, search, points, campaigns, admin):
        feature.register(app)
    search.register_fallback(app)
    fallback.register(app)

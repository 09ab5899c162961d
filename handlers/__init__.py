"""Telegram glue. This is the one place that fixes handler order and groups.

Group -100 is the gate (who, which language, private chats only). Groups -2 and -1 take messages
that answer an open question (a volunteer's name, the ask wizard, a relay, a comment) and stop
there; anything else falls through. Group 0 holds every feature, most specific first; the
free-text search and the catch-alls come last.
"""

from telegram.ext import Application

from handlers import admin, campaigns, common, fallback, guides, points, requests, search, start, volunteers


def register(app: Application) -> None:
    common.register(app)
    for feature in (start, guides, search, points, requests, volunteers, campaigns, admin):
        feature.register(app)
    search.register_fallback(app)
    fallback.register(app)

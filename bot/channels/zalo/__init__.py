"""Zalo's Bot Platform as a second channel: a client, a stand-in for Zalo's servers, and a thin adapter that
turns Zalo updates into python-telegram-bot updates and renders the bot's calls for Zalo (README "Zalo")."""

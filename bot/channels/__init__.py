"""One adapter per channel besides Telegram's own (python-telegram-bot is the Telegram adapter)."""

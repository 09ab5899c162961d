"""Trợ lý số: a chatbot that helps Ho Chi Minh City residents use digital services."""

import os

# python-telegram-bot 22's documented opt-in: durations (RetryAfter.retry_after) as timedelta now,
# as its next major version will do, instead of a deprecation warning on every 429.
os.environ.setdefault("PTB_TIMEDELTA", "1")

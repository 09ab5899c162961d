"""The one way a service refuses: `Refused(msgid)`, which each channel renders in the person's language.

Services check the acting person themselves (role, ownership, eligibility, the current state) and raise
this; handlers only translate `message` and show it (an alert on Telegram, a line of text on Zalo).
"""

from __future__ import annotations


class Refused(Exception):
    """An action the actor may not take now; `message` is an English msgid (gettext) naming the reason."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

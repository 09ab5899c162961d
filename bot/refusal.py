"""The one way a service refuses: `Refused(msgid)`, which each channel renders in the person's language.

Services check the acting person themselves (role, ownership, eligibility, the current state) and raise
this; handlers only translate `message` and show it (an alert on Telegram, a line of text on Zalo).
"""

from __future__ import annotations

from bot.i18n import N_

ADMINS_ONLY = N_("Sorry, this is for admins only.")
OUT_OF_DATE = N_("This button is out of date. Here is the menu.")


class Refused(Exception):
    """An action the actor may not take now; `message` is an English msgid (gettext) naming the reason."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

"""Which commands each role sees in the chat's command menu, in their language."""

from __future__ import annotations

from bot.data import volunteers as vdata
from bot.i18n import N_
from bot.messaging import SendError

EVERYONE = (
    ("start", N_("Start again")),
    ("menu", N_("Main menu")),
    ("help", N_("What I can do")),
    ("search", N_("Search the guides")),
    ("ask", N_("Ask a volunteer for help")),
    ("myrequests", N_("My help requests")),
    ("language", N_("Language")),
    ("volunteer", N_("Become a volunteer")),
    ("subscribe", N_("Get campaign messages")),
    ("unsubscribe", N_("Stop campaign messages")),
    ("privacy", N_("How my data is used")),
    ("mydata", N_("My data")),
    ("deletemydata", N_("Delete my data")),
)
VOLUNTEER = (
    ("mine", N_("Requests I am helping with")),
    ("available", N_("Take new requests")),
    ("away", N_("Pause new requests")),
    ("ranking", N_("Show my name in the ranking?")),
    ("dashboard", N_("Sign in to the web dashboard")),
)
ADMIN = (
    ("queue", N_("Requests still waiting")),
    ("volunteers", N_("Manage volunteers")),
    ("broadcast", N_("Send a campaign message")),
    ("stats", N_("Numbers and charts")),
    ("export", N_("Download requests as CSV")),
    ("admins", N_("Manage admins")),
    ("ban", N_("Ban a user: /ban ID")),
    ("unban", N_("Lift a ban: /unban ID")),
    ("targets", N_("Set the ward's targets")),
    ("progress", N_("Progress against targets")),
    ("report", N_("The month's report (PDF)")),
    ("certificate", N_("A certificate of thanks")),
    ("ranking", N_("Volunteers' ranking")),
    ("dashboard", N_("Sign in to the web dashboard")),
)


async def sync(svc, user_id: int) -> None:
    """Give one person the menu of their roles (volunteer, admin) on top of everyone's."""
    volunteer = await vdata.get(svc.db, user_id)
    commands = list(EVERYONE)
    if volunteer is not None and volunteer.status == "active":
        commands += VOLUNTEER
    if user_id in await svc.admin_ids():
        commands += ADMIN
    _ = (await svc.translator(user_id)).gettext
    try:
        await svc.outbox.set_commands(user_id, [(name, _(text)) for name, text in commands])
    except SendError:
        pass  # the menu is a convenience; the commands work regardless


async def sync_all(svc) -> None:
    """At start-up: every admin and active volunteer gets their menu."""
    people = await svc.admin_ids() | {v.user_id for v in await vdata.listed(svc.db, ("active",))}
    for user_id in sorted(people):
        await sync(svc, user_id)

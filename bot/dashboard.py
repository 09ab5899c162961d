"""The ward office's web dashboard (issue 13), as services: sign-in, and what each page may show or do.

Channel-free and web-free: bot/web/dashboard.py turns HTTP into calls here. Every function takes the acting
person (a `Viewer`, re-read from the database on every request by `viewer`) and refuses with `Refused` what
the chat would refuse them: a volunteer sees what they hold and the open queue of their wards; an admin sees
everything; anyone else nothing. Changes go through the chat's own services (help_requests, volunteers).
Reads go through `reader`, the dashboard's own read-only connection (bot.data.dashboard.open_reader).
"""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import secrets
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from urllib.parse import parse_qsl

from bot import campaigns, formatting, help_requests, outcomes, stats, volunteers
from bot.clock import iso, parse
from bot.config import LOCALES
from bot.data import Database, audit, users
from bot.data import campaigns as cdata
from bot.data import dashboard as data
from bot.data import requests as rdata
from bot.data import stats as sdata
from bot.data import volunteers as vdata
from bot.i18n import N_, Translator
from bot.refusal import OUT_OF_DATE, Refused
from bot.services import Services
from bot.stats import safe_cell, write_csv

LINK_TTL = timedelta(minutes=10)
SESSION_TTL = timedelta(hours=8)
INIT_DATA_TTL = timedelta(minutes=10)
QUEUE_LIMIT = 200  # rows on the Today page; the rest by filter (ward, not yet helped)
AUDIT_PAGE = 100

NOT_ALLOWED = N_("The dashboard is for admins and active volunteers only.")
LINK_UNKNOWN = N_("This sign-in link is not valid. Send /dashboard in the chat for a new one.")
LINK_USED = N_("This sign-in link was used already. Send /dashboard in the chat for a new one.")
LINK_EXPIRED = N_("This sign-in link has expired (links work for 10 minutes). Send /dashboard in the chat "
                  "for a new one.")
NO_ADDRESS = N_("The dashboard has no web address yet: the operator sets PUBLIC_BASE_URL first.")
NOT_YOURS = N_("This request is not yours to see.")
CSRF_REFUSED = N_("This form is out of date. Go back, reload the page and try again.")
SIGNED_OUT = N_("You are signed out. To sign in again, send /dashboard in the chat.")
CHOOSE_VOLUNTEER = N_("Choose a volunteer first.")
DECIDED = N_("Done for {n} volunteer(s).")
ADMINS_ONLY = N_("Sorry, this is for admins only.")
INIT_DATA_BAD = N_("Telegram's sign-in could not be checked. Close the app and open it again.")


@dataclass(frozen=True)
class Viewer:
    """Who is signed in, as the database says right now."""

    user_id: int
    name: str
    admin: bool
    volunteer: bool  # an active volunteer
    wards: tuple[str, ...]  # a volunteer's wards (an admin sees every ward anyway)
    locale: str | None


async def viewer(svc: Services, user_id: int) -> Viewer:
    """The person behind a session or a link, with their roles now; Refused(NOT_ALLOWED) for anyone who is
    neither an admin nor an active volunteer, or is banned (a role lost in chat ends their dashboard too)."""
    user = await users.get(svc.db, user_id)
    admin = svc.is_admin(user) or user_id in svc.settings.admin_ids
    volunteer = await vdata.get(svc.db, user_id)
    active = volunteer is not None and volunteer.status == "active"
    if (user is not None and user.banned) or not (admin or active):
        raise Refused(NOT_ALLOWED)
    name = (volunteer.display_name if volunteer else None) or (user.first_name if user else None) or str(user_id)
    return Viewer(user_id, name, admin, active, volunteer.wards if active else (),
                  user.locale if user else None)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def issue_link(svc: Services, user_id: int, base_url: str | None = None) -> str:
    """A one-time sign-in link for this person, valid LINK_TTL: `{PUBLIC_BASE_URL}/dashboard/login/<token>`
    (or `base_url`, for the operator's command on a machine without one). Only its hash is stored.
    Refused(NOT_ALLOWED) for anyone the dashboard is not for; Refused(NO_ADDRESS) without an address."""
    await viewer(svc, user_id)
    base = (base_url or svc.settings.public_base_url).rstrip("/")
    if not base:
        raise Refused(NO_ADDRESS)
    token = secrets.token_urlsafe(32)
    now = svc.clock.now()
    await data.forget_logins(svc.db, iso(now - timedelta(days=1)))
    await data.add_login(svc.db, _hash(token), user_id, iso(now), iso(now + LINK_TTL))
    return f"{base}/dashboard/login/{token}"


def mini_app_url(svc: Services, user_id: int) -> str | None:
    """Where the dashboard opens as a Telegram Mini App, for a Telegram person when the address is https
    (Telegram opens Mini Apps only over https); None otherwise (Zalo has no Mini Apps of this kind)."""
    from bot.data.accounts import is_zalo

    base = svc.settings.public_base_url.rstrip("/")
    if not base.startswith("https://") or is_zalo(user_id):
        return None
    return f"{base}/dashboard/app"


async def sign_in(svc: Services, token: str) -> Viewer:
    """Use a sign-in link: its person, once. Refused with LINK_UNKNOWN, LINK_USED or LINK_EXPIRED, or
    NOT_ALLOWED when they lost their role since."""
    digest = _hash(token)
    user_id = await data.redeem_login(svc.db, digest, svc.now())
    if user_id is None:
        state = await data.login_state(svc.db, digest)
        if state is None:
            raise Refused(LINK_UNKNOWN)
        raise Refused(LINK_USED if state[0] else LINK_EXPIRED)
    return await viewer(svc, user_id)


async def open_session(svc: Services, who: Viewer) -> str:
    """A new server-side session for a signed-in person: the random id the cookie carries (only its hash is
    stored), valid SESSION_TTL unless they sign out or lose their role first."""
    token = secrets.token_urlsafe(32)
    now = svc.clock.now()
    await data.add_session(svc.db, _hash(token), who.user_id, iso(now), iso(now + SESSION_TTL))
    return token


async def session_viewer(svc: Services, token: str | None) -> Viewer:
    """The person of a live session, with their roles now. Refused(SIGNED_OUT) for a session that ended
    (signed out, expired, never made: a copied cookie of an ended session is worth nothing); NOT_ALLOWED when
    they lost their role, which also ends every session and unused link of theirs."""
    user_id = await data.session_user(svc.db, _hash(token), svc.now()) if token else None
    if user_id is None:
        raise Refused(SIGNED_OUT)
    try:
        return await viewer(svc, user_id)
    except Refused:
        await data.end_sessions_of(svc.db, user_id)
        raise


async def close_session(svc: Services, token: str | None) -> None:
    """Sign out: this session ends on the server, so the cookie (or any copy of it) no longer signs in."""
    if token:
        await data.end_session(svc.db, _hash(token))


def check_init_data(init_data: str, bot_token: str, now: datetime) -> int:
    """The Telegram user id in a Mini App's `initData`, once its signature is checked as FACTS.md says:
    the pairs but `hash`, sorted, joined by newlines, HMAC-SHA256 with the key HMAC_SHA256("WebAppData",
    bot token), compared in constant time; `auth_date` no older than INIT_DATA_TTL (nor in the future).
    Refused(INIT_DATA_BAD) for anything else."""
    try:
        pairs = dict(parse_qsl(init_data, keep_blank_values=True, strict_parsing=True))
    except ValueError:
        raise Refused(INIT_DATA_BAD) from None
    given = pairs.pop("hash", "")
    if not bot_token or not given:
        raise Refused(INIT_DATA_BAD)
    check = "\n".join(f"{k}={v}" for k, v in sorted(pairs.items()))
    secret = hmac.new(b"WebAppData", bot_token.encode(), hashlib.sha256).digest()
    expected = hmac.new(secret, check.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, given):
        raise Refused(INIT_DATA_BAD)
    try:
        age = now.timestamp() - int(pairs["auth_date"])
        user_id = int(json.loads(pairs["user"])["id"])
    except (KeyError, ValueError, TypeError):
        raise Refused(INIT_DATA_BAD) from None
    if not -60 <= age <= INIT_DATA_TTL.total_seconds():
        raise Refused(INIT_DATA_BAD)
    return user_id


async def sign_in_mini_app(svc: Services, init_data: str) -> Viewer:
    """A Telegram Mini App's sign-in: its checked user, if the dashboard is for them."""
    user_id = check_init_data(init_data, svc.settings.bot_token, svc.clock.now())
    return await viewer(svc, user_id)


# --- Today ------------------------------------------------------------------------------------------------
async def today(svc: Services, reader: Database, who: Viewer, *, only_open: bool = False,
                ward: str | None = None) -> list[data.QueueRow]:
    """The Today page: what `who` may see of the requests waiting or being helped, oldest first."""
    if ward is not None and ward not in svc.content.wards:
        ward = None
    if who.admin:
        return await data.queue(reader, wards=None, volunteer_id=None, only_open=only_open, ward=ward,
                                limit=QUEUE_LIMIT)
    return await data.queue(reader, wards=who.wards, volunteer_id=who.user_id, only_open=only_open, ward=ward,
                            limit=QUEUE_LIMIT)


def may_see(who: Viewer, r: rdata.RequestRow) -> bool:
    """An admin sees every request; a volunteer what they hold and the open ones of their wards (or of no
    known ward), as the chat offers them."""
    if who.admin:
        return True
    if r.status == "claimed" and r.volunteer_id == who.user_id:
        return True
    return r.status == "open" and (r.ward is None or r.ward in who.wards)


@dataclass(frozen=True)
class RequestView:
    request: rdata.RequestRow
    events: list[data.EventRow]
    volunteer_name: str | None
    holder: bool  # `who` holds it


async def request_view(svc: Services, reader: Database, who: Viewer, request_id: int) -> RequestView:
    """One request and its timeline; Refused(NOT_YOURS) if `who` may not see it (or it does not exist)."""
    r = await rdata.get(reader, request_id)
    if r is None or not may_see(who, r):
        raise Refused(NOT_YOURS)
    holder = await vdata.get(reader, r.volunteer_id) if r.volunteer_id else None
    return RequestView(r, await data.timeline(reader, request_id), holder.display_name if holder else None,
                       r.status == "claimed" and r.volunteer_id == who.user_id)


async def show_contact(svc: Services, who: Viewer, request_id: int) -> tuple[str | None, str | None, str | None]:
    """(first name, username, phone) of the request's resident, for an admin or the volunteer who holds it;
    written to the audit log each time."""
    r = await rdata.get(svc.db, request_id)
    if r is None or not (who.admin or (r.status == "claimed" and r.volunteer_id == who.user_id)):
        raise Refused(NOT_YOURS)
    await audit.record(svc.db, who.user_id, "contact_shown", r.code, svc.now())
    return await data.resident_contact(svc.db, request_id)


async def assign(svc: Services, who: Viewer, request_id: int, volunteer_id: int) -> help_requests.ClaimResult:
    """An admin gives an open request to an active volunteer (the chat's assign: the same claim rules)."""
    return await help_requests.assign(svc, request_id, who.user_id, volunteer_id)


async def release(svc: Services, who: Viewer, request_id: int) -> rdata.RequestRow:
    """Back to the queue: by an admin (the holder is told), or by the volunteer who holds it."""
    if who.admin:
        return await help_requests.release_by_admin(svc, request_id, who.user_id)
    return await help_requests.release(svc, request_id, who.user_id, "busy")


async def assignable(svc: Services, reader: Database, who: Viewer) -> list[tuple[int, str]]:
    if not who.admin:
        return []
    return await data.active_volunteers(reader)


# --- Volunteers -------------------------------------------------------------------------------------------
def _admin(who: Viewer) -> None:
    if not who.admin:
        raise Refused(ADMINS_ONLY)


async def volunteer_lists(svc: Services, reader: Database, who: Viewer) -> dict[str, list[data.VolunteerLine]]:
    """Admins only: {"pending": [...], "active": [...], "paused": [...]}."""
    _admin(who)
    rows = await data.volunteer_lines(reader, ("pending", "active", "paused"))
    return {status: [r for r in rows if r.status == status] for status in ("pending", "active", "paused")}


async def decide_many(svc: Services, who: Viewer, volunteer_ids: list[int], action: str) -> tuple[int, list[str]]:
    """Approve, reject, pause, resume or remove several volunteers at once, each by the chat's own decision
    (they are told; pausing or removing hands back what they hold). Returns (done, refusal msgids)."""
    _admin(who)
    done, refused = 0, []
    for volunteer_id in volunteer_ids:
        try:
            await volunteers.decide(svc, who.user_id, volunteer_id, action)
            done += 1
        except Refused as exc:
            refused.append(exc.message)
    return done, refused


# --- Exports ----------------------------------------------------------------------------------------------
EXPORT_HEADERS = {
    "code": N_("Request code"), "topic": N_("Topic"), "ward": N_("Ward"), "status": N_("Status"),
    "created_at": N_("Filed at"), "claimed_at": N_("Claimed at"), "resolved_at": N_("Resolved at"),
    "rating": N_("Rating"), "resident_id": N_("Resident number"), "first_name": N_("Name"),
    "username": N_("Username"), "phone": N_("Phone"),
}
TIME_COLUMNS = frozenset({"created_at", "claimed_at", "resolved_at"})


async def export(svc: Services, reader: Database, who: Viewer, t: Translator, *, contacts: bool,
                 fmt: str) -> tuple[str, bytes, str]:
    """Admins only: (file name, body, content type) of every request as CSV or XLSX, with headers in the
    admin's language and times in TIMEZONE; names and phones only with `contacts`, which is audited. Every
    cell goes through the one rule of bot.stats.safe_cell (no formula can run)."""
    _admin(who)
    if fmt not in ("csv", "xlsx"):
        raise Refused(N_("This button is out of date. Here is the menu."))
    columns, rows = await sdata.request_rows(reader, contacts)
    if contacts:
        await audit.record(svc.db, who.user_id, "export_contacts", f"requests:{len(rows)}:{fmt}", svc.now())
    else:
        await audit.record(svc.db, who.user_id, "export", f"requests:{len(rows)}:{fmt}", svc.now())
    header = [t.gettext(EXPORT_HEADERS[c]) for c in columns]
    local = [_local_row(svc, t, columns, row) for row in rows]
    day = svc.clock.now().astimezone(svc.settings.tz).strftime("%Y%m%d")
    name = f"requests-{'contacts-' if contacts else ''}{day}.{fmt}"
    if fmt == "csv":
        return name, write_csv(header, local), "text/csv; charset=utf-8"  # phones made text in _local_row
    return name, write_xlsx(header, local), XLSX


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
STATUS_WORDS = {"open": N_("Waiting"), "claimed": N_("Being helped"), "resolved": N_("Resolved"),
                "cancelled": N_("Cancelled")}


def _local_row(svc: Services, t: Translator, columns: list[str], row: tuple) -> tuple:
    out = []
    for column, value in zip(columns, row, strict=True):
        if column in TIME_COLUMNS and value:
            value = parse(value).astimezone(svc.settings.tz).strftime("%d/%m/%Y %H:%M")
        elif column == "ward" and value:
            ward = svc.content.wards.get(value)
            value = ward.name.get(t.locale) if ward else value
        elif column == "topic" and value in svc.content.categories:
            value = svc.content.categories[value].name.get(t.locale)
        elif column == "status" and value in STATUS_WORDS:
            value = t.gettext(STATUS_WORDS[value])
        elif column == "phone" and value:
            value = safe_cell(value, text=True)
        out.append(value)
    return tuple(out)


def write_xlsx(header: list[str], rows: list[tuple]) -> bytes:
    """One sheet, header row bold and frozen, every cell through safe_cell and stored as a value (openpyxl
    would take a string starting with "=" as a formula: safe_cell's apostrophe stops that)."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook(write_only=False)
    sheet = book.active
    sheet.title = "requests"
    sheet.append([safe_cell(h) for h in header])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    sheet.freeze_panes = "A2"
    for row in rows:
        sheet.append([_xlsx_cell(v) for v in row])
    for cell in sheet[1]:
        sheet.column_dimensions[cell.column_letter].width = max(12, len(str(cell.value)) + 2)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _xlsx_cell(value: object) -> object:
    """safe_cell's rule, then without the control characters a spreadsheet file cannot hold."""
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    value = safe_cell(value)
    return ILLEGAL_CHARACTERS_RE.sub("", value) if isinstance(value, str) else value


# --- Campaigns --------------------------------------------------------------------------------------------
CAMPAIGN_HISTORY = 20
NO_TEXT = N_("Write the message first.")
TOO_LONG = N_("The message is too long for one message. Make it shorter.")
BAD_AUDIENCE = campaigns.BAD_AUDIENCE
BAD_TIME = N_("Choose a date and time in the future.")
# A phone's photo is 2–4 MB; Telegram takes photos up to 10 MB. Kept in the database until the campaign is sent.
PHOTO_MAX_BYTES = 5 * 1024 * 1024
PHOTO_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}  # Pillow's format -> content type
NOT_A_PHOTO = N_("This file is not a photo. Choose a picture (JPEG, PNG or WebP).")
PHOTO_TOO_LARGE = N_("This photo is too large: at most 5 MB. Choose a smaller one.")
PHOTO_FORGOTTEN = timedelta(days=1)  # a photo uploaded for a preview that was never saved nor sent


@dataclass(frozen=True)
class CampaignPlan:
    """A composed campaign before it is saved: the chat's Draft, and its audience."""

    draft: campaigns.Draft
    audience: campaigns.Audience


def _parts(texts: dict[str, str], base: cdata.DraftRow | None) -> dict[str, dict]:
    """{language: {"text", "entities"}} of the form's texts in the dashboard's markup (bot.formatting); a
    language whose markup is what its draft opened with keeps the draft's own text and entities exactly."""
    parts: dict[str, dict] = {}
    for lang, markup in texts.items():
        if not markup.strip():
            continue
        if base is not None and lang in base.texts:
            opened = formatting.to_markup(base.texts[lang], base.entities.get(lang, []))
            if opened.strip() == markup.strip():
                parts[lang] = {"text": base.texts[lang], "entities": base.entities.get(lang, [])}
                continue
        text, entities = formatting.from_markup(markup.strip())
        parts[lang] = {"text": text, "entities": entities}
    return parts


def plan(svc: Services, *, texts: dict[str, str], audience: campaigns.Audience | str,
         base: cdata.DraftRow | None = None, image_id: int | None = None) -> CampaignPlan:
    """A campaign from the form: a text per language in the dashboard's markup (**bold**, __italic__,
    [words](https://link): kept as Telegram entities, as the chat's /broadcast keeps them; the default
    language's is required; another language's, when given, goes to the people who chose it), and its audience
    (wards × languages × role, the rule of bot.campaigns.Audience). From a draft (`base`, e.g. one composed in
    chat) the photo comes along; `image_id`, a photo uploaded on the dashboard (`keep_photo`), replaces it.
    Refused with what to fix."""
    photo = base.photo if base and image_id is None else None
    per_language = _parts(texts, base)
    main = per_language.get(svc.settings.default_locale)
    if main is None:
        raise Refused(NO_TEXT)
    for part in per_language.values():
        if not campaigns.fits(svc, part["text"], photo=photo is not None or image_id is not None):
            raise Refused(TOO_LONG)
    who = campaigns.Audience.parse(audience) if isinstance(audience, str) else audience
    if who is None:
        raise Refused(BAD_AUDIENCE)
    who = who.checked(svc)
    draft = campaigns.Draft(main["text"], main["entities"], photo,
                            texts=per_language if len(per_language) > 1 else None, image_id=image_id)
    draft.address(who)
    return CampaignPlan(draft, who)


async def compose(svc: Services, who: Viewer, *, texts: dict[str, str], audience: str,
                  draft_id: int | None, image_id: int | None = None) -> CampaignPlan:
    """Admins only: `plan`, from draft `draft_id` when it still exists, with uploaded photo `image_id` if any."""
    _admin(who)
    found = await cdata.drafts(svc.db, draft_id) if draft_id is not None else []
    if image_id is not None and await cdata.image(svc.db, image_id) is None:
        raise Refused(OUT_OF_DATE)
    return plan(svc, texts=texts, audience=audience, base=found[0] if found else None, image_id=image_id)


def photo_type(data: bytes) -> str:
    """The content type of an uploaded campaign photo (image/jpeg, image/png or image/webp), read from the bytes
    themselves (never from what the browser says). Refused(PHOTO_TOO_LARGE) over PHOTO_MAX_BYTES,
    Refused(NOT_A_PHOTO) for anything Pillow cannot read as one of those."""
    from PIL import Image

    if len(data) > PHOTO_MAX_BYTES:
        raise Refused(PHOTO_TOO_LARGE)
    try:
        with Image.open(io.BytesIO(data)) as image:
            kind = image.format
            image.verify()
    except Exception as exc:  # Pillow raises many kinds for a file that is not a picture (or a decompression bomb)
        raise Refused(NOT_A_PHOTO) from exc
    if kind not in PHOTO_TYPES:
        raise Refused(NOT_A_PHOTO)
    return PHOTO_TYPES[kind]


async def keep_photo(svc: Services, who: Viewer, data: bytes) -> int:
    """Admins only: check an uploaded photo (`photo_type`) and keep it in the database for a draft or campaign
    (it must outlive the upload and a restart); its id. Campaign photos are the ward office's own pictures, not
    personal data: erasure leaves them."""
    _admin(who)
    content_type = photo_type(data)
    return await cdata.keep_image(svc.db, data, content_type, svc.now(), iso(svc.clock.now() - PHOTO_FORGOTTEN))


async def photo(svc: Services, reader: Database, who: Viewer, image_id: int) -> tuple[bytes, str]:
    """Admins only: an uploaded campaign photo, (bytes, content type), for the preview. Refused(OUT_OF_DATE)
    when there is none."""
    _admin(who)
    found = await cdata.image(reader, image_id)
    if found is None:
        raise Refused(OUT_OF_DATE)
    return found.data, found.content_type


@dataclass(frozen=True)
class CampaignPreview:
    per_language: dict[str, int]
    per_channel: dict[str, int]
    total: int
    messages: dict[str, str]  # language -> HTML of the message as residents see it on Telegram (with the footer)
    photo: bool  # it goes with the photo of the draft composed in chat
    image_id: int | None = None  # it goes with this photo uploaded on the dashboard


async def preview(svc: Services, reader: Database, who: Viewer, p: CampaignPlan) -> CampaignPreview:
    """Admins only: the exact recipient count per language and per channel now, and each language's message
    with its formatting, as Telegram shows it (Zalo shows the same text without formatting)."""
    _admin(who)
    d = p.draft
    counted = await campaigns.reach(_reading(svc, reader), p.audience)
    messages = {lang: formatting.to_html(*campaigns.message_for(svc, d.text, d.entities, d.texts, lang))
                for lang in LOCALES if counted.per_language.get(lang) or lang == svc.settings.default_locale}
    return CampaignPreview(counted.per_language, counted.per_channel, counted.total, messages, d.photo is not None,
                           d.image_id)


async def send(svc: Services, who: Viewer, p: CampaignPlan, when: datetime | None) -> int:
    """Admins only: save the campaign and its recipients; now (it starts at once) or at `when` (local time,
    in the future). Returns its id."""
    _admin(who)
    if when is not None and when <= svc.clock.now():
        raise Refused(BAD_TIME)
    cid, _total = await campaigns.create(svc, who.user_id, p.draft, when)
    if when is None:
        svc.sender.start(svc, cid)  # the tick would start it within a second; the page shows it moving now
    return cid


def parse_local(svc: Services, text: str) -> datetime | None:
    """A date-time picker's value (YYYY-MM-DDTHH:MM, in TIMEZONE) → an aware datetime; None if unreadable."""
    try:
        return datetime.strptime(text.strip(), "%Y-%m-%dT%H:%M").replace(tzinfo=svc.settings.tz)
    except ValueError:
        return None


def progress_of(line: data.CampaignLine) -> dict:
    """What the live progress shows: status, counts and the share done (0–100)."""
    done = line.total - line.pending
    return {"status": line.status, "total": line.total, "sent": line.sent, "failed": line.failed,
            "blocked": line.blocked, "pending": line.pending,
            "percent": 100 if line.total == 0 else done * 100 // line.total}


async def campaign_list(svc: Services, reader: Database, who: Viewer) -> list[data.CampaignLine]:
    _admin(who)
    return await data.campaign_lines(reader, CAMPAIGN_HISTORY)


async def campaign(svc: Services, reader: Database, who: Viewer, cid: int) -> data.CampaignLine:
    """Admins only: one campaign and its counts now; Refused(OUT_OF_DATE) if there is no such campaign."""
    _admin(who)
    found = await data.campaign_lines(reader, 1, cid)
    if not found:
        raise Refused(OUT_OF_DATE)
    return found[0]


async def control(svc: Services, who: Viewer, cid: int, action: str) -> None:
    """Pause, resume or cancel, by the chat's own control (which checks the admin again)."""
    _admin(who)
    actor = await users.get(svc.db, who.user_id)
    if actor is None:  # an admin from ADMIN_IDS who never wrote to the bot: the same person, no row yet
        actor = users.UserRow(who.user_id, None, None, None, False, True, False, "")
    await campaigns.control(svc, actor, cid, action)


DRAFT_SAVED = N_("Draft saved. It stays here until you send or delete it.")


async def save_draft(svc: Services, who: Viewer, texts: dict[str, str], audience: str,
                     draft_id: int | None = None, image_id: int | None = None) -> int:
    """Admins only: keep what the form holds as a draft (in the database: a restart loses nothing); its id.
    A language whose text is unchanged keeps its formatting, and the draft keeps its photo (a chat's), or
    `image_id`, a photo uploaded on the dashboard, in its place."""
    _admin(who)
    if not any(t.strip() for t in texts.values()):
        raise Refused(NO_TEXT)
    found = await cdata.drafts(svc.db, draft_id) if draft_id is not None else []
    base = found[0] if found else None
    parts = _parts({lang: text for lang, text in texts.items() if lang in LOCALES}, base)
    return await cdata.save_draft(svc.db, draft_id, who.user_id, {lang: p["text"] for lang, p in parts.items()},
                                  {lang: p["entities"] for lang, p in parts.items() if p["entities"]},
                                  base.photo if base and image_id is None else None, audience, svc.now(), image_id)


def draft_markup(found: cdata.DraftRow) -> dict[str, str]:
    """A draft's texts as the compose form shows them: in the dashboard's markup, formatting included."""
    return {lang: formatting.to_markup(text, found.entities.get(lang, [])) for lang, text in found.texts.items()}


async def draft_list(svc: Services, reader: Database, who: Viewer) -> list[cdata.DraftRow]:
    """Admins only: every draft, the dashboard's and the chat's /broadcast ones, newest first."""
    _admin(who)
    return await cdata.drafts(reader)


async def open_draft(svc: Services, who: Viewer, draft_id: int) -> cdata.DraftRow:
    _admin(who)
    found = await cdata.drafts(svc.db, draft_id)
    if not found:
        raise Refused(OUT_OF_DATE)
    return found[0]


async def delete_draft(svc: Services, who: Viewer, draft_id: int) -> None:
    _admin(who)
    if not await cdata.delete_draft(svc.db, draft_id):
        raise Refused(OUT_OF_DATE)


# --- Numbers ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Numbers:
    since: date | None  # first local day of the range (None: from the start)
    until: date  # last local day of the range (included)
    period: stats.Period
    new_per_ward: list[tuple[str, int]]  # (ward, new residents in the range)
    progress: list[outcomes.Progress]
    trend: outcomes.Trend


def _reading(svc: Services, reader: Database) -> Services:
    """The same services reading through the dashboard's read-only connection (the figures are reads only)."""
    return replace(svc, db=reader)


def _range(svc: Services, since: date | None, until: date | None) -> tuple[date | None, date]:
    """The local days a Numbers range covers: `until` None or in the future is today; reversed is turned round."""
    today = svc.clock.now().astimezone(svc.settings.tz).date()
    until = min(until or today, today)
    if since is not None and since > until:
        since, until = until, since
    return since, until


async def numbers(svc: Services, reader: Database, who: Viewer, since: date | None,
                  until: date | None = None) -> Numbers:
    """Admins only: the /stats figures for the local days `since` to `until`, both included, in TIMEZONE
    (`since` None: from the start; `until` None: today; a reversed range is read the right way round), per
    ward, and the issue 16 progress against targets with its weekly trend."""
    _admin(who)
    ro = _reading(svc, reader)
    since, until = _range(svc, since, until)
    start = datetime.combine(since, datetime.min.time(), svc.settings.tz) if since else None
    end = datetime.combine(until + timedelta(days=1), datetime.min.time(), svc.settings.tz)
    period = await stats.period(ro, start, end)
    new_per_ward = await sdata.new_residents_per_ward(reader, iso(start) if start else None, iso(end))
    return Numbers(since, until, period, new_per_ward, await outcomes.progress_of(ro, outcomes.today(ro)),
                   await outcomes.trend(ro))


async def numbers_chart(svc: Services, reader: Database, who: Viewer, t: Translator, which: str,
                        since: date | None = None, until: date | None = None) -> bytes:
    """Admins only: a PNG, the /stats chart drawn for the local days `since` to `until` as `numbers` reads
    them ("requests": per day, per week for a long range, and per ward; `since` None: from the first
    request) or the /progress chart ("progress")."""
    _admin(who)
    ro = _reading(svc, reader)
    if which == "requests":
        since, until = _range(svc, since, until)
        if since is None:
            first = await sdata.first_request_at(reader)
            since = datetime.fromisoformat(first).astimezone(svc.settings.tz).date() if first else until
        return await stats.chart_png(ro, t, min(since, until), until)
    if which == "progress":
        return await outcomes.chart_png(ro, t, await outcomes.progress_of(ro, outcomes.today(ro)),
                                        await outcomes.trend(ro))
    raise Refused(OUT_OF_DATE)


# --- Audit log --------------------------------------------------------------------------------------------
AUDIT_KINDS = {
    "admin_added": N_("Made an admin"), "admin_removed": N_("Removed as admin"),
    "user_banned": N_("Banned"), "user_unbanned": N_("Ban lifted"),
    "export": N_("Exported requests"), "export_contacts": N_("Exported requests with contacts"),
    "contact_shown": N_("Showed a resident's contact"), "personal_data_erased": N_("Personal data erased"),
    "volunteer_approved": N_("Approved a volunteer"), "volunteer_rejected": N_("Rejected a volunteer"),
    "volunteer_paused": N_("Paused a volunteer"), "volunteer_resumed": N_("Resumed a volunteer"),
    "volunteer_removed": N_("Removed a volunteer"),
}


async def audit_page(svc: Services, reader: Database, who: Viewer, page: int = 0) -> list[data.AuditRow]:
    """Admins only: AUDIT_PAGE rows of the audit log, newest first."""
    _admin(who)
    return await data.audit_log(reader, AUDIT_PAGE, max(0, page) * AUDIT_PAGE)


async def run_link(settings, user_id: int) -> int:
    """`python -m bot dashboard-link USER_ID`: print a one-time sign-in link (the operator passes it on).
    Without PUBLIC_BASE_URL the link uses http://HOST:PORT. Returns the exit code; a refusal is one line."""
    import sys

    from bot.clock import Clock
    from bot.content import load
    from bot.i18n import I18n
    from bot.search import SearchIndex

    if not settings.database_url and not settings.database_path.exists():
        print(f"No database at {settings.database_path}", file=sys.stderr)
        return 1
    content = load(settings.content_dir)
    db = await Database.open(settings.database)
    try:
        i18n = I18n(settings.default_locale, settings.tz)
        # nothing is sent from here: the services get no outbox
        svc = Services(settings, db, content, SearchIndex([]), i18n, Clock(), outbox=None)  # type: ignore[arg-type]
        base = settings.public_base_url or f"http://{settings.host}:{settings.port}"
        try:
            url = await issue_link(svc, user_id, base)
        except Refused as exc:
            print(i18n.get("en").gettext(exc.message), file=sys.stderr)
            return 1
    finally:
        await db.close()
    print(url)
    return 0

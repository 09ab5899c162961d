"""The ward office's web dashboard (issue 13): server-rendered pages under /dashboard.

HTTP only: each route reads the session and the form, calls bot/dashboard.py (which checks the person's role
in the database on every request, as the chat does) and renders a Jinja2 template in the person's language
(the project's gettext catalogs). Nothing here decides who may see or do what.

    GET  /dashboard/login/{token}   a "Sign in" button (chat apps open links to preview them: a GET uses nothing)
    POST /dashboard/login/{token}   use the one-time link → a session
    GET  /dashboard/app, POST /dashboard/app   the Telegram Mini App: its initData → a session
    POST /dashboard/logout
    GET  /dashboard/                Today: requests waiting or being helped (?open=1, ?ward=ID)
    GET  /dashboard/requests/{id}   one request and its timeline; POST …/assign, …/release, …/contact
    GET  /dashboard/volunteers      POST: approve / reject / pause / resume / remove, several at once
    GET  /dashboard/exports         POST: CSV or XLSX (with contacts: audited)
    GET  /dashboard/audit           the audit log
    GET  /dashboard/numbers         the /stats figures for a date range in TIMEZONE (?from=YYYY-MM-DD|all
                                    &to=YYYY-MM-DD, both days included; ?since= as from), per ward,
                                    progress against targets; …/requests.png and …/progress.png: the charts
    GET  /dashboard/campaigns       compose (POST: save as a draft, preview, then send now or schedule), the drafts
                                    (?draft=ID opens one; POST …/drafts/{id}/delete) and the history
    GET  /dashboard/campaigns/photos/{id}  a photo uploaded with a campaign (compose: file input "photo")
    GET  /dashboard/campaigns/{id}  one campaign's live progress (…/events: Server-Sent Events); POST: pause,
                                    resume, cancel
    GET  /dashboard/lang/{vi|en}    the page language
    GET  /dashboard/static/…        CSS and the little JavaScript

Sessions are Starlette's signed cookies (itsdangerous, HttpOnly, SameSite=Lax, Path=/dashboard, Secure behind
https) carrying a random session id that the server checks on every request (bot.dashboard.session_viewer): a
session ends SESSION_TTL after sign-in, at logout, or when the person loses their role in chat, and a copy of
its cookie ends with it; every POST carries the session's CSRF token (compared in constant
time).
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import re
import secrets
from collections.abc import Awaitable
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.applications import Starlette
from starlette.datastructures import UploadFile
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from bot import campaigns, dashboard, help_requests, outcomes
from bot.clock import parse
from bot.config import LOCALES
from bot.i18n import N_
from bot.refusal import Refused

if TYPE_CHECKING:
    from bot.web.app import WebState

log = logging.getLogger(__name__)
HERE = Path(__file__).parent
COOKIE = "dashboard"
SSE_EVERY = 0.5  # seconds between two progress events of a campaign being sent
UPLOAD_MAX = 2 * dashboard.PHOTO_MAX_BYTES + 1024 * 1024  # a compose form's body: beyond it, not even read
HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",  # a sign-in link's token never leaves in a Referer
    "X-Content-Type-Options": "nosniff",
    # Telegram's web client shows a Mini App in a frame; nothing else may frame the pages
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
                               "frame-ancestors 'self' https://web.telegram.org",
}
EVENT_WORDS = {
    "filed": N_("Filed"), "offered": N_("Offered to volunteers"), "claimed": N_("Claimed"),
    "assigned": N_("Assigned by an admin"), "resolved": N_("Resolved"), "released": N_("Released by the volunteer"),
    "auto_released": N_("Back in the queue (automatic)"), "admin_released": N_("Put back in the queue by an admin"),
    "cancelled": N_("Cancelled"), "reopened": N_("Reopened by the resident"),
    "escalated_area": N_("Offered to the whole ward"), "escalated_admins": N_("Admins told it is still waiting"),
    "reminded": N_("Volunteer reminded"), "in_person": N_("Support points suggested"), "rated": N_("Rated"),
    "relayed": N_("Message passed on"), "corrected": N_("Details corrected"), "unreachable": N_("Could not be told"),
    "offer_withdrawn": N_("Offer withdrawn"), "closed_erased": N_("Closed: the resident erased their data"),
}


CAMPAIGN_STATUS = {"draft": N_("draft"), "scheduled": N_("scheduled"), "sending": N_("sending"),
                   "paused": N_("paused"), "cancelled": N_("cancelled"), "done": N_("finished")}


def _day(request: Request, name: str) -> date | None:
    """The date in query parameter `name` (YYYY-MM-DD), or None when absent or not a date."""
    try:
        return date.fromisoformat(request.query_params.get(name, ""))
    except ValueError:
        return None


def _plain(label: str) -> str:
    """A chat label without its leading emoji signpost: in a table the column says what it is, and a desk
    computer may have no emoji font."""
    return re.sub(r"^[^\w(]+", "", label)


class Page:
    """What every template gets: the translator, the person, the CSRF token, the path."""

    def __init__(self, request: Request, state: WebState, who: dashboard.Viewer | None) -> None:
        svc = state.svc
        lang = request.session.get("lang") or (who.locale if who else None) or svc.settings.default_locale
        self.t = svc.i18n.get(lang if lang in LOCALES else None)
        self.who = who
        self.csrf = request.session.get("csrf", "")
        self.path = request.url.path
        self.svc = svc

    def _(self, msgid: str) -> str:
        return self.t.gettext(msgid)

    def when(self, stamp: str | None) -> str:
        return self.t.datetime(parse(stamp)) if stamp else "—"

    def waited(self, stamp: str) -> str:
        return self.t.age(self.svc.clock.now() - parse(stamp))

    def ward(self, ward_id: str | None) -> str:
        return help_requests.ward_name(self.svc, self.t, ward_id)

    def topic(self, topic: str) -> str:
        return _plain(help_requests.topic_name(self.svc, self.t, topic))

    def mode(self, mode: str) -> str:
        return _plain(self._(help_requests.MODES[mode])) if mode in help_requests.MODES else mode

    def status(self, status: str) -> str:
        return self._(dashboard.STATUS_WORDS[status]) if status in dashboard.STATUS_WORDS else status

    def event(self, kind: str) -> str:
        return self._(EVENT_WORDS[kind]) if kind in EVENT_WORDS else kind

    def campaign_status(self, status: str) -> str:
        return self._(CAMPAIGN_STATUS[status]) if status in CAMPAIGN_STATUS else status

    def campaign_status_words(self) -> dict[str, str]:
        return {status: self._(msgid) for status, msgid in CAMPAIGN_STATUS.items()}

    def audit_kind(self, kind: str) -> str:
        return self._(dashboard.AUDIT_KINDS[kind]) if kind in dashboard.AUDIT_KINDS else kind

    def number(self, n: float) -> str:
        return self.t.number(n)

    def duration(self, seconds: float | None) -> str:
        return "—" if seconds is None else self.t.age(timedelta(seconds=seconds))

    def guide(self, guide_id: str) -> str:
        guide = self.svc.guide(guide_id)
        return guide.title.get(self.t.locale) if guide else guide_id

    def day(self, day) -> str:
        return day.strftime("%d/%m/%Y") if self.t.locale == "vi" else day.isoformat()


def dashboard_app(state: WebState, secret: str, *, https: bool) -> Starlette:
    """The dashboard as an ASGI app, mounted at /dashboard by bot/web/app.py."""
    env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(["html"]),
                      extensions=["jinja2.ext.i18n"], trim_blocks=True, lstrip_blocks=True)

    async def render(request: Request, who: dashboard.Viewer | None, template: str, status_code: int = 200,
                     **values) -> HTMLResponse:
        """The page in the person's language; rendered in a worker thread, so a long table does not hold up
        the bot's updates in this event loop."""
        page = Page(request, state, who)
        body = await asyncio.to_thread(env.get_template(template).render, page=page, _=page._, **values)
        return HTMLResponse(body, status_code=status_code, headers=HEADERS)

    async def refused(request: Request, who: dashboard.Viewer | None, msgid: str,
                      status_code: int = 403) -> HTMLResponse:
        return await render(request, who, "message.html", status_code, message=msgid)

    async def start_session(request: Request, who: dashboard.Viewer) -> None:
        """A new session on the server; the cookie carries its random id (and the CSRF token, the language)."""
        lang = request.session.get("lang")
        await dashboard.close_session(state.svc, request.session.get("sid"))  # signing in again ends the old one
        request.session.clear()
        request.session.update({"sid": await dashboard.open_session(state.svc, who),
                                "csrf": secrets.token_urlsafe(24)})
        if lang:
            request.session["lang"] = lang

    async def signed_in(request: Request) -> dashboard.Viewer | Response:
        """The person of a live session (checked on the server: a copy of a cookie whose session ended signs
        nobody in), re-checked now; else the page that says how to sign in."""
        sid = request.session.get("sid")
        try:
            return await dashboard.session_viewer(state.svc, sid if isinstance(sid, str) else None)
        except Refused as exc:
            lang = request.session.get("lang")
            request.session.clear()
            if lang:
                request.session["lang"] = lang
            if exc.message == dashboard.SIGNED_OUT:
                return await render(request, None, "signin.html", 401)
            return await refused(request, None, exc.message)

    async def form(request: Request) -> dict | None:
        """The posted form if its CSRF token is this session's, else None."""
        values = await request.form()
        given, expected = str(values.get("csrf", "")), request.session.get("csrf", "")
        if not expected or not hmac.compare_digest(given.encode(), str(expected).encode()):
            return None
        return values

    async def csrf_refused(request: Request) -> HTMLResponse:
        return await refused(request, None, dashboard.CSRF_REFUSED)

    # --- sign-in ------------------------------------------------------------------------------------------
    async def login_page(request: Request) -> Response:
        return await render(request, None, "login.html", token=request.path_params["token"])

    async def signing_in(request: Request, how: str, check: Awaitable[dashboard.Viewer]) -> Response:
        """The end of both ways in (a link, the Mini App): a session and Today, or why not."""
        try:
            who = await check
        except Refused as exc:
            return await refused(request, None, exc.message)
        await start_session(request, who)
        log.info("dashboard sign-in", extra={"user": who.user_id, "how": how})
        return RedirectResponse("/dashboard/", status_code=303)

    async def login(request: Request) -> Response:
        return await signing_in(request, "link", dashboard.sign_in(state.svc, request.path_params["token"]))

    async def mini_app_page(request: Request) -> Response:
        return await render(request, None, "mini_app.html")

    async def mini_app(request: Request) -> Response:
        values = await request.form()
        return await signing_in(request, "mini_app",
                                dashboard.sign_in_mini_app(state.svc, str(values.get("init_data", ""))))

    async def logout(request: Request) -> Response:
        if await form(request) is None:
            return await csrf_refused(request)
        await dashboard.close_session(state.svc, request.session.get("sid"))
        lang = request.session.get("lang")
        request.session.clear()
        if lang:
            request.session["lang"] = lang
        return await render(request, None, "message.html", message=dashboard.SIGNED_OUT)

    async def language(request: Request) -> Response:
        lang = request.path_params["lang"]
        if lang in LOCALES:
            request.session["lang"] = lang
        back = request.query_params.get("next", "/dashboard/")
        if not back.startswith("/dashboard/") or "//" in back[1:] or "\\" in back:
            back = "/dashboard/"  # never a redirect elsewhere
        return RedirectResponse(back, status_code=303)

    # --- Today ------------------------------------------------------------------------------------------------
    async def today(request: Request) -> Response:
        who = await signed_in(request)
        if isinstance(who, Response):
            return who
        only_open = request.query_params.get("open") == "1"
        ward = request.query_params.get("ward") or None
        reader = await state.dashboard_reader()
        rows = await dashboard.today(state.svc, reader, who, only_open=only_open, ward=ward)
        wards = sorted(state.svc.content.wards.values(), key=lambda w: w.name.get("vi"))
        return await render(request, who, "today.html", rows=rows, only_open=only_open, ward=ward, wards=wards,
                      limit=dashboard.QUEUE_LIMIT)

    async def request_page(request: Request, contact: tuple | None = None, note: str | None = None,
                           status_code: int = 200) -> Response:
        who = await signed_in(request)
        if isinstance(who, Response):
            return who
        try:
            view = await dashboard.request_view(state.svc, await state.dashboard_reader(), who,
                                                request.path_params["rid"])
        except Refused as exc:
            return await refused(request, who, exc.message, 404)
        candidates = await dashboard.assignable(state.svc, await state.dashboard_reader(), who)
        return await render(request, who, "request.html", status_code, view=view, r=view.request, contact=contact,
                      note=note, candidates=candidates,
                      description=help_requests.hide_phones(view.request.description or "", "•••"))

    async def request_action(request: Request) -> Response:
        who = await signed_in(request)
        if isinstance(who, Response):
            return who
        values = await form(request)
        if values is None:
            return await csrf_refused(request)
        rid, action = request.path_params["rid"], request.path_params["action"]
        try:
            if action == "contact":
                contact = await dashboard.show_contact(state.svc, who, rid)
                return await request_page(request, contact=contact)
            if action == "assign":
                try:
                    volunteer_id = int(str(values.get("volunteer", "")))
                except ValueError:
                    return await request_page(request, note=dashboard.CHOOSE_VOLUNTEER, status_code=400)
                result = await dashboard.assign(state.svc, who, rid, volunteer_id)
                if not result.won:
                    why = await help_requests.why_not_claimed(state.svc, result.request, volunteer_id)
                    return await request_page(request, note=why, status_code=409)
            elif action == "release":
                await dashboard.release(state.svc, who, rid)
            else:
                return Response(status_code=404)
        except Refused as exc:
            return await request_page(request, note=exc.message, status_code=403)
        return RedirectResponse(f"/dashboard/requests/{rid}", status_code=303)

    # --- Volunteers -------------------------------------------------------------------------------------------
    async def volunteers_page(request: Request, note: str | None = None, notes: list[str] | None = None,
                              status_code: int = 200) -> Response:
        who = await signed_in(request)
        if isinstance(who, Response):
            return who
        try:
            lists = await dashboard.volunteer_lists(state.svc, await state.dashboard_reader(), who)
        except Refused as exc:
            return await refused(request, who, exc.message)
        return await render(request, who, "volunteers.html", status_code, lists=lists, note=note, notes=notes or [])

    async def volunteers_action(request: Request) -> Response:
        who = await signed_in(request)
        if isinstance(who, Response):
            return who
        values = await form(request)
        if values is None:
            return await csrf_refused(request)
        ids = []
        for raw in values.getlist("volunteer"):
            try:
                ids.append(int(str(raw)))
            except ValueError:
                continue
        action = str(values.get("action", ""))
        try:
            done, refusals = await dashboard.decide_many(state.svc, who, ids, action)
        except Refused as exc:
            return await refused(request, who, exc.message)
        page = Page(request, state, who)
        note = page._(dashboard.DECIDED).format(n=page.number(done))
        return await volunteers_page(request, note=note, notes=sorted(set(refusals)))

    # --- Exports and the audit log ----------------------------------------------------------------------------
    async def exports_page(request: Request) -> Response:
        who = await signed_in(request)
        if isinstance(who, Response):
            return who
        if not who.admin:
            return await refused(request, who, dashboard.ADMINS_ONLY)
        return await render(request, who, "exports.html")

    async def exports_download(request: Request) -> Response:
        who = await signed_in(request)
        if isinstance(who, Response):
            return who
        values = await form(request)
        if values is None:
            return await csrf_refused(request)
        page = Page(request, state, who)
        try:
            name, body, content_type = await dashboard.export(
                state.svc, await state.dashboard_reader(), who, page.t, contacts=values.get("contacts") == "1",
                fmt=str(values.get("format", "")))
        except Refused as exc:
            return await refused(request, who, exc.message)
        return Response(body, media_type=content_type, headers={
            **HEADERS, "Content-Disposition": f"attachment; filename=\"{name}\"; filename*=UTF-8''{quote(name)}"})

    async def audit_page(request: Request) -> Response:
        who = await signed_in(request)
        if isinstance(who, Response):
            return who
        try:
            page_no = max(0, int(request.query_params.get("page", "0")))
        except ValueError:
            page_no = 0
        try:
            rows = await dashboard.audit_page(state.svc, await state.dashboard_reader(), who, page_no)
        except Refused as exc:
            return await refused(request, who, exc.message)
        return await render(request, who, "audit.html", rows=rows, page_no=page_no,
                            more=len(rows) == dashboard.AUDIT_PAGE)

    # --- Campaigns --------------------------------------------------------------------------------------------
    def campaign_form(values) -> tuple[dict[str, str], str]:
        """(text per language, the audience's key): from the compose form's role, wards and languages, or
        from the preview's hidden `audience`."""
        texts = {lang: str(values.get(f"text_{lang}", "")) for lang in LOCALES}
        if "role" not in values:
            return texts, str(values.get("audience", "all"))
        who = campaigns.Audience(tuple(sorted({str(w) for w in values.getlist("ward")})),
                                 tuple(sorted({str(v) for v in values.getlist("lang")})), str(values.get("role")))
        return texts, who.key()

    async def campaigns_page(request: Request, *, texts: dict[str, str] | None = None, audience: str = "all",
                             note: str | None = None, status_code: int = 200, draft_id: int | None = None,
                             notice: str | None = None, image_id: int | None = None) -> Response:
        who = await signed_in(request)
        if isinstance(who, Response):
            return who
        try:
            reader = await state.dashboard_reader()
            history = await dashboard.campaign_list(state.svc, reader, who)
            opened = request.query_params.get("draft", "")
            if texts is None and opened.isdigit():
                found = await dashboard.open_draft(state.svc, who, int(opened))
                texts, audience, draft_id = dashboard.draft_markup(found), found.audience, found.id
                image_id = found.image_id
            drafts = await dashboard.draft_list(state.svc, reader, who)
        except Refused as exc:
            return await refused(request, who, exc.message)
        draft_photo = image_id is None and any(d.photo for d in drafts if d.id == draft_id)
        wards = sorted(state.svc.content.wards.values(), key=lambda w: w.name.get("vi"))
        return await render(request, who, "campaigns.html", status_code, history=history, wards=wards,
                      texts=texts or {}, audience=audience,
                      aud=campaigns.Audience.parse(audience) or campaigns.Audience(), note=note, locales=LOCALES,
                      drafts=drafts, draft_id=draft_id, notice=notice, draft_photo=draft_photo, image_id=image_id,
                      photo_types=",".join(dashboard.PHOTO_TYPES.values()))

    async def campaigns_post(request: Request) -> Response:
        """Preview (the counts and the messages), then Send now or Schedule from the preview's form."""
        who = await signed_in(request)
        if isinstance(who, Response):
            return who
        if int(request.headers.get("content-length") or 0) > UPLOAD_MAX:  # not read: far over the photo limit
            return await campaigns_page(request, note=dashboard.PHOTO_TOO_LARGE, status_code=413)
        values = await form(request)
        if values is None:
            return await csrf_refused(request)
        texts, audience = campaign_form(values)
        step = str(values.get("step", "preview"))
        raw_draft, raw_image = str(values.get("draft_id", "")), str(values.get("image_id", ""))
        draft_id = int(raw_draft) if raw_draft.isdigit() else None
        image_id = int(raw_image) if raw_image.isdigit() and not values.get("no_photo") else None
        try:
            upload = values.get("photo")
            if isinstance(upload, UploadFile) and (upload.filename or upload.size):
                # one byte over the limit is enough to refuse; the rest stays in Starlette's spool file
                image_id = await dashboard.keep_photo(state.svc, who, await upload.read(dashboard.PHOTO_MAX_BYTES + 1))
        except Refused as exc:  # the texts and audience stay as typed; the previous photo too
            return await campaigns_page(request, texts=texts, audience=audience, note=exc.message, status_code=400,
                                        draft_id=draft_id, image_id=image_id)
        try:
            if step == "save":
                draft_id = await dashboard.save_draft(state.svc, who, texts, audience, draft_id, image_id)
                return await campaigns_page(request, texts=texts, audience=audience, draft_id=draft_id,
                                            notice=dashboard.DRAFT_SAVED, image_id=image_id)
            p = await dashboard.compose(state.svc, who, texts=texts, audience=audience, draft_id=draft_id,
                                        image_id=image_id)
            if step == "preview":
                shown = await dashboard.preview(state.svc, await state.dashboard_reader(), who, p)
                return await render(request, who, "campaign_preview.html", texts=texts, audience=audience,
                                    preview=shown, locales=LOCALES, default_when="", draft_id=draft_id)
            when = None
            if step == "schedule":
                when = dashboard.parse_local(state.svc, str(values.get("when", "")))
                if when is None:
                    raise Refused(dashboard.BAD_TIME)
            cid = await dashboard.send(state.svc, who, p, when)
            if draft_id is not None:  # sent: the draft has done its work
                with contextlib.suppress(Refused):
                    await dashboard.delete_draft(state.svc, who, draft_id)
        except Refused as exc:
            return await campaigns_page(request, texts=texts, audience=audience, note=exc.message, status_code=400,
                                        draft_id=draft_id, image_id=image_id)
        return RedirectResponse(f"/dashboard/campaigns/{cid}", status_code=303)

    async def campaign_photo(request: Request) -> Response:
        """An uploaded campaign photo, for the compose form and the preview (admins only)."""
        who = await signed_in(request)
        if isinstance(who, Response):
            return who
        try:
            data, content_type = await dashboard.photo(state.svc, await state.dashboard_reader(), who,
                                                       request.path_params["iid"])
        except Refused as exc:
            return await refused(request, who, exc.message, 404 if who.admin else 403)
        return Response(data, media_type=content_type, headers=HEADERS)

    async def draft_delete(request: Request) -> Response:
        who = await signed_in(request)
        if isinstance(who, Response):
            return who
        if await form(request) is None:
            return await csrf_refused(request)
        try:
            await dashboard.delete_draft(state.svc, who, request.path_params["did"])
        except Refused as exc:
            return await refused(request, who, exc.message, 404 if who.admin else 403)
        return RedirectResponse("/dashboard/campaigns", status_code=303)

    async def campaign_page(request: Request, note: str | None = None, status_code: int = 200) -> Response:
        who = await signed_in(request)
        if isinstance(who, Response):
            return who
        try:
            line = await dashboard.campaign(state.svc, await state.dashboard_reader(), who, request.path_params["cid"])
        except Refused as exc:
            return await refused(request, who, exc.message, 404 if who.admin else 403)
        return await render(request, who, "campaign.html", status_code, c=line, progress=dashboard.progress_of(line),
                      note=note)

    async def campaign_control(request: Request) -> Response:
        who = await signed_in(request)
        if isinstance(who, Response):
            return who
        values = await form(request)
        if values is None:
            return await csrf_refused(request)
        cid = request.path_params["cid"]
        try:
            await dashboard.control(state.svc, who, cid, str(values.get("action", "")))
        except Refused as exc:
            return await campaign_page(request, note=exc.message, status_code=409 if who.admin else 403)
        return RedirectResponse(f"/dashboard/campaigns/{cid}", status_code=303)

    async def campaign_events(request: Request) -> Response:
        """Server-Sent Events: the campaign's progress every SSE_EVERY seconds until it is done or cancelled."""
        who = await signed_in(request)
        if isinstance(who, Response):
            return who
        cid = request.path_params["cid"]
        reader = await state.dashboard_reader()
        try:
            await dashboard.campaign(state.svc, reader, who, cid)
        except Refused as exc:
            return await refused(request, who, exc.message, 404 if who.admin else 403)

        async def stream():
            while True:
                line = await dashboard.campaign(state.svc, reader, who, cid)
                yield f"data: {json.dumps(dashboard.progress_of(line))}\n\n"
                if line.status in ("done", "cancelled"):
                    return
                await asyncio.sleep(SSE_EVERY)

        return StreamingResponse(stream(), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})

    # --- Numbers ----------------------------------------------------------------------------------------------
    async def numbers_page(request: Request) -> Response:
        who = await signed_in(request)
        if isinstance(who, Response):
            return who
        local_today = state.svc.clock.now().astimezone(state.svc.settings.tz).date()
        raw = request.query_params.get("from", request.query_params.get("since", ""))
        since = (None if raw == "all" else _day(request, "from") or _day(request, "since")
                 or local_today - timedelta(days=6))
        try:
            shown = await dashboard.numbers(state.svc, await state.dashboard_reader(), who, since, _day(request, "to"))
        except Refused as exc:
            return await refused(request, who, exc.message)
        presets = [(n, (local_today - timedelta(days=n - 1)).isoformat()) for n in (7, 30, 90)]
        return await render(request, who, "numbers.html", n=shown, since=shown.since, presets=presets,
                      today=local_today.isoformat(), outcome_name=outcome_name)

    async def numbers_chart(request: Request) -> Response:
        who = await signed_in(request)
        if isinstance(who, Response):
            return who
        page = Page(request, state, who)
        since, until = _day(request, "from"), _day(request, "to")
        if since is None and request.query_params.get("from") != "all":
            since = (until or state.svc.clock.now().astimezone(state.svc.settings.tz).date()) - timedelta(days=6)
        try:
            png = await dashboard.numbers_chart(state.svc, await state.dashboard_reader(), who, page.t,
                                                request.path_params["which"], since, until)
        except Refused as exc:
            return await refused(request, who, exc.message)
        return Response(png, media_type="image/png", headers=HEADERS)

    def outcome_name(page: Page, outcome_id: str) -> str:
        return outcomes.outcome_name(state.svc, page.t, outcome_id)

    routes = [
        Route("/", today, methods=["GET"]),
        Route("/login/{token}", login_page, methods=["GET"]),
        Route("/login/{token}", login, methods=["POST"]),
        Route("/app", mini_app_page, methods=["GET"]),
        Route("/app", mini_app, methods=["POST"]),
        Route("/logout", logout, methods=["POST"]),
        Route("/lang/{lang}", language, methods=["GET"]),
        Route("/requests/{rid:int}", request_page, methods=["GET"]),
        Route("/requests/{rid:int}/{action}", request_action, methods=["POST"]),
        Route("/volunteers", volunteers_page, methods=["GET"]),
        Route("/volunteers", volunteers_action, methods=["POST"]),
        Route("/exports", exports_page, methods=["GET"]),
        Route("/exports", exports_download, methods=["POST"]),
        Route("/audit", audit_page, methods=["GET"]),
        Route("/numbers", numbers_page, methods=["GET"]),
        Route("/numbers/{which}.png", numbers_chart, methods=["GET"]),
        Route("/campaigns", campaigns_page, methods=["GET"]),
        Route("/campaigns", campaigns_post, methods=["POST"]),
        Route("/campaigns/drafts/{did:int}/delete", draft_delete, methods=["POST"]),
        Route("/campaigns/photos/{iid:int}", campaign_photo, methods=["GET"]),
        Route("/campaigns/{cid:int}", campaign_page, methods=["GET"]),
        Route("/campaigns/{cid:int}", campaign_control, methods=["POST"]),
        Route("/campaigns/{cid:int}/events", campaign_events, methods=["GET"]),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]
    middleware = [Middleware(SessionMiddleware, secret_key=secret, session_cookie=COOKIE,
                             max_age=int(dashboard.SESSION_TTL.total_seconds()), path="/dashboard",
                             same_site="lax", https_only=https)]
    return Starlette(routes=routes, middleware=middleware)


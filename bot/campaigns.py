"""Campaign broadcasts: compose, snapshot the recipients, send at Telegram's pace, survive restarts.

The recipient list is fixed when the admin confirms (one transaction). A tick starts one sender task
per campaign that is 'sending'; the task marks each recipient right after its message goes out, so a
crash re-sends at most the messages in flight (one per worker). A connection error (timeout, network,
5xx) first asks whether the API is up: if not, every send waits until it is back (an outage never marks a
resident failed); if it is, the error counts against that one chat. Channel-free: it sends through
`svc.outbox` and reads only channel-free errors.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import heapq
import logging
import math
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from aiolimiter import AsyncLimiter

from bot import actions as A
from bot.clock import iso
from bot.data import Member, accounts, users
from bot.data import campaigns as data
from bot.i18n import N_, Translator
from bot.messaging import Buttons, RetryLater, SendError, Transient, Unreachable
from bot.refusal import ADMINS_ONLY, OUT_OF_DATE, Refused

if TYPE_CHECKING:
    from bot.services import Services

log = logging.getLogger(__name__)

FOOTER = N_("To stop campaign messages, send /unsubscribe")
TEXT_LIMIT, CAPTION_LIMIT = 4096, 1024
PROGRESS_EVERY = 3.0  # seconds (by the app's clock) between two edits of the progress message
# Zalo cannot edit: each edit is a new message (bot/channels/zalo), so a Zalo admin's progress comes once a minute.
PROGRESS_EVERY_ZALO = 60.0
SCHEDULE_FORMAT = "%d/%m/%Y %H:%M"
OUTAGE_WAIT = 30.0  # longest wait (seconds) between two probes while the Bot API cannot be reached
SPACING_MARGIN = 1.05  # sends are spaced 5% wider than 1/rate: headroom for jitter and replies


CATCH_UP = 0.1  # seconds the pacer's starts may run ahead of its grid (see Pacer)
REFRESH = 0.1  # seconds: a sender re-reads how many senders are live when its reading is older (see Share)
CLAIM_SECONDS = 0.15  # a sender claims about this many seconds of its sends at a time (see Sender)
CLAIM_WAIT = 0.2  # seconds between two claims while the other senders hold every pending recipient

Now = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


class Pacer:
    """At most `rate` campaign sends in any 1-second window, as Telegram counts them, and otherwise as many.

    Two rules, both needed:
    - The cap: a sliding window over the sends themselves. A send holds its slot from when it starts until one
      second after it ended (its answer came back), so whatever the moment Telegram counted it, between its
      start and its end, the `rate`-th send after it starts more than a second later. No headroom factor, so
      the achieved rate is the rate less the sends' own duration: about 0.99 of it on loopback. An answer
      slower than `hold_max` seconds releases its slot as if it had ended then (a network stall must not stop
      the campaign; Telegram counted such a send long before).
    - The spacing: starts follow a grid of 1/rate (GCRA: a theoretical arrival time advancing one step per
      send), never a burst of the whole second at once; a start may run up to 0.1 s (at least one step)
      ahead of the grid, so a late wake-up of the event loop, or the process being preempted on a busy
      machine, is caught up instead of lost; nothing accrues while idle. (Measured with bench/pacer.py, at
      1,000/s with another process burning a core on a shared 2-core machine: 0.997 of the rate, no 429;
      with 30 ms of catch-up 0.96–0.98, and a grid 1% below the rate with 5 ms of catch-up 0.955.)
    Waiters are served in arrival order (asyncio.Lock is fair). `share` (several sender processes, see Share)
    is asked for this process's rate before each slot and may wait; the rate then changes in place
    (`set_rate`): the window keeps its sends, so a lower rate holds back until the window is under it.
    `now` and `sleep` (seconds; default the event loop's clock and asyncio.sleep) let tests drive time.
    """

    def __init__(self, rate: int, window: float = 1.0, hold_max: float = 0.5, *, share: Share | None = None,
                 now: Now | None = None, sleep: Sleep = asyncio.sleep) -> None:
        self.window = window
        self.hold_max = hold_max
        self.share = share
        self._now = now
        self._sleep = sleep
        self.set_rate(rate)
        self._tat = 0.0  # when the next send is due on the grid
        self._ended: list[float] = []  # heap: when each recent send's slot counts from
        self._in_flight = 0
        self._lock = asyncio.Lock()
        self._freed = asyncio.Event()

    def set_rate(self, rate: int) -> None:
        """Sends per second from now on; the window's history stays (see the class)."""
        self.rate = max(1, int(rate))
        self.step = 1.0 / self.rate
        self.ahead = max(self.step, CATCH_UP)

    def now(self) -> float:
        return self._now() if self._now is not None else asyncio.get_running_loop().time()

    @contextlib.asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Wait for a free slot, then hold it around one send."""
        async with self._lock:
            if self.share is not None:
                self.set_rate(await self.share.rate())
            self._tat = max(self._tat, self.now())
            early = self._tat - self.ahead - self.now()
            if early > 0:
                await self._sleep(early)
            self._tat += self.step
            while True:
                now = self.now()
                while self._ended and self._ended[0] <= now - self.window:
                    heapq.heappop(self._ended)
                if self._in_flight + len(self._ended) < self.rate:
                    break
                if self._ended:  # an end moves a slot from in flight to ended: only time frees one
                    await self._sleep(self._ended[0] + self.window - now)
                else:  # every slot is in flight: the first to end can be timed
                    self._freed.clear()
                    await self._freed.wait()
            self._in_flight += 1
            started = self.now()
        try:
            yield
        finally:
            self._in_flight -= 1
            heapq.heappush(self._ended, min(self.now(), started + self.hold_max))
            self._freed.set()


class Share:
    """One global rate (Telegram's limit is per bot) split among the sender processes that are live: each paces
    at `total // N`, N being how many are live (`count`, on PostgreSQL the senders' advisory locks).

    Rules (W = the 1-second window, P = REFRESH):
    - Read N before a slot when the last reading is older than P (inline: a process that was preempted
      never sends on an old N).
    - Use the largest N read in the last 2W + P, so when a sender leaves or dies the others speed up only
      after its last sends have left every window.
    - Hold back W + P after the first reading (a process joining), and again after a gap of more than W + P
      between two readings (stalled: it joins again); while held it keeps reading every P. (The Sender also
      reads every P in the background from the moment it joins, so a campaign starting later waits for nothing.)
    Why no 1-second window (a - W, a] gets more than `total`: let S be the senders with a send in it. A sender j
    of S was live during [s - W - P, s] for each of its sends s (it held back W + P after joining and is live
    until its last send). Take i in S and its last send t in the window; its reading before t was at ρ ≥ t - P.
    If ρ ≤ s, that reading falls in [s - W - P, s]. Else i's readings since it last joined (at g) are at most
    W + P apart, so [s - W - P, s] holds one if g ≤ s - W - P; if g is later, g itself lies in that interval
    (i sent at t ≥ g + W + P and s > t - W). Every one of those readings is in i's memory (s > t - W), so i used
    N ≥ |S| and its own window cap let it send at most total // |S| there: |S| senders, at most `total` in all.
    A killed sender's sends in flight are counted from their start, as the window cap counts them.
    """

    def __init__(self, total: int, count: Callable[[], Awaitable[int]], *, now: Now, sleep: Sleep,
                 window: float = 1.0, refresh: float = REFRESH) -> None:
        self.total = total
        self.count = count
        self.now = now
        self.sleep = sleep
        self.window = window
        self.refresh = refresh
        self.memory = 2 * window + refresh
        self.readings: collections.deque[tuple[float, int]] = collections.deque()  # (when, N), oldest first
        self.held_until = 0.0

    def largest(self) -> int:
        """The N this process paces by now: the largest read within memory."""
        return max((n for _, n in self.readings), default=1)

    async def read(self) -> None:
        """Read N now and remember it (a reading after a gap of more than W + P starts a hold)."""
        last = self.readings[-1][0] if self.readings else None
        n = await self.count()
        now = self.now()
        if last is None or now - last > self.window + self.refresh:
            self.held_until = now + self.window + self.refresh
        self.readings.append((now, n))
        while self.readings[0][0] < now - self.memory:
            self.readings.popleft()

    async def rate(self) -> int:
        """This process's rate now (sends per second), after any hold the rules call for."""
        while True:
            if not self.readings or self.now() - self.readings[-1][0] >= self.refresh:
                await self.read()
            now = self.now()
            if now >= self.held_until:
                return max(1, self.total // self.largest())
            await self.sleep(min(self.refresh, self.held_until - now))


def limiter(rate: int) -> AsyncLimiter:
    """aiolimiter's leaky bucket (Zalo's sends, bot/channels/zalo/client.py; campaigns use `Pacer`).

    It drains at rate/1.05 per second and holds a small burst (half the 5% headroom), so a late
    wake-up of the event loop loses no slot, no credit piles up while idle, and any 1-second window
    holds at most burst + rate/1.05 < rate sends: the bot's own replies keep their room under
    Telegram's ~30/s. At the default 25/s the burst is a single send.
    """
    drain = rate / SPACING_MARGIN
    burst = max(1, int((rate - drain) / 2))
    return AsyncLimiter(burst, burst / drain)


ROLES = ("all", "residents", "volunteers")
BAD_AUDIENCE = N_("Choose who receives it.")


@dataclass(frozen=True)
class Audience:
    """Who receives a campaign: subscribed people, narrowed by wards (any of them), languages (any of them) and a
    role ("all", "residents": not an active volunteer, "volunteers": active volunteers); an empty tuple does not
    narrow. The one rule the chat's /broadcast and the dashboard both use (SQL: bot.data.campaigns)."""

    wards: tuple[str, ...] = ()
    langs: tuple[str, ...] = ()
    role: str = "all"

    @classmethod
    def of(cls, kind: str, value: str | None) -> Audience:
        """From a campaign's stored (audience_kind, audience_value): the chat's four kinds, or "all" with the
        combined audience's key as its value (the table's CHECK allows only those four kinds)."""
        if kind == "ward" and value:
            return cls(wards=(value,))
        if kind == "locale" and value:
            return cls(langs=(value,))
        if kind == "volunteers":
            return cls(role="volunteers")
        if kind == "all" and value:
            return cls.parse(value) or cls()
        return cls()

    def stored(self) -> tuple[str, str | None]:
        """(audience_kind, audience_value) for the campaigns table: a single choice as the chat stores it, a
        combination as ("all", key)."""
        if self == Audience():
            return "all", None
        if self.role == "volunteers" and not self.wards and not self.langs:
            return "volunteers", None
        if self.role == "all" and len(self.wards) == 1 and not self.langs:
            return "ward", self.wards[0]
        if self.role == "all" and len(self.langs) == 1 and not self.wards:
            return "locale", self.langs[0]
        return "all", self.key()

    def key(self) -> str:
        """A short text for forms and drafts: "all", or e.g. "role=volunteers;ward=ben-thanh,tan-dinh;lang=vi"."""
        parts = [f"role={self.role}"] if self.role != "all" else []
        if self.wards:
            parts.append("ward=" + ",".join(self.wards))
        if self.langs:
            parts.append("lang=" + ",".join(self.langs))
        return ";".join(parts) or "all"

    @classmethod
    def parse(cls, text: str) -> Audience | None:
        """`key()`'s text back, or the dashboard's older single values ("all", "volunteers", "ward:ID",
        "locale:vi"); None when it cannot be read."""
        text = (text or "").strip()
        kind, sep, value = text.partition(":")
        if text in ("all", "volunteers") or (sep and kind in ("ward", "locale") and value):
            return cls.of(kind, value or None)
        fields: dict[str, str] = {}
        for part in text.split(";"):
            name, eq, raw = part.partition("=")
            if not eq or name not in ("role", "ward", "lang") or name in fields:
                return None
            fields[name] = raw
        return cls(tuple(sorted(w for w in fields.get("ward", "").split(",") if w)),
                   tuple(sorted(lang for lang in fields.get("lang", "").split(",") if lang)),
                   fields.get("role", "all"))

    def checked(self, svc: Services) -> Audience:
        """Itself, with its wards and languages in a fixed order, once each is one the bot knows;
        Refused(BAD_AUDIENCE) otherwise."""
        from bot.config import LOCALES

        if (self.role not in ROLES or any(w not in svc.content.wards for w in self.wards)
                or any(lang not in LOCALES for lang in self.langs)):
            raise Refused(BAD_AUDIENCE)
        return Audience(tuple(sorted(set(self.wards))), tuple(sorted(set(self.langs))), self.role)

    def where(self) -> data.Where:
        return self.wards, self.langs, self.role


@dataclass
class Draft:
    """What the admin composed; kept in the database (campaign_drafts) until sent or cancelled."""

    text: str
    entities: list[dict] = field(default_factory=list)
    photo: str | None = None
    audience_kind: str = "all"
    audience_value: str | None = None
    texts: dict[str, dict] | None = None  # per language {"text", "entities"}; None = one text for all
    image_id: int | None = None  # a photo uploaded on the dashboard (campaign_images), instead of `photo`

    @property
    def who(self) -> Audience:
        return Audience.of(self.audience_kind, self.audience_value)

    def address(self, who: Audience) -> None:
        self.audience_kind, self.audience_value = who.stored()


def draft_parts(svc: Services, draft: Draft) -> tuple[dict[str, str], dict[str, list[dict]]]:
    """(text per language, entities per language) of a Draft, as the drafts table keeps them: one text for all
    is the default language's."""
    default = svc.settings.default_locale
    texts, entities = {default: draft.text}, {default: list(draft.entities)}
    for lang, part in (draft.texts or {}).items():
        texts[lang], entities[lang] = part["text"], list(part["entities"])
    return texts, entities


async def keep_draft(svc: Services, admin_id: int, draft: Draft) -> int:
    """Keep the admin's /broadcast draft in the database as it stands (it survives a restart and shows on the
    dashboard's Campaigns page); its id. Refused(ADMINS_ONLY) for anyone else."""
    if not svc.is_admin(await users.get(svc.db, admin_id)):
        raise Refused(ADMINS_ONLY)
    texts, entities = draft_parts(svc, draft)
    return await data.keep_chat_draft(svc.db, admin_id, texts, entities, draft.photo, draft.who.key(), svc.now())


async def set_aside_draft(svc: Services, admin_id: int) -> bool:
    """A new /broadcast: the admin's earlier unsent chat draft stays as a dashboard draft; whether there was
    one (the chat tells them where it is)."""
    return await data.set_aside_chat_draft(svc.db, admin_id)


async def drop_draft(svc: Services, admin_id: int) -> None:
    """The /broadcast draft was sent, scheduled or cancelled in chat."""
    await data.drop_chat_draft(svc.db, admin_id)


def footer(t: Translator) -> str:
    return t.gettext(FOOTER)


def message_for(svc: Services, text: str, entities: list[dict], texts: dict[str, dict] | None,
                locale: str) -> tuple[str, list[dict]]:
    """The message exactly as a resident sees it: their text, then the footer (entities unchanged)."""
    if texts and locale in texts:
        text, entities = texts[locale]["text"], texts[locale]["entities"]
    return f"{text}\n\n{footer(svc.i18n.get(locale))}", entities


def fits(svc: Services, text: str, photo: bool) -> bool:
    """Whether the text plus the longest footer fits one message (or one caption)."""
    longest = max(len(footer(svc.i18n.get(lang))) for lang in ("vi", "en"))
    return len(text) + 2 + longest <= (CAPTION_LIMIT if photo else TEXT_LIMIT)


@dataclass(frozen=True)
class Reach:
    """An audience counted now: per language and per channel ("telegram", "zalo"), and in all."""

    per_language: dict[str, int]
    per_channel: dict[str, int]
    total: int


async def reach(svc: Services, who: Audience) -> Reach:
    """The exact recipients `who` has now (the same rule `create` snapshots), counted per language and channel.
    Reads through `svc.db` (the dashboard passes its read-only connection)."""
    counts = await data.audience_size(svc.db, who.where(), svc.settings.default_locale)
    per_language: dict[str, int] = {}
    per_channel: dict[str, int] = {}
    for (lang, channel), n in sorted(counts.items()):
        per_language[lang] = per_language.get(lang, 0) + n
        per_channel[channel] = per_channel.get(channel, 0) + n
    return Reach(per_language, per_channel, sum(counts.values()))


async def audience(svc: Services, kind: str | Audience, value: str | None = None) -> dict[str, int]:
    """Recipients per language now, of an Audience or of the chat's (kind, value)."""
    who = kind if isinstance(kind, Audience) else Audience.of(kind, value)
    return (await reach(svc, who)).per_language


async def wards(svc: Services) -> list[tuple[str, int]]:
    return await data.wards(svc.db)


def parse_schedule(svc: Services, text: str) -> datetime | None:
    """DD/MM/YYYY HH:MM in the bot's time zone → an aware datetime; None if it does not parse."""
    try:
        local = datetime.strptime(text.strip(), SCHEDULE_FORMAT)
    except ValueError:
        return None
    return local.replace(tzinfo=svc.settings.tz)


async def create(svc: Services, admin_id: int, draft: Draft, when: datetime | None,
                 progress: tuple[int, int] | None = None) -> tuple[int, int]:
    """Save the campaign and its recipients at once; it is sent by the tick (now or when due)."""
    cid, total = await data.create(
        svc.db, admin_id=admin_id, text=draft.text, entities=draft.entities, photo=draft.photo,
        audience_kind=draft.audience_kind, audience_value=draft.audience_value, who=draft.who.where(),
        texts=draft.texts,
        status="scheduled" if when else "sending", scheduled_at=iso(when) if when else None, now=svc.now(),
        default_locale=svc.settings.default_locale, image_id=draft.image_id)
    if progress:
        await data.set_progress_message(svc.db, cid, *progress)
    log.info("campaign saved", extra={"campaign": cid, "recipients": total, "admin": admin_id})
    return cid, total


async def set_progress_message(svc: Services, cid: int, chat_id: int, message_id: int) -> None:
    await data.set_progress_message(svc.db, cid, chat_id, message_id)


# --- control by admins ------------------------------------------------------------------------
CONTROL = {  # action: (new status, allowed from)
    "pause": ("paused", ("sending",)),
    "resume": ("sending", ("paused",)),
    "cancel": ("cancelled", ("draft", "scheduled", "sending", "paused")),
}


async def control(svc: Services, actor: users.UserRow | None, cid: int, action: str) -> None:
    """Pause / resume / cancel a campaign. Raises Refused for a non-admin, an unknown campaign or action,
    or a campaign already in another state."""
    if not svc.is_admin(actor):
        raise Refused(ADMINS_ONLY)
    if action not in CONTROL or await data.get(svc.db, cid) is None:
        raise Refused(OUT_OF_DATE)
    new, allowed = CONTROL[action]
    if not await data.set_status(svc.db, cid, new, allowed):
        raise Refused(N_("This campaign has already moved on."))
    if new == "cancelled":
        await data.mark_cancelled(svc.db, cid, svc.now())
    if new == "sending":
        svc.sender.start(svc, cid)
    else:
        svc.sender.halt(cid)
    log.info("campaign %s", action, extra={"campaign": cid, "admin": actor.id if actor else None})


async def resend_failed(svc: Services, actor: users.UserRow | None, cid: int) -> int:
    """Send a finished campaign again to the recipients who failed (never to those who blocked the bot or
    unsubscribed); how many. Raises Refused for a non-admin, an unknown or unfinished campaign, or when
    nobody failed."""
    if not svc.is_admin(actor):
        raise Refused(ADMINS_ONLY)
    if await data.get(svc.db, cid) is None:
        raise Refused(OUT_OF_DATE)
    n = await data.resend_failed(svc.db, cid)
    if n is None:
        raise Refused(N_("This campaign has already moved on."))
    if n == 0:
        raise Refused(N_("Nobody failed: there is nothing to resend."))
    svc.sender.start(svc, cid)
    log.info("campaign resend", extra={"campaign": cid, "recipients": n, "admin": actor.id if actor else None})
    return n


# --- progress ---------------------------------------------------------------------------------
def _bar(done: int, total: int, width: int = 10) -> str:
    filled = width if total == 0 else done * width // total
    return "▓" * filled + "░" * (width - filled)


async def progress_view(svc: Services, cid: int, t: Translator) -> tuple[str, Buttons]:
    """The admin's live view of one campaign: bar, counts, time left, and the buttons its state allows."""
    c = await data.get(svc.db, cid)
    assert c is not None
    n = await data.counts(svc.db, cid)
    _ = t.gettext
    done = c.total - n["pending"]
    state = {"draft": _("draft"), "scheduled": _("scheduled"), "sending": _("sending"), "paused": _("paused"),
             "cancelled": _("cancelled"), "done": _("finished")}[c.status]
    percent = 100 if c.total == 0 else done * 100 // c.total
    lines = [_("📣 Campaign #{id}: {state}").format(id=c.id, state=state),
             f"{_bar(done, c.total)} {percent}%",
             _("Sent: {sent} of {total}").format(sent=t.number(n["sent"]), total=t.number(c.total)),
             _("Failed: {failed} · Blocked the bot: {blocked}").format(failed=t.number(n["failed"]),
                                                                      blocked=t.number(n["blocked"]))]
    if n["skipped"]:
        lines.append(_("Unsubscribed before sending: {n}").format(n=t.number(n["skipped"])))
    if c.status == "scheduled" and c.scheduled_at:
        lines.append(_("Starts at {when}").format(when=t.datetime(datetime.fromisoformat(c.scheduled_at))))
    if c.status in ("sending", "paused") and n["pending"]:
        seconds = math.ceil(n["pending"] / max(1, svc.settings.broadcast_rate))
        lines.append(_("About {n} s left").format(n=t.number(seconds)) if seconds < 60
                     else _("About {n} min left").format(n=t.number(math.ceil(seconds / 60))))
    buttons: Buttons = []
    if c.status == "sending":
        buttons = [[(_("⏸ Pause"), A.CampaignControl("pause", cid).pack()),
                    (_("✖ Cancel"), A.CampaignControl("cancel", cid).pack())]]
    elif c.status == "paused":
        buttons = [[(_("▶ Resume"), A.CampaignControl("resume", cid).pack()),
                    (_("✖ Cancel"), A.CampaignControl("cancel", cid).pack())]]
    elif c.status == "scheduled":
        buttons = [[(_("✖ Cancel"), A.CampaignControl("cancel", cid).pack())]]
    elif c.status == "done" and n["failed"]:
        buttons = [[(_("🔁 Resend to failed"), A.CampaignControl("resend", cid).pack())]]
    return "\n".join(lines), buttons


# --- the sender -------------------------------------------------------------------------------
class _Feed:
    """The recipients one campaign's workers share: claimed a batch at a time, the next batch while the last
    half of the current one is still being sent (so the pacer never waits for the database)."""

    def __init__(self, claim: Callable[[], Awaitable[list[data.Pending]]]) -> None:
        self.claim = claim
        self.queue: collections.deque[data.Pending] = collections.deque()
        self.low = 0  # claim again when this few are left
        self.claimed = 0
        self.exhausted = False  # a claim found nothing: this round is over
        self._claiming: asyncio.Event | None = None  # set when the claim under way ends

    async def next(self) -> data.Pending | None:
        while True:
            if self.queue and (len(self.queue) > self.low or self.exhausted or self._claiming is not None):
                return self.queue.popleft()
            if self.exhausted:
                return None
            if self._claiming is not None:  # nothing queued, another worker is claiming: wait for it
                await self._claiming.wait()
                continue
            self._claiming = asyncio.Event()
            try:
                more = await self.claim()
            finally:
                self._claiming.set()
                self._claiming = None
            self.claimed += len(more)
            self.exhausted = not more
            self.low = len(more) // 2
            self.queue.extend(more)



class Sender:
    """This process's campaign sends: one task per campaign being sent; one pacer for all of them (the rate is
    per bot, not per campaign). Several processes may send the same campaign (workers sharing PostgreSQL):

    - Each recipient is claimed by one sender before it is sent (`data.claim`: small batches of about
      CLAIM_SECONDS of this process's sends, FOR UPDATE SKIP LOCKED) and marked right after its send. A claim
      is free again when its sender is no longer live (its advisory lock is gone: killed, or stopped), so the
      other senders take over a dead one's recipients at once; a sender that stops gives its unsent claims back.
    - Crash bound: a sender killed mid-send had at most `workers(rate)` messages in flight (sent, not yet
      marked); those recipients are claimed again and get the message a second time. Nobody else does.
    - One global rate: each process paces at BROADCAST_RATE // N, N the live senders (Share proves the bound).
      On SQLite (one process) N is 1 and nothing waits.
    `sleep` is used for 429 waits and back-off; `now` is the pacer's monotonic clock (seconds); when `now` is
    injected, the pacer (and the Share's holds) sleep with `sleep` too, else with asyncio.sleep.
    """

    def __init__(self, sleep: Sleep = asyncio.sleep, backoff: float = 1.0, max_attempts: int = 3,
                 now: Now | None = None):
        self.sleep = sleep  # 429 waits and back-off; tests inject a no-op
        self.now = now
        self.backoff = backoff
        self.max_attempts = max_attempts
        self.tasks: dict[int, asyncio.Task] = {}
        self._halted: set[int] = set()
        self._stopping = False
        self._pacer: Pacer | None = None
        self._member: Member | None = None  # this process among the campaign senders (data.join)
        self._share: Share | None = None  # with other senders possible (PostgreSQL): this process's part of the rate
        self._reader: asyncio.Task | None = None  # reads how many senders are live, every REFRESH
        self._joining = asyncio.Lock()
        self._open: asyncio.Event | None = None  # cleared while Telegram asks everyone to wait
        self._last_edit: dict[int, datetime] = {}
        self._progress_every: dict[int, float] = {}  # seconds between progress edits, by the admin's channel
        self._outages = 0  # failed probes of the API so far (see _through_outage)
        self._uploads: dict[int, asyncio.Lock] = {}  # campaign image id -> held while its bytes go to Telegram
        # Told each outcome as (channel, "sent" | "failed" | "blocked" | "retry_after"): the metrics (bot/web).
        self.observe: Callable[[str, str], None] = lambda channel, outcome: None

    def _clock(self) -> float:
        return self.now() if self.now is not None else asyncio.get_running_loop().time()

    def pacer(self, rate: int) -> Pacer:
        """The one pacer of every campaign this process sends. `rate` is the bot's (BROADCAST_RATE): alone it
        is the pacer's; with other senders live, the pacer paces at this process's share of it."""
        if self._pacer is None:
            self._pacer = Pacer(rate, now=self._clock, sleep=self._pace_sleep())
        self._pacer.share = self._share
        if self._share is not None:
            self._share.total = rate
        else:
            self._pacer.set_rate(rate)
        return self._pacer

    def _pace_sleep(self) -> Sleep:
        return self.sleep if self.now is not None else asyncio.sleep  # the pacer's clock is real unless injected

    async def _count(self) -> int:
        member = self._member
        if member is None:
            raise RuntimeError("campaign sender left")
        try:
            return await member.count()
        except Exception:  # its lock connection is gone: the others may count it dead and take its claims
            await self._leave()
            raise

    async def member(self, svc: Services) -> Member:
        """This process as a campaign sender, joined on first use (PostgreSQL: a lock connection of its own, and
        from then on a reading of how many senders are live every REFRESH / 2 seconds). A worker calls it once at
        start, so that its first campaign does not wait out the joining hold (Share)."""
        async with self._joining:
            if self._member is None:
                member = await data.join(svc.db)
                self._member = member
                if not member.alone:
                    share = Share(svc.settings.broadcast_rate, self._count, now=self._clock, sleep=self._pace_sleep())
                    await share.read()  # the joining hold starts now
                    self._share = share
                    self._reader = asyncio.get_running_loop().create_task(self._keep_reading(share),
                                                                          name="campaign-senders")
            return self._member

    async def _keep_reading(self, share: Share) -> None:
        while self._share is share:
            # twice per REFRESH, so that the pacer finds a fresh reading and never waits for one (a reading taken in
            # its turn would stop every send for a round trip to the database); real time, as only the readings'
            # timestamps follow the pacer's clock
            await asyncio.sleep(REFRESH / 2)
            try:
                await share.read()
            except Exception:  # the lock connection is gone (_count has left): the next campaign run joins again
                return

    async def _leave(self) -> None:
        member, self._member = self._member, None
        self._share = None
        if self._pacer is not None:
            self._pacer.share = None  # a new member starts a new Share (and holds back as one joining)
        reader, self._reader = self._reader, None
        if reader is not None and reader is not asyncio.current_task():
            reader.cancel()
        if member is not None:
            with contextlib.suppress(Exception):
                await member.close()

    def workers(self, rate: int) -> int:
        """Sends in flight at once: enough to reach the rate over a slow network, and the crash bound."""
        return max(1, min(rate, 25))

    def start(self, svc: Services, cid: int) -> None:
        if self._stopping or (cid in self.tasks and not self.tasks[cid].done()):
            return
        self._halted.discard(cid)
        task = asyncio.get_running_loop().create_task(self._run(svc, cid), name=f"campaign-{cid}")
        self.tasks[cid] = task
        task.add_done_callback(lambda t, cid=cid: self.tasks.pop(cid, None) if self.tasks.get(cid) is t else None)

    def halt(self, cid: int) -> None:
        """Pause or cancel: workers stop before their next send (the loop also rereads the status)."""
        self._halted.add(cid)

    async def wait_idle(self, within: float | None = None) -> bool:
        """Until no campaign is being sent (True), or `within` seconds pass (False)."""
        loop = asyncio.get_running_loop()
        deadline = None if within is None else loop.time() + within
        while self.tasks:
            left = None if deadline is None else deadline - loop.time()
            if left is not None and left <= 0:
                return False
            await asyncio.wait(list(self.tasks.values()), timeout=left)
        return True

    async def stop(self, grace: float = 5.0) -> None:
        """Shut down gracefully: every send in flight is finished and recorded, unsent claims are given back,
        then the tasks end and this process leaves the senders."""
        self._stopping = True
        if not await self.wait_idle(grace):
            for task in list(self.tasks.values()):
                task.cancel()
            await asyncio.gather(*self.tasks.values(), return_exceptions=True)
        await self._leave()

    def _go(self, cid: int) -> bool:
        return not self._stopping and cid not in self._halted

    def _batch(self, svc: Services) -> int:
        """Recipients claimed at a time: about CLAIM_SECONDS of this process's sends, at least two workers' worth."""
        rate = self._pacer.rate if self._pacer is not None else svc.settings.broadcast_rate
        return max(2 * self.workers(svc.settings.broadcast_rate), math.ceil(rate * CLAIM_SECONDS))

    async def _run(self, svc: Services, cid: int) -> None:
        me: Member | None = None
        try:
            me = await self.member(svc)
            await data.release(svc.db, cid, me.id)  # this process's claims of an earlier run: its own again
            await data.mark_started(svc.db, cid, svc.now())
            await self._show_progress(svc, cid, force=True)
            while self._go(cid):
                c = await data.get(svc.db, cid)
                if c is None or c.status != "sending":
                    break
                feed = _Feed(lambda: data.claim(svc.db, cid, me.id, self._batch(svc)))
                n = self.workers(svc.settings.broadcast_rate)
                await asyncio.gather(*(self._worker(svc, c, feed) for _ in range(n)))
                if not self._go(cid):
                    break
                if await data.finish(svc.db, cid, svc.now()):
                    await self._final_report(svc, cid)
                    break
                if not feed.claimed:  # the other senders hold every pending recipient: look again soon
                    await self.sleep(CLAIM_WAIT)
            if not self._stopping:
                await self._show_progress(svc, cid, force=True)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("campaign sender failed", extra={"campaign": cid})  # the next tick restarts it
        finally:
            if me is not None and self._member is me:
                with contextlib.suppress(Exception):  # unsent claims back to the others (a dead one's are free)
                    await asyncio.shield(data.release(svc.db, cid, me.id))

    async def _worker(self, svc: Services, c: data.CampaignRow, feed: _Feed) -> None:
        while self._go(c.id):
            recipient = await feed.next()
            if recipient is None:
                return
            await self._deliver(svc, c, recipient)
            await self._show_progress(svc, c.id)

    async def _deliver(self, svc: Services, c: data.CampaignRow, r: data.Pending) -> None:
        db = svc.db
        if not r.still_subscribed:
            await data.mark(db, c.id, r.user_id, "skipped", svc.now(), "unsubscribed")
            return
        text, entities = message_for(svc, c.text, c.entities, c.texts, r.locale)
        attempts = r.attempts
        channel = getattr(svc.outbox, "channel", "telegram")  # for the metrics
        if self._open is None:
            self._open = asyncio.Event()
            self._open.set()
        while True:
            await self._open.wait()
            epoch = self._outages  # failed probes before this send: more afterwards means an outage
            try:
                async with self.pacer(svc.settings.broadcast_rate).slot():
                    epoch = self._outages  # as the send starts
                    await self._send(svc, c, r.user_id, text, entities or None)
            except RetryLater as exc:  # Telegram says slow down: everyone waits, nothing is dropped
                self.observe(channel, "retry_after")
                await self._hold(exc.seconds)
                continue
            except Unreachable as exc:
                await data.mark_blocked(db, c.id, r.user_id, svc.now(), str(exc))
                self.observe(channel, "blocked")
                return
            except Transient as exc:  # a timeout, a network error or a 5xx: this chat, or the whole API?
                if not await self._through_outage(svc, c.id):
                    return  # paused, cancelled or shutting down: the recipient stays pending
                if self._outages != epoch:
                    continue  # the API was down: everyone waited, nobody is marked failed
                attempts += 1  # the API answers others: the fault is this chat's
                if attempts >= self.max_attempts:
                    await data.mark(db, c.id, r.user_id, "failed", svc.now(), str(exc)[:200])
                    self.observe(channel, "failed")
                    return
                await data.add_attempt(db, c.id, r.user_id, str(exc))
                await self.sleep(self.backoff * 2 ** (attempts - 1))
                continue
            except SendError as exc:  # BadRecipient and anything else the channel refuses as it is
                await data.mark(db, c.id, r.user_id, "failed", svc.now(), str(exc)[:200])
                self.observe(channel, "failed")
                return
            await data.mark(db, c.id, r.user_id, "sent", svc.now())
            self.observe(channel, "sent")
            return

    async def _send(self, svc: Services, c: data.CampaignRow, user_id: int, text: str,
                    entities: list[dict] | None) -> None:
        """One recipient's message. A photo uploaded on the dashboard goes to Telegram as bytes the first time
        (one send at a time, so it goes up once) and by the file id Telegram returned ever after (kept in the
        database, so a restart does not upload it again); a Zalo person always gets the bytes, which the Zalo
        channel turns into a media link (or the text alone without PUBLIC_BASE_URL). BROADCAST_PAID: Telegram
        recipients get it as a paid broadcast (above 30/s; Zalo has no such thing)."""
        paid = svc.settings.broadcast_paid and not accounts.is_zalo(user_id)
        if c.image_id is None:
            await svc.outbox.send(user_id, text, photo=c.photo, entities=entities, paid=paid)
            return
        if accounts.is_zalo(user_id):  # a Telegram file id means nothing to Zalo
            image = await data.image(svc.db, c.image_id)
            if image is None:
                await svc.outbox.send(user_id, text, entities=entities)
            else:
                await svc.outbox.send_photo_file(user_id, image.data, image.content_type, text, entities=entities)
            return
        async with self._uploads.setdefault(c.image_id, asyncio.Lock()):
            file_id = await data.image_file_id(svc.db, c.image_id)
            if file_id is None:
                image = await data.image(svc.db, c.image_id)
                if image is None:  # never deleted while a campaign uses it; the text still goes
                    await svc.outbox.send(user_id, text, entities=entities, paid=paid)
                    return
                _mid, file_id = await svc.outbox.send_photo_file(user_id, image.data, image.content_type, text,
                                                                 entities=entities, paid=paid)
                if file_id:
                    await data.set_image_file_id(svc.db, c.image_id, file_id)
                return
        await svc.outbox.send(user_id, text, photo=file_id, entities=entities, paid=paid)

    async def _through_outage(self, svc: Services, cid: int) -> bool:
        """After a connection error: ask the API whether it is up (by showing the admin the progress) and,
        while it is not, hold every send of every campaign (as a 429 does), backing off up to OUTAGE_WAIT
        seconds between probes. `_outages` counts the failed probes, so a caller can tell an outage from a
        fault of its own chat. False when the campaign should stop instead (paused, cancelled, shutdown)."""
        assert self._open is not None
        if not self._open.is_set():  # someone else is already probing, or Telegram asked to wait
            await self._open.wait()
            return self._go(cid)
        self._open.clear()
        try:
            wait = self.backoff
            while not await self._probe(svc, cid):
                if wait == self.backoff:  # one line per outage, not one per probe
                    log.warning("bot api unreachable, campaigns wait", extra={"campaign": cid})
                self._outages += 1
                if not self._go(cid):
                    return False
                await self.sleep(wait)
                wait = min(wait * 2, OUTAGE_WAIT)
        finally:
            self._open.set()
        return self._go(cid)

    async def _probe(self, svc: Services, cid: int) -> bool:
        """True when the API answers (the progress message is shown, or refused for its own reasons)."""
        try:
            await self._show_progress(svc, cid, force=True, probe=True)
        except Transient:
            return False
        return True

    async def _hold(self, seconds: float) -> None:
        assert self._open is not None
        if not self._open.is_set():
            await self._open.wait()
            return
        self._open.clear()
        try:
            log.info("telegram asked to wait", extra={"seconds": seconds})
            await self.sleep(seconds)
        finally:
            self._open.set()

    async def _show_progress(self, svc: Services, cid: int, force: bool = False, probe: bool = False) -> None:
        """Edit (or send) the admin's progress message, at most every PROGRESS_EVERY seconds unless forced.
        A probe lets a connection error (Transient) through: it asks whether the API is up."""
        now = svc.clock.now()
        last = self._last_edit.get(cid)
        every = self._progress_every.get(cid, PROGRESS_EVERY)
        if not force and last is not None and now - last < timedelta(seconds=every):
            return
        self._last_edit[cid] = now
        c = await data.get(svc.db, cid)
        if c is None:
            return
        self._progress_every[cid] = PROGRESS_EVERY_ZALO if accounts.is_zalo(c.admin_id) else PROGRESS_EVERY
        c_counts = await data.counts(svc.db, cid)
        await data.store_counters(svc.db, cid, c_counts)
        t = await svc.translator(c.admin_id)
        text, buttons = await progress_view(svc, cid, t)
        try:
            if c.progress_message_id is None:
                mid = await svc.outbox.send(c.admin_id, text, buttons)
                await data.set_progress_message(svc.db, cid, c.admin_id, mid)
            else:
                await svc.outbox.edit(c.progress_chat_id or c.admin_id, c.progress_message_id, text, buttons)
        except SendError as exc:  # progress is a courtesy; never let it stop the campaign
            if probe and isinstance(exc, Transient):
                raise
            log.info("progress not shown", extra={"campaign": cid, "error": type(exc).__name__})

    async def _final_report(self, svc: Services, cid: int) -> None:
        await self._show_progress(svc, cid, force=True)
        c = await data.get(svc.db, cid)
        assert c is not None
        n = await data.counts(svc.db, cid)
        t = await svc.translator(c.admin_id)
        _ = t.gettext
        lines = [_("✅ Campaign #{id} is finished.").format(id=cid),
                 _("Sent: {sent} of {total}").format(sent=t.number(n["sent"]), total=t.number(c.total)),
                 _("Blocked the bot: {n}").format(n=t.number(n["blocked"])),
                 _("Failed: {n}").format(n=t.number(n["failed"]))]
        if n["skipped"]:
            lines.append(_("Unsubscribed before sending: {n}").format(n=t.number(n["skipped"])))
        zalo_sent, zalo_total = await accounts.campaign_on_zalo(svc.db, cid)
        if zalo_total:  # Zalo people are counted apart as well (their channel has its own rate and refusals)
            lines.append(_("Of them on Zalo: {sent} of {total}").format(sent=t.number(zalo_sent),
                                                                         total=t.number(zalo_total)))
        try:
            await svc.outbox.send(c.admin_id, "\n".join(lines))
        except SendError:
            log.info("final report not delivered", extra={"campaign": cid})
        log.info("campaign done", extra={"campaign": cid, **n})


async def tick(svc: Services) -> None:
    """Every second: scheduled campaigns that are due start; campaigns left 'sending' (a restart) resume."""
    await data.start_due(svc.db, svc.now())
    for cid in await data.sending(svc.db):
        svc.sender.start(svc, cid)


async def wait_idle(svc: Services, within: float | None = None) -> bool:
    return await svc.sender.wait_idle(within)

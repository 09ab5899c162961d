"""Everything the handlers need, built once per process and shared: no Telegram in here."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.campaigns import Sender
from bot.clock import Clock, iso
from bot.config import LOCALES, Settings
from bot.content import Content, Guide, Ward
from bot.data import Database, users
from bot.data import guides as guide_data
from bot.faults import ErrorThrottle
from bot.i18n import I18n, Translator
from bot.messaging import Outbox
from bot.moderation import FloodGuard
from bot.screens import Vocabulary
from bot.search import Hit, SearchIndex, match_wards, normalise_query
from bot.web.media import MediaStore


@dataclass
class Services:
    settings: Settings
    db: Database
    content: Content
    index: SearchIndex
    i18n: I18n
    clock: Clock
    outbox: Outbox
    sender: Sender = field(default_factory=Sender)  # campaign tasks in this process
    errors: ErrorThrottle = field(default_factory=ErrorThrottle)  # error reports to admins, per kind
    flood: FloodGuard | None = None  # built from the settings in __post_init__
    vocab: Vocabulary | None = None  # what people may type for each choice, from the catalogs
    media: MediaStore = field(default_factory=MediaStore)  # signed image links for channels that need URLs

    def __post_init__(self) -> None:
        if self.flood is None:
            self.flood = FloodGuard(self.settings.flood_max, self.settings.flood_seconds)
        if self.vocab is None:
            self.vocab = Vocabulary(self.i18n, LOCALES)

    def now(self) -> str:
        return iso(self.clock.now())

    def is_admin(self, user: users.UserRow | None) -> bool:
        return user is not None and (user.id in self.settings.admin_ids or user.is_admin)

    async def admin_ids(self) -> set[int]:
        """ADMIN_IDS plus those promoted in chat."""
        return set(self.settings.admin_ids) | {u.id for u in await users.promoted_admins(self.db)}

    async def translator(self, user_id: int) -> Translator:
        """Everything needed to write to this person in their own language."""
        user = await users.get(self.db, user_id)
        return self.i18n.get(user.locale if user else None)

    async def search(self, query: str, locale: str) -> list[Hit]:
        """Search and log: a search with no result is kept (folded) for content authors."""
        hits = self.index.search(query, locale)
        normalised = normalise_query(query)
        if normalised:
            await guide_data.log_search(self.db, normalised, len(hits), self.now())
        return hits

    async def guide_titled(self, query: str) -> Guide | None:
        """The guide the query names by its exact title (folded), logged as a search that found it."""
        guide = self.index.by_title(query)
        if guide is not None:
            await guide_data.log_search(self.db, normalise_query(query), 1, self.now())
        return guide

    def wards_in(self, query: str) -> list[Ward]:
        return match_wards(query, list(self.content.wards.values()))

    def guide(self, guide_id: str) -> Guide | None:
        return self.content.guides.get(guide_id)

"""Short-lived, signed links to images the bot sends by URL: `{PUBLIC_BASE_URL}/media/{token}`.

Zalo shows an image only from a public URL; Telegram gets the bytes directly and needs none of this.
A token names either bytes the bot made (a QR poster, the stats chart, a one-time /mydata file), kept in the
database (`media_blobs`) until the link expires, or one file inside the content folder (a guide step's image).
It is signed with HMAC-SHA256 under a random key kept in the database (`media_keys`, made once by the first
process), so nobody can forge or alter one, nothing else on disk can be named, and a link made by one process
(a worker) is served by another (the ingress) and survives a restart. Each item is bounded in size; expired
rows are deleted when new ones are added and by the retention tick; a one-time link is deleted by the one
download that gets it. Tokens and bytes are never logged.

    await media.open(db)                             once the database is open (loads or makes the key)
    await media.url_for_bytes(png, "image/png")   -> "https://bot.example.vn/media/…"  (None: no PUBLIC_BASE_URL)
    media.url_for_file(guide.steps[0].image)      -> the same for a content file      (None: not in the content)
    await media.resolve(token)                    -> Media | None (404); raises Expired (410)
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import mimetypes
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from bot.clock import Clock, iso
from bot.data import Database
from bot.data import media as media_data

MAX_BYTES = 32 * 1024 * 1024  # one generated item at most (a chart is ~60 kB, a poster ~100 kB, an export less)
SIGNATURE_BYTES = 16  # 128 bits of HMAC-SHA256: forging one is out of reach


@dataclass(frozen=True)
class Media:
    """What a valid token serves."""

    body: bytes
    content_type: str
    filename: str | None = None  # a file to save (Content-Disposition: attachment), not an image to show
    once: bool = False  # served once, then gone (a person's own data, an export)


class Expired(Exception):
    """The token was genuine but its time is up (410)."""


class MediaStore:
    """Signs and resolves media tokens. `base_url` is PUBLIC_BASE_URL ("" when unset: no links). No links and
    nothing resolves until `open(db)` has loaded the shared key."""

    def __init__(self, base_url: str = "", *, content_dir: Path | None = None, ttl: float = 600,
                 clock: Clock | None = None, max_bytes: int = MAX_BYTES) -> None:
        self.base_url = base_url.rstrip("/")
        self.content_dir = content_dir.resolve() if content_dir else None
        self.ttl = ttl
        self.clock = clock or Clock()
        self.max_bytes = max_bytes
        self.db: Database | None = None
        self._key: bytes | None = None

    async def open(self, db: Database) -> None:
        """Use `db` for the bytes and its shared key for signing (made now when no process has made one)."""
        self._key = await media_data.key(db, secrets.token_bytes(32))
        self.db = db

    # --- making links ------------------------------------------------------------------------------
    async def url_for_bytes(self, data: bytes, content_type: str, *, once: bool = False,
                            filename: str | None = None) -> str | None:
        """A link that serves `data` until it expires (MEDIA_TTL), kept in the database; None when
        PUBLIC_BASE_URL is unset, the store is not open, or the item is larger than `max_bytes`. `once`: the first
        download ends it (files with personal data); `filename`: served as a download under that name."""
        if not self.base_url or self.db is None or len(data) > self.max_bytes:
            return None
        expires = self._expiry()
        blob_id = secrets.token_urlsafe(12)
        await media_data.keep(self.db, blob_id, bytes(data), content_type, filename, once, iso(expires),
                        iso(self.clock.now()))
        return self._url("b", blob_id, expires)

    def url_for_file(self, path: Path | str) -> str | None:
        """A link to one file inside the content folder; None when PUBLIC_BASE_URL is unset, the store is not
        open, or the file is not a file of the content folder."""
        if not self.base_url or self.content_dir is None or self._key is None:
            return None
        relative = self._inside(Path(path))
        if relative is None:
            return None
        return self._url("f", relative, self._expiry())

    async def prune(self) -> int:
        """Delete the generated items whose links have expired (the retention tick); how many."""
        return await media_data.prune(self.db, iso(self.clock.now())) if self.db is not None else 0

    # --- serving them ------------------------------------------------------------------------------
    async def resolve(self, token: str, *, consume: bool = True) -> Media | None:
        """What a token serves; None when it is forged, altered or names nothing (404); raises Expired (410).
        A one-time link ends when resolved with `consume` (the download itself, not a look at it): of two such
        resolves at once, in any processes, one gets the bytes and the other None."""
        if self._key is None:
            return None
        try:
            payload_part, signature_part = token.split(".", 1)
            payload = _unb64(payload_part)
            signature = _unb64(signature_part)
        except ValueError:
            return None
        if not hmac.compare_digest(signature, self._sign(payload)):  # first: nothing unsigned is parsed further
            return None
        try:
            kind, rest = payload.decode().split("|", 1)
            ref, expires_at = rest.rsplit("|", 1)
            expires = datetime.fromtimestamp(int(expires_at), tz=self.clock.now().tzinfo)
        except (ValueError, OverflowError, OSError):  # only our own tokens get here: never, in practice
            return None
        if self.clock.now() >= expires:
            raise Expired
        if kind == "b" and self.db is not None:
            now = iso(self.clock.now())
            row = await media_data.take(self.db, ref, now) if consume else None  # one-time: this download ends it
            if row is None:
                row = await media_data.get(self.db, ref, now)
                if row is not None and consume and row["once"]:  # taken by another download meanwhile
                    row = None
            if row is None:
                return None
            return Media(bytes(row["bytes"]), row["content_type"], row["filename"], bool(row["once"]))
        if kind == "f" and self.content_dir is not None:
            relative = self._inside(self.content_dir / ref)  # checked again: the content may have changed
            if relative is None:
                return None
            file = self.content_dir / relative
            content_type = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
            return Media(file.read_bytes(), content_type)
        return None

    # --- inside -------------------------------------------------------------------------------------
    def _expiry(self) -> datetime:
        return self.clock.now().replace(microsecond=0) + timedelta(seconds=self.ttl)

    def _url(self, kind: str, ref: str, expires: datetime) -> str:
        payload = f"{kind}|{ref}|{int(expires.timestamp())}".encode()
        return f"{self.base_url}/media/{_b64(payload)}.{_b64(self._sign(payload))}"

    def _sign(self, payload: bytes) -> bytes:
        assert self._key is not None
        return hmac.new(self._key, payload, hashlib.sha256).digest()[:SIGNATURE_BYTES]

    def _inside(self, path: Path) -> str | None:
        """`path` relative to the content folder, when it is a regular file inside it (symlinks resolved)."""
        assert self.content_dir is not None
        try:
            full = (path if path.is_absolute() else self.content_dir / path).resolve()
            relative = full.relative_to(self.content_dir)
        except (ValueError, OSError):
            return None
        return relative.as_posix() if full.is_file() else None


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))

"""Settings from the environment (and an optional .env), checked once at start-up."""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

ROOT = Path(__file__).resolve().parent.parent
LOCALES = ("vi", "en")
TELEGRAM_RATE = 30  # messages per second a bot may send in all (Telegram's Bot FAQ)
PAID_RATE = 1_000  # with paid broadcasts (allow_paid_broadcast, Bot API 7.11): up to 1,000/s, 0.1 Star each


class ConfigError(Exception):
    """A setting is missing or malformed; the message names the variable."""


class StartupError(Exception):
    """The bot cannot start or go on (database unusable, token refused, Bot API unreachable).

    Its message is the one line an operator sees before the process exits non-zero: it names the file or
    the setting and the problem, and never holds the bot token."""


INT_MAX = 1_000_000  # no count, second or minute setting needs more; beyond it dates overflow (a crash later)


def _int(env: Mapping[str, str], name: str, default: int, minimum: int = 0, maximum: int = INT_MAX) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}") from None
    if value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}, got {value}")
    if value > maximum:
        raise ConfigError(f"{name} must be at most {maximum}, got {raw if len(raw) <= 20 else raw[:20] + '…'}")
    return value


def _paid(env: Mapping[str, str]) -> bool:
    raw = env.get("BROADCAST_PAID", "").strip().lower()
    if raw not in ("", "0", "1", "on", "off", "yes", "no", "true", "false"):
        raise ConfigError(f"BROADCAST_PAID must be on or off, got {raw!r}")
    return raw in ("1", "on", "yes", "true")


def _rate(env: Mapping[str, str]) -> int:
    rate = _int(env, "BROADCAST_RATE", 25, 1)
    if _paid(env):
        if rate > PAID_RATE:
            raise ConfigError(f"BROADCAST_RATE must be at most {PAID_RATE} with BROADCAST_PAID (Telegram's limit "
                              f"for paid broadcasts), got {rate}")
    elif rate > TELEGRAM_RATE:
        raise ConfigError(f"BROADCAST_RATE must be at most {TELEGRAM_RATE} (Telegram's limit per bot; up to "
                          f"{PAID_RATE} with BROADCAST_PAID=on, paid in Stars), got {rate}")
    return rate


def _ids(env: Mapping[str, str], name: str) -> frozenset[int]:
    raw = env.get(name, "").strip()
    ids: set[int] = set()
    for part in filter(None, (p.strip() for p in raw.split(","))):
        if not part.lstrip("-").isdigit():
            raise ConfigError(f"{name} must be comma-separated Telegram ids, got {part!r}")
        ids.add(int(part))
    return frozenset(ids)


# --- Zalo (issue 11) ------------------------------------------------------------------------------------
ZALO_API_BASE_URL = "https://bot-api.zaloplatforms.com"
ZALO_RATE_MAX = 30  # Zalo publishes no limit: a guard against a typo, not a promise


def _zalo_token(env: Mapping[str, str]) -> str:
    token = env.get("ZALO_BOT_TOKEN", "").strip()
    if token and (":" not in token or not token.split(":", 1)[0].isdigit() or any(c.isspace() for c in token)):
        raise ConfigError("ZALO_BOT_TOKEN looks malformed: expected '12345689:abc-xyz' from Zalo Bot Manager")
    return token


def _zalo_secret(env: Mapping[str, str]) -> str:
    secret = env.get("ZALO_WEBHOOK_SECRET", "").strip()
    if secret and not (8 <= len(secret) <= 256 and secret.isascii() and secret.isprintable() and " " not in secret):
        raise ConfigError(f"ZALO_WEBHOOK_SECRET must be 8 to 256 ASCII characters without spaces, got {len(secret)} "
                          "character(s)")
    return secret


def _zalo_ids(env: Mapping[str, str]) -> frozenset[str]:
    parts = [p.strip() for p in env.get("ADMIN_ZALO_IDS", "").split(",") if p.strip()]
    for part in parts:
        if not part.isascii() or not part.isalnum():
            raise ConfigError(f"ADMIN_ZALO_IDS must be comma-separated Zalo user ids (letters and digits), "
                              f"got {part!r}")
    return frozenset(parts)


def _zalo_rate(env: Mapping[str, str]) -> int:
    rate = _int(env, "ZALO_RATE", 5, 1)
    if rate > ZALO_RATE_MAX:
        raise ConfigError(f"ZALO_RATE must be at most {ZALO_RATE_MAX} messages per second, got {rate}")
    return rate


def _url(env: Mapping[str, str], name: str, default: str = "") -> str:
    url = env.get(name, "").strip() or default
    if url and not url.startswith(("http://", "https://")):
        raise ConfigError(f"{name} must start with http:// or https://, got {url!r}")
    if url and not url.partition("://")[2].split("/", 1)[0]:
        raise ConfigError(f"{name} must name a host after http:// or https://, got {url!r}")
    return url
# --- end Zalo -------------------------------------------------------------------------------------------
# --- server mode (issue 12) -----------------------------------------------------------------------
SECRET_RE = re.compile(r"[A-Za-z0-9_-]{1,256}")  # what Telegram accepts as a webhook secret_token


def _public_base_url(env: Mapping[str, str]) -> str:
    url = env.get("PUBLIC_BASE_URL", "").strip().rstrip("/")
    if not url:
        return ""
    scheme, _, rest = url.partition("://")
    if scheme not in ("http", "https") or not rest or any(c in rest for c in "?#@ "):
        raise ConfigError(f"PUBLIC_BASE_URL must be an address like https://bot.example.vn, got {url!r}")
    return url


def _webhook_secret(env: Mapping[str, str], public_base_url: str) -> str:
    """WEBHOOK_SECRET as set, or (webhooks on, none set) a random one for this run: the bot registers its
    webhooks at every start, so nobody needs to know it."""
    secret = env.get("WEBHOOK_SECRET", "").strip()
    if secret and not SECRET_RE.fullmatch(secret):
        raise ConfigError("WEBHOOK_SECRET must be 1 to 256 of the characters A-Z a-z 0-9 _ -")
    return secret or (secrets.token_urlsafe(32) if public_base_url else "")


def _dashboard_secret(env: Mapping[str, str]) -> str:
    secret = env.get("DASHBOARD_SECRET", "").strip()
    if secret and len(secret) < 32:
        raise ConfigError(f"DASHBOARD_SECRET must be at least 32 characters (it signs the dashboard's sessions), "
                          f"got {len(secret)}: make one with  "
                          "python -c 'import secrets; print(secrets.token_urlsafe(32))'")
    return secret
# --- end server mode -----------------------------------------------------------------------------
# --- PostgreSQL and workers (issue 17) -----------------------------------------------------------------


def _database_url(env: Mapping[str, str]) -> str:
    """DATABASE_URL: empty (the SQLite file at DATABASE_PATH) or postgresql://user:password@host:port/name."""
    url = env.get("DATABASE_URL", "").strip()
    if not url:
        return ""
    scheme, _, rest = url.partition("://")
    if scheme not in ("postgresql", "postgres") or not rest:
        raise ConfigError("DATABASE_URL must be a PostgreSQL address like postgresql://bot:secret@db:5432/bot "
                          "(leave it unset for the SQLite file at DATABASE_PATH)")
    return url
# --- end PostgreSQL and workers ------------------------------------------------------------------------


@dataclass(frozen=True)
class Settings:
    bot_token: str = ""
    bot_api_base_url: str = ""
    bot_username: str = "TroLySoBot"
    database_path: Path = ROOT / "data" / "bot.sqlite3"
    admin_ids: frozenset[int] = field(default_factory=frozenset)
    default_locale: str = "vi"
    timezone: str = "Asia/Ho_Chi_Minh"
    content_dir: Path = ROOT / "content"
    # Help requests: how many volunteers get an offer, and how many open requests one may hold.
    offer_count: int = 3
    volunteer_limit: int = 3
    # Open (waiting or being helped) requests one resident may have at once.
    max_open_requests: int = 3
    # Escalation times in minutes (T1..T4 of the request life).
    escalate_area_min: int = 15
    escalate_admins_min: int = 60
    remind_volunteer_min: int = 24 * 60
    release_silent_min: int = 48 * 60
    # Campaign broadcast share of Telegram's ~30 messages/s.
    broadcast_rate: int = 25
    broadcast_paid: bool = False  # campaign sends as paid broadcasts (Stars from the bot's balance)
    # Privacy: days after which closed requests lose their personal fields.
    retention_days: int = 90
    # Flood control: more than FLOOD_MAX updates in FLOOD_SECONDS → cooldown.
    flood_max: int = 20
    flood_seconds: int = 10
    # Production start-up: how long to keep retrying an unreachable Bot API before giving up.
    startup_retry_seconds: int = 60
    # Zalo (issue 11): the channel is on when zalo_bot_token is set.
    zalo_bot_token: str = ""
    zalo_api_base_url: str = ZALO_API_BASE_URL
    zalo_webhook_secret: str = ""  # checked in constant time against X-Bot-Api-Secret-Token (server mode)
    zalo_rate: int = 5  # messages per second to Zalo, all sends together
    zalo_bot_link: str = ""  # the link Zalo gives the bot (for posters); never guessed
    admin_zalo_ids: frozenset[str] = field(default_factory=frozenset)  # Zalo user ids of admins
    # Server mode (bot/web): where the HTTP server listens, the address the world reaches it by (webhooks
    # and media links; empty: long polling), the webhook secret, and how long a media link works (seconds).
    host: str = "127.0.0.1"
    port: int = 8080
    public_base_url: str = ""
    webhook_secret: str = ""
    media_ttl: int = 600
    # PostgreSQL (issue 17): set, several processes share it; empty, the SQLite file at database_path.
    database_url: str = ""
    # The web dashboard (issue 13): the key that signs its session cookies; empty: a new one at each start
    # (everyone signs in again after a restart).
    dashboard_secret: str = ""

    @property
    def database(self) -> Path | str:
        """What `Database.open` takes: DATABASE_URL when set, else the SQLite file."""
        return self.database_url or self.database_path

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        locale = env.get("DEFAULT_LOCALE", "vi").strip() or "vi"
        if locale not in LOCALES:
            raise ConfigError(f"DEFAULT_LOCALE must be one of {', '.join(LOCALES)}, got {locale!r}")
        tz = env.get("TIMEZONE", "Asia/Ho_Chi_Minh").strip() or "Asia/Ho_Chi_Minh"
        try:
            ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigError(f"TIMEZONE must be an IANA zone like Asia/Ho_Chi_Minh, got {tz!r}") from None
        base_url = _url(env, "BOT_API_BASE_URL")
        token = env.get("BOT_TOKEN", "").strip()
        if token and (":" not in token or not token.split(":", 1)[0].isdigit()):
            raise ConfigError("BOT_TOKEN looks malformed: expected '123456:ABC...' from @BotFather")
        username = env.get("BOT_USERNAME", "TroLySoBot").strip().lstrip("@") or "TroLySoBot"
        if not username.replace("_", "").isalnum():
            raise ConfigError(f"BOT_USERNAME must be letters, digits and _, got {username!r}")
        db = env.get("DATABASE_PATH", "").strip()
        content_dir = Path(env.get("CONTENT_DIR", "").strip() or ROOT / "content")
        if not content_dir.is_dir():
            raise ConfigError(f"CONTENT_DIR must be a folder, got {str(content_dir)!r}")
        public_base_url = _public_base_url(env)
        port = _int(env, "PORT", 8080, 0, 65535)
        zalo_token, zalo_secret = _zalo_token(env), _zalo_secret(env)
        if zalo_token and public_base_url and not zalo_secret:  # else found only after connecting to Zalo
            raise ConfigError("ZALO_WEBHOOK_SECRET must be set (8 to 256 characters) when ZALO_BOT_TOKEN and "
                              "PUBLIC_BASE_URL are: Zalo then sends updates to the webhook with it")
        return cls(
            host=env.get("HOST", "").strip().removeprefix("[").removesuffix("]") or "127.0.0.1",  # [::1] as in URLs
            port=port,
            public_base_url=public_base_url,
            webhook_secret=_webhook_secret(env, public_base_url),
            media_ttl=_int(env, "MEDIA_TTL", 600, 1),
            database_url=_database_url(env),
            dashboard_secret=_dashboard_secret(env),
            bot_token=token,
            bot_api_base_url=base_url,
            bot_username=username,
            database_path=Path(db) if db else ROOT / "data" / "bot.sqlite3",
            admin_ids=_ids(env, "ADMIN_IDS"),
            content_dir=content_dir,
            default_locale=locale,
            timezone=tz,
            offer_count=_int(env, "OFFER_COUNT", 3, 1),
            volunteer_limit=_int(env, "VOLUNTEER_LIMIT", 3, 1),
            max_open_requests=_int(env, "MAX_OPEN_REQUESTS", 3, 1),
            escalate_area_min=_int(env, "ESCALATE_AREA_MIN", 15, 1),
            escalate_admins_min=_int(env, "ESCALATE_ADMINS_MIN", 60, 1),
            remind_volunteer_min=_int(env, "REMIND_VOLUNTEER_MIN", 24 * 60, 1),
            release_silent_min=_int(env, "RELEASE_SILENT_MIN", 48 * 60, 1),
            broadcast_rate=_rate(env),
            broadcast_paid=_paid(env),
            retention_days=_int(env, "RETENTION_DAYS", 90, 1, 36_500),  # the cutoff date must exist
            flood_max=_int(env, "FLOOD_MAX", 20, 1),
            flood_seconds=_int(env, "FLOOD_SECONDS", 10, 1),
            startup_retry_seconds=_int(env, "STARTUP_RETRY_SECONDS", 60, 0),
            zalo_bot_token=zalo_token,
            zalo_api_base_url=_url(env, "ZALO_API_BASE_URL", ZALO_API_BASE_URL).rstrip("/"),
            zalo_webhook_secret=zalo_secret,
            zalo_rate=_zalo_rate(env),
            zalo_bot_link=_url(env, "ZALO_BOT_LINK"),
            admin_zalo_ids=_zalo_ids(env),
        )

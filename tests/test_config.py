import subprocess
import sys

import pytest

from bot.config import ConfigError, Settings
from tests.conftest import ROOT


def test_defaults_without_environment():
    s = Settings.from_env({})
    assert s.default_locale == "vi"
    assert s.timezone == "Asia/Ho_Chi_Minh"
    assert s.database_path.name.endswith(".sqlite3")
    assert s.admin_ids == frozenset()
    assert s.startup_retry_seconds == 60


def test_values_are_read():
    s = Settings.from_env({"ADMIN_IDS": "1, 2,3", "DEFAULT_LOCALE": "en", "BOT_USERNAME": "@MyBot",
                           "BOT_API_BASE_URL": "http://localhost:8081", "DATABASE_PATH": "/tmp/x.db"})
    assert s.admin_ids == {1, 2, 3}
    assert s.default_locale == "en"
    assert s.bot_username == "MyBot"
    assert str(s.database_path) == "/tmp/x.db"


def test_server_settings():
    s = Settings.from_env({})
    assert (s.host, s.port, s.public_base_url, s.webhook_secret, s.media_ttl) == ("127.0.0.1", 8080, "", "", 600)
    s = Settings.from_env({"HOST": "0.0.0.0", "PORT": "9000", "PUBLIC_BASE_URL": "https://bot.example.vn/",
                           "WEBHOOK_SECRET": "A-z_09", "MEDIA_TTL": "60"})
    assert (s.host, s.port, s.public_base_url, s.webhook_secret, s.media_ttl) == (
        "0.0.0.0", 9000, "https://bot.example.vn", "A-z_09", 60)
    assert Settings.from_env({"WEBHOOK_SECRET": "x" * 256}).webhook_secret == "x" * 256


def test_without_a_webhook_secret_each_start_makes_its_own():
    one = Settings.from_env({"PUBLIC_BASE_URL": "https://bot.example.vn"}).webhook_secret
    two = Settings.from_env({"PUBLIC_BASE_URL": "https://bot.example.vn"}).webhook_secret
    assert one != two and len(one) >= 40
    assert all(c.isalnum() or c in "_-" for c in one)


@pytest.mark.parametrize("name,value", [
    ("ADMIN_IDS", "12,abc"), ("DEFAULT_LOCALE", "fr"), ("TIMEZONE", "Mars/Olympus"),
    ("BOT_TOKEN", "not-a-token"), ("BOT_API_BASE_URL", "ftp://x"), ("OFFER_COUNT", "many"),
    ("BOT_USERNAME", "bad name!"), ("BROADCAST_RATE", "31"), ("BROADCAST_RATE", "0"),
    ("STARTUP_RETRY_SECONDS", "-1"), ("STARTUP_RETRY_SECONDS", "soon"),
    ("PORT", "http"), ("PORT", "70000"), ("PORT", "-1"), ("PUBLIC_BASE_URL", "bot.example.vn"),
    ("PUBLIC_BASE_URL", "ftp://bot.example.vn"), ("PUBLIC_BASE_URL", "https://bot.example.vn/?x=1"),
    ("WEBHOOK_SECRET", "has space"), ("WEBHOOK_SECRET", "x" * 257), ("WEBHOOK_SECRET", "dấu"), ("MEDIA_TTL", "0"),
    # numbers no date can hold: accepted, they failed later, at the first media link, flood check or retention tick
    ("MEDIA_TTL", "99999999999999999999"), ("FLOOD_SECONDS", "99999999999999999999"),
    ("RETENTION_DAYS", "1000000"), ("ESCALATE_AREA_MIN", "1" + "0" * 30), ("STARTUP_RETRY_SECONDS", "9" * 40),
    # an address with no host: accepted, it failed at the first call
    ("BOT_API_BASE_URL", "http://"), ("ZALO_API_BASE_URL", "https://"), ("ZALO_BOT_LINK", "https:///x"),
])
def test_malformed_value_names_the_variable(name, value):
    with pytest.raises(ConfigError, match=name):
        Settings.from_env({name: value})


def test_paid_broadcasts_allow_up_to_a_thousand_per_second_and_only_then():
    assert Settings.from_env({"BROADCAST_PAID": "on", "BROADCAST_RATE": "1000"}).broadcast_rate == 1000
    assert not Settings.from_env({}).broadcast_paid
    for env, words in (({"BROADCAST_RATE": "31"}, "BROADCAST_PAID=on"),
                       ({"BROADCAST_PAID": "on", "BROADCAST_RATE": "1001"}, "paid broadcasts"),
                       ({"BROADCAST_PAID": "maybe"}, "BROADCAST_PAID must be on or off")):
        with pytest.raises(ConfigError, match=words):
            Settings.from_env(env)


def test_zalo_by_webhook_needs_its_secret_at_start_not_after_connecting():
    with pytest.raises(ConfigError, match="ZALO_WEBHOOK_SECRET"):
        Settings.from_env({"ZALO_BOT_TOKEN": "12345689:abc-xyz", "PUBLIC_BASE_URL": "https://bot.example.vn"})
    assert Settings.from_env({"ZALO_BOT_TOKEN": "12345689:abc-xyz"}).zalo_webhook_secret == ""  # polling: none needed


def test_cli_prints_one_line_and_exits_non_zero():
    result = subprocess.run([sys.executable, "-m", "bot", "content", "check"], cwd=ROOT, capture_output=True,
                            text=True, env={"PATH": "/usr/bin:/bin", "ADMIN_IDS": "x"}, timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == ["Configuration error: ADMIN_IDS must be comma-separated "
                                                  "Telegram ids, got 'x'"]
    assert "Traceback" not in result.stderr

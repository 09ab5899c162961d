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


@pytest.mark.parametrize("name,value", [
    ("ADMIN_IDS", "12,abc"), ("DEFAULT_LOCALE", "fr"), ("TIMEZONE", "Mars/Olympus"),
    ("BOT_TOKEN", "not-a-token"), ("BOT_API_BASE_URL", "ftp://x"), ("OFFER_COUNT", "many"),
    ("BOT_USERNAME", "bad name!"), ("BROADCAST_RATE", "31"), ("BROADCAST_RATE", "0"),
    ("STARTUP_RETRY_SECONDS", "-1"), ("STARTUP_RETRY_SECONDS", "soon"),
])
def test_malformed_value_names_the_variable(name, value):
    with pytest.raises(ConfigError, match=name):
        Settings.from_env({name: value})


def test_cli_prints_one_line_and_exits_non_zero():
    result = subprocess.run([sys.executable, "-m", "bot", "content", "check"], cwd=ROOT, capture_output=True,
                            text=True, env={"PATH": "/usr/bin:/bin", "ADMIN_IDS": "x"}, timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == ["Configuration error: ADMIN_IDS must be comma-separated "
                                                  "Telegram ids, got 'x'"]
    assert "Traceback" not in result.stderr

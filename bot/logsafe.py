"""Logs carry ids and event names, never phone numbers or message text.

Our own log calls pass only ids in `extra`. Libraries are chattier at DEBUG: python-telegram-bot
logs whole updates and every Bot API call with its text, aiosqlite logs SQL with its parameters
(phone numbers, descriptions). A log record factory, installed once per process, replaces any log
argument that is not a number or a short identifier (`sendMessage`, `campaign-3`) before a handler
can see it, whatever the logger, level or handler configuration.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any

REDACTED = "‹redacted›"
_TOKEN = re.compile(r"^[A-Za-z_][A-Za-z0-9_.:\-]{0,63}$")
_installed = False


class Safe(str):
    """A string the program builds from names it owns (an error key like 'KeyError@handlers.menu.show'),
    never from anything a person typed: logged as it is."""

    __slots__ = ()


def _safe(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | Safe):
        return value
    if isinstance(value, str) and _TOKEN.match(value):
        return value
    return REDACTED


def scrub(record: logging.LogRecord) -> logging.LogRecord:
    if not isinstance(record.msg, str):
        record.msg = REDACTED
    if isinstance(record.args, Mapping):
        record.args = {k: _safe(v) for k, v in record.args.items()}
    elif isinstance(record.args, tuple):
        record.args = tuple(_safe(a) for a in record.args)
    return record


def install() -> None:
    """Idempotent: wrap the current record factory once."""
    global _installed
    if _installed:
        return
    previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        return scrub(previous(*args, **kwargs))

    logging.setLogRecordFactory(factory)
    _installed = True


_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}


class KeyValueFormatter(logging.Formatter):
    """The ids a log call passes in `extra` are what an operator needs: show them as key=value."""

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        extras = " ".join(f"{k}={_safe(v)}" for k, v in vars(record).items() if k not in _STANDARD)
        return f"{line} {extras}" if extras else line


EXPECTED: list[type[BaseException]] = []  # each channel adds its own kinds (see `expect`)


def expect(*kinds: type[BaseException]) -> None:
    """Register error types a channel expects and recovers from; the core names no channel's library."""
    EXPECTED.extend(k for k in kinds if k not in EXPECTED)


class ExpectedErrors(logging.Filter):
    """Errors production expects and recovers from (the Bot API unreachable or answering 5xx, a timeout,
    a 429 rate limit, a refused token that ends the process with its own line) are one WARNING line with
    their kind, not an ERROR with a traceback, whichever library logs them."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if EXPECTED and isinstance(error, tuple(EXPECTED)):
            record.exc_info = record.exc_text = None
            record.kind = type(error).__name__
            if record.levelno > logging.WARNING:
                record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


QUIET_LOGGERS = {
    "httpx": logging.WARNING,  # its lines carry the bot token
    "apscheduler": logging.WARNING,  # "Running job" / "executed successfully" for every tick, every second
}


def handler() -> logging.Handler:
    """The stderr handler: key=value ids, expected errors as one line."""
    stream = logging.StreamHandler()
    stream.setFormatter(KeyValueFormatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    stream.addFilter(ExpectedErrors())
    return stream


def configure(level: int) -> None:
    """Logs to stderr (never stdout: the console prints there), one line each, with their ids; routine
    library chatter quiet."""
    logging.basicConfig(level=level, handlers=[handler()])
    for name, quiet in QUIET_LOGGERS.items():
        logging.getLogger(name).setLevel(quiet)

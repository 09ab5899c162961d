"""One bot process per database: an OS lock on a file beside it, held for the process's lifetime.

Two processes on one database would each send every campaign and every escalation notice. An OS lock
(`flock`) rather than a lease row in the database: the kernel releases it the moment the process ends,
however it ends (a crash, SIGKILL, a power cut), so a restart never waits for a lease to run out, and a
lock needs no clock. It works on local disks (not reliably on NFS: keep the database on local storage).
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from bot.config import StartupError


class InstanceLock:
    """The held lock; `release()` (or the process's end) lets the next process in."""

    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self._fd: int | None = fd

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the file releases the lock
            self._fd = None


def lock_path(database_path: Path | str) -> Path:
    """The lock file beside the database: `bot.sqlite3` → `bot.sqlite3.lock` (never deleted: deleting a
    lock file another process holds would let a third one in)."""
    db = Path(database_path)
    return db.with_name(db.name + ".lock")


def acquire(database_path: Path | str) -> InstanceLock | None:
    """Take the lock for this database, or raise StartupError with one line when another process holds it.
    None for an in-memory database (nothing to share)."""
    if str(database_path) == ":memory:":
        return None
    path = lock_path(database_path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        raise StartupError(f"Database error: cannot create the lock file {path} ({exc.strerror}): make its folder "
                           "writable for the bot's user") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise StartupError(f"Database error: {database_path} is in use by another bot process (it holds {path}): "
                           "stop that one first, or give this one its own DATABASE_PATH") from None
    os.ftruncate(fd, 0)
    os.write(fd, f"{os.getpid()}\n".encode())  # for the operator: which process holds it
    return InstanceLock(path, fd)

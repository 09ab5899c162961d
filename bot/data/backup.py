"""A consistent copy of the live database with SQLite's online backup API.

WAL mode lets the bot keep writing while the copy is taken: the backup reads one snapshot (a
single step), so the copy is what the database held at one instant, committed transactions only.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path


def backup(source: Path | str, target: Path | str) -> tuple[int, str]:
    """Copy `source` to `target` (replaced if present); returns (size in bytes, integrity_check result)."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    src = sqlite3.connect(Path(source), timeout=30)
    try:
        dst = sqlite3.connect(partial)
        try:
            src.backup(dst)  # pages=-1: one step, one snapshot
            dst.execute("PRAGMA journal_mode = DELETE")  # a single self-contained file
            check = dst.execute("PRAGMA integrity_check").fetchone()[0]
        finally:
            dst.close()
    finally:
        src.close()
    partial.replace(target)  # the target appears whole or not at all
    return target.stat().st_size, check

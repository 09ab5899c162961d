"""The throwaway PostgreSQL server of the tests and benchmarks (bot/data/pgtemp.py) goes away with its owner."""

from __future__ import annotations

import os
import select
import subprocess
import sys
from pathlib import Path

START = """
from bot.data.pgtemp import TempPostgres
pg = TempPostgres().start()
pid = (pg.data / "postmaster.pid").read_text().split()[0]
print(pg.root, pg._guard.pid, pid, flush=True)
input()
"""


def test_a_killed_owner_takes_its_postgresql_server_and_folder_with_it():
    owner = subprocess.Popen([sys.executable, "-c", START], stdout=subprocess.PIPE, stdin=subprocess.PIPE,
                             cwd=Path(__file__).resolve().parents[1], text=True)
    root, guard, postmaster = owner.stdout.readline().split()
    watched = os.pidfd_open(int(guard))
    try:
        assert Path(root).exists()
        assert running(int(postmaster))
        owner.kill()  # SIGKILL: no stop(), no atexit
        owner.wait()
        ready, _, _ = select.select([watched], [], [], 60)  # the guard process ends
        assert ready
    finally:
        os.close(watched)
        owner.stdout.close()
        owner.stdin.close()
    assert not Path(root).exists()
    assert not running(int(postmaster))


def running(pid: int) -> bool:
    """Whether the process runs (a zombie, ended but not yet reaped by whoever adopted it, does not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def test_a_server_stopped_as_usual_leaves_its_guard_with_nothing_to_do():
    from bot.data.pgtemp import TempPostgres

    pg = TempPostgres().start()
    guard = pg._guard
    pg.stop()
    assert guard is not None and guard.returncode == 0
    assert not pg.root.exists()

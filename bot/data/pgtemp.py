"""A throwaway PostgreSQL server in a temporary folder, for the test suite and the benchmarks.

It runs the machine's own PostgreSQL binaries (Debian's `postgresql` package puts them under
/usr/lib/postgresql/N/bin) with `initdb` and `pg_ctl`, listens only on a unix socket in its folder (and, when
asked, on a loopback port), trusts local connections and skips fsync: fast, private, gone when stopped.
PostgreSQL refuses to run as root, so under root it runs as the `postgres` user (or `nobody`).
A guard process stops the server and removes its folder if the process that started it dies without stop()
(a test run killed, a benchmark interrupted): it waits on a pipe whose other end only that process holds.
Never used by the bot itself.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

SUPERUSER = "postgres"


class NoPostgres(RuntimeError):
    """The PostgreSQL server binaries are not installed (apt-get install postgresql)."""


def bindir() -> Path:
    """Where initdb and pg_ctl are: PG_BINDIR, the newest /usr/lib/postgresql/N/bin, or the PATH."""
    if os.environ.get("PG_BINDIR"):
        return Path(os.environ["PG_BINDIR"])
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).resolve().parent
    raise NoPostgres("PostgreSQL server binaries not found: install them (apt-get install postgresql) "
                     "or set PG_BINDIR to the folder holding initdb and pg_ctl")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class TempPostgres:
    """`start()` a private server; `url(name)` for a database in it; `stop()` removes everything."""

    def __init__(self, *, tcp: bool = False) -> None:
        self.bin = bindir()
        self.root = Path(tempfile.mkdtemp(prefix="pg-"))  # short: a unix socket path has at most 107 bytes
        self.data = self.root / "data"
        self.port = _free_port() if tcp else 5432  # without tcp the port only names the socket file
        self.tcp = tcp
        self._user: pwd.struct_passwd | None = None
        self._guard: subprocess.Popen | None = None
        self._alive_w: int | None = None  # our end of the guard's pipe: closed by our death, or by stop()
        if os.geteuid() == 0:
            for name in ("postgres", "nobody"):
                try:
                    self._user = pwd.getpwnam(name)
                    break
                except KeyError:
                    continue
            os.chown(self.root, self._user.pw_uid, self._user.pw_gid)
            os.chmod(self.root, 0o755)

    def _run(self, *args: str) -> None:
        _run(self.bin, self.root, self._user, *args)

    def _start_guard(self) -> None:
        read, self._alive_w = os.pipe()  # both ends non-inheritable: only the guard gets `read`
        try:
            self._guard = subprocess.Popen(
                [sys.executable, "-c", "import sys; from bot.data.pgtemp import guard; guard(*sys.argv[1:])",
                 str(read), str(self.bin), str(self.root), self._user.pw_name if self._user else ""],
                pass_fds=(read,), start_new_session=True,  # a signal to our process group does not reach it
                cwd=Path(__file__).resolve().parents[2], stdin=subprocess.DEVNULL)
        finally:
            os.close(read)

    def start(self) -> TempPostgres:
        self._run("initdb", "-D", str(self.data), "-U", SUPERUSER, "-A", "trust", "-E", "UTF8", "--locale=C",
                  "--no-sync")
        options = (f"-k {self.root} -p {self.port} -c listen_addresses='{'127.0.0.1' if self.tcp else ''}' "
                   "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300")
        self._start_guard()
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.root / "log"), "-o", options, "-w", "start")
        return self

    def url(self, database: str = "postgres") -> str:
        """A DATABASE_URL for asyncpg: over TCP on loopback when started with tcp, else the unix socket."""
        if self.tcp:
            return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{database}"
        return f"postgresql://{SUPERUSER}@/{database}?host={self.root}&port={self.port}"

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)
            if self._alive_w is not None:
                os.write(self._alive_w, b"stopped")  # the guard leaves without doing anything
                os.close(self._alive_w)
                self._alive_w = None
            if self._guard is not None:
                self._guard.wait(10)


def _run(bindir: Path, root: Path, user: pwd.struct_passwd | None, *args: str) -> None:
    """One PostgreSQL program, as `user` when given (PostgreSQL refuses root)."""

    def demote() -> None:
        if user is not None:
            os.setgid(user.pw_gid)
            os.setuid(user.pw_uid)

    env = {**os.environ, "LC_ALL": "C", "LANG": "C"}
    result = subprocess.run([str(bindir / args[0]), *args[1:]], capture_output=True, text=True,
                            preexec_fn=demote, env=env, cwd=root, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"{args[0]} failed: {result.stderr.strip() or result.stdout.strip()}")


def guard(fd: str, bindir: str, root: str, user: str) -> None:
    """The guard process: blocks until the starting process stops the server (it writes first) or dies (the
    pipe ends without a word); then, in the second case, stops the server at once and removes its folder."""
    if os.read(int(fd), 16):
        return
    data = Path(root) / "data"
    if (data / "postmaster.pid").exists():
        try:
            _run(Path(bindir), Path(root), pwd.getpwnam(user) if user else None,
                 "pg_ctl", "-D", str(data), "-m", "immediate", "-w", "stop")
        except RuntimeError:
            pass  # not running after all
    shutil.rmtree(root, ignore_errors=True)

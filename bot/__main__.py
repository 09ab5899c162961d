"""python -m bot [run|console|search|content|qr|backup|report|migrate|dashboard-link|ingress|worker] — see README."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys

from dotenv import load_dotenv

from bot import logsafe
from bot.config import LOCALES, ROOT, ConfigError, Settings, StartupError


def _content(settings: Settings):
    from bot.content import load

    return load(settings.content_dir)


def cmd_run(settings: Settings, args: argparse.Namespace) -> int:
    if not settings.bot_token and not settings.zalo_bot_token:
        print("BOT_TOKEN is not set: starting the local chat console instead (type /start).", file=sys.stderr)
        return cmd_console(settings, args)
    from bot.app import serve

    logsafe.configure(logging.INFO)
    asyncio.run(serve(settings))  # a failure to start or go on raises StartupError: main prints its line
    return 0


def _needs_postgres(settings: Settings, what: str) -> str | None:
    if not settings.database_url:
        return (f"python -m bot {what} needs DATABASE_URL=postgresql://… (several processes share one PostgreSQL "
                "database); with one SQLite file run python -m bot")
    if not settings.bot_token and not settings.zalo_bot_token:
        return f"python -m bot {what} needs BOT_TOKEN or ZALO_BOT_TOKEN"
    return None


def _several(settings: Settings, what: str, main) -> int:
    """Run `main()` (a coroutine function) as one of several processes on PostgreSQL, once they can be."""
    problem = _needs_postgres(settings, what)
    if problem:
        print(problem, file=sys.stderr)
        return 1
    logsafe.configure(logging.INFO)
    logging.getLogger("procrastinate").setLevel(logging.WARNING)  # a line per job is noise; problems still show
    asyncio.run(main())
    return 0


def cmd_ingress(settings: Settings, args: argparse.Namespace) -> int:
    """python -m bot ingress: the HTTP server and webhooks; updates go onto the workers' queue (issue 17)."""
    from bot.app import serve

    return _several(settings, "ingress", lambda: serve(settings, queue=True))


def cmd_worker(settings: Settings, args: argparse.Namespace) -> int:
    """python -m bot worker [--concurrency N]: process queued updates and run the timed work (issue 17)."""
    from bot.app import work

    return _several(settings, "worker", lambda: work(settings, args.concurrency))


def cmd_console(settings: Settings, args: argparse.Namespace) -> int:
    from dataclasses import replace
    from pathlib import Path

    from bot.console import run_console

    logsafe.configure(logging.WARNING)
    if getattr(args, "db", None):
        settings = replace(settings, database_path=Path(args.db), database_url="")
    from bot import instance

    # the console writes too: never beside a running bot (PostgreSQL: its lock is taken once connected)
    lock = None if settings.database_url else instance.acquire(settings.database_path)
    try:
        return asyncio.run(run_console(settings, channel=getattr(args, "channel", None) or "telegram"))
    finally:
        if lock is not None:
            lock.release()


def cmd_search(settings: Settings, args: argparse.Namespace) -> int:
    from bot.search import SearchIndex

    content = _content(settings)
    for hit in SearchIndex(list(content.guides.values())).search(" ".join(args.query), args.lang):
        print(json.dumps({"id": hit.guide.id, "title": hit.guide.title.get(args.lang), "score": hit.score},
                         ensure_ascii=False))
    return 0


def cmd_content(settings: Settings, args: argparse.Namespace) -> int:
    from bot.content import check

    content, problems = check(settings.content_dir)
    for problem in problems:
        print(problem)
    for warning in content.warnings:  # not failures: stderr, so stdout stays the verdict
        print(f"warning: {warning}", file=sys.stderr)
    if problems:
        print(f"{len(problems)} problem(s) found.", file=sys.stderr)
        return 1
    print(f"Content OK: {len(content.guides)} guides, {len(content.categories)} categories, "
          f"{len(content.wards)} wards, {len(content.points)} support points, "
          f"{len(content.phone_lines)} phone lines, {len(content.outcomes)} outcomes.")
    return 0


def cmd_qr(settings: Settings, args: argparse.Namespace) -> int:
    from bot import qr

    return qr.run(args.rest, _content(settings), settings.bot_username,  # qr parses its own options
                  settings.zalo_bot_link)


def cmd_backup(settings: Settings, args: argparse.Namespace) -> int:
    from bot.data.backup import backup

    if settings.database_url:
        print("DATABASE_URL is PostgreSQL: back it up with pg_dump (README, section PostgreSQL)", file=sys.stderr)
        return 1
    if not settings.database_path.exists():
        print(f"No database at {settings.database_path}", file=sys.stderr)
        return 1
    size, check = backup(settings.database_path, args.path)
    print(f"Backup written to {args.path} ({size} bytes), integrity check: {check}")
    return 0 if check == "ok" else 1


def cmd_migrate(settings: Settings, args: argparse.Namespace) -> int:
    """Bring the database (DATABASE_URL, else DATABASE_PATH) to this version's schema and say where it is."""
    from bot.data import Database
    from bot.data.migrations import MIGRATIONS

    async def go() -> int:
        db = await Database.open(settings.database)  # migrates; a newer or unusable database: StartupError
        try:
            return await db.version()
        finally:
            await db.close()

    version = asyncio.run(go())
    if settings.database_url:
        asyncio.run(_queue_schema(settings))
    where = "PostgreSQL" if settings.database_url else str(settings.database_path)
    print(f"Database {where} is at schema version {version} of {len(MIGRATIONS)}")
    return 0


async def _queue_schema(settings: Settings) -> None:
    """The workers' queue tables (procrastinate), created when absent (bot/queue.py)."""
    from bot import queue
    from bot.data import Database

    db = await Database.open(settings.database)
    app = queue.build(settings.database_url, pool_size=1)
    try:
        await app.open_async()
        await queue.ensure_schema(app, db)
    finally:
        await app.connector.close_async()
        await db.close()


def cmd_report(settings: Settings, args: argparse.Namespace) -> int:
    """python -m bot report --month 2026-10 [--ward ID] [--lang vi] -o report.pdf (issue 16)."""
    from bot.reports import run_report

    return asyncio.run(run_report(settings, args.month, args.ward, args.lang, args.output))


def cmd_dashboard_link(settings: Settings, args: argparse.Namespace) -> int:
    """python -m bot dashboard-link USER_ID (issue 13)."""
    from bot.dashboard import run_link

    return asyncio.run(run_link(settings, args.user_id))


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError("a whole number of at least 1")
    return int(text)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bot", description="Trợ lý số: the digital assistant bot.")
    sub = p.add_subparsers(dest="command")
    sub.add_parser("run", help="serve Telegram and/or Zalo: webhooks when PUBLIC_BASE_URL is set, else long "
                   "polling, with health and metrics on HOST:PORT (the console when neither token is set)")
    console = sub.add_parser("console", help="chat with the bot in this terminal (no Telegram needed)")
    console.add_argument("--db", help="SQLite file to use (default: DATABASE_PATH)")
    console.add_argument("--channel", choices=["telegram", "zalo"], default="telegram",
                         help="whose view to show: a Telegram user's (buttons) or a Zalo user's (numbered text)")
    search = sub.add_parser("search", help="search the guides; prints JSON lines, best first")
    search.add_argument("query", nargs="+")
    search.add_argument("--lang", choices=LOCALES, default="vi")
    content = sub.add_parser("content", help="content chores")
    content.add_argument("action", choices=["check"])
    qr = sub.add_parser("qr", help="QR posters: qr GUIDE_ID -o poster.png | qr --all -o DIR", add_help=False)
    qr.add_argument("rest", nargs=argparse.REMAINDER)
    backup = sub.add_parser("backup", help="copy the database safely while the bot runs")
    backup.add_argument("path", help="where to write the copy")
    sub.add_parser("migrate", help="apply the database migrations now (DATABASE_URL or DATABASE_PATH) and exit")
    sub.add_parser("ingress", help="several workers (PostgreSQL): the HTTP server and webhooks as run does, "
                   "each update put on the workers' queue")
    worker = sub.add_parser("worker", help="several workers (PostgreSQL): process the queued updates and run the "
                            "timed work; start as many as needed")
    worker.add_argument("--concurrency", type=_positive, default=8, help="updates processed at once (default 8)")
    report = sub.add_parser("report", help="the month's one-page A4 report: report --month 2026-10 -o report.pdf")
    report.add_argument("--month", required=True, help="YYYY-MM (local calendar month)")
    report.add_argument("--ward", help="a ward id or name (default: every ward)")
    report.add_argument("--lang", choices=LOCALES, default="vi")
    report.add_argument("-o", "--output", required=True, help="where to write the PDF")
    link = sub.add_parser("dashboard-link", help="print a one-time sign-in link to the web dashboard (10 minutes) "
                          "for an admin or an active volunteer")
    link.add_argument("user_id", type=int, help="the person's number, as /admins and /volunteers show it")
    return p


COMMANDS = {"run": cmd_run, "console": cmd_console, "search": cmd_search, "content": cmd_content, "qr": cmd_qr,
            "backup": cmd_backup, "report": cmd_report, "migrate": cmd_migrate,
            "ingress": cmd_ingress, "worker": cmd_worker, "dashboard-link": cmd_dashboard_link}


def main(argv: list[str] | None = None) -> int:
    load_dotenv(ROOT / ".env", override=False)
    args, unknown = parser().parse_known_args(argv)
    if args.command == "qr":
        args.rest = unknown + args.rest  # "--all -o DIR" belongs to qr's own parser
    elif unknown:
        parser().error(f"unrecognized arguments: {' '.join(unknown)}")
    try:
        settings = Settings.from_env()
    except ConfigError as exc:
        print(f"Configuration error: {exc}", file=sys.stderr)
        return 2
    from bot.content import ContentError

    try:
        return COMMANDS[args.command or "run"](settings, args)
    except StartupError as exc:  # one line naming the file or setting, never a traceback
        print(exc, file=sys.stderr)
        return 1
    except ContentError as exc:
        for problem in exc.problems:
            print(f"Content error: {problem}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())

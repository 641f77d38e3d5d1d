"""`hearth run | serve | console | db upgrade | events retry | teams-package`."""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import os
import re
import sys
import tempfile
from collections.abc import Sequence
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

from aiohttp import web

from hearth.bot.app import init_app
from hearth.bot.console import interactive, span
from hearth.bot.console.script import ScriptError
from hearth.bot.console.session import ConsoleSession
from hearth.bot.settings import GUID, Settings, SettingsError
from hearth.bot.startup import StartupError, upgrade_database
from hearth.bot.teams import manifest
from hearth.handlers import build_registry
from hearth.storage import journal
from hearth.storage.db import Database

SEMVER = re.compile(r"^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)$")


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        settings = Settings.from_env(os.environ)
    except SettingsError as error:
        print(f"hearth: {error}", file=sys.stderr)
        return 2
    serving = settings.slack_enabled or settings.teams_enabled
    quiet = args.command in (None, "run", "console", "teams-package") and not serving
    logging.basicConfig(
        level=logging.WARNING if quiet else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    match args.command:
        case "serve":
            return serve(settings, args.port)
        case "console":
            try:
                start = span.start_time(args.start) if args.start is not None else None
            except span.SpanError as error:
                print(f"hearth: --start: {error}", file=sys.stderr)
                return 2
            return console(settings, args.script, start, args.database)
        case "db":
            try:
                asyncio.run(_upgrade(settings.database_url))
            except StartupError as error:
                return _refuse(error)
            print("database is up to date")
            return 0
        case "events":
            return asyncio.run(_retry_events(settings.database_url, args.all, args.ids))
        case "teams-package":
            return teams_package(settings, args)
        case "routing-eval":
            return routing_eval(args.dataset, fit=args.fit)
        case _:  # run
            if serving:
                return serve(settings, None)
            print("No Slack or Teams credentials set: starting the console (see README).")
            return console(settings, None, None, None)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hearth", description="Hearth, the CoP facilitator bot")
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("run", help="serve if credentials are set, else open the console")
    serve_parser = sub.add_parser("serve", help="serve Slack (and Teams) over HTTP")
    serve_parser.add_argument("--port", type=int, help="overrides PORT")
    console_parser = sub.add_parser("console", help="try Hearth in a simulated workspace")
    console_parser.add_argument("--script", type=Path, help="run this script and exit")
    console_parser.add_argument("--start", help="simulated start time (ISO 8601, UTC if no zone)")
    console_parser.add_argument(
        "--database", help="database URL (default: DATABASE_URL; a fresh one for --script)"
    )
    db_parser = sub.add_parser("db", help="database tasks")
    db_parser.add_argument("action", choices=["upgrade"])
    events = sub.add_parser("events", help="acknowledged events Hearth could not handle")
    events.add_argument("action", choices=["retry"])
    events.add_argument("ids", nargs="*", type=int, metavar="ID", help="dead letters to retry")
    events.add_argument("--all", action="store_true", help="retry every dead letter")
    routing = sub.add_parser(
        "routing-eval", help="measure expert routing on a Q&A dump (docs/routing.md)"
    )
    routing.add_argument(
        "--dataset",
        type=Path,
        action="append",
        required=True,
        help="a Stack Exchange dump or team2box folder (repeat for several, pooled)",
    )
    routing.add_argument(
        "--fit",
        action="store_true",
        help="also fit the ranking model on the validation slices and print its weights",
    )
    teams = sub.add_parser("teams-package", help="write the Teams app package (zip) to upload")
    teams.add_argument("--app-id", help="the Azure Bot's app id (default: MICROSOFT_APP_ID)")
    teams.add_argument("--version", dest="app_version", help="app version (default: Hearth's)")
    teams.add_argument("--output", type=Path, default=Path("hearth-teams.zip"), help="zip path")
    teams.add_argument("--source", type=Path, help="folder with manifest.json and the icons")
    teams.add_argument(
        "--refresh-template",
        action="store_true",
        help="only update the command menus in the source manifest.json",
    )
    return parser


def teams_package(settings: Settings, args: argparse.Namespace) -> int:
    """Write the Teams app zip (or refresh the committed manifest's command menus)."""
    source = args.source or manifest.SOURCE
    missing = [name for name in manifest.FILES if not (source / name).is_file()]
    if missing:
        print(f"hearth: {source} lacks {', '.join(missing)} (pass --source)", file=sys.stderr)
        return 2
    registry = build_registry()
    if args.refresh_template:
        changed = manifest.refresh_template(registry, source)
        print(f"{source / 'manifest.json'} {'updated' if changed else 'is up to date'}")
        return 0
    app_id = args.app_id or settings.microsoft_app_id
    if not app_id or not GUID.match(app_id):
        print(
            "hearth: teams-package needs the Azure Bot's app id (a GUID): "
            "set MICROSOFT_APP_ID or pass --app-id",
            file=sys.stderr,
        )
        return 2
    version = args.app_version or metadata.version("hearth")
    if not SEMVER.match(version):
        print(f"hearth: --version must look like 1.2.3, not {version!r}", file=sys.stderr)
        return 2
    path = manifest.package(
        args.output, app_id=app_id, version=version, registry=registry, source=source
    )
    print(f"wrote {path}: upload it in Teams (Apps → Manage your apps → Upload an app)")
    return 0


def routing_eval(folders: list[Path], *, fit: bool) -> int:
    """Replay each dataset through Hearth's storage and router; print the methods' figures."""
    from hearth.handlers.expertise import evaluation

    try:
        evaluation.run(folders, fit=fit)
    except (evaluation.DatasetError, OSError) as error:
        print(f"hearth: routing-eval: {error}", file=sys.stderr)
        return 2
    return 0


def _refuse(error: Exception) -> int:
    """Hearth cannot start: one line on stderr, exit status 2."""
    print(f"hearth: {error}", file=sys.stderr)
    return 2


def serve(settings: Settings, port: int | None) -> int:
    try:
        settings.check_can_serve()
    except SettingsError as error:
        return _refuse(error)
    app = init_app(settings)
    app.on_startup.append(_freeze_heap)
    try:
        # no per-request access log: a line per Slack event costs ~7% of CPU (bench/ingest.py)
        web.run_app(app, host="0.0.0.0", port=port or settings.port, access_log=None)
    except StartupError as error:  # the database or a platform refused us before listening
        return _refuse(error)
    return 0


async def _freeze_heap(app: web.Application) -> None:
    """Move everything loaded at start-up out of the garbage collector's sight.

    Full collections otherwise walk SQLAlchemy's and the SDKs' long-lived objects again and
    again, pausing the loop for ~100 ms (bench/ingest.py: p99 acknowledgement latency).
    """
    gc.collect()
    gc.freeze()


async def _upgrade(url: str) -> None:
    db = Database(url)
    try:
        await upgrade_database(db)
    finally:
        await db.close()


async def _retry_events(url: str, everything: bool, ids: list[int]) -> int:
    """List the dead letters, or give those asked for (or --all) a fresh set of attempts."""
    db = Database(url)
    try:
        await upgrade_database(db)
        async with db.transaction() as session:
            if not everything and not ids:
                dead = await journal.dead_letters(session)
                for entry in dead:
                    line = (entry.id, entry.kind, f"{entry.attempts} attempts", entry.last_error)
                    print(*line, sep="\t")
                print(f"{len(dead)} dead letters; `hearth events retry --all` or IDs to retry")
                return 0
            now = datetime.now(UTC)
            retried = await journal.requeue_dead(session, now, None if everything else ids)
    finally:
        await db.close()
    missing = sorted(set(ids) - set(retried))
    print(f"queued {len(retried)} events again: Hearth handles them when it next looks")
    if missing:
        print(f"hearth: not dead letters: {', '.join(map(str, missing))}", file=sys.stderr)
        return 1
    return 0


def console(
    settings: Settings, script: Path | None, start: datetime | None, database: str | None
) -> int:
    if script is not None and not script.is_file():
        print(f"hearth: no such script: {script}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as scratch:
        url = database or (
            f"sqlite+aiosqlite:///{scratch}/console.db" if script else settings.database_url
        )
        setting = "--database" if database else "DATABASE_URL"
        try:
            return asyncio.run(_console(url, setting, settings, script, start or datetime.now(UTC)))
        except StartupError as error:
            return _refuse(error)


async def _console(
    url: str, setting: str, settings: Settings, script: Path | None, start: datetime
) -> int:
    db = Database(url)
    try:
        await upgrade_database(db, setting)
        session = ConsoleSession(
            db, start.replace(second=0, microsecond=0), print, settings.defaults()
        )
        await session.start()
        if script is not None:
            return await _run_script(session, script)
        await _interactive(session)
        return 0
    finally:
        await db.close()


async def _run_script(session: ConsoleSession, script: Path) -> int:
    for number, line in enumerate(script.read_text().splitlines(), start=1):
        try:
            await session.run_line(line)
        except ScriptError as error:
            print(f"{script}:{number}: {error}", file=sys.stderr)
            return 2
    return 0


async def _interactive(session: ConsoleSession) -> None:
    await interactive.run(session)


if __name__ == "__main__":
    raise SystemExit(main())

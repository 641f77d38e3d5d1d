"""A Hearth scheduler process for the leader tests: `python -m tests.scheduler_process URL NAME`.

It runs the real `SchedulerRunner` (advisory-lock leadership on PostgreSQL, default intervals)
with a one-shot kind `test.mark` that writes an outbox row naming this process. With `--hang`
its `test.mark` handler prints `firing` and never finishes, holding its claim uncommitted: the
state a leader is in when it is killed mid-firing. Logs go to stdout; SIGTERM stops it.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys

from hearth.handlers import build_registry
from hearth.handlers.cards import Card
from hearth.handlers.context import Context, Defaults
from hearth.handlers.hub import Hearth
from hearth.handlers.jobs import JobDue
from hearth.handlers.ports import SystemClock, Target
from hearth.scheduler.runner import SchedulerRunner
from hearth.storage.db import Database
from tests.recording import RecordingMessenger


async def main(url: str, name: str, hang: bool) -> None:
    registry = build_registry()

    @registry.job("test.mark")
    async def mark(context: Context, job: JobDue) -> None:
        print(f"firing {job.key}", flush=True)
        if hang:
            await asyncio.Event().wait()
        await context.enqueue(
            f"marked:{job.key}:{name}", "test", Target("channel", "C1"), Card(name)
        )

    db = Database(url)
    hub = Hearth(db, registry, {"test": RecordingMessenger()}, SystemClock(), Defaults())
    runner = SchedulerRunner.for_hub(hub)
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, runner.stop)
    try:
        await runner.run()
    finally:
        await db.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("name")
    parser.add_argument("--hang", action="store_true")
    args = parser.parse_args()
    logging.basicConfig(stream=sys.stdout, level=logging.INFO, format="%(message)s")
    asyncio.run(main(args.url, args.name, args.hang))

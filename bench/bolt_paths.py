"""What bolt costs per Events API event: a no-op listener against Hearth's event middleware.

In one process, alternating, CPU time per `message` event through `AsyncApp.async_dispatch`:
- "listener": a bare AsyncApp with a no-op `message` listener (the baseline of bench/ingest.py);
- "hearth": an AsyncApp configured and wired as `hearth serve` does (hearth.bot.slack.adapter),
  handing each event to a hub stand-in that only counts it: Hearth's Socket Mode path;
- "hearth http": what Hearth's HTTP route does after the signature check: the body read against
  its schema and handed to the intake directly (bolt's dispatch skipped, its self-event check kept).
No HTTP and no database: this isolates the dispatch path that hearth/bot/slack/adapter.py chose.

    .venv/bin/python bench/bolt_paths.py [--events 10000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from slack_bolt.app.async_app import AsyncApp  # noqa: E402
from slack_bolt.authorization import AuthorizeResult  # noqa: E402
from slack_bolt.authorization.async_authorize import AsyncAuthorize  # noqa: E402
from slack_bolt.request.async_request import AsyncBoltRequest  # noqa: E402
from slack_sdk.web.async_client import AsyncWebClient  # noqa: E402

from bench.ingest import message_event  # noqa: E402
from hearth.bot.slack import adapter, payloads  # noqa: E402
from hearth.handlers.events import Event  # noqa: E402
from hearth.handlers.ports import SystemClock  # noqa: E402

HEADERS = {"content-type": "application/json"}


class FixedIdentity(AsyncAuthorize):
    """The bot identity without auth.test: both apps authorize the same way."""

    async def __call__(self, *, user_id: str | None = None, **_: Any) -> AuthorizeResult:
        return AuthorizeResult(
            enterprise_id=None,
            team_id="T111",
            bot_id="B111",
            bot_user_id="UBOT",
            bot_token="xoxb-bench",
            user_id=user_id,
        )

    async def result(self) -> AuthorizeResult:
        return await self()


class CountingHub:
    """Stands in for the hub and the event journal: counts what it is given."""

    def __init__(self) -> None:
        self.events = 0
        self.db = None  # commands' replay guard would use it; only events are measured here

    async def accept(self, event: Event) -> bool:
        self.events += 1
        return True

    async def handle(self, event: Event) -> bool:
        self.events += 1
        return True


def listener_app() -> tuple[AsyncApp, CountingHub]:
    app = AsyncApp(
        client=AsyncWebClient(),
        authorize=FixedIdentity(),
        signing_secret="unused",
        request_verification_enabled=False,
    )
    seen = CountingHub()

    @app.event("message")
    async def noop() -> None:
        seen.events += 1

    return app, seen


def hearth_app() -> tuple[AsyncApp, CountingHub]:
    app = adapter.bolt_app(AsyncWebClient(), FixedIdentity(), signing_secret="unused")
    hub = CountingHub()
    adapter.register(app, hub, SystemClock(), hub, FixedIdentity())  # type: ignore[arg-type]
    return app, hub


class HttpPath:
    """The HTTP route's event path, from the decoded body on, as a dispatcher."""

    def __init__(self) -> None:
        self.seen = CountingHub()
        self.intake = adapter.EventIntake(self.seen, FixedIdentity())  # type: ignore[arg-type]

    async def async_dispatch(self, request: AsyncBoltRequest) -> Any:
        body = request.body
        payload = payloads.read(body)
        assert isinstance(payload, payloads.EventCallback)
        return await self.intake.take_signed(body, payload)


def http_path() -> tuple[Any, CountingHub]:
    path = HttpPath()
    return path, path.seen


async def cpu_per_event(app: Any, seen: CountingHub, phase: int, events: int) -> float:
    """CPU seconds per event dispatched (listener tasks included)."""
    bodies = [message_event(phase, i).decode() for i in range(events)]
    before, started = seen.events, time.process_time()
    for body in bodies:
        response = await app.async_dispatch(AsyncBoltRequest(body=body, headers=HEADERS))
        if response.status != 200:
            raise SystemExit(f"dispatch answered {response.status}: {response.body}")
    while seen.events - before < events:  # bolt runs listeners as tasks after acknowledging
        await asyncio.sleep(0)
    return (time.process_time() - started) / events


async def run(args: argparse.Namespace) -> None:
    apps = {"listener": listener_app(), "hearth": hearth_app(), "hearth http": http_path()}
    for app, seen in apps.values():  # warm up
        await cpu_per_event(app, seen, 0, 500)
    costs: dict[str, list[float]] = {name: [] for name in apps}
    phase = 0
    for _ in range(args.rounds):
        for name, (app, seen) in apps.items():
            phase += 1
            costs[name].append(await cpu_per_event(app, seen, phase, args.events))
    listener = statistics.median(costs["listener"])
    hearth = statistics.median(costs["hearth"])
    http = statistics.median(costs["hearth http"])
    print(f"{args.events} events x {args.rounds} rounds (medians), CPU per event dispatched")
    print(f"no-op listener:          {listener * 1e6:6.1f} us")
    print(f"hearth's event path:     {hearth * 1e6:6.1f} us")
    print(f"hearth's HTTP path:      {http * 1e6:6.1f} us")
    print(f"hearth / listener:       {hearth / listener:6.2f}x")
    print(f"hearth http / listener:  {http / listener:6.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=10000)
    parser.add_argument("--rounds", type=int, default=3)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()

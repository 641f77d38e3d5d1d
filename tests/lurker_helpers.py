"""Lurker tests on every platform: running a community's sweep by hand, interrupted or not."""

from __future__ import annotations

import contextlib

from sqlalchemy import select

from hearth.handlers.context import Context
from hearth.handlers.hub import Hearth
from hearth.handlers.jobs import JobDue
from hearth.handlers.lurkers import nudges
from hearth.storage.models import Community, Nudge, OutboxMessage


class Interrupted(RuntimeError):
    """The process died mid-sweep (its transaction is rolled back)."""


async def sweep(hub: Hearth, *, interrupt: bool = False) -> int:
    """Run the sweep of the hub's one community as the scheduler would (its own transaction and
    context); `interrupt`: die after it scheduled its nudges, before the commit. How many it
    scheduled (0 when interrupted)."""
    with contextlib.suppress(Interrupted):
        async with hub.db.transaction() as session:
            community = await session.scalar(select(Community))
            assert community is not None
            event = JobDue(
                platform=community.platform,
                workspace=community.workspace,
                channel=community.channel,
                user="",
                at=hub.clock.now(),
                kind="lurkers.sweep",
                key="lurkers.sweep",
                payload={"community": community.id},
            )
            messenger = hub.messengers[community.platform]
            context = Context(session, event, messenger, hub.clock, hub.registry, hub.defaults)
            count = await nudges.sweep(context, community)
            if interrupt:
                raise Interrupted
            return count
    return 0


async def nudge_rows(hub: Hearth) -> tuple[int, int]:
    """How many nudges and nudge DMs (outbox rows) are stored."""
    async with hub.db.transaction() as session:
        found = len(list(await session.scalars(select(Nudge))))
        sent = select(OutboxMessage).where(OutboxMessage.kind == "nudge")
        return found, len(list(await session.scalars(sent)))

"""The audit log: who changed what in a community, and when.

Every command registered as audited (by default, every facilitator-only command that changes
something) is recorded by the command runner when it succeeds and changed something, with its
arguments as typed: a handler that finds nothing to change (adding a facilitator twice) says so
with `no_change`. Features record other changes with `record`. `/cop audit` shows a
community's facilitators the latest entries. An actor who is later forgotten shows as
"a former member".
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from sqlalchemy import select

from hearth.handlers.cards import Card, ContextLine, Section, names_of, typed
from hearth.storage.models import AuditEntry, Community, Member

if TYPE_CHECKING:
    from hearth.handlers.commands import Args
    from hearth.handlers.context import Context
    from hearth.handlers.registry import Command, Registry

SHOWN = 20
MAX_DETAIL = 500
SHOWN_DETAIL = 120
FORMER_MEMBER = "a former member"
MENTION = re.compile(r"<@([^|>\s]+)(?:\|[^>]*)?>")
UNCHANGED = "hearth.audit.unchanged"
"""Session.info key: the command being run changed nothing."""


def register(registry: Registry) -> None:
    registry.command(
        "audit",
        summary="who changed what in this community, and when",
        facilitator_only=True,
        audited=False,
    )(show)


async def record(context: Context, community: Community, action: str, detail: str = "") -> None:
    """Add an entry by the event's actor (nobody for a due job)."""
    actor = await context.member() if context.event.user else None
    context.session.add(
        AuditEntry(
            community_id=community.id,
            actor_id=actor.id if actor else None,
            action=action,
            detail=_clip(detail, MAX_DETAIL),
            at=context.now(),
        )
    )


def start(context: Context) -> None:
    """A command is about to run (the runner calls this)."""
    context.session.info.pop(UNCHANGED, None)


def no_change(context: Context) -> None:
    """The command being run found everything as asked already: it is not recorded."""
    context.session.info[UNCHANGED] = True


def changed(context: Context) -> bool:
    """Whether the command just run changed something (it did not call `no_change`)."""
    return not context.session.info.pop(UNCHANGED, False)


async def record_command(context: Context, command: Command, args: Args) -> None:
    """The command runner's entry for an audited command that succeeded."""
    community = await context.community()
    if community is not None:
        await record(context, community, command.name, args.text)


async def show(context: Context, args: Args) -> None:
    """The latest entries, newest first, privately."""
    community = await context.require_community()
    rows = list(
        await context.session.execute(
            select(AuditEntry, Member)
            .outerjoin(Member, Member.id == AuditEntry.actor_id)
            .where(AuditEntry.community_id == community.id)
            .order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
            .limit(SHOWN)
        )
    )
    if not rows:
        context.reply_privately(Card(f"Nothing has been changed in {typed(community.name)} yet."))
        return
    mentioned = {m for entry, _ in rows for m in MENTION.findall(entry.detail)}
    people = [actor for _, actor in rows if actor is not None]
    if mentioned:
        people += await context.session.scalars(
            select(Member).where(
                Member.platform == community.platform,
                Member.workspace == community.workspace,
                Member.user_id.in_(mentioned),
            )
        )
    zone = ZoneInfo(community.timezone)
    lines = [
        f"• {entry.at.astimezone(zone):%Y-%m-%d %H:%M} — "
        f"{f'<@{actor.user_id}>' if actor else FORMER_MEMBER}: "
        f"`{entry.action}`"
        + (f" {typed(_clip(entry.detail, SHOWN_DETAIL))}" if entry.detail else "")
        for entry, actor in rows
    ]
    context.reply_privately(
        Card(
            f"Latest changes in {typed(community.name)} (newest first):",
            (
                Section("\n".join(lines)),
                ContextLine(f"Times in {community.timezone}. Only facilitators see this."),
            ),
            names=names_of(people),
        )
    )


def _clip(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"

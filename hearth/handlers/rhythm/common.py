"""What the parts of the rhythm share: flags, links, the job's community, thread follow-ups."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from hearth.handlers import jobs
from hearth.handlers.cards import Card, Section
from hearth.handlers.commands import Args, UsageError
from hearth.handlers.context import Context
from hearth.handlers.jobs import JobDue
from hearth.handlers.ports import Target
from hearth.storage import outbox
from hearth.storage.models import Community, Facilitator, Member, OutboxMessage

URL = re.compile(r"https?://[A-Za-z0-9.-]+(?::[0-9]{1,5})?(?:/[^\s<>|*_`\"'\\]*)?")
MAX_URL = 500
FOLLOW_UP = "rhythm.thread"
FOLLOW_UP_WAIT = timedelta(minutes=1)
FOLLOW_UP_TRIES = 120
"""A follow-up waits for the message it answers this many times FOLLOW_UP_WAIT at most."""


def flags(args: Args, allowed: tuple[str, ...]) -> tuple[list[str], dict[str, str]]:
    """Positional words and `--flag value` (or `--flag=value`) pairs; UsageError on others."""
    positional: list[str] = []
    found: dict[str, str] = {}
    words = args.words
    index = 0
    while index < len(words):
        word = words[index]
        index += 1
        if word.quoted or not word.text.startswith("--"):
            positional.append(word.text)
            continue
        name, equals, value = word.text[2:].partition("=")
        if name not in allowed:
            expected = ", ".join(f"--{a}" for a in allowed)
            raise UsageError(f"I don't know --{name}; this takes {expected}.")
        if not equals:
            if index >= len(words):
                raise UsageError(f"--{name} needs a value after it.")
            value = words[index].text
            index += 1
        found[name] = value
    return positional, found


def link(text: str) -> str:
    """A web address as given, checked (it is shown as a link, so nothing else may be in it)."""
    text = text.strip().strip("<>")
    if len(text) > MAX_URL or not URL.fullmatch(text):
        raise UsageError(f"“{text[:60]}” is not a web address I can share; it starts http(s)://")
    return text


async def job_community(context: Context, due: JobDue) -> Community | None:
    return await context.session.get(Community, due.payload["community"])


async def facilitators(context: Context, community: Community) -> list[Member]:
    return list(
        await context.session.scalars(
            select(Member)
            .join(Facilitator, Facilitator.member_id == Member.id)
            .where(Facilitator.community_id == community.id)
            .order_by(Member.id)
        )
    )


async def follow_up(context: Context, parent: str, key: str, kind: str, card: Card) -> None:
    """Reply in the thread of the outbox message `parent` once it has landed (a one-shot that
    looks again every minute until it has): the digest's "more", the article's discussion."""
    payload = {"parent": parent, "key": key, "kind": kind, "card": card.to_json(), "try": 0}
    await jobs.schedule(context, f"{key}:wait0", FOLLOW_UP, context.now(), payload)


async def follow_up_job(context: Context, due: JobDue) -> None:
    payload: dict[str, Any] = due.payload
    row = await context.session.scalar(
        select(OutboxMessage).where(OutboxMessage.key == payload["parent"])
    )
    if row is None or row.status in (outbox.FAILED, outbox.SKIPPED, outbox.CANCELLED):
        return  # what it answers never landed: nothing to answer
    if row.sent_message_id is not None:
        target = Target("channel", row.sent_conversation or row.target_id, row.sent_message_id)
        await context.enqueue(
            payload["key"], payload["kind"], target, Card.from_json(payload["card"])
        )
        return
    attempt = int(payload["try"]) + 1
    if attempt <= FOLLOW_UP_TRIES:
        later = payload | {"try": attempt}
        key = f"{payload['key']}:wait{attempt}"
        await jobs.schedule(context, key, FOLLOW_UP, context.now() + FOLLOW_UP_WAIT, later)


def plain_card(text: str, *lines: str) -> Card:
    return Card(text, tuple(Section(line) for line in lines))

"""Scheduled work as handlers see it: the event a job runs under, and keyed one-shots.

A one-shot ("close poll 12 at 17:00") is a `due_jobs` row written in the transaction that
decided it (`schedule`), under a key that makes scheduling idempotent; its kind is declared
with `registry.job(kind)`. Recurring work is declared with `registry.every(...)`. The scheduler
(`hearth/scheduler/`) runs both, each firing once, in one process at a time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import event as orm_events
from sqlalchemy.orm import Session

from hearth.handlers.context import Context
from hearth.handlers.events import Event
from hearth.storage import jobs as stored


@dataclass(frozen=True, kw_only=True)
class JobDue(Event):
    """A job firing, as the event its handler runs under (`user` is empty: nobody acted).

    For a one-shot, `key` is its key; for recurring work, the job's name (one per community or
    platform) and `period` the scheduled time this firing stands for (UTC).
    """

    kind: str
    key: str
    payload: dict[str, Any] = field(default_factory=dict)
    period: datetime | None = None


async def schedule(
    context: Context,
    key: str,
    kind: str,
    due_at: datetime,
    payload: dict[str, Any],
    *,
    channel: str | None = None,
) -> bool:
    """Schedule a one-shot (in the handler's transaction) unless `key` is already waiting.

    Never schedule the key of a job that may be running while you hold a lock its handler
    takes (the insert would wait for it): give repeated jobs distinct keys (a time slot, say).
    """
    added = await stored.schedule(
        context.session, **_job(context, key, kind, due_at, payload, channel)
    )
    if added:
        _wake_after_commit(context, due_at)
    return added


def schedule_later(
    context: Context,
    key: str,
    kind: str,
    due_at: datetime,
    payload: dict[str, Any],
    *,
    channel: str | None = None,
) -> None:
    """`schedule`, written with the batch's other deferred writes: no statement now, for work
    that every event of a busy batch may schedule (a noticed question's routing, say)."""
    stored.schedule_later(context.session, **_job(context, key, kind, due_at, payload, channel))
    _wake_after_commit(context, due_at)


def _job(
    context: Context,
    key: str,
    kind: str,
    due_at: datetime,
    payload: dict[str, Any],
    channel: str | None,
) -> dict[str, Any]:
    event = context.event
    return {
        "key": key,
        "kind": kind,
        "platform": event.platform,
        "workspace": event.workspace,
        "channel": channel or event.channel,
        "payload": payload,
        "due_at": due_at,
        "now": context.now(),
    }


def _wake_after_commit(context: Context, due_at: datetime) -> None:
    """Tell the scheduler of `due_at` once the transaction has committed."""
    if not context.registry.on_scheduled:
        return

    def committed(_session: Session) -> None:
        for tell in context.registry.on_scheduled:
            tell(due_at)

    orm_events.listen(context.session.sync_session, "after_commit", committed, once=True)


async def cancel(context: Context, key: str) -> bool:
    """Drop a waiting one-shot (in the handler's transaction)."""
    return await stored.cancel(context.session, key)

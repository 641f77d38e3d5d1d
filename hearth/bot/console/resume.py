"""Where a console run on a persistent database may start: never before what it already saw."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import InstrumentedAttribute

from hearth.storage.db import Database
from hearth.storage.models import (
    AuditEntry,
    Community,
    ConversationRef,
    DueJob,
    Facilitator,
    InboundEvent,
    Member,
    MemberSettings,
    Membership,
    Message,
    OutboxMessage,
    Poll,
    PollSeries,
)

HAPPENED: tuple[InstrumentedAttribute[datetime] | InstrumentedAttribute[datetime | None], ...] = (
    Community.created_at,
    Member.created_at,
    Membership.joined_at,
    Membership.left_at,
    Facilitator.added_at,
    MemberSettings.updated_at,
    Message.posted_at,
    Message.edited_at,
    Message.deleted_at,
    Message.purged_at,
    InboundEvent.received_at,
    ConversationRef.updated_at,
    OutboxMessage.created_at,
    OutboxMessage.sent_at,
    DueJob.created_at,
    PollSeries.created_at,
    Poll.created_at,
    Poll.opened_at,
    Poll.closed_at,
    AuditEntry.at,
)
"""Columns saying when something happened (not when something is due: those lie ahead)."""


async def latest_seen(db: Database) -> datetime | None:
    """The latest moment anything stored in the database happened; None when it is empty."""
    statement = select(*(select(func.max(c)).scalar_subquery() for c in HAPPENED))
    async with db.transaction() as session:
        row = (await session.execute(statement)).one()
    return max((moment for moment in row if moment is not None), default=None)


def whole_minute_after(moment: datetime) -> datetime:
    """`moment` if it is a whole minute, else the next whole minute."""
    whole = moment.replace(second=0, microsecond=0)
    return whole if whole == moment else whole + timedelta(minutes=1)

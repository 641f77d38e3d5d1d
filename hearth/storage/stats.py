"""Read-only figures about the stored work, for monitoring (`/metrics`)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from hearth.storage import outbox
from hearth.storage.models import OutboxMessage


async def outbox_lag(session: AsyncSession, now: datetime) -> float:
    """Seconds the oldest message due by `now` has waited past its due time (0: none waits)."""
    oldest = await session.scalar(
        select(func.min(OutboxMessage.due_at)).where(
            OutboxMessage.status == outbox.PENDING, OutboxMessage.due_at <= now
        )
    )
    if oldest is None:
        return 0.0
    return max(0.0, (now - oldest).total_seconds())

"""Signed requests already run: a replay (same signature, same timestamp) is not run twice."""

from __future__ import annotations

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from hearth.storage.db import insert_ignore
from hearth.storage.models import SeenRequest


async def first_sight(session: AsyncSession, signature: str, timestamp: int, oldest: int) -> bool:
    """Record the request; False when it was recorded before. Forgets requests signed before
    `oldest` (those are refused as stale before they get here)."""
    await session.execute(delete(SeenRequest).where(SeenRequest.timestamp < oldest))
    return await insert_ignore(
        session, SeenRequest, {"signature": signature, "timestamp": timestamp}
    )

"""Conversation references: where a platform conversation can be reached for proactive sends.

Platform adapters store their SDK's reference as a plain JSON dict; nothing here knows its shape.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hearth.storage.db import dialect_insert
from hearth.storage.models import Community, ConversationRef


async def remember(
    session: AsyncSession,
    *,
    platform: str,
    workspace: str,
    key: str,
    reference: dict[str, Any],
    now: datetime,
    team: str | None = None,
) -> None:
    """Insert or refresh the reference under `key` (a known `team` is never forgotten)."""
    statement = dialect_insert(session)(ConversationRef).values(
        platform=platform,
        workspace=workspace,
        key=key,
        team=team,
        reference=reference,
        updated_at=now,
    )
    changes: dict[str, Any] = {"reference": reference, "updated_at": now}
    if team is not None:
        changes["team"] = team
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=["platform", "workspace", "key"], set_=changes
        )
    )


async def find(
    session: AsyncSession, platform: str, workspace: str, key: str
) -> dict[str, Any] | None:
    """The reference stored under `key`, or None."""
    return await session.scalar(
        select(ConversationRef.reference).where(
            ConversationRef.platform == platform,
            ConversationRef.workspace == workspace,
            ConversationRef.key == key,
        )
    )


async def team_communities(
    session: AsyncSession, platform: str, workspace: str, team: str
) -> list[str]:
    """The channels of `team` that are communities (their conversation id is the `key`)."""
    rows = await session.scalars(
        select(Community.channel)
        .join(
            ConversationRef,
            (ConversationRef.platform == Community.platform)
            & (ConversationRef.workspace == Community.workspace)
            & (ConversationRef.key == Community.channel),
        )
        .where(
            Community.platform == platform,
            Community.workspace == workspace,
            ConversationRef.team == team,
        )
        .order_by(Community.id)
    )
    return list(rows)

"""Expertise commands (declare, assign, list who knows a topic) and the member's data."""

from __future__ import annotations

from typing import Any

from hearth.handlers.context import Context
from hearth.handlers.registry import Registry
from hearth.storage import expertise as store
from hearth.storage.models import Member


def register(registry: Registry) -> None:
    registry.personal("expertise", export=export_expertise, forget=forget_expertise)


async def export_expertise(context: Context, member: Member) -> dict[str, Any]:
    """Topics the member knows and their answering record, per community."""
    session = context.session
    return {
        "topics": [
            {
                "community_id": t.community_id,
                "topic": t.topic,
                "source": t.source,
                "added_at": t.added_at.isoformat(),
            }
            for t in await store.member_topics(session, member.id)
        ],
        "answering": [
            {
                "community_id": p.community_id,
                "answers": p.answers,
                "accepted": p.accepted,
                "last_answered_at": p.last_answered_at.isoformat() if p.last_answered_at else None,
            }
            for p in await store.member_record(session, member.id)
        ],
    }


async def forget_expertise(context: Context, member: Member) -> None:
    await store.forget_member(context.session, member.id)

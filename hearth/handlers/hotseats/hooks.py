"""What other features ask of hot seats: the expert to ask first, the week's highlight, and a
member's data."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from hearth.handlers.cards import typed
from hearth.handlers.context import Context
from hearth.handlers.hotseats.cards import days_of
from hearth.handlers.hotseats.timing import ANNOUNCE_AHEAD
from hearth.storage import hotseats as stored
from hearth.storage.models import Community, HotSeat, HotSeatQuestion, Member


async def first_responders(context: Context, community_id: int, now: datetime) -> list[int]:
    """The expert of the hot seat running now, asked first about new questions."""
    running = await stored.running(context.session, community_id, now)
    return [running.expert_id] if running is not None and running.expert_id else []


async def highlight(context: Context, community_id: int, now: datetime) -> str | None:
    """ "Hot seat this week": the one running, or the one starting within a week."""
    seats = [
        s
        for s in await stored.live(context.session, community_id, now)
        if s.status == stored.ACCEPTED and s.starts_at - now <= ANNOUNCE_AHEAD
    ]
    community = await context.session.get(Community, community_id)
    if not seats or community is None:
        return None
    seat = seats[0]
    expert = await context.session.get(Member, seat.expert_id) if seat.expert_id else None
    who = typed(expert.name) if expert else "an expert"
    when = "now" if seat.starts_at <= now else days_of(seat, community)
    return f"🔥 Hot seat this week: {who} answers questions on “{typed(seat.topic)}” ({when})."


async def export(context: Context, member: Member) -> dict[str, list[dict[str, str]]]:
    """my-data: hot seats the member was the expert of, and questions they asked by name
    (anonymous questions are nobody's: nothing links them to anyone)."""
    seats = await context.session.scalars(select(HotSeat).where(HotSeat.expert_id == member.id))
    asked = await context.session.scalars(
        select(HotSeatQuestion).where(HotSeatQuestion.asker_id == member.id)
    )
    return {
        "as_expert": [{"topic": s.topic, "status": s.status} for s in seats],
        "questions": [{"text": q.text} for q in asked],
    }

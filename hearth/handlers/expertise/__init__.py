"""Expertise: who knows what (declared, assigned, learned from replies) and the ranking that
picks experts for a question. Question handling (detection, DMs, escalation) builds on this."""

from hearth.handlers.expertise.commands import register
from hearth.handlers.expertise.router import (
    RankedExpert,
    rank_experts,
    record_accepted,
    record_question,
    record_reply,
)

__all__ = [
    "RankedExpert",
    "rank_experts",
    "record_accepted",
    "record_question",
    "record_reply",
    "register",
]

"""Whether Hearth may message a member who did not ask: one rule for every send path."""

from __future__ import annotations

from hearth.storage.models import Member


def may_message_unprompted(member: Member) -> bool:
    """False for bots, deactivated members and members who asked Hearth to stop."""
    return not (member.is_bot or member.deactivated or member.unsolicited_dms_off)

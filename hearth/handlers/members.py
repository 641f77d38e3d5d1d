"""Keeping members' records in step with what their platform says about them."""

from __future__ import annotations

from hearth.handlers.context import Context
from hearth.handlers.events import ProfileChanged
from hearth.handlers.registry import Registry


def register(registry: Registry) -> None:
    registry.on(ProfileChanged)(on_profile_changed)


async def on_profile_changed(context: Context, event: ProfileChanged) -> None:
    """Refresh name, time zone and deactivation from the platform's profile."""
    member = await context.member()
    profile = await context.messenger.profile(event.workspace, event.user)
    if profile is None:
        return
    member.name = profile.name
    member.tz = profile.tz
    member.is_bot = profile.is_bot
    member.deactivated = profile.deleted

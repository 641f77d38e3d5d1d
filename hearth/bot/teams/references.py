"""Conversation references, serialised to the database: how Hearth reaches Teams later.

Keys (per tenant): a conversation's id (a channel, group chat or 1:1 chat); `user:<member>` for
a member's 1:1 chat with Hearth; `member:<member>` for the last conversation a member was seen in
(its `user` is their Teams account, which a new 1:1 chat is created with).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from botbuilder.schema import ConversationReference

from hearth.handlers.ports import Clock
from hearth.storage import conversations
from hearth.storage.db import Database

PLATFORM = "teams"


def user_key(member: str) -> str:
    """Where a member's 1:1 chat with Hearth is stored."""
    return f"user:{member}"


def member_key(member: str) -> str:
    """Where the conversation a member was last seen in is stored (with their account)."""
    return f"member:{member}"


@dataclass(frozen=True)
class Entry:
    """One reference to store under `key`, with the team it belongs to when it is a channel."""

    key: str
    reference: ConversationReference
    team: str | None = None


class References:
    """Loads and stores references; never used inside another open transaction."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    async def save(self, workspace: str, entries: Iterable[Entry]) -> None:
        """Store or refresh references, all in one transaction."""
        async with self.db.transaction() as session:
            for entry in entries:
                await conversations.remember(
                    session,
                    platform=PLATFORM,
                    workspace=workspace,
                    key=entry.key,
                    reference=entry.reference.serialize(),
                    team=entry.team,
                    now=self.clock.now(),
                )

    async def load(self, workspace: str, key: str) -> ConversationReference | None:
        """The reference stored under `key`, if any."""
        async with self.db.transaction() as session:
            stored = await conversations.find(session, PLATFORM, workspace, key)
        return None if stored is None else ConversationReference().deserialize(stored)

    async def team_communities(self, workspace: str, team: str) -> list[str]:
        """The community channels of a team."""
        async with self.db.transaction() as session:
            return await conversations.team_communities(session, PLATFORM, workspace, team)

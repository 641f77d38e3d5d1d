"""Members' direct-message conversations with the bot, remembered once opened."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from hearth.storage.db import Database, dialect_insert
from hearth.storage.models import DmChannel


class DmChannels:
    """Who has which DM conversation on one platform: kept in memory and in the database,
    so a member's DM is opened once, not for every message nor every look back."""

    def __init__(self, db: Database, platform: str) -> None:
        self.db = db
        self.platform = platform
        self._known: dict[tuple[str, str], str] = {}

    def cached(self, workspace: str, user: str) -> str | None:
        """What this process already knows (no database access: safe inside a transaction)."""
        return self._known.get((workspace, user))

    async def lookup(self, workspace: str, user: str) -> str | None:
        """The member's DM conversation, if it was ever opened."""
        known = self.cached(workspace, user)
        if known is not None:
            return known
        async with self.db.transaction() as session:
            found = await session.scalar(
                select(DmChannel.conversation).where(
                    DmChannel.platform == self.platform,
                    DmChannel.workspace == workspace,
                    DmChannel.user_id == user,
                )
            )
        if found is not None:
            self._known[(workspace, user)] = found
        return found

    def note(self, workspace: str, user: str, conversation: str) -> None:
        """Remember in this process only (for callers that may be inside a transaction)."""
        self._known[(workspace, user)] = conversation

    async def remember(self, workspace: str, user: str, conversation: str) -> None:
        """Remember for every process."""
        if self._known.get((workspace, user)) == conversation:
            return
        async with self.db.transaction() as session:
            insert = dialect_insert(session)
            statement = insert(DmChannel).values(
                platform=self.platform,
                workspace=workspace,
                user_id=user,
                conversation=conversation,
                updated_at=datetime.now(UTC),
            )
            await session.execute(
                statement.on_conflict_do_update(
                    index_elements=["platform", "workspace", "user_id"],
                    set_={
                        "conversation": conversation,
                        "updated_at": statement.excluded.updated_at,
                    },
                )
            )
        self._known[(workspace, user)] = conversation

"""Conversation references live in the database (SQLite and PostgreSQL), never only in memory."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

pytest.importorskip("botbuilder.schema", reason="botbuilder is not installed")

from botbuilder.schema import (
    ChannelAccount,
    ConversationAccount,
    ConversationReference,
)

from hearth.bot.teams.references import Entry, References, member_key, user_key
from hearth.storage import conversations
from hearth.storage.db import Database
from hearth.storage.models import Community
from tests.recording import SettableClock

TENANT = "tenant-1"


def reference(conversation: str, user: str | None = None) -> ConversationReference:
    return ConversationReference(
        channel_id="msteams",
        service_url="https://smba.trafficmanager.net/emea/",
        bot=ChannelAccount(id="28:bot", name="Hearth"),
        user=ChannelAccount(id=f"29:{user}", aad_object_id=user, name=user) if user else None,
        conversation=ConversationAccount(
            id=conversation, conversation_type="channel", tenant_id=TENANT, is_group=True
        ),
    )


async def test_references_round_trip_and_refresh(db: Database) -> None:
    clock = SettableClock()
    references = References(db, clock)
    await references.save(
        TENANT,
        [
            Entry("19:general", reference("19:general"), team="19:general"),
            Entry(member_key("aad-ann"), reference("19:general", "aad-ann")),
        ],
    )
    loaded = await references.load(TENANT, member_key("aad-ann"))
    assert loaded is not None
    assert (loaded.user.id, loaded.user.aad_object_id, loaded.user.name) == (
        "29:aad-ann",
        "aad-ann",
        "aad-ann",
    )
    assert (loaded.conversation.id, loaded.conversation.tenant_id) == ("19:general", TENANT)
    assert loaded.service_url == "https://smba.trafficmanager.net/emea/"
    assert await references.load(TENANT, user_key("aad-ann")) is None
    assert await references.load("other-tenant", member_key("aad-ann")) is None

    # a later activity without team information refreshes the reference, keeps the team
    clock.advance(hours=1)
    moved = reference("19:general")
    moved.service_url = "https://smba.trafficmanager.net/amer/"
    await references.save(TENANT, [Entry("19:general", moved)])
    again = await references.load(TENANT, "19:general")
    assert again is not None and again.service_url == "https://smba.trafficmanager.net/amer/"
    async with db.transaction() as session:
        await conversations.remember(
            session,
            platform="slack",
            workspace=TENANT,
            key="19:general",
            reference={"other": True},
            now=clock.now(),
        )
    async with db.transaction() as session:  # one platform's key never overwrites another's
        assert await conversations.find(session, "slack", TENANT, "19:general") == {"other": True}
        teams = await conversations.find(session, "teams", TENANT, "19:general")
    assert teams is not None and teams["serviceUrl"] == "https://smba.trafficmanager.net/amer/"


async def test_a_team_maps_to_its_community_channels(db: Database) -> None:
    references = References(db, SettableClock())
    await references.save(
        TENANT,
        [
            Entry("19:general", reference("19:general"), team="19:general"),
            Entry("19:retros", reference("19:retros"), team="19:general"),
            Entry("19:elsewhere", reference("19:elsewhere"), team="19:other-team"),
        ],
    )
    async with db.transaction() as session:
        for channel in ("19:retros", "19:elsewhere", "19:not-seen"):
            session.add(
                Community(
                    platform="teams",
                    workspace=TENANT,
                    channel=channel,
                    name=channel,
                    purpose="",
                    timezone="UTC",
                    segments=[],
                    interests=[],
                    created_at=datetime(2026, 12, 1, tzinfo=UTC),
                )
            )
    assert await references.team_communities(TENANT, "19:general") == ["19:retros"]
    assert await references.team_communities(TENANT, "19:other-team") == ["19:elsewhere"]
    assert await references.team_communities("other-tenant", "19:general") == []

"""What a handler works with: one transaction, the event, the platform port and the clock."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hearth.handlers import policy
from hearth.handlers.cards import Card, Form
from hearth.handlers.events import Event, MessageRef
from hearth.handlers.ports import Clock, Messenger, Profile, Target
from hearth.handlers.registry import Registry
from hearth.storage import outbox
from hearth.storage.db import insert_ignore
from hearth.storage.models import Community, Facilitator, ForgottenMember, Member

Reply = Callable[[Messenger], Awaitable[None]]
MEMBERS = "hearth.members"
"""Session.info key of the members this transaction has looked up."""
PROFILES = "hearth.profiles"
"""Session.info key of the profiles fetched for this transaction, before it began."""
MemberKey = tuple[str, str, str]
"""(platform, workspace, user id)"""


class ProfilesNeeded(Exception):
    """A new member's profile is needed: the hub rolls back, fetches it and runs the event again.

    Platform calls never happen inside a transaction (they would hold its connection, and on
    SQLite the writer, for as long as the platform takes).
    """

    def __init__(self, keys: set[MemberKey]) -> None:
        super().__init__(f"profiles needed: {sorted(keys)}")
        self.keys = keys


@dataclass(frozen=True)
class Defaults:
    """Community defaults and the server secret, from the settings."""

    timezone: str = "UTC"
    welcome_post_hour: int = 16
    secret: bytes = b""
    """The server secret (HEARTH_SECRET) that keys anonymous voters' hashes; never stored."""
    retention_days: int | None = None
    """HEARTH_MESSAGE_RETENTION_DAYS: how long message text is kept (None: no limit)."""
    max_open_requests: int = 3
    """HEARTH_MAX_OPEN_REQUESTS: questions a member may be asked to help with at once."""


class Context:
    """One event's unit of work. Direct replies wait until the transaction has committed."""

    def __init__(
        self,
        session: AsyncSession,
        event: Event,
        messenger: Messenger,
        clock: Clock,
        registry: Registry,
        defaults: Defaults,
    ) -> None:
        self.session = session
        self.event = event
        self.messenger = messenger
        self.clock = clock
        self.registry = registry
        self.defaults = defaults
        self.replies: list[Reply] = []
        self.enqueued = 0
        self._community: Community | None = None

    @property
    def prefix(self) -> str:
        """How members type a command here: `/cop` or `@Hearth`."""
        return self.messenger.command_prefix

    def now(self) -> datetime:
        return self.clock.now()

    async def community(self) -> Community | None:
        """The community whose channel the event happened in, if any."""
        if self._community is None:
            self._community = await self.session.scalar(
                select(Community).where(
                    Community.platform == self.event.platform,
                    Community.workspace == self.event.workspace,
                    Community.channel == self.event.channel,
                )
            )
        return self._community

    async def require_community(self) -> Community:
        """The event's community, for commands registered with needs_community (checked there)."""
        community = await self.community()
        if community is None:
            raise RuntimeError(f"{type(self.event).__name__} outside a community")
        return community

    def community_set_up(self, community: Community) -> None:
        """Remember a community created during this event."""
        self._community = community

    async def member(self, user_id: str | None = None) -> Member:
        """The member (the event's actor by default), created on first sight from their profile.

        Looked up once per transaction: a batch of events holds many messages by few people.
        A profile not fetched before the transaction raises ProfilesNeeded (see there).
        """
        user_id = user_id or self.event.user
        known: dict[tuple[str, str, str], Member] = self.session.info.setdefault(MEMBERS, {})
        key = (self.event.platform, self.event.workspace, user_id)
        if key not in known:
            known[key] = await self._load_member(user_id)
        return known[key]

    async def _load_member(self, user_id: str) -> Member:
        where = (
            Member.platform == self.event.platform,
            Member.workspace == self.event.workspace,
            Member.user_id == user_id,
        )
        found = await self.session.scalar(select(Member).where(*where))
        if found:
            return found
        key = policy.forgotten_key(
            self.defaults.secret, self.event.platform, self.event.workspace, user_id
        )
        profile = self.profile(user_id)
        forgotten = await self.session.get(ForgottenMember, key)
        await insert_ignore(
            self.session,
            Member,
            {
                "platform": self.event.platform,
                "workspace": self.event.workspace,
                "user_id": user_id,
                "name": profile.name if profile else user_id,
                "tz": profile.tz if profile else None,
                "is_bot": profile.is_bot if profile else False,
                "deactivated": profile.deleted if profile else False,
                "unsolicited_dms_off": forgotten is not None,  # a stranger who asked for silence
                "interests": [],
                "created_at": self.now(),
            },
        )
        return (await self.session.scalars(select(Member).where(*where))).one()

    def profile(self, user_id: str) -> Profile | None:
        """What the platform said about a member just before this transaction began.

        Raises ProfilesNeeded when it was not asked: the hub asks (outside the transaction)
        and runs the event again.
        """
        profiles: dict[MemberKey, Profile | None] = self.session.info.get(PROFILES, {})
        wanted = (self.event.platform, self.event.workspace, user_id)
        if wanted not in profiles:
            raise ProfilesNeeded({wanted})
        return profiles[wanted]

    async def is_facilitator(self, community: Community, member: Member) -> bool:
        row = await self.session.get(Facilitator, (community.id, member.id))
        return row is not None

    def reply_privately(self, card: Card) -> None:
        """Answer the actor so only they see it (after commit)."""
        event = self.event

        async def send(messenger: Messenger) -> None:
            await messenger.reply_privately(
                event.workspace, event.channel, event.user, card, event.reply_token
            )

        self.replies.append(send)

    def open_form(self, form: Form) -> None:
        """Show the actor a form (after commit)."""
        event = self.event

        async def send(messenger: Messenger) -> None:
            await messenger.open_form(
                event.workspace, event.channel, event.user, form, event.form_token
            )

        self.replies.append(send)

    def send_file(self, filename: str, content: bytes, comment: str) -> None:
        """Send the actor a file privately (after commit)."""
        workspace, user = self.event.workspace, self.event.user

        async def send(messenger: Messenger) -> None:
            await messenger.send_file(workspace, user, filename, content, comment)

        self.replies.append(send)

    def show_home(self, card: Card) -> None:
        """Show the actor their own home view: Slack's App Home; elsewhere a private message."""
        workspace, user = self.event.workspace, self.event.user

        async def send(messenger: Messenger) -> None:
            await messenger.show_home(workspace, user, card)

        self.replies.append(send)

    def join_channel(self) -> None:
        """Have the bot join the event's channel (after commit)."""
        workspace, channel = self.event.workspace, self.event.channel

        async def send(messenger: Messenger) -> None:
            await messenger.join(workspace, channel)

        self.replies.append(send)

    def update(self, ref: MessageRef, card: Card) -> None:
        """Replace a message the actor interacted with (after commit)."""
        workspace = self.event.workspace

        async def send(messenger: Messenger) -> None:
            await messenger.update(workspace, ref, card)

        self.replies.append(send)

    async def enqueue(
        self,
        key: str,
        kind: str,
        target: Target,
        card: Card,
        *,
        due_at: datetime | None = None,
        member: Member | None = None,
    ) -> bool:
        """Write a bot-initiated message to the outbox; False if its key exists.

        `kind` is declared by a feature (`registry.sends`; a test checks every call; a DM of an
        undeclared kind is refused here), and a DM kind goes to a DM: the outbox sender applies
        the member policy to it when it is due (the member defaults to the one the DM is for).
        """
        registered = self.registry.outbox_kinds.get(kind)
        if target.kind == "dm" and registered is None:
            # raises: a DM nobody declared would bypass the policy
            policy.kind_of(self.registry.outbox_kinds, kind)
        if registered is not None and registered.dm != (target.kind == "dm"):
            where = "a DM" if registered.dm else "a channel or an update"
            raise ValueError(f"outbox kind {kind!r} goes to {where}, not to {target.kind}")
        if target.kind == "dm" and member is None:
            member = await self.member(target.id)
        added = await outbox.enqueue(
            self.session,
            key=key,
            kind=kind,
            platform=self.event.platform,
            workspace=self.event.workspace,
            target=target,
            card=card.to_json(),
            due_at=due_at or self.now(),
            member_id=member.id if member else None,
            now=self.now(),
        )
        self.enqueued += added
        return added

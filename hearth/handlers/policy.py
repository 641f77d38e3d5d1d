"""Whether Hearth may message a member now: one rule for every message Hearth starts itself.

Every outbox row has a kind its feature declared (`registry.sends`). Channel kinds go to a
channel and are nobody's DM. DM kinds go to one member, and the outbox sender asks `check`
(which reads the member's settings and recent DMs for `decide`, the rule itself) about every DM
row when it is about to send it, so what a member chose takes effect at once, whichever feature
wrote the row:

- **drop** when the member is unknown (never seen, or forgotten), a bot or deactivated; when the
  kind is unsolicited and they paused Hearth (`/cop optout`, the welcome DM's Stop button, or
  being forgotten and seen again); when they turned that kind's preference off;
- **defer** until their quiet hours end (default 21:00-08:00 in their time zone), until their
  working hours begin (work kinds, when they set working hours), and until the 7-day frequency
  cap has room again (CAP capped DMs per CAP_WINDOW);
- **send** otherwise.

The welcome DM answers the member's own joining: not capped, not held by quiet hours, but
stopped by the pause. A solicited kind (a summary the member asked for) ignores the pause and
the preferences, and still waits out quiet hours.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from hearth.handlers.hours import Hours, HoursError, next_allowed, parse_hours
from hearth.storage import outbox
from hearth.storage.models import (
    Community,
    Member,
    MemberSettings,
    Membership,
    OutboxMessage,
)

CAP = 3
"""Capped DMs (nudges, expert requests) a member gets at most in CAP_WINDOW."""
CAP_WINDOW = timedelta(days=7)
AWAY_HOLDS = "expert_requests"
"""The preference whose messages (requests for help) a member who is away does not get."""
DEFAULT_QUIET_HOURS = "21:00-08:00"
DIGEST_FREQUENCIES = ("off", "daily", "weekly", "monthly")
DEFAULT_DIGEST_FREQUENCY = "weekly"


@dataclass(frozen=True)
class Preference:
    """A kind of DM a member can turn off by itself."""

    name: str
    label: str
    default: bool = True


PREFERENCES: tuple[Preference, ...] = (
    Preference("nudges", "Nudges when a conversation could use you"),
    Preference("expert_requests", "Requests to help with a question in your area"),
    Preference("digests", "The community digest by direct message", default=False),
    Preference("reminders", "Reminders of things you signed up for"),
)


@dataclass(frozen=True)
class Kind:
    """What an outbox kind is, for the policy."""

    name: str
    dm: bool
    preference: str | None = None
    """The preference that turns this kind off (None: only the pause, if unsolicited)."""
    unsolicited: bool = True
    """Stopped by the pause; False for what the member asked for."""
    capped: bool = False
    """Counted by, and held back by, the frequency cap."""
    quiet: bool = True
    """Waits out the member's quiet hours."""
    working: bool = False
    """Waits for the member's working hours, when they set some."""


def forgotten_key(secret: bytes, platform: str, workspace: str, user_id: str) -> str:
    """The tombstone of someone Hearth forgot: HMAC-SHA256 under the server secret of their
    platform id, so Hearth recognises them again without storing who they are."""
    message = f"{platform}:{workspace}:{user_id}".encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


class UnknownKind(ValueError):
    """An outbox kind no feature declared."""


def kind_of(kinds: Mapping[str, Kind], name: str) -> Kind:
    """The declared kind; raises UnknownKind."""
    kind = kinds.get(name)
    if kind is None:
        raise UnknownKind(f"outbox kind {name!r} is not declared (registry.sends)")
    return kind


@dataclass(frozen=True)
class Choices:
    """A member's settings with the defaults filled in."""

    paused: bool
    dms: Mapping[str, bool]
    zone: str
    zone_is_own: bool
    """True when the member chose the zone (not the platform's, not the community's)."""
    quiet: Hours | None
    working: Hours | None
    digest: str
    away_until: datetime | None = None
    """Set by `/cop away until …`: no requests for help before then."""

    def away(self, now: datetime) -> bool:
        return self.away_until is not None and now < self.away_until


def choices(member: Member, stored: MemberSettings | None, fallback_zone: str) -> Choices:
    """What a member chose, and the defaults for the rest (their zone: their own choice, else
    the platform's, else `fallback_zone`)."""
    dms = dict(stored.dms) if stored else {}
    quiet = stored.quiet_hours if stored and stored.quiet_hours is not None else None
    return Choices(
        paused=member.unsolicited_dms_off,
        dms={p.name: bool(dms.get(p.name, p.default)) for p in PREFERENCES},
        zone=(stored.tz if stored and stored.tz else None) or member.tz or fallback_zone,
        zone_is_own=bool(stored and stored.tz),
        quiet=_hours(DEFAULT_QUIET_HOURS if quiet is None else quiet),
        working=_hours(stored.working_hours if stored and stored.working_hours else ""),
        digest=(stored.digest_frequency if stored else None) or DEFAULT_DIGEST_FREQUENCY,
        away_until=stored.away_until if stored else None,
    )


def _hours(text: str) -> Hours | None:
    try:
        return parse_hours(text)
    except HoursError:  # stored before a format change: treat as unset rather than fail sends
        return None


Action = Literal["send", "defer", "drop"]


@dataclass(frozen=True)
class Decision:
    """Send now, defer until `until`, or drop; `reason` says why (for the outbox row)."""

    action: Action
    reason: str = ""
    until: datetime | None = None


SEND = Decision("send")


def decide(
    kind: Kind,
    member: Member | None,
    chosen: Choices | None,
    *,
    recent: Sequence[datetime],
    now: datetime,
) -> Decision:
    """THE rule: may Hearth send `member` a message of `kind` now?

    `recent` holds when the member got the capped DMs of the last CAP_WINDOW.
    """
    if not kind.dm:
        return SEND
    if member is None or chosen is None:
        return Decision("drop", "unknown or forgotten member")
    if member.is_bot:
        return Decision("drop", "a bot")
    if member.deactivated:
        return Decision("drop", "deactivated")
    if kind.unsolicited and chosen.paused:
        return Decision("drop", "paused all messages")
    if kind.unsolicited and kind.preference and not chosen.dms.get(kind.preference, True):
        return Decision("drop", f"turned off {kind.preference}")
    if kind.unsolicited and kind.preference == AWAY_HOLDS and chosen.away(now):
        return Decision("drop", "away")
    earliest, reason = now, ""
    if kind.capped and len(recent) >= CAP:
        earliest, reason = sorted(recent)[len(recent) - CAP] + CAP_WINDOW, "frequency cap"
    quiet = chosen.quiet if kind.quiet else None
    working = chosen.working if kind.working else None
    allowed = next_allowed(max(now, earliest), chosen.zone, quiet=quiet, working=working)
    if allowed is None:
        return Decision("drop", "no time allowed by quiet and working hours")
    if allowed <= now:
        return SEND
    if not reason:
        local = now.astimezone(ZoneInfo(chosen.zone))
        reason = "quiet hours" if quiet and quiet.contains(local) else "working hours"
    return Decision("defer", reason, allowed)


async def check(
    session: AsyncSession,
    kinds: Mapping[str, Kind],
    kind_name: str,
    member: Member | None,
    now: datetime,
    *,
    row_id: int | None = None,
) -> Decision:
    """`decide`, with the member's settings and recent DMs read from the database.

    For a capped kind the member's row is locked first (PostgreSQL), so two senders cannot both
    take the last place under the cap. `row_id` is the outbox row being decided, not counted.
    `kinds`: those the features declared.
    """
    kind = kinds.get(kind_name)
    if kind is None:
        return Decision("drop", f"unregistered kind {kind_name}")
    if not kind.dm or member is None:
        return decide(kind, None, None, recent=(), now=now)
    stored = await session.get(MemberSettings, member.id)
    chosen = choices(member, stored, await fallback_zone(session, member))
    recent: list[datetime] = []
    if kind.capped:
        await session.execute(select(Member.id).where(Member.id == member.id).with_for_update())
        capped = [k.name for k in kinds.values() if k.capped]
        recent = await _recent(session, member, now, row_id, capped)
    return decide(kind, member, chosen, recent=recent, now=now)


async def fallback_zone(session: AsyncSession, member: Member) -> str:
    """The time zone of the first community the member joined (UTC if none)."""
    zone = await session.scalar(
        select(Community.timezone)
        .join(Membership, Membership.community_id == Community.id)
        .where(Membership.member_id == member.id)
        .order_by(Membership.joined_at)
        .limit(1)
    )
    return zone or "UTC"


async def _recent(
    session: AsyncSession, member: Member, now: datetime, row_id: int | None, capped: list[str]
) -> list[datetime]:
    query = select(OutboxMessage.id, OutboxMessage.sent_at).where(
        OutboxMessage.member_id == member.id,
        OutboxMessage.kind.in_(capped),
        or_(
            and_(OutboxMessage.status == outbox.SENT, OutboxMessage.sent_at > now - CAP_WINDOW),
            OutboxMessage.status == outbox.SENDING,
        ),
    )
    rows = await session.execute(query)
    return [sent_at or now for row, sent_at in rows if row != row_id]

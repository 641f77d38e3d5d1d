"""One-use tokens: a confirmation button or a form that may act at most once.

Slack and Teams can deliver a click or a submission that no longer stands for what the member
sees: a double click, a card replaced since, a Teams form card submitted again. Such a button or
form carries a token from `issue`, which records it as open among the handled event ids
(`InboundEvent`). Its handler calls `use` first, in the transaction of what it does: `use` takes
the record, so a second use finds none, and a handler that refuses (and rolls back) leaves it
open. Retention drops the records after EVENT_IDS_KEPT; a token expires then too.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Literal

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from hearth.handlers.retention import EVENT_IDS_KEPT
from hearth.storage.models import InboundEvent

VALID_FOR = EVENT_IDS_KEPT
PREFIX = "once:"

Use = Literal["ok", "used", "expired"]
"""`ok`: taken now; `used`: taken or revoked before (or not issued for this purpose);
`expired`: too old, or not a token at all."""


async def issue(session: AsyncSession, platform: str, purpose: str, now: datetime) -> str:
    """A fresh open token for `purpose`: what and whose, `<what>:<member id>` with no other
    colon (`forget-me:7`, say; see `revoke_member`)."""
    nonce = secrets.token_hex(8)
    session.add(InboundEvent(platform=platform, event_id=_key(purpose, nonce), received_at=now))
    await session.flush()
    return f"{int(now.timestamp())}.{nonce}"


async def use(session: AsyncSession, platform: str, token: str, purpose: str, now: datetime) -> Use:
    """Take `token` for `purpose`, in `session`'s transaction."""
    issued, _, nonce = token.partition(".")
    if not (issued.isascii() and issued.isdigit() and len(issued) <= 12 and nonce):
        return "expired"  # not one of ours: a card from before tokens, say
    if now - datetime.fromtimestamp(int(issued), UTC) > VALID_FOR:
        return "expired"
    taken = await session.execute(
        delete(InboundEvent).where(
            InboundEvent.platform == platform, InboundEvent.event_id == _key(purpose, nonce)
        )
    )
    return "ok" if taken.rowcount == 1 else "used"


async def revoke(session: AsyncSession, platform: str, purpose: str) -> None:
    """Close every open token for `purpose` (a member record about to go, say)."""
    await session.execute(
        delete(InboundEvent).where(
            InboundEvent.platform == platform,
            InboundEvent.event_id.startswith(_key(purpose, ""), autoescape=True),
        )
    )


async def revoke_member(session: AsyncSession, platform: str, member_id: int) -> None:
    """Close every open token issued for the member record `member_id`, whatever it was for.

    A purpose is `<what>:<member id>` (no other colon) and a nonce is hex, so the member's
    tokens, and only theirs, have the key `once:<what>:<member id>:<nonce>`.
    """
    await session.execute(
        delete(InboundEvent).where(
            InboundEvent.platform == platform,
            InboundEvent.event_id.like(f"{PREFIX}%:{member_id}:%"),
            InboundEvent.event_id.not_like(f"{PREFIX}%:%:{member_id}:%"),
        )
    )


def _key(purpose: str, nonce: str) -> str:
    return f"{PREFIX}{purpose}:{nonce}"

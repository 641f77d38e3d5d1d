"""One-use tokens: a confirmation button or a form that may act at most once.

Slack and Teams can deliver a click or a submission that no longer stands for what the member
sees: a double click, a card replaced since, a Teams form card submitted again. Such a button or
form carries a token from `issue`; its handler calls `use` first, in the transaction of what it
does. `use` records the token among the handled event ids (`InboundEvent`), so it is taken when
that transaction commits and free again if the handler refuses and rolls back. A token is signed
for one subject (a member record, say) and expires before retention could drop its record.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import UTC, datetime
from typing import Literal

from sqlalchemy.ext.asyncio import AsyncSession

from hearth.handlers.retention import EVENT_IDS_KEPT
from hearth.storage.db import insert_ignore
from hearth.storage.models import InboundEvent

VALID_FOR = EVENT_IDS_KEPT
"""A used token is remembered this long (see retention.py), so it may be used only this long."""
PREFIX = "once:"

Use = Literal["ok", "used", "stale"]
"""`ok`: taken now; `used`: taken before; `stale`: expired, malformed or not for this subject."""


def issue(secret: bytes, now: datetime, subject: str) -> str:
    """A fresh token for `subject`: `<issued>.<nonce>.<signature>`, no identity in clear."""
    issued = str(int(now.timestamp()))
    nonce = secrets.token_urlsafe(9)
    return f"{issued}.{nonce}.{_sign(secret, issued, nonce, subject)}"


async def use(
    session: AsyncSession,
    secret: bytes,
    platform: str,
    token: str,
    subject: str,
    now: datetime,
) -> Use:
    """Take `token` for `subject`, in `session`'s transaction."""
    issued, _, rest = token.partition(".")
    nonce, _, signature = rest.partition(".")
    if not (issued.isascii() and issued.isdigit() and len(issued) <= 12 and signature.isascii()):
        return "stale"
    expected = _sign(secret, issued, nonce, subject)
    if not hmac.compare_digest(signature.encode(), expected.encode()):
        return "stale"
    if now - datetime.fromtimestamp(int(issued), UTC) > VALID_FOR:
        return "stale"
    taken = await insert_ignore(
        session,
        InboundEvent,
        {"platform": platform, "event_id": PREFIX + token, "received_at": now},
    )
    return "ok" if taken else "used"


def _sign(secret: bytes, issued: str, nonce: str, subject: str) -> str:
    message = "\n".join((issued, nonce, subject)).encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()[:24]

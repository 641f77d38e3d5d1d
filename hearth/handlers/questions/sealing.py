"""An anonymous asker's address, sealed under the server secret.

Hearth must reach an anonymous asker (answers in their question's thread come to them by DM)
without any table saying who they are. The question row keeps only a sealed copy of their
platform id: a random nonce, the id XORed with an HMAC-SHA256 keystream under the server secret
(HEARTH_SECRET, never stored), and an HMAC tag. Without the secret it is random bytes; it is
erased when the question is answered.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

NONCE = 16
TAG = 16


def _stream(secret: bytes, nonce: bytes, length: int) -> bytes:
    blocks = []
    for counter in range((length + 31) // 32):
        message = b"seal" + nonce + counter.to_bytes(4, "big")
        blocks.append(hmac.new(secret, message, hashlib.sha256).digest())
    return b"".join(blocks)[:length]


def seal(secret: bytes, user_id: str) -> str:
    """`user_id` sealed (URL-safe text)."""
    nonce = secrets.token_bytes(NONCE)
    plain = user_id.encode()
    body = bytes(a ^ b for a, b in zip(plain, _stream(secret, nonce, len(plain)), strict=True))
    tag = hmac.new(secret, b"tag" + nonce + body, hashlib.sha256).digest()[:TAG]
    return base64.urlsafe_b64encode(nonce + body + tag).decode()


def unseal(secret: bytes, sealed: str | None) -> str | None:
    """The user id inside `sealed`; None when absent or not sealed under this secret."""
    if not sealed:
        return None
    try:
        raw = base64.urlsafe_b64decode(sealed.encode())
    except ValueError:
        return None
    nonce, body, tag = raw[:NONCE], raw[NONCE:-TAG], raw[-TAG:]
    expected = hmac.new(secret, b"tag" + nonce + body, hashlib.sha256).digest()[:TAG]
    if len(raw) <= NONCE + TAG or not hmac.compare_digest(tag, expected):
        return None
    plain = bytes(a ^ b for a, b in zip(body, _stream(secret, nonce, len(body)), strict=True))
    return plain.decode(errors="replace")

"""The Bot Framework's token signing keys, fetched off the event loop and cached.

botbuilder 4.17 keeps one `_OpenIdMetadata` per metadata URL in the class-level dict
`JwtTokenExtractor.metadataCache` and fetches the keys with blocking `requests.get` (no
timeout) on the event loop, again on every request while the fetch fails: one forged token
naming a real issuer stalled every other request for as long as the network took to fail.
`install()` puts `SigningKeys` in that dict instead (botbuilder reads it by URL and calls only
`await get(key_id)`): a fetch runs in a thread of its own, requests that need it meanwhile wait
for the same fetch (a bounded time), and a failure is remembered for `RETRY_AFTER` so the
requests in between are answered at once (503 by the route) instead of each trying again.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import requests
from botframework.connector.auth.jwt_token_extractor import JwtTokenExtractor
from jwt import InvalidKeyError
from jwt.algorithms import RSAAlgorithm

log = logging.getLogger(__name__)

MAX_AGE = 24 * 3600.0
"""Seconds keys are used before they are fetched again (botbuilder's day)."""
UNKNOWN_KEY_REFETCH = 3600.0
"""A key id not among the keys fetches them again, at most this often (botbuilder's hour)."""
RETRY_AFTER = 30.0
"""Seconds after a failed fetch during which no new fetch starts."""
WAIT = 5.0
"""Longest a request waits for a fetch; the fetch itself goes on and its result is kept."""
TIMEOUT = (3.05, 10.0)
"""requests' (connect, read) timeouts for one HTTP call of a fetch."""


class KeysUnavailable(Exception):
    """The signing keys could not be fetched now (the token cannot be checked: 503)."""


@dataclass(frozen=True)
class Key:
    """What botbuilder reads of a key: its public key and the channels it endorses."""

    public_key: Any
    endorsements: list[str]


class SigningKeys:
    """The keys published behind one OpenID metadata URL (botbuilder's `_OpenIdMetadata`)."""

    def __init__(self, url: str, clock: Callable[[], float] = time.monotonic) -> None:
        self.url = url
        self.clock = clock
        self.fetches = 0
        self._keys: dict[str, Key] = {}
        self._fetched_at: float | None = None
        self._failed_at: float | None = None
        self._error = ""
        self._pending: concurrent.futures.Future[None] | None = None
        self._lock = threading.Lock()

    async def get(self, key_id: str | None) -> Key:
        """The key `key_id` names; LookupError when it is not published (a bad token),
        KeysUnavailable when the keys cannot be had now."""
        if self._fetched_at is None or self.clock() - self._fetched_at > MAX_AGE:
            await self._refresh()
        key = self._keys.get(key_id or "")
        if key is None and self.clock() - (self._fetched_at or 0.0) > UNKNOWN_KEY_REFETCH:
            await self._refresh()
            key = self._keys.get(key_id or "")
        if key is None:
            raise LookupError(f"no published signing key {key_id!r}")
        return key

    async def _refresh(self) -> None:
        """Fetch the keys (or wait for the fetch under way); keeps the old ones on failure."""
        if self._failed_at is not None and self.clock() - self._failed_at < RETRY_AFTER:
            if self._keys:
                return
            raise KeysUnavailable(f"fetching the signing keys failed recently: {self._error}")
        try:
            await asyncio.wait_for(asyncio.wrap_future(self._start()), WAIT)
        except TimeoutError:
            if not self._keys:
                raise KeysUnavailable("fetching the signing keys takes too long") from None
        except KeysUnavailable:
            if not self._keys:
                raise

    def _start(self) -> concurrent.futures.Future[None]:
        with self._lock:
            if self._pending is None:
                pending: concurrent.futures.Future[None] = concurrent.futures.Future()
                pending.set_running_or_notify_cancel()  # a waiter giving up cannot cancel it
                self._pending = pending
                self.fetches += 1
                threading.Thread(
                    target=self._run, args=(pending,), name="bot-framework-keys", daemon=True
                ).start()
            return self._pending

    def _run(self, pending: concurrent.futures.Future[None]) -> None:
        try:
            keys = self._fetch()
        except (requests.RequestException, ValueError, LookupError, TypeError) as error:
            log.warning(
                "could not fetch the Bot Framework signing keys from %s: %s", self.url, error
            )
            with self._lock:
                self._failed_at, self._error, self._pending = self.clock(), str(error), None
            pending.set_exception(KeysUnavailable(f"could not fetch the signing keys: {error}"))
            return
        with self._lock:
            self._keys, self._fetched_at, self._failed_at = keys, self.clock(), None
            self._pending = None
        pending.set_result(None)

    def _fetch(self) -> dict[str, Key]:
        metadata = requests.get(self.url, timeout=TIMEOUT)
        metadata.raise_for_status()
        published = requests.get(metadata.json()["jwks_uri"], timeout=TIMEOUT)
        published.raise_for_status()
        keys: dict[str, Key] = {}
        for jwk in published.json()["keys"]:
            try:
                public_key = RSAAlgorithm.from_jwk(json.dumps(jwk))
            except (InvalidKeyError, ValueError, TypeError, KeyError):
                continue  # not a key botbuilder could use either
            endorsements = jwk.get("endorsements")
            keys[str(jwk.get("kid"))] = Key(
                public_key, list(endorsements) if isinstance(endorsements, list) else []
            )
        return keys


class _KeysByUrl(dict[str, Any]):
    """`JwtTokenExtractor.metadataCache` with `SigningKeys` for every URL botbuilder asks for."""

    def get(self, url: str, default: Any = None) -> Any:  # type: ignore[override]
        if url not in self:
            self[url] = SigningKeys(url)
        return self[url]


def install() -> None:
    """Make botbuilder use `SigningKeys` for every metadata URL (idempotent)."""
    if not isinstance(JwtTokenExtractor.metadataCache, _KeysByUrl):
        JwtTokenExtractor.metadataCache = _KeysByUrl()


def keys_for(url: str) -> SigningKeys:
    """The signing keys botbuilder uses for `url` (after `install`)."""
    install()
    keys: SigningKeys = JwtTokenExtractor.metadataCache.get(url)
    return keys

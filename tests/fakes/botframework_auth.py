"""Local Bot Framework channel-auth stub: OpenID metadata, JWKS and token minting.

What botbuilder 4.17 checks on an inbound ``POST /api/messages`` (read from
``botframework/connector/auth/_parameterized_bot_framework_authentication.py`` and
``jwt_token_extractor.py``):

* ``Authorization: Bearer <jwt>``; the JWT header's ``alg`` is RS256/384/512 and its
  ``kid`` names a key in the JWKS that the ``jwks_uri`` of the OpenID metadata
  document points to;
* that JWKS key's ``endorsements`` list contains the activity's ``channelId``
  (``msteams``), otherwise "Could not validate endorsement key";
* claims: ``iss == "https://api.botframework.com"`` (exactly), ``aud == <bot app id>``,
  ``serviceurl == activity.serviceUrl`` (exact string match), valid ``exp``/``nbf``
  (5 min leeway). Real channel tokens carry no ``ver``/``appid`` claims; adding
  ``ver`` with an ``aud`` other than the Bot Framework would make botbuilder treat
  the token as a *skill* token, so :meth:`BotFrameworkAuthStub.mint_token` does not.

How botbuilder is pointed at this stub (supported parameters, no monkeypatching):
``ConfigurationBotFrameworkAuthentication(config)`` passes
``TO_BOT_FROM_CHANNEL_OPENID_METADATA_URL``, ``TO_BOT_FROM_EMULATOR_OPENID_METADATA_URL``,
``TO_BOT_FROM_CHANNEL_TOKEN_ISSUER``, ``TO_CHANNEL_FROM_BOT_OAUTH_SCOPE``,
``TO_CHANNEL_FROM_BOT_LOGIN_URL``, ``OAUTH_URL``, ``CALLER_ID`` and
``VALIDATE_AUTHORITY`` to ``BotFrameworkAuthenticationFactory.create``; as soon as
any of them is set it builds a ``_ParameterizedBotFrameworkAuthentication`` that
validates channel tokens against *our* metadata URL. :meth:`BotFrameworkAuthStub.bot_config`
returns such a config object with every parameter set to the public-cloud value
except the two metadata URLs. (The legacy alternative,
``ChannelValidation.open_id_metadata_endpoint``, is a class attribute that CloudAdapter
does not even use; we do not touch it.)

Emulator mode (no app id) must *not* use this config: with ``APP_ID=""`` only, the
built-in public-cloud authentication accepts requests without ``Authorization``; with
any parameterized setting present, botbuilder 4.17 checks ``auth_header is None`` but
CloudAdapter passes ``""``, and the request fails with an ``AttributeError`` (HTTP 500).

Two botbuilder details shape this module:

* metadata and JWKS are fetched with synchronous ``requests.get`` on the bot's event
  loop, so the stub serves from its own thread (see ``_loopback``);
* ``JwtTokenExtractor.metadataCache`` is a process-wide dict keyed by metadata URL that
  caches keys for a day. Every stub therefore publishes under a random path prefix
  (a port reused by a later stub cannot hit stale keys), and drops its own cache
  entries when it stops.
"""

from __future__ import annotations

import base64
import datetime as dt
import secrets
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import jwt
from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from ._loopback import LoopbackServer

BOT_FRAMEWORK_ISSUER = "https://api.botframework.com"
"""``iss`` of Bot Framework channel tokens; also the bot-to-channel OAuth scope."""

PUBLIC_CLOUD_LOGIN_URL = "https://login.microsoftonline.com/botframework.com"
PUBLIC_CLOUD_CALLER_ID = "urn:botframework:azure"
EMULATOR_ISSUER_V1 = "https://sts.windows.net/d6d49420-f39b-4df7-a1dc-d59a935871db/"
EMULATOR_ISSUER_V2 = "https://login.microsoftonline.com/d6d49420-f39b-4df7-a1dc-d59a935871db/v2.0"

DEFAULT_ENDORSEMENTS: tuple[str, ...] = (
    "msteams",
    "webchat",
    "directline",
    "emulator",
    "skype",
    "slack",
    "test",
)
"""Channel ids the stub's keys endorse (real Teams keys carry about 20)."""


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64url_uint(value: int) -> str:
    return _b64url(value.to_bytes((value.bit_length() + 7) // 8, "big"))


@dataclass(frozen=True)
class SigningKey:
    """An RSA key with a self-signed certificate, published as a JWKS entry."""

    private_key: rsa.RSAPrivateKey
    certificate: x509.Certificate
    kid: str
    x5t: str
    endorsements: tuple[str, ...] = DEFAULT_ENDORSEMENTS

    @classmethod
    def generate(
        cls,
        *,
        endorsements: Sequence[str] = DEFAULT_ENDORSEMENTS,
        kid: str | None = None,
        key_size: int = 2048,
    ) -> SigningKey:
        """Generate a key; ``kid`` defaults to the certificate thumbprint like AAD's."""
        private_key = rsa.generate_private_key(public_exponent=65537, key_size=key_size)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "login.botframework.com")])
        now = dt.datetime.now(dt.UTC)
        certificate = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(private_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=30))
            .sign(private_key, hashes.SHA256())
        )
        x5t = _b64url(certificate.fingerprint(hashes.SHA1()))
        return cls(private_key, certificate, kid or x5t, x5t, tuple(endorsements))

    def jwk(self) -> dict[str, Any]:
        """The JWKS entry, shaped like ``login.botframework.com/v1/.well-known/keys``."""
        numbers = self.private_key.public_key().public_numbers()
        der = self.certificate.public_bytes(serialization.Encoding.DER)
        return {
            "kty": "RSA",
            "use": "sig",
            "kid": self.kid,
            "x5t": self.x5t,
            "n": _b64url_uint(numbers.n),
            "e": _b64url_uint(numbers.e),
            "x5c": [base64.b64encode(der).decode("ascii")],
            "endorsements": list(self.endorsements),
        }

    def sign(self, claims: Mapping[str, Any], *, algorithm: str = "RS256") -> str:
        """Sign ``claims`` with the header Bot Framework uses (typ, alg, kid, x5t)."""
        headers = {"typ": "JWT", "kid": self.kid, "x5t": self.x5t}
        return jwt.encode(dict(claims), self.private_key, algorithm=algorithm, headers=headers)


@dataclass(frozen=True)
class BotAuthConfig:
    """Attribute bag read by ``ConfigurationBotFrameworkAuthentication`` (names are its keys)."""

    APP_ID: str
    APP_PASSWORD: str
    TO_BOT_FROM_CHANNEL_OPENID_METADATA_URL: str
    TO_BOT_FROM_EMULATOR_OPENID_METADATA_URL: str
    APP_TYPE: str = "MultiTenant"
    TO_BOT_FROM_CHANNEL_TOKEN_ISSUER: str = BOT_FRAMEWORK_ISSUER
    TO_CHANNEL_FROM_BOT_OAUTH_SCOPE: str = BOT_FRAMEWORK_ISSUER
    TO_CHANNEL_FROM_BOT_LOGIN_URL: str = PUBLIC_CLOUD_LOGIN_URL
    OAUTH_URL: str = BOT_FRAMEWORK_ISSUER
    CALLER_ID: str = PUBLIC_CLOUD_CALLER_ID
    VALIDATE_AUTHORITY: bool = True


@dataclass
class _Counters:
    lock: threading.Lock = field(default_factory=threading.Lock)
    metadata: int = 0
    jwks: int = 0


class BotFrameworkAuthStub:
    """Local stand-in for ``login.botframework.com``: metadata, JWKS, token minting.

    Use as ``async with BotFrameworkAuthStub() as auth: ...``; only the metadata
    endpoints need the server, minting works offline at any time.
    """

    def __init__(
        self,
        *,
        keys: Sequence[SigningKey] | None = None,
        issuer: str = BOT_FRAMEWORK_ISSUER,
    ) -> None:
        self.keys: tuple[SigningKey, ...] = tuple(keys) if keys else (SigningKey.generate(),)
        self.issuer = issuer
        self._prefix = "/" + secrets.token_hex(8)
        self._counters = _Counters()
        app = web.Application()
        app.router.add_get(f"{self._prefix}/v1/.well-known/openidconfiguration", self._metadata)
        app.router.add_get(
            f"{self._prefix}/common/v2.0/.well-known/openid-configuration", self._metadata
        )
        app.router.add_get(f"{self._prefix}/v1/.well-known/keys", self._jwks)
        self._server = LoopbackServer(app, name="botframework-auth-stub")

    # -- lifecycle -------------------------------------------------------------
    def start(self) -> None:
        """Start serving (blocking); prefer ``async with``."""
        self._server.start()

    def stop(self) -> None:
        """Stop serving and forget botbuilder's cached metadata for our URLs."""
        if self._server.running:
            _forget_cached_metadata(self.openid_metadata_url, self.emulator_openid_metadata_url)
        self._server.stop()

    async def __aenter__(self) -> BotFrameworkAuthStub:
        await self._server.__aenter__()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._server.running:
            _forget_cached_metadata(self.openid_metadata_url, self.emulator_openid_metadata_url)
        await self._server.__aexit__(*exc_info)

    # -- URLs ------------------------------------------------------------------
    @property
    def openid_metadata_url(self) -> str:
        """Value for ``TO_BOT_FROM_CHANNEL_OPENID_METADATA_URL``."""
        return f"{self._server.base_url}{self._prefix}/v1/.well-known/openidconfiguration"

    @property
    def emulator_openid_metadata_url(self) -> str:
        """Value for ``TO_BOT_FROM_EMULATOR_OPENID_METADATA_URL`` (same keys)."""
        return f"{self._server.base_url}{self._prefix}/common/v2.0/.well-known/openid-configuration"

    @property
    def jwks_url(self) -> str:
        """The ``jwks_uri`` advertised by the metadata document."""
        return f"{self._server.base_url}{self._prefix}/v1/.well-known/keys"

    @property
    def metadata_fetches(self) -> int:
        """How many times the metadata document was served (proves botbuilder used us)."""
        with self._counters.lock:
            return self._counters.metadata

    @property
    def jwks_fetches(self) -> int:
        """How many times the JWKS was served."""
        with self._counters.lock:
            return self._counters.jwks

    # -- configuration ---------------------------------------------------------
    def bot_config(self, *, app_id: str, app_password: str) -> BotAuthConfig:
        """Config for ``ConfigurationBotFrameworkAuthentication`` validating against this stub."""
        return BotAuthConfig(
            APP_ID=app_id,
            APP_PASSWORD=app_password,
            TO_BOT_FROM_CHANNEL_OPENID_METADATA_URL=self.openid_metadata_url,
            TO_BOT_FROM_EMULATOR_OPENID_METADATA_URL=self.emulator_openid_metadata_url,
            TO_BOT_FROM_CHANNEL_TOKEN_ISSUER=self.issuer,
        )

    # -- minting ---------------------------------------------------------------
    def mint_token(
        self,
        *,
        app_id: str,
        service_url: str,
        lifetime_s: int = 3600,
        signing_key: SigningKey | None = None,
        issuer: str | None = None,
        extra_claims: Mapping[str, Any] | None = None,
    ) -> str:
        """A channel-to-bot JWT as the Bot Framework channel service issues it.

        ``signing_key`` defaults to the first published key; pass a key that is not
        in the JWKS (or a forged one reusing a published ``kid``) for negative tests.
        """
        now = int(time.time())
        claims: dict[str, Any] = {
            "serviceurl": service_url,
            "nbf": now - 5,
            "exp": now + lifetime_s,
            "iss": self.issuer if issuer is None else issuer,
            "aud": app_id,
        }
        claims.update(extra_claims or {})
        return (signing_key or self.keys[0]).sign(claims)

    def auth_header(self, *, app_id: str, service_url: str, **kwargs: Any) -> str:
        """``"Bearer <jwt>"`` for :meth:`mint_token`."""
        return f"Bearer {self.mint_token(app_id=app_id, service_url=service_url, **kwargs)}"

    def mint_emulator_token(
        self, *, app_id: str, version: str = "1.0", lifetime_s: int = 3600
    ) -> str:
        """Emulator/AAD-style token (``ver``, ``appid``/``azp``); checked via the emulator URL."""
        now = int(time.time())
        claims: dict[str, Any] = {
            "aud": app_id,
            "nbf": now - 5,
            "exp": now + lifetime_s,
            "ver": version,
        }
        if version == "2.0":
            claims |= {"iss": EMULATOR_ISSUER_V2, "azp": app_id}
        else:
            claims |= {"iss": EMULATOR_ISSUER_V1, "appid": app_id}
        return self.keys[0].sign(claims)

    # -- handlers --------------------------------------------------------------
    async def _metadata(self, request: web.Request) -> web.Response:
        with self._counters.lock:
            self._counters.metadata += 1
        return web.json_response(
            {
                "issuer": self.issuer,
                "authorization_endpoint": "https://invalid.botframework.com",
                "jwks_uri": self.jwks_url,
                "id_token_signing_alg_values_supported": ["RS256"],
                "token_endpoint_auth_methods_supported": ["private_key_jwt"],
            }
        )

    async def _jwks(self, request: web.Request) -> web.Response:
        with self._counters.lock:
            self._counters.jwks += 1
        return web.json_response({"keys": [key.jwk() for key in self.keys]})


def _forget_cached_metadata(*urls: str) -> None:
    """Drop our entries from botbuilder's process-wide metadata cache."""
    from botframework.connector.auth.jwt_token_extractor import JwtTokenExtractor

    for url in urls:
        JwtTokenExtractor.metadataCache.pop(url, None)

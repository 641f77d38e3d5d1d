"""Bot Framework authentication: who may post to `/api/messages`, and Hearth's own credentials.

botbuilder 4.17 notes that shape this module:

* A bad token surfaces as PermissionError only for claim mismatches; an unknown key, a bad
  signature, an expired or unreadable token escape as other exceptions, which CloudAdapter
  answers with 500. `authenticate` maps them all to `Unauthorized` (401).
* OpenID metadata and signing keys are fetched with blocking `requests` on the event loop, and
  a failure is not remembered: `signing_keys.install()` replaces that with a cache that
  fetches in a thread and answers at once while a fetch failed recently (AuthUnavailable).
  MSAL fetches Hearth's outgoing token with blocking HTTP too.
  The credentials are built once per (app id, scope) here rather than once per turn, so MSAL's
  token cache is reused until the token expires instead of asking for a new one on every send.
"""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace

import jwt
import requests
from botbuilder.integration.aiohttp import (
    ConfigurationBotFrameworkAuthentication,
    ConfigurationServiceClientCredentialFactory,
)
from botbuilder.schema import Activity
from botframework.connector.auth import (
    AuthenticateRequestResult,
    BotFrameworkAuthentication,
    ServiceClientCredentialsFactory,
)
from msrest.authentication import Authentication

from hearth.bot.settings import Settings
from hearth.bot.teams.signing_keys import KeysUnavailable

AuthenticationFactory = Callable[[Settings], BotFrameworkAuthentication]
"""Builds the Bot Framework authentication from the settings (tests point it at local stubs)."""


class Unauthorized(Exception):
    """The request does not carry a valid Bot Framework token for this bot."""


class AuthUnavailable(Exception):
    """The token could not be checked now (the OpenID metadata could not be fetched)."""


class ReusedCredentialsFactory(ServiceClientCredentialsFactory):
    """Builds each outgoing credential once, so MSAL's token cache outlives a turn."""

    def __init__(self, inner: ServiceClientCredentialsFactory) -> None:
        self._inner = inner
        self._built: dict[tuple[str, str, str, bool], Authentication] = {}

    async def is_valid_app_id(self, app_id: str) -> bool:
        return await self._inner.is_valid_app_id(app_id)

    async def is_authentication_disabled(self) -> bool:
        return await self._inner.is_authentication_disabled()

    async def create_credentials(
        self, app_id: str, oauth_scope: str, login_endpoint: str, validate_authority: bool
    ) -> Authentication:
        key = (app_id, oauth_scope, login_endpoint, validate_authority)
        if key not in self._built:
            self._built[key] = await self._inner.create_credentials(*key)
        return self._built[key]


def configuration(settings: Settings) -> SimpleNamespace:
    """The attribute bag botbuilder's `Configuration…` classes read (only the keys we set)."""
    if settings.microsoft_app_id is None:  # emulator mode: authentication disabled
        return SimpleNamespace(APP_ID="", APP_PASSWORD="")
    return SimpleNamespace(
        APP_ID=settings.microsoft_app_id,
        APP_PASSWORD=settings.microsoft_app_password or "",
        APP_TENANTID=settings.microsoft_app_tenant_id or "",
        APP_TYPE=settings.microsoft_app_type,
    )


def default_authentication(settings: Settings) -> BotFrameworkAuthentication:
    """Public-cloud Bot Framework authentication for the configured Azure Bot."""
    config = configuration(settings)
    credentials = ReusedCredentialsFactory(ConfigurationServiceClientCredentialFactory(config))
    return ConfigurationBotFrameworkAuthentication(config, credentials_factory=credentials)


async def authenticate(
    authentication: BotFrameworkAuthentication, activity: Activity, header: str
) -> AuthenticateRequestResult:
    """Check the channel's JWT; raises Unauthorized (401) or AuthUnavailable (503)."""
    if not header.isascii():  # a JWT is ASCII; aiohttp hands other bytes on as they came
        raise Unauthorized("the Authorization header is not ASCII")
    scheme, _, token = header.partition(" ")
    if scheme != "Bearer" or not token.strip():
        raise Unauthorized("expected 'Authorization: Bearer <token>'")
    try:
        jwt.get_unverified_header(token)
    except jwt.PyJWTError as error:
        raise Unauthorized(f"not a JWT: {error}") from error
    try:
        return await authentication.authenticate_request(activity, header)
    except KeysUnavailable as error:
        raise AuthUnavailable(str(error)) from error
    except requests.RequestException as error:
        raise AuthUnavailable(f"could not fetch the signing keys: {error}") from error
    except (PermissionError, jwt.PyJWTError, LookupError, AttributeError, ValueError) as error:
        # LookupError: a key id that is not published; AttributeError: no identity at all
        raise Unauthorized(f"{type(error).__name__}: {error}") from error
    except Exception as error:
        # botbuilder raises a bare Exception("Could not validate endorsement key") when the
        # signing key does not endorse the activity's channel. Only that exact type is a
        # rejected token; anything else is a fault and is raised as it is.
        if type(error) is not Exception:
            raise
        raise Unauthorized(str(error)) from error

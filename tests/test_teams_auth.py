"""Bot Framework authentication from the settings, and outgoing credentials built once."""

from __future__ import annotations

import pytest

pytest.importorskip("botbuilder.integration.aiohttp", reason="botbuilder is not installed")

from botframework.connector.auth import (
    MicrosoftAppCredentials,
    PasswordServiceClientCredentialFactory,
)

from hearth.bot.settings import Settings
from hearth.bot.teams.auth import (
    ReusedCredentialsFactory,
    configuration,
    default_authentication,
)

APP_ID = "9a1b2c3d-0000-4000-8000-00000000b07a"
TENANT = "3b9e9fbb-ed2f-415b-b776-cf788e573366"
SCOPE = "https://api.botframework.com"
LOGIN = "https://login.microsoftonline.com/botframework.com"


def test_configuration_follows_the_settings() -> None:
    emulator = configuration(Settings(teams_emulator=True))
    assert vars(emulator) == {"APP_ID": "", "APP_PASSWORD": ""}
    single = configuration(
        Settings(
            microsoft_app_id=APP_ID,
            microsoft_app_password="pw",
            microsoft_app_tenant_id=TENANT,
            microsoft_app_type="SingleTenant",
        )
    )
    assert vars(single) == {
        "APP_ID": APP_ID,
        "APP_PASSWORD": "pw",
        "APP_TENANTID": TENANT,
        "APP_TYPE": "SingleTenant",
    }


async def test_credentials_are_built_once_per_audience() -> None:
    built: list[str] = []

    class Counting(PasswordServiceClientCredentialFactory):
        async def create_credentials(self, *args: object) -> MicrosoftAppCredentials:
            built.append(str(args[1]))
            return await super().create_credentials(*args)  # type: ignore[arg-type]

    factory = ReusedCredentialsFactory(Counting(APP_ID, "pw"))
    first = await factory.create_credentials(APP_ID, SCOPE, LOGIN, True)
    again = await factory.create_credentials(APP_ID, SCOPE, LOGIN, True)
    other = await factory.create_credentials(APP_ID, "https://other.example", LOGIN, True)
    assert first is again and other is not first
    assert isinstance(first, MicrosoftAppCredentials) and first.microsoft_app_id == APP_ID
    assert built == [SCOPE, "https://other.example"]
    assert await factory.is_valid_app_id(APP_ID) and not await factory.is_valid_app_id("x")
    assert not await factory.is_authentication_disabled()
    disabled = ReusedCredentialsFactory(PasswordServiceClientCredentialFactory(None, None))
    assert await disabled.is_authentication_disabled()


async def test_the_default_authentication_validates_against_the_public_cloud() -> None:
    settings = Settings(microsoft_app_id=APP_ID, microsoft_app_password="pw")
    authentication = default_authentication(settings)
    assert authentication.get_originating_audience() == SCOPE

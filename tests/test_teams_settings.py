"""Teams settings: Azure Bot credentials in either spelling, emulator mode, clear refusals."""

from __future__ import annotations

import pytest

from hearth.bot import cli
from hearth.bot.settings import Settings, SettingsError

APP_ID = "9a1b2c3d-0000-4000-8000-00000000b07a"
TENANT = "3b9e9fbb-ed2f-415b-b776-cf788e573366"
SECRET = {"HEARTH_SECRET": "s" * 32}


def test_teams_is_off_without_credentials() -> None:
    settings = Settings.from_env({})
    assert (settings.teams_enabled, settings.microsoft_app_id, settings.teams_emulator) == (
        False,
        None,
        False,
    )


@pytest.mark.parametrize(
    "env",
    [
        {"MICROSOFT_APP_ID": APP_ID, "MICROSOFT_APP_PASSWORD": "pw", **SECRET},
        {"MicrosoftAppId": APP_ID, "MicrosoftAppPassword": "pw", **SECRET},
    ],
)
def test_both_spellings_of_the_azure_bot_credentials(env: dict[str, str]) -> None:
    settings = Settings.from_env(env)
    assert settings.teams_enabled
    assert (settings.microsoft_app_id, settings.microsoft_app_password) == (APP_ID, "pw")
    assert settings.microsoft_app_type == "MultiTenant"


def test_single_tenant_and_managed_identity() -> None:
    single = Settings.from_env(
        {
            "MICROSOFT_APP_ID": APP_ID,
            "MICROSOFT_APP_PASSWORD": "pw",
            "MicrosoftAppType": "singletenant",
            "MicrosoftAppTenantId": TENANT,
            **SECRET,
        }
    )
    assert (single.microsoft_app_type, single.microsoft_app_tenant_id) == ("SingleTenant", TENANT)
    msi = Settings.from_env(
        {
            "MICROSOFT_APP_ID": APP_ID,
            "MICROSOFT_APP_TYPE": "UserAssignedMSI",
            "MICROSOFT_APP_TENANT_ID": TENANT,
            **SECRET,
        }
    )
    assert (msi.microsoft_app_type, msi.microsoft_app_password) == ("UserAssignedMSI", None)


def test_emulator_mode_needs_no_credentials() -> None:
    settings = Settings.from_env({"HEARTH_TEAMS_EMULATOR": "1"})
    assert (settings.teams_enabled, settings.teams_emulator) == (True, True)
    assert Settings.from_env({"HEARTH_TEAMS_EMULATOR": "0"}).teams_enabled is False


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"MICROSOFT_APP_ID": APP_ID}, "MICROSOFT_APP_PASSWORD is required with MICROSOFT_APP_ID"),
        (
            {"MICROSOFT_APP_ID": "my-bot", "MICROSOFT_APP_PASSWORD": "pw"},
            "MICROSOFT_APP_ID must be the Azure Bot's app id (a GUID), not 'my-bot'",
        ),
        (
            {"MICROSOFT_APP_PASSWORD": "pw"},
            "MICROSOFT_APP_PASSWORD or MICROSOFT_APP_TENANT_ID is set but MICROSOFT_APP_ID is not",
        ),
        (
            {"MICROSOFT_APP_ID": APP_ID, "MICROSOFT_APP_PASSWORD": "pw", "MICROSOFT_APP_TYPE": "x"},
            "MICROSOFT_APP_TYPE must be one of MultiTenant, SingleTenant, UserAssignedMSI",
        ),
        (
            {
                "MICROSOFT_APP_ID": APP_ID,
                "MICROSOFT_APP_PASSWORD": "pw",
                "MICROSOFT_APP_TYPE": "SingleTenant",
            },
            "MICROSOFT_APP_TENANT_ID is required when MICROSOFT_APP_TYPE is SingleTenant",
        ),
        (
            {
                "MICROSOFT_APP_ID": APP_ID,
                "MICROSOFT_APP_PASSWORD": "pw",
                "HEARTH_TEAMS_EMULATOR": "1",
            },
            "HEARTH_TEAMS_EMULATOR=1 serves Teams without authentication",
        ),
        ({"HEARTH_TEAMS_EMULATOR": "maybe"}, "HEARTH_TEAMS_EMULATOR must be 1 or 0, not 'maybe'"),
    ],
)
def test_wrong_teams_settings_are_named(env: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError) as caught:
        Settings.from_env(env)
    assert str(caught.value).startswith(message)


def test_a_wrong_teams_setting_stops_start_up_with_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("MICROSOFT_APP_ID", APP_ID)
    assert cli.main(["serve"]) == 2
    assert capsys.readouterr().err == (
        "hearth: MICROSOFT_APP_PASSWORD is required with MICROSOFT_APP_ID (MultiTenant)\n"
    )

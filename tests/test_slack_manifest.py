"""The Slack manifest is valid and declares exactly what Hearth uses."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from hearth.bot.slack.app_manifest import BOT_EVENTS, BOT_SCOPES, SLASH_COMMAND
from tests.conftest import shared_path

MANIFEST = Path(__file__).resolve().parents[1] / "manifests" / "slack" / "manifest.yaml"


@pytest.fixture
def manifest() -> dict[str, Any]:
    return yaml.safe_load(MANIFEST.read_text())


def test_manifest_is_valid_against_slacks_schema(manifest: dict[str, Any]) -> None:
    schema = json.loads(shared_path("specs", "slack", "manifest.schema.v1.json").read_text())
    jsonschema.validate(manifest, schema)


def test_the_schema_check_rejects_a_broken_manifest(manifest: dict[str, Any]) -> None:
    schema = json.loads(shared_path("specs", "slack", "manifest.schema.v1.json").read_text())
    del manifest["display_information"]["name"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(manifest, schema)


def test_manifest_declares_exactly_the_events_scopes_and_command_used(
    manifest: dict[str, Any],
) -> None:
    assert sorted(manifest["settings"]["event_subscriptions"]["bot_events"]) == sorted(BOT_EVENTS)
    assert sorted(manifest["oauth_config"]["scopes"]["bot"]) == sorted(BOT_SCOPES)
    assert [c["command"] for c in manifest["features"]["slash_commands"]] == [SLASH_COMMAND]
    assert manifest["settings"]["interactivity"]["is_enabled"] is True
    urls = {
        manifest["settings"]["event_subscriptions"]["request_url"],
        manifest["settings"]["interactivity"]["request_url"],
        manifest["features"]["slash_commands"][0]["url"],
    }
    assert {url.rsplit("/", 2)[-2:] == ["slack", "events"] for url in urls} == {True}


def test_the_adapter_listens_to_exactly_the_subscribed_event_types() -> None:
    from hearth.bot.slack.adapter import EVENTS

    assert set(EVENTS) == {name.split(".")[0] for name in BOT_EVENTS}

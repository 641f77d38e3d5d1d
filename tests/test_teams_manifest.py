"""The Teams app package: a manifest valid against the official schema, menus from the registry."""

from __future__ import annotations

import json
import struct
import zipfile
import zlib
from pathlib import Path

import jsonschema
import pytest

from hearth.bot import cli
from hearth.bot.teams import manifest
from hearth.handlers import build_registry
from hearth.handlers.registry import Registry
from tests.conftest import shared_path

APP_ID = "9a1b2c3d-0000-4000-8000-00000000b07a"
SCHEMA_VERSION = "1.19"


@pytest.fixture(scope="module")
def manifest_schema() -> jsonschema.Draft4Validator:
    path = shared_path("specs", "teams", f"manifest.schema.v{SCHEMA_VERSION}.json")
    schema = json.loads(path.read_text("utf-8-sig"))
    jsonschema.Draft4Validator.check_schema(schema)
    return jsonschema.Draft4Validator(schema)


def errors(validator: jsonschema.Draft4Validator, document: dict) -> list[str]:
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(document)]


def built() -> dict:
    return manifest.build(
        manifest.load_template(), app_id=APP_ID, version="1.2.3", registry=build_registry()
    )


def test_the_built_manifest_is_valid(manifest_schema: jsonschema.Draft4Validator) -> None:
    document = built()
    assert errors(manifest_schema, document) == []
    # draft-04 has no `const`: the schema version is checked by hand
    assert document["manifestVersion"] == SCHEMA_VERSION
    assert document["$schema"].endswith(f"/v{SCHEMA_VERSION}/MicrosoftTeams.schema.json")
    (bot,) = document["bots"]
    assert (document["id"], bot["botId"], document["version"]) == (APP_ID, APP_ID, "1.2.3")
    assert sorted(bot["scopes"]) == ["groupChat", "personal", "team"]
    assert document["webApplicationInfo"]["id"] == APP_ID
    assert document["authorization"]["permissions"]["resourceSpecific"] == [
        {"name": "ChannelMessage.Read.Group", "type": "Application"}
    ]


def test_the_committed_template_is_valid_and_its_menus_are_current(
    manifest_schema: jsonschema.Draft4Validator,
) -> None:
    template = manifest.load_template()
    assert errors(manifest_schema, template) == []
    assert template["bots"][0]["commandLists"] == manifest.command_lists(build_registry()), (
        "manifests/teams/manifest.json is behind the command registry: "
        "run `hearth teams-package --refresh-template`"
    )


def test_the_schema_check_catches_mistakes(manifest_schema: jsonschema.Draft4Validator) -> None:
    document = built()
    document["bots"][0]["commandLists"][0]["commands"].append({"title": "x" * 33})
    document["authorization"]["permissions"]["resourceSpecific"][0]["type"] = "Sometimes"
    problems = errors(manifest_schema, document)
    assert any("'description' is a required property" in p for p in problems)
    assert any("is too long" in p for p in problems)
    assert any("'Sometimes' is not one of" in p for p in problems)


def test_command_menus_come_from_the_registry_within_teams_limits() -> None:
    registry = build_registry()
    team, personal = manifest.command_lists(registry)
    assert team["scopes"] == ["team", "groupChat"] and personal["scopes"] == ["personal"]
    titles = [c["title"] for c in team["commands"]]
    assert titles[:2] == ["help", "setup"]
    assert len(titles) == min(manifest.MAX_COMMANDS, len(registry.commands))
    assert set(titles) <= set(registry.commands)
    members_first = [registry.commands[t].facilitator_only for t in titles]
    assert members_first == sorted(members_first)
    assert [c["title"] for c in personal["commands"]] == [
        "help",
        "settings",
        "optout",
        "optin",
        "away",
        "back",
        "my-data",
        "forget-me",
    ]
    for command in team["commands"] + personal["commands"]:
        assert len(command["title"]) <= 32 and len(command["description"]) <= 128
    add = manifest._command(registry.commands["facilitator add"])  # how a menu names one
    assert add["description"] == (
        "Facilitators: make someone a facilitator. Usage: @Hearth facilitator add @someone"
    )


def test_a_crowded_registry_keeps_the_ten_most_useful(manifest_schema) -> None:
    registry = Registry()

    async def run(*args: object) -> None:
        return None

    for n in range(12):
        registry.command(f"steer{n:02}", summary="steer " * 40, facilitator_only=True)(run)
    for n in range(3):
        registry.command(f"member{n}", summary="for everyone")(run)
    (team,) = manifest.command_lists(registry)
    titles = [c["title"] for c in team["commands"]]
    assert titles == ["member0", "member1", "member2", *[f"steer{n:02}" for n in range(7)]]
    assert all(len(c["description"]) == 128 for c in team["commands"][3:])
    document = manifest.build(
        manifest.load_template(), app_id=APP_ID, version="1.0.0", registry=registry
    )
    assert errors(manifest_schema, document) == []


def png(path: Path) -> tuple[int, int, list[tuple[int, int, int, int]]]:
    """Width, height and RGBA pixels of an 8-bit RGBA, non-interlaced PNG."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", data[16:29])
    assert (depth, colour, interlace) == (8, 6, 0), "expected 8-bit RGBA"
    chunks, offset = b"", 8
    while offset < len(data):
        (length,), kind = (
            struct.unpack(">I", data[offset : offset + 4]),
            data[offset + 4 : offset + 8],
        )
        if kind == b"IDAT":
            chunks += data[offset + 8 : offset + 8 + length]
        offset += 12 + length
    raw, stride, previous, pixels = zlib.decompress(chunks), width * 4, bytearray(width * 4), []
    for row in range(height):
        start = row * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        for i in range(stride):
            left = line[i - 4] if i >= 4 else 0
            up, corner = previous[i], previous[i - 4] if i >= 4 else 0
            match kind:
                case 1:
                    line[i] = (line[i] + left) & 0xFF
                case 2:
                    line[i] = (line[i] + up) & 0xFF
                case 3:
                    line[i] = (line[i] + (left + up) // 2) & 0xFF
                case 4:
                    p = left + up - corner
                    pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                    best = left if pa <= pb and pa <= pc else up if pb <= pc else corner
                    line[i] = (line[i] + best) & 0xFF
        pixels += [tuple(line[i : i + 4]) for i in range(0, stride, 4)]
        previous = line
    return width, height, pixels  # type: ignore[return-value]


def test_icons_are_the_sizes_teams_requires() -> None:
    width, height, pixels = png(manifest.SOURCE / "color.png")
    assert (width, height) == (192, 192)
    assert all(a == 255 for *_, a in pixels[192 * 96 : 192 * 97])  # opaque across the middle
    width, height, pixels = png(manifest.SOURCE / "outline.png")
    assert (width, height) == (32, 32)
    visible = [(r, g, b) for r, g, b, a in pixels if a]
    assert visible and all(rgb == (255, 255, 255) for rgb in visible), "white on transparent"
    assert any(a == 0 for *_, a in pixels)


def test_teams_package_writes_the_zip_to_upload(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], manifest_schema
) -> None:
    output = tmp_path / "out" / "hearth.zip"
    code = cli.main(
        ["teams-package", "--app-id", APP_ID, "--version", "2.0.1", "--output", str(output)]
    )
    assert code == 0
    assert capsys.readouterr().out.startswith(f"wrote {output}")
    with zipfile.ZipFile(output) as archive:
        assert sorted(archive.namelist()) == ["color.png", "manifest.json", "outline.png"]
        document = json.loads(archive.read("manifest.json"))
        assert archive.read("color.png") == (manifest.SOURCE / "color.png").read_bytes()
    assert errors(manifest_schema, document) == []
    assert (document["id"], document["version"]) == (APP_ID, "2.0.1")


def test_teams_package_takes_the_app_id_from_the_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MICROSOFT_APP_ID", APP_ID)
    monkeypatch.setenv("MICROSOFT_APP_PASSWORD", "secret")
    output = tmp_path / "hearth.zip"
    assert cli.main(["teams-package", "--output", str(output)]) == 0
    with zipfile.ZipFile(output) as archive:
        assert json.loads(archive.read("manifest.json"))["bots"][0]["botId"] == APP_ID


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "hearth: teams-package needs the Azure Bot's app id (a GUID)"),
        (["--app-id", "my-bot"], "hearth: teams-package needs the Azure Bot's app id (a GUID)"),
        (["--app-id", APP_ID, "--version", "v1"], "hearth: --version must look like 1.2.3"),
        (["--app-id", APP_ID, "--source", "/nowhere"], "hearth: /nowhere lacks manifest.json"),
    ],
)
def test_teams_package_says_what_is_wrong(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    assert cli.main(["teams-package", "--output", str(tmp_path / "x.zip"), *args]) == 2
    assert capsys.readouterr().err.startswith(message)
    assert not (tmp_path / "x.zip").exists()


def test_refresh_template_rewrites_only_the_menus(tmp_path: Path) -> None:
    for name in manifest.FILES:
        (tmp_path / name).write_bytes((manifest.SOURCE / name).read_bytes())
    stale = manifest.load_template(tmp_path)
    stale["bots"][0]["commandLists"] = []
    (tmp_path / "manifest.json").write_text(json.dumps(stale))
    assert cli.main(["teams-package", "--source", str(tmp_path), "--refresh-template"]) == 0
    fresh = manifest.load_template(tmp_path)
    assert fresh["bots"][0]["commandLists"] == manifest.command_lists(build_registry())
    assert {k: v for k, v in fresh.items() if k != "bots"} == {
        k: v for k, v in stale.items() if k != "bots"
    }
    assert manifest.refresh_template(build_registry(), tmp_path) is False

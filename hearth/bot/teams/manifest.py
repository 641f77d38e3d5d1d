"""The Teams app package: `manifests/teams/manifest.json` filled in, zipped with its icons.

The command menu (`commandLists`) comes from the same registry as `help`. Teams allows at most
10 commands per list, titles of 32 characters and descriptions of 128: the commands every
member can use come first, then the facilitators' ones, in registration order, up to 10. In a
1:1 chat only the commands that work there are offered (those needing no community, except
`setup`, which is run in the channel that becomes the community); the team menu leaves those
personal commands out, except `help`.
"""

from __future__ import annotations

import copy
import json
import zipfile
from pathlib import Path
from typing import Any

from hearth.handlers.registry import Command, Registry

SOURCE = Path(__file__).resolve().parents[3] / "manifests" / "teams"
"""manifest.json, color.png and outline.png in a source checkout."""
FILES = ("manifest.json", "color.png", "outline.png")
MAX_COMMANDS = 10
MAX_TITLE = 32
MAX_DESCRIPTION = 128
NOT_IN_PERSONAL_CHAT = frozenset({"setup"})
EVERYWHERE = frozenset({"help"})
"""Also in the team menu although it works in a 1:1 chat: personal commands (settings, my
data…) are offered in the 1:1 menu only, leaving the team menu to the community's commands."""
RSC_PERMISSIONS = ({"name": "ChannelMessage.Read.Group", "type": "Application"},)
"""Receive every channel message, not only those that @mention Hearth (the community memory)."""
RSC_RESOURCE = "https://RscBasedStoreApp"
"""webApplicationInfo.resource: unused by resource-specific consent, but it must be present."""


def command_lists(registry: Registry) -> list[dict[str, Any]]:
    """The bot's command menus: one for teams and group chats, one for 1:1 chats."""
    ordered = sorted(
        registry.commands.values(),
        key=lambda c: (c.facilitator_only, list(registry.commands).index(c.name)),
    )
    personal = [c for c in ordered if not c.needs_community and c.name not in NOT_IN_PERSONAL_CHAT]
    shared = [c for c in ordered if c not in personal or c.name in EVERYWHERE]
    lists = [
        {"scopes": ["team", "groupChat"], "commands": [_command(c) for c in shared]},
        {"scopes": ["personal"], "commands": [_command(c) for c in personal]},
    ]
    for menu in lists:
        menu["commands"] = menu["commands"][:MAX_COMMANDS]
    return [m for m in lists if m["commands"]]


def build(
    template: dict[str, Any], *, app_id: str, version: str, registry: Registry
) -> dict[str, Any]:
    """The manifest for one Azure Bot: its app id, a version, the current command menus."""
    manifest = copy.deepcopy(template)
    manifest["id"] = app_id
    manifest["version"] = version
    (bot,) = manifest["bots"]
    bot["botId"] = app_id
    bot["commandLists"] = command_lists(registry)
    manifest["webApplicationInfo"] = {"id": app_id, "resource": RSC_RESOURCE}
    manifest["authorization"] = {
        "permissions": {"resourceSpecific": [dict(p) for p in RSC_PERMISSIONS]}
    }
    return manifest


def load_template(source: Path = SOURCE) -> dict[str, Any]:
    """The committed manifest.json."""
    return json.loads((source / "manifest.json").read_text("utf-8"))


def package(
    output: Path, *, app_id: str, version: str, registry: Registry, source: Path = SOURCE
) -> Path:
    """Write the zip to upload to Teams (manifest.json and both icons at its root)."""
    manifest = build(load_template(source), app_id=app_id, version=version, registry=registry)
    output.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(output, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("manifest.json", json.dumps(manifest, indent=2, ensure_ascii=False))
        for icon in FILES[1:]:
            archive.write(source / icon, icon)
    return output


def refresh_template(registry: Registry, source: Path = SOURCE) -> bool:
    """Bring the committed manifest's command menus up to date; True if it changed."""
    template = load_template(source)
    (bot,) = template["bots"]
    lists = command_lists(registry)
    if bot.get("commandLists") == lists:
        return False
    bot["commandLists"] = lists
    text = json.dumps(template, indent=2, ensure_ascii=False) + "\n"
    (source / "manifest.json").write_text(text, "utf-8")
    return True


def _command(command: Command) -> dict[str, str]:
    summary = f"Facilitators: {command.summary}" if command.facilitator_only else command.summary
    description = f"{summary[:1].upper()}{summary[1:]}. Usage: @Hearth {command.usage}"
    return {
        "title": _clip(command.name, MAX_TITLE),
        "description": _clip(description, MAX_DESCRIPTION),
    }


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"

"""botbuilder stays in one folder, so that swapping the Teams SDK later touches only that."""

from __future__ import annotations

from tests.test_architecture import HEARTH, imports_of

TEAMS_SDK = ("botbuilder", "botframework", "msrest", "msal")


def test_only_bot_teams_imports_the_teams_sdk() -> None:
    importers = {
        str(path.relative_to(HEARTH))
        for path in HEARTH.rglob("*.py")
        if any(name.split(".")[0] in TEAMS_SDK for name in imports_of(path))
    }
    assert importers, "the Teams adapter imports botbuilder"
    assert {p for p in importers if not p.startswith("bot/teams/")} == set()

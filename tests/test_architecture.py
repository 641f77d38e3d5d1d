"""The dependency rule: the core never imports a platform SDK; storage imports nothing of ours."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

HEARTH = Path(__file__).resolve().parents[1] / "hearth"
PLATFORM_SDKS = ("slack_bolt", "slack_sdk", "botbuilder", "botframework", "aiohttp")


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def modules(folder: str) -> list[Path]:
    found = sorted((HEARTH / folder).rglob("*.py"))
    assert found, f"no modules under hearth/{folder}"
    return found


@pytest.mark.parametrize("folder", ["handlers", "storage", "scheduler"])
def test_core_imports_no_platform_code(folder: str) -> None:
    offenders = {
        f"{path.relative_to(HEARTH)}: {name}"
        for path in modules(folder)
        for name in imports_of(path)
        if name.split(".")[0] in PLATFORM_SDKS
    }
    assert offenders == set()


def test_storage_imports_nothing_of_ours() -> None:
    offenders = {
        f"{path.relative_to(HEARTH)}: {name}"
        for path in modules("storage")
        for name in imports_of(path)
        if name.startswith("hearth.") and not name.startswith("hearth.storage")
    }
    assert offenders == set()


def test_handlers_use_only_the_calendar_s_words_not_its_engine() -> None:
    """Features declare timed work (rules, declarations); the engine runs above them."""
    offenders = {
        f"{path.relative_to(HEARTH)}: {name}"
        for path in modules("handlers")
        for name in imports_of(path)
        if name.startswith("hearth.scheduler")
        and name not in ("hearth.scheduler.rules", "hearth.scheduler.declarations")
    }
    assert offenders == set()


def test_no_settings_are_read_at_import_time() -> None:
    offenders = [
        str(path.relative_to(HEARTH))
        for path in HEARTH.rglob("*.py")
        if "os.environ" in path.read_text() and path.name != "cli.py"
    ]
    assert offenders == []

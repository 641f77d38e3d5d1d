"""Tests that cannot go green by accident: in CI a missing ../shared or PostgreSQL fails the
run (outside CI it skips, saying why), and a hung test fails instead of hanging."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests import conftest

ROOT = Path(__file__).resolve().parents[1]


def closed_port() -> int:
    """A loopback port nothing listens on (taken from the OS, then let go)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def pytest_in(root: Path, *args: str, ci: bool, **env: str) -> subprocess.CompletedProcess[str]:
    """Run pytest on `root`'s tests in a child process, with or without CI set."""
    environment = {k: v for k, v in os.environ.items() if k not in ("CI", "PYTEST_ADDOPTS")}
    environment.update(env, PYTHONPATH=str(root), **({"CI": "true"} if ci else {}))
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-rs",
            "-p",
            "no:randomly",
            "-p",
            "no:cacheprovider",
            *args,
        ],
        cwd=root,
        env=environment,
        capture_output=True,
        text=True,
        timeout=110,
        check=False,
    )


@pytest.fixture(scope="module")
def repository_without_shared(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the code and tests with no ../shared beside it."""
    root = tmp_path_factory.mktemp("clone") / "hearth"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for folder in ("hearth", "tests"):
        shutil.copytree(ROOT / folder, root / folder, ignore=ignore)
    shutil.copy(ROOT / "pyproject.toml", root / "pyproject.toml")
    assert not (root.parent / "shared").exists()
    return root


UNREACHABLE = {"TEST_DATABASE_URL": f"postgresql+asyncpg://postgres@127.0.0.1:{closed_port()}/x"}


def test_outside_ci_an_unreachable_postgres_skips_saying_why() -> None:
    run = pytest_in(ROOT, "tests/test_smoke_db.py", ci=False, **UNREACHABLE)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "1 passed, 1 skipped" in run.stdout
    assert "PostgreSQL not reachable at" in run.stdout


def test_in_ci_an_unreachable_postgres_fails_the_run() -> None:
    run = pytest_in(ROOT, "tests/test_smoke_db.py", ci=True, **UNREACHABLE)
    assert run.returncode == pytest.ExitCode.TESTS_FAILED, run.stdout + run.stderr
    assert "CI is set but PostgreSQL not reachable at" in run.stdout + run.stderr
    assert "passed" not in run.stdout


def test_outside_ci_a_missing_shared_folder_skips_saying_why(
    repository_without_shared: Path,
) -> None:
    run = pytest_in(
        repository_without_shared, "tests/test_metrics.py", "-k", "count_events", ci=False
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "1 skipped" in run.stdout
    assert "the ../shared checkout next to the repository is needed" in run.stdout


def test_in_ci_a_missing_shared_folder_fails_the_run(repository_without_shared: Path) -> None:
    run = pytest_in(
        repository_without_shared, "tests/test_metrics.py", "-k", "count_events", ci=True
    )
    assert run.returncode == pytest.ExitCode.TESTS_FAILED, run.stdout + run.stderr
    assert "(the ../shared folder beside the repository) is absent" in run.stdout + run.stderr


def test_in_ci_a_test_needing_a_shared_file_fails_instead_of_skipping(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI is set, so this fails"):
        conftest.shared_path("no", "such", "file.json")
    monkeypatch.delenv("CI")
    with pytest.raises(pytest.skip.Exception, match=r"needs .*file\.json"):
        conftest.shared_path("no", "such", "file.json")


def test_pytest_timeout_is_on(pytestconfig: pytest.Config) -> None:
    assert pytestconfig.pluginmanager.hasplugin("timeout")
    assert pytestconfig.getini("timeout") == "120"


def test_a_hung_test_fails_instead_of_hanging(tmp_path: Path) -> None:
    (tmp_path / "test_hangs.py").write_text(
        "import threading\n\ndef test_hangs():\n    threading.Event().wait()\n"
    )
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-o",
            "timeout=1",
            "test_hangs.py",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert run.returncode == pytest.ExitCode.TESTS_FAILED, run.stdout + run.stderr
    assert "Timeout" in run.stdout

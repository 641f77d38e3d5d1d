"""Property: any activity posted to /api/messages (emulator mode, and with a valid token from the
local Bot Framework stub), however hostile, gets no 5xx, leaves no unhandled exception in the
log, and changes nothing when it is refused. On SQLite and PostgreSQL."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("botbuilder.integration.aiohttp", reason="botbuilder is not installed")

from tests.fakes.teams_connector import ACTIVITIES_DIR, require_teams_specs

require_teams_specs()

from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from hearth.bot.app import SUPERVISOR  # noqa: E402
from tests.background import Background, background  # noqa: E402
from tests.fuzzing import DEEP, PROPERTY, crashes, fields, mutated, row_counts  # noqa: E402
from tests.teams_helpers import TeamsHarness, activity, serve_teams  # noqa: E402
from tests.test_teams_http import set_up_community  # noqa: E402

SAMPLES = sorted(p.stem for p in ACTIVITIES_DIR.glob("*.json"))
READ = fields(
    "type id timestamp serviceUrl channelId text name replyToId value entities membersAdded"
    " membersRemoved reactionsAdded from.id from.name from.aadObjectId from.role recipient.id"
    " conversation.id conversation.conversationType conversation.isGroup conversation.tenantId"
    " channelData.team channelData.team.id channelData.channel.id channelData.tenant.id"
    " channelData.teamsTeamId value.action value.action.data"
)
"""The fields Hearth reads: mutated more often than the rest."""


def teams(
    tmp_path: Path, database_url: str, *, emulator: bool
) -> Iterator[tuple[Background, TeamsHarness]]:
    with (
        background() as loop,
        loop.entered(
            serve_teams(tmp_path, emulator=emulator, database_url=database_url, stop_sender=True)
        ) as h,
    ):
        loop.run(set_up_community(h))
        # the community's calendar may fire now: not what a refused activity may change
        loop.run(h.app[SUPERVISOR].stop_loop("scheduler"))
        yield loop, h


@pytest.fixture
def emulated(tmp_path: Path, database_url: str) -> Iterator[tuple[Background, TeamsHarness]]:
    yield from teams(tmp_path, database_url, emulator=True)


@pytest.fixture
def authenticated(tmp_path: Path, database_url: str) -> Iterator[tuple[Background, TeamsHarness]]:
    yield from teams(tmp_path, database_url, emulator=False)


def check(loop: Background, h: TeamsHarness, body: bytes, header: str | None, caplog: Any) -> int:
    loop.run(h.flush())  # what earlier activities queued goes out now, not during the request
    before = loop.run(row_counts(h.db))
    status, answer = loop.run(h.post(body, header=header))
    assert status < 500, (status, answer, body[:300])
    if status != 200:
        assert loop.run(row_counts(h.db)) == before, (status, answer, body[:300])
    assert not crashes(caplog.records), (crashes(caplog.records), body[:300])
    return status


def hostile(data: st.DataObject, h: TeamsHarness) -> Any:
    sample = activity(data.draw(st.sampled_from(SAMPLES), label="sample"), h.connector)
    sample["id"] = uuid.uuid4().hex
    return data.draw(mutated(sample, focus=READ), label="activity")


def token_for(h: TeamsHarness, sent: Any) -> str:
    """A valid token for the activity's own serviceUrl (when it has one)."""
    url = sent.get("serviceUrl") if isinstance(sent, dict) else None
    return h.header(service_url=url if isinstance(url, str) else h.connector.service_url)


@PROPERTY
@given(data=st.data())
def test_activities_never_break_hearth_in_emulator_mode(
    emulated: tuple[Background, TeamsHarness], caplog: pytest.LogCaptureFixture, data: st.DataObject
) -> None:
    loop, h = emulated
    sent = hostile(data, h)
    check(loop, h, json.dumps(sent).encode(), None, caplog)


@PROPERTY
@given(data=st.data())
def test_activities_never_break_hearth_with_a_valid_token(
    authenticated: tuple[Background, TeamsHarness],
    caplog: pytest.LogCaptureFixture,
    data: st.DataObject,
) -> None:
    loop, h = authenticated
    sent = hostile(data, h)
    check(loop, h, json.dumps(sent).encode(), token_for(h, sent), caplog)


@PROPERTY
@given(
    body=st.binary(max_size=64) | st.sampled_from([d.encode() for d in DEEP]),
    header=st.none()
    | st.text(st.characters(max_codepoint=255, exclude_categories=["Cc"]), max_size=40).map(
        lambda text: f"Bearer {text}"
    ),
)
def test_garbage_and_bad_headers_are_refused_without_a_trace(
    authenticated: tuple[Background, TeamsHarness],
    caplog: pytest.LogCaptureFixture,
    body: bytes,
    header: str | None,
) -> None:
    loop, h = authenticated
    assert check(loop, h, body, header, caplog) >= 400

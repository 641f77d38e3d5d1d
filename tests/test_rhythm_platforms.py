"""A long digest on Slack and Teams: within Block Kit's and an Adaptive Card's limits, cut
sensibly, the rest in the digest's thread; every call checked by the fakes against the specs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select

from hearth.bot.app import HUB
from hearth.handlers.context import Context
from hearth.handlers.registry import DigestItem, DigestPeriod, DigestProvider, DigestSection
from hearth.scheduler.scheduler import Scheduler
from hearth.storage.models import OutboxMessage
from tests.fakes.slack_api import SPEC_MISSING_REASON, spec_available
from tests.slack_helpers import CHANNEL, SettableClock, running_hearth
from tests.test_slack_http import START, set_up_community
from tests.waiting import eventually

SECTIONS = 14
ITEMS = 12
"""14 sections of 12 long lines: 168 items, far past 50 blocks and a card's size."""
TEAMS_LIMIT = 28 * 1024
"""Teams refuses a message over about 28 KB."""


def provider(number: int) -> DigestProvider:
    async def section(context: Context, period: DigestPeriod) -> DigestSection:
        items = tuple(
            DigestItem(f"Item {number}.{i} & <b>not markup</b> " + "long words " * 30)
            for i in range(ITEMS)
        )
        return DigestSection(f"Section {number}", items)

    return section


def install(registry: object) -> None:
    for number in range(SECTIONS):
        registry.digest_sections[f"test.{number}"] = (100 + number, provider(number))  # type: ignore[attr-defined]


async def drive(hub: object, sender: object, clock: SettableClock) -> None:
    """Run the follow-up jobs and deliver, minute by minute, as the server's loops would."""
    scheduler = Scheduler(hub, scopes=("community",))  # type: ignore[arg-type]
    for _ in range(30):  # a post a minute at most: well past the platforms' pacing
        await scheduler.run_due()
        await sender.deliver_due()  # type: ignore[attr-defined]
        clock.advance(minutes=1)


def shown_items(texts: list[str]) -> set[str]:
    return {word for text in texts for word in text.split() if word.startswith(("0.", "1"))}


@pytest.mark.skipif(not spec_available(), reason=SPEC_MISSING_REASON)
async def test_a_long_digest_on_slack_fits_block_kit_and_goes_on_in_its_thread(
    database_url: str,
) -> None:
    async with running_hearth(database_url, clock=SettableClock(START)) as h:
        await set_up_community(h)
        hub = h.client.app[HUB]  # type: ignore[index]
        install(hub.registry)
        await h.command("digest now")
        assert h.clock is not None
        await drive(hub, h.sender, h.clock)
        posts = h.posts_to(CHANNEL)
        (digest,) = [p for p in posts if "thread_ts" not in p and "week" not in str(p)]
        thread = [p for p in posts if p.get("thread_ts")]
        assert h.fake.violations == []
        assert thread and len(digest["blocks"]) <= 50
        for post in [digest, *thread]:
            assert len(post["blocks"]) <= 50
            for block in post["blocks"]:
                if block["type"] == "section":
                    assert len(block["text"]["text"]) <= 3000
        assert "more in the thread below" in json.dumps(digest["blocks"][-1])
        (ts,) = {p["thread_ts"] for p in thread}
        assert any(ts == ts_ for (_, ts_) in h.fake.messages if _ == CHANNEL)
        every = "\n".join(json.dumps(p["blocks"]) for p in [digest, *thread])
        for number in range(SECTIONS):
            for item in range(ITEMS):
                assert f"Item {number}.{item} &amp; &lt;b&gt;not markup" in every


async def test_a_long_digest_on_teams_stays_under_the_card_size(tmp_path: Path) -> None:
    pytest.importorskip("botbuilder.integration.aiohttp", reason="botbuilder is not installed")
    from tests.fakes.teams_connector import require_teams_specs

    require_teams_specs()
    from tests.teams_helpers import TEAM, serve_teams
    from tests.test_teams_http import channel_command
    from tests.test_teams_http import set_up_community as teams_community

    async with serve_teams(tmp_path, stop_sender=True) as h:
        await teams_community(h)
        install(h.app[HUB].registry)
        digest_now = channel_command(h, "digest now", id="1400900100799")
        assert (await h.post(digest_now))[0] == 200
        rows = select(func.count()).where(OutboxMessage.kind == "digest_post")

        async def queued() -> bool:
            async with h.db.transaction() as session:
                return bool(await session.scalar(rows))

        await eventually(queued, what="the digest to be queued")
        await drive(h.app[HUB], h.sender, h.clock)
        assert list(h.connector.violations) == []
        channel = h.connector.activities(TEAM)
        digest = [a for a in channel if "Section 0" in json.dumps(a)]
        replies = [
            a
            for conversation, sent in h.connector.sent.items()
            if ";messageid=" in conversation
            for a in sent
        ]
        assert len(digest) == 1 and replies
        every = ""
        for activity in digest + replies:
            assert len(json.dumps(activity).encode()) < TEAMS_LIMIT
            every += json.dumps(activity)
        assert "more in the thread below" in json.dumps(digest[0])
        for number in range(SECTIONS):
            for item in range(ITEMS):
                assert f"Item {number}.{item} " in every

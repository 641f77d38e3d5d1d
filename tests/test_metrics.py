"""GET /metrics: events by outcome and the outbox by status, in Prometheus text format."""

from __future__ import annotations

import pytest

from tests.fakes.slack_api import SPEC_MISSING_REASON, spec_available
from tests.slack_helpers import CHANNEL, NEWCOMER, event_callback, running_hearth
from tests.waiting import eventually

pytestmark = pytest.mark.skipif(not spec_available(), reason=SPEC_MISSING_REASON)


def samples(text: str) -> dict[str, float]:
    return {
        name: float(value)
        for name, value in (line.rsplit(" ", 1) for line in text.splitlines())
        if not name.startswith("#")
    }


async def test_metrics_count_events_and_outbox_messages(sqlite_url: str) -> None:
    async with running_hearth(sqlite_url) as hearth:
        await hearth.command("setup")
        joined = event_callback("member_joined_channel", user=NEWCOMER, channel=CHANNEL)
        await hearth.send_event(joined)
        await hearth.send_event(joined, retry_num=1)  # a retry: a repeat, not a second welcome
        await eventually(lambda: hearth.posts_to(f"D{NEWCOMER}"), what="the welcome DM")

        async def outbox_settled() -> bool:
            response = await hearth.client.get("/metrics")
            return samples(await response.text()).get('hearth_outbox_messages{status="sent"}') == 1

        await eventually(outbox_settled, what="the outbox counts")
        response = await hearth.client.get("/metrics")
        assert response.status == 200
        assert response.content_type == "text/plain"
        values = samples(await response.text())
        assert values['hearth_events_total{outcome="handled"}'] == 2  # the command and the join
        assert values['hearth_events_total{outcome="repeat"}'] == 1
        assert values['hearth_events_total{outcome="failed"}'] == 0
        assert values['hearth_events_total{outcome="refused"}'] == 0
        assert values['hearth_outbox_messages{status="pending"}'] == 1  # the 16:00 welcome post
        assert hearth.fake.violations == []

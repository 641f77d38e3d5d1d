"""The pieces under questions: working hours, sealing an anonymous asker, links."""

from __future__ import annotations

from datetime import UTC, datetime

from hearth.handlers.questions import sealing
from hearth.handlers.questions.timing import add_working_hours, link, message_of


def test_working_hours_skip_nights_and_weekends_in_the_community_zone() -> None:
    tuesday_9 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    assert add_working_hours(tuesday_9, 4, "UTC") == datetime(2026, 12, 1, 13, 0, tzinfo=UTC)
    friday_15 = datetime(2026, 12, 4, 15, 0, tzinfo=UTC)
    assert add_working_hours(friday_15, 4, "UTC") == datetime(2026, 12, 7, 11, 0, tzinfo=UTC)
    evening = datetime(2026, 12, 1, 20, 0, tzinfo=UTC)
    assert add_working_hours(evening, 4, "UTC") == datetime(2026, 12, 2, 13, 0, tzinfo=UTC)
    # 09:00 in New York is 14:00 UTC
    assert add_working_hours(tuesday_9, 4, "America/New_York") == datetime(
        2026, 12, 1, 18, 0, tzinfo=UTC
    )


def test_a_sealed_asker_opens_only_with_the_secret() -> None:
    sealed = sealing.seal(b"server secret", "U123ALICE")
    assert "U123ALICE" not in sealed
    assert sealing.unseal(b"server secret", sealed) == "U123ALICE"
    assert sealing.unseal(b"another secret", sealed) is None
    assert sealing.seal(b"server secret", "U123ALICE") != sealed  # a fresh nonce each time
    assert sealing.unseal(b"server secret", None) is None
    assert sealing.unseal(b"server secret", "not-base64!") is None


def test_links_and_the_ids_read_back_from_them() -> None:
    slack = link("slack", "T1", "C1", "1700000000.123456")
    assert slack == "https://slack.com/archives/C1/p1700000000123456"
    assert message_of("slack", slack) == "1700000000.123456"
    teams = link("teams", "tenant", "19:abc@thread.tacv2", "1700000000123")
    assert message_of("teams", teams) == "1700000000123"
    assert link("console", "console", "community", "12") == "[12] in #community"
    assert message_of("console", "[12]") == "12" and message_of("console", "12") == "12"

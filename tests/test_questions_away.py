"""Away on the console: a member who is away gets no requests for help (the question goes to
the next people who know), `/cop back` ends it, and the settings summary shows it; on SQLite
and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

from hearth.handlers import build_registry, policy
from hearth.storage.db import Database
from hearth.storage.models import Member
from tests.console_helpers import expected
from tests.question_helpers import transcript
from tests.test_questions_console import HISTORY, HISTORY_SHOWN


async def test_an_away_member_is_skipped_until_they_are_back(db: Database) -> None:
    """Bob (who answered RAID-log questions) is away: carol's RAID-log question goes to ivan,
    gina and erin instead. Once bob is back, the next experts after 4 working hours include
    him, and so does dave's question the next day; `back` when not away changes nothing."""
    out = await transcript(
        db,
        HISTORY
        + """
        bob: /cop away until 2026-12-20
        carol: How do I start a RAID log for a small project?
        bob: /cop back
        bob: /cop back
        wait 1d
        dave: Who reviews the RAID log on a small project?
""",
    )
    assert out == expected(
        HISTORY_SHOWN,
        """
        -- 2026-12-09 09:00 UTC --
        [26] (only @bob) bot: Enjoy the time away: Hearth won't ask you to help with questions until Sun 20 Dec 23:59 UTC. `/cop back` ends it sooner.
            Messages Hearth starts on its own: on
            Direct messages: nudges on · expert requests on · reminders on
            Time zone: UTC
            Working hours: any time
            Quiet hours: 21:00-08:00
            Community digest by DM: off
            Group: not chosen
            Interests: none chosen
            Away: until Sun 20 Dec 23:59 UTC (no requests for help before then)
        [27] #community @carol: How do I start a RAID log for a small project?
        [28] #community thread [27] bot: This may help: a very similar question was answered before — “Has anyone used a RAID log on a small project?”: [15] in #community
        [29] #community thread [27] bot: Thanks for asking! I've asked 3 people who may know to have a look.
        [30] DM @ivan bot: Carol asked in #community: “How do I start a RAID log for a small project?” — could you help?
            The question: [27] in #community
            [I'll answer] [Not me] [Stop these requests]
            (“Not me” passes it on to someone else at once.)
        [31] DM @gina bot: Carol asked in #community: “How do I start a RAID log for a small project?” — could you help?
            The question: [27] in #community
            [I'll answer] [Not me] [Stop these requests]
            (“Not me” passes it on to someone else at once.)
        [32] DM @erin bot: Carol asked in #community: “How do I start a RAID log for a small project?” — could you help?
            The question: [27] in #community
            [I'll answer] [Not me] [Stop these requests]
            (“Not me” passes it on to someone else at once.)
        [33] (only @bob) bot: Welcome back: Hearth may ask you to help with questions again.
            Messages Hearth starts on its own: on
            Direct messages: nudges on · expert requests on · reminders on
            Time zone: UTC
            Working hours: any time
            Quiet hours: 21:00-08:00
            Community digest by DM: off
            Group: not chosen
            Interests: none chosen
        [34] (only @bob) bot: Nothing to change: you were not away.
            Messages Hearth starts on its own: on
            Direct messages: nudges on · expert requests on · reminders on
            Time zone: UTC
            Working hours: any time
            Quiet hours: 21:00-08:00
            Community digest by DM: off
            Group: not chosen
            Interests: none chosen
        -- 2026-12-09 13:00 UTC --
        [35] DM @bob bot: Carol asked in #community: “How do I start a RAID log for a small project?” — could you help?
            The question: [27] in #community
            [I'll answer] [Not me] [Stop these requests]
            (“Not me” passes it on to someone else at once.)
        -- 2026-12-10 09:00 UTC --
        [36] DM @facilitator bot: A question in #community has had no reply for a day: “How do I start a RAID log for a small project?”. Could you answer it, or find someone who can?
            The question: [27] in #community
        [37] #community thread [27] bot: Great question! We're finding the right person to answer it.
        [38] #community @dave: Who reviews the RAID log on a small project?
        [39] #community thread [38] bot: This may help: a very similar question was answered before — “Has anyone used a RAID log on a small project?”: [15] in #community
        [40] #community thread [38] bot: Thanks for asking! I've asked 3 people who may know to have a look.
        [41] DM @bob bot: Dave asked in #community: “Who reviews the RAID log on a small project?” — could you help?
            The question: [38] in #community
            [I'll answer] [Not me] [Stop these requests]
            (“Not me” passes it on to someone else at once.)
        [42] DM @ivan bot: Dave asked in #community: “Who reviews the RAID log on a small project?” — could you help?
            The question: [38] in #community
            [I'll answer] [Not me] [Stop these requests]
            (“Not me” passes it on to someone else at once.)
        [43] DM @gina bot: Dave asked in #community: “Who reviews the RAID log on a small project?” — could you help?
            The question: [38] in #community
            [I'll answer] [Not me] [Stop these requests]
            (“Not me” passes it on to someone else at once.)
""",
    )


async def test_away_needs_a_time_to_come_back(db: Database) -> None:
    out = await transcript(db, "bob: /cop away\nbob: /cop away until 2020-01-01\n")
    assert "Say until when, like `/cop away until 2026-12-20`." in out
    assert "2020 has already passed." in out
    assert "Away:" not in out


def test_the_policy_holds_requests_for_help_while_away_and_nothing_else() -> None:
    now = datetime(2026, 12, 9, 12, tzinfo=UTC)
    member = Member(id=1, is_bot=False, deactivated=False, unsolicited_dms_off=False)
    away = policy.Choices(False, {}, "UTC", False, None, None, "weekly", away_until=now)
    kinds = build_registry().outbox_kinds
    request, nudge = kinds["expert_request"], kinds["nudge"]
    assert policy.decide(request, member, away, recent=(), now=now).action == "send"
    earlier = now.replace(hour=11)
    assert policy.decide(request, member, away, recent=(), now=earlier).reason == "away"
    assert policy.decide(nudge, member, away, recent=(), now=earlier).action == "send"


async def test_the_settings_form_shows_the_away_time_and_changes_it(db: Database) -> None:
    """`/cop settings` shows when bob is back; emptying the field ends it, a duration sets it,
    a time past is refused."""
    out = await transcript(
        db,
        """
        bob: /cop away until 2026-12-20
        bob: /cop settings
        bob submits 2 away_until=
        bob: /cop settings
        bob submits 4 away_until=2w
        bob: /cop settings
        bob submits 6 away_until=2020-01-01
        """,
    )
    assert out == expected(
        """
        -- 2026-12-01 09:00 UTC --
        [1] (only @bob) bot: Enjoy the time away: Hearth won't ask you to help with questions until Sun 20 Dec 23:59 UTC. `/cop back` ends it sooner.
            Messages Hearth starts on its own: on
            Direct messages: nudges on · expert requests on · reminders on
            Time zone: UTC
            Working hours: any time
            Quiet hours: 21:00-08:00
            Community digest by DM: off
            Group: not chosen
            Interests: none chosen
            Away: until Sun 20 Dec 23:59 UTC (no requests for help before then)
        [2] form for @bob "Your Hearth settings": pause (yes/no) = no, nudges (yes/no) = yes, expert_requests (yes/no) = yes, reminders (yes/no) = yes, timezone (text) = UTC, working_hours (text), quiet_hours (text) = 21:00-08:00, digest (one of off/daily/weekly/monthly) = off, away_until (text) = "2026-12-20 23:59"
        [3] (only @bob) bot: Saved. Your settings now:
            Messages Hearth starts on its own: on
            Direct messages: nudges on · expert requests on · reminders on
            Time zone: UTC
            Working hours: any time
            Quiet hours: 21:00-08:00
            Community digest by DM: off
            Group: not chosen
            Interests: none chosen
        [4] form for @bob "Your Hearth settings": pause (yes/no) = no, nudges (yes/no) = yes, expert_requests (yes/no) = yes, reminders (yes/no) = yes, timezone (text) = UTC, working_hours (text), quiet_hours (text) = 21:00-08:00, digest (one of off/daily/weekly/monthly) = off, away_until (text)
        [5] (only @bob) bot: Saved. Your settings now:
            Messages Hearth starts on its own: on
            Direct messages: nudges on · expert requests on · reminders on
            Time zone: UTC
            Working hours: any time
            Quiet hours: 21:00-08:00
            Community digest by DM: off
            Group: not chosen
            Interests: none chosen
            Away: until Tue 15 Dec 09:00 UTC (no requests for help before then)
        [6] form for @bob "Your Hearth settings": pause (yes/no) = no, nudges (yes/no) = yes, expert_requests (yes/no) = yes, reminders (yes/no) = yes, timezone (text) = UTC, working_hours (text), quiet_hours (text) = 21:00-08:00, digest (one of off/daily/weekly/monthly) = off, away_until (text) = "2026-12-15 09:00"
        [7] (only @bob) bot: Your Hearth settings: 2020 has already passed.
""",
    )

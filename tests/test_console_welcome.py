"""Whole console transcripts: the welcome DM, choices, and the daily welcome post."""

from __future__ import annotations

from hearth.storage.db import Database
from tests.console_helpers import SHORT_WELCOME, expected, transcript

SETUP_ECHO = """\
-- 2026-12-01 09:00 UTC --
[1] (only @facilitator) bot: Saved. Newcomers will get this:
    Hi Facilitator, welcome to #community!
    Which group are you in?
    [Delivery teams & managers] [Senior leadership] [The wider business] [External experts]
    What would you like to hear about? Pick any.
    [Getting started] [Tools & templates] [Lessons learned] [Events & meetups]
    (You're getting this because you joined #community.)
    [Stop messages from Hearth]
[2] (only @facilitator) bot: Newcomers now choose from: Delivery, Leadership.
[3] (only @facilitator) bot: Newcomers now pick interests from: Risk, Tools.
"""


async def test_newcomer_gets_a_personal_dm_and_records_choices(db: Database) -> None:
    out = await transcript(
        db,
        SHORT_WELCOME
        + """
        alice joins
        alice clicks "Leadership" on 4
        alice clicks "Tools" on 5
        alice clicks "Risk" on 6
        alice clicks "Tools" on 7
        """,
    )
    assert out == expected(
        SETUP_ECHO,
        """\
        * @alice joined #community
        [4] DM @alice bot: Hi Alice, welcome to #community!
            Which group are you in?
            [Delivery] [Leadership]
            What would you like to hear about? Pick any.
            [Risk] [Tools]
            (You're getting this because you joined #community.)
            [Stop messages from Hearth]
        [5] (update of [4]) DM @alice bot: Hi Alice, welcome to #community!
            Which group are you in?
            [Delivery] [✓ Leadership]
            What would you like to hear about? Pick any.
            [Risk] [Tools]
            (You're getting this because you joined #community.)
            [Stop messages from Hearth]
        [6] (update of [5]) DM @alice bot: Hi Alice, welcome to #community!
            Which group are you in?
            [Delivery] [✓ Leadership]
            What would you like to hear about? Pick any.
            [Risk] [✓ Tools]
            (You're getting this because you joined #community.)
            [Stop messages from Hearth]
        [7] (update of [6]) DM @alice bot: Hi Alice, welcome to #community!
            Which group are you in?
            [Delivery] [✓ Leadership]
            What would you like to hear about? Pick any.
            [✓ Risk] [✓ Tools]
            (You're getting this because you joined #community.)
            [Stop messages from Hearth]
        [8] (update of [7]) DM @alice bot: Hi Alice, welcome to #community!
            Which group are you in?
            [Delivery] [✓ Leadership]
            What would you like to hear about? Pick any.
            [✓ Risk] [Tools]
            (You're getting this because you joined #community.)
            [Stop messages from Hearth]
        """,
    )


async def test_one_public_welcome_a_day_names_who_is_still_here(db: Database) -> None:
    out = await transcript(
        db,
        SHORT_WELCOME
        + """
        alice joins
        bob joins
        carol joins
        carol leaves
        wait 8h
        dave joins
        wait 1d
        """,
    )
    tail = out[out.index("* @carol left") :]
    assert tail == expected(
        """\
        * @carol left #community
        -- 2026-12-01 16:00 UTC --
        [7] #community bot: 🎉 Please welcome our newest members: @alice and @bob!
            (Say hello in the thread — and newcomers, tell us what you work on.)
        -- 2026-12-01 17:00 UTC --
        * @dave joined #community
        [8] DM @dave bot: Hi Dave, welcome to #community!
            Which group are you in?
            [Delivery] [Leadership]
            What would you like to hear about? Pick any.
            [Risk] [Tools]
            (You're getting this because you joined #community.)
            [Stop messages from Hearth]
        -- 2026-12-02 16:00 UTC --
        [9] #community bot: 🎉 Please welcome our newest member: @dave!
            (Say hello in the thread — and newcomers, tell us what you work on.)
        """
    )


async def test_returning_members_are_not_welcomed_again(db: Database) -> None:
    out = await transcript(
        db,
        SHORT_WELCOME
        + """
        alice joins
        alice leaves
        alice joins
        wait 1d
        """,
    )
    assert out.count("DM @alice bot: Hi Alice") == 1
    assert "Please welcome" not in out  # she left before the post, and rejoining is not new


async def test_public_welcome_is_withdrawn_when_every_newcomer_left(db: Database) -> None:
    out = await transcript(db, "alice joins\nalice leaves\nwait 2d\n")
    assert "Please welcome" not in out


async def test_post_time_follows_the_community_time_zone(db: Database) -> None:
    out = await transcript(db, "alice joins\nwait 1d\n", timezone="America/New_York")
    assert "-- 2026-12-01 21:00 UTC --\n[2] #community bot: 🎉 Please welcome" in out


async def test_stop_messages_then_resume(db: Database) -> None:
    out = await transcript(
        db,
        SHORT_WELCOME
        + """
        alice joins
        alice clicks "Stop messages from Hearth" on 4
        alice clicks "Resume messages" on 5
        """,
    )
    assert out.endswith(
        expected(
            """\
            [5] (update of [4]) DM @alice bot: Hi Alice, welcome to #community!
                Which group are you in?
                [Delivery] [Leadership]
                What would you like to hear about? Pick any.
                [Risk] [Tools]
                (You won't get messages from Hearth that you didn't ask for.)
                [Resume messages]
            [6] (update of [5]) DM @alice bot: Hi Alice, welcome to #community!
                Which group are you in?
                [Delivery] [Leadership]
                What would you like to hear about? Pick any.
                [Risk] [Tools]
                (You're getting this because you joined #community.)
                [Stop messages from Hearth]
            """
        )
    )


async def test_default_welcome_is_warm_and_personal(db: Database) -> None:
    out = await transcript(db, "alice joins\n")
    dm = out[out.index("[1] DM @alice") :]
    assert dm.startswith("[1] DM @alice bot: Hi Alice, welcome to #community! 👋\n")
    assert "no question is too small" in dm
    assert "say hello in #community" in dm
    assert "Your facilitators (@facilitator)" in dm
    assert (
        "[Delivery teams & managers] [Senior leadership] [The wider business] [External experts]"
        in dm
    )

"""Lurkers on the console: the nudge, its buttons, the second nudge, first posts, the report."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from hearth.bot.console.script import Wait
from hearth.bot.console.session import ConsoleSession
from hearth.handlers.context import Defaults
from hearth.storage.db import Database
from hearth.storage.models import MemberSettings, Nudge, OutboxMessage, Participation
from tests.console_helpers import START, expected, transcript
from tests.lurker_helpers import nudge_rows, sweep

SETUP = """\
facilitator: /cop welcome set Hi {name}!
facilitator: /cop nudge set Hi {name}, no question is too small in {community}.
"""
NUDGE_TO_ALICE = """\
-- 2026-12-16 09:00 UTC --
[5] DM @alice bot: Hi Alice, no question is too small in #community.
    [Ask a question] [Introduce myself] [Not now] [Stop these messages]
    (You're getting this because you joined #community 15 days ago and haven't posted yet. \
Hearth sends this at most twice.)
"""


def after(out: str, marker: str) -> str:
    """The transcript from the first line containing `marker` on."""
    start = out.index(marker)
    return out[out.rindex("\n", 0, start) + 1 :]


def nudges_in(out: str, name: str) -> list[str]:
    """The time lines above each nudge DM to @name."""
    found, moment = [], ""
    for line in out.splitlines():
        if line.startswith("-- "):
            moment = line
        elif f"DM @{name} bot:" in line and "no question is too small" in line:
            found.append(moment)
    return found


async def test_join_wait_15_days_the_nudge_comes_in_working_hours(db: Database) -> None:
    out = await transcript(db, SETUP + "alice joins\nwait 15d\n")
    assert after(out, "2026-12-16") == expected(NUDGE_TO_ALICE)


async def test_stop_these_messages_then_never_again(db: Database) -> None:
    out = await transcript(
        db,
        SETUP
        + """
        alice joins
        wait 15d
        alice clicks "Stop these messages" on 5
        wait 90d
        """,
    )
    assert after(out, "2026-12-16") == expected(
        NUDGE_TO_ALICE,
        """\
        [6] (update of [5]) DM @alice bot: Done: Hearth won't send you these messages again.
            (You can still ask and post any time. Changed your mind? `/cop settings` → nudges.)
        """,
    )
    async with db.transaction() as session:  # the same switch as the settings' preference
        stored = await session.scalar(select(MemberSettings))
        assert stored is not None and stored.dms == {"nudges": False}


async def test_the_settings_preference_stops_nudges_too(db: Database) -> None:
    out = await transcript(
        db,
        SETUP
        + """
        alice joins
        alice: /cop settings
        alice submits 4 nudges=no
        wait 60d
        """,
    )
    assert nudges_in(out, "alice") == []


async def test_a_second_nudge_30_days_later_and_never_a_third(db: Database) -> None:
    out = await transcript(
        db,
        SETUP
        + """
        alice joins
        wait 15d
        alice clicks "Not now" on 5
        wait 120d
        """,
    )
    assert after(out, "2026-12-16") == expected(
        NUDGE_TO_ALICE,
        """\
        [6] (update of [5]) DM @alice bot: No problem. Whenever you're ready, #community is \
there — and no question is too small.
            [Ask a question]
        -- 2027-01-18 09:00 UTC --
        [7] DM @alice bot: Hi Alice, no question is too small in #community.
            [Ask a question] [Introduce myself] [Not now] [Stop these messages]
            (You're getting this because you joined #community 48 days ago and haven't posted \
yet. This is the last one.)
        """,
    )


async def test_introduce_myself_posts_in_the_channel_on_their_behalf(db: Database) -> None:
    out = await transcript(
        db,
        SETUP
        + """
        alice joins
        wait 15d
        alice clicks "Introduce myself" on 5
        alice submits 6 intro="I'm Alice, I run data projects; <!channel> I'd like to learn RAID logs."
        wait 60d
        """,
    )
    assert after(out, "[6]") == expected(
        """\
        [6] form for @alice "Introduce yourself": intro (text)
        [7] (only @alice) bot: Thanks! Your introduction is going up in #community now.
        [8] #community bot: 👋 @alice would like to introduce themselves:
            I'm Alice, I run data projects; <!channel> I'd like to learn RAID logs.
            (Posted by Hearth on behalf of Alice, at their request.)
        [9] DM @facilitator bot: @alice introduced themselves in #community 🎉
            They joined 15 days ago and got 1 nudge. A hello from you would mean a lot.
            (Only facilitators get this.)
        """,
    )


async def test_first_post_is_celebrated_once_and_facilitators_hear_of_it(db: Database) -> None:
    out = await transcript(
        db,
        SETUP
        + """
        alice joins
        carol joins
        alice: Has anyone used a RAID log on a small project?
        alice in thread 5: Asking for a friend
        alice: And another thing
        facilitator: /cop lurkers celebrate off
        carol: Hello from carol
        """,
    )
    assert after(out, "[5]") == expected(
        """\
        [5] #community @alice: Has anyone used a RAID log on a small project?
        [6] #community thread [5] bot: Welcome to the conversation, @alice! 🎉 Thanks for your \
first post here — every question and every story helps someone.
        [7] DM @facilitator bot: @alice just posted for the first time in #community 🎉
            They joined today. A hello from you would mean a lot.
            (Only facilitators get this.)
        [8] #community thread [5] @alice: Asking for a friend
        [9] #community @alice: And another thing
        [10] (only @facilitator) bot: Hearth no longer replies in the thread of a member's \
first post; facilitators still hear about it privately.
        [11] #community @carol: Hello from carol
        [12] DM @facilitator bot: @carol just posted for the first time in #community 🎉
            They joined today. A hello from you would mean a lot.
            (Only facilitators get this.)
        """,
    )


async def test_a_member_who_posted_is_never_nudged_and_keeps_it_after_rejoining(
    db: Database,
) -> None:
    out = await transcript(
        db,
        SETUP
        + """
        alice joins
        bob joins
        alice: hello everyone
        alice leaves
        wait 1d
        alice joins
        wait 90d
        """,
    )
    assert nudges_in(out, "alice") == []
    assert nudges_in(out, "bob") == ["-- 2026-12-16 09:00 UTC --", "-- 2027-01-18 09:00 UTC --"]
    assert out.count("Welcome to the conversation") == 1


async def test_a_member_who_posts_between_the_sweep_and_the_send_is_not_nudged(
    db: Database,
) -> None:
    out = await transcript(
        db,
        SETUP
        + """
        alice joins
        wait 14d
        wait 23h
        alice: sorry, I've been quiet
        wait 60d
        """,
    )
    async with db.transaction() as session:  # the sweep did schedule her at 07:00
        assert await session.scalar(select(func.count()).select_from(Nudge)) == 1
        row = await session.scalar(select(OutboxMessage).where(OutboxMessage.kind == "nudge"))
        assert row is not None and row.status == "cancelled"
    assert nudges_in(out, "alice") == []


async def test_a_member_in_tokyo_is_nudged_in_tokyo_working_hours(db: Database) -> None:
    out = await transcript(
        db,
        SETUP
        + """
        alice joins
        alice tz Asia/Tokyo
        wait 15d
        """,
    )
    # 07:00 UTC is 16:00 in Tokyo: a Wednesday, inside 09:00-17:00 there (UTC's 09:00 would be
    # 18:00 in Tokyo, after work).
    assert nudges_in(out, "alice") == ["-- 2026-12-16 07:00 UTC --"]


async def test_a_member_with_new_york_hours_waits_for_them(db: Database) -> None:
    out = await transcript(
        db,
        SETUP
        + """
        alice joins
        alice tz America/New_York
        wait 16d
        """,
    )
    assert nudges_in(out, "alice") == ["-- 2026-12-16 14:00 UTC --"]  # 09:00 in New York


async def test_facilitators_bots_and_posters_are_never_lurkers(db: Database) -> None:
    out = await transcript(
        db,
        SETUP
        + """
        facilitator joins
        alice joins
        bob joins
        carol joins
        carol: /cop optout
        bob: hi
        wait 15d
        facilitator: /cop lurkers
        alice: /cop lurkers
        """,
    )
    assert nudges_in(out, "facilitator") == []
    report = after(out, "lurkers in #community")
    assert "2 lurkers in #community: joined 14+ days ago and never posted or replied." in report
    assert "Who (days quiet): Alice (15d); 1 who paused Hearth's messages (not named)" in report
    assert "Carol" not in report and nudges_in(out, "carol") == []
    assert "Bob" not in report and "Facilitator (" not in report
    assert "Sorry, only facilitators of #community can use `/cop lurkers`." in out


async def test_the_report_shows_conversion_against_comparable_members(db: Database) -> None:
    out = await transcript(
        db,
        SETUP
        + """
        facilitator: /cop lurkers set-per-day 1
        facilitator: /cop segments set "Delivery" "Leadership"
        alice joins
        bob joins
        carol joins
        dave joins
        erin joins
        bob clicks "Leadership" on 6
        wait 16d
        alice: I have a question after all
        wait 3d
        erin: hello, I'm Erin
        wait 15d
        facilitator: /cop lurkers
        """,
    )
    assert nudges_in(out, "alice") == ["-- 2026-12-16 09:00 UTC --"]
    assert nudges_in(out, "bob") == ["-- 2026-12-17 09:00 UTC --"]
    assert nudges_in(out, "carol") == ["-- 2026-12-18 09:00 UTC --"]
    assert nudges_in(out, "dave") == ["-- 2026-12-21 09:00 UTC --"]  # not at the weekend
    assert nudges_in(out, "erin") == []
    report = after(out, "3 lurkers in #community")
    assert report.endswith(
        expected(
            """\
            3 lurkers in #community: joined 14+ days ago and never posted or replied.
                Quiet for: 14–29 days: 0 · 30–89 days: 3 · 90+ days: 0 (longest: 34 days)
                By group: no group chosen 2 · Leadership 1
                Who (days quiet): Bob (34d), Carol (34d), Dave (34d)
                Nudged in the last 90 days, posted within 7 days of a nudge: 1 of 4 (25%).
                Comparable members not (yet) nudged, posted within 7 days: 1 of 1 (100%).
                (Nudges: at most 1 a day, two per member, 30+ days apart. First-post \
celebration: on. Only you see this.)
            """
        )
    )


async def test_lurker_settings_and_bad_input(db: Database) -> None:
    out = await transcript(
        db,
        """\
        facilitator: /cop lurkers set-days 30
        facilitator: /cop lurkers set-days 30
        facilitator: /cop lurkers set-days zero
        facilitator: /cop lurkers set-per-day 400
        facilitator: /cop lurkers celebrate maybe
        facilitator: /cop nudge set Hi {nom}
        alice joins
        wait 20d
        """,
    )
    assert "Saved: a member of #community who joined 30+ days ago" in out
    assert "No change: a member of #community who joined 30+ days ago" in out
    assert "Give the days as one number from 1 to 365." in out
    assert "Give the number of nudges as one number from 1 to 50." in out
    assert "Say `on` or `off`." in out
    assert "Unknown placeholder {nom}" in out
    assert nudges_in(out, "alice") == []  # 30 days now


async def test_nudge_preview_and_reset(db: Database) -> None:
    out = await transcript(
        db,
        """\
        facilitator: /cop nudge set Hi {name}, it's {facilitators} from {community}.
        facilitator: /cop nudge reset
        facilitator: /cop nudge preview
        """,
    )
    assert "Saved. Quiet members will get this:\n    Hi Facilitator, it's @facilitator" in out
    assert "Back to the standard nudge. Quiet members will get this:" in out
    assert "Quiet members get this nudge:\n    Hi Facilitator, it's good to have you" in out
    assert "No question is too small" in out


async def test_the_nudge_mentions_a_highlight_else_a_lively_thread(db: Database) -> None:
    out = await transcript(
        db,
        SETUP
        + """
        alice joins
        wait 10d
        bob: Which RAID log template do you use?
        carol in thread 5: The one from the PMO wiki
        dave in thread 5: Ours is a spreadsheet
        wait 5d
        """,
    )
    assert (
        "A lively thread in #community right now (2 replies): “Which RAID log template do you "
        "use?”" in after(out, "2026-12-16")
    )


async def test_a_rerun_sweep_never_sends_twice(db: Database) -> None:
    lines: list[str] = []
    session = ConsoleSession(db, START, lines.append, Defaults("UTC"))
    await session.start()
    for line in [*SETUP.splitlines(), "alice joins", "bob joins", "wait 14d", "wait 22h"]:
        await session.run_line(line)
    hub = session.hearth

    assert await sweep(hub, interrupt=True) == 0
    assert await sweep(hub) == 0  # today's scheduled sweep already ran at 07:00
    async with db.transaction() as sql:
        await sql.execute(Nudge.__table__.delete())  # as if the sweep had never run today
        await sql.execute(OutboxMessage.__table__.delete().where(OutboxMessage.kind == "nudge"))
    assert await sweep(hub, interrupt=True) == 0
    assert await nudge_rows(hub) == (0, 0)  # rolled back whole
    assert await sweep(hub) == 2
    assert await sweep(hub) == 0
    await session.run(Wait(timedelta(days=2)))
    out = "\n".join(lines)
    assert nudges_in(out, "alice") == ["-- 2026-12-16 09:00 UTC --"]
    assert nudges_in(out, "bob") == ["-- 2026-12-16 09:00 UTC --"]


async def test_asking_anonymously_from_the_nudge(db: Database) -> None:
    out = await transcript(
        db,
        SETUP
        + """
        alice joins
        wait 15d
        alice clicks "Ask a question" on 5
        alice submits 6 question="Is it silly to ask how a RAID log differs from a risk register?" anonymous=yes
        """,
    )
    assert after(out, "[6]") == expected(
        """\
        [6] form for @alice "Ask a question": question (text), anonymous (yes/no)
        [7] (only @alice) bot: Your question is posted anonymously in #community; I've asked \
nobody yet. Answers in its thread come to you here, privately; nobody sees it was you.
        [8] #community bot: ❓ A member asks, anonymously: “Is it silly to ask how a RAID log \
differs from a risk register?”
            (Reply in this thread: Hearth passes your answers on to them privately.)
        """
    )
    async with db.transaction() as session:  # nothing of hers links her to the question
        assert await session.scalar(select(func.count()).select_from(Participation)) == 0

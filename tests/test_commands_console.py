"""Facilitators running their community, and replies that say what happened: console
transcripts for purpose, welcome quoting, survey drafts, retention, settings and DMs."""

from __future__ import annotations

from sqlalchemy import func, select

from hearth.bot.console.session import ConsoleSession
from hearth.bot.console.workspace import PLATFORM, WORKSPACE
from hearth.handlers.context import Defaults
from hearth.handlers.events import CommandInvoked, MemberJoined
from hearth.storage.db import Database
from hearth.storage.models import AuditEntry, Community, MemberSettings, Poll
from tests.console_helpers import START, expected, transcript

WELCOME_TAIL = "[Stop messages from Hearth]\n"


async def test_purpose_set_and_welcome_set_read_quotes_like_every_command(db: Database) -> None:
    out = await transcript(
        db,
        """
        facilitator: /cop purpose set
        facilitator: /cop purpose set “swapping RAID logs and lessons from delivery.”
        facilitator: /cop purpose set swapping RAID logs and lessons from delivery
        facilitator: /cop welcome set "Hi {name}! Here we are {purpose}."
        facilitator: /cop welcome set "Hi {name}! We're "{community}"
        facilitator: /cop welcome set Hi {name}, say "hello" in {community}
        facilitator: /cop welcome set "Hi {name}" and more
        """,
    )
    assert out.startswith(
        expected(
            """\
            -- 2026-12-01 09:00 UTC --
            [1] (only @facilitator) bot: Say what the community is for, like `purpose set sharing what works in project delivery`.
                Usage: `/cop purpose set <what the community is for>`
            [2] (only @facilitator) bot: Saved: “#community is for swapping RAID logs and lessons from delivery.”
                (The welcome DM shows it where it says {purpose}; `/cop welcome preview` shows the whole message.)
            [3] (only @facilitator) bot: That already is the purpose of #community.
            [4] (only @facilitator) bot: Saved. Newcomers will get this:
                Hi Facilitator! Here we are swapping RAID logs and lessons from delivery.
            """
        )
    )
    assert (
        "[5] (only @facilitator) bot: Put a space after the closing quote: "
        '“"Hi {name}! We\'re "{community}"”.\n'
        "    Usage: `/cop welcome set <message>`\n"
        "[6] (only @facilitator) bot: Saved. Newcomers will get this:\n"
        '    Hi Facilitator, say "hello" in #community\n'
    ) in out
    assert (
        "[7] (only @facilitator) bot: Put the whole text in one pair of quotes, or leave the "
        'quotes out: “"Hi {name}" and more”.\n'
    ) in out


async def test_the_standard_welcome_reads_well_without_a_purpose(db: Database) -> None:
    out = await transcript(db, "alice joins")
    assert "[1] DM @alice bot: Hi Alice, welcome to #community! 👋\n" in out
    assert "    #community is for sharing practice and learning from each other.\n" in out


async def test_survey_drafts_are_edited_deleted_and_listed_to_facilitators_only(
    db: Database,
) -> None:
    out = await transcript(
        db,
        """
        alice joins
        facilitator: /cop survey
        facilitator submits 2 title="Pulse" q1="scale: How useful?" closes=2d
        facilitator: /cop survey edit 1
        facilitator submits 4 q2="choice: Format? | Talk | | Workshop"
        facilitator submits 4 q2="choice: Format? | Talk | Workshop" anonymous=yes
        alice: /cop survey edit 1
        alice: /cop poll list
        facilitator: /cop poll list
        facilitator: /cop survey post 1
        facilitator: /cop survey edit 1
        facilitator: /cop survey delete 1
        """,
    )
    assert out.split(WELCOME_TAIL)[1] == expected(
        """\
        [2] form for @facilitator "New survey": title (text), q1 (text), q2 (text), q3 (text), q4 (text), q5 (text), q6 (text), q7 (text), q8 (text), anonymous (yes/no), closes (text)
        [3] (only @facilitator) bot: Survey #1 “Pulse” is ready, with 1 question:
            1. How useful? (1–5)
            [Post it now]
            (Or later: `/cop survey post 1`. Change it with `/cop survey edit 1`, or drop it with `/cop survey delete 1`.)
        [4] form for @facilitator "Edit survey #1": title (text) = Pulse, q1 (text) = "scale: How useful?", q2 (text), q3 (text), q4 (text), q5 (text), q6 (text), q7 (text), q8 (text), anonymous (yes/no) = no, closes (text) = 2d
        [5] (only @facilitator) bot: Question 2: choice 2 is empty (or only spaces or invisible characters); give it some text or leave it out.
        [6] (only @facilitator) bot: Survey #1 “Pulse” is saved, with 2 questions:
            1. How useful? (1–5)
            2. Format? (Talk / Workshop)
            [Post it now]
            (Or later: `/cop survey post 1`. Change it with `/cop survey edit 1`, or drop it with `/cop survey delete 1`. Anonymous: answers are stored without names.)
        [7] (only @alice) bot: Sorry, only facilitators of #community can use `/cop survey edit`.
        [8] (only @alice) bot: No open polls or surveys in #community.
            (Start one with `/cop poll "Question" "Option" "Option"`.)
        [9] (only @facilitator) bot: No open polls or surveys in #community.
            Drafts, seen only by facilitators (`/cop survey post <id>`, `survey edit <id>`, `survey delete <id>`):
            • Survey #1 “Pulse”
        [10] (only @facilitator) bot: Survey #1 “Pulse” is posted in #community.
            (`/cop survey results 1` shows the answers so far; `/cop poll close 1` closes it.)
        [11] #community bot: 📝 Pulse
            A short survey from @facilitator, 2 questions:
            1. How useful? (1–5)
            2. Format? (Talk / Workshop)
            [Answer the survey]
            (Survey #1 · anonymous: nobody can see who answered what · 0 responses · closes Thu 3 Dec 09:00 UTC)
        [12] (only @facilitator) bot: Survey #1 is already posted, so it can't be changed.
        [13] (only @facilitator) bot: Survey #1 is already posted, so it can't be changed.
        """
    )


async def test_a_deleted_draft_is_gone(db: Database) -> None:
    out = await transcript(
        db,
        """
        facilitator: /cop survey
        facilitator submits 1 title="Gone soon" q1="Why?"
        facilitator: /cop survey delete 1
        facilitator: /cop survey delete 1
        facilitator: /cop audit
        """,
    )
    assert (
        "[3] (only @facilitator) bot: Survey #1 “Gone soon” is deleted; it was never posted." in out
    )
    assert "[4] (only @facilitator) bot: There is no survey #1 in #community." in out
    assert "`survey delete` 1\n" in out and "`survey` #1 Gone soon\n" in out
    async with db.transaction() as session:
        assert await session.scalar(select(func.count()).select_from(Poll)) == 0


async def test_a_survey_nobody_answered_does_not_thank_nobody(db: Database) -> None:
    out = await transcript(
        db,
        """
        facilitator: /cop survey
        facilitator submits 1 title="Pulse" q1="How?"
        facilitator: /cop survey post 1
        facilitator: /cop poll close 1
        """,
    )
    assert "    This survey has closed; nobody answered it.\n" in out
    assert "Thank you! 0" not in out


async def test_retention_replies_say_what_happened(db: Database) -> None:
    out = await transcript(
        db,
        """
        alice joins
        alice: an old message
        wait 2d
        facilitator: /cop retention off
        facilitator: /cop retention 1
        facilitator: /cop retention 1d
        facilitator: /cop retention off
        facilitator: /cop retention ²
        facilitator: /cop retention 99999999999999999999
        facilitator: /cop audit
        """,
    )
    tail = out.split("-- 2026-12-03 09:00 UTC --\n")[1]  # [2], [3]: alice's first post noted
    assert tail.split("[12]")[0] == expected(
        """\
        [6] (only @facilitator) bot: No change: #community keeps the text of its messages with no time limit.
        [7] (only @facilitator) bot: #community keeps the text of its messages for 1 day.
            (1 older message just lost their text. The messages' rows stay (author, thread, time) for the community's counts.)
        [8] (only @facilitator) bot: No change: #community keeps the text of its messages for 1 day.
        [9] (only @facilitator) bot: #community keeps the text of its messages with no time limit.
        [10] (only @facilitator) bot: Give a number of days from 1 to 3650, or `off`.
            Usage: `/cop retention [<days> | off]`
        [11] (only @facilitator) bot: Give a number of days from 1 to 3650, or `off`.
            Usage: `/cop retention [<days> | off]`
        """
    )
    async with db.transaction() as session:
        actions = list(await session.scalars(select(AuditEntry.detail).order_by(AuditEntry.id)))
    assert actions == ["", "1", "off"]  # setup, then the two real changes


async def test_a_stale_group_click_shows_the_current_groups(db: Database) -> None:
    out = await transcript(
        db,
        """
        alice joins
        facilitator: /cop segments set "Delivery" "Leadership"
        alice clicks "Senior leadership" on 1
        """,
    )
    assert "[3] (update of [1]) DM @alice bot: Hi Alice" in out
    assert "    [Delivery] [Leadership]\n" in out.split("[3]")[1]
    assert out.endswith(
        "[4] (only @alice) bot: “Senior leadership” is no longer offered; the groups now are: "
        "Delivery, Leadership.\n"
    )


async def test_welcome_back_only_to_someone_who_had_left(db: Database) -> None:
    out = await transcript(
        db,
        """
        alice: /cop optin
        alice: /cop optout
        alice: /cop optin
        zelda joins
        zelda: /cop forget-me
        zelda clicks "Yes, forget me" on 5
        zelda: /cop optin
        """,
    )
    assert "[1] (only @alice) bot: Nothing to change: Hearth may already message you" in out
    assert "[3] (only @alice) bot: Done: Hearth may message you again" in out
    assert out.count("Welcome back") == 1
    assert "(only @zelda) bot: Welcome back: Hearth may message you again" in out


async def test_one_digest_setting_and_time_zones_by_name(db: Database) -> None:
    out = await transcript(
        db,
        """
        alice: /cop settings
        alice submits 1 digest=off timezone=utc
        alice: /cop settings
        alice submits 3 timezone=EST
        alice: /cop settings
        alice submits 5 digest=daily timezone=europe/london
        """,
    )
    assert "Direct messages: nudges on · expert requests on · reminders on\n" in out
    assert "digest by DM on" not in out and "Digest: " not in out
    assert "[2] (only @alice) bot: Saved. Your settings now:" in out
    assert "    Time zone: UTC (your choice)\n    " in out
    assert "    Community digest by DM: off\n" in out
    assert (
        "[4] (only @alice) bot: Your Hearth settings: “EST” is an abbreviation, and those mean "
        "different things in different places; give the zone by its place name, like "
        "America/New_York, or UTC.\n"
    ) in out
    assert "    Time zone: Europe/London (your choice)\n" in out
    assert "    Community digest by DM: daily\n" in out
    async with db.transaction() as session:
        stored = (await session.scalars(select(MemberSettings))).one()
    assert (stored.tz, stored.digest_frequency, stored.dms) == (
        "Europe/London",
        "daily",
        {"digests": True},
    )


async def test_a_dm_command_asks_which_community_when_there_are_several(db: Database) -> None:
    lines: list[str] = []
    session = ConsoleSession(db, START, lines.append, Defaults("UTC"))
    await session.start()

    def event(kind: type, channel: str, **values: object) -> object:
        return kind(
            platform=PLATFORM,
            workspace=WORKSPACE,
            channel=channel,
            user=values.pop("user", "alice"),
            at=session.clock.now(),
            **values,
        )

    await session.run_line("alice joins")
    await session.hearth.handle(
        event(CommandInvoked, "garden", user="facilitator", text="setup", channel_name="garden")
    )
    await session.hearth.handle(event(MemberJoined, "garden"))
    await session.run_line("alice dm: /cop poll list")
    asked = [line for line in lines if "(only @alice)" in line]
    assert asked == [
        "[3] (only @alice) bot: You're in several communities (#community, #garden); run "
        "`/cop poll list` in the channel of the one you mean."
    ]
    await session.run_line("alice dm: /cop settings")  # not about a community: no question
    assert lines[-1].startswith('[5] form for @alice "Your Hearth settings"')
    async with db.transaction() as connection:
        assert await connection.scalar(select(func.count()).select_from(Community)) == 2


async def test_the_community_time_zone_by_iana_name_and_closing_at_a_clock_time(
    db: Database,
) -> None:
    out = await transcript(
        db,
        """
        facilitator: /cop timezone
        facilitator: /cop timezone est
        facilitator: /cop timezone europe/paris
        facilitator: /cop timezone Europe/Paris
        facilitator: /cop poll "Lunch?" "A" "B" --closes 17:00
        facilitator: /cop poll "Dinner?" "A" "B" --closes 08:00
        """,
    )
    assert out.startswith(
        expected(
            """\
            -- 2026-12-01 09:00 UTC --
            [1] (only @facilitator) bot: #community keeps time in UTC.
            [2] (only @facilitator) bot: “est” is an abbreviation, and those mean different things in different places; give the zone by its place name, like America/New_York, or UTC.
                Usage: `/cop timezone [<zone, like Europe/London>]`
            [3] (only @facilitator) bot: #community now keeps time in Europe/Paris.
                (Closing times and repeat rules typed from now on are read in it; times already set stay as they are.)
            [4] (only @facilitator) bot: No change: #community keeps time in Europe/Paris.
            [5] (only @facilitator) bot: Poll #1 is posted in #community; it closes Tue 1 Dec 17:00 CET.
            """
        )
    )
    assert "Poll #2 is posted in #community; it closes Wed 2 Dec 08:00 CET." in out  # tomorrow


async def test_the_poll_form_opened_in_a_dm_posts_in_the_members_community(db: Database) -> None:
    out = await transcript(
        db,
        """
        alice joins
        alice dm: /cop poll
        alice submits 2 question="Lunch?" options="Pizza | Salad"
        """,
    )
    assert "[3] (only @alice) bot: Poll #1 is posted in #community.\n" in out
    assert "[4] #community bot: 📊 Lunch?\n" in out

"""Polls and surveys in the console: whole transcripts, and what the database keeps."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import inspect, select, text

from hearth.storage.db import Database
from hearth.storage.models import Member, Poll, PollVote, SurveyAnswer
from tests.console_helpers import expected, transcript

VOTERS = ("alice", "bob")


async def database_dump(db: Database) -> dict[str, list[tuple]]:
    """Every row of every table, as the database holds it."""
    async with db.engine.connect() as connection:
        tables = await connection.run_sync(lambda sync: inspect(sync).get_table_names())
        return {
            table: [
                tuple(row) for row in await connection.execute(text(f'SELECT * FROM "{table}"'))
            ]
            for table in tables
        }


async def assert_no_trace_of_voters(db: Database) -> None:
    """No table, row or column holds anything that names or numbers a voter."""
    dump = await database_dump(db)
    found = [
        (table, row)
        for table, rows in dump.items()
        for row in rows
        if any(voter in str(value).lower() for value in row for voter in VOTERS)
    ]
    assert found == []
    async with db.transaction() as session:
        assert list(await session.scalars(select(Member.user_id))) == ["facilitator"]
        assert set(await session.scalars(select(PollVote.member_id))) <= {None}
        assert set(await session.scalars(select(SurveyAnswer.member_id))) <= {None}
        # Closed: the salt that fed the voter keys is gone, so nobody can recompute them.
        assert list(await session.scalars(select(Poll.voter_salt))) == [None]


def assert_only_private_lines_name_voters(out: str) -> None:
    for line in out.splitlines():
        for voter in VOTERS:
            if voter in line.lower():
                assert f"(only @{voter})" in line or "form for @" + voter in line, line


async def test_vote_change_withdraw_and_close(db: Database) -> None:
    """One click votes; another option changes it; the same one withdraws it; a burst of
    votes makes one update, at most every two seconds; closing shows the final result."""
    out = await transcript(
        db,
        """
        facilitator: /cop poll "Which theme next month?" "Benefits realisation" "Assurance" "Risk"
        alice clicks "Assurance" on 2
        bob clicks "Risk" on 2
        carol clicks "Assurance" on 2
        wait 2s
        bob clicks "Assurance" on 7
        alice clicks "Assurance" on 7
        wait 2s
        dave: /cop poll close 1
        facilitator: /cop poll close 1
        wait 2s
        """,
    )
    assert out == expected(
        """\
        -- 2026-12-01 09:00 UTC --
        [1] (only @facilitator) bot: Poll #1 is posted in #community.
            (`/cop poll close 1` closes it; `/cop poll export 1` sends you the results.)
        [2] #community bot: 📊 Which theme next month?
            Benefits realisation 0 · 0%
            Assurance 0 · 0%
            Risk 0 · 0%
            [Benefits realisation] [Assurance] [Risk]
            (Poll #1 by @facilitator · choose one · 0 votes)
        [3] (only @alice) bot: Poll #1 “Which theme next month?”: You voted for “Assurance”. Click another option to change your vote, or this one again to withdraw it.
        [4] (update of [2]) #community bot: 📊 Which theme next month?
            Benefits realisation 0 · 0%
            Assurance ▇▇▇▇▇▇▇▇▇▇ 1 · 100% — @alice
            Risk 0 · 0%
            [Benefits realisation] [Assurance] [Risk]
            (Poll #1 by @facilitator · choose one · 1 vote)
        [5] (only @bob) bot: Poll #1 “Which theme next month?”: You voted for “Risk”. Click another option to change your vote, or this one again to withdraw it.
        [6] (only @carol) bot: Poll #1 “Which theme next month?”: You voted for “Assurance”. Click another option to change your vote, or this one again to withdraw it.
        -- 2026-12-01 09:00:02 UTC --
        [7] (update of [4]) #community bot: 📊 Which theme next month?
            Benefits realisation 0 · 0%
            Assurance ▇▇▇▇▇▇▇ 2 · 67% — @alice, @carol
            Risk ▇▇▇ 1 · 33% — @bob
            [Benefits realisation] [Assurance] [Risk]
            (Poll #1 by @facilitator · choose one · 3 votes)
        [8] (only @bob) bot: Poll #1 “Which theme next month?”: You changed your vote from “Risk” to “Assurance”.
        [9] (only @alice) bot: Poll #1 “Which theme next month?”: You withdrew your vote for “Assurance”. Click an option to vote again.
        -- 2026-12-01 09:00:04 UTC --
        [10] (update of [7]) #community bot: 📊 Which theme next month?
            Benefits realisation 0 · 0%
            Assurance ▇▇▇▇▇▇▇▇▇▇ 2 · 100% — @bob, @carol
            Risk 0 · 0%
            [Benefits realisation] [Assurance] [Risk]
            (Poll #1 by @facilitator · choose one · 2 votes)
        [11] (only @dave) bot: Only the facilitators of #community and whoever started Poll #1 can close it.
        [12] (only @facilitator) bot: Poll #1 “Which theme next month?” is closed. “Assurance” came first with 2 of 2 votes.
        -- 2026-12-01 09:00:06 UTC --
        [13] (update of [10]) #community bot: 📊 Final result: Which theme next month?
            Benefits realisation 0 · 0%
            Assurance ▇▇▇▇▇▇▇▇▇▇ 2 · 100% — @bob, @carol
            Risk 0 · 0%
            (Poll #1 by @facilitator · closed Tue 1 Dec 09:00 UTC · 2 votes)
        """
    )


async def test_anonymous_polls_reveal_nobody(
    db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    """Not the message, not the export, not the database, not the logs."""
    caplog.set_level(logging.DEBUG)
    out = await transcript(
        db,
        """
        facilitator: /cop poll "How confident are you with RAID logs?" "Very" "Somewhat" "Not yet" --anonymous
        alice clicks "Not yet" on 2
        bob clicks "Very" on 2
        alice clicks "Somewhat" on 2
        wait 2s
        facilitator: /cop poll export 1
        facilitator: /cop poll close 1
        wait 2s
        """,
    )
    assert out == expected(
        """\
        -- 2026-12-01 09:00 UTC --
        [1] (only @facilitator) bot: Poll #1 is posted in #community.
            (`/cop poll close 1` closes it; `/cop poll export 1` sends you the results.)
        [2] #community bot: 📊 How confident are you with RAID logs?
            Very 0 · 0%
            Somewhat 0 · 0%
            Not yet 0 · 0%
            [Very] [Somewhat] [Not yet]
            (Poll #1 by @facilitator · choose one · anonymous: nobody can see who voted what · 0 votes)
        [3] (only @alice) bot: Poll #1 “How confident are you with RAID logs?”: You voted for “Not yet”. Click another option to change your vote, or this one again to withdraw it.
            (This poll is anonymous: nobody else can see how you voted.)
        [4] (update of [2]) #community bot: 📊 How confident are you with RAID logs?
            Very 0 · 0%
            Somewhat 0 · 0%
            Not yet ▇▇▇▇▇▇▇▇▇▇ 1 · 100%
            [Very] [Somewhat] [Not yet]
            (Poll #1 by @facilitator · choose one · anonymous: nobody can see who voted what · 1 vote)
        [5] (only @bob) bot: Poll #1 “How confident are you with RAID logs?”: You voted for “Very”. Click another option to change your vote, or this one again to withdraw it.
            (This poll is anonymous: nobody else can see how you voted.)
        [6] (only @alice) bot: Poll #1 “How confident are you with RAID logs?”: You changed your vote from “Not yet” to “Somewhat”.
            (This poll is anonymous: nobody else can see how you voted.)
        -- 2026-12-01 09:00:02 UTC --
        [7] (update of [4]) #community bot: 📊 How confident are you with RAID logs?
            Very ▇▇▇▇▇ 1 · 50%
            Somewhat ▇▇▇▇▇ 1 · 50%
            Not yet 0 · 0%
            [Very] [Somewhat] [Not yet]
            (Poll #1 by @facilitator · choose one · anonymous: nobody can see who voted what · 2 votes)
        [8] (only @facilitator) bot: Results of poll #1 “How confident are you with RAID logs?” [file poll-1.csv, 57 bytes]
            option,votes,percent
            Very,1,50
            Somewhat,1,50
            Not yet,0,0
        [9] (only @facilitator) bot: Poll #1 “How confident are you with RAID logs?” is closed. “Very” and “Somewhat” tied with 1 each (of 2 votes).
        -- 2026-12-01 09:00:04 UTC --
        [10] (update of [7]) #community bot: 📊 Final result: How confident are you with RAID logs?
            Very ▇▇▇▇▇ 1 · 50%
            Somewhat ▇▇▇▇▇ 1 · 50%
            Not yet 0 · 0%
            (Poll #1 by @facilitator · closed Tue 1 Dec 09:00 UTC · anonymous: nobody can see who voted what · 2 votes)
        """
    )
    assert_only_private_lines_name_voters(out)
    await assert_no_trace_of_voters(db)
    async with db.transaction() as session:
        keys = list(await session.scalars(select(PollVote.voter)))
    assert len(keys) == 2 and all(len(key) == 64 for key in keys)  # the votes are there
    logged = [record.getMessage().lower() for record in caplog.records]
    assert [line for line in logged if any(voter in line for voter in VOTERS)] == []


async def test_hidden_results_show_when_the_poll_closes_on_time(db: Database) -> None:
    """A several-choice poll with hidden results, closing at a local time (New York): nobody,
    not even facilitators, sees the counts before it closes."""
    out = await transcript(
        db,
        """
        facilitator: /cop poll "Which dates suit you?" "Tue 12 Jan" "Thu 14 Jan" "Tue 19 Jan" --multi --hidden --closes "2026-12-03 17:00"
        alice clicks "Tue 12 Jan" on 2
        alice clicks "Tue 19 Jan" on 2
        bob clicks "Tue 19 Jan" on 2
        wait 2s
        alice clicks "Tue 12 Jan" on 2
        facilitator: /cop poll export 1
        wait 3d
        facilitator: /cop poll export 1
        """,
        timezone="America/New_York",
    )
    assert out == expected(
        """\
        -- 2026-12-01 09:00 UTC --
        [1] (only @facilitator) bot: Poll #1 is posted in #community; it closes Thu 3 Dec 17:00 EST.
            (`/cop poll close 1` closes it; `/cop poll export 1` sends you the results.)
        [2] #community bot: 📊 Which dates suit you?
            Results are hidden until the poll closes (0 voters so far).
            [Tue 12 Jan] [Thu 14 Jan] [Tue 19 Jan]
            (Poll #1 by @facilitator · choose any · closes Thu 3 Dec 17:00 EST)
        [3] (only @alice) bot: Poll #1 “Which dates suit you?”: You added “Tue 12 Jan” — your choices: “Tue 12 Jan”. Click an option again to remove it.
            (Results are shown when the poll closes.)
        [4] (update of [2]) #community bot: 📊 Which dates suit you?
            Results are hidden until the poll closes (1 voter so far).
            [Tue 12 Jan] [Thu 14 Jan] [Tue 19 Jan]
            (Poll #1 by @facilitator · choose any · closes Thu 3 Dec 17:00 EST)
        [5] (only @alice) bot: Poll #1 “Which dates suit you?”: You added “Tue 19 Jan” — your choices: “Tue 12 Jan”, “Tue 19 Jan”. Click an option again to remove it.
            (Results are shown when the poll closes.)
        [6] (only @bob) bot: Poll #1 “Which dates suit you?”: You added “Tue 19 Jan” — your choices: “Tue 19 Jan”. Click an option again to remove it.
            (Results are shown when the poll closes.)
        -- 2026-12-01 09:00:02 UTC --
        [7] (update of [4]) #community bot: 📊 Which dates suit you?
            Results are hidden until the poll closes (2 voters so far).
            [Tue 12 Jan] [Thu 14 Jan] [Tue 19 Jan]
            (Poll #1 by @facilitator · choose any · closes Thu 3 Dec 17:00 EST)
        [8] (only @alice) bot: Poll #1 “Which dates suit you?”: You removed “Tue 12 Jan” — your choices: “Tue 19 Jan”.
            (Results are shown when the poll closes.)
        [9] (only @facilitator) bot: Poll #1 hides its results from everyone until it closes; export it then.
        -- 2026-12-03 22:00 UTC --
        [10] (update of [7]) #community bot: 📊 Final result: Which dates suit you?
            Tue 12 Jan 0 · 0%
            Thu 14 Jan 0 · 0%
            Tue 19 Jan ▇▇▇▇▇▇▇▇▇▇ 2 · 100% — @alice, @bob
            (Poll #1 by @facilitator · closed Thu 3 Dec 17:00 EST · 2 voters)
        -- 2026-12-04 09:00:02 UTC --
        [11] (only @facilitator) bot: Results of poll #1 “Which dates suit you?” [file poll-1.csv, 88 bytes]
            option,votes,percent,voters
            Tue 12 Jan,0,0,
            Thu 14 Jan,0,0,
            Tue 19 Jan,2,100,Alice; Bob
        """
    )


async def test_a_recurring_poll_is_posted_on_schedule(db: Database) -> None:
    """Each Monday a new poll; the previous one closes as the next is posted; stop ends it."""
    out = await transcript(
        db,
        """
        facilitator: /cop poll "Topic for Friday's clinic?" "Risk" "Tools" --every "every monday 10:00"
        alice: /cop poll "Mine?" "A" "B" --every "daily"
        wait 2w
        alice clicks "Tools" on 5
        facilitator: /cop poll list
        facilitator: /cop poll stop R1
        wait 2w
        """,
        timezone="Europe/London",
    )
    assert out == expected(
        """\
        -- 2026-12-01 09:00 UTC --
        [1] (only @facilitator) bot: Recurring poll R1 is set up: “Topic for Friday's clinic?” will be posted in #community every Monday at 10:00 (Europe/London), first on Mon 7 Dec 10:00 GMT; each stays open until the next is posted.
            (Stop it with `/cop poll stop R1`.)
        [2] (only @alice) bot: Only facilitators of #community can set up recurring polls.
        -- 2026-12-07 10:00 UTC --
        [3] #community bot: 📊 Topic for Friday's clinic?
            Risk 0 · 0%
            Tools 0 · 0%
            [Risk] [Tools]
            (Poll #1 by @facilitator · choose one · 0 votes)
        -- 2026-12-14 10:00 UTC --
        [4] (update of [3]) #community bot: 📊 Final result: Topic for Friday's clinic?
            Risk 0 · 0%
            Tools 0 · 0%
            (Poll #1 by @facilitator · closed Mon 14 Dec 10:00 GMT · nobody voted)
        [5] #community bot: 📊 Topic for Friday's clinic?
            Risk 0 · 0%
            Tools 0 · 0%
            [Risk] [Tools]
            (Poll #2 by @facilitator · choose one · 0 votes)
        -- 2026-12-15 09:00 UTC --
        [6] (only @alice) bot: Poll #2 “Topic for Friday's clinic?”: You voted for “Tools”. Click another option to change your vote, or this one again to withdraw it.
        [7] (update of [5]) #community bot: 📊 Topic for Friday's clinic?
            Risk 0 · 0%
            Tools ▇▇▇▇▇▇▇▇▇▇ 1 · 100% — @alice
            [Risk] [Tools]
            (Poll #2 by @facilitator · choose one · 1 vote)
        [8] (only @facilitator) bot: Open in #community:
            • Poll #2 “Topic for Friday's clinic?” — 1 vote
            Recurring:
            • R1 “Topic for Friday's clinic?” — every Monday at 10:00 · next Mon 21 Dec 10:00 GMT
        [9] (only @facilitator) bot: Recurring poll R1 “Topic for Friday's clinic?” is stopped; no more will be posted. Any that is open stays open until you close it.
        -- 2026-12-21 09:00 UTC --
        [10] #community bot: *The week in #community* — Mon 14 Dec to Sun 20 Dec
            *Poll results*
            • Poll #1 “Topic for Friday's clinic?”: nobody voted
        """
    )


async def test_mistakes_are_explained_and_change_nothing(db: Database) -> None:
    """Too many options, long labels, bad times and schedules, unknown flags and ids."""
    out = await transcript(
        db,
        """
        facilitator: /cop poll "Pick one" "1" "2" "3" "4" "5" "6" "7" "8" "9" "10" "11"
        facilitator: /cop poll "Pick one" "Only one"
        facilitator: /cop poll "Pick one" "A" "An option that is far too long to fit on a Slack button, which allows seventy-five"
        facilitator: /cop poll "Pick one" "A" "a"
        facilitator: /cop poll "Pick one" "A" "B" --closes yesterday
        facilitator: /cop poll "Pick one" "A" "B" --closes 2026-11-30
        facilitator: /cop poll "Pick one" "A" "B" --every "fortnightly"
        facilitator: /cop poll "Pick one" "A" "B" --every "monday" --closes 2026-12-08
        facilitator: /cop poll "Pick one" "A" "B" --secret
        facilitator: /cop poll "Pick one" "A" "B" --closes
        facilitator: /cop poll close
        facilitator: /cop poll close 9
        facilitator: /cop poll export 9
        facilitator: /cop poll stop R9
        """,
    )
    assert out == expected(
        """\
        -- 2026-12-01 09:00 UTC --
        [1] (only @facilitator) bot: That's 11 options, and a poll can have at most 10, so that each gets its own button on Slack and Teams. Drop some, or split them over two polls.
            Usage: `/cop poll "Question" "Option" "Option" … [--multi] [--anonymous] [--hidden] [--closes 3d] [--every "first monday 10:00"]`
        [2] (only @facilitator) bot: A poll needs at least two options.
            Usage: `/cop poll "Question" "Option" "Option" … [--multi] [--anonymous] [--hidden] [--closes 3d] [--every "first monday 10:00"]`
        [3] (only @facilitator) bot: Option 2 has 82 characters; keep each option to 75 so it fits on a button.
            Usage: `/cop poll "Question" "Option" "Option" … [--multi] [--anonymous] [--hidden] [--closes 3d] [--every "first monday 10:00"]`
        [4] (only @facilitator) bot: Each option must be different.
            Usage: `/cop poll "Question" "Option" "Option" … [--multi] [--anonymous] [--hidden] [--closes 3d] [--every "first monday 10:00"]`
        [5] (only @facilitator) bot: --closes: “yesterday” is not a time: give a duration (90m, 4h, 3d, 2w), a time of day (17:00) or a date and time (2026-12-08 17:00).
            Usage: `/cop poll "Question" "Option" "Option" … [--multi] [--anonymous] [--hidden] [--closes 3d] [--every "first monday 10:00"]`
        [6] (only @facilitator) bot: --closes: Mon 30 Nov 23:59 UTC has already passed.
            Usage: `/cop poll "Question" "Option" "Option" … [--multi] [--anonymous] [--hidden] [--closes 3d] [--every "first monday 10:00"]`
        [7] (only @facilitator) bot: --every: I can't read the schedule “fortnightly”; try "every monday 09:30", "first monday 10:00", "monthly 1 10:00", "daily 09:00".
            Usage: `/cop poll "Question" "Option" "Option" … [--multi] [--anonymous] [--hidden] [--closes 3d] [--every "first monday 10:00"]`
        [8] (only @facilitator) bot: With --every, give --closes as a duration (like 2d): each poll closes that long after it is posted.
            Usage: `/cop poll "Question" "Option" "Option" … [--multi] [--anonymous] [--hidden] [--closes 3d] [--every "first monday 10:00"]`
        [9] (only @facilitator) bot: I don't know the option `--secret`; there are --multi, --anonymous, --hidden, --closes and --every.
            Usage: `/cop poll "Question" "Option" "Option" … [--multi] [--anonymous] [--hidden] [--closes 3d] [--every "first monday 10:00"]`
        [10] (only @facilitator) bot: `--closes` needs a value, like `--closes 3d`.
            Usage: `/cop poll "Question" "Option" "Option" … [--multi] [--anonymous] [--hidden] [--closes 3d] [--every "first monday 10:00"]`
        [11] (only @facilitator) bot: Give the number of the poll or survey, like `3`.
            Usage: `/cop poll close <id>`
        [12] (only @facilitator) bot: There is no poll or survey #9 in #community.
        [13] (only @facilitator) bot: There is no poll or survey #9 in #community.
        [14] (only @facilitator) bot: Name a recurring poll of #community, like `R1`.
            Usage: `/cop poll stop R<id>`
        """
    )
    async with db.transaction() as session:
        assert list(await session.scalars(select(PollVote))) == []


async def test_the_poll_form_and_who_may_export_and_close(db: Database) -> None:
    """`/cop poll` alone opens a form; any member may start a poll and manage it."""
    out = await transcript(
        db,
        """
        alice: /cop poll
        alice submits 1 question="Which day?" options="Tuesday"
        alice submits 1 question="Which day?" options="Tuesday | Friday" every="every friday 12:00"
        alice submits 1 question="Lunch and learn: which day?" options="Tuesday | Thursday" anonymous=yes closes=2h
        bob clicks "Thursday" on 5
        bob: /cop poll export 1
        bob: /cop poll close 1
        alice: /cop poll export 1
        wait 2h
        """,
    )
    assert out == expected(
        """\
        -- 2026-12-01 09:00 UTC --
        [1] form for @alice "New poll": question (text), options (text), multi (yes/no), anonymous (yes/no), hidden (yes/no), closes (text), every (text)
        [2] (only @alice) bot: New poll: A poll needs at least two options.
        [3] (only @alice) bot: Only facilitators of #community can set up recurring polls.
        [4] (only @alice) bot: Poll #1 is posted in #community; it closes Tue 1 Dec 11:00 UTC.
            (`/cop poll close 1` closes it; `/cop poll export 1` sends you the results.)
        [5] #community bot: 📊 Lunch and learn: which day?
            Tuesday 0 · 0%
            Thursday 0 · 0%
            [Tuesday] [Thursday]
            (Poll #1 by @alice · choose one · anonymous: nobody can see who voted what · 0 votes · closes Tue 1 Dec 11:00 UTC)
        [6] (only @bob) bot: Poll #1 “Lunch and learn: which day?”: You voted for “Thursday”. Click another option to change your vote, or this one again to withdraw it.
            (This poll is anonymous: nobody else can see how you voted.)
        [7] (update of [5]) #community bot: 📊 Lunch and learn: which day?
            Tuesday 0 · 0%
            Thursday ▇▇▇▇▇▇▇▇▇▇ 1 · 100%
            [Tuesday] [Thursday]
            (Poll #1 by @alice · choose one · anonymous: nobody can see who voted what · 1 vote · closes Tue 1 Dec 11:00 UTC)
        [8] (only @bob) bot: Only the facilitators of #community and whoever started Poll #1 can export it.
        [9] (only @bob) bot: Only the facilitators of #community and whoever started Poll #1 can close it.
        [10] (only @alice) bot: Results of poll #1 “Lunch and learn: which day?” [file poll-1.csv, 48 bytes]
            option,votes,percent
            Tuesday,0,0
            Thursday,1,100
        -- 2026-12-01 11:00 UTC --
        [11] (update of [7]) #community bot: 📊 Final result: Lunch and learn: which day?
            Tuesday 0 · 0%
            Thursday ▇▇▇▇▇▇▇▇▇▇ 1 · 100%
            (Poll #1 by @alice · closed Tue 1 Dec 11:00 UTC · anonymous: nobody can see who voted what · 1 vote)
        """
    )


async def test_a_survey_from_form_to_summary(db: Database) -> None:
    """Define, post, answer, change answers, summary, CSV export, close on time."""
    out = await transcript(
        db,
        """
        alice: /cop survey
        facilitator: /cop survey now
        facilitator: /cop survey
        facilitator submits 3 title="December check-in" q1="scale: How useful was this month's session?" q2="choice: Which format next? | Talk"
        facilitator submits 3 title="December check-in" q1="scale: How useful was this month's session?" q2="choice: Which format next? | Talk | Workshop | Clinic" q3="What should we change?" closes=7d
        facilitator: /cop survey post 1
        alice clicks "Answer the survey" on 7
        alice submits 8
        alice submits 8 q1=4 q2=Talk q3="More examples"
        bob clicks "Answer the survey" on 7
        bob submits 12 q1=5 q3="Shorter, please"
        wait 2s
        alice clicks "Answer the survey" on 14
        alice submits 15 q1=3 q2=Workshop q3="More examples, and =SUM(A1)"
        facilitator: /cop survey results 1
        facilitator: /cop poll export 1
        wait 7d
        """,
    )
    assert out == expected(
        """\
        -- 2026-12-01 09:00 UTC --
        [1] (only @alice) bot: Sorry, only facilitators of #community can use `/cop survey`.
        [2] (only @facilitator) bot: `survey` takes nothing after it; type just `/cop survey`.
            Usage: `/cop survey`
        [3] form for @facilitator "New survey": title (text), q1 (text), q2 (text), q3 (text), q4 (text), q5 (text), q6 (text), q7 (text), q8 (text), anonymous (yes/no), closes (text)
        [4] (only @facilitator) bot: Question 2: give at least two choices after the question, each after a |, like `choice: Which format? | Talk | Workshop`.
        [5] (only @facilitator) bot: Survey #1 “December check-in” is ready, with 3 questions:
            1. How useful was this month's session? (1–5)
            2. Which format next? (Talk / Workshop / Clinic)
            3. What should we change?
            [Post it now]
            (Or later: `/cop survey post 1`. Change it with `/cop survey edit 1`, or drop it with `/cop survey delete 1`.)
        [6] (only @facilitator) bot: Survey #1 “December check-in” is posted in #community.
            (`/cop survey results 1` shows the answers so far; `/cop poll close 1` closes it.)
        [7] #community bot: 📝 December check-in
            A short survey from @facilitator, 3 questions:
            1. How useful was this month's session? (1–5)
            2. Which format next? (Talk / Workshop / Clinic)
            3. What should we change?
            [Answer the survey]
            (Survey #1 · 0 responses · closes Tue 8 Dec 09:00 UTC)
        [8] form for @alice "December check-in": q1 (one of 1/2/3/4/5), q2 (one of Talk/Workshop/Clinic), q3 (text)
        [9] (only @alice) bot: December check-in: please answer at least one question.
        [10] (only @alice) bot: Thank you! Your answers to “December check-in” are saved. Click *Answer the survey* again to change them until it closes.
        [11] (update of [7]) #community bot: 📝 December check-in
            A short survey from @facilitator, 3 questions:
            1. How useful was this month's session? (1–5)
            2. Which format next? (Talk / Workshop / Clinic)
            3. What should we change?
            [Answer the survey]
            (Survey #1 · 1 response · closes Tue 8 Dec 09:00 UTC)
        [12] form for @bob "December check-in": q1 (one of 1/2/3/4/5), q2 (one of Talk/Workshop/Clinic), q3 (text)
        [13] (only @bob) bot: Thank you! Your answers to “December check-in” are saved. Click *Answer the survey* again to change them until it closes.
        -- 2026-12-01 09:00:02 UTC --
        [14] (update of [11]) #community bot: 📝 December check-in
            A short survey from @facilitator, 3 questions:
            1. How useful was this month's session? (1–5)
            2. Which format next? (Talk / Workshop / Clinic)
            3. What should we change?
            [Answer the survey]
            (Survey #1 · 2 responses · closes Tue 8 Dec 09:00 UTC)
        [15] form for @alice "December check-in": q1 (one of 1/2/3/4/5) = 4, q2 (one of Talk/Workshop/Clinic) = Talk, q3 (text) = "More examples"
        [16] (only @alice) bot: Thank you! Your answers to “December check-in” are updated. Click *Answer the survey* again to change them until it closes.
        [17] (only @facilitator) bot: 📝 Results of survey #1 “December check-in”: 2 responses
            *1. How useful was this month's session?* (2 answered, average 4.0 of 5)
            1 0 · 0%
            2 0 · 0%
            3 ▇▇▇▇▇ 1 · 50%
            4 0 · 0%
            5 ▇▇▇▇▇ 1 · 50%
            *2. Which format next?* (1 answered)
            Talk 0 · 0%
            Workshop ▇▇▇▇▇▇▇▇▇▇ 1 · 100%
            Clinic 0 · 0%
            *3. What should we change?* (2 answered)
            “More examples, and =SUM(A1)”
            “Shorter, please”
            (Everyone's answers, by name: `/cop poll export 1`.)
        [18] (only @facilitator) bot: Results of survey #1 “December check-in” [file survey-1.csv, 162 bytes]
            respondent,How useful was this month's session?,Which format next?,What should we change?
            Alice,3,Workshop,"More examples, and =SUM(A1)"
            Bob,5,,"Shorter, please"
        -- 2026-12-08 09:00 UTC --
        [19] (update of [14]) #community bot: 📝 December check-in — closed
            Thank you! 2 people answered; the facilitators have the results.
            (Survey #1 · closed Tue 8 Dec 09:00 UTC · 2 responses)
        [20] DM @facilitator bot: 📝 Results of survey #1 “December check-in”: 2 responses
            *1. How useful was this month's session?* (2 answered, average 4.0 of 5)
            1 0 · 0%
            2 0 · 0%
            3 ▇▇▇▇▇ 1 · 50%
            4 0 · 0%
            5 ▇▇▇▇▇ 1 · 50%
            *2. Which format next?* (1 answered)
            Talk 0 · 0%
            Workshop ▇▇▇▇▇▇▇▇▇▇ 1 · 100%
            Clinic 0 · 0%
            *3. What should we change?* (2 answered)
            “More examples, and =SUM(A1)”
            “Shorter, please”
            (Everyone's answers, by name: `/cop poll export 1`.)
        """
    )


async def test_an_anonymous_survey_stores_no_names(
    db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    out = await transcript(
        db,
        """
        facilitator: /cop survey
        facilitator submits 1 title="How are we doing?" q1="scale: How welcome do you feel here?" q2="text: What would make it better?" anonymous=yes
        facilitator clicks "Post it now" on 2
        alice clicks "Answer the survey" on 4
        alice submits 5 q1=2 q2="More newcomer sessions"
        bob clicks "Answer the survey" on 4
        bob submits 8 q1=5
        wait 2s
        facilitator: /cop poll export 1
        facilitator: /cop poll close 1
        wait 2s
        """,
    )
    assert out == expected(
        """\
        -- 2026-12-01 09:00 UTC --
        [1] form for @facilitator "New survey": title (text), q1 (text), q2 (text), q3 (text), q4 (text), q5 (text), q6 (text), q7 (text), q8 (text), anonymous (yes/no), closes (text)
        [2] (only @facilitator) bot: Survey #1 “How are we doing?” is ready, with 2 questions:
            1. How welcome do you feel here? (1–5)
            2. What would make it better?
            [Post it now]
            (Or later: `/cop survey post 1`. Change it with `/cop survey edit 1`, or drop it with `/cop survey delete 1`. Anonymous: answers are stored without names.)
        [3] (only @facilitator) bot: Survey #1 “How are we doing?” is posted in #community.
            (`/cop survey results 1` shows the answers so far; `/cop poll close 1` closes it.)
        [4] #community bot: 📝 How are we doing?
            A short survey from @facilitator, 2 questions:
            1. How welcome do you feel here? (1–5)
            2. What would make it better?
            [Answer the survey]
            (Survey #1 · anonymous: nobody can see who answered what · 0 responses)
        [5] form for @alice "How are we doing?": q1 (one of 1/2/3/4/5), q2 (text)
        [6] (only @alice) bot: Thank you! Your answers to “How are we doing?” are saved. Click *Answer the survey* again to change them until it closes.
            (This survey is anonymous: your answers are stored without your name.)
        [7] (update of [4]) #community bot: 📝 How are we doing?
            A short survey from @facilitator, 2 questions:
            1. How welcome do you feel here? (1–5)
            2. What would make it better?
            [Answer the survey]
            (Survey #1 · anonymous: nobody can see who answered what · 1 response)
        [8] form for @bob "How are we doing?": q1 (one of 1/2/3/4/5), q2 (text)
        [9] (only @bob) bot: Thank you! Your answers to “How are we doing?” are saved. Click *Answer the survey* again to change them until it closes.
            (This survey is anonymous: your answers are stored without your name.)
        -- 2026-12-01 09:00:02 UTC --
        [10] (update of [7]) #community bot: 📝 How are we doing?
            A short survey from @facilitator, 2 questions:
            1. How welcome do you feel here? (1–5)
            2. What would make it better?
            [Answer the survey]
            (Survey #1 · anonymous: nobody can see who answered what · 2 responses)
        [11] (only @facilitator) bot: Results of survey #1 “How are we doing?” [file survey-1.csv, 85 bytes]
            How welcome do you feel here?,What would make it better?
            2,More newcomer sessions
            5,
        [12] (only @facilitator) bot: Survey #1 “How are we doing?” is closed. 2 responses; `/cop survey results 1` shows the summary.
        [13] DM @facilitator bot: 📝 Results of survey #1 “How are we doing?”: 2 responses
            *1. How welcome do you feel here?* (2 answered, average 3.5 of 5)
            1 0 · 0%
            2 ▇▇▇▇▇ 1 · 50%
            3 0 · 0%
            4 0 · 0%
            5 ▇▇▇▇▇ 1 · 50%
            *2. What would make it better?* (1 answered)
            “More newcomer sessions”
            (Anonymous survey: answers are shown without names, in no particular order.)
        -- 2026-12-01 09:00:04 UTC --
        [14] (update of [10]) #community bot: 📝 How are we doing? — closed
            Thank you! 2 people answered; the facilitators have the results.
            (Survey #1 · closed Tue 1 Dec 09:00 UTC · 2 responses)
        """
    )
    assert_only_private_lines_name_voters(out)
    await assert_no_trace_of_voters(db)
    logged = [record.getMessage().lower() for record in caplog.records]
    assert [line for line in logged if any(voter in line for voter in VOTERS)] == []


async def test_the_trace_check_sees_named_voters(db: Database) -> None:
    """The check above is not blind: on an open poll it finds the voters."""
    await transcript(db, 'facilitator: /cop poll "Q?" "A" "B"\nalice clicks "A" on 2\n')
    with pytest.raises(AssertionError):
        await assert_no_trace_of_voters(db)

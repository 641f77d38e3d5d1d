"""The library and the jobs board in the console: suggesting, reviewing and finding links
with the database's full-text search, saving one with a reaction, checking links, the jobs
board with expiry, the digest sections, and typed text shown as typed."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, text

from hearth.handlers.registry import DigestPeriod
from hearth.storage.db import Database
from hearth.storage.models import DueJob, JobPosting, Resource
from tests.console_helpers import START, community_context, expected, transcript
from tests.test_typed_everywhere import EVIL, FRAN, World, assert_shown_as_typed


async def test_members_suggest_facilitators_approve_and_everyone_finds(db: Database) -> None:
    """A facilitator's link goes straight in, a member's waits for review; search finds words
    of titles, tags and descriptions, by prefix and stem ("templ", "realising"), and takes
    any text (the engines' own operators are plain words)."""
    out = await transcript(
        db,
        """
        facilitator: /cop resource add https://example.org/raid "RAID log template" --tags risk,templates --description "A one-page log of risks, assumptions, issues and dependencies"
        alice joins
        alice: /cop resource add https://example.org/benefits "Benefits realisation guide" --tags Benefits,Value
        alice: /cop resource add https://example.org/raid "Someone else's RAID log"
        alice: /cop resources
        facilitator: /cop resources
        facilitator: /cop resource pending
        facilitator: /cop resource approve L2
        alice: /cop resources risk
        alice: /cop resources templ
        alice: /cop resources realising benefits
        alice: /cop resources dependencies
        alice: /cop resources "risk" OR title:raid* NEAR(a b) -x
        alice: /cop resources nothing here
        facilitator: /cop resource add https://example.org/old "An old checklist"
        facilitator: /cop resource remove L3
        facilitator: /cop resources checklist
        """,
    )
    assert out == expected(
        """\
        -- 2026-12-01 09:00 UTC --
        [1] (only @facilitator) bot: Added to the library: • L1 *RAID log template* — https://example.org/raid · risk, templates
            (`/cop resources` finds it; `resource remove L1` takes it out.)
        * @alice joined #community
        [2] DM @alice bot: Hi Alice, welcome to #community! 👋
            #community is for sharing practice and learning from each other.
            A good first step: say hello in #community — who you are, what you work on, and one thing you'd like to learn. And no question is too small: someone here has wondered the same, and people are glad to help. Your facilitators (@facilitator) are here for you too.
            Which group are you in?
            [Delivery teams & managers] [Senior leadership] [The wider business] [External experts]
            What would you like to hear about? Pick any.
            [Getting started] [Tools & templates] [Lessons learned] [Events & meetups]
            (You're getting this because you joined #community.)
            [Stop messages from Hearth]
        [3] (only @alice) bot: Thanks! Your suggestion • L2 *Benefits realisation guide* — https://example.org/benefits · benefits, value waits for a facilitator's review.
            (It appears in the library and the digest once a facilitator approves it.)
        [4] (only @alice) bot: That link is already in the library, or waiting for review.
        [5] (only @alice) bot: The newest in the library:
            • L1 *RAID log template* — https://example.org/raid · risk, templates
            (Suggest a link: `/cop resource add <url> "title" [--tags risk,templates] [--description "…"]`.)
        [6] (only @facilitator) bot: The newest in the library:
            • L1 *RAID log template* — https://example.org/raid · risk, templates
            (1 suggestion waits for review: `/cop resource pending`.)
            (Suggest a link: `/cop resource add <url> "title" [--tags risk,templates] [--description "…"]`.)
        [7] (only @facilitator) bot: Suggestions waiting for review:
            • L2 *Benefits realisation guide* — https://example.org/benefits · benefits, value
            (`/cop resource approve <id>` or `resource reject <id>`.)
        [8] (only @facilitator) bot: In the library now: • L2 *Benefits realisation guide* — https://example.org/benefits · benefits, value
        [9] (only @alice) bot: In the library for “risk”:
            • L1 *RAID log template* — https://example.org/raid · risk, templates
            (Suggest a link: `/cop resource add <url> "title" [--tags risk,templates] [--description "…"]`.)
        [10] (only @alice) bot: In the library for “templ”:
            • L1 *RAID log template* — https://example.org/raid · risk, templates
            (Suggest a link: `/cop resource add <url> "title" [--tags risk,templates] [--description "…"]`.)
        [11] (only @alice) bot: In the library for “realising benefits”:
            • L2 *Benefits realisation guide* — https://example.org/benefits · benefits, value
            (Suggest a link: `/cop resource add <url> "title" [--tags risk,templates] [--description "…"]`.)
        [12] (only @alice) bot: In the library for “dependencies”:
            • L1 *RAID log template* — https://example.org/raid · risk, templates
            (Suggest a link: `/cop resource add <url> "title" [--tags risk,templates] [--description "…"]`.)
        [13] (only @alice) bot: Nothing in the library for “risk or title raid near a b x”.
            (Suggest a link: `/cop resource add <url> "title" [--tags risk,templates] [--description "…"]`.)
        [14] (only @alice) bot: Nothing in the library for “nothing here”.
            (Suggest a link: `/cop resource add <url> "title" [--tags risk,templates] [--description "…"]`.)
        [15] (only @facilitator) bot: Added to the library: • L3 *An old checklist* — https://example.org/old
            (`/cop resources` finds it; `resource remove L3` takes it out.)
        [16] (only @facilitator) bot: Removed from the library: L3 *An old checklist*.
        [17] (only @facilitator) bot: Nothing in the library for “checklist”.
            (Suggest a link: `/cop resource add <url> "title" [--tags risk,templates] [--description "…"]`.)
        """
    )


async def test_a_reaction_chosen_by_the_facilitators_saves_a_shared_link(db: Database) -> None:
    """Before a reaction is chosen nothing happens; then a facilitator's 📌 saves the link (a
    second one changes nothing), a member's suggests it (with Slack's link markup read), a
    message without a link is left alone, and `off` stops it."""
    out = await transcript(
        db,
        """
        bob: Great read on assurance in agile https://example.org/assurance-in-agile
        facilitator reacts :pushpin: on 1
        facilitator: /cop library reaction
        facilitator: /cop library reaction :pushpin:
        alice: /cop library reaction bookmark
        facilitator reacts :pushpin: on 1
        facilitator reacts :pushpin: on 1
        alice: See <https://example.org/tailoring|tailoring guide> for the basics
        alice reacts :pushpin: on 6
        carol: No link in this one
        facilitator reacts :pushpin: on 8
        facilitator: /cop resources assurance
        facilitator: /cop resource pending
        facilitator: /cop resource reject L2
        facilitator: /cop resource pending
        facilitator: /cop library reaction off
        facilitator reacts :pushpin: on 6
        """,
    )
    assert out == expected(
        """\
        -- 2026-12-01 09:00 UTC --
        [1] #community @bob: Great read on assurance in agile https://example.org/assurance-in-agile
        * @facilitator reacted :pushpin: to [1]
        [2] (only @facilitator) bot: No reaction saves links yet.
            (`/cop library reaction pushpin` sets one; `library reaction off` turns it off.)
        [3] (only @facilitator) bot: Reacting with :pushpin: to a message with a link now saves it to the library (a facilitator's reaction adds it; a member's suggests it).
        [4] (only @alice) bot: Sorry, only facilitators of #community can use `/cop library reaction`.
        * @facilitator reacted :pushpin: to [1]
        [5] (only @facilitator) bot: Saved to the library: • L1 *Great read on assurance in agile* — https://example.org/assurance-in-agile
            (`/cop resources` searches the library.)
        * @facilitator reacted :pushpin: to [1]
        [6] #community @alice: See <https://example.org/tailoring|tailoring guide> for the basics
        * @alice reacted :pushpin: to [6]
        [7] (only @alice) bot: Suggested for the library: • L2 *See tailoring guide for the basics* — https://example.org/tailoring — a facilitator will review it.
            (`/cop resources` searches the library.)
        [8] #community @carol: No link in this one
        * @facilitator reacted :pushpin: to [8]
        [9] (only @facilitator) bot: In the library for “assurance”:
            • L1 *Great read on assurance in agile* — https://example.org/assurance-in-agile
            (1 suggestion waits for review: `/cop resource pending`.)
            (Suggest a link: `/cop resource add <url> "title" [--tags risk,templates] [--description "…"]`.)
        [10] (only @facilitator) bot: Suggestions waiting for review:
            • L2 *See tailoring guide for the basics* — https://example.org/tailoring
            (`/cop resource approve <id>` or `resource reject <id>`.)
        [11] (only @facilitator) bot: Suggestion L2 turned down and removed.
        [12] (only @facilitator) bot: No suggestions wait for review.
        [13] (only @facilitator) bot: Reactions no longer save links.
        * @facilitator reacted :pushpin: to [6]
        """
    )
    async with db.transaction() as session:
        saved = list(await session.execute(select(Resource.url, Resource.message_id)))
    assert saved == [("https://example.org/assurance-in-agile", "1")]


async def test_links_are_checked_and_mistakes_explained(db: Database) -> None:
    out = await transcript(
        db,
        """
        alice: /cop resource add javascript:alert(1) "Bad"
        alice: /cop resource add ftp://example.org/x "Bad"
        alice: /cop resource add https://user:pw@example.org/x "Bad"
        alice: /cop resource add https:///nohost "Bad"
        alice: /cop resource add "https://example.org/a b" "Bad"
        alice: /cop resource add https://example.org/x
        alice: /cop resource add "Title first" https://example.org/x
        alice: /cop resource add https://example.org/x "Fine" --tags "no;semicolons"
        alice: /cop resource add https://example.org/x "Fine" --colour red
        alice: /cop job post mailto:someone@example.org "Bad"
        alice: /cop job post https://example.org/jobs/1 "Fine" --closes 400d
        alice: /cop job post https://example.org/jobs/1 "Fine" --closes yesterday
        alice: /cop resources
        alice: /cop jobs
        """,
    )
    assert out == expected(
        """\
        -- 2026-12-01 09:00 UTC --
        [1] (only @alice) bot: Only web links are taken: they start with https:// or http://.
            Usage: `/cop resource add <url> "title" [--tags risk,templates] [--description "…"]`
        [2] (only @alice) bot: Only web links are taken: they start with https:// or http://.
            Usage: `/cop resource add <url> "title" [--tags risk,templates] [--description "…"]`
        [3] (only @alice) bot: Leave the user name and password out of the link.
            Usage: `/cop resource add <url> "title" [--tags risk,templates] [--description "…"]`
        [4] (only @alice) bot: That link has no site name after https://.
            Usage: `/cop resource add <url> "title" [--tags risk,templates] [--description "…"]`
        [5] (only @alice) bot: Give the link and then its title in quotes: `resource add https://example.org/raid "RAID log template" --tags risk`.
            Usage: `/cop resource add <url> "title" [--tags risk,templates] [--description "…"]`
        [6] (only @alice) bot: Give the link and then its title in quotes: `resource add https://example.org/raid "RAID log template" --tags risk`.
            Usage: `/cop resource add <url> "title" [--tags risk,templates] [--description "…"]`
        [7] (only @alice) bot: Give the link and then its title in quotes: `resource add https://example.org/raid "RAID log template" --tags risk`.
            Usage: `/cop resource add <url> "title" [--tags risk,templates] [--description "…"]`
        [8] (only @alice) bot: Tags are words of letters, digits, spaces and dashes, up to 30 characters each, separated by commas: `--tags risk,templates`.
            Usage: `/cop resource add <url> "title" [--tags risk,templates] [--description "…"]`
        [9] (only @alice) bot: I don't know the option `--colour`; the options are `--tags`, `--description`.
            Usage: `/cop resource add <url> "title" [--tags risk,templates] [--description "…"]`
        [10] (only @alice) bot: Only web links are taken: they start with https:// or http://.
            Usage: `/cop job post <url> "title" [--closes 30d]`
        [11] (only @alice) bot: --closes: a job stays on the board at most 180 days.
            Usage: `/cop job post <url> "title" [--closes 30d]`
        [12] (only @alice) bot: --closes: “yesterday” is not a time: give a duration (90m, 4h, 3d, 2w), a time of day (17:00) or a date and time (2026-12-08 17:00).
            Usage: `/cop job post <url> "title" [--closes 30d]`
        [13] (only @alice) bot: The library is empty so far.
            (Suggest a link: `/cop resource add <url> "title" [--tags risk,templates] [--description "…"]`.)
        [14] (only @alice) bot: No open jobs on the board.
            (Post one: `/cop job post <url> "title" [--closes 30d]`.)
        """
    )


async def test_the_jobs_board_and_jobs_that_close_by_themselves(db: Database) -> None:
    """Anyone posts; only the poster or a facilitator removes; a job past its closing time is
    gone from the list and, by its one-shot, from the database."""
    out = await transcript(
        db,
        """
        alice: /cop job post https://example.org/jobs/1 "Delivery lead, London" --closes 2d
        bob: /cop job post https://example.org/jobs/2 "PMO analyst"
        carol: /cop job post https://example.org/jobs/3 "Risk manager" --closes 5d
        carol: /cop jobs
        bob: /cop job remove J1
        facilitator: /cop job remove J3
        wait 2d
        alice: /cop jobs
        alice: /cop job remove J1
        bob: /cop job remove 2
        bob: /cop jobs
        """,
    )
    assert out == expected(
        """\
        -- 2026-12-01 09:00 UTC --
        [1] (only @alice) bot: On the board: • J1 *Delivery lead, London* — https://example.org/jobs/1 · closes Thu 3 Dec 09:00 UTC
            (`/cop job remove J1` takes it off sooner.)
        [2] (only @bob) bot: On the board: • J2 *PMO analyst* — https://example.org/jobs/2 · closes Thu 31 Dec 09:00 UTC
            (`/cop job remove J2` takes it off sooner.)
        [3] (only @carol) bot: On the board: • J3 *Risk manager* — https://example.org/jobs/3 · closes Sun 6 Dec 09:00 UTC
            (`/cop job remove J3` takes it off sooner.)
        [4] (only @carol) bot: Open jobs:
            • J1 *Delivery lead, London* — https://example.org/jobs/1 · closes Thu 3 Dec 09:00 UTC
            • J3 *Risk manager* — https://example.org/jobs/3 · closes Sun 6 Dec 09:00 UTC
            • J2 *PMO analyst* — https://example.org/jobs/2 · closes Thu 31 Dec 09:00 UTC
            (Post one: `/cop job post <url> "title" [--closes 30d]`.)
        [5] (only @bob) bot: Only whoever posted a job and the facilitators can remove it.
        [6] (only @facilitator) bot: Removed from the board: J3 *Risk manager*.
        -- 2026-12-03 09:00 UTC --
        [7] (only @alice) bot: Open jobs:
            • J2 *PMO analyst* — https://example.org/jobs/2 · closes Thu 31 Dec 09:00 UTC
            (Post one: `/cop job post <url> "title" [--closes 30d]`.)
        [8] (only @alice) bot: There is no open job J1 on the board.
        [9] (only @bob) bot: Removed from the board: J2 *PMO analyst*.
        [10] (only @bob) bot: No open jobs on the board.
            (Post one: `/cop job post <url> "title" [--closes 30d]`.)
        """
    )
    async with db.transaction() as session:
        assert list(await session.scalars(select(JobPosting.id))) == []
        assert list(await session.scalars(select(DueJob.key))) == []


async def test_a_closed_job_is_not_listed_even_before_its_cleanup_runs(db: Database) -> None:
    await transcript(
        db, 'alice: /cop job post https://example.org/jobs/1 "Delivery lead" --closes 1h\n'
    )
    async with db.transaction() as session:
        await session.execute(text("DELETE FROM due_jobs"))  # the cleanup never ran
    out = await transcript(db, "wait 2h\nalice: /cop jobs\n")
    assert "No open jobs on the board." in out


async def test_new_links_and_jobs_appear_in_the_digest(db: Database) -> None:
    await transcript(
        db,
        """
        facilitator: /cop resource add https://example.org/raid "RAID log template"
        alice: /cop resource add https://example.org/benefits "Benefits guide"
        alice: /cop job post https://example.org/jobs/1 "Delivery lead" --closes 30d
        bob: /cop job post https://example.org/jobs/2 "Gone soon" --closes 2h
        """,
    )
    async with community_context(db) as (context, community):
        week = DigestPeriod(community.id, START - timedelta(days=1), START + timedelta(days=6))
        (library_order, library), (jobs_order, jobs) = (
            context.registry.digest_sections["library.new"],
            context.registry.digest_sections["jobs.new"],
        )
        new_links = await library(context, week)
        new_jobs = await jobs(context, week)
        earlier = DigestPeriod(community.id, START - timedelta(days=8), START - timedelta(days=1))
        assert await library(context, earlier) is None and await jobs(context, earlier) is None
    assert (library_order, jobs_order) == (60, 70)
    assert new_links is not None and new_jobs is not None
    assert [i.link for i in new_links.items] == ["https://example.org/raid"]  # not suggestions
    assert [i.link for i in new_jobs.items] == ["https://example.org/jobs/1"]  # not closed ones


async def test_search_runs_in_the_database_s_full_text_engine(db: Database) -> None:
    """SQLite: the FTS5 table kept by triggers (an edit and a removal are seen at once);
    PostgreSQL: the GIN index over the same document expression the search uses."""
    await transcript(
        db,
        """
        facilitator: /cop resource add https://example.org/raid "RAID log template" --tags risk
        """,
    )
    async with db.transaction() as session:
        if db.is_postgres:
            await session.execute(text("SET LOCAL enable_seqscan = off"))
            plan = "\n".join(
                row[0]
                for row in await session.execute(
                    text(
                        "EXPLAIN SELECT id FROM resources WHERE resources_fts_vector "
                        "@@ to_tsquery('english', 'risk:*')"
                    )
                )
            )
            assert "ix_resources_fulltext" in plan
        else:
            found = await session.execute(
                text("SELECT rowid FROM resources_fts WHERE resources_fts MATCH '\"raid\"*'")
            )
            assert [row[0] for row in found] == [1]
            await session.execute(text("UPDATE resources SET title = 'Issue log'"))
            found = await session.execute(
                text("SELECT rowid FROM resources_fts WHERE resources_fts MATCH '\"raid\"*'")
            )
            assert list(found) == []
    async with db.transaction() as session:
        await session.execute(text("UPDATE resources SET title = 'Issue log'"))
    out = await transcript(db, "alice: /cop resources issue\nalice: /cop resources raid\n")
    assert "L1 *Issue log*" in out and "Nothing in the library for “raid”" in out


async def test_titles_topics_and_descriptions_are_shown_as_typed(db: Database) -> None:
    world = World(db)
    await world.command(FRAN, "setup")
    shown = await world.command(FRAN, f'resource add https://example.org/a "{EVIL}"')
    assert_shown_as_typed(shown, "resource add")
    assert_shown_as_typed(await world.command(FRAN, "resources"), "resources")
    assert_shown_as_typed(await world.command(FRAN, "resources bold"), "resources search")
    shown = await world.command(FRAN, f'job post https://example.org/j "{EVIL}"')
    assert_shown_as_typed(shown, "job post")
    assert_shown_as_typed(await world.command(FRAN, "jobs"), "jobs")
    shown = await world.command(FRAN, f'hotseat <@U0ANN> "{EVIL}" --starts 2026-12-21')
    assert_shown_as_typed(shown, "hotseat")
    assert_shown_as_typed(await world.command(FRAN, "hotseat list"), "hotseat list")

"""The rhythm's rules one by one: bad input, daylight saving, cadences, missed periods."""

from __future__ import annotations

from datetime import UTC, datetime

from hearth.storage.db import Database
from tests.console_helpers import transcript

FEBRUARY = datetime(2027, 2, 24, 12, 0, tzinfo=UTC)


async def test_bad_input_gets_a_precise_private_answer(db: Database) -> None:
    out = await transcript(
        db,
        """
        facilitator: /cop theme add "Risk"
        facilitator: /cop theme add "Risk" --month 2027-13
        facilitator: /cop theme add "Risk" --month 2027-03 --colour red
        facilitator: /cop theme add "Risk" --month 2027-03
        facilitator: /cop theme add "Again" --month 2027-03
        facilitator: /cop theme edit 2027-04 --title "Nope"
        alice joins
        alice: /cop theme add "Mine" --month 2027-04
        alice: /cop article suggest javascript:alert(1) "nice"
        alice: /cop article suggest https://example.org/a
        facilitator: /cop article approve 7
        facilitator: /cop digest every hourly
        facilitator: /cop digest every weekly --segment "Nobody"
        """,
        start=FEBRUARY,
    )
    assert "Give the title in quotes and --month." in out
    assert "“2027-13” is not a month; write it like 2027-01." in out
    assert "I don't know --colour; this takes --month, --blurb." in out
    assert "March 2027 already has a theme; `/cop theme edit 2027-03` changes it." in out
    assert "April 2027 has no theme." in out
    assert "Sorry, only facilitators of #community can use `/cop theme add`." in out
    assert "is not a web address I can share; it starts http(s)://" in out
    assert "Give the address and, in quotes, why it's worth reading." in out
    assert "There is no article 7 here; `/cop article queue` lists them." in out
    assert "Say how often: `/cop digest every" in out
    assert "“Nobody” is not one of this community's groups" in out
    assert "Usage: " in out  # usage errors carry the command's usage line


async def test_posts_keep_their_local_time_across_daylight_saving(db: Database) -> None:
    """London and New York change clocks on different days; each post stays at its local time."""
    for zone, march, april, monday_before, monday_after in (
        (
            "Europe/London",
            "2027-03-01 10:00",
            "2027-04-01 09:00",
            "2027-03-22 09:00",
            "2027-03-29 08:00",
        ),
        (
            "America/New_York",
            "2027-03-01 15:00",
            "2027-04-01 14:00",
            "2027-03-08 14:00",
            "2027-03-15 13:00",
        ),
    ):
        out = await transcript(
            db,
            f"""
            facilitator: /cop timezone {zone}
            facilitator: /cop theme add "Spring" --month 2027-03
            facilitator: /cop theme add "April" --month 2027-04
            alice joins
            wait 5d
            alice: week one
            wait 7d
            alice: week two
            wait 7d
            alice: week three
            wait 7d
            alice: week four
            wait 7d
            alice: week five
            wait 8d
            """,
            start=datetime(2027, 2, 20, 12, 0, tzinfo=UTC),
        )
        assert f"-- {march} UTC --\n[" in out and "This month's theme: *Spring*" in out, zone
        assert f"-- {april} UTC --\n" in out, (zone, out)
        assert (
            out.split(f"-- {april} UTC --\n")[1]
            .split("\n")[0]
            .endswith("bot: This month's theme: *April*")
        )
        for monday in (monday_before, monday_after):
            after = out.split(f"-- {monday} UTC --\n")[1]
            assert "bot: *The week in #community*" in after.split("\n")[0], (zone, monday, out)
        await _reset(db)


async def _reset(db: Database) -> None:
    from hearth.storage.models import Base

    async with db.engine.begin() as connection:
        for table in reversed(Base.metadata.sorted_tables):
            await connection.execute(table.delete())


async def test_a_prompt_missed_past_its_month_is_skipped(db: Database) -> None:
    out = await transcript(
        db,
        """
        facilitator: /cop theme add "January things" --month 2027-01
        facilitator: /cop theme add "February things" --month 2027-02
        wait 14d
        restart after 20d
        wait 1d
        """,
        start=datetime(2026, 12, 31, 12, 0, tzinfo=UTC),
    )
    assert "This month's theme: *January things*" in out
    assert "Mid-month on *January things*" not in out  # Hearth was down from 14 Jan to 3 Feb
    assert (
        "-- 2027-02-03 12:00 UTC --\n"
        "* Hearth was down since 2027-01-14 12:00 UTC; it restarted on the same database\n"
        "[4] #community bot: This month's theme: *February things*\n"  # opened late, once
    ) in out


async def test_cadences_preview_now_and_stats(db: Database) -> None:
    out = await transcript(
        db,
        """
        alice joins
        facilitator: /cop digest every
        facilitator: /cop digest every fortnightly
        facilitator: /cop digest every newsletter
        alice: something happened
        facilitator: /cop digest preview
        facilitator: /cop digest now
        facilitator: /cop digest now
        facilitator: /cop digest stats
        wait 2d
        facilitator: /cop digest stats
        facilitator: /cop calendar
        facilitator: /cop digest every off
        facilitator: /cop digest preview
        """,
        start=FEBRUARY,
    )
    assert "Channel digest: weekly, Mondays 09:00 (UTC)\n    Monthly newsletter: off" in out
    assert "Channel digest: fortnightly, Mondays 09:00 (UTC)" in out
    assert "Monthly newsletter: on, the first working day of the month" in out
    assert "(Preview, just for you: the digest due Mon 8 Mar 09:00 UTC, as it stands now.)" in out
    assert "#community bot: *What's new in #community* — Wed 17 Feb to Wed 24 Feb" in out
    assert "    • “something happened”: 1 person, 0 replies\n" in out
    assert "A digest has just been posted; there is nothing new since." in out
    assert "• Wed 24 Feb (now): measuring until Fri 26 Feb 12:00 UTC" in out
    assert "• Wed 24 Feb (now): 1 message after, 0 the week before: *new activity*" in out
    assert "• Mon 1 Mar 09:00 UTC: The monthly newsletter" in out
    assert "• Mon 8 Mar 09:00 UTC: The fortnightly digest" in out
    assert "Mon 1 Mar 09:00 UTC: The fortnightly digest" not in out
    assert "Article of the month" not in out  # not a community that uses articles
    assert "The channel digest is off; `/cop digest now` posts one anyway." in out


async def test_a_group_gets_its_own_cadence_by_dm_and_a_member_can_stop_it(db: Database) -> None:
    out = await transcript(
        db,
        """
        facilitator: /cop segments set "Delivery" "Leadership"
        bob joins
        bob tz America/New_York
        bob clicks "Leadership" on 2
        facilitator: /cop digest every weekly --segment "Leadership"
        alice joins
        alice: hello all
        wait 5d
        alice: more news
        wait 3h
        bob clicks "Stop these digests" on 11
        wait 7d
        """,
        start=datetime(2027, 2, 17, 12, 0, tzinfo=UTC),
    )
    assert "    Group “Leadership”: by DM, weekly\n" in out
    # 09:00 in New York is 14:00 UTC: the group's DM waits for Bob's morning.
    assert "-- 2027-02-22 14:00 UTC --\n[11] DM @bob bot: *The week in #community*" in out
    assert "    [Settings] [Stop these digests]\n" in out
    assert "Done: no more digests by direct message." in out
    assert "-- 2027-03-01 09:00 UTC --\n[13] #community bot: *The week in #community*" in out
    assert out.count("DM @bob bot: *The week in") == 1  # none on 1 March: Bob stopped them

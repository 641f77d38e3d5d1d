"""The community's rhythm on the console: a whole quarter of themes, articles and digests."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from hearth.storage.db import Database
from hearth.storage.models import DigestRun, JobFiring, OutboxMessage
from tests.console_helpers import transcript

LONDON = "Europe/London"
DECEMBER = datetime(2026, 12, 18, 12, 0, tzinfo=UTC)
"""Three days before the script begins: the first digest covers a whole week (21-27 Dec)."""

QUARTER = """\
wait 3d
# December: the facilitator plans the quarter
facilitator: /cop theme add "Benefits realisation" --month 2027-01 --blurb "How do we know a project paid off?"
facilitator: /cop theme add "Risk in small projects" --month 2027-02
facilitator: /cop theme add "Lessons learned" --month 2027-03
alice joins
bob joins
carol joins
dave joins
dave tz America/New_York
dave: /cop settings
dave submits 8 digest=weekly
alice: /cop article suggest https://example.org/benefits-maps "The clearest guide to benefits maps I know"
bob: /cop article suggest https://example.org/hype "Ten reasons AI will replace PMs"
facilitator: /cop article approve 1
facilitator: /cop article reject 2 "We keep the list to practice pieces"
facilitator: /cop calendar
wait 8d
# January: the theme opens, the article goes out, people talk
wait 4d
alice: Has anyone measured benefits after go-live?
bob in thread 21: We did, with a benefits register reviewed quarterly
carol in thread 21: Same here, but nobody owned it after handover
dave in thread 21: Ownership is the whole game
wait 1d
facilitator: /cop digest preview
wait 2d
bob: Benefits realisation question: who signs off the final benefits review?
alice in thread 39: Usually the sponsor
wait 7d
# the 11 Jan digest brings people back: the spike
carol: After the digest: our benefits review template, if useful
alice in thread 47: Thanks Carol, this is great
bob in thread 47: Borrowing it
wait 3d
# the mid-month prompt (15 Jan); then two quiet weeks: no digest on 25 Jan or 1 Feb
wait 17d
# February: nothing approved, so no article on 2 Feb (the reminder came on 29 Jan)
wait 2d
facilitator: /cop article add https://example.org/risk-lite "A light-touch risk log for small projects"
wait 5d
bob: Anyone using a RAID log on a two-person project?
carol in thread 56: Yes, a single page
wait 6d
# Hearth is down from Sunday 14 Feb to Tuesday: Monday's digest is posted once when it is back
restart after 2d
restart
wait 13d
# March: the theme opens, the article goes out; the clocks go forward on 28 March
wait 10d
alice in thread 65: Ours: write lessons down the week they happen
bob in thread 65: We keep a lessons log per project
carol in thread 65: We read last project's lessons at every kick-off
# the channel is busy with the theme: no mid-month prompt on 15 March
wait 12d
bob: Lessons learned: we now hold a 15-minute retro after every milestone
# the clocks go forward on 28 March: the digest stays at 09:00 London time (08:00 UTC)
wait 7d
facilitator: /cop digest stats
facilitator: /cop calendar
"""


def at(out: str, time: str, item: str) -> bool:
    """Whether `item` (the start of a transcript line) is printed under the time line `time`."""
    block = out.split(f"-- {time} UTC --\n", 1)
    return len(block) == 2 and any(
        line.startswith(item) for line in block[1].split("\n-- ", 1)[0].splitlines()
    )


@pytest.mark.timeout(600)  # a quarter of simulated time: some 700 firings on a shared machine
async def test_a_quarter_of_rhythm(db: Database) -> None:
    out = await transcript(db, QUARTER, timezone=LONDON, start=DECEMBER)
    # Themes open on the first working day at 10:00, in London time.
    assert at(out, "2027-01-01 10:00", "[20] #community bot: This month's theme: *Benefits")
    assert at(out, "2027-02-01 10:00", "[54] #community bot: This month's theme: *Risk in small")
    assert at(out, "2027-03-01 10:00", "[65] #community bot: This month's theme: *Lessons")
    # Mid-month: a pointer to the liveliest thread on the theme in January; in February the
    # prompt missed while Hearth was down comes when it is back; in March the channel was busy
    # with the theme (three people in its thread that week): no prompt.
    assert at(out, "2027-01-15 10:00", "[50] #community bot: Mid-month on *Benefits realisation*")
    liveliest = "The liveliest conversation on it so far: “Has anyone measured benefits after"
    assert f"{liveliest} go-live?” (4 people)" in out
    assert at(out, "2027-02-16 12:00", "[64] #community bot: Mid-month on *Risk in small projects*")
    assert "Mid-month on *Lessons learned*" not in out
    # Articles: suggested, approved and rejected (kindly), posted on the second working day
    # with who suggested it and a discussion thread; nothing approved in February: nothing
    # posted, the facilitators reminded; one added in February goes out in March.
    kindly = (
        "[15] DM @bob bot: Thank you for suggesting https://example.org/hype for #community. The "
        "facilitators won't feature it this time. They said: “We keep the list to practice "
        "pieces”. Please keep your suggestions coming"
    )
    assert kindly in out
    assert at(
        out,
        "2027-01-04 10:00",
        "[36] #community bot: Article of the month: https://example.org/benefits-maps",
    )
    assert "    Suggested by @alice\n" in out
    assert "[37] #community thread [36] bot: Discussion of this month's article" in out
    assert at(
        out, "2027-01-29 10:00", "[53] DM @facilitator bot: No article of the month is approved"
    )
    assert "2027-02-02" not in out
    assert at(
        out,
        "2027-03-02 10:00",
        "[66] #community bot: Article of the month: https://example.org/risk-lite",
    )
    # Weekly digests with the right content, Mondays 09:00 London time (08:00 UTC in BST),
    # none in an empty week, and the one missed while Hearth was down posted once on its return.
    digests = re.findall(r"\[\d+\] #community bot: \*The week in #community\* — (.*)", out)
    assert digests == [
        "Mon 21 Dec to Sun 27 Dec",
        "Mon 28 Dec to Sun 3 Jan",
        "Mon 4 Jan to Sun 10 Jan",
        "Mon 11 Jan to Sun 17 Jan",
        "Mon 8 Feb to Sun 14 Feb",
        "Mon 8 Mar to Sun 14 Mar",
        "Mon 22 Mar to Sun 28 Mar",
    ]
    assert at(out, "2027-01-04 09:00", "[35] #community bot: *The week in #community* — Mon 28 Dec")
    assert "    • “Has anyone measured benefits after go-live?”: 4 people, 3 replies\n" in out
    assert "    • Alice, Bob, Carol, Dave: say hello in the thread!\n" in out
    assert at(out, "2027-02-16 12:00", "[63] #community bot: *The week in #community* — Mon 8 Feb")
    assert "* Hearth was down since 2027-02-14 12:00 UTC; it restarted on the same database" in out
    assert "    • the thread of the theme of the month: 3 people, 3 replies\n" in out
    assert at(out, "2027-03-29 08:00", "[74] #community bot: *The week in #community* — Mon 22 Mar")
    # The preview, privately, shows the same digest before it is posted.
    assert "(Preview, just for you: the digest due Mon 4 Jan 09:00 GMT, as it stands now.)" in out
    # Dave, in New York, takes the digest by DM: 09:00 his time (14:00 UTC, 13:00 once the US
    # clocks went forward on 14 March).
    assert at(out, "2026-12-28 14:00", "[19] DM @dave bot: *The week in #community* — Mon 21 Dec")
    assert at(out, "2027-03-15 13:00", "[72] DM @dave bot: *The week in #community* — Mon 8 Mar")
    assert out.count("DM @dave bot: *The week in") == 6
    # The spike: messages in the 48 hours after the 11 January digest against a week before.
    assert "    • Mon 11 Jan (weekly): 3 messages after, 2 the week before: *+50%*\n" in out
    async with db.transaction() as session:
        runs = await session.scalar(select(func.count()).select_from(DigestRun))
        posts = await session.scalar(
            select(func.count()).where(OutboxMessage.kind == "digest_post")
        )
        firings = await session.scalar(
            select(func.count()).where(JobFiring.job == "rhythm.digest@community:1")
        )
    assert (runs, posts) == (7, 7)
    assert firings == 15  # each Monday from 21 Dec to 29 Mar once (15 Feb when Hearth was back)

"""Polls members trust: one click to vote, counted in SQL, anonymous when asked, closed on time.

How it holds together:

- **Votes** are rows (`poll_votes`), written and counted in SQL inside the click's transaction,
  with the poll row locked (`storage.polls.lock_poll`): concurrent clicks on one poll are applied
  one after the other and none is lost or doubled; the primary key allows one vote per voter on
  a one-choice poll whatever happens.
- **Voters** are keyed by `voter_key`: an HMAC under the server secret (never stored) of the
  poll's random salt and the member's platform id. Anonymous polls store nothing else: no member
  id, no member row, no time. The salt is erased when the poll closes.
- **The message** is posted through the outbox (`poll:<id>:post`); results are updated in place
  through one outbox row per poll (`poll:<id>:update`) that always holds the latest card, built
  under the poll lock so cards are written in commit order. A burst of votes rewrites the
  pending row instead of adding calls, and an update is sent at most every `UPDATE_INTERVAL`.
- **Closing** on time and **recurring** polls are keyed one-shots (`handlers/jobs.py`): rows
  written with the poll, run once by the scheduler when due, across restarts; a recurring
  poll's next time is computed by its rule's APScheduler trigger (`scheduler/rules.py`).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from hearth.handlers import jobs, once
from hearth.handlers.cards import Card, ContextLine, Field, Form, Section, typed
from hearth.handlers.commands import Args, CommandError, UsageError, number
from hearth.handlers.context import Context
from hearth.handlers.events import ActionClicked, FormSubmitted, MessageRef
from hearth.handlers.forms import read
from hearth.handlers.jobs import JobDue
from hearth.handlers.policy import Kind
from hearth.handlers.poll_cards import (
    NAMES_PER_OPTION,
    Tally,
    label,
    outcome,
    poll_card,
    poll_csv,
    responses,
    survey_card,
    survey_csv,
    survey_summary,
)
from hearth.handlers.poll_spec import USAGE, PollSpec, check, parse_command
from hearth.handlers.ports import Target
from hearth.handlers.registry import Registry
from hearth.handlers.schedules import TimeError, format_moment, parse_duration, parse_moment
from hearth.scheduler.rules import parse_rule
from hearth.storage import outbox
from hearth.storage import polls as stored
from hearth.storage.models import Community, Member, Membership, OutboxMessage, Poll, PollSeries

UPDATE_INTERVAL = timedelta(seconds=2)
"""At most one message update per poll in this time: Slack's chat.update and Teams' update
activity stay far below their rate limits however many people vote at once."""


def register(registry: Registry) -> None:
    registry.sends(
        Kind("poll", dm=False),
        Kind("survey", dm=False),
        Kind("poll_update", dm=False),
        Kind("survey_summary", dm=True, unsolicited=False),
    )
    group = "polls and surveys"
    registry.command("poll", USAGE, summary="post a poll (no arguments: a form)", group=group)(
        poll_command
    )
    registry.command(
        "poll close",
        "<id>",
        summary="close a poll or survey (its creator or a facilitator)",
        group=group,
    )(close_command)
    registry.command("poll list", summary="the open polls and surveys here", group=group)(
        list_command
    )
    registry.command(
        "poll export",
        "<id>",
        summary="a poll's or survey's results as CSV, privately (its creator or a facilitator)",
        group=group,
    )(export_command)
    registry.command(
        "poll stop", "R<id>", summary="stop a recurring poll", facilitator_only=True, group=group
    )(stop_command)
    registry.action("poll.vote")(vote)
    registry.form("poll.create")(create_from_form)
    registry.job("poll.close")(close_job)
    registry.job("poll.refresh")(refresh_job)
    registry.job("poll.occurrence")(occurrence_job)


# Creating a poll


async def poll_command(context: Context, args: Args) -> None:
    """`/cop poll …` posts a poll; with no arguments, opens the form."""
    community = await context.require_community()
    if not args.text:
        purpose = await _form_of(context)
        token = await once.issue(context.session, context.event.platform, purpose, context.now())
        context.open_form(poll_form(f"{community.id}:{token}"))
        return
    await create(context, community, parse_command(args.text))


async def form_community(context: Context, event: FormSubmitted, tag: str) -> Community | None:
    """The community a form was opened for: the channel's, or (a form opened from a DM) the one
    whose id `tag` (from the form's context) is, if the member is in it."""
    community = await context.community()
    community_id = number(tag)
    if community is not None or community_id is None:
        return community
    found = await context.session.get(Community, community_id)
    if found is None or (found.platform, found.workspace) != (event.platform, event.workspace):
        return None
    membership = await context.session.get(Membership, (found.id, (await context.member()).id))
    if membership is None or membership.left_at is not None:
        return None
    context.community_set_up(found)
    return found


def poll_form(token: str = "") -> Form:
    """The same choices as the command's flags, as a form; `token` (`<community id>:<one-use
    token>`) says where it posts and makes it post at most once."""
    return Form(
        "New poll",
        "poll.create",
        (
            Field("question", "Question"),
            Field("options", "Options, one per line (or separated by |)", multiline=True),
            Field("multi", "People may choose several options", "yesno", required=False),
            Field("anonymous", "Anonymous: nobody can see who voted what", "yesno", required=False),
            Field("hidden", "Hide the results until the poll closes", "yesno", required=False),
            Field("closes", "Closes after (3d, 4h) or at (2026-12-08 17:00)", required=False),
            Field("every", "Repeat, e.g. first monday 10:00 (facilitators)", required=False),
        ),
        submit_label="Post poll",
        context=token,
    )


async def _form_of(context: Context) -> str:
    """What a poll form's token is for: one poll by the member who opened it."""
    return f"poll.create:{(await context.member()).id}"


async def create_from_form(context: Context, event: FormSubmitted) -> None:
    purpose = await _form_of(context)
    community_tag, _, token = event.context.partition(":")
    taken = await once.use(context.session, event.platform, token, purpose, context.now())
    if taken != "ok":
        why = "was already used" if taken == "used" else "has expired"
        raise CommandError(f"This form {why}; `{context.prefix} poll` opens a new one.")
    values = read(poll_form(), event.values)
    lines = str(values["options"]).splitlines()
    if len(lines) == 1:
        lines = lines[0].split("|")
    spec = PollSpec(
        str(values["question"]),
        tuple(lines),
        multi=bool(values["multi"]),
        anonymous=bool(values["anonymous"]),
        hidden=bool(values["hidden"]),
        closes=str(values["closes"]),
        every=str(values["every"]),
    )
    community = await form_community(context, event, community_tag)
    if community is None:
        raise CommandError("Polls are posted in a community channel; open the form there.")
    try:
        await create(context, community, spec)
    except UsageError as error:
        raise CommandError(f"New poll: {error}") from error


async def create(context: Context, community: Community, spec: PollSpec) -> None:
    """Check the spec and post the poll (or set up the recurring poll)."""
    spec = check(spec)
    creator = await context.member()
    if spec.every:
        await _create_series(context, community, creator, spec)
        return
    closes_at = None
    if spec.closes:
        try:
            closes_at = parse_moment(spec.closes, community.timezone, context.now())
        except TimeError as error:
            raise UsageError(f"--closes: {error}") from error
    poll = await _post_new(context, community, creator.id, spec, closes_at=closes_at)
    prefix = context.prefix
    closing = (
        f"; it closes {format_moment(closes_at, community.timezone, now=context.now())}"
        if closes_at
        else ""
    )
    context.reply_privately(
        Card(
            f"{label(poll)} is posted in {typed(community.name)}{closing}.",
            (
                ContextLine(
                    f"`{prefix} poll close {poll.id}` closes it; "
                    f"`{prefix} poll export {poll.id}` sends you the results."
                ),
            ),
        )
    )


async def _create_series(
    context: Context, community: Community, creator: Member, spec: PollSpec
) -> None:
    if not await context.is_facilitator(community, creator):
        raise CommandError(
            f"Only facilitators of {typed(community.name)} can set up recurring polls."
        )
    try:
        rule = parse_rule(spec.every)
    except TimeError as error:
        raise UsageError(f"--every: {error}") from error
    close_after = None
    if spec.closes:
        duration = parse_duration(spec.closes)
        if duration is None:
            raise UsageError(
                "With --every, give --closes as a duration (like 2d): each poll closes that "
                "long after it is posted."
            )
        close_after = int(duration.total_seconds())
    first = rule.next_after(context.now(), community.timezone)
    series = PollSeries(
        community_id=community.id,
        creator_id=creator.id,
        question=spec.question,
        options=list(spec.options),
        multi=spec.multi,
        anonymous=spec.anonymous,
        hidden=spec.hidden,
        schedule=spec.every,
        close_after=close_after,
        next_at=first,
        created_at=context.now(),
    )
    context.session.add(series)
    await context.session.flush()
    await _schedule_occurrence(context, community, series, first)
    lasts = "each stays open until the next is posted"
    if close_after:
        lasts = f"each closes {spec.closes} after it is posted"
    context.reply_privately(
        Card(
            f"Recurring poll R{series.id} is set up: “{typed(series.question)}” will be posted in "
            f"{typed(community.name)} {rule.describe()} ({community.timezone}), first on "
            f"{format_moment(first, community.timezone, now=context.now())}; {lasts}.",
            (ContextLine(f"Stop it with `{context.prefix} poll stop R{series.id}`."),),
        )
    )


async def _schedule_occurrence(
    context: Context, community: Community, series: PollSeries, at: datetime
) -> None:
    await jobs.schedule(
        context,
        f"poll-series:{series.id}:{at.isoformat()}",
        "poll.occurrence",
        at,
        {"series": series.id, "at": at.isoformat()},
        channel=community.channel,
    )


async def open_poll(context: Context, community: Community, poll: Poll) -> None:
    """Open a new poll or a survey draft: post its message and schedule its closing."""
    now = context.now()
    poll.status = stored.OPEN
    poll.opened_at = now
    poll.voter_salt = secrets.token_hex(16)
    if poll.closes_at is None and poll.close_after:
        poll.closes_at = now + timedelta(seconds=poll.close_after)
    if poll.closes_at is not None and poll.closes_at <= now:
        raise CommandError(
            f"{label(poll)} was to close "
            f"{format_moment(poll.closes_at, community.timezone, now=now)}, "
            "which has passed."
        )
    await context.session.flush()
    await context.enqueue(
        post_key(poll),
        poll.kind,
        Target("channel", community.channel),
        await card_for(context, community, poll),
    )
    if poll.closes_at is not None:
        await jobs.schedule(
            context,
            f"poll-close:{poll.id}",
            "poll.close",
            poll.closes_at,
            {"poll": poll.id},
            channel=community.channel,
        )


# Voting


def voter_key(secret: bytes, poll: Poll, platform: str, workspace: str, user: str) -> str:
    """Who voted, as a keyed hash: the same member gets the same key on one poll (so nobody
    votes twice) and unrelated keys on different polls; without the server secret and the poll's
    salt (erased at close) nobody can tell whose key it is."""
    message = "\n".join((poll.voter_salt or "", platform, workspace, user)).encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


async def vote(context: Context, event: ActionClicked) -> None:
    """A click on an option: vote, change the vote, or withdraw it."""
    poll_id, _, choice = event.value.partition("|")
    found = await clicked_poll(context, poll_id, "poll")
    # Anonymous voters get no member row; others are looked up (or added) before the poll is
    # locked, so that lock is held only for the vote itself.
    member = None if found.anonymous else await context.member()
    poll = await stored.lock_poll(context.session, found.id)
    assert poll is not None, "a poll is never deleted while its community exists"
    if poll.status != stored.OPEN:
        raise CommandError(f"{label(poll)} has closed; the message shows its final result.")
    option = number(choice)
    if option is None or option >= len(poll.options):
        raise CommandError("That option is no longer on the poll.")
    voter = voter_key(context.defaults.secret, poll, event.platform, event.workspace, event.user)
    member_id = member.id if member else None
    name = poll.options[option]
    session = context.session
    if poll.multi:
        added = await stored.toggle_choice(session, poll.id, voter, option, member_id)
        chosen = [poll.options[i] for i in await stored.choices(session, poll.id, voter)]
        listed = ", ".join(f"“{typed(c)}”" for c in chosen)
        now_chosen = f"your choices: {listed}." if chosen else "you have no choices left."
        text = (
            f"You added “{typed(name)}” — {now_chosen} Click an option again to remove it."
            if added
            else f"You removed “{typed(name)}” — {now_chosen}"
        )
    else:
        previous = await stored.vote_once(session, poll.id, voter, option, member_id)
        if previous is None:
            text = (
                f"You voted for “{typed(name)}”. Click another option to change your vote, or "
                "this one again to withdraw it."
            )
        elif previous == option:
            text = f"You withdrew your vote for “{typed(name)}”. Click an option to vote again."
        else:
            text = (
                f"You changed your vote from “{typed(poll.options[previous])}” to “{typed(name)}”."
            )
    community = await community_of(context, poll)
    await show(context, community, poll)
    notes = []
    if poll.anonymous:
        notes.append("This poll is anonymous: nobody else can see how you voted.")
    if poll.hidden:
        notes.append("Results are shown when the poll closes.")
    blocks = (ContextLine(" ".join(notes)),) if notes else ()
    context.reply_privately(Card(f"{label(poll)} “{typed(poll.question)}”: {text}", blocks))


async def clicked_poll(context: Context, poll_id: str, kind: str) -> Poll:
    found = number(poll_id)
    poll = await context.session.get(Poll, found) if found is not None else None
    community = await context.session.get(Community, poll.community_id) if poll else None
    event = context.event
    if (
        poll is None
        or poll.kind != kind
        or community is None
        or (community.platform, community.workspace) != (event.platform, event.workspace)
    ):
        raise CommandError(f"That {kind} no longer exists.")
    return poll


async def tally(context: Context, poll: Poll, *, everyone: bool = False) -> Tally:
    """The votes as SQL counts them now, with the first few names per option on open polls
    (`everyone`: all of them)."""
    session = context.session
    limit = None if everyone else NAMES_PER_OPTION
    names = {} if poll.anonymous else await stored.voters(session, poll.id, limit)
    return Tally(
        await stored.counts(session, poll.id), await stored.voter_count(session, poll.id), names
    )


async def card_for(context: Context, community: Community, poll: Poll) -> Card:
    """The poll's or survey's message as it should look now."""
    creator = await context.session.get(Member, poll.creator_id) if poll.creator_id else None
    if poll.kind == "survey":
        respondents = await stored.respondent_count(context.session, poll.id)
        return survey_card(poll, community, creator, respondents)
    return poll_card(poll, community, creator, await tally(context, poll))


def post_key(poll: Poll) -> str:
    return f"poll:{poll.id}:post"


def update_key(poll: Poll) -> str:
    return f"poll:{poll.id}:update"


async def show(context: Context, community: Community, poll: Poll) -> None:
    """Bring the poll's message up to date (call with the poll locked).

    Before the message is sent its pending post is rewritten; after, the poll's one update
    row: rewritten while pending (a burst costs one platform call), re-queued once sent, no
    sooner than `UPDATE_INTERVAL` after the last update, and left alone when nothing visible
    changed. While the post or the update is in flight, a `poll.refresh` job looks again
    shortly, so the last card sent is always the latest.
    """
    session = context.session
    card = await card_for(context, community, poll)
    data = card.to_json()
    found = await session.execute(
        select(
            OutboxMessage.key,
            OutboxMessage.status,
            OutboxMessage.card,
            OutboxMessage.sent_conversation,
            OutboxMessage.sent_message_id,
            OutboxMessage.sent_at,
        ).where(OutboxMessage.key.in_((post_key(poll), update_key(poll))))
    )
    rows = {row.key: row for row in found}
    post, update = rows.get(post_key(poll)), rows.get(update_key(poll))
    if post is None or post.status in (outbox.FAILED, outbox.CANCELLED, outbox.SKIPPED):
        return  # the message never made it: nothing to update
    if post.status == outbox.PENDING:
        await outbox.replace_pending(session, post_key(poll), data)
        return
    latest = update or post
    if latest.card == data and latest.status != outbox.FAILED:
        return  # what members see (or are about to) is already this
    if post.status == outbox.SENT and post.sent_message_id:
        if update is None:
            ref = MessageRef(post.sent_conversation, post.sent_message_id)
            await context.enqueue(update_key(poll), "poll_update", Target.replacing(ref), card)
            return
        if await outbox.replace_pending(session, update_key(poll), data):
            return
        now = context.now()
        due = max(now, update.sent_at + UPDATE_INTERVAL) if update.sent_at else now
        if await outbox.requeue(session, update_key(poll), data, due):
            context.enqueued += 1  # wake the sender: the row is due again
            return
    # In flight. Keyed by time slot: a burst schedules one job, and never the key of a job
    # being run (which holds that row while it waits for the poll's lock, held by us).
    due = context.now() + UPDATE_INTERVAL
    slot = int(due.timestamp() // UPDATE_INTERVAL.total_seconds())
    await jobs.schedule(
        context,
        f"poll-refresh:{poll.id}:{slot}",
        "poll.refresh",
        due,
        {"poll": poll.id},
        channel=community.channel,
    )


async def refresh_job(context: Context, job: JobDue) -> None:
    """Look again at a poll whose message was in flight when it last changed."""
    poll = await stored.lock_poll(context.session, int(job.payload["poll"]))
    if poll is not None:
        await show(context, await community_of(context, poll), poll)


# Closing


async def close(context: Context, community: Community, poll: Poll) -> bool:
    """Close a locked poll or survey: final card, kept result, salt erased; False if closed."""
    if poll.status != stored.OPEN:
        return False
    poll.status = stored.CLOSED
    poll.closed_at = context.now()
    poll.voter_salt = None  # from now on nobody can recompute who voted what
    if poll.kind == "survey":
        poll.result = {"responses": await stored.respondent_count(context.session, poll.id)}
    else:
        counted = await tally(context, poll)
        poll.result = {
            "counts": [counted.counts.get(i, 0) for i in range(len(poll.options))],
            "voters": counted.voters,
        }
    await jobs.cancel(context, f"poll-close:{poll.id}")
    await show(context, community, poll)
    if poll.kind == "survey":
        creator = await context.session.get(Member, poll.creator_id) if poll.creator_id else None
        if creator is not None:
            rows = await stored.all_answers(context.session, poll.id)
            await context.enqueue(
                f"survey:{poll.id}:summary",
                "survey_summary",
                Target("dm", creator.user_id),
                survey_summary(poll, rows, context.prefix),
            )
    return True


async def close_job(context: Context, job: JobDue) -> None:
    """A poll's closing time came."""
    poll = await stored.lock_poll(context.session, int(job.payload["poll"]))
    if poll is not None:
        await close(context, await community_of(context, poll), poll)


async def close_command(context: Context, args: Args) -> None:
    community = await context.require_community()
    poll = await _managed(context, community, args, locked=True)
    if poll.status == stored.DRAFT:
        raise CommandError(f"{label(poll)} hasn't been posted yet.")
    if not await close(context, community, poll):
        raise CommandError(f"{label(poll)} is already closed.")
    if poll.kind == "survey":
        count = poll.result["responses"] if poll.result else 0
        detail = (
            f"{responses(count).capitalize()}; `{context.prefix} survey results {poll.id}` "
            "shows the summary."
        )
    else:
        detail = outcome(poll, await tally(context, poll))
    context.reply_privately(Card(f"{label(poll)} “{typed(poll.question)}” is closed. {detail}"))


# Recurring polls


async def occurrence_job(context: Context, job: JobDue) -> None:
    """Post a recurring poll's next instance and schedule the one after."""
    series = await stored.lock_series(context.session, int(job.payload["series"]))
    at = datetime.fromisoformat(job.payload["at"])
    if series is None or not series.active or series.next_at != at:
        return  # stopped, or superseded
    community = await context.session.get(Community, series.community_id)
    assert community is not None, "a series goes with its community"
    for earlier in await stored.open_in_series(context.session, series.id):
        if earlier.closes_at is None:  # open until the next one is posted: that is now
            locked = await stored.lock_poll(context.session, earlier.id)
            if locked is not None:
                await close(context, community, locked)
    await _post_new(
        context,
        community,
        series.creator_id,
        series,
        series_id=series.id,
        close_after=series.close_after,
    )
    following = parse_rule(series.schedule).next_after(max(at, context.now()), community.timezone)
    series.next_at = following
    await _schedule_occurrence(context, community, series, following)


async def _post_new(
    context: Context,
    community: Community,
    creator_id: int | None,
    source: PollSpec | PollSeries,
    **extra: Any,
) -> Poll:
    """A new poll from a command's spec or a recurring series, posted in the community."""
    poll = Poll(
        community_id=community.id,
        creator_id=creator_id,
        kind="poll",
        question=source.question,
        options=list(source.options),
        questions=[],
        multi=source.multi,
        anonymous=source.anonymous,
        hidden=source.hidden,
        status=stored.DRAFT,
        created_at=context.now(),
        **extra,
    )
    context.session.add(poll)
    await open_poll(context, community, poll)
    return poll


async def stop_command(context: Context, args: Args) -> None:
    community = await context.require_community()
    problem = f"Name a recurring poll of {typed(community.name)}, like `R1`."
    series = await stored.lock_series(context.session, args.one_number(problem, prefix="R"))
    if series is None or series.community_id != community.id:
        raise UsageError(f"Name a recurring poll of {typed(community.name)}, like `R1`.")
    if not series.active:
        raise CommandError(f"Recurring poll R{series.id} is already stopped.")
    if series.next_at is not None:
        await jobs.cancel(context, f"poll-series:{series.id}:{series.next_at.isoformat()}")
    series.active = False
    series.next_at = None
    context.reply_privately(
        Card(
            f"Recurring poll R{series.id} “{typed(series.question)}” is stopped; no more will be "
            "posted. Any that is open stays open until you close it."
        )
    )


# Listing and exporting


async def list_command(context: Context, args: Args) -> None:
    community = await context.require_community()
    session, zone, now = context.session, community.timezone, context.now()
    lines = []
    for poll in await stored.in_community(session, community.id, stored.OPEN):
        if poll.kind == "survey":
            count = await stored.respondent_count(session, poll.id)
            facts = [f"{count} response{'' if count == 1 else 's'}"]
        else:
            count = await stored.voter_count(session, poll.id)
            facts = [f"{count} {'voter' if poll.multi else 'vote'}{'' if count == 1 else 's'}"]
        if poll.closes_at:
            facts.append(f"closes {format_moment(poll.closes_at, zone, now=now)}")
        lines.append(f"• {label(poll)} “{typed(poll.question)}” — {' · '.join(facts)}")
    blocks = [Section("\n".join(lines))] if lines else []
    drafts = await stored.in_community(session, community.id, stored.DRAFT)
    if drafts and await context.is_facilitator(community, await context.member()):
        listed = "\n".join(f"• {label(p)} “{typed(p.question)}”" for p in drafts)
        blocks.append(
            Section(
                f"Drafts, seen only by facilitators (`{context.prefix} survey post <id>`, "
                f"`survey edit <id>`, `survey delete <id>`):\n{listed}"
            )
        )
    series = await stored.active_series(session, community.id)
    if series:
        listed = "\n".join(
            f"• R{s.id} “{typed(s.question)}” — {parse_rule(s.schedule).describe()}"
            + (f" · next {format_moment(s.next_at, zone, now=now)}" if s.next_at else "")
            for s in series
        )
        blocks.append(Section(f"Recurring:\n{listed}"))
    headline = (
        f"Open in {typed(community.name)}:"
        if lines
        else f"No open polls or surveys in {typed(community.name)}."
    )
    if not blocks:
        blocks.append(
            ContextLine(f'Start one with `{context.prefix} poll "Question" "Option" "Option"`.')
        )
    context.reply_privately(Card(headline, tuple(blocks)))


async def export_command(context: Context, args: Args) -> None:
    """The results as CSV, sent privately: counts (and who, for open polls) or every answer."""
    community = await context.require_community()
    poll = await _managed(context, community, args, locked=False, doing="export")
    if poll.hidden and poll.status != stored.CLOSED:
        raise CommandError(
            f"{label(poll)} hides its results from everyone until it closes; export it then."
        )
    if poll.kind == "survey":
        content = survey_csv(poll, await stored.all_answers(context.session, poll.id))
        name = f"survey-{poll.id}.csv"
    else:
        content = poll_csv(poll, await tally(context, poll, everyone=True))
        name = f"poll-{poll.id}.csv"
    context.send_file(name, content, f"Results of {label(poll).lower()} “{typed(poll.question)}”")


async def _managed(
    context: Context, community: Community, args: Args, *, locked: bool, doing: str = "close"
) -> Poll:
    """The poll or survey named in `args`, if the actor may manage it."""
    poll_id = args.one_number("Give the number of the poll or survey, like `3`.")
    session = context.session
    poll = await (stored.lock_poll(session, poll_id) if locked else session.get(Poll, poll_id))
    if poll is None or poll.community_id != community.id:
        raise CommandError(f"There is no poll or survey #{poll_id} in {typed(community.name)}.")
    member = await context.member()
    if poll.creator_id != member.id and not await context.is_facilitator(community, member):
        raise CommandError(
            f"Only the facilitators of {typed(community.name)} and whoever started {label(poll)} "
            f"can {doing} it."
        )
    return poll


async def community_of(context: Context, poll: Poll) -> Community:
    community = await context.session.get(Community, poll.community_id)
    assert community is not None, "a poll goes with its community"
    return community

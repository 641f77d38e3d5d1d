"""The jobs board: any member posts a job with its link, facilitators (and its poster) remove
it, `/cop jobs` lists the open ones, a closed one disappears by itself (a keyed one-shot at
its closing time deletes it; listings ask for `closes_at` after now anyway), new ones in the
digest."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from hearth.handlers import jobs
from hearth.handlers.cards import Card, ContextLine, Section, typed
from hearth.handlers.commands import Args, CommandError, UsageError
from hearth.handlers.context import Context
from hearth.handlers.jobs import JobDue
from hearth.handlers.links import check_title, check_url, parse_flags
from hearth.handlers.registry import DigestItem, DigestPeriod, DigestSection, Registry
from hearth.handlers.schedules import TimeError, format_moment, parse_duration, parse_moment
from hearth.storage import library as stored
from hearth.storage.models import Community, JobPosting, Member

GROUP = "hot seats, library and jobs"
POST_USAGE = '<url> "title" [--closes 30d]'
DEFAULT_OPEN = timedelta(days=30)
MAX_OPEN = timedelta(days=180)


def register(registry: Registry) -> None:
    registry.command(
        "job post",
        POST_USAGE,
        summary="put a job on the board (closes in 30 days unless said)",
        group=GROUP,
    )(post_command)
    registry.command("jobs", summary="the open jobs on the board", group=GROUP)(list_command)
    registry.command(
        "job remove",
        "<id>",
        summary="take a job off the board (its poster or a facilitator)",
        group=GROUP,
    )(remove_command)
    registry.job("jobs.expire")(expire_job)
    registry.digest_section("jobs.new", order=70)(digest)
    registry.personal("jobs", export=export)


def label(job: JobPosting) -> str:
    return f"J{job.id}"


def describe(context: Context, community: Community, job: JobPosting) -> str:
    closes = format_moment(job.closes_at, community.timezone, now=context.now())
    return f"• {label(job)} *{typed(job.title)}* — {typed(job.url)} · closes {closes}"


async def post_command(context: Context, args: Args) -> None:
    community = await context.require_community()
    plain, flags = parse_flags(args.text, ("--closes",))
    if len(plain) != 2 or plain[0].quoted:
        raise UsageError(
            "Give the link and then the job's title in quotes: `job post "
            'https://example.org/jobs/1 "Delivery lead, London" --closes 30d`.'
        )
    url = check_url(plain[0].text)
    title = check_title(plain[1].text)
    now = context.now()
    closes_at = now + DEFAULT_OPEN
    if "--closes" in flags:
        duration = parse_duration(flags["--closes"])
        try:
            closes_at = (
                now + duration
                if duration is not None
                else parse_moment(flags["--closes"], community.timezone, now)
            )
        except TimeError as error:
            raise UsageError(f"--closes: {error}") from error
        if closes_at <= now:
            raise UsageError("--closes: give a time in the future, like `30d`.")
        if closes_at - now > MAX_OPEN:
            raise UsageError("--closes: a job stays on the board at most 180 days.")
    member = await context.member()
    job = JobPosting(
        community_id=community.id,
        url=url,
        title=title,
        poster_id=member.id,
        created_at=now,
        closes_at=closes_at,
    )
    context.session.add(job)
    await context.session.flush()
    await jobs.schedule(
        context,
        f"job-expire:{job.id}",
        "jobs.expire",
        closes_at,
        {"job": job.id},
        channel=community.channel,
    )
    context.reply_privately(
        Card(
            f"On the board: {describe(context, community, job)}",
            (ContextLine(f"`{context.prefix} job remove {label(job)}` takes it off sooner."),),
        )
    )


async def list_command(context: Context, args: Args) -> None:
    community = await context.require_community()
    found = await stored.open_jobs(context.session, community.id, context.now())
    hint = ContextLine(f"Post one: `{context.prefix} job post {POST_USAGE}`.")
    if not found:
        context.reply_privately(Card("No open jobs on the board.", (hint,)))
        return
    lines = "\n".join(describe(context, community, j) for j in found)
    context.reply_privately(Card("Open jobs:", (Section(lines), hint)))


async def remove_command(context: Context, args: Args) -> None:
    community = await context.require_community()
    number = args.one_number("Give the number of a job, like `J3` or `3`.", prefix="J")
    job = await context.session.get(JobPosting, number)
    if job is None or job.community_id != community.id or job.closes_at <= context.now():
        raise CommandError(f"There is no open job J{number} on the board.")
    member = await context.member()
    if job.poster_id != member.id and not await context.is_facilitator(community, member):
        raise CommandError("Only whoever posted a job and the facilitators can remove it.")
    await jobs.cancel(context, f"job-expire:{job.id}")
    await context.session.delete(job)
    context.reply_privately(Card(f"Removed from the board: {label(job)} *{typed(job.title)}*."))


async def expire_job(context: Context, job: JobDue) -> None:
    """A job's closing time came: it leaves the board (and the database)."""
    found = await context.session.get(JobPosting, int(job.payload["job"]))
    if found is not None and found.closes_at <= context.now():
        await context.session.delete(found)


async def digest(context: Context, period: DigestPeriod) -> DigestSection | None:
    """Jobs posted in the period and still open."""
    new = await stored.jobs_posted_between(
        context.session, period.community_id, period.start, period.end
    )
    if not new:
        return None
    items = tuple(DigestItem(f"*{typed(j.title)}* — {typed(j.url)}", j.url) for j in new)
    return DigestSection("New on the jobs board", items)


async def export(context: Context, member: Member) -> list[dict[str, str]]:
    """my-data: the jobs the member posted that are still on the board."""
    found = await context.session.scalars(
        select(JobPosting).where(JobPosting.poster_id == member.id)
    )
    return [{"url": j.url, "title": j.title, "closes_at": j.closes_at.isoformat()} for j in found]

"""Members in control: `/cop settings` (a form), the Home view, `/cop optout` and `/cop optin`,
`/cop away until <date>` and `/cop back`.

What a member chooses here is stored at once and read by `policy.check` whenever Hearth is about
to send them something, so it takes effect everywhere, for messages already queued too.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import delete, select, update

from hearth.handlers import policy, welcome, zones
from hearth.handlers.cards import (
    Actions,
    Block,
    Button,
    Card,
    ContextLine,
    Field,
    Form,
    Section,
    typed,
)
from hearth.handlers.commands import Args, CommandError, UsageError
from hearth.handlers.context import Context
from hearth.handlers.events import ActionClicked, FormSubmitted, HomeOpened
from hearth.handlers.expertise.commands import sync_interests
from hearth.handlers.forms import YES, read
from hearth.handlers.hours import HoursError, next_allowed, parse_hours
from hearth.handlers.registry import Registry
from hearth.handlers.schedules import TimeError, format_moment, parse_moment
from hearth.storage import outbox
from hearth.storage.models import (
    Community,
    ForgottenMember,
    Member,
    MemberSettings,
    Membership,
    OutboxMessage,
)

FORM = "member.settings"
TITLE = "Your Hearth settings"
SHORT_NAMES = {
    "nudges": "nudges",
    "expert_requests": "expert requests",
    "reminders": "reminders",
}
DIGEST = "digests"
"""The one preference shown as the digest setting (off or how often), not as a yes/no."""


def register(registry: Registry) -> None:
    group = "members and privacy"
    registry.command(
        "settings",
        summary="choose what Hearth sends you, and when",
        needs_community=False,
        group=group,
    )(open_settings)
    registry.command(
        "optout",
        summary="stop every message Hearth starts on its own",
        needs_community=False,
        group=group,
    )(opt_out)
    registry.command(
        "optin", summary="let Hearth message you again", needs_community=False, group=group
    )(opt_in)
    registry.command(
        "away",
        "until <date>",
        summary="no requests for help until a date (like until 2026-12-20)",
        needs_community=False,
        group=group,
    )(away)
    registry.command(
        "back", summary="take requests for help again", needs_community=False, group=group
    )(back)
    registry.form(FORM)(save)
    registry.action("settings.open")(open_clicked)
    registry.action("settings.pause")(pause_clicked)
    registry.action("settings.resume")(resume_clicked)
    registry.on(HomeOpened)(on_home_opened)


async def current(context: Context, member: Member) -> policy.Choices:
    """The member's settings with the defaults filled in (an away time that has passed: none)."""
    stored = await context.session.get(MemberSettings, member.id)
    chosen = policy.choices(member, stored, await policy.fallback_zone(context.session, member))
    if chosen.away_until is not None and not chosen.away(context.now()):
        return replace(chosen, away_until=None)
    return chosen


async def settings_form(context: Context, member: Member) -> Form:
    """The settings form, filled in with what the member has now."""
    chosen = await current(context, member)
    segments, interests = await _offered(context, member)
    fields = [
        Field(
            "pause",
            "Pause every message Hearth starts on its own",
            "yesno",
            required=False,
            initial=_yes_no(chosen.paused),
        ),
        *(
            Field(p.name, p.label, "yesno", required=False, initial=_yes_no(chosen.dms[p.name]))
            for p in policy.PREFERENCES
            if p.name != DIGEST
        ),
        Field(
            "timezone", "Your time zone (like Europe/London)", required=False, initial=chosen.zone
        ),
        Field(
            "working_hours",
            "Working hours, for nudges and requests (like Mon-Fri 09:00-17:30; empty: any time)",
            required=False,
            initial=str(chosen.working or ""),
        ),
        Field(
            "quiet_hours",
            "Quiet hours, when Hearth sends you nothing (like 21:00-08:00; empty: none)",
            required=False,
            initial=str(chosen.quiet or ""),
        ),
        Field(
            "digest",
            "The community digest by direct message: how often (or off)",
            "choice",
            policy.DIGEST_FREQUENCIES,
            required=False,
            initial=digest(chosen),
        ),
        Field(
            "away_until",
            "Away until: no requests to help with questions before then "
            "(like 2026-12-20; empty: not away)",
            required=False,
            initial=_away_text(chosen),
        ),
    ]
    if segments:
        fields.append(
            Field(
                "segment",
                "Your group",
                "choice",
                segments,
                required=False,
                initial=member.segment or "",
            )
        )
    if interests:
        fields.append(
            Field(
                "interests",
                "Your interests",
                "choices",
                interests,
                required=False,
                initial=tuple(i for i in member.interests if i in interests),
            )
        )
    return Form(TITLE, FORM, tuple(fields), submit_label="Save")


async def _offered(context: Context, member: Member) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The groups and interests of the member's communities (and what they chose already)."""
    communities = await context.session.scalars(
        select(Community)
        .join(Membership, Membership.community_id == Community.id)
        .where(Membership.member_id == member.id, Membership.left_at.is_(None))
        .order_by(Community.id)
    )
    segments: dict[str, None] = {}
    interests: dict[str, None] = {}
    for community in communities:
        segments.update(dict.fromkeys(community.segments))
        interests.update(dict.fromkeys(community.interests))
    if member.segment:
        segments.setdefault(member.segment)
    interests.update(dict.fromkeys(member.interests))
    return tuple(segments), tuple(interests)


async def open_settings(context: Context, args: Args) -> None:
    context.open_form(await settings_form(context, await context.member()))


async def open_clicked(context: Context, event: ActionClicked) -> None:
    context.open_form(await settings_form(context, await context.member()))


async def save(context: Context, event: FormSubmitted) -> None:
    """Store what was submitted; a field left out of the submission keeps its value."""
    member = await context.member()
    form = await settings_form(context, member)
    before = {f.name: list(f.initial) if f.kind == "choices" else f.initial for f in form.fields}
    values = read(form, before | event.values)
    stored = await _stored(context, member)
    try:
        _apply(member, stored, form, values)
        chosen = policy.choices(member, stored, await policy.fallback_zone(context.session, member))
        _apply_away(stored, form, values, chosen.zone, context.now())
    except (HoursError, TimeError) as error:
        raise CommandError(f"{TITLE}: {error}") from error
    chosen = await current(context, member)
    if (
        chosen.working
        and next_allowed(context.now(), chosen.zone, quiet=chosen.quiet, working=chosen.working)
        is None
    ):
        raise CommandError(
            f"{TITLE}: your quiet hours cover all your working hours, so Hearth could never "
            "reach you; change one of them."
        )
    stored.updated_at = context.now()
    await sync_interests(context.session, member, context.now())  # they seed expertise
    if not member.unsolicited_dms_off:
        await _welcome_back(context, member)
    await _reconsider(context, member)
    await welcome.refresh_posts_naming(context, member)
    if event.channel:
        context.reply_privately(Card("Saved. Your settings now:", _summary(member, chosen)))
    else:  # submitted from the Home view: show it again, up to date
        context.show_home(home_card(member, chosen))


def _apply(
    member: Member,
    stored: MemberSettings,
    form: Form,
    values: dict[str, str | list[str] | bool],
) -> None:
    initial = {f.name: f.initial for f in form.fields}
    member.unsolicited_dms_off = bool(values["pause"])
    frequency = str(values["digest"]) or "off"  # the DM digest is for those who ask
    wanted = {
        p.name: frequency != "off" if p.name == DIGEST else bool(values[p.name])
        for p in policy.PREFERENCES
    }
    stored.dms = {p.name: wanted[p.name] for p in policy.PREFERENCES if wanted[p.name] != p.default}
    zone = str(values["timezone"])
    if zone != initial["timezone"]:
        try:
            zone = zones.resolve(zone) if zone else ""
        except zones.ZoneError as error:
            raise HoursError(str(error)) from error
        stored.tz = zone if zone and zone != member.tz else None
    working = str(values["working_hours"])
    if working != initial["working_hours"]:
        hours = parse_hours(working)
        stored.working_hours = str(hours) if hours else None
    quiet = str(values["quiet_hours"])
    if quiet != initial["quiet_hours"]:
        hours = parse_hours(quiet)
        stored.quiet_hours = str(hours) if hours else ""
    stored.digest_frequency = (
        None if frequency in ("off", policy.DEFAULT_DIGEST_FREQUENCY) else frequency
    )
    if "segment" in values:
        member.segment = str(values["segment"]) or None
    if "interests" in values:
        chosen = values["interests"]
        member.interests = list(chosen) if isinstance(chosen, list) else []


def _away_text(chosen: policy.Choices) -> str:
    """The away time as the form shows it (and `parse_moment` reads it back): local, to the
    minute."""
    if chosen.away_until is None:
        return ""
    return chosen.away_until.astimezone(ZoneInfo(chosen.zone)).strftime("%Y-%m-%d %H:%M")


def _apply_away(
    stored: MemberSettings,
    form: Form,
    values: dict[str, str | list[str] | bool],
    zone: str,
    now: datetime,
) -> None:
    initial = {f.name: f.initial for f in form.fields}
    text = str(values["away_until"]).strip()
    if text != initial["away_until"]:
        stored.away_until = parse_moment(text, zone, now) if text else None


async def _stored(context: Context, member: Member) -> MemberSettings:
    stored = await context.session.get(MemberSettings, member.id)
    if stored is None:
        stored = MemberSettings(member_id=member.id, dms={}, updated_at=context.now())
        context.session.add(stored)
    return stored


async def opt_out(context: Context, args: Args) -> None:
    member = await context.member()
    member.unsolicited_dms_off = True
    await welcome.refresh_posts_naming(context, member)
    context.reply_privately(_paused_card(context))


async def opt_in(context: Context, args: Args) -> None:
    member = await context.member()
    was_paused = member.unsolicited_dms_off
    member.unsolicited_dms_off = False
    returning = await _welcome_back(context, member)
    await _reconsider(context, member)
    await welcome.refresh_posts_naming(context, member)
    chosen = await current(context, member)
    if returning:
        headline = "Welcome back: Hearth may message you again, as your settings say."
    elif was_paused:
        headline = "Done: Hearth may message you again, as your settings say."
    else:
        headline = "Nothing to change: Hearth may already message you, as your settings say."
    context.reply_privately(Card(headline, _summary(member, chosen)))


async def away(context: Context, args: Args) -> None:
    """`/cop away until 2026-12-20` (to the end of that day, in the member's zone), or
    `until` a duration or date and time as reminders take them."""
    member = await context.member()
    text = args.text.strip()
    if not text.lower().startswith("until "):
        raise UsageError(f"Say until when, like `{context.prefix} away until 2026-12-20`.")
    zone = (await current(context, member)).zone
    try:
        until = parse_moment(text[len("until ") :], zone, context.now())
    except TimeError as error:
        raise UsageError(str(error)) from error
    stored = await _stored(context, member)
    stored.away_until, stored.updated_at = until, context.now()
    chosen = await current(context, member)
    context.reply_privately(
        Card(
            f"Enjoy the time away: Hearth won't ask you to help with questions until "
            f"{format_moment(until, zone, now=context.now())}. `{context.prefix} back` ends it "
            "sooner.",
            _summary(member, chosen),
        )
    )


async def back(context: Context, args: Args) -> None:
    member = await context.member()
    was_away = (await current(context, member)).away_until is not None
    stored = await context.session.get(MemberSettings, member.id)
    if stored is not None and stored.away_until is not None:
        stored.away_until, stored.updated_at = None, context.now()
    chosen = await current(context, member)
    headline = (
        "Welcome back: Hearth may ask you to help with questions again."
        if was_away
        else "Nothing to change: you were not away."
    )
    context.reply_privately(Card(headline, _summary(member, chosen)))


async def pause_clicked(context: Context, event: ActionClicked) -> None:
    member = await context.member()
    member.unsolicited_dms_off = True
    await welcome.refresh_posts_naming(context, member)
    context.show_home(home_card(member, await current(context, member)))


async def resume_clicked(context: Context, event: ActionClicked) -> None:
    member = await context.member()
    member.unsolicited_dms_off = False
    await _welcome_back(context, member)
    await _reconsider(context, member)
    await welcome.refresh_posts_naming(context, member)
    context.show_home(home_card(member, await current(context, member)))


async def _reconsider(context: Context, member: Member) -> None:
    """DMs held back for the member are looked at again now, under their new settings."""
    result = await context.session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.member_id == member.id,
            OutboxMessage.status == outbox.PENDING,
            OutboxMessage.due_at > context.now(),
            OutboxMessage.last_error.startswith("deferred:"),
        )
        .values(due_at=context.now())
    )
    context.enqueued += result.rowcount  # wake the sender


async def _welcome_back(context: Context, member: Member) -> bool:
    """Someone Hearth forgot who now asks for messages: the note to keep silent goes.
    True when there was one (they really had left Hearth)."""
    key = policy.forgotten_key(
        context.defaults.secret, member.platform, member.workspace, member.user_id
    )
    result = await context.session.execute(
        delete(ForgottenMember).where(ForgottenMember.key == key)
    )
    return bool(result.rowcount)


def _paused_card(context: Context) -> Card:
    return Card(
        "Done: Hearth won't send you anything you didn't ask for.",
        (
            ContextLine(
                f"Answers to your own commands still reach you. `{context.prefix} optin` "
                "lets Hearth message you again."
            ),
        ),
    )


async def on_home_opened(context: Context, event: HomeOpened) -> None:
    member = await context.member()
    context.show_home(home_card(member, await current(context, member)))


def home_card(member: Member, chosen: policy.Choices) -> Card:
    """The Home view: the member's settings and what they can do about them."""
    pause = (
        Button("Resume messages", "settings.resume", style="primary")
        if chosen.paused
        else Button("Pause messages", "settings.pause")
    )
    return Card(
        TITLE,
        (
            *_summary(member, chosen),
            Actions(
                (
                    Button("Edit settings", "settings.open", style="primary"),
                    pause,
                    Button("Send me my data", "privacy.export"),
                    Button("Forget me…", "privacy.ask", style="danger"),
                )
            ),
            ContextLine(
                "Hearth only messages you as these settings say. Facilitators never see your "
                "direct messages, and see opted-out members only as a count."
            ),
        ),
    )


def _summary(member: Member, chosen: policy.Choices) -> tuple[Block, ...]:
    dms = " · ".join(
        f"{SHORT_NAMES.get(p.name, p.name)} {'on' if chosen.dms[p.name] else 'off'}"
        for p in policy.PREFERENCES
        if p.name != DIGEST
    )
    lines = [
        "Messages Hearth starts on its own: "
        + ("paused (only answers to what you ask)" if chosen.paused else "on"),
        f"Direct messages: {dms}",
        f"Time zone: {typed(chosen.zone)}" + (" (your choice)" if chosen.zone_is_own else ""),
        f"Working hours: {typed(str(chosen.working)) if chosen.working else 'any time'}",
        f"Quiet hours: {typed(str(chosen.quiet)) if chosen.quiet else 'none'}",
        f"Community digest by DM: {digest(chosen)}",
        f"Group: {typed(member.segment) if member.segment else 'not chosen'}",
        f"Interests: {', '.join(map(typed, member.interests)) or 'none chosen'}",
    ]
    if chosen.away_until is not None:
        until = format_moment(chosen.away_until, chosen.zone)
        lines.append(f"Away: until {until} (no requests for help before then)")
    return (Section("\n".join(lines)),)


def digest(chosen: policy.Choices) -> str:
    """The one digest setting: `off`, or how often it comes by DM."""
    return chosen.digest if chosen.dms.get(DIGEST, True) else "off"


def _yes_no(value: bool) -> str:
    return YES if value else "no"

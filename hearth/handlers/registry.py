"""The registry: each feature's `register(registry)` adds its commands, actions and listeners."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from hearth.handlers.events import ActionClicked, Event, FormSubmitted
from hearth.handlers.policy import Kind
from hearth.scheduler.declarations import Applies, Recurring, Scope

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from hearth.handlers.commands import Args
    from hearth.handlers.context import Context
    from hearth.storage.models import Community, Member

GROUPS = (
    "community",
    "welcome",
    "polls and surveys",
    "questions and experts",
    "community rhythm",
    "hot seats, library and jobs",
    "members and privacy",
)
"""The headings of `/cop help`, in order."""

CommandHandler = Callable[["Context", "Args"], Awaitable[None]]
ActionHandler = Callable[["Context", ActionClicked], Awaitable[None]]
FormHandler = Callable[["Context", FormSubmitted], Awaitable[None]]
EventHandler = Callable[["Context", Any], Awaitable[None]]
JobHandler = Callable[["Context", Any], Awaitable[None]]
ExportHandler = Callable[["Context", "Member"], Awaitable[Any]]
ForgetHandler = Callable[["Context", "Member"], Awaitable[None]]
HighlightProvider = Callable[["Context", int, datetime], Awaitable[str | None]]
"""(context, community id, now) → one short line of what is on now (the month's theme, a hot
seat running), already safe card text; None when there is nothing."""
FirstResponders = Callable[["Context", int, datetime], Awaitable[list[int]]]
"""(context, community id, now) → member ids to ask first about a new question (a hot seat's
expert while it runs), before the router's own picks."""
DigestProvider = Callable[["Context", "DigestPeriod"], Awaitable["DigestSection | None"]]
Preloader = Callable[["AsyncSession", list["Arrival"]], Awaitable[None]]
"""(session, a batch's arrivals) → load what the batch's listeners will read into the session, a
query for the whole batch, so that each event's listeners find it there without a statement."""


@dataclass(frozen=True)
class Arrival:
    """One event of a batch about to be handled in a community that is set up."""

    event: Event
    community: Community
    member: Member | None
    """None for someone Hearth has not met yet."""


@dataclass(frozen=True)
class DigestPeriod:
    """The window a digest covers, in UTC: [start, end)."""

    community_id: int
    start: datetime
    end: datetime


@dataclass(frozen=True)
class DigestItem:
    """One line of a digest section: safe card text (member text through `typed`), an optional
    link to the message or page it is about."""

    text: str
    link: str | None = None


@dataclass(frozen=True)
class DigestSection:
    """What one feature contributes to a digest; None (or no items) contributes nothing."""

    title: str
    items: tuple[DigestItem, ...]
    news: bool = True
    """False for context that alone is no reason to post a digest (this month's theme, what is
    coming up, questions still waiting): a period with only such sections posts nothing."""


@dataclass(frozen=True)
class Command:
    """A `/cop` subcommand: `name` may be several words ("facilitator add")."""

    name: str
    args: str
    summary: str
    run: CommandHandler
    facilitator_only: bool = False
    needs_community: bool = True
    audited: bool = False
    """Recorded in the community's audit log when it succeeds (see handlers/audit.py)."""
    group: str = ""
    """Where `help` lists it: one of GROUPS."""

    @property
    def usage(self) -> str:
        return f"{self.name} {self.args}".strip()


@dataclass(frozen=True)
class PersonalData:
    """What one feature stores about a member: `export` returns it (JSON-ready) for my-data,
    `forget` erases it for forget-me (see handlers/privacy.py)."""

    name: str
    export: ExportHandler | None = None
    forget: ForgetHandler | None = None


@dataclass
class Registry:
    """Commands by name, actions and forms by id, listeners by event type, one-shot jobs by kind,
    recurring jobs by name."""

    commands: dict[str, Command] = field(default_factory=dict)
    actions: dict[str, ActionHandler] = field(default_factory=dict)
    listeners: dict[type[Event], list[EventHandler]] = field(default_factory=dict)
    forms: dict[str, FormHandler] = field(default_factory=dict)
    jobs: dict[str, JobHandler] = field(default_factory=dict)
    recurring: dict[str, Recurring] = field(default_factory=dict)
    on_scheduled: list[Callable[[datetime], None]] = field(default_factory=list)
    """Told the due time of each one-shot scheduled here (the scheduler wakes up for it)."""
    personal_data: dict[str, PersonalData] = field(default_factory=dict)
    highlights: dict[str, HighlightProvider] = field(default_factory=dict)
    digest_sections: dict[str, tuple[int, DigestProvider]] = field(default_factory=dict)
    """Name → (order, provider): the digest shows sections by ascending order."""
    first_responders: dict[str, FirstResponders] = field(default_factory=dict)
    preloaders: list[Preloader] = field(default_factory=list)
    outbox_kinds: dict[str, Kind] = field(default_factory=dict)
    """What each kind of message Hearth starts is, for the send policy (see `sends`)."""

    def command(
        self,
        name: str,
        args: str = "",
        *,
        summary: str,
        facilitator_only: bool = False,
        needs_community: bool = True,
        audited: bool | None = None,
        group: str = "community",
    ) -> Callable[[CommandHandler], CommandHandler]:
        """Register a subcommand, listed by `help` under `group` (one of GROUPS).
        Facilitator-only commands are audited unless `audited=False` (for those that only
        show something)."""

        def decorate(run: CommandHandler) -> CommandHandler:
            if name in self.commands:
                raise ValueError(f"command {name!r} registered twice")
            if group not in GROUPS:
                raise ValueError(f"command {name!r}: unknown help group {group!r}")
            logged = facilitator_only if audited is None else audited
            self.commands[name] = Command(
                name, args, summary, run, facilitator_only, needs_community, logged, group
            )
            return run

        return decorate

    def action(self, action_id: str) -> Callable[[ActionHandler], ActionHandler]:
        """Register what a button with this action id does."""

        def decorate(run: ActionHandler) -> ActionHandler:
            if action_id in self.actions:
                raise ValueError(f"action {action_id!r} registered twice")
            self.actions[action_id] = run
            return run

        return decorate

    def form(self, form_id: str) -> Callable[[FormHandler], FormHandler]:
        """Register what submitting a form with this id does."""

        def decorate(run: FormHandler) -> FormHandler:
            if form_id in self.forms:
                raise ValueError(f"form {form_id!r} registered twice")
            self.forms[form_id] = run
            return run

        return decorate

    def on(self, event_type: type[Event]) -> Callable[[EventHandler], EventHandler]:
        """Register a listener for an event type."""

        def decorate(run: EventHandler) -> EventHandler:
            self.listeners.setdefault(event_type, []).append(run)
            return run

        return decorate

    def job(self, kind: str) -> Callable[[JobHandler], JobHandler]:
        """Register what a keyed one-shot of this kind does (scheduled with
        `handlers/jobs.schedule`, run once by the scheduler when due)."""

        def decorate(run: JobHandler) -> JobHandler:
            if kind in self.jobs:
                raise ValueError(f"job {kind!r} registered twice")
            self.jobs[kind] = run
            return run

        return decorate

    def every(
        self,
        name: str,
        rule: str,
        *,
        per: Scope = "community",
        applies: Applies | None = None,
        misfire_grace: timedelta | None = timedelta(hours=1),
        coalesce: bool = True,
    ) -> Callable[[JobHandler], JobHandler]:
        """Register recurring work: `rule` in the `--every` grammar ("first monday 10:00"), in
        each community's time zone (see `hearth/scheduler/declarations.py`)."""
        from hearth.scheduler.rules import parse_rule  # it reads the words in handlers/schedules

        parsed = parse_rule(rule)

        def decorate(run: JobHandler) -> JobHandler:
            if name in self.recurring or name in self.jobs:
                raise ValueError(f"job {name!r} registered twice")
            self.recurring[name] = Recurring(
                name, parsed, run, per, applies, misfire_grace, coalesce
            )
            return run

        return decorate

    def personal(
        self,
        name: str,
        *,
        export: ExportHandler | None = None,
        forget: ForgetHandler | None = None,
    ) -> None:
        """Declare what a feature stores about members: a section of my-data (`export`) and
        its part of forget-me (`forget`, run before the member record goes)."""
        if name in self.personal_data:
            raise ValueError(f"personal data {name!r} registered twice")
        self.personal_data[name] = PersonalData(name, export, forget)

    def highlight(self, name: str) -> Callable[[HighlightProvider], HighlightProvider]:
        """Register a "what's on now" line (nudges and welcomes may mention it)."""

        def decorate(run: HighlightProvider) -> HighlightProvider:
            if name in self.highlights:
                raise ValueError(f"highlight {name!r} registered twice")
            self.highlights[name] = run
            return run

        return decorate

    def digest_section(
        self, name: str, *, order: int
    ) -> Callable[[DigestProvider], DigestProvider]:
        """Register a section of the community digest (see DigestPeriod, DigestSection)."""

        def decorate(run: DigestProvider) -> DigestProvider:
            if name in self.digest_sections:
                raise ValueError(f"digest section {name!r} registered twice")
            self.digest_sections[name] = (order, run)
            return run

        return decorate

    def sends(self, *kinds: Kind) -> None:
        """Declare the kinds of message a feature starts itself (the outbox refuses others);
        two features sending one kind declare it alike."""
        for kind in kinds:
            if self.outbox_kinds.setdefault(kind.name, kind) != kind:
                raise ValueError(f"outbox kind {kind.name!r} declared twice, differently")

    def preload(self, run: Preloader) -> Preloader:
        """Register a preloader: run before each batch of events is handled (see Preloader)."""
        self.preloaders.append(run)
        return run

    def first_responder(self, name: str) -> Callable[[FirstResponders], FirstResponders]:
        """Register who is asked first about new questions (see FirstResponders)."""

        def decorate(run: FirstResponders) -> FirstResponders:
            if name in self.first_responders:
                raise ValueError(f"first responders {name!r} registered twice")
            self.first_responders[name] = run
            return run

        return decorate

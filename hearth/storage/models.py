"""SQLAlchemy 2 typed models: the facts Hearth keeps."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class UTCDateTime(TypeDecorator[datetime]):
    """Stores UTC, always hands back timezone-aware UTC (SQLite keeps no offsets)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(),
        dict[str, Any]: JSON(),
        list[str]: JSON(),
    }


class Community(Base):
    """A channel Hearth facilitates."""

    __tablename__ = "communities"
    __table_args__ = (UniqueConstraint("platform", "workspace", "channel"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    platform: Mapped[str] = mapped_column(String(16))
    workspace: Mapped[str] = mapped_column(String(255))
    channel: Mapped[str] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(255))
    purpose: Mapped[str] = mapped_column(Text, default="")
    timezone: Mapped[str] = mapped_column(String(64))
    welcome_template: Mapped[str | None] = mapped_column(Text)
    segments: Mapped[list[str]]
    interests: Mapped[list[str]]
    created_at: Mapped[datetime]
    retention_days: Mapped[int | None]
    """Days the text of its messages is kept (None: the server's HEARTH_MESSAGE_RETENTION_DAYS;
    the shorter of the two applies)."""


class Member(Base):
    """A person (or bot) in a workspace, created on first sight."""

    __tablename__ = "members"
    __table_args__ = (UniqueConstraint("platform", "workspace", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    platform: Mapped[str] = mapped_column(String(16))
    workspace: Mapped[str] = mapped_column(String(255))
    user_id: Mapped[str] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(255))
    tz: Mapped[str | None] = mapped_column(String(64))
    is_bot: Mapped[bool] = mapped_column(default=False)
    deactivated: Mapped[bool] = mapped_column(default=False)
    unsolicited_dms_off: Mapped[bool] = mapped_column(default=False)
    segment: Mapped[str | None] = mapped_column(String(255))
    interests: Mapped[list[str]]
    created_at: Mapped[datetime]


class Facilitator(Base):
    """A member who steers a community."""

    __tablename__ = "facilitators"

    community_id: Mapped[int] = mapped_column(
        ForeignKey("communities.id", ondelete="CASCADE"), primary_key=True
    )
    member_id: Mapped[int] = mapped_column(
        ForeignKey("members.id", ondelete="CASCADE"), primary_key=True
    )
    added_at: Mapped[datetime]


class Membership(Base):
    """A member's time in a community: rejoining does not make them new again."""

    __tablename__ = "memberships"

    community_id: Mapped[int] = mapped_column(
        ForeignKey("communities.id", ondelete="CASCADE"), primary_key=True
    )
    member_id: Mapped[int] = mapped_column(
        ForeignKey("members.id", ondelete="CASCADE"), primary_key=True
    )
    joined_at: Mapped[datetime]
    left_at: Mapped[datetime | None]
    public_welcome_due: Mapped[datetime | None] = mapped_column(index=True)
    """When the channel post that names this newcomer is (or was) due; None if never."""


class Message(Base):
    """A message in a community channel or one of its threads."""

    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint("community_id", "message_id"),
        Index("ix_messages_community_posted", "community_id", "posted_at"),
        Index("ix_messages_member_posted", "member_id", "posted_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id", ondelete="CASCADE"))
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"))
    message_id: Mapped[str] = mapped_column(String(255))
    thread_id: Mapped[str | None] = mapped_column(String(255))
    text: Mapped[str | None] = mapped_column(Text)
    from_bot: Mapped[bool] = mapped_column(default=False)
    posted_at: Mapped[datetime]
    edited_at: Mapped[datetime | None]
    deleted_at: Mapped[datetime | None]
    purged_at: Mapped[datetime | None]
    """When retention removed the text (the row stays, for counts)."""


class InboundEvent(Base):
    """An event delivery already handled: a retry with the same id is dropped."""

    __tablename__ = "inbound_events"

    platform: Mapped[str] = mapped_column(String(16), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    received_at: Mapped[datetime]


class JournalEntry(Base):
    """An acknowledged event not yet handled: stored before the platform hears 200.

    The row is deleted in the transaction that handles the event. `next_attempt_at` is also
    the lease of the process handling it: until then other processes leave it alone. A row
    whose attempts ran out, or that failed for good, stays as a dead letter (`status="dead"`).
    """

    __tablename__ = "event_journal"
    __table_args__ = (Index("ix_event_journal_status_next", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(300), unique=True)
    """`platform:event_id` (a redelivery finds its row), or a fresh key for events without one."""
    platform: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(32))
    event: Mapped[dict[str, Any]]
    """The neutral event, serialised (handlers/event_codec.py)."""
    status: Mapped[str] = mapped_column(String(8), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    last_error: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime]


class OutboxMessage(Base):
    """A bot-initiated message, written with the change that caused it, delivered later once."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_status_due", "status", "due_at"),
        Index("ix_outbox_member_sent", "member_id", "sent_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(255), unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    platform: Mapped[str] = mapped_column(String(16))
    workspace: Mapped[str] = mapped_column(String(255))
    target_kind: Mapped[str] = mapped_column(String(8))
    target_id: Mapped[str] = mapped_column(String(255))
    thread: Mapped[str | None] = mapped_column(String(255))
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"))
    card: Mapped[dict[str, Any]]
    status: Mapped[str] = mapped_column(String(16), default="pending")
    due_at: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    claimed_at: Mapped[datetime | None]
    """When this delivery was first attempted (cleared when the row is queued again)."""
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    """The sender (one per process) holding the lease while the row is `sending`."""
    lease_until: Mapped[datetime | None]
    """Until when that sender holds it; past this another sender may take the row over."""
    failures: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    """Attempts of this delivery that failed (an error, or a sender that never came back);
    past the sender's limit the message is a dead letter. A throttled try is not one."""
    in_doubt: Mapped[bool] = mapped_column(default=False, server_default=false())
    """An earlier attempt of this delivery may have reached the platform (look before resending)."""
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_conversation: Mapped[str | None] = mapped_column(String(255))
    sent_message_id: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]


class OutboxPacing(Base):
    """When the next bot-initiated send into one conversation may go out, shared by every sender
    (so several replicas together keep to the platform's per-conversation pace)."""

    __tablename__ = "outbox_pacing"

    platform: Mapped[str] = mapped_column(String(16), primary_key=True)
    workspace: Mapped[str] = mapped_column(String(255), primary_key=True)
    conversation: Mapped[str] = mapped_column(String(300), primary_key=True)
    next_slot: Mapped[datetime] = mapped_column(index=True)


class DmChannel(Base):
    """A member's direct-message conversation with the bot, remembered once opened."""

    __tablename__ = "dm_channels"

    platform: Mapped[str] = mapped_column(String(16), primary_key=True)
    workspace: Mapped[str] = mapped_column(String(255), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    conversation: Mapped[str] = mapped_column(String(255))
    updated_at: Mapped[datetime]


class ConversationRef(Base):
    """How to reach a platform conversation later, stored as the platform's own JSON.

    Teams keeps a serialised Bot Framework `ConversationReference` per conversation (`key` = the
    conversation id), per member's 1:1 chat (`user:<member id>`) and per member's last-seen
    account (`member:<member id>`); `team` is the Teams team a channel belongs to.
    """

    __tablename__ = "conversation_refs"
    __table_args__ = (
        UniqueConstraint("platform", "workspace", "key"),
        Index("ix_conversation_refs_team", "platform", "workspace", "team"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    platform: Mapped[str] = mapped_column(String(16))
    workspace: Mapped[str] = mapped_column(String(255))
    key: Mapped[str] = mapped_column(String(512))
    team: Mapped[str | None] = mapped_column(String(255))
    reference: Mapped[dict[str, Any]]
    updated_at: Mapped[datetime]


class PollSeries(Base):
    """A recurring poll: a new `Poll` is posted in the community at each occurrence."""

    __tablename__ = "poll_series"

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(
        ForeignKey("communities.id", ondelete="CASCADE"), index=True
    )
    creator_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"))
    question: Mapped[str] = mapped_column(Text)
    options: Mapped[list[str]]
    multi: Mapped[bool] = mapped_column(default=False)
    anonymous: Mapped[bool] = mapped_column(default=False)
    hidden: Mapped[bool] = mapped_column(default=False)
    schedule: Mapped[str] = mapped_column(String(255))
    """The repeat rule as typed (`first monday 10:00`), in the community's time zone."""
    close_after: Mapped[int | None]
    """Seconds each poll stays open; None: until the next one is posted."""
    next_at: Mapped[datetime | None]
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime]


class Poll(Base):
    """A poll (`kind="poll"`, one question with `options`) or a survey (`questions`).

    Votes and answers are rows of their own, counted in SQL. `voter_salt` (random, per poll)
    feeds the voter keys while the poll is open and is erased when it closes; `result` keeps
    the final counts for digests.
    """

    __tablename__ = "polls"
    __table_args__ = (
        Index("ix_polls_community_status", "community_id", "status"),
        Index("ix_polls_community_closed", "community_id", "closed_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id", ondelete="CASCADE"))
    series_id: Mapped[int | None] = mapped_column(
        ForeignKey("poll_series.id", ondelete="SET NULL"), index=True
    )
    creator_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(8))
    question: Mapped[str] = mapped_column(Text)
    """The poll's question, or the survey's title."""
    options: Mapped[list[str]]
    questions: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    """A survey's questions: `{"kind": "text"|"scale"|"choice", "text": …, "options": […]}`."""
    multi: Mapped[bool] = mapped_column(default=False)
    anonymous: Mapped[bool] = mapped_column(default=False)
    hidden: Mapped[bool] = mapped_column(default=False)
    status: Mapped[str] = mapped_column(String(8))
    """`draft` (a survey not yet posted), `open` or `closed`."""
    voter_salt: Mapped[str | None] = mapped_column(String(64))
    close_after: Mapped[int | None]
    """A draft's closing delay in seconds, applied when it is posted."""
    created_at: Mapped[datetime]
    opened_at: Mapped[datetime | None]
    closes_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    result: Mapped[dict[str, Any] | None]


class PollVote(Base):
    """One choice of one voter. `voter` is a keyed hash (see handlers/polls.py); `member_id` is
    kept for open polls only, never for anonymous ones. `slot` is 0 on a one-choice poll, so
    the primary key allows one vote per voter there, and the option on a several-choice poll.
    """

    __tablename__ = "poll_votes"
    __table_args__ = ({"sqlite_with_rowid": False},)  # stored in key order, not arrival order

    poll_id: Mapped[int] = mapped_column(
        ForeignKey("polls.id", ondelete="CASCADE"), primary_key=True
    )
    voter: Mapped[str] = mapped_column(String(64), primary_key=True)
    slot: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    option: Mapped[int] = mapped_column(Integer)
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"))


class SurveyAnswer(Base):
    """One respondent's answer to one survey question (same voter key rule as `PollVote`)."""

    __tablename__ = "survey_answers"
    __table_args__ = ({"sqlite_with_rowid": False},)

    poll_id: Mapped[int] = mapped_column(
        ForeignKey("polls.id", ondelete="CASCADE"), primary_key=True
    )
    voter: Mapped[str] = mapped_column(String(64), primary_key=True)
    question: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    answer: Mapped[str] = mapped_column(Text)
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"))


class DueJob(Base):
    """A durable one-shot (close a poll, post a recurring poll's next instance): run once by
    the scheduler (`hearth/scheduler/`) when due.

    The row is deleted in the same transaction as the work it stands for, so a restart neither
    loses nor repeats it; `key` makes scheduling idempotent. A failed attempt stays, with
    `attempts`, `last_error` and `due_at` moved to the retry; a dead letter has `failed_at`.
    """

    __tablename__ = "due_jobs"
    __table_args__ = (Index("ix_due_jobs_due", "due_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(255), unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    platform: Mapped[str] = mapped_column(String(16))
    workspace: Mapped[str] = mapped_column(String(255))
    channel: Mapped[str] = mapped_column(String(255))
    payload: Mapped[dict[str, Any]]
    due_at: Mapped[datetime]
    created_at: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_error: Mapped[str | None] = mapped_column(Text)
    failed_at: Mapped[datetime | None]


class JobFiring(Base):
    """One firing of a scheduled job, keyed by job and period (its scheduled time, UTC).

    Written in the transaction that does the job's work, so a takeover, a restart or a second
    process never runs a period twice. A failed attempt is kept as `retrying` (with its error and
    when to try again) or, past its attempts or on a permanent error, `dead`.
    """

    __tablename__ = "job_firings"
    __table_args__ = (Index("ix_job_firings_status_retry", "status", "retry_at"),)

    job: Mapped[str] = mapped_column(String(255), primary_key=True)
    period: Mapped[datetime] = mapped_column(primary_key=True)
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    retry_at: Mapped[datetime | None]
    fired_at: Mapped[datetime]


class MemberSettings(Base):
    """A member's own choices about what Hearth sends them and when (no row: the defaults).

    `dms` maps a preference name (see `handlers/policy.PREFERENCES`) to on/off; a name absent
    from it has its default. For the hours and the digest, None means the default and `""`
    (hours only) means none.
    """

    __tablename__ = "member_settings"

    member_id: Mapped[int] = mapped_column(
        ForeignKey("members.id", ondelete="CASCADE"), primary_key=True
    )
    dms: Mapped[dict[str, Any]]
    tz: Mapped[str | None] = mapped_column(String(64))
    """The member's own time zone, overriding what the platform says."""
    working_hours: Mapped[str | None] = mapped_column(String(64))
    quiet_hours: Mapped[str | None] = mapped_column(String(64))
    digest_frequency: Mapped[str | None] = mapped_column(String(16))
    away_until: Mapped[datetime | None]
    """Set by `/cop away until …`: no requests for help before then (None: not away)."""
    updated_at: Mapped[datetime]


class ForgottenMember(Base):
    """Someone who asked Hearth to forget them: only a keyed hash of their platform id, so that
    Hearth can recognise them (and stay silent) without keeping who they are."""

    __tablename__ = "forgotten_members"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)


class AuditEntry(Base):
    """Who changed what in a community, and when (the actor is None once they are forgotten)."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_community_at", "community_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id", ondelete="CASCADE"))
    actor_id: Mapped[int | None] = mapped_column(
        ForeignKey("members.id", ondelete="SET NULL"), index=True
    )
    action: Mapped[str] = mapped_column(String(64))
    detail: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime]


class SeenRequest(Base):
    """A signed Slack request already run, by its signature and timestamp: a replay of it is
    answered and not run again. Rows outlive Slack's 5-minute signing window, then are pruned."""

    __tablename__ = "seen_requests"

    timestamp: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    signature: Mapped[str] = mapped_column(String(128), primary_key=True)


# --- Expertise (issue 11, part A): who knows what, learned incrementally ------------------------


class ExpertCommunity(Base):
    """Per-community totals the ranking needs: questions seen, the answer clock (answers
    recorded so far, the unit recency decays in) and the summed profile term mass."""

    __tablename__ = "expert_communities"

    community_id: Mapped[int] = mapped_column(
        ForeignKey("communities.id", ondelete="CASCADE"), primary_key=True
    )
    questions: Mapped[int] = mapped_column(Integer, default=0)
    answers: Mapped[int] = mapped_column(Integer, default=0)
    term_mass: Mapped[float] = mapped_column(default=0.0)
    profiles: Mapped[int] = mapped_column(Integer, default=0)
    calibrated: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    """Answered questions whose first picks were scored (see ExpertCalibration)."""


class ExpertQuestion(Base):
    """A question seen in a community (by its chat message id), with the terms of its text:
    what a reply to it teaches about the replier. The text itself is not kept here."""

    __tablename__ = "expert_questions"
    __table_args__ = (UniqueConstraint("community_id", "question_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id", ondelete="CASCADE"))
    question_key: Mapped[str] = mapped_column(String(255))
    asker_id: Mapped[int | None] = mapped_column(
        ForeignKey("members.id", ondelete="SET NULL"), index=True
    )
    terms: Mapped[list[str]]
    asked_at: Mapped[datetime]


class ExpertAnswer(Base):
    """Someone (not the asker) replied in a question's thread; `accepted` once the asker
    marked their reply as the answer (or others reacted to it)."""

    __tablename__ = "expert_answers"
    __table_args__ = (
        Index("ix_expert_answers_member", "member_id"),
        Index("ix_expert_answers_covering", "question_id", "member_id", "accepted", "clock"),
    )

    question_id: Mapped[int] = mapped_column(
        ForeignKey("expert_questions.id", ondelete="CASCADE"), primary_key=True
    )
    member_id: Mapped[int] = mapped_column(
        ForeignKey("members.id", ondelete="CASCADE"), primary_key=True
    )
    accepted: Mapped[bool] = mapped_column(default=False)
    answered_at: Mapped[datetime]
    clock: Mapped[int] = mapped_column(Integer, default=0)
    """The community's answer clock when this answer was recorded (for recency)."""


class ExpertQuestionTerm(Base):
    """The inverted index of questions: which questions contain a term (with the question's
    length in terms, and whether the term is among the question's opening terms), so that the
    past questions most like a new one are found by index."""

    __tablename__ = "expert_question_terms"
    __table_args__ = (
        Index(
            "ix_expert_question_terms_covering",
            "community_id",
            "term",
            "question_id",
            "length",
            "opening",
        ),
    )

    community_id: Mapped[int] = mapped_column(
        ForeignKey("communities.id", ondelete="CASCADE"), primary_key=True
    )
    term: Mapped[str] = mapped_column(String(64), primary_key=True)
    question_id: Mapped[int] = mapped_column(
        ForeignKey("expert_questions.id", ondelete="CASCADE"), primary_key=True
    )
    length: Mapped[int] = mapped_column(Integer)
    opening: Mapped[bool] = mapped_column(default=False, server_default=false())


class ExpertPick(Base):
    """Whom the router would ask first about a question under each topic scale (bit i set: in
    the first three under scale i), kept until the question is answered (see ExpertCalibration)."""

    __tablename__ = "expert_picks"
    __table_args__ = (Index("ix_expert_picks_member", "member_id"),)

    question_id: Mapped[int] = mapped_column(
        ForeignKey("expert_questions.id", ondelete="CASCADE"), primary_key=True
    )
    member_id: Mapped[int] = mapped_column(
        ForeignKey("members.id", ondelete="CASCADE"), primary_key=True
    )
    scales: Mapped[int] = mapped_column(Integer)


class ExpertCalibration(Base):
    """Per community and topic scale: how often that scale's first picks held the member whose
    answer was accepted, decayed per answered question (the community's recent record). Routing
    weighs topic against activity by the best scale."""

    __tablename__ = "expert_calibration"

    community_id: Mapped[int] = mapped_column(
        ForeignKey("communities.id", ondelete="CASCADE"), primary_key=True
    )
    scale: Mapped[int] = mapped_column(Integer, primary_key=True)
    score: Mapped[float] = mapped_column(default=0.0)


class ExpertProfile(Base):
    """A member's answering record in a community, updated as replies arrive.

    `activity_key` is log2 of the recency-decayed answer count plus clock/half-life, so that
    it can be compared (and indexed) across members whatever the clock was at their last
    answer: activity now = 2 ** (activity_key - clock_now / half_life).
    """

    __tablename__ = "expert_profiles"
    __table_args__ = (Index("ix_expert_profiles_activity", "community_id", "activity_key"),)

    community_id: Mapped[int] = mapped_column(
        ForeignKey("communities.id", ondelete="CASCADE"), primary_key=True
    )
    member_id: Mapped[int] = mapped_column(
        ForeignKey("members.id", ondelete="CASCADE"), primary_key=True
    )
    answers: Mapped[int] = mapped_column(Integer, default=0)
    accepted: Mapped[int] = mapped_column(Integer, default=0)
    activity_key: Mapped[float] = mapped_column(default=0.0)
    fast_key: Mapped[float] = mapped_column(default=0.0)
    """Like `activity_key`, with a shorter half-life."""
    term_mass: Mapped[float] = mapped_column(default=0.0)
    last_clock: Mapped[int] = mapped_column(Integer, default=0)
    last_answered_at: Mapped[datetime | None]


class ExpertTerm(Base):
    """The inverted index of expertise: how much a term is a member's subject, learned from
    the questions they answered (`weight`, accepted answers counting more) and from topics
    they declared or were assigned (`declared`)."""

    __tablename__ = "expert_terms"
    __table_args__ = (
        Index("ix_expert_terms_member", "member_id"),
        Index(
            "ix_expert_terms_covering", "community_id", "term", "member_id", "weight", "declared"
        ),
    )

    community_id: Mapped[int] = mapped_column(
        ForeignKey("communities.id", ondelete="CASCADE"), primary_key=True
    )
    term: Mapped[str] = mapped_column(String(64), primary_key=True)
    member_id: Mapped[int] = mapped_column(
        ForeignKey("members.id", ondelete="CASCADE"), primary_key=True
    )
    weight: Mapped[float] = mapped_column(default=0.0)
    declared: Mapped[int] = mapped_column(Integer, default=0)


class ExpertTermStat(Base):
    """How many of a community's questions contain a term, and how many open with it (for its
    inverse document frequencies)."""

    __tablename__ = "expert_term_stats"

    community_id: Mapped[int] = mapped_column(
        ForeignKey("communities.id", ondelete="CASCADE"), primary_key=True
    )
    term: Mapped[str] = mapped_column(String(64), primary_key=True)
    questions: Mapped[int] = mapped_column(Integer, default=0)
    openings: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class ExpertTopic(Base):
    """A topic a member knows: declared by them (`source="declared"`, or `"interest"` when it
    came from the welcome's interests) or assigned by a facilitator (`"assigned"`)."""

    __tablename__ = "expert_topics"
    __table_args__ = (Index("ix_expert_topics_member", "member_id"),)

    community_id: Mapped[int] = mapped_column(
        ForeignKey("communities.id", ondelete="CASCADE"), primary_key=True
    )
    member_id: Mapped[int] = mapped_column(
        ForeignKey("members.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    """The topic folded for comparison (lower case, single spaces)."""
    topic: Mapped[str] = mapped_column(String(128))
    source: Mapped[str] = mapped_column(String(16))
    added_by: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"))
    added_at: Mapped[datetime]


# --- Questions (issue 11, part B): questions tracked, routed, answered, kept as knowledge ------


class Question(Base):
    """A question asked in a community: a member's message Hearth noticed, or one Hearth posted
    for them (`/cop ask`, the ask form), then routed, escalated and, once answered, kept.

    An anonymous question has no `asker_id`: only `asker_sealed`, the asker's platform id
    sealed under the server secret (never stored), erased once the question is answered.
    `message_id` is the question's chat message (None until Hearth's own post is delivered).
    """

    __tablename__ = "questions"
    __table_args__ = (
        UniqueConstraint("community_id", "message_id"),
        Index("ix_questions_community_status", "community_id", "status", "asked_at"),
        Index("ix_questions_community_answered", "community_id", "answered_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id", ondelete="CASCADE"))
    message_id: Mapped[str | None] = mapped_column(String(255))
    asker_id: Mapped[int | None] = mapped_column(
        ForeignKey("members.id", ondelete="SET NULL"), index=True
    )
    asker_sealed: Mapped[str | None] = mapped_column(String(255))
    anonymous: Mapped[bool] = mapped_column(default=False)
    text: Mapped[str | None] = mapped_column(Text)
    via: Mapped[str] = mapped_column(String(16))
    """`message` (noticed in the channel), `command` or `form` (posted by Hearth)."""
    status: Mapped[str] = mapped_column(String(16))
    """`open` or `answered`."""
    stage: Mapped[int] = mapped_column(Integer, default=0)
    """0: first experts asked; 1: next experts (after the working-hours wait); 2: facilitators."""
    asked_at: Mapped[datetime]
    first_reply_at: Mapped[datetime | None]
    answered_at: Mapped[datetime | None]
    answerer_id: Mapped[int | None] = mapped_column(
        ForeignKey("members.id", ondelete="SET NULL"), index=True
    )
    answer_message_id: Mapped[str | None] = mapped_column(String(255))


class QuestionRequest(Base):
    """Hearth asked a member to help with a question: `open` until they say I'll answer
    (`taking`) or Not me (`passed`), or the question is answered (`closed`)."""

    __tablename__ = "question_requests"
    __table_args__ = (Index("ix_question_requests_member_status", "member_id", "status"),)

    question_id: Mapped[int] = mapped_column(
        ForeignKey("questions.id", ondelete="CASCADE"), primary_key=True
    )
    member_id: Mapped[int] = mapped_column(
        ForeignKey("members.id", ondelete="CASCADE"), primary_key=True
    )
    stage: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(16))
    asked_at: Mapped[datetime]


class KnowledgeEntry(Base):
    """What the community knows: an answered question (`kind="answer"`: the question, the
    accepted answer, who helped) or a thread a facilitator saved as a lesson (`"lesson"`).

    Searched with the database's own full-text engine: an FTS5 table kept by triggers on
    SQLite, a GIN index over `to_tsvector` on PostgreSQL (migration 0012, SEARCH_OBJECTS).
    """

    __tablename__ = "knowledge"
    __table_args__ = (Index("ix_knowledge_community_created", "community_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(8))
    question_id: Mapped[int | None] = mapped_column(
        ForeignKey("questions.id", ondelete="SET NULL"), unique=True
    )
    title: Mapped[str] = mapped_column(Text)
    """The question, or the lesson's summary."""
    body: Mapped[str] = mapped_column(Text)
    """The accepted answer, or the lesson's thread."""
    helper_id: Mapped[int | None] = mapped_column(
        ForeignKey("members.id", ondelete="SET NULL"), index=True
    )
    """Who answered (for a lesson: who saved it)."""
    thread_id: Mapped[str | None] = mapped_column(String(255))
    link: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]


SEARCH_OBJECTS = (
    "knowledge_fts",
    "ix_knowledge_search",
    "resources_fts",
    "ix_resources_fulltext",
)
"""Full-text search objects the migrations make beside the models (the SQLite FTS5 table and
its shadow tables, the PostgreSQL GIN index): schema comparisons leave names starting so alone."""


# --- lurkers (issue 12): who has posted, the nudges sent, each community's settings ---


class Participation(Base):
    """A member's first and last post (or reply) in a community, kept as messages arrive, so
    the lurker sweep never reads the messages themselves. No row: never posted there."""

    __tablename__ = "participation"

    community_id: Mapped[int] = mapped_column(
        ForeignKey("communities.id", ondelete="CASCADE"), primary_key=True
    )
    member_id: Mapped[int] = mapped_column(
        ForeignKey("members.id", ondelete="CASCADE"), primary_key=True
    )
    first_posted_at: Mapped[datetime]
    last_posted_at: Mapped[datetime]


class Nudge(Base):
    """A nudge to a quiet member: at most two per member and community (`number` 1 or 2). The
    outbox row under `key` is the message itself (sent, deferred, dropped or withdrawn)."""

    __tablename__ = "nudges"
    __table_args__ = (Index("ix_nudges_community_due", "community_id", "due_at"),)

    community_id: Mapped[int] = mapped_column(
        ForeignKey("communities.id", ondelete="CASCADE"), primary_key=True
    )
    member_id: Mapped[int] = mapped_column(
        ForeignKey("members.id", ondelete="CASCADE"), primary_key=True
    )
    number: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    key: Mapped[str] = mapped_column(String(255), unique=True)
    due_at: Mapped[datetime]
    created_at: Mapped[datetime]


class LurkerSettings(Base):
    """A community's lurker settings (no row: the defaults)."""

    __tablename__ = "lurker_settings"

    community_id: Mapped[int] = mapped_column(
        ForeignKey("communities.id", ondelete="CASCADE"), primary_key=True
    )
    days: Mapped[int] = mapped_column(Integer, default=14)
    """A member who joined this many days ago and never posted is a lurker."""
    per_day: Mapped[int] = mapped_column(Integer, default=3)
    """Nudges one daily sweep schedules at most."""
    celebrate: Mapped[bool] = mapped_column(default=True)
    """Reply in the thread of a member's first post."""
    nudge_template: Mapped[str | None] = mapped_column(Text)


Index("ix_memberships_community_joined", Membership.community_id, Membership.joined_at)
"""The lurker sweep reads a community's members longest-standing first, and stops early."""


# --- The community's rhythm (handlers/rhythm): themes, articles, digests, thread counters ---


class Theme(Base):
    """A month's theme in a community: opened on the first working day, prompted mid-month."""

    __tablename__ = "themes"
    __table_args__ = (UniqueConstraint("community_id", "month"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id", ondelete="CASCADE"))
    month: Mapped[str] = mapped_column(String(7))
    """`2027-01`."""
    title: Mapped[str] = mapped_column(String(255))
    blurb: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"))
    created_at: Mapped[datetime]
    opened_at: Mapped[datetime | None]
    prompted_at: Mapped[datetime | None]
    prompt_note: Mapped[str | None] = mapped_column(String(32))
    """What the mid-month job did: `prompted`, `busy` (the channel was already on it)."""


class Article(Base):
    """A suggested, approved, rejected or posted article of the month."""

    __tablename__ = "articles"
    __table_args__ = (Index("ix_articles_community_status", "community_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id", ondelete="CASCADE"))
    url: Mapped[str] = mapped_column(String(2000))
    blurb: Mapped[str] = mapped_column(Text, default="")
    suggested_by: Mapped[int | None] = mapped_column(
        ForeignKey("members.id", ondelete="SET NULL"), index=True
    )
    status: Mapped[str] = mapped_column(String(16))
    """`suggested`, `approved`, `rejected` or `posted`."""
    created_at: Mapped[datetime]
    decided_at: Mapped[datetime | None]
    posted_month: Mapped[str | None] = mapped_column(String(7))
    posted_at: Mapped[datetime | None]


class ThreadActivity(Base):
    """Counters of one thread (or top-level message), kept as messages arrive, so the digest
    ranks threads by reading the period's rows only, never the message history."""

    __tablename__ = "thread_activity"
    __table_args__ = (Index("ix_thread_activity_community_last", "community_id", "last_at"),)

    community_id: Mapped[int] = mapped_column(
        ForeignKey("communities.id", ondelete="CASCADE"), primary_key=True
    )
    thread_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    replies: Mapped[int] = mapped_column(Integer, default=0)
    participants: Mapped[int] = mapped_column(Integer, default=0)
    started_at: Mapped[datetime]
    last_at: Mapped[datetime]


class ThreadParticipant(Base):
    """Who took part in a thread (for its distinct-participant counter)."""

    __tablename__ = "thread_participants"
    __table_args__ = ({"sqlite_with_rowid": False},)

    community_id: Mapped[int] = mapped_column(
        ForeignKey("communities.id", ondelete="CASCADE"), primary_key=True
    )
    thread_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    member_id: Mapped[int] = mapped_column(
        ForeignKey("members.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class DigestCadence(Base):
    """How often a community's digest comes: `segment` "" is the channel's own digest (and
    `newsletter` the monthly newsletter beside it); a segment's row sends its members the
    digest by DM at that cadence."""

    __tablename__ = "digest_cadences"

    community_id: Mapped[int] = mapped_column(
        ForeignKey("communities.id", ondelete="CASCADE"), primary_key=True
    )
    segment: Mapped[str] = mapped_column(String(255), primary_key=True)
    every: Mapped[str] = mapped_column(String(16))
    """`weekly`, `fortnightly`, `monthly` or `off`."""
    newsletter: Mapped[bool] = mapped_column(default=False)
    since: Mapped[datetime]
    """When it was set: fortnights count from here."""


class DigestRun(Base):
    """A digest posted to the channel, and its spike: messages in the 48 hours after it against
    the same 48 hours a week before."""

    __tablename__ = "digest_runs"
    __table_args__ = (
        UniqueConstraint("community_id", "kind", "period_start"),
        Index("ix_digest_runs_community_posted", "community_id", "posted_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    """`weekly`, `fortnightly`, `monthly`, `newsletter` or `now`."""
    period_start: Mapped[datetime]
    period_end: Mapped[datetime]
    posted_at: Mapped[datetime]
    items: Mapped[int] = mapped_column(Integer, default=0)
    after: Mapped[int | None]
    """Messages in the 48 hours after it (None until those hours are over)."""
    before: Mapped[int | None]
    """Messages in the same 48 hours one week earlier."""


# ---------------------------------------------------------------- the library, jobs, hot seats
# (issue 14: the community's library, the jobs board and hot seats)


class LibrarySettings(Base):
    """A community's library choices: the reaction that saves a shared link (None: none)."""

    __tablename__ = "library_settings"

    community_id: Mapped[int] = mapped_column(
        ForeignKey("communities.id", ondelete="CASCADE"), primary_key=True
    )
    save_reaction: Mapped[str | None] = mapped_column(String(64))
    updated_at: Mapped[datetime]


class Resource(Base):
    """A link in the community's library: `suggested` by a member until a facilitator approves
    (`approved`) or rejects it (`rejected`). Searched through the database's full-text engine
    (SQLite: the `resources_fts` FTS5 table kept by triggers; PostgreSQL: a GIN index on
    `resource_document(title, tags, description)`, see migration 0014)."""

    __tablename__ = "resources"
    __table_args__ = (
        UniqueConstraint("community_id", "url"),
        Index("ix_resources_community_status", "community_id", "status", "approved_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id", ondelete="CASCADE"))
    url: Mapped[str] = mapped_column(String(2048))
    title: Mapped[str] = mapped_column(String(300))
    tags: Mapped[str] = mapped_column(String(400), default="")
    """Comma-separated, lower case: `risk,templates`."""
    description: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16))
    added_by: Mapped[int | None] = mapped_column(
        ForeignKey("members.id", ondelete="SET NULL"), index=True
    )
    reviewed_by: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"))
    message_id: Mapped[str | None] = mapped_column(String(255))
    """The channel message it was saved from by a reaction, if any."""
    created_at: Mapped[datetime]
    approved_at: Mapped[datetime | None]


class JobPosting(Base):
    """A job on the board: shown until `closes_at`, then deleted by its `jobs.expire` one-shot."""

    __tablename__ = "job_postings"
    __table_args__ = (
        Index("ix_job_postings_community_closes", "community_id", "closes_at"),
        Index("ix_job_postings_community_created", "community_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id", ondelete="CASCADE"))
    url: Mapped[str] = mapped_column(String(2048))
    title: Mapped[str] = mapped_column(String(300))
    poster_id: Mapped[int | None] = mapped_column(
        ForeignKey("members.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[datetime]
    closes_at: Mapped[datetime]


class HotSeat(Base):
    """An expert in the hot seat for some days: `proposed` (waiting for the expert), `accepted`
    (announced, then running between `starts_at` and `ends_at`), `declined`, `cancelled` or
    `closed` (the summary is posted)."""

    __tablename__ = "hot_seats"
    __table_args__ = (Index("ix_hot_seats_community_status", "community_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id", ondelete="CASCADE"))
    expert_id: Mapped[int | None] = mapped_column(
        ForeignKey("members.id", ondelete="SET NULL"), index=True
    )
    proposer_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"))
    topic: Mapped[str] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(16))
    starts_at: Mapped[datetime]
    """The opening post: 09:00 of the first day in the community's time zone."""
    days: Mapped[int] = mapped_column(Integer)
    ends_at: Mapped[datetime]
    """The closing summary: 17:00 of the last day in the community's time zone."""
    created_at: Mapped[datetime]


class HotSeatQuestion(Base):
    """A question for a hot seat, sent early through its form. An anonymous one keeps no asker:
    `asker_id` is None and nothing else says who asked."""

    __tablename__ = "hot_seat_questions"

    id: Mapped[int] = mapped_column(primary_key=True)
    hot_seat_id: Mapped[int] = mapped_column(
        ForeignKey("hot_seats.id", ondelete="CASCADE"), index=True
    )
    number: Mapped[int] = mapped_column(Integer)
    """Its number within the hot seat (Q1, Q2, …)."""
    asker_id: Mapped[int | None] = mapped_column(
        ForeignKey("members.id", ondelete="SET NULL"), index=True
    )
    text: Mapped[str] = mapped_column(Text)
    question_id: Mapped[int | None] = mapped_column(ForeignKey("questions.id", ondelete="SET NULL"))
    """The tracked question (questions feature) it became when posted: its answers become
    knowledge that `/cop search` finds."""

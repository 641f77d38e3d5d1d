"""Questions: noticed in the channel or asked with `/cop ask` (anonymously, if wanted), routed
to the people likely to answer, escalated so none is left in silence, and kept as knowledge
that `/cop search` finds. See flow.py for a question's life, knowledge.py for what is kept."""

from __future__ import annotations

from datetime import timedelta

from hearth.handlers.events import MessagePosted, ReactionAdded
from hearth.handlers.policy import Kind
from hearth.handlers.questions import flow, knowledge
from hearth.handlers.registry import Registry
from hearth.handlers.retention import has_limit

GROUP = "questions and experts"


def register(registry: Registry) -> None:
    registry.sends(
        Kind("expert_request", dm=True, preference="expert_requests", capped=True, working=True),
        Kind("question_followup", dm=True),  # was your question answered? (asked once)
        Kind("question_thanks", dm=True),  # your answer was accepted
        Kind("question_escalation", dm=True, preference="expert_requests"),  # to facilitators
        Kind("question_answer", dm=True, unsolicited=False, quiet=False),  # to an anonymous asker
        Kind("question_post", dm=False),
        Kind("question_reply", dm=False),
    )
    registry.command(
        "ask",
        flow.ASK_USAGE,
        summary="ask the community a question (Hearth finds people who know; "
        "--anonymous: nobody sees it was you)",
        group=GROUP,
    )(flow.ask_command)
    registry.command(
        "search",
        knowledge.SEARCH_USAGE,
        summary="search the answered questions and lessons learned",
        group=GROUP,
    )(knowledge.search_command)
    registry.command(
        "lesson",
        knowledge.LESSON_USAGE,
        summary="save a thread as a lesson learned, with a short summary",
        facilitator_only=True,
        group=GROUP,
    )(knowledge.lesson_command)
    registry.on(MessagePosted)(flow.on_message)
    registry.preload(flow.preload)
    registry.on(ReactionAdded)(flow.on_reaction)
    registry.action(flow.ASK_FORM)(flow.open_ask_form)
    registry.form(flow.ASK_FORM)(flow.submit_ask_form)
    registry.action("questions.take")(flow.take)
    registry.action("questions.pass")(flow.pass_on)
    registry.action("questions.stop")(flow.stop_requests)
    registry.action("questions.answered")(flow.answered_clicked)
    registry.action("questions.not_yet")(flow.not_yet_clicked)
    registry.job("question.start")(flow.start_job)
    registry.job("question.escalate")(flow.escalate_job)
    registry.job("question.facilitators")(flow.facilitators_job)
    registry.job("question.followup")(flow.followup_job)
    registry.job("question.scrub")(flow.scrub_job)
    registry.every(
        "questions.retention",
        "daily 03:10",
        applies=has_limit,
        misfire_grace=timedelta(hours=20),
    )(knowledge.retention_job)
    registry.digest_section("questions.waiting", order=30)(knowledge.waiting_section)
    registry.digest_section("questions.helpers", order=80)(knowledge.helpers_section)
    registry.personal("questions", export=knowledge.export, forget=knowledge.forget)

"""Learning who knows what as questions and replies arrive, and ranking experts for a question.

`record_*` update a few rows per event (hearth/storage/expertise.py); `rank_experts` reads the
index rows of the question's terms, the most active members and their profiles, and scores
each candidate with the model (model.py). Availability (opt-outs, away, hours, load) is the
caller's to apply on top.
"""

from __future__ import annotations

import math
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from hearth.handlers.cards import typed
from hearth.handlers.expertise import model
from hearth.handlers.expertise.text import terms as text_terms
from hearth.storage import expertise as store

ACTIVE_CANDIDATES = 60
"""Members taken by recent activity alone, whatever the question's words."""
TEXT_CANDIDATES = 100
"""Members taken by how well their learned terms match the question."""
SIMILAR_QUESTIONS = 200
"""Past questions most like the new one whose answerers are considered."""
INDEX_TERMS = 24
"""The question's rarest terms looked up in the index."""
COMMON_SHARE = 0.05
COMMON_MIN = 500
"""Terms in more than this share of questions (and more than COMMON_MIN) are too common to
look up: they say little and their index rows are many."""


@dataclass(frozen=True)
class RankedExpert:
    """A member likely to answer a question well, with why in a few safe words."""

    member_id: int
    score: float
    reason: str


async def record_question(
    session: AsyncSession,
    *,
    community_id: int,
    question_key: str,
    asker_id: int,
    text: str,
    at: datetime,
) -> None:
    """A question was asked: remember its terms (what answering it shows about someone)."""
    await store.add_question(session, community_id, question_key, asker_id, text_terms(text), at)


async def record_reply(
    session: AsyncSession, *, community_id: int, question_key: str, replier_id: int, at: datetime
) -> None:
    """Someone other than the asker replied in the question's thread (repeats count once)."""
    await store.add_answer(
        session,
        community_id,
        question_key,
        replier_id,
        at,
        accepted=False,
        decay=model.DECAY,
        accepted_bonus=model.ACCEPTED_BONUS,
    )


async def record_accepted(
    session: AsyncSession, *, community_id: int, question_key: str, answerer_id: int, at: datetime
) -> None:
    """The asker marked `answerer_id`'s reply as the answer (or others reacted to it)."""
    await store.add_answer(
        session,
        community_id,
        question_key,
        answerer_id,
        at,
        accepted=True,
        decay=model.DECAY,
        accepted_bonus=model.ACCEPTED_BONUS,
    )


@dataclass(frozen=True)
class Candidate:
    member_id: int
    features: tuple[float, ...]
    learned: float
    declared: float


async def candidates(
    session: AsyncSession,
    community_id: int,
    text: str,
    excluded: Collection[int],
    asker_id: int | None = None,
) -> list[Candidate]:
    """Every candidate for a question with its feature vector (the model's input)."""
    words = text_terms(text)
    totals = await store.totals(session, community_id)
    frequencies = await store.term_frequencies(session, community_id, words)
    count = max(totals.questions, 1)
    idf = {
        t: math.log(1.0 + (count - frequencies.get(t, 0) + 0.5) / (frequencies.get(t, 0) + 0.5))
        for t in words
    }
    mass = sum(idf.values()) or 1.0
    common = max(COMMON_SHARE * count, COMMON_MIN)
    looked_up = sorted(  # a term no past question has finds nothing: not looked up
        (t for t in words if 0 < frequencies.get(t, 0) <= common), key=lambda t: -idf[t]
    )[:INDEX_TERMS]
    unseen = [t for t in words if not frequencies.get(t)][: INDEX_TERMS // 2]  # declared only
    learned: dict[int, dict[str, float]] = {}
    declared: dict[int, float] = {}
    for term, member, weight, declared_count in await store.postings(
        session, community_id, [*looked_up, *unseen]
    ):
        if member in excluded:
            continue
        if weight > 0:
            learned.setdefault(member, {})[term] = weight
        if declared_count > 0:
            declared[member] = declared.get(member, 0.0) + idf[term] / mass
    similar = await _similar(session, community_id, looked_up, idf, mass, totals)
    history = await store.answered_for(session, community_id, asker_id) if asker_id else {}
    average = totals.term_mass / max(totals.profiles, 1) or 1.0
    active = await store.most_active(session, community_id, ACTIVE_CANDIDATES, excluded)
    rough = sorted(learned, key=lambda m: -sum(idf[t] for t in learned[m]))[:TEXT_CANDIDATES]
    nearby = [m for m in similar if m not in excluded]
    chosen = list(dict.fromkeys([*active, *rough, *nearby, *declared]))
    found = await store.profiles(session, community_id, chosen, totals.answers, model.DECAY)
    raw: list[tuple[int, tuple[float, ...], float, float]] = []
    for member in chosen:
        profile = found.get(member)
        weights = learned.get(member, {})
        length = profile.term_mass if profile else 0.0
        bm25 = sum(
            idf[t]
            * w
            * (model.BM25_K1 + 1)
            / (w + model.BM25_K1 * (1 - model.PROFILE_B + model.PROFILE_B * length / average))
            for t, w in weights.items()
        )
        coverage = sum(idf[t] for t in weights) / mass
        near, recent = similar.get(member, ([], _NO_RECENT))
        match = model.Match(
            bm25,
            coverage,
            min(declared.get(member, 0.0), 1.0),
            near[0] if near else 0.0,
            sum(near[:3]),
            recent,
            history.get(member, 0),
        )
        raw.append((member, model.features(profile, match), coverage, match.declared))
    vectors = model.normalised([vector for _, vector, _, _ in raw])
    return [
        Candidate(member, vector, coverage, declared)
        for (member, _, coverage, declared), vector in zip(raw, vectors, strict=True)
    ]


_NO_RECENT = (0.0,) * len(model.SIMILAR_HALF_LIVES)


async def _similar(
    session: AsyncSession,
    community_id: int,
    looked_up: list[str],
    idf: dict[str, float],
    mass: float,
    totals: store.Totals,
) -> dict[int, tuple[list[float], tuple[float, ...]]]:
    """Per member who answered one of the past questions most like this one: their
    similarities (BM25 over each question, as a share of the question's idf mass), best
    first, and the same summed with recency decay by the answer clock (one sum per half-life
    of model.SIMILAR_HALF_LIVES)."""
    scores: dict[int, float] = {}
    average = 0.0
    rows = await store.similar_questions(session, community_id, looked_up)
    lengths = {q: n for _, q, n in rows}
    average = sum(lengths.values()) / len(lengths) if lengths else 1.0
    for term, question, length in rows:
        norm = model.BM25_K1 * (1 - model.BM25_B + model.BM25_B * length / average)
        scores[question] = scores.get(question, 0.0) + idf[term] * (model.BM25_K1 + 1) / (1 + norm)
    best = sorted(scores, key=lambda q: -scores[q])[:SIMILAR_QUESTIONS]
    found: dict[int, tuple[list[float], tuple[float, ...]]] = {}
    for question, member, accepted, clock in await store.answers_to(session, best):
        similarity = scores[question] / mass * (1.0 + model.ACCEPTED_SIMILARITY * accepted)
        sims, recent = found.get(member, ([], _NO_RECENT))
        sims.append(similarity)
        age = totals.answers - clock
        found[member] = (
            sims,
            tuple(
                r + similarity * 2.0 ** (-age / h)
                for r, h in zip(recent, model.SIMILAR_HALF_LIVES, strict=True)
            ),
        )
    for sims, _ in found.values():
        sims.sort(reverse=True)
    return found


async def rank_experts(
    session: AsyncSession,
    *,
    community_id: int,
    text: str,
    asker_id: int,
    at: datetime,
    limit: int = 10,
    exclude: Collection[int] = (),
) -> list[RankedExpert]:
    """The members most likely to answer `text` well, best first; never the asker nor `exclude`."""
    excluded = {asker_id, *exclude}
    scored = best(await candidates(session, community_id, text, excluded, asker_id), limit)
    ranked = []
    topic_names = await _topic_names(session, community_id, [c for _, c in scored])
    for value, candidate in scored:
        ranked.append(RankedExpert(candidate.member_id, value, reason(candidate, topic_names)))
    return ranked


def best(generated: list[Candidate], limit: int) -> list[tuple[float, Candidate]]:
    """The `limit` best candidates, with their scores (ties: lower member id): ordered by the
    model, then its top RERANK ordered again by the second stage (fitted where the first three
    places are decided). The second stage only where it was fitted: among more than RERANK
    candidates (a small community's handful is the first stage's to order)."""
    scored = _ordered([(model.score(c.features), c) for c in generated])
    if len(scored) <= model.RERANK:
        return scored[:limit]
    head = [(model.score(c.features, model.RERANK_WEIGHTS), c) for _, c in scored[: model.RERANK]]
    return (_ordered(head) + scored[model.RERANK :])[:limit]


def _ordered(scored: list[tuple[float, Candidate]]) -> list[tuple[float, Candidate]]:
    return sorted(scored, key=lambda pair: (-pair[0], pair[1].member_id))


async def _topic_names(
    session: AsyncSession, community_id: int, chosen: list[Candidate]
) -> dict[int, str]:
    wanted = [c.member_id for c in chosen if c.declared > 0]
    found = await store.topics_of(session, community_id, wanted)
    return {member: topics[0].topic for member, topics in found.items() if topics}


def reason(candidate: Candidate, topic_names: dict[int, str]) -> str:
    """Why this candidate, in a few words safe for a card."""
    if candidate.member_id in topic_names:
        return f"knows {typed(topic_names[candidate.member_id])}"
    answers = round(math.expm1(candidate.features[model.FEATURES.index("answers")]))
    if candidate.learned > 0.15:
        return f"answered questions on this before ({answers} answers in all)"
    if answers:
        plural = "s" if answers != 1 else ""
        return f"answered {answers} question{plural} here, recently active"
    return "knows the community"

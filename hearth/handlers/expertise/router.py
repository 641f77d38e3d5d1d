"""Learning who knows what as questions and replies arrive, and ranking experts for a question.

`record_*` update a few rows per event (hearth/storage/expertise.py); `rank_experts` reads the
index rows of the question's terms, the most active members and their profiles, and scores
each candidate with the model (model.py). Availability (opt-outs, away, hours, load) is the
caller's to apply on top.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property

from sqlalchemy.ext.asyncio import AsyncSession

from hearth.handlers.cards import typed
from hearth.handlers.expertise import model
from hearth.handlers.expertise.text import OPENING_TERMS
from hearth.handlers.expertise.text import terms as text_terms
from hearth.storage import expertise as store

ACTIVE_CANDIDATES = 60
"""Members taken by recent activity alone, whatever the question's words."""
TEXT_CANDIDATES = 100
"""Members taken by how well their learned terms match the question."""
SIMILAR_QUESTIONS = 600
"""Past questions most like the new one whose answers make the similarity features."""
NEARBY_QUESTIONS = 200
"""The most similar past questions whose answerers are candidates."""
INDEX_TERMS = 24
"""The question's rarest terms looked up in the index (and all of its opening terms that are
not too common)."""
BROAD_SHARE = 0.01
BROAD_TERMS = 8
"""The question's opening terms in at least this share of questions (the BROAD_TERMS most
frequent) are its broad subject ("mysql", "budget"): the affinity feature asks who answers on
them more than the community at large does."""
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
    await store.add_question(
        session, community_id, question_key, asker_id, text_terms(text), at, opening=OPENING_TERMS
    )


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
        calibration=model.CALIBRATION,
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
        calibration=model.CALIBRATION,
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
    *,
    at: datetime,
) -> list[Candidate]:
    """Every candidate for a question asked at `at`, with its feature vector (the model's input)."""
    words = text_terms(text)
    totals = await store.totals(session, community_id)
    counts = await store.term_frequencies(session, community_id, words)
    count = max(totals.questions, 1)
    common = max(COMMON_SHARE * count, COMMON_MIN)
    frequencies = {t: counts[t].questions if t in counts else 0 for t in words}
    idf = _idf(frequencies, count)
    mass = sum(idf.values()) or 1.0
    looked_up = _looked_up(frequencies, idf, common)[:INDEX_TERMS]
    opening = words[:OPENING_TERMS]
    opening_frequencies = {t: counts[t].openings if t in counts else 0 for t in opening}
    opening_idf = _idf(opening_frequencies, count)
    unseen = [t for t in words if not frequencies[t]][: INDEX_TERMS // 2]  # declared only
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
    (similar, opening_similar), nearby_members = await _similar(
        session,
        community_id,
        [
            _Query(looked_up, idf, mass, opening=False),
            _Query(
                _looked_up(opening_frequencies, opening_idf, common),
                opening_idf,
                sum(opening_idf.values()) or 1.0,
                opening=True,
            ),
        ],
        totals.answers,
    )
    history = await store.answered_for(session, community_id, asker_id) if asker_id else {}
    average = totals.term_mass / max(totals.profiles, 1) or 1.0
    active = await store.most_active(session, community_id, ACTIVE_CANDIDATES, excluded)
    rough = sorted(learned, key=lambda m: (-sum(idf[t] for t in learned[m]), m))[:TEXT_CANDIDATES]
    nearby = [m for m in sorted(nearby_members) if m not in excluded]
    chosen = list(dict.fromkeys([*active, *rough, *nearby, *declared]))
    found = await store.profiles(session, community_id, chosen, totals.answers, model.DECAY)
    broad = sorted(
        (t for t in opening if frequencies[t] >= BROAD_SHARE * count), key=lambda t: -frequencies[t]
    )[:BROAD_TERMS]
    broad_weights = await store.term_weights(session, community_id, broad, chosen)
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
        near, recent = similar.get(member, _FAR)
        near_opening, recent_opening = opening_similar.get(member, _FAR)
        match = model.Match(
            bm25,
            coverage,
            min(declared.get(member, 0.0), 1.0),
            near[0] if near else 0.0,
            sum(near[:3]),
            recent,
            history.get(member, 0),
            near_opening[0] if near_opening else 0.0,
            sum(near_opening[:3]),
            recent_opening,
            _affinity(member, profile, broad, frequencies, count, broad_weights),
        )
        raw.append((member, model.features(profile, match, at), coverage, match.declared))
    vectors = model.inputs([vector for _, vector, _, _ in raw])
    return [
        Candidate(member, vector, coverage, declared)
        for (member, _, coverage, declared), vector in zip(raw, vectors, strict=True)
    ]


def _affinity(
    member: int,
    profile: store.Profile | None,
    broad: list[str],
    frequencies: dict[str, int],
    count: int,
    weights: dict[tuple[int, str], float],
) -> float:
    """How much more than the community at large the member answered on the question's broad
    terms (mean log-lift): a MySQL hand against a SQL Server one."""
    if not broad:
        return 0.0
    base = profile.answers + model.ACCEPTED_BONUS * profile.accepted if profile else 0.0
    lifts = [
        math.log((weights.get((member, t), 0.0) + 1.0) / (base * frequencies[t] / count + 1.0))
        for t in broad
    ]
    return sum(lifts) / len(lifts)


def _idf(frequencies: dict[str, int], count: int) -> dict[str, float]:
    """BM25's inverse document frequency of each term, by how many of `count` questions have it."""
    return {t: math.log(1.0 + (count - n + 0.5) / (n + 0.5)) for t, n in frequencies.items()}


def _looked_up(frequencies: dict[str, int], idf: dict[str, float], common: float) -> list[str]:
    """The terms worth an index lookup, rarest first: some past question has them (a term none
    has finds nothing) and they are not too common to say anything."""
    return sorted((t for t, n in frequencies.items() if 0 < n <= common), key=lambda t: -idf[t])


_NO_RECENT = (0.0,) * len(model.SIMILAR_HALF_LIVES)
_FAR: tuple[Sequence[float], tuple[float, ...]] = ((), _NO_RECENT)
"""No similar past question answered."""


@dataclass(frozen=True)
class _Query:
    """The terms of a question looked up to find similar past questions, with their weights."""

    terms: list[str]
    idf: dict[str, float]
    mass: float
    opening: bool
    """Match past questions' opening terms only."""


async def _similar(
    session: AsyncSession, community_id: int, queries: list[_Query], clock: int
) -> tuple[list[dict[int, tuple[list[float], tuple[float, ...]]]], set[int]]:
    """For each query, per member who answered one of the SIMILAR_QUESTIONS past questions most
    like it: their similarities (BM25 over each question, as a share of the query's idf mass),
    best first, and the same summed with recency decay by the answer clock (one sum per
    half-life of model.SIMILAR_HALF_LIVES). Also who answered the NEARBY_QUESTIONS most like
    it (candidates). One index read and one answers read for all the queries."""
    wanted = list(dict.fromkeys(t for q in queries for t in q.terms))
    rows = await store.similar_questions(session, community_id, wanted)
    scores = [_scores(rows, q) for q in queries]
    best = [sorted(s, key=lambda q: (-s[q], -q))[:SIMILAR_QUESTIONS] for s in scores]
    answers = [
        (question, member, accepted, [2.0 ** ((at - clock) / h) for h in model.SIMILAR_HALF_LIVES])
        for question, member, accepted, at in await store.answers_to(
            session, list({q for b in best for q in b})
        )
    ]
    nearest = {q for b in best for q in b[:NEARBY_QUESTIONS]}
    nearby = {member for question, member, _, _ in answers if question in nearest}
    found = [
        _answered(answers, set(b), s, q.mass) for q, s, b in zip(queries, scores, best, strict=True)
    ]
    return found, nearby


def _scores(rows: list[tuple[str, int, int, bool]], query: _Query) -> dict[int, float]:
    """BM25 of each past question in `rows` against the query's terms."""
    terms = set(query.terms)
    matching = [r for r in rows if r[0] in terms and (r[3] or not query.opening)]
    lengths = {q: min(n, OPENING_TERMS) if query.opening else n for _, q, n, _ in matching}
    average = sum(lengths.values()) / len(lengths) if lengths else 1.0
    scores: dict[int, float] = {}
    for term, question, _, _ in matching:
        norm = model.BM25_K1 * (1 - model.BM25_B + model.BM25_B * lengths[question] / average)
        scores[question] = scores.get(question, 0.0) + query.idf[term] * (model.BM25_K1 + 1) / (
            1 + norm
        )
    return scores


def _answered(
    answers: list[tuple[int, int, bool, list[float]]],
    best: set[int],
    scores: dict[int, float],
    mass: float,
) -> dict[int, tuple[list[float], tuple[float, ...]]]:
    """Per member, the similarities of the `best` questions they answered and their decayed sums
    (`answers` carry each answer's decay per half-life)."""
    sims: dict[int, list[float]] = {}
    recent: dict[int, list[float]] = {}
    for question, member, accepted, decays in answers:
        if question not in best:
            continue
        similarity = scores[question] / mass * (1.0 + model.ACCEPTED_SIMILARITY * accepted)
        sims.setdefault(member, []).append(similarity)
        sums = recent.setdefault(member, [0.0] * len(decays))
        for i, decay in enumerate(decays):
            sums[i] += similarity * decay
    return {
        member: (sorted(values, reverse=True), tuple(recent[member]))
        for member, values in sims.items()
    }


async def rank_experts(
    session: AsyncSession,
    *,
    community_id: int,
    text: str,
    asker_id: int,
    at: datetime,
    limit: int = 10,
    exclude: Collection[int] = (),
    question_key: str | None = None,
) -> list[RankedExpert]:
    """The members most likely to answer `text` well, best first; never the asker nor `exclude`.
    Topic weighs against activity as the community's calibration says; with the `question_key`
    of a question expertise knows, its first picks under every topic scale are kept for that
    calibration (the first routing of a question only)."""
    excluded = {asker_id, *exclude}
    generated = [
        Scored.of(c)
        for c in await candidates(session, community_id, text, excluded, asker_id, at=at)
    ]
    if question_key is not None:
        await store.remember_picks(session, community_id, question_key, first_picks(generated))
    scale = await store.best_scale(
        session,
        community_id,
        default=model.DEFAULT_SCALE,
        minimum=model.CALIBRATION_MINIMUM,
    )
    scored = ordered(generated, limit, model.TOPIC_SCALES[scale])
    ranked = []
    topic_names = await _topic_names(session, community_id, [c for _, c in scored])
    for value, candidate in scored:
        ranked.append(RankedExpert(candidate.member_id, value, reason(candidate, topic_names)))
    return ranked


@dataclass
class Scored:
    """A candidate with its logits split for topic scaling (model.parts); the second stage's
    only when asked for (it orders the first stage's top RERANK alone)."""

    candidate: Candidate
    first: tuple[float, float]

    @classmethod
    def of(cls, candidate: Candidate) -> Scored:
        return cls(candidate, model.parts(candidate.features))

    @cached_property
    def second(self) -> tuple[float, float]:
        return model.parts(self.candidate.features, model.RERANK_WEIGHTS)


def best(generated: list[Candidate], limit: int) -> list[tuple[float, Candidate]]:
    """The `limit` best candidates under the default topic scale, with their scores."""
    return ordered([Scored.of(c) for c in generated], limit, 1.0)


def ordered(scored: list[Scored], limit: int, scale: float) -> list[tuple[float, Candidate]]:
    """The `limit` best candidates, with their scores (ties: lower member id): ordered by the
    model, then its top RERANK ordered again by the second stage (fitted where the first three
    places are decided). The second stage only where it was fitted: among more than RERANK
    candidates (a small community's handful is the first stage's to order)."""

    def first(s: Scored) -> float:
        return s.first[0] + scale * s.first[1]

    def second(s: Scored) -> float:
        return s.second[0] + scale * s.second[1]

    by_first = sorted(scored, key=lambda s: (-first(s), s.candidate.member_id))
    if len(by_first) <= model.RERANK:
        return [(model.probability(first(s)), s.candidate) for s in by_first[:limit]]
    head = sorted(by_first[: model.RERANK], key=lambda s: (-second(s), s.candidate.member_id))
    return [
        *((model.probability(second(s)), s.candidate) for s in head),
        *((model.probability(first(s)), s.candidate) for s in by_first[model.RERANK :]),
    ][:limit]


def first_picks(scored: list[Scored]) -> dict[int, int]:
    """Member → bit i set when among the first FIRST_PICKS under topic scale i."""
    picks: dict[int, int] = {}
    for i, scale in enumerate(model.TOPIC_SCALES):
        for _, candidate in ordered(scored, model.FIRST_PICKS, scale):
            picks[candidate.member_id] = picks.get(candidate.member_id, 0) | 1 << i
    return picks


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

"""The ranking model: features of (question, candidate) combined by a logistic regression.

The weights below were learned on the validation slices of the development datasets (see
docs/routing.md; `hearth routing-eval --fit` prints them). Features are computed from the
incrementally kept expertise rows only (hearth/storage/expertise.py).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from itertools import groupby

from hearth.storage.expertise import Calibration, Decay, Profile

DECAY = Decay(slow=60.0, fast=12.0)
"""Half-lives of answer activity, in answers recorded in the community."""
ACCEPTED_BONUS = 1.0
"""Extra term weight learned from a question whose accepted answer a member wrote."""
ACCEPTED_SIMILARITY = 0.5
"""How much more a similar past question counts when the candidate's answer was accepted."""
BM25_K1 = 1.2
BM25_B = 0.75
SIMILAR_HALF_LIVES = (30.0, 100.0, 300.0)
"""Half-lives (in answers recorded) of the similarity-times-recency features: per-topic
recency, "answered questions like this one lately"."""
SMALL_SET = 20.0
"""Standardised features count n / (n + SMALL_SET) among n candidates: little among a few."""
NEVER_ANSWERED_DAYS = 365.0
"""Days since the last answer of a candidate who never answered (known by a declared topic)."""
PROFILE_B = 0.3
"""Length normalisation of a member's whole answering record (gentler than a question's:
prolific answerers are not long documents to discount)."""

FEATURES = (
    "activity",
    "fast",
    "answers",
    "accepted",
    "since_last",
    "topic",
    "coverage",
    "declared",
    "similar_max",
    "similar_top3",
    *(f"similar_recent{int(h)}" for h in SIMILAR_HALF_LIVES),
    "asker_history",
    "opening_max",
    "opening_top3",
    *(f"opening_recent{int(h)}" for h in SIMILAR_HALF_LIVES),
    "days_since",
    "affinity",
)
"""The raw features; the model sees each twice: as is and standardised within the question's
candidates (`normalised`), so one weight vector fits communities of any size and pace; and the
RANKED ones a third time, as ranks among the candidates (`inputs`)."""
WEIGHTS = (
    *(0.229, 0.473, -0.063, 0.409, 0.181, 0.453, 0.117, 3.0, -0.357, 1.026, -0.074),
    *(-0.145, -0.624, 0.086, -0.007, 0.77, -0.248, -0.173, 0.337, 1.036, 2.039),
    # the same features standardised within the question's candidates (`normalised`)
    *(0.022, 0.037, 0.155, 0.482, -0.114, -0.357, -0.249, 0.0, -0.029, 0.245, 0.02),
    *(-0.071, 0.054, -0.013, -0.005, -0.005, -0.014, -0.001, 0.049, -1.718, -0.017),
    # -log of the rank among the candidates in each RANKED feature
    *(0.357, 0.063, -0.154, -0.477, -1.013),
)
"""Fitted (listwise, L2 = 1) on the validation slices of the six development datasets pooled;
`declared` never occurs there and is set by hand (3.0: a declared topic weighs about as much as
having answered several similar questions; its standardised twin 0)."""
BIAS = 0.0
RERANK = 30
"""The first stage's top candidates that the second stage (RERANK_WEIGHTS) orders again."""
RERANK_WEIGHTS = (
    *(0.423, 0.714, 0.008, 0.04, 0.348, 0.346, 0.239, 3.0, -0.466, 0.636, -0.021),
    *(-0.299, -0.411, 0.008, 0.024, 0.86, -0.03, -0.367, 0.709, 0.301, 1.698),
    # standardised (within all the question's candidates, as for WEIGHTS)
    *(0.033, 0.008, -0.148, 0.6, -0.292, -0.501, -0.174, 0.0, -0.119, 0.392, 0.024),
    *(-0.074, 0.064, -0.01, -0.055, 0.04, -0.021, 0.015, 0.019, -0.641, 0.021),
    # -log of the rank among the candidates in each RANKED feature
    *(0.256, 0.089, -0.106, -0.335, -0.292),
)
"""The second stage: the same conditional logit, fitted on the validation slices' RERANK best
candidates by WEIGHTS (where the answerer is among them); `declared` set by hand as above."""


MATCHING = frozenset(
    (
        "topic",
        "coverage",
        "similar_max",
        "similar_top3",
        *(f"similar_recent{int(h)}" for h in SIMILAR_HALF_LIVES),
        "asker_history",
        "opening_max",
        "opening_top3",
        *(f"opening_recent{int(h)}" for h in SIMILAR_HALF_LIVES),
        "affinity",
    )
)
"""The features of how a candidate matches this question (what it is about, who asks), as
against how active they are. `declared` is not among them: a declared topic always counts."""
TOPIC_SCALES = (0.25, 0.5, 0.75, 1.0, 1.5, 2.0)
"""Multipliers of the MATCHING weights: in some communities what a question is about decides
who answers, in others who is around. Each community routes with the scale whose first picks
best held the accepted answerers of its recently answered questions (calibration)."""
DEFAULT_SCALE = TOPIC_SCALES.index(1.0)
CALIBRATION = Calibration(scales=len(TOPIC_SCALES), keep=1.0 - 1.0 / 200)
"""Each answered question's weight in the calibration halves after about 140 more."""
CALIBRATION_MINIMUM = 20
"""Answered questions scored before a community's own scale replaces the default."""
FIRST_PICKS = 3
"""How many first picks per scale are scored (a question's first round of requests)."""


@dataclass(frozen=True)
class Match:
    """How a candidate's known terms meet a question's."""

    bm25: float = 0.0
    coverage: float = 0.0
    """Share of the question's idf mass among terms the candidate has answered on."""
    declared: float = 0.0
    """Share of the question's idf mass among terms of the candidate's declared topics."""
    similar_max: float = 0.0
    """Similarity of the most similar past question the candidate answered."""
    similar_top3: float = 0.0
    similar_recent: tuple[float, ...] = (0.0,) * len(SIMILAR_HALF_LIVES)
    """Similarities of the past questions they answered, summed with recency decay (one per
    half-life of SIMILAR_HALF_LIVES)."""
    asker_history: int = 0
    """Questions of this asker the candidate answered before."""
    opening_max: float = 0.0
    """The same as similar_max, between the question's opening terms and past questions'."""
    opening_top3: float = 0.0
    opening_recent: tuple[float, ...] = (0.0,) * len(SIMILAR_HALF_LIVES)
    affinity: float = 0.0
    """How much more than the community at large the candidate answered on the question's
    broad opening terms (mean log-lift)."""


def features(profile: Profile | None, match: Match, at: datetime) -> tuple[float, ...]:
    """The feature vector, in FEATURES order, for a question asked at `at`."""
    days = NEVER_ANSWERED_DAYS
    if profile is None:
        activity = fast = answers = accepted = 0.0
        since = 10.0
    else:
        activity = math.log1p(profile.activity)
        fast = math.log1p(profile.fast)
        answers = math.log1p(profile.answers)
        accepted = math.log1p(profile.accepted)
        since = math.log1p(profile.since_last)
        if profile.last_answered_at is not None:
            days = max((at - profile.last_answered_at).total_seconds(), 0.0) / 86400
    return (
        activity,
        fast,
        answers,
        accepted,
        since,
        math.log1p(match.bm25),
        match.coverage,
        match.declared,
        math.log1p(match.similar_max),
        math.log1p(match.similar_top3),
        *(math.log1p(r) for r in match.similar_recent),
        math.log1p(match.asker_history),
        math.log1p(match.opening_max),
        math.log1p(match.opening_top3),
        *(math.log1p(r) for r in match.opening_recent),
        math.log1p(days),
        match.affinity,
    )


def normalised(vectors: list[tuple[float, ...]]) -> list[tuple[float, ...]]:
    """Each vector followed by its features standardised within `vectors` (one question's
    candidates): how a candidate stands against the others, whatever the community's scale.
    Among a handful of candidates the standardised features are shrunk (SMALL_SET), so that a
    tiny difference is not blown up to a whole standard deviation."""
    if not vectors:
        return []
    columns = list(zip(*vectors, strict=True))
    means = [sum(column) / len(vectors) for column in columns]
    shrink = len(vectors) / (len(vectors) + SMALL_SET)
    deviations = [
        (math.sqrt(sum((x - m) ** 2 for x in column) / len(vectors)) + 1e-6) / shrink
        for column, m in zip(columns, means, strict=True)
    ]
    return [
        (*v, *((x - m) / d for x, m, d in zip(v, means, deviations, strict=True))) for v in vectors
    ]


RANKED = ("activity", "fast", "answers", "accepted", "since_last")
"""The activity features also given as ranks among the question's candidates (`inputs`);
`days_since` ranks them as `since_last` does (both by the time of their last answer)."""
_RANKED = tuple(FEATURES.index(name) for name in RANKED)


def ranks(column: list[float]) -> list[float]:
    """Each value's rank in `column`, highest first from 1; ties share their mean rank."""
    result = [0.0] * len(column)
    ahead = 0
    for _, group in groupby(
        sorted(range(len(column)), key=lambda i: -column[i]), column.__getitem__
    ):
        tied = list(group)
        for i in tied:
            result[i] = ahead + (len(tied) + 1) / 2
        ahead += len(tied)
    return result


def inputs(vectors: list[tuple[float, ...]]) -> list[tuple[float, ...]]:
    """The model's input for one question's candidates (raw vectors in FEATURES order): each
    vector `normalised`, then -log of its rank among the candidates in each RANKED feature
    (who leads the others in activity, however far ahead; the log spreads the lead)."""
    columns = [ranks([v[i] for v in vectors]) for i in _RANKED]
    return [
        (*v, *(-math.log(column[k]) for column in columns))
        for k, v in enumerate(normalised(vectors))
    ]


_SCALED = (*(name in MATCHING for name in FEATURES),) * 2 + (False,) * len(RANKED)


def parts(vector: tuple[float, ...], weights: tuple[float, ...] = WEIGHTS) -> tuple[float, float]:
    """The logit split in two, (the rest with the bias, the MATCHING features'), so that it is
    `rest + scale * matching` under a topic scale."""
    rest, matching = BIAS, 0.0
    for w, x, scaled in zip(weights, vector, _SCALED, strict=True):
        if scaled:
            matching += w * x
        else:
            rest += w * x
    return rest, matching


def probability(logit: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, logit))))


def score(
    vector: tuple[float, ...], weights: tuple[float, ...] = WEIGHTS, scale: float = 1.0
) -> float:
    """The logistic regression's probability that this candidate answers well."""
    rest, matching = parts(vector, weights)
    return probability(rest + scale * matching)

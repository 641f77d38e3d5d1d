"""The ranking model: features of (question, candidate) combined by a logistic regression.

The weights below were learned on the validation slices of the development datasets (see
docs/routing.md; `hearth routing-eval --fit` prints them). Features are computed from the
incrementally kept expertise rows only (hearth/storage/expertise.py).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from hearth.storage.expertise import Decay, Profile

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
)
"""The raw features; the model sees each twice: as is and standardised within the question's
candidates (`normalised`), so one weight vector fits communities of any size and pace."""
WEIGHTS = (
    *(0.583, -0.35, 0.149, -0.108, 0.128, 0.721, 0.235, 3.0, 0.124, 0.58, -0.012, -0.353),
    *(-0.411, 0.234),
    # the same features standardised within the question's candidates (`normalised`)
    *(0.385, -0.134, -0.444, 0.397, -1.087, -0.336, -0.35, 0.0, -0.259, 0.639, 0.081, -0.208),
    *(0.198, -0.027),
)
"""Fitted (listwise, L2 = 1) on the validation slices of the six development datasets pooled;
`declared` never occurs there and is set by hand (3.0: a declared topic weighs about as much as
having answered several similar questions; its standardised twin 0)."""
BIAS = 0.0
RERANK = 30
"""The first stage's top candidates that the second stage (RERANK_WEIGHTS) orders again."""
RERANK_WEIGHTS = (
    *(0.837, 0.403, -0.005, -0.048, 0.528, 0.596, 0.368, 3.0, -0.027, 0.536, -0.171, -0.386),
    *(-0.144, 0.264),
    # standardised (within all the question's candidates, as for WEIGHTS)
    *(0.088, 0.058, -0.483, 0.319, -0.806, -0.483, -0.221, 0.0, -0.255, 0.642, 0.066, -0.198),
    *(0.213, -0.035),
)
"""The second stage: the same conditional logit, fitted on the validation slices' RERANK best
candidates by WEIGHTS (where the answerer is among them); `declared` set by hand as above."""


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


def features(profile: Profile | None, match: Match) -> tuple[float, ...]:
    """The feature vector, in FEATURES order."""
    if profile is None:
        activity = fast = answers = accepted = 0.0
        since = 10.0
    else:
        activity = math.log1p(profile.activity)
        fast = math.log1p(profile.fast)
        answers = math.log1p(profile.answers)
        accepted = math.log1p(profile.accepted)
        since = math.log1p(profile.since_last)
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


def score(
    vector: tuple[float, ...], weights: tuple[float, ...] = WEIGHTS, bias: float = BIAS
) -> float:
    """The logistic regression's probability that this candidate answers well."""
    z = bias + sum(w * x for w, x in zip(weights, vector, strict=True))
    return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z))))

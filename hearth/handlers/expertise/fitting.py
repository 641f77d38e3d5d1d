"""Fitting the ranking model's logistic regression (pure Python: a few features, Newton steps).

Used by `hearth routing-eval --fit` on the validation slices; the result is pasted into
model.py as constants, so routing never fits anything at run time.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence

Vector = Sequence[float]
NEGATIVES = 60
"""Negatives sampled per question (all of them when fewer)."""


def examples(
    questions: Sequence[tuple[Sequence[Vector], int]], seed: int = 11
) -> list[tuple[Vector, int]]:
    """Labelled rows: each question's answerer (1) and a sample of the other candidates (0);
    questions whose answerer was not generated teach nothing and are skipped."""
    rng = random.Random(seed)
    rows: list[tuple[Vector, int]] = []
    for vectors, answerer in questions:
        if answerer < 0:
            continue
        others = [v for i, v in enumerate(vectors) if i != answerer]
        if len(others) > NEGATIVES:
            others = rng.sample(others, NEGATIVES)
        rows.append((vectors[answerer], 1))
        rows.extend((v, 0) for v in others)
    return rows


def _solve(matrix: list[list[float]], vector: list[float]) -> list[float]:
    """Gaussian elimination with partial pivoting (the system is small and well-posed)."""
    n = len(vector)
    a = [[*row, vector[i]] for i, row in enumerate(matrix)]
    for col in range(n):
        pivot = max(range(col, n), key=lambda r: abs(a[r][col]))
        a[col], a[pivot] = a[pivot], a[col]
        for r in range(n):
            if r != col and a[col][col]:
                factor = a[r][col] / a[col][col]
                for c in range(col, n + 1):
                    a[r][c] -= factor * a[col][c]
    return [a[i][n] / a[i][i] if a[i][i] else 0.0 for i in range(n)]


def fit(
    rows: Sequence[tuple[Vector, int]], l2: float = 1.0, iterations: int = 30
) -> tuple[list[float], float]:
    """Weights and bias of an L2-regularised logistic regression, by Newton's method."""
    d = len(rows[0][0]) + 1
    w = [0.0] * d
    for _ in range(iterations):
        gradient = [0.0] * d
        hessian = [[0.0] * d for _ in range(d)]
        for features, label in rows:
            x = (*features, 1.0)
            z = sum(wi * xi for wi, xi in zip(w, x, strict=True))
            p = 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z))))
            g, h = p - label, max(p * (1.0 - p), 1e-9)
            for i in range(d):
                gradient[i] += g * x[i]
                hi = h * x[i]
                row = hessian[i]
                for j in range(i, d):
                    row[j] += hi * x[j]
        for i in range(d):
            for j in range(i):
                hessian[i][j] = hessian[j][i]
            if i < d - 1:  # the bias is not regularised
                gradient[i] += l2 * w[i]
                hessian[i][i] += l2
        step = _solve(hessian, gradient)
        w = [wi - si for wi, si in zip(w, step, strict=True)]
        if max(abs(s) for s in step) < 1e-6:
            break
    return w[:-1], w[-1]


def _listwise_loss(
    usable: Sequence[tuple[Sequence[Vector], int]], w: Sequence[float], l2: float
) -> float:
    loss = 0.5 * l2 * sum(wi * wi for wi in w)
    for vectors, answerer in usable:
        scores = [sum(wi * xi for wi, xi in zip(w, x, strict=True)) for x in vectors]
        top = max(scores)
        loss += top + math.log(sum(math.exp(s - top) for s in scores)) - scores[answerer]
    return loss


def fit_listwise(
    questions: Sequence[tuple[Sequence[Vector], int]], l2: float = 1.0, iterations: int = 30
) -> list[float]:
    """Weights of a conditional (multinomial) logistic regression: per question, the answerer
    is chosen among its candidates with probability softmax(w·x); damped Newton steps. No
    bias: it cancels out."""
    usable = [(v, a) for v, a in questions if a >= 0 and len(v) > 1]
    d = len(usable[0][0][0])
    w = [0.0] * d
    loss = _listwise_loss(usable, w, l2)
    for _ in range(iterations):
        gradient = [l2 * wi for wi in w]
        hessian = [[l2 if i == j else 0.0 for j in range(d)] for i in range(d)]
        for vectors, answerer in usable:
            scores = [sum(wi * xi for wi, xi in zip(w, x, strict=True)) for x in vectors]
            top = max(scores)
            weights = [math.exp(s - top) for s in scores]
            total = sum(weights)
            p = [x / total for x in weights]
            mean = [sum(pj * x[i] for pj, x in zip(p, vectors, strict=True)) for i in range(d)]
            chosen = vectors[answerer]
            for i in range(d):
                gradient[i] -= chosen[i] - mean[i]
            for pj, x in zip(p, vectors, strict=True):
                if pj < 1e-6:
                    continue
                for i in range(d):
                    ci = pj * (x[i] - mean[i])
                    row = hessian[i]
                    for j in range(i, d):
                        row[j] += ci * (x[j] - mean[j])
        for i in range(d):
            for j in range(i):
                hessian[i][j] = hessian[j][i]
        step = _solve(hessian, gradient)
        size = 1.0
        while size > 1e-4:
            trial = [wi - size * si for wi, si in zip(w, step, strict=True)]
            trial_loss = _listwise_loss(usable, trial, l2)
            if trial_loss <= loss:
                break
            size /= 2
        else:
            break
        converged = loss - trial_loss < 1e-7
        w, loss = trial, trial_loss
        if converged:
            break
    return w


def fit_two_stage(
    questions: Sequence[tuple[Sequence[Vector], int]], keep: int, l2: float = 1.0
) -> tuple[list[float], list[float]]:
    """A first conditional logit over all candidates, and a second one over each question's
    `keep` best by the first (fitting where the top places are decided)."""
    first = fit_listwise(questions, l2)
    narrowed = []
    for vectors, answerer in questions:
        scores = [sum(w * x for w, x in zip(first, v, strict=True)) for v in vectors]
        kept = sorted(range(len(vectors)), key=lambda i: (-scores[i], i))[:keep]
        if answerer in kept:
            narrowed.append(([vectors[i] for i in kept], kept.index(answerer)))
    return first, fit_listwise(narrowed, l2)

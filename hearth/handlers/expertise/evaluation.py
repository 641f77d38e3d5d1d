"""`hearth routing-eval`: replay a community Q&A dump through Hearth's storage and router.

A dataset is a Stack Exchange dump folder (Posts.xml, optional Users.xml) or a team2box
folder (Record_All.json as JSON Lines, Q_title.txt, Q_content.txt, Q_tags.txt; no dates, so
post ids give the order). Questions become `record_question`, answers `record_reply`, the
accepted answer `record_accepted`, in time order, into a fresh SQLite database built by the
real migrations; each question of the validation and test slices is ranked before anything
after it is recorded. The two baselines are computed in-process from the same event stream.
"""

from __future__ import annotations

import asyncio
import html
import json
import math
import re
import tempfile
import xml.etree.ElementTree as ElementTree
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert, select

from hearth.handlers.expertise import fitting, model, router
from hearth.handlers.expertise.text import terms as text_terms
from hearth.storage import migrate
from hearth.storage.db import Database
from hearth.storage.models import Community, Member

TEST_SHARE = 0.2
VALIDATION_SHARE = 0.2
HALF_LIVES = (30, 50, 70, 100)
"""Popularity baseline: half-lives (in answers) tried on the validation slice."""
AGGREGATIONS = ("sum", "max", "top3")
ROUTER_DEPTH = 20
"""How many of the router's picks are asked for (ranks beyond count as misses in mrr)."""
BATCH = 250
"""Events recorded per transaction."""
_TAG = re.compile(r"<[^>]+>")
_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


class DatasetError(ValueError):
    """A folder that is neither a Stack Exchange dump nor a team2box folder, or is broken."""


@dataclass(frozen=True)
class Question:
    key: str
    asker: str
    text: str
    at: datetime
    accepted: str | None
    """The accepted answerer's user id, if any."""


@dataclass(frozen=True)
class Answer:
    question: str
    author: str
    at: datetime
    accepted: bool


@dataclass
class Dataset:
    name: str
    events: list[Question | Answer]
    """In time order."""

    @property
    def questions(self) -> list[Question]:
        return [e for e in self.events if isinstance(e, Question)]


# --- reading ----------------------------------------------------------------------------------


def strip_html(body: str) -> str:
    """The text of an HTML fragment (tags out, entities decoded)."""
    return html.unescape(_TAG.sub(" ", body))


def _se_time(value: str) -> datetime:
    return datetime.fromisoformat(value).replace(tzinfo=UTC)


def read_stack_exchange(folder: Path) -> Dataset:
    """A Stack Exchange dump: questions (type 1) and answers (type 2) of Posts.xml."""
    questions: dict[str, dict[str, str]] = {}
    answers: list[dict[str, str]] = []
    try:
        for _, row in ElementTree.iterparse(folder / "Posts.xml"):
            if row.tag != "row":
                continue
            kind = row.get("PostTypeId")
            if kind == "1":
                questions[row.get("Id", "")] = dict(row.attrib)
            elif kind == "2":
                answers.append(dict(row.attrib))
            row.clear()
    except ElementTree.ParseError as error:
        raise DatasetError(f"{folder / 'Posts.xml'}: {error}") from error
    accepted = {q.get("AcceptedAnswerId"): key for key, q in questions.items()}
    events: list[tuple[tuple[datetime, int], Question | Answer]] = []
    owners: dict[str, str] = {}
    for key, q in questions.items():
        asker = q.get("OwnerUserId") or f"deleted-asker-{key}"
        tags = (q.get("Tags") or "").replace("<", " ").replace(">", " ")
        text = f"{q.get('Title', '')}\n{tags}\n{strip_html(q.get('Body', ''))}"
        at = _se_time(q["CreationDate"])
        events.append(((at, int(key)), Question(key, asker, text, at, None)))
    for a in answers:
        owner, parent = a.get("OwnerUserId"), a.get("ParentId", "")
        if not owner or parent not in questions:
            continue
        is_accepted = accepted.get(a.get("Id")) == parent
        if is_accepted:
            owners[parent] = owner
        at = _se_time(a["CreationDate"])
        events.append(((at, int(a["Id"])), Answer(parent, owner, at, is_accepted)))
    events.sort(key=lambda pair: pair[0])
    return Dataset(folder.name, [_with_accepted(e, owners) for _, e in events])


def _with_accepted(event: Question | Answer, owners: dict[str, str]) -> Question | Answer:
    if isinstance(event, Question) and event.key in owners:
        return Question(event.key, event.asker, event.text, event.at, owners[event.key])
    return event


def _lines(path: Path) -> dict[str, str]:
    if not path.exists():
        return {}
    result = {}
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            key, _, text = line.rstrip("\n").partition(" ")
            result[key] = text
    return result


def read_team2box(folder: Path) -> Dataset:
    """A team2box folder: Record_All.json (JSON Lines) and the question text files."""
    titles = _lines(folder / "Q_title.txt")
    contents = _lines(folder / "Q_content.txt")
    tags = _lines(folder / "Q_tags.txt")
    events: list[tuple[int, Question | Answer]] = []
    with (folder / "Record_All.json").open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                key = str(record["QuestionId"])
                accepted_answer = str(record.get("AcceptedAnswerId") or "")
                pairs = [(str(u), str(a)) for u, a in record.get("AnswererAnswerTuples", [])]
                asker = str(record["QuestionOwnerId"])
            except (ValueError, KeyError, TypeError) as error:
                raise DatasetError(f"Record_All.json line {number}: {error}") from error
            text = "\n".join(
                (
                    titles.get(key, ""),
                    tags.get(key, " ".join(record.get("Tags", []))),
                    contents.get(key, ""),
                )
            )
            accepted = next((u for u, a in pairs if a == accepted_answer), None)
            events.append((int(key), Question(key, asker, text, _EPOCH, accepted)))
            for user, answer in pairs:
                events.append((int(answer), Answer(key, user, _EPOCH, answer == accepted_answer)))
    events.sort(key=lambda pair: pair[0])
    timed: list[Question | Answer] = []
    for order, (_, event) in enumerate(events):  # post ids give the order; a minute apart
        at = _EPOCH + timedelta(minutes=order)
        if isinstance(event, Question):
            timed.append(Question(event.key, event.asker, event.text, at, event.accepted))
        else:
            timed.append(Answer(event.question, event.author, at, event.accepted))
    return Dataset(folder.name, timed)


def read_dataset(folder: Path) -> Dataset:
    if (folder / "Posts.xml").exists():
        return read_stack_exchange(folder)
    if (folder / "Record_All.json").exists():
        return read_team2box(folder)
    raise DatasetError(f"{folder}: no Posts.xml (Stack Exchange) or Record_All.json (team2box)")


# --- splits and metrics -----------------------------------------------------------------------


def slices(dataset: Dataset) -> tuple[set[str], set[str]]:
    """(validation, test) question keys: the last 20% of questions with an accepted answer
    are the test set, the 20% before them the validation slice."""
    answered = [q.key for q in dataset.questions if q.accepted is not None]
    n = len(answered)
    test_start = n - round(n * TEST_SHARE)
    validation_start = test_start - round(n * VALIDATION_SHARE)
    return set(answered[validation_start:test_start]), set(answered[test_start:])


@dataclass
class Score:
    """Hit@1, hit@3, reciprocal rank and coverage summed over questions."""

    questions: int = 0
    hit1: float = 0.0
    hit3: float = 0.0
    rr: float = 0.0
    covered: int = 0

    def add(self, ranking: list[str], answerer: str, candidates: set[str] | int) -> None:
        self.questions += 1
        covered = answerer in candidates if isinstance(candidates, set) else bool(candidates)
        self.covered += covered
        if answerer in ranking:
            rank = ranking.index(answerer) + 1
            self.hit1 += rank == 1
            self.hit3 += rank <= 3
            self.rr += 1.0 / rank

    def merged(self, other: Score) -> Score:
        return Score(
            self.questions + other.questions,
            self.hit1 + other.hit1,
            self.hit3 + other.hit3,
            self.rr + other.rr,
            self.covered + other.covered,
        )

    def ratio(self, value: float) -> float:
        return value / self.questions if self.questions else 0.0

    @property
    def hit_at_3(self) -> float:
        return self.ratio(self.hit3)

    def line(self, method: str) -> str:
        return (
            f"{method} questions={self.questions} hit@1={self.ratio(self.hit1):.3f} "
            f"hit@3={self.ratio(self.hit3):.3f} mrr={self.ratio(self.rr):.3f} "
            f"coverage={self.ratio(self.covered):.3f}"
        )


def _ranked(scores: dict[str, float], order: dict[str, int]) -> list[str]:
    """Best first; ties go to whoever answered first (a fixed, score-independent order)."""
    return sorted(scores, key=lambda c: (-scores[c], order[c]))


# --- baselines (in-process, from the same event stream) ---------------------------------------


@dataclass
class Baselines:
    """Popularity with recency decay (per half-life) and BM25 over each candidate's past
    answered questions (per aggregation), all updated as events arrive."""

    answers: int = 0
    keys: dict[int, dict[str, float]] = field(default_factory=lambda: {h: {} for h in HALF_LIVES})
    documents: list[list[str]] = field(default_factory=list)
    """Each past question's terms, by document number."""
    by_key: dict[str, int] = field(default_factory=dict)
    answerers: dict[int, set[str]] = field(default_factory=lambda: defaultdict(set))
    postings: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    frequencies: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    total_length: int = 0

    def question(self, key: str, words: list[str]) -> None:
        number = len(self.documents)
        self.documents.append(words)
        self.by_key[key] = number
        self.total_length += len(words)
        for word in words:
            self.frequencies[word] += 1

    def answer(self, key: str, author: str) -> None:
        number = self.by_key.get(key)
        if number is None or author in self.answerers[number]:
            return
        if not self.answerers[number]:
            for word in self.documents[number]:
                self.postings[word].append(number)
        self.answerers[number].add(author)
        self.answers += 1
        for half_life, keys in self.keys.items():
            now = self.answers / half_life
            before = 2.0 ** (keys[author] - now) if author in keys else 0.0
            keys[author] = math.log2(before + 1.0) + now

    def popularity(self, half_life: int, candidates: Iterable[str]) -> dict[str, float]:
        keys = self.keys[half_life]
        return {c: keys[c] for c in candidates}  # the log-space key orders like the decayed count

    def bm25(self, words: list[str], candidates: set[str]) -> dict[str, dict[str, float]]:
        """Candidate → aggregation → score."""
        n = len(self.documents) or 1
        average = self.total_length / n or 1.0
        per_document: dict[int, float] = defaultdict(float)
        for word in set(words):
            df = self.frequencies.get(word, 0)
            if not df:
                continue
            idf = math.log(1.0 + (n - df + 0.5) / (df + 0.5))
            for number in self.postings.get(word, ()):
                length = len(self.documents[number])
                per_document[number] += idf * 2.2 / (1.0 + 1.2 * (0.25 + 0.75 * length / average))
        gathered: dict[str, list[float]] = defaultdict(list)
        for number, value in per_document.items():
            for author in self.answerers[number]:
                if author in candidates:
                    gathered[author].append(value)
        result: dict[str, dict[str, float]] = {}
        for candidate in candidates:
            values = sorted(gathered.get(candidate, ()), reverse=True)
            result[candidate] = {
                "sum": sum(values),
                "max": values[0] if values else 0.0,
                "top3": sum(values[:3]),
            }
        return result


# --- the replay -------------------------------------------------------------------------------


@dataclass
class Outcome:
    """Per-method scores on the validation and test slices, plus the router's training rows."""

    dataset: str
    validation: dict[str, Score] = field(default_factory=lambda: defaultdict(Score))
    test: dict[str, Score] = field(default_factory=lambda: defaultdict(Score))
    training: list[tuple[str, list[tuple[float, ...]], list[int], int]] = field(
        default_factory=list
    )
    """Per question of both slices ("validation"/"test"): the generated candidates' feature
    vectors, their member ids, and the answerer's index among them (-1 when not generated).
    Only the validation rows are for fitting; the test rows let `--fit` report without
    replaying again."""

    def best_baseline(self, prefix: str) -> str:
        names = [m for m in self.validation if m.startswith(prefix)]
        return max(names, key=lambda m: (self.validation[m].hit3, self.validation[m].rr, m))


async def replay(
    dataset: Dataset, *, collect: bool = False, workdir: Path | None = None
) -> Outcome:
    """Replay `dataset` through a fresh Hearth database; score every method on both slices."""
    validation, test = slices(dataset)
    outcome = Outcome(dataset.name)
    with tempfile.TemporaryDirectory(dir=workdir) as folder:
        database = Database(f"sqlite+aiosqlite:///{folder}/replay.db")
        try:
            await migrate.upgrade(database)
            await _replay(database, dataset, validation, test, outcome, collect)
        finally:
            await database.close()
    return outcome


async def _members(database: Database, dataset: Dataset) -> tuple[int, dict[str, int]]:
    people = sorted({e.asker if isinstance(e, Question) else e.author for e in dataset.events})
    now = datetime.now(UTC)
    async with database.transaction() as session:
        community = Community(
            platform="console",
            workspace="routing-eval",
            channel=dataset.name,
            name=dataset.name,
            timezone="UTC",
            segments=[],
            interests=[],
            created_at=now,
        )
        session.add(community)
        await session.flush()
        await session.execute(
            insert(Member),
            [
                {
                    "platform": "console",
                    "workspace": "routing-eval",
                    "user_id": p,
                    "name": p,
                    "interests": [],
                    "created_at": now,
                    "is_bot": False,
                    "deactivated": False,
                    "unsolicited_dms_off": False,
                }
                for p in people
            ],
        )
        ids = dict(
            (user, member)
            for user, member in await session.execute(
                select(Member.user_id, Member.id).where(Member.workspace == "routing-eval")
            )
        )
        return community.id, ids


async def _replay(
    database: Database,
    dataset: Dataset,
    validation: set[str],
    test: set[str],
    outcome: Outcome,
    collect: bool,
) -> None:
    community_id, ids = await _members(database, dataset)
    users = {member: user for user, member in ids.items()}
    baselines = Baselines()
    first_answer: dict[str, int] = {}
    for start in range(0, len(dataset.events), BATCH):
        async with database.transaction() as session:
            for event in dataset.events[start : start + BATCH]:
                if isinstance(event, Answer):
                    baselines.answer(event.question, event.author)
                    first_answer.setdefault(event.author, len(first_answer))
                    await router.record_reply(
                        session,
                        community_id=community_id,
                        question_key=event.question,
                        replier_id=ids[event.author],
                        at=event.at,
                    )
                    if event.accepted:
                        await router.record_accepted(
                            session,
                            community_id=community_id,
                            question_key=event.question,
                            answerer_id=ids[event.author],
                            at=event.at,
                        )
                    continue
                words = text_terms(event.text)
                await router.record_question(  # first, as the question flow does
                    session,
                    community_id=community_id,
                    question_key=event.key,
                    asker_id=ids[event.asker],
                    text=event.text,
                    at=event.at,
                )
                scored = event.key in validation or event.key in test
                ranked_ids: list[int] = []
                if not collect:  # routed as every question is (its first picks calibrate)
                    ranked = await router.rank_experts(
                        session,
                        community_id=community_id,
                        text=event.text,
                        asker_id=ids[event.asker],
                        at=event.at,
                        limit=ROUTER_DEPTH,
                        question_key=event.key,
                    )
                    ranked_ids = [r.member_id for r in ranked]
                elif scored:  # the default scale's ranking, keeping the features
                    assert event.accepted is not None
                    generated = await router.candidates(
                        session,
                        community_id,
                        event.text,
                        {ids[event.asker]},
                        ids[event.asker],
                        at=event.at,
                    )
                    where = [c.member_id for c in generated]
                    answerer = ids[event.accepted]
                    outcome.training.append(
                        (
                            "test" if event.key in test else "validation",
                            [c.features for c in generated],
                            where,
                            where.index(answerer) if answerer in where else -1,
                        )
                    )
                    ranked_ids = [c.member_id for _, c in router.best(generated, ROUTER_DEPTH)]
                if scored:
                    assert event.accepted is not None
                    scores = outcome.test if event.key in test else outcome.validation
                    candidates = set(first_answer) - {event.asker}
                    _score_baselines(baselines, words, candidates, first_answer, event, scores)
                    scores["hearth-router"].add(
                        [users[m] for m in ranked_ids], event.accepted, candidates
                    )
                baselines.question(event.key, words)


def _score_baselines(
    baselines: Baselines,
    words: list[str],
    candidates: set[str],
    order: dict[str, int],
    question: Question,
    scores: dict[str, Score],
) -> None:
    assert question.accepted is not None
    for half_life in HALF_LIVES:
        ranking = _ranked(baselines.popularity(half_life, candidates), order)
        scores[f"popularity-decay-h{half_life}"].add(ranking, question.accepted, candidates)
    text_scores = baselines.bm25(words, candidates)
    for aggregation in AGGREGATIONS:
        ranking = _ranked({c: s[aggregation] for c, s in text_scores.items()}, order)
        scores[f"bm25-{aggregation}"].add(ranking, question.accepted, candidates)


# --- reporting --------------------------------------------------------------------------------


def report(outcomes: list[Outcome], out: Callable[[str], None] = print) -> dict[str, float]:
    """Print one line per method per dataset (each baseline at its validation-tuned setting),
    then the pooled lines when there are several; returns hit@3 ratios router/best baseline
    by dataset name ("pooled" for all)."""
    ratios: dict[str, float] = {}
    pooled: dict[str, Score] = defaultdict(Score)
    for outcome in outcomes:
        popularity = outcome.best_baseline("popularity")
        bm25 = outcome.best_baseline("bm25")
        rows = {
            "hearth-router": outcome.test["hearth-router"],
            f"popularity-decay[{popularity.rsplit('-', 1)[1]}]": outcome.test[popularity],
            f"bm25[{bm25.split('-', 1)[1]}]": outcome.test[bm25],
        }
        out(f"# {outcome.dataset}")
        for method, score in rows.items():
            out(score.line(method))
        pooled["hearth-router"] = pooled["hearth-router"].merged(rows["hearth-router"])
        pooled["popularity-decay"] = pooled["popularity-decay"].merged(outcome.test[popularity])
        pooled["bm25"] = pooled["bm25"].merged(outcome.test[bm25])
        best = max(outcome.test[popularity].hit_at_3, outcome.test[bm25].hit_at_3)
        ratios[outcome.dataset] = rows["hearth-router"].hit_at_3 / best if best else math.inf
        out(f"ratio hit@3 router/best-baseline={ratios[outcome.dataset]:.2f}")
    if len(outcomes) > 1:
        out("# pooled")
        for method, score in pooled.items():
            out(score.line(method))
        best = max(pooled["popularity-decay"].hit_at_3, pooled["bm25"].hit_at_3)
        ratios["pooled"] = pooled["hearth-router"].hit_at_3 / best if best else math.inf
        out(f"ratio hit@3 router/best-baseline={ratios['pooled']:.2f}")
    return ratios


def run(
    folders: list[Path], *, fit: bool = False, out: Callable[[str], None] = print
) -> dict[str, float]:
    """`hearth routing-eval`: replay each folder, print the table (and fitted weights)."""
    outcomes = []
    for folder in folders:
        dataset = read_dataset(folder)
        outcome = asyncio.run(replay(dataset, collect=fit))
        outcome.dataset = _label(folder)
        outcomes.append(outcome)
    ratios = report(outcomes, out)
    if fit:
        questions = [
            (vectors, answerer)
            for outcome in outcomes
            for kind, vectors, _, answerer in outcome.training
            if kind == "validation"
        ]
        first, second = fitting.fit_two_stage(questions, model.RERANK)
        out("# fitted on the validation slices (paste into hearth/handlers/expertise/model.py)")
        out(f"WEIGHTS = ({', '.join(f'{w:.4f}' for w in first)},)")
        out(f"RERANK_WEIGHTS = ({', '.join(f'{w:.4f}' for w in second)},)")
    return ratios


def _label(folder: Path) -> str:
    """`team2box/dba` for a team2box site, the folder name otherwise."""
    if (folder / "Record_All.json").exists():
        return f"{folder.parent.name}/{folder.name}"
    return folder.name

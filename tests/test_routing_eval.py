"""`hearth routing-eval`: the dataset readers on tiny inline fixtures, the splits, and one real
development dataset replayed through Hearth's storage, where the router must hold its target."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hearth.bot import cli
from hearth.handlers.expertise import evaluation, fitting
from hearth.handlers.expertise.evaluation import Answer, Question
from tests.conftest import shared_path

POSTS = """\ufeff<?xml version="1.0" encoding="utf-8"?>
<posts>
  <row Id="1" PostTypeId="1" AcceptedAnswerId="3" CreationDate="2016-08-02T15:39:14.947" Body="&lt;p&gt;What does &amp;quot;backprop&amp;quot; mean?&lt;/p&gt;" OwnerUserId="8" Title="What is backprop?" Tags="&lt;neural-networks&gt;&lt;definitions&gt;" />
  <row Id="2" PostTypeId="1" CreationDate="2016-08-02T15:40:20.623" Body="&lt;p&gt;Noise?&lt;/p&gt;" OwnerDisplayName="gone" Title="Noise" Tags="&lt;noise&gt;" />
  <row Id="3" PostTypeId="2" ParentId="1" CreationDate="2016-08-02T15:45:24.820" Body="&lt;p&gt;Yes&lt;/p&gt;" OwnerUserId="4" />
  <row Id="4" PostTypeId="2" ParentId="1" CreationDate="2016-08-02T15:41:00.000" Body="&lt;p&gt;No&lt;/p&gt;" OwnerUserId="5" />
  <row Id="5" PostTypeId="2" ParentId="2" CreationDate="2016-08-02T15:50:00.000" Body="x" OwnerDisplayName="deleted" />
  <row Id="6" PostTypeId="5" CreationDate="2016-08-02T15:50:00.000" Body="wiki" />
</posts>
"""


def test_a_stack_exchange_dump_is_read_in_time_order(tmp_path: Path) -> None:
    (tmp_path / "Posts.xml").write_text(POSTS, encoding="utf-8")
    dataset = evaluation.read_dataset(tmp_path)
    kinds = [
        (type(e).__name__, getattr(e, "key", None) or getattr(e, "question", None))
        for e in dataset.events
    ]
    assert kinds == [("Question", "1"), ("Question", "2"), ("Answer", "1"), ("Answer", "1")]
    first, second, early, accepted = dataset.events
    assert isinstance(first, Question) and isinstance(second, Question)
    assert first.accepted == "4" and first.asker == "8"
    assert second.accepted is None and second.asker == "deleted-asker-2"
    assert 'What does "backprop" mean?' in first.text and "<p>" not in first.text
    assert "neural-networks" in first.text
    assert isinstance(early, Answer) and (early.author, early.accepted) == ("5", False)
    assert isinstance(accepted, Answer) and (accepted.author, accepted.accepted) == ("4", True)


def test_a_team2box_folder_is_ordered_by_post_ids(tmp_path: Path) -> None:
    records = [
        {
            "QuestionId": "10",
            "QuestionOwnerId": "1",
            "AcceptedAnswerId": "30",
            "AcceptedAnswererId": "3",
            "AnswererIdList": ["2", "3"],
            "AnswererAnswerTuples": [["2", "12"], ["3", "30"]],
            "Tags": ["sql"],
        },
        {
            "QuestionId": "11",
            "QuestionOwnerId": "2",
            "AcceptedAnswerId": "13",
            "AcceptedAnswererId": "1",
            "AnswererIdList": ["1"],
            "AnswererAnswerTuples": [["1", "13"]],
            "Tags": ["index"],
        },
    ]
    (tmp_path / "Record_All.json").write_text("\n".join(json.dumps(r) for r in records) + "\n")
    (tmp_path / "Q_title.txt").write_text("10 how to join tables\n11 when to add an index\n")
    (tmp_path / "Q_content.txt").write_text("10 inner or outer join\n11 slow query\n")
    (tmp_path / "Q_tags.txt").write_text("10 sql join\n11 index\n")
    dataset = evaluation.read_dataset(tmp_path)
    order = [
        (e.key if isinstance(e, Question) else f"{e.question}<-{e.author}") for e in dataset.events
    ]
    assert order == ["10", "11", "10<-2", "11<-1", "10<-3"]
    first = dataset.events[0]
    assert isinstance(first, Question)
    assert first.text == "how to join tables\nsql join\ninner or outer join"
    assert first.accepted == "3"
    times = [e.at for e in dataset.events]
    assert times == sorted(times) and len(set(times)) == len(times)


def test_an_unknown_folder_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["routing-eval", "--dataset", str(tmp_path)]) == 2
    assert "no Posts.xml (Stack Exchange) or Record_All.json (team2box)" in capsys.readouterr().err


def test_slices_are_the_last_fifths_of_answered_questions() -> None:
    questions = [
        Question(str(n), "a", "t", evaluation._EPOCH, "b" if n % 2 else None) for n in range(20)
    ]
    validation, test = evaluation.slices(evaluation.Dataset("d", list(questions)))
    assert sorted(test, key=int) == ["17", "19"] and sorted(validation, key=int) == ["13", "15"]


def test_the_router_beats_the_baselines_on_a_development_dataset(
    capsys: pytest.CaptureFixture[str],
) -> None:
    folder = shared_path("data", "expert-finding", "ai.stackexchange")
    lines: list[str] = []
    ratios = evaluation.run([folder], out=lines.append)
    methods = [line.split()[0] for line in lines if "questions=" in line]
    assert methods[0] == "hearth-router" and len(methods) == 3
    assert methods[1].startswith("popularity-decay[h") and methods[2].startswith("bm25[")
    assert all("hit@1=" in line and "coverage=" in line for line in lines if "questions=" in line)
    assert ratios["ai.stackexchange"] >= 0.85, "\n".join(lines)


def test_the_two_stage_fit_learns_what_picks_the_answerer_at_both_stages() -> None:
    questions = []
    for n in range(40):  # the answerer has the most of feature 0; feature 1 is noise
        vectors = [(float((i * 7 + n) % 10), float((i * 3 + n) % 5)) for i in range(10)]
        questions.append((vectors, max(range(10), key=lambda i: vectors[i][0])))
    first, second = fitting.fit_two_stage(questions, keep=3)
    assert first[0] > 1.0 and abs(first[1]) < first[0]
    assert second[0] > 0.5 and len(second) == 2

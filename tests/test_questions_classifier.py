"""The question classifier on a labelled set of chat lines: its precision and recall."""

from __future__ import annotations

from pathlib import Path

from hearth.handlers.questions.classify import is_question

LABELLED = Path(__file__).with_name("data") / "questions.tsv"


def labelled() -> list[tuple[bool, str]]:
    rows = []
    for line in LABELLED.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            label, text = line.split("\t", 1)
            assert label in ("Q", "N"), line
            rows.append((label == "Q", text))
    return rows


def test_precision_and_recall_on_the_labelled_chat_lines() -> None:
    rows = labelled()
    assert len(rows) >= 200
    assert sum(q for q, _ in rows) >= 100 and sum(not q for q, _ in rows) >= 100
    found = [(want, is_question(text), text) for want, text in rows]
    true_positives = sum(want and got for want, got, _ in found)
    precision = true_positives / max(sum(got for _, got, _ in found), 1)
    recall = true_positives / sum(want for want, _, _ in found)
    missed = [text for want, got, text in found if want != got]
    print(f"questions classifier: {len(rows)} lines, precision={precision:.3f} recall={recall:.3f}")
    print("misread:", *missed, sep="\n  ")
    assert precision >= 0.9 and recall >= 0.9


def test_the_tricky_ones() -> None:
    assert not is_question("https://example.com/report?id=4&view=full")
    assert not is_question("How cool is that!")
    assert not is_question("Great session, right?")
    assert not is_question("thanks!")
    assert not is_question("?")
    assert not is_question("We archive the RAID log at closure.")
    assert is_question("does anyone have a template for a stakeholder map")
    assert is_question("Any advice on running a retro with 40 people")
    assert is_question("how do I get access to the portfolio tool")
    assert is_question("Here's my plan: https://x.example/p?id=1 — does it look right?")

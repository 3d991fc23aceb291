"""Question hints: front matter `questions` are embedded with their section, never quoted."""

from __future__ import annotations

from pathlib import Path

import pytest

from advisor import Advisor, Settings
from advisor.load import load_corpus, load_file
from advisor.split import split_document

from .conftest import CORPUS

PAY = """---
title: Harbour Planner Careers at Northwind
{questions}---

# Harbour Planner Careers at Northwind

A harbour planner at Northwind plans the work of the port every day.

## What a harbour planner does

A harbour planner plans berths, cranes and shifts so that ships leave the port on time.

## Crews

Harbour planners lead crews of stevedores, crane operators and tug pilots.

## Planning tools

Harbour planners plan with the berth schedule, the crane roster and the tide table.

## Remuneration

Junior harbour planners receive 41,000 crowns per year, paid monthly.
"""
HINTS = """questions:
  Crews:
    - Who will I manage as a harbour planner?
    - who would I be in charge of
  Remuneration:
    - How much money will I make?
  _lead:
    - What is Northwind?
"""


def _write(folder: Path, questions: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "northwind.md"
    path.write_text(PAY.format(questions=questions), encoding="utf-8")
    return path


def test_hints_reach_the_chunks_of_their_section(tmp_path: Path, embedder) -> None:
    doc = load_file(_write(tmp_path, HINTS), tmp_path)
    assert doc.notes == []
    chunks = split_document(doc, embedder.count_tokens, 200)
    by_section = {c.section: c.questions for c in chunks}
    assert by_section["Crews"] == [
        "Who will I manage as a harbour planner?",
        "who would I be in charge of",
    ]
    assert by_section[""] == ["What is Northwind?"]  # the lead, before the first section
    assert by_section["Planning tools"] == []
    for c in chunks:  # offsets still index the file, front matter and all
        assert doc.text[c.start : c.end] == c.text


def test_hints_for_unknown_headings_are_reported_and_the_document_still_loads(
    tmp_path: Path,
) -> None:
    bad = "questions:\n  Salary:\n    - How much?\n  crews:\n    - Who is on my team?\n    - 7\n"
    _write(tmp_path, bad)
    docs, problems = load_corpus(tmp_path, exclude=[])
    assert [d.doc_id for d in docs] == ["northwind"]
    assert docs[0].questions == {"crews": ["Who is on my team?"]}  # case does not matter
    reasons = [p.reason for p in problems]
    assert all(not p.skipped for p in problems)
    assert any("'Salary'" in r and "no heading" in r for r in reasons)
    assert any("'crews'" in r and "must be text" in r for r in reasons)

    _write(tmp_path, "questions: [a, b]\n")
    docs, problems = load_corpus(tmp_path, exclude=[])
    assert docs[0].questions == {}
    assert "must map section headings" in problems[0].reason


def _ask(root: Path, questions: str, embedder, question: str):
    settings = Settings(corpus_dir=root / "corpus", index_dir=root / "index")
    _write(settings.corpus_dir, questions)
    adv = Advisor(settings, embedder=embedder)
    adv.index()
    return adv.ask(question)


@pytest.mark.parametrize(
    "question",
    ["who reports to me as a harbour planner", "which workers does a harbour planner direct"],
)
def test_the_passage_the_question_does_not_name_leads_with_or_without_hints(
    tmp_path: Path, embedder, question: str
) -> None:
    """The question shares no word with 'lead crews of stevedores'. With the passage's hint
    ('who would I be in charge of') that passage leads the answer; without hints it leads too
    (the sentence-level search finds it), as it must for a user's own documents, which have
    none. The hints' own words are never quoted."""
    plain = _ask(tmp_path / "plain", "", embedder, question)
    hinted = _ask(tmp_path / "hinted", HINTS, embedder, question)
    for answer in (hinted, plain):
        assert answer.citations[0].section == "Crews"
        assert "stevedores" in answer.answer.split("\n\n")[0]
    for hint in ["Who will I manage", "in charge of", "How much money", "What is Northwind"]:
        assert hint not in hinted.answer


DOCUMENTS = [p for p in sorted(CORPUS.glob("*.md")) if p.name != "README.md"]


@pytest.mark.parametrize("path", DOCUMENTS, ids=lambda p: p.stem)
def test_shipped_hints_all_name_real_headings(path: Path) -> None:
    doc = load_file(path, CORPUS)
    assert doc.notes == []
    assert doc.questions, f"{path.name} has no question hints"


def test_hints_that_reach_no_passage_are_reported(tmp_path: Path, embedder) -> None:
    """A heading with nothing of its own under it (here the title, whose text is the lead) has
    no passage to carry its questions: `advisor index` says so instead of dropping them."""
    hints = HINTS + "  Harbour Planner Careers at Northwind:\n    - What is this page about?\n"
    settings = Settings(corpus_dir=tmp_path / "corpus", index_dir=tmp_path / "index")
    _write(settings.corpus_dir, hints)
    report = Advisor(settings, embedder=embedder).index()
    notes = [p.reason for p in report.problems if not p.skipped]
    assert len(notes) == 1 and "harbour planner careers at northwind" in notes[0]
    assert "were not used" in notes[0] and report.added > 0

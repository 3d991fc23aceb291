"""Feedback records: appended as JSON lines, merged per answer, exported as eval cases."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from advisor.config import Settings
from advisor.errors import AdvisorError
from advisor.feedback import export_eval_cases, latest_feedback, read_feedback, record_feedback

CITATION = {
    "n": 1,
    "doc_id": "ai-project-manager-guide",
    "title": "How to Become an AI Project Manager in 2025",
    "section": "Salary and Job Prospects",
    "source": "ai-project-manager-guide.md",
    "start": 6220,
    "end": 6479,
    "text": "AI Project Managers are in high demand ...",
    "page": None,
}
EVAL_KEYS = {"id", "question", "answerable", "expected_facts", "expected_sources", "reference"}


def vote(path: Path, choice: str, question: str = "Q?", **extra: object) -> dict:
    fields: dict = {"answer": f"answer to {question}", "citations": [CITATION]} | extra
    return record_feedback(path, vote=choice, question=question, generator="extractive", **fields)


def test_record_appends_one_json_line_per_vote(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "feedback.jsonl"
    first = vote(path, "up", "What salary can an AI project manager expect?")
    vote(path, "down", "Do I need coding skills?", comment="  too vague  ")
    lines = path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 2
    assert json.loads(lines[0]) == first
    record = json.loads(lines[1])
    assert set(record) == {
        "id",
        "timestamp",
        "vote",
        "question",
        "answer",
        "citations",
        "comment",
        "generator",
    }
    assert record["vote"] == "down" and record["comment"] == "too vague"
    assert record["citations"] == [CITATION] and record["generator"] == "extractive"
    assert read_feedback(path) == [first, record]


def test_unknown_vote_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="vote must be one of up, down, withdrawn"):
        vote(tmp_path / "f.jsonl", "meh")


def test_parallel_writers_never_mix_lines(tmp_path: Path) -> None:
    path = tmp_path / "feedback.jsonl"
    threads = [
        threading.Thread(target=vote, args=(path, "up", f"question {i} " + "x" * 5000))
        for i in range(40)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    records = read_feedback(path)
    assert sorted(int(r["question"].split()[1]) for r in records) == list(range(40))
    assert all(r["question"].endswith("x" * 5000) for r in records)


def test_reading_without_feedback_gives_nothing(tmp_path: Path) -> None:
    assert read_feedback(tmp_path / "missing.jsonl") == []


def test_a_torn_last_line_is_skipped_but_a_broken_middle_line_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "feedback.jsonl"
    good = vote(path, "down")
    with path.open("a", encoding="utf-8") as f:
        f.write('{"id": "x", "vote": "do')  # a crash in the middle of a write
    assert read_feedback(path) == [good]
    with path.open("a", encoding="utf-8") as f:
        f.write("\n")
    vote(path, "up")
    with pytest.raises(AdvisorError, match=r"feedback.jsonl:2 is not valid JSON"):
        read_feedback(path)


def test_latest_vote_and_comment_count_per_answer(tmp_path: Path) -> None:
    path = tmp_path / "feedback.jsonl"
    vote(path, "up", id="a1")
    vote(path, "down", id="a1")
    vote(path, "down", id="a1", comment="It missed the PMP exam fee.")
    vote(path, "down", id="a2", question="Other?")
    vote(path, "withdrawn", id="a2", question="Other?")
    latest = {r["id"]: r for r in latest_feedback(read_feedback(path))}
    assert latest["a1"]["vote"] == "down"
    assert latest["a1"]["comment"] == "It missed the PMP exam fee."
    assert latest["a2"]["vote"] == "withdrawn"


def test_export_turns_thumbs_down_into_eval_cases(tmp_path: Path) -> None:
    settings = Settings(index_dir=tmp_path / "index")
    vote(settings.feedback_path, "up", "Good one?", id="a0")
    vote(settings.feedback_path, "down", "Which certifications?", id="a1")
    vote(settings.feedback_path, "down", "Which certifications?", id="a1", comment="Add PRINCE2.")
    vote(settings.feedback_path, "down", "Remote work?", id="a2")
    out = tmp_path / "cases" / "feedback.jsonl"
    out.parent.mkdir()
    out.write_text("old content\n", encoding="utf-8")

    assert export_eval_cases(settings, out) == 2
    cases = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert cases[0] == {
        "id": "feedback-1",
        "question": "Which certifications?",
        "answerable": True,
        "expected_facts": [],
        "expected_sources": [],
        "reference": "Add PRINCE2.",
        "bad_answer": "answer to Which certifications?",
    }
    assert cases[1]["id"] == "feedback-2" and cases[1]["reference"] == ""
    dataset = Path(__file__).resolve().parent.parent / "evals" / "datasets" / "career.jsonl"
    real_case = json.loads(dataset.read_text(encoding="utf-8").splitlines()[0])
    assert set(real_case) >= EVAL_KEYS and all(set(c) >= EVAL_KEYS for c in cases)
    assert [p.name for p in out.parent.iterdir()] == ["feedback.jsonl"]  # no temp file left
    from advisor.evaluation.dataset import load_eval_cases  # what `advisor eval` reads

    loaded = load_eval_cases(out)
    assert [(c.id, c.question, c.reference) for c in loaded] == [
        ("feedback-1", "Which certifications?", "Add PRINCE2."),
        ("feedback-2", "Remote work?", ""),
    ]


def test_export_without_feedback_writes_an_empty_file(tmp_path: Path) -> None:
    out = tmp_path / "cases.jsonl"
    assert export_eval_cases(Settings(index_dir=tmp_path / "index"), out) == 0
    assert out.read_text(encoding="utf-8") == ""

"""Eval datasets: JSONL files of cases, checked line by line with messages that say what to fix.

Two kinds of file:

- eval cases (`advisor eval`): `{"id", "question"}` or `{"id", "turns": [...]}`, plus
  `"answerable"`, `"expected_facts"` (a list of facts, each a list of alternative wordings),
  `"expected_sources"` (doc ids) and optionally `"reference"` and `"category"`;
- judge cases (`advisor judge`): `{"id", "answer", "contexts": [...], "grounded"}`, optionally
  `"kind"` (the kind of error planted, reported per kind).

Every bad line is reported (with its line number) in one `DatasetError`, not just the first.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from ..errors import AdvisorError

_SHOW = 15  # bad lines listed in one error message
_OFF_TOPIC_ID = re.compile(r"(?:^|-)off(?:-|$)")


class DatasetError(AdvisorError):
    """An eval dataset is missing, unreadable, or has lines with missing or wrong fields."""


class EvalCase(BaseModel):
    """One question (or conversation) for `advisor eval`; the last turn is the one scored."""

    id: str
    turns: list[str]
    answerable: bool
    expected_facts: list[list[str]] = []
    expected_sources: list[str] = []
    reference: str | None = None
    category: str | None = None
    line: int = 0

    @property
    def question(self) -> str:
        return self.turns[-1]

    @property
    def off_topic(self) -> bool:
        """Outside the career domain altogether (not merely a career topic the corpus lacks):
        `"category": "off-topic"`, or, in files without categories, an id like `off-...`."""
        if self.category is not None:
            return self.category.strip().lower().replace("_", "-") == "off-topic"
        return not self.answerable and bool(_OFF_TOPIC_ID.search(self.id))


class JudgeCase(BaseModel):
    """One labelled answer for `advisor judge`: is it grounded in its contexts?"""

    id: str
    answer: str
    contexts: list[str]
    grounded: bool
    kind: str | None = None
    line: int = 0


# --- reading ------------------------------------------------------------------------------


def _records(path: Path, problems: list[str]) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, object) for every non-blank line; unparsable lines become problems."""
    if not path.is_file():
        raise DatasetError(
            f"No dataset at {path}. Pass --dataset with a JSONL file, one case per line "
            "(see evals/README.md)."
        )
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError as exc:
        raise DatasetError(
            f"{path} is not UTF-8 text ({exc.reason} at byte {exc.start}); save it as UTF-8."
        ) from None
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        try:
            record = json.loads(raw)
        except json.JSONDecodeError as exc:
            problems.append(f"line {number}: not valid JSON ({exc.msg} at column {exc.colno}).")
            continue
        if not isinstance(record, dict):
            problems.append(
                f"line {number}: expected a JSON object {{...}}, got {type(record).__name__}."
            )
            continue
        yield number, record


def _raise_if(problems: list[str], path: Path) -> None:
    if not problems:
        return
    shown = problems[:_SHOW]
    more = f"\n  ... and {len(problems) - _SHOW} more" if len(problems) > _SHOW else ""
    raise DatasetError(f"{path} has {len(problems)} problem(s):\n  " + "\n  ".join(shown) + more)


def _nonblank(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _is_str_list(value: Any, allow_empty: bool = True) -> bool:
    return (
        isinstance(value, list)
        and (allow_empty or bool(value))
        and all(_nonblank(v) for v in value)
    )


class _Checker:
    """Collects what is wrong with one record, as sentences naming the field and the fix."""

    def __init__(self, number: int, record: dict[str, Any], known: set[str]) -> None:
        self.record = record
        self.errors: list[str] = []
        case_id = record.get("id")
        self.where = f"line {number}" + (f" (id {case_id!r})" if isinstance(case_id, str) else "")
        for key in record:
            close = difflib.get_close_matches(key, known, n=1, cutoff=0.8)
            if key not in known and close:
                self.add(f'unknown field "{key}"; did you mean "{close[0]}"?')

    def add(self, message: str) -> None:
        self.errors.append(message)

    def require(self, key: str, ok: Callable[[Any], bool], what: str, example: str) -> Any:
        """The field's value, or None after noting that it is missing or not `what`."""
        if key not in self.record:
            self.add(f'"{key}" is missing. Please add it: {what}, e.g. {example}.')
            return None
        value = self.record[key]
        if not ok(value):
            got = json.dumps(value, ensure_ascii=False)
            self.add(f'"{key}" must be {what}, e.g. {example}; got {got[:60]}.')
            return None
        return value

    def report(self, problems: list[str]) -> bool:
        problems.extend(f"{self.where}: {e}" for e in self.errors)
        return not self.errors


_EVAL_FIELDS = {
    "id",
    "question",
    "turns",
    "answerable",
    "expected_facts",
    "expected_sources",
    "reference",
    "category",
}
_JUDGE_FIELDS = {"id", "answer", "contexts", "grounded", "kind"}


def _check_id(check: _Checker, seen: dict[str, int], number: int) -> str | None:
    case_id = check.require("id", _nonblank, "a non-empty string", '"id": "pmp-cost"')
    if case_id is not None:
        if case_id in seen:
            check.add(f"id {case_id!r} is also used on line {seen[case_id]}; ids must be unique.")
        seen.setdefault(case_id, number)
    return case_id


def _eval_case(
    number: int, record: dict[str, Any], seen: dict[str, int], problems: list[str]
) -> EvalCase | None:
    check = _Checker(number, record, _EVAL_FIELDS)
    case_id = _check_id(check, seen, number)
    turns: list[str] | None = None
    if "question" in record and "turns" in record:
        check.add('has both "question" and "turns"; keep one.')
    elif "turns" in record:
        turns = check.require(
            "turns",
            lambda v: _is_str_list(v, allow_empty=False),
            "a non-empty list of questions",
            '"turns": ["What is the PMP?", "How many questions are on its exam?"]',
        )
    else:
        question = check.require(
            "question",
            _nonblank,
            'the question as a non-empty string (or "turns": [...] for a conversation)',
            '"question": "How much do AI project managers make?"',
        )
        turns = [question] if question is not None else None
    answerable = check.require(
        "answerable",
        lambda v: isinstance(v, bool),
        "true or false (false when the advisor should decline)",
        '"answerable": true',
    )
    facts = record.get("expected_facts", [])
    if not (isinstance(facts, list) and all(_is_str_list(f, allow_empty=False) for f in facts)):
        check.add(
            '"expected_facts" must be a list of facts, each a non-empty list of alternative '
            f'wordings, e.g. [["$120,000", "120k"], ["PMP"]]; got {json.dumps(facts)[:60]}.'
        )
        facts = None
    sources = record.get("expected_sources", [])
    if not _is_str_list(sources):
        check.add(
            '"expected_sources" must be a list of doc ids, e.g. ["ai-project-manager-guide"]; '
            f"got {json.dumps(sources)[:60]}."
        )
        sources = None
    for key in ("reference", "category"):
        if key in record and not isinstance(record[key], str | None):
            check.add(f'"{key}" must be a string.')
    if answerable is False and facts:
        check.add(
            'an unanswerable case cannot have "expected_facts"; '
            'remove them or set "answerable": true.'
        )
    if not check.report(problems) or case_id is None or turns is None or answerable is None:
        return None
    return EvalCase(
        id=case_id,
        turns=[" ".join(t.split()) for t in turns],
        answerable=answerable,
        expected_facts=facts or [],
        expected_sources=sources or [],
        reference=record.get("reference"),
        category=record.get("category"),
        line=number,
    )


def load_eval_cases(path: Path) -> list[EvalCase]:
    """Every case of an `advisor eval` dataset, or a `DatasetError` listing each bad line."""
    problems: list[str] = []
    seen: dict[str, int] = {}
    cases = [_eval_case(n, r, seen, problems) for n, r in _records(path, problems)]
    _raise_if(problems, path)
    return [c for c in cases if c is not None]


def _judge_case(
    number: int, record: dict[str, Any], seen: dict[str, int], problems: list[str]
) -> JudgeCase | None:
    check = _Checker(number, record, _JUDGE_FIELDS)
    case_id = _check_id(check, seen, number)
    answer = check.require(
        "answer",
        _nonblank,
        "a non-empty string",
        '"answer": "The exam has 180 questions [1]."',
    )
    contexts = check.require(
        "contexts",
        _is_str_list,
        "a list of passage texts ([1] in the answer is the first)",
        '"contexts": ["The PMP exam has 180 questions."]',
    )
    grounded = check.require(
        "grounded",
        lambda v: isinstance(v, bool),
        "true or false (false when some sentence is not supported)",
        '"grounded": false',
    )
    if "kind" in record and not isinstance(record["kind"], str | None):
        check.add('"kind" must be a string.')
    ok = check.report(problems)
    if not ok or case_id is None or answer is None or contexts is None or grounded is None:
        return None
    return JudgeCase(
        id=case_id,
        answer=answer,
        contexts=contexts,
        grounded=grounded,
        kind=record.get("kind"),
        line=number,
    )


def load_judge_cases(path: Path) -> list[JudgeCase]:
    """Every labelled case of an `advisor judge` file, or a `DatasetError` listing each bad line."""
    problems: list[str] = []
    seen: dict[str, int] = {}
    cases = [_judge_case(n, r, seen, problems) for n, r in _records(path, problems)]
    _raise_if(problems, path)
    return [c for c in cases if c is not None]

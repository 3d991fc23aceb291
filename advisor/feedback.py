"""Feedback from the chat UI: one JSON line per vote, and thumbs-down answers as eval cases.

Each 👍/👎 (or a comment added afterwards) appends one record to `settings.feedback_path`:

    {"id": "<answer id>", "timestamp": "2025-05-01T12:00:00+00:00", "vote": "down",
     "question": "...", "answer": "...", "citations": [...], "comment": "...", "generator": "..."}

`vote` is "up", "down" or "withdrawn" (the vote was clicked off again). Records of one answer
share its `id`; the latest one is what counts (`latest_feedback`). `advisor feedback export`
turns the thumbs-down answers into cases of the eval dataset, so bad answers become regressions.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import threading
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .config import Settings
from .errors import AdvisorError

VOTES = ("up", "down", "withdrawn")
_write_lock = threading.Lock()
log = logging.getLogger(__name__)


def record_feedback(
    path: Path,
    *,
    vote: str,
    question: str,
    answer: str,
    citations: list[dict[str, Any]],
    comment: str = "",
    generator: str = "",
    id: str | None = None,
) -> dict[str, Any]:
    """Append one feedback record as a JSON line (flushed and fsynced) and return it."""
    if vote not in VOTES:
        raise ValueError(f"vote must be one of {', '.join(VOTES)}, not {vote!r}")
    record = {
        "id": id or uuid.uuid4().hex,
        "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
        "vote": vote,
        "question": question,
        "answer": answer,
        "citations": citations,
        "comment": comment.strip(),
        "generator": generator,
    }
    data = (json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8")
    path.parent.mkdir(parents=True, exist_ok=True)
    with _write_lock, open(path, "ab") as f:  # one write to an O_APPEND file: lines never mix
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    return record


def read_feedback(path: Path) -> list[dict[str, Any]]:
    """Every record in the file, oldest first ([] when nobody has voted yet).

    A last line cut short by a crash is skipped with a warning; any other unreadable line is an
    error that names it.
    """
    if not path.is_file():
        return []
    records: list[dict[str, Any]] = []
    lines = path.read_text(encoding="utf-8").split("\n")
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            if number == len(lines):  # no newline after it: an interrupted write
                log.warning("%s:%d is incomplete and was skipped", path, number)
                continue
            raise AdvisorError(
                f"{path}:{number} is not valid JSON ({exc.msg}); fix or delete that line."
            ) from None
        if not isinstance(record, dict) or record.get("vote") not in VOTES:
            raise AdvisorError(
                f"{path}:{number} is not a feedback record; fix or delete that line."
            )
        records.append(record)
    return records


def latest_feedback(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One record per answer: the latest vote, with the latest non-empty comment."""
    latest: dict[str, dict[str, Any]] = {}
    for number, record in enumerate(records):
        key = record.get("id") or f"record-{number}"
        comment = record.get("comment") or latest.get(key, {}).get("comment", "")
        latest[key] = {**record, "comment": comment}
    return list(latest.values())


def export_eval_cases(settings: Settings, out: Path) -> int:
    """Write every thumbs-down answer as an eval case to `out` (atomically); return the count."""
    downs = [
        r for r in latest_feedback(read_feedback(settings.feedback_path)) if r["vote"] == "down"
    ]
    cases = [
        {
            "id": f"feedback-{n}",
            "question": record["question"],
            "answerable": True,
            "expected_facts": [],
            "expected_sources": [],
            "reference": record.get("comment", ""),
            "bad_answer": record["answer"],
        }
        for n, record in enumerate(downs, start=1)
    ]
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.writelines(json.dumps(case, ensure_ascii=False) + "\n" for case in cases)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes it private; an eval dataset is not
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return len(cases)

"""The `advisor` command in a real process: one JSON object, clean errors, no tracebacks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from advisor import Settings

from .conftest import CORPUS

ADVISOR = [sys.executable, "-m", "advisor.cli"]


def run(args: list[str], settings: Settings, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if k != "ADVISOR_DEBUG"}
    environ.update(
        ADVISOR_CORPUS_DIR=str(settings.corpus_dir),
        ADVISOR_INDEX_DIR=str(settings.index_dir),
        **env,
    )
    return subprocess.run(
        ADVISOR + args, capture_output=True, text=True, env=environ, timeout=300, check=False
    )


def test_ask_json_prints_one_object_with_exact_citations(advisor) -> None:
    result = run(
        ["ask", "What salary can an AI project manager expect?", "--json"], advisor.settings
    )
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)  # exactly one JSON document on stdout
    assert "$120,000" in data["answer"] and data["declined"] is False
    cite = data["citations"][0]
    with open(CORPUS / cite["source"], encoding="utf-8", newline="") as fh:
        assert fh.read()[cite["start"] : cite["end"]] == cite["text"]


def test_errors_are_one_line_and_exit_non_zero(advisor) -> None:
    result = run(["ask", "   "], advisor.settings)
    assert result.returncode == 1
    assert "Please type a question" in result.stderr and "Traceback" not in result.stderr
    long = run(["ask", "x" * 3000], advisor.settings)
    assert long.returncode == 1 and "2,000" in long.stderr


def test_index_reports_and_is_idempotent(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.md").write_text("# A\n\nThe CSM test has 50 questions.\n", encoding="utf-8")
    (corpus / "bad.md").write_bytes(b"\x00\x01binary")
    settings = Settings(corpus_dir=corpus, index_dir=tmp_path / "index")
    first = run(["index"], settings)
    assert first.returncode == 0, first.stderr
    assert "1 documents: 1 chunks added, 0 removed" in first.stdout
    assert "bad.md" in first.stderr and "binary" in first.stderr
    second = run(["index"], settings)
    assert "0 chunks added, 0 removed, 1 unchanged" in second.stdout


def test_bad_setting_is_a_clear_error(tmp_path: Path) -> None:
    settings = Settings(corpus_dir=CORPUS, index_dir=tmp_path / "index")
    result = run(["ask", "What is PMP?"], settings, ADVISOR_K="many")
    assert result.returncode == 1 and "Invalid setting" in result.stderr
    assert "Traceback" not in result.stderr

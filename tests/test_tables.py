"""The query tables (chunk table, BM25) saved per index generation: a new process loads them
instead of rebuilding, gets exactly the same answers, and never trusts a damaged copy."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from advisor import Advisor
from advisor.config import Settings
from advisor.embed import Embedder

QUESTIONS = [
    "What salary can an AI project manager expect?",
    "How many questions are on the PMP exam?",
    "Which industries hire AI project managers?",
]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Settings:
    settings = Settings(index_dir=tmp_path_factory.mktemp("tables-index"))
    Advisor(settings, embedder=embedder).index()
    return settings


def _tables_dir(settings: Settings) -> list[Path]:
    root = settings.tables_path
    return sorted(p for p in root.iterdir() if not p.name.startswith(".")) if root.is_dir() else []


def test_first_process_saves_and_the_next_loads_the_same_tables(
    built: Settings, embedder: Embedder
) -> None:
    first = Advisor(built, embedder=embedder)
    view = first.searcher.view()
    saved = _tables_dir(built)
    assert [p.name for p in saved] == [view.generation.name]

    second = Advisor(built, embedder=embedder)
    loaded = second.searcher.view()
    assert loaded is not view
    assert [c.model_dump() for c in loaded.chunks] == [c.model_dump() for c in view.chunks]
    assert loaded.unit_counts == view.unit_counts and loaded.unit_counts
    assert loaded.lexical.df == view.lexical.df
    # names only the question hints use ("ChatGPT") stay known after a reload
    assert "chatgpt" in view.lexical.hint_names
    assert loaded.lexical.hint_names == view.lexical.hint_names
    for q in QUESTIONS:
        tokens = view.lexical.tokenize([q])[0]
        assert loaded.lexical.search(tokens, 10) == view.lexical.search(tokens, 10)
        assert second.invoke({"question": q}).to_json_dict() == first.invoke(
            {"question": q}
        ).to_json_dict()


def test_damaged_tables_are_ignored_and_rewritten(
    built: Settings, embedder: Embedder, caplog: pytest.LogCaptureFixture
) -> None:
    reference = Advisor(built, embedder=embedder).invoke({"question": QUESTIONS[0]})
    (folder,) = _tables_dir(built)
    (folder / "chunks.json").write_text('{"version": "1", "chunks": [')
    with caplog.at_level(logging.WARNING, logger="advisor.tables"):
        answer = Advisor(built, embedder=embedder).invoke({"question": QUESTIONS[0]})
    assert "Ignoring the saved tables" in caplog.text
    assert answer.to_json_dict() == reference.to_json_dict()
    # rewritten whole: the next process loads them without a warning
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="advisor.tables"):
        Advisor(built, embedder=embedder).searcher.view()
    assert "Ignoring" not in caplog.text


def test_a_new_generation_replaces_the_old_tables(
    tmp_path: Path, built: Settings, embedder: Embedder
) -> None:
    import shutil

    corpus = tmp_path / "corpus"
    shutil.copytree(built.corpus_dir, corpus)
    settings = Settings(corpus_dir=corpus, index_dir=tmp_path / "index")
    advisor = Advisor(settings, embedder=embedder)
    advisor.index()
    old = advisor.searcher.view().generation.name
    assert [p.name for p in _tables_dir(settings)] == [old]

    guide = corpus / "ai-project-manager-guide.md"
    guide.write_text(guide.read_text() + "\n\nA new closing remark about mentoring.\n")
    advisor.index()
    new = advisor.searcher.view().generation.name
    assert new != old
    assert [p.name for p in _tables_dir(settings)] == [new]
    assert any("mentoring" in c.text for c in advisor.searcher.view().chunks)

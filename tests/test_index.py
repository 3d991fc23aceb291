"""Indexing: incremental, idempotent, versioned, atomic, locked, and recoverable."""

from __future__ import annotations

from pathlib import Path

import pytest
from filelock import FileLock

from advisor import Advisor, Settings
from advisor.errors import (
    IndexBusyError,
    IndexCorruptError,
    IndexMismatchError,
    IndexMissingError,
)

DOCS = {
    "pmp.md": "# PMP\n\n## Exam\n\nThe PMP exam has 180 questions and lasts 230 minutes.\n",
    "csm.md": "# CSM\n\n## Test\n\nThe CSM test has 50 questions and a pass mark of 74%.\n",
    "prince2.md": "# PRINCE2\n\n## Foundation\n\nThe PRINCE2 Foundation exam lasts 60 minutes.\n",
}


@pytest.fixture
def small(tmp_path: Path, embedder) -> Advisor:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name, text in DOCS.items():
        (corpus / name).write_text(text, encoding="utf-8")
    return Advisor(Settings(corpus_dir=corpus, index_dir=tmp_path / "index"), embedder=embedder)


def test_unchanged_corpus_writes_nothing(small: Advisor) -> None:
    first = small.index()
    assert (first.added, first.removed, first.unchanged, first.wrote) == (3, 0, 0, True)
    name = small.store.current_name()
    again = small.index()
    assert (again.added, again.removed, again.unchanged, again.wrote) == (0, 0, 3, False)
    assert small.store.current_name() == name  # no new generation was written


def test_an_unchanged_file_is_not_converted_again(
    small: Advisor, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Re-indexing reads a file's bytes, not its layout: a converter that fails shows it was
    called. The edited file is converted (and its problem reported); the others are kept."""
    import advisor.load as load

    first = small.index()

    def broken(raw: bytes, path: Path) -> object:
        raise load.Unreadable("converted again")

    monkeypatch.setitem(load.LOADERS, ".md", broken)
    again = small.index()
    assert (again.unchanged, again.wrote, again.problems) == (3, False, [])
    assert [(f.title, f.format) for f in again.files] == [(f.title, f.format) for f in first.files]
    corpus = small.settings.corpus_dir
    (corpus / "csm.md").write_text(DOCS["csm.md"].replace("74%", "75%"), encoding="utf-8")
    edited = small.index()
    assert [(p.source, p.reason) for p in edited.problems] == [("csm.md", "converted again")]
    assert edited.unchanged == 2


def test_editing_one_document_reembeds_only_it(small: Advisor) -> None:
    small.index()
    corpus = small.settings.corpus_dir
    (corpus / "csm.md").write_text(DOCS["csm.md"].replace("74%", "75%"), encoding="utf-8")
    (corpus / "prince2.md").unlink()
    report = small.index()
    assert (report.added, report.removed, report.unchanged) == (1, 2, 1)
    assert sorted(report.changed_documents) == ["csm.md", "prince2.md"]
    answer = small.ask("What is the pass mark of the CSM test?")
    assert "75%" in answer.answer
    assert all(c.doc_id != "prince2" for c in small.ask("PRINCE2 Foundation exam length").citations)


def test_settings_mismatch_is_refused_with_the_fix(small: Advisor, embedder) -> None:
    small.index()
    other = Advisor(small.settings.model_copy(update={"chunk_tokens": 120}), embedder=embedder)
    with pytest.raises(IndexMismatchError, match="advisor index --rebuild"):
        other.index()
    with pytest.raises(IndexMismatchError, match="chunk_tokens"):
        other.ask("What is the PMP exam?")
    other.index(rebuild=True)
    assert "180 questions" in other.ask("How many questions are on the PMP exam?").answer


def test_interrupted_build_keeps_the_previous_index(small: Advisor) -> None:
    small.index()
    before = small.store.current_name()
    (small.settings.corpus_dir / "pmp.md").write_text(
        DOCS["pmp.md"].replace("180", "185"), encoding="utf-8"
    )

    def crash(stage: str, done: int, total: int) -> None:
        if stage == "embedding":
            raise KeyboardInterrupt  # the user pressed Ctrl-C half-way

    with pytest.raises(KeyboardInterrupt):
        small.index(progress=crash)
    assert small.store.current_name() == before
    assert "180 questions" in small.ask("How many questions are on the PMP exam?").answer
    report = small.index()  # the next run completes the job
    assert report.added == 1 and small.store.current_name() != before
    assert "185 questions" in small.ask("How many questions are on the PMP exam?").answer


def test_two_builds_at_once_are_refused(small: Advisor) -> None:
    small.settings.index_dir.mkdir(parents=True)
    with (
        FileLock(str(small.settings.index_dir / ".index.lock")),
        pytest.raises(IndexBusyError, match="Another `advisor index`"),
    ):
        small.index()


def test_missing_index_names_the_command(small: Advisor) -> None:
    with pytest.raises(IndexMissingError, match="advisor index"):
        small.ask("What is the PMP exam?")


def test_corrupt_index_is_detected_and_rebuild_recovers(small: Advisor, embedder) -> None:
    small.index()
    settings = small.settings
    sqlite = settings.chroma_path / "chroma.sqlite3"
    sqlite.write_bytes(b"this is not a database" * 100)
    broken = Advisor(settings, embedder=embedder)
    with pytest.raises(IndexCorruptError, match="--rebuild"):
        broken.ask("What is the PMP exam?")
    repaired = Advisor(settings, embedder=embedder)
    repaired.index(rebuild=True)
    assert "180 questions" in repaired.ask("How many questions are on the PMP exam?").answer


def test_empty_corpus_is_a_clear_error(tmp_path: Path, embedder) -> None:
    from advisor.errors import CorpusError

    (tmp_path / "empty").mkdir()
    adv = Advisor(
        Settings(corpus_dir=tmp_path / "empty", index_dir=tmp_path / "i"), embedder=embedder
    )
    with pytest.raises(CorpusError, match="No readable documents"):
        adv.index()


def test_a_unit_is_embedded_with_its_heading_and_a_one_word_heading_with_its_parent() -> None:
    from advisor.index import unit_embed_text
    from advisor.types import Chunk

    def chunk(section: str) -> Chunk:
        return Chunk(
            id="c",
            doc_id="d",
            title="Resume help",
            section=section,
            source="d.md",
            start=0,
            end=4,
            text="text",
        )

    assert unit_embed_text(chunk("Skills > Soft Skills"), "Communication") == (
        "Soft Skills: Communication"
    )
    assert unit_embed_text(chunk("Use numbers > Examples"), "Wrote 25 news releases") == (
        "Use numbers > Examples: Wrote 25 news releases"
    )
    assert unit_embed_text(chunk(""), "Hello") == "Resume help: Hello"

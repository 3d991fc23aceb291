"""Splitting: exact offsets, model-token limits, lists with their lead-in, stable ids."""

from __future__ import annotations

from pathlib import Path

import pytest

from advisor.load import load_corpus, load_file
from advisor.split import split_document
from advisor.types import SourceDocument

from .conftest import CORPUS

LIMIT = 200


@pytest.fixture(scope="module")
def guide_chunks(embedder):
    doc = load_file(CORPUS / "ai-project-manager-guide.md", CORPUS)
    return doc, split_document(doc, embedder.count_tokens, LIMIT)


def _doc(text: str, source: str = "t.md") -> SourceDocument:
    return SourceDocument(
        doc_id=source.rsplit(".", 1)[0], source=source, title="T", text=text, content_hash="x"
    )


def test_offsets_are_exact_and_metadata_complete(guide_chunks) -> None:
    doc, chunks = guide_chunks
    assert len(chunks) > 10
    for c in chunks:
        assert doc.text[c.start : c.end] == c.text
        assert c.doc_id == "ai-project-manager-guide" and c.source == doc.source
        assert c.title == doc.title
        for u in c.units:
            assert c.start <= u.start < u.end <= c.end
    salary = next(c for c in chunks if "$120,000" in c.text)
    assert salary.section == "Salary and Job Prospects"
    assert not any(c.text.startswith("---") for c in chunks)  # front matter is not content


def test_no_chunk_is_truncated_by_the_model(embedder, guide_chunks, external_docs: Path) -> None:
    docs, _ = load_corpus(external_docs, exclude=["README.md"])
    docs.append(guide_chunks[0])
    max_tokens = embedder.max_tokens
    for doc in docs:
        for c in split_document(doc, embedder.count_tokens, LIMIT):
            assert embedder.count_tokens(c.embed_text) <= min(LIMIT, max_tokens), c.text[:80]
            assert doc.text[c.start : c.end] == c.text


def test_lists_stay_with_their_lead_in(guide_chunks) -> None:
    _, chunks = guide_chunks
    certs = next(c for c in chunks if "- Certified ScrumMaster (CSM)" in c.text)
    assert "Popular options include:" in certs.text
    assert "- AWS Certified Machine Learning – Specialty" in certs.text
    kinds = {u.kind for u in certs.units}
    assert {"list", "item"} <= kinds
    lst = next(u for u in certs.units if u.kind == "list")
    quoted = certs.text[lst.start - certs.start : lst.end - certs.start]
    assert "Popular options include:" in quoted and quoted.endswith("Specialty")
    items = [u for u in certs.units if u.kind == "item"]
    assert len(items) == 5 and all(certs.units[u.parent].kind == "list" for u in items)


def test_short_fragments_join_the_next_sentence(guide_chunks) -> None:
    _, chunks = guide_chunks
    faq = next(c for c in chunks if "Is this career future-proof?" in c.text)
    texts = [faq.text[u.start - faq.start : u.end - faq.start] for u in faq.units]
    assert any(t.startswith("Absolutely. With AI adoption") for t in texts)
    assert "Absolutely." not in texts


def test_faq_question_stays_with_its_answer(guide_chunks) -> None:
    _, chunks = guide_chunks
    faq = next(c for c in chunks if "Do I need coding skills" in c.text)
    assert "Not extensively" in faq.text
    assert faq.section.endswith("1. Do I need coding skills to become an AI Project Manager?")


def test_oversized_paragraph_is_cut_to_fit(embedder) -> None:
    sentence = "The project manager reviews the delivery plan with every stakeholder group. "
    long_sentence = "word " * 400 + "end."
    text = "# Title\n\n## Long\n\n" + sentence * 60 + "\n\n" + long_sentence + "\n"
    doc = _doc(text)
    chunks = split_document(doc, embedder.count_tokens, 64)
    assert len(chunks) > 5
    for c in chunks:
        assert text[c.start : c.end] == c.text
        assert embedder.count_tokens(c.embed_text) <= 64
    covered = "".join(c.text for c in chunks)
    assert covered.count("stakeholder group") == 60


def test_an_oversized_list_item_goes_on_by_sentences(embedder) -> None:
    sentence = "The contracting officer reviews each modular increment with the agile team. "
    text = "# Title\n\n## Contracts\n\n- " + sentence * 30 + "\n- A short second item.\n"
    chunks = split_document(_doc(text), embedder.count_tokens, 64)
    assert len(chunks) > 3
    starts = {text[u.start : u.end].removeprefix("- ") for c in chunks for u in c.units}
    assert starts <= {sentence.strip(), "A short second item."}, starts


def test_table_rows_and_the_notes_under_them_are_separate_chunks(embedder, tmp_path: Path) -> None:
    from advisor.types import is_record_text

    rows = "".join(f"Role {i},{i * 10},{i * 3}\n" for i in range(3))
    note = "Source: projections of the statistics office rounded to the nearest hundred jobs."
    (tmp_path / "jobs.csv").write_text(f"Occupation,Jobs,Growth\n{rows}{note}\n")
    doc = load_file(tmp_path / "jobs.csv", tmp_path)
    chunks = split_document(doc, embedder.count_tokens, LIMIT)
    with_note = [c for c in chunks if note in c.text]
    with_rows = [c for c in chunks if "Occupation: Role 2" in c.text]
    assert len(with_note) == len(with_rows) == 1 and with_note != with_rows
    assert is_record_text(with_rows[0].text) and not is_record_text(with_note[0].text)


def test_ids_are_content_hashes(embedder) -> None:
    text = "# T\n\n## A\n\nFirst paragraph here.\n\n## B\n\nSecond paragraph here.\n"
    one = split_document(_doc(text), embedder.count_tokens, LIMIT)
    two = split_document(_doc(text), embedder.count_tokens, LIMIT)
    assert [c.id for c in one] == [c.id for c in two]
    changed = split_document(_doc(text.replace("Second", "Other")), embedder.count_tokens, LIMIT)
    assert one[0].id == changed[0].id and one[1].id != changed[1].id


def test_every_shipped_document_splits(embedder) -> None:
    docs, problems = load_corpus(CORPUS, exclude=["README.md"])
    assert problems == [] and len(docs) >= 7
    for doc in docs:
        chunks = split_document(doc, embedder.count_tokens, LIMIT)
        assert chunks, doc.source
        assert all("Sources (as of" not in c.section for c in chunks)


def test_sentence_splitting_is_safe_from_several_threads() -> None:
    """Concurrent answers (UI users, `advisor serve`) split sentences at the same time: each
    thread must get its own text's sentences (a shared pysbd Segmenter mixed them up)."""
    from concurrent.futures import ThreadPoolExecutor

    from advisor.split import segmenter

    texts = [p.read_text(encoding="utf-8")[:3000] for p in sorted(CORPUS.glob("*.md"))]
    assert len(texts) > 4

    def spans(i: int) -> list[tuple[int, int]]:
        return [(s.start, s.end) for s in segmenter().segment(texts[i % len(texts)])]

    expected = [spans(i) for i in range(len(texts))]
    with ThreadPoolExecutor(4) as pool:
        got = list(pool.map(spans, range(len(texts) * 4)))
    assert got == [expected[i % len(texts)] for i in range(len(got))]

"""Loading: every supported format, exact offsets, and a named problem for every bad file."""

from __future__ import annotations

import os
from pathlib import Path

from advisor.load import load_corpus, load_file

from .conftest import CORPUS
from .pdfs import encrypted_pdf, text_pdf


def test_markdown_text_is_the_file_itself() -> None:
    doc = load_file(CORPUS / "ai-project-manager-guide.md", CORPUS)
    with open(CORPUS / "ai-project-manager-guide.md", encoding="utf-8", newline="") as fh:
        assert doc.text == fh.read()
    assert doc.doc_id == "ai-project-manager-guide"
    assert doc.source == "ai-project-manager-guide.md"
    assert doc.title == "How to Become an AI Project Manager in 2025"


def test_every_format_loads(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "notes.txt").write_text("Plain notes about PRINCE2 exams.\n", encoding="utf-8")
    (tmp_path / "sub" / "page.html").write_text(
        "<html><head><title>Scrum page</title><script>alert(1)</script></head><body>"
        "<nav><a href='/'>Home</a> <a href='/about'>About us</a></nav>"
        "<main><h1>Scrum roles</h1><p>A Scrum Team has a Product Owner.</p>"
        "<h2>Accountabilities</h2>"
        "<ul><li>Scrum Master</li><li>Developers</li></ul></main></body></html>",
        encoding="utf-8",
    )
    (tmp_path / "rows.csv").write_text("name,hours\nCSM course,16\n", encoding="utf-8")
    text_pdf(tmp_path / "two.pdf", ["First page about PMP.", "Second page about CSM."])

    docs, problems = load_corpus(tmp_path, exclude=[])
    assert problems == []
    by_id = {d.doc_id: d for d in docs}
    assert set(by_id) == {"notes", "sub/page", "rows", "two"}
    html = by_id["sub/page"]
    assert html.title == "Scrum page"
    assert "## Accountabilities" in html.text and "- Scrum Master" in html.text
    assert "About us" not in html.text  # navigation is not content
    assert "alert" not in html.text  # scripts are not content
    assert "name: CSM course; hours: 16" in by_id["rows"].text
    pdf = by_id["two"]
    assert "First page about PMP." in pdf.text and "Second page about CSM." in pdf.text
    assert pdf.page_at(pdf.text.index("Second page")) == 2
    assert pdf.page_at(0) == 1


def test_bad_files_are_reported_by_name_and_the_rest_loads(tmp_path: Path) -> None:
    (tmp_path / "good.md").write_text(
        "# Good\n\nA readable document about PMP.\n", encoding="utf-8"
    )
    (tmp_path / "binary.md").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00IHDR" * 10)
    (tmp_path / "latin1.txt").write_bytes("Caf\xe9 cr\xe8me, not UTF-8".encode("latin-1"))
    (tmp_path / "empty.md").write_text("", encoding="utf-8")
    (tmp_path / "broken.pdf").write_bytes(b"%PDF-1.4\nthis is not really a pdf")
    plain = text_pdf(tmp_path / "plain.pdf.tmp", ["Secret content."])
    encrypted_pdf(tmp_path / "locked.pdf", plain)
    plain.unlink()
    (tmp_path / "slides.pptx").write_bytes(b"PK\x03\x04")
    (tmp_path / "loop").mkdir()
    os.symlink(tmp_path / "loop", tmp_path / "loop" / "again")

    docs, problems = load_corpus(tmp_path, exclude=[])
    assert [d.doc_id for d in docs] == ["good"]
    reasons = {p.source: p.reason for p in problems}
    assert "binary" in reasons["binary.md"]
    assert "UTF-8" in reasons["latin1.txt"]
    assert "empty" in reasons["empty.md"]
    assert "PDF" in reasons["broken.pdf"]
    assert "encrypted" in reasons["locked.pdf"]
    assert "not a valid Office file" in reasons["slides.pptx"]
    assert any("loop" in source and "loop" in reason for source, reason in reasons.items())


def test_huge_file_is_refused_with_the_limit(tmp_path: Path) -> None:
    (tmp_path / "huge.txt").write_text("word " * 300_000, encoding="utf-8")  # 1.5 MB
    docs, problems = load_corpus(tmp_path, exclude=[], max_file_mb=1)
    assert docs == []
    assert "too large" in problems[0].reason and "ADVISOR_MAX_FILE_MB" in problems[0].reason


def test_external_documents_load(external_docs: Path) -> None:
    docs, problems = load_corpus(external_docs, exclude=["README.md"])
    assert problems == []
    nist = next(d for d in docs if d.doc_id == "nist-ai-rmf-1.0")
    assert nist.page_starts and len(nist.page_starts) > 20  # "---- Page N ----" markers
    govern = nist.text.index("GOVERN")
    assert (nist.page_at(govern) or 0) > 1
    onet = next(d for d in docs if d.source.endswith(".csv"))
    assert "Information Technology Project Managers" in onet.text

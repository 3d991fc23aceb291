"""Converters on real published documents (../shared/real-formats, used in place) and on small
files made here for the cases those do not have (no text layer, letter soup, a zip bomb)."""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

import pytest

from advisor.convert.blocks import Builder, clean_title, join_lines, unreadable_reason, vocabulary
from advisor.load import Unreadable, load_corpus, load_file

REAL = Path(__file__).resolve().parent.parent.parent / "shared" / "real-formats"


@pytest.fixture(scope="module")
def real() -> dict[str, object]:
    if not REAL.is_dir():
        pytest.skip(f"{REAL} is not present (it sits beside the clone in CI)")
    docs, problems = load_corpus(REAL, ["README.md"])
    assert not [p for p in problems if p.skipped], problems
    return {d.doc_id: d for d in docs}


def flat(text: str) -> str:
    return " ".join(text.split())


def test_every_real_format_loads_with_a_real_title(real) -> None:
    assert len(real) == 10
    for doc in real.values():
        assert doc.title and "://" not in doc.title
        assert not re.search(r"(.{12,})\1", doc.title), doc.title  # never doubled
    assert real["usajobs-help-what-to-include-in-federal-resume"].title == (
        "What should I include in my federal resume?"
    )  # the page's own title, without the site name
    assert real["pep-0001-purpose-and-guidelines"].title == "PEP Purpose and Guidelines"
    # no metadata title: its first heading, the bold title of its first page, names it (the
    # bold "Executive Summary" below it is a heading of its own)
    assert real["techfar-handbook-v1.01"].title == (
        "TechFAR Handbook for Procuring Digital Services Using Agile Processes"
    )
    assert {d.format for d in real.values()} >= {"PDF", "Word", "PowerPoint", "HTML", "Excel"}


def test_a_two_column_report_reads_in_order_without_its_running_footer(real) -> None:
    doc = real["cio-council-future-of-federal-it-workforce-update-2020"]
    sentence = "which replaced the previous GS-0334 series in June 2001."
    at = doc.text.find(sentence)
    assert at > 0  # one paragraph, read down the column, not across it
    assert doc.page_at(at) == 6
    assert "Future of the Federal IT Workforce Update |" not in doc.text  # the running footer
    # a word hyphenated across a line break is joined; a hyphenated compound keeps its hyphen
    assert "mission-driven delivery" in doc.text


def test_footnote_markers_stay_out_of_sentences(real) -> None:
    doc = real["techfar-handbook-v1.01"]
    at = doc.text.find("The 1-4 week sprint cycle turns user stories into implementable")
    assert at > 0 and doc.page_at(at) == 6  # the PDF's 6th page, printed as "3" after i-iii
    assert "Federal Acquisition Certification in Program/Project Management" in flat(doc.text)


def test_slides_keep_their_titles_and_drop_the_logo(real) -> None:
    doc = real["18f-how-to-run-an-agile-project-in-government-slides"]
    assert "down to a single 40-minute presentation" in doc.text
    assert doc.pages == 38 and len(doc.page_starts) == 38
    assert "\nConsulting\n" not in doc.text  # the logo text on every page
    assert "## Why is Agile harder in Government than in private industry?" in doc.text


def test_word_documents_keep_headings_tables_and_sentences(real) -> None:
    template = real["18f-agile-software-development-solicitation-template"]
    assert "an agile development team of 4-8 people will cost around $1.5 - 2M per year" in (
        template.text
    )
    assert "Minimum of 90% test coverage of all code" in template.text
    assert "## 2.1 Product Vision" in template.text  # a section number typed by hand
    resume = real["usajobs-writing-your-federal-resume"]
    assert "Fact 1: The Federal Government does not require a standard job application." in (
        resume.text
    )
    assert resume.text.count("What’s in a JOA?") == 1  # a merged layout cell, read once


def test_a_web_page_keeps_its_main_content_only(real) -> None:
    doc = real["usajobs-help-what-to-include-in-federal-resume"]
    assert "An official website of the United States government" not in doc.text
    assert "## Before you get started" in doc.text
    series = real["usajobs-help-filter-by-series"]
    assert "### 2200 – Information Technology" in series.text


def test_a_deck_has_one_page_per_slide_and_no_template_prompts(real) -> None:
    doc = real["usds-techfar-hub-v3-project-initiation"]
    assert doc.pages == 14 and len(doc.page_starts) == 14
    assert "[Presenter name]" not in doc.text
    assert doc.text.startswith("## TechFar Hub v3")


def test_a_workbook_row_is_one_item_with_its_column_names(real) -> None:
    doc = real["bls-occupational-projections-2019-29-occupation"]
    rows = [
        line
        for line in doc.text.splitlines()
        if "13-1198" in line and "Median annual wage, 2020(1): 77,420" in line
    ]
    assert rows and all(r.startswith("- ") for r in rows)
    assert "Employment, 2019: 1,361.8" in rows[0]  # numbers as the sheet shows them


def test_chunks_of_real_documents_index_the_loaded_text(real, embedder) -> None:
    from advisor.split import split_document

    for doc_id in ("techfar-handbook-v1.01", "pep-0001-purpose-and-guidelines"):
        doc = real[doc_id]
        chunks = split_document(doc, embedder.count_tokens, 200)
        assert chunks
        for c in chunks:
            assert c.text == doc.text[c.start : c.end]
            for u in c.units:
                assert doc.text[u.start : u.end].strip()


def test_a_hard_wrapped_sentence_is_one_unit(real, embedder) -> None:
    from advisor.split import split_document

    doc = real["pep-0001-purpose-and-guidelines"]
    chunks = split_document(doc, embedder.count_tokens, 200)
    units = [flat(doc.text[u.start : u.end]) for c in chunks for u in c.units]
    wanted = "PEP stands for Python Enhancement Proposal."
    assert any(u.startswith(wanted) and u.endswith(".") for u in units)
    # no unit of a wrapped paragraph stops at a line end in mid-sentence
    starts = [u for u in units if u.startswith("A PEP is a design document providing")]
    assert starts and starts[0].endswith(".")


# ----------------------------------------------------------------- made here


def test_a_contents_heading_is_not_a_title() -> None:
    from advisor.load import _first_heading

    assert _first_heading("# Table of Contents\n\n# Field Guide to Hiring\n", 0) == (
        "Field Guide to Hiring"
    )
    assert _first_heading("# Field Guide — Contents\n", 0) == "Field Guide"


def test_titles_are_never_urls_doubled_or_placeholders() -> None:
    assert clean_title("https://example.gov/report.pdf") is None
    assert clean_title("Microsoft Word - draft_v3.docx") is None
    assert clean_title("untitled") is None
    doubled = "Risk in Government IT: A State Field GuideGovernment IT: A State Field Guide"
    assert clean_title(doubled) == "Risk in Government IT: A State Field Guide"
    assert clean_title("Future of the Federal IT Workforce") == "Future of the Federal IT Workforce"


def test_line_breaks_and_hyphenation_are_repaired_from_the_documents_own_words() -> None:
    vocab = vocabulary(["illustrated mission-driven"])
    assert join_lines(["As illus-", "trated in Figure 5"], vocab) == "As illustrated in Figure 5"
    assert join_lines(["a mission-", "driven team"], vocab) == "a mission-driven team"


def test_letter_soup_and_glyph_codes_are_not_text() -> None:
    assert unreadable_reason("(cid:12)(cid:44) (cid:3)(cid:87) " * 20)
    assert unreadable_reason("xqzt vbnkw plrtq zzkx bcdfg hjklm npqrs " * 10)
    assert unreadable_reason("The sprint ends with a review of the work that was done.") is None
    # fragments of a slide deck are still words
    assert unreadable_reason("Agile Development vs Waterfall Development Benefits Risks") is None


def _pdf(tmp_path: Path, text: str | None) -> Path:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("helvetica", size=12)
    if text:
        pdf.multi_cell(0, 8, text)
    else:
        pdf.rect(20, 20, 100, 60, style="F")  # an image-like page with no text layer
    path = tmp_path / "report.pdf"
    path.write_bytes(bytes(pdf.output()))
    return path


def test_a_pdf_without_readable_text_is_reported_and_kept_out(tmp_path: Path) -> None:
    _pdf(tmp_path, None)
    soup = _pdf(tmp_path, "Wkh vsulqw hqgv zlwk d uhylhz " * 3 + "qzxv bcrtk " * 30)
    soup.rename(tmp_path / "soup.pdf")
    _pdf(tmp_path, None)
    docs, problems = load_corpus(tmp_path, [])
    assert not docs
    reasons = {p.source: p.reason for p in problems}
    assert set(reasons) == {"report.pdf", "soup.pdf"}
    assert all("no readable text" in r for r in reasons.values())


def test_a_pdf_made_here_keeps_its_paragraph_and_page(tmp_path: Path) -> None:
    text = (
        "Sprint reviews happen at the end of every sprint. The team shows the increment to "
        "stakeholders and asks for feedback on what to build next, which keeps the product "
        "close to what its users need."
    )
    path = _pdf(tmp_path, text)
    doc = load_file(path, tmp_path)
    assert flat(text) in flat(doc.text)
    assert doc.page_at(doc.text.find("Sprint reviews")) == 1


def test_a_paragraph_opening_with_a_one_letter_word_is_not_a_list_item(tmp_path: Path) -> None:
    # "A" and "I" are words, not bullets: taken for one, the page's text became one list item
    # that lost its first word
    text = (
        "A number of agencies have used agile methods to reduce the time to value. "
        "I would add that most of them started with one small team."
    )
    doc = load_file(_pdf(tmp_path, text), tmp_path)
    assert flat(text) in flat(doc.text)
    assert "- " not in doc.text


def test_a_real_page_opening_with_a_keeps_its_first_word(real) -> None:
    text = real["techfar-handbook-v1.01"].text
    at = text.find("number of agencies have used")
    assert text[at - 2 : at] == "A "
    assert text[text.rfind("\n", 0, at) + 1 :].startswith("A number")


def test_a_symbol_font_bullet_starts_a_list_item(real) -> None:
    # the TechFAR's box on DOD's results sets its bullets in Wingdings: private-use glyphs
    text = real["techfar-handbook-v1.01"].text
    assert "\n- A reduction in the average number of days" in text
    assert "\n- A massive reduction in Help Desk tickets by 87%;" in text
    assert not any("\ue000" <= ch <= "\uf8ff" for ch in text)


def test_lettered_sub_items_are_list_items(real) -> None:
    # slide 32 of the 18F deck: "4. Devote 20% of every week to learning." then "a." to "f."
    text = real["18f-how-to-run-an-agile-project-in-government-slides"].text
    assert "\n- Learn to use GitHub.\n- Learn to code in Javascript.\n" in text
    assert "b. Learn" not in text


def test_a_bold_box_title_is_a_heading_not_the_start_of_its_text(real) -> None:
    text = real["techfar-handbook-v1.01"].text
    title = "Use of Agile Processes by DOD’s Defense Health Service Systems to Improve Medical"
    assert f"\n#### {title} Readiness\n\nStarting in 2012, DOD used Agile (Scrum)" in text


def test_a_number_inside_a_table_row_is_kept(real) -> None:
    # "0001 | Baselining effort | 100 | day": the quantity is a value, not a page number,
    # while the numbers in the Q&A boxes' margins stay out of the questions
    text = real["techfar-handbook-v1.01"].text
    assert "- 100 day" in text
    assert "? 3 Answer" not in flat(text) and "? 2 Answer" not in flat(text)


def _zip(tmp_path: Path, name: str, members: dict[str, bytes]) -> Path:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for member, data in members.items():
            z.writestr(member, data)
    path = tmp_path / name
    path.write_bytes(buf.getvalue())
    return path


def test_a_zip_bomb_posing_as_word_is_refused_before_it_is_opened(tmp_path: Path) -> None:
    path = _zip(tmp_path, "cv.docx", {"word/document.xml": b"\0" * 200_000_000})
    assert path.stat().st_size < 1_000_000
    with pytest.raises(Unreadable, match="refused"):
        load_file(path, tmp_path)


def test_a_file_renamed_to_docx_is_reported_by_name(tmp_path: Path) -> None:
    (tmp_path / "notes.docx").write_text("just text, not a Word file")
    _zip(tmp_path, "slides.pptx", {"other/thing.xml": b"<x/>"})
    docs, problems = load_corpus(tmp_path, [])
    assert not docs
    reasons = {p.source: p.reason for p in problems}
    assert "not a valid Office file" in reasons["notes.docx"]
    assert "not a valid Office file" in reasons["slides.pptx"]


def test_word_powerpoint_and_excel_made_here(tmp_path: Path) -> None:
    import docx
    import openpyxl
    import pptx

    d = docx.Document()
    d.core_properties.title = "https://intranet.example/cv.docx"  # not a title
    d.add_heading("Onboarding Guide", 1)
    d.add_paragraph("New starters meet their mentor on the first day.")
    d.add_paragraph("Laptop", style="List Bullet")
    table = d.add_table(rows=2, cols=2)
    table.cell(0, 0).text, table.cell(0, 1).text = "Week", "Task"
    table.cell(1, 0).text, table.cell(1, 1).text = "1", "Security training"
    d.save(tmp_path / "guide.docx")

    deck = pptx.Presentation()
    slide = deck.slides.add_slide(deck.slide_layouts[1])
    slide.shapes.title.text = "Quarterly Goals"
    slide.placeholders[1].text_frame.text = "Ship the new search"
    slide.placeholders[1].text_frame.add_paragraph().text = "Hire two engineers"
    deck.save(tmp_path / "goals.pptx")

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Salaries by role (USD)"])
    sheet.append(["Role", "Median", "Region"])
    sheet.append(["Analyst", 72000, "East"])
    book.save(tmp_path / "pay.xlsx")

    docs, problems = load_corpus(tmp_path, [])
    assert not problems
    by = {d.doc_id: d for d in docs}
    assert by["guide"].title == "Onboarding Guide"
    assert "## Onboarding Guide" in by["guide"].text
    assert "- Laptop" in by["guide"].text
    assert "- Week: 1; Task: Security training" in by["guide"].text
    assert "## Quarterly Goals\n\n- Ship the new search\n- Hire two engineers" in by["goals"].text
    assert by["goals"].pages == 1
    assert "## Salaries by role (USD)" in by["pay"].text
    assert "- Role: Analyst; Median: 72000; Region: East" in by["pay"].text


def test_builder_keeps_markdown_syntax_out_of_paragraphs() -> None:
    b = Builder()
    b.paragraph("1. This sentence starts with a number but is a paragraph of prose.")
    text = b.build().text
    assert text.strip().endswith("prose.") and not text.startswith("1.")


def test_a_question_about_a_file_that_could_not_be_indexed_says_so(tmp_path: Path, embedder):
    from advisor import Advisor
    from advisor.config import Settings

    corpus = tmp_path / "docs"
    corpus.mkdir()
    (corpus / "onboarding.md").write_text(
        "# Onboarding\n\nNew starters meet their mentor on the first day and get a laptop.\n",
        encoding="utf-8",
    )
    (corpus / "budget-report-2024.pdf").write_bytes(b"just text, not a PDF at all")
    adv = Advisor(Settings(corpus_dir=corpus, index_dir=tmp_path / "index"), embedder=embedder)
    report = adv.index()
    assert [p.source for p in report.problems] == ["budget-report-2024.pdf"]
    named = adv.invoke({"question": "What does the budget report for 2024 say about travel?"})
    assert named.notice and "budget-report-2024.pdf could not be indexed" in named.notice
    other = adv.invoke({"question": "When do new starters meet their mentor?"})
    assert not other.notice or "could not be indexed" not in other.notice


def test_a_footnote_is_a_paragraph_of_its_own(real) -> None:
    # two footnotes at a page's foot, each opening with its raised number: neither runs into
    # the other, nor into the body text
    text = real["techfar-handbook-v1.01"].text
    note = "One of the core features of all agile processes is small team size"
    at = text.find(note)
    assert at > 0 and text[at - 2 : at] == "\n\n"
    assert "certification-and-career-development-programs One" not in text


def test_a_cell_with_a_semicolon_keeps_its_row_a_row() -> None:
    from advisor.types import is_record_text, record_cells

    builder = Builder()
    builder.row(
        ["Title", "Code", "Wage"],
        ["Home health aides; and nursing assistants", "31-1100", "28,270"],
    )
    text = builder.build().text
    assert is_record_text(text)
    assert record_cells(text) == ["Home health aides, and nursing assistants", "31-1100", "28,270"]


def test_a_list_item_that_goes_on_in_the_next_paragraph_is_one_item() -> None:
    b = Builder()
    b.item("Then, decide whether to upload your résumé,")
    b.paragraph("build one using the résumé builder, or both.")
    b.row(["Title", "Code", "Wage"], ["Bakers", "51-3011", "29,400"])
    b.paragraph("wage data cover non-farm wage and salary workers only.")
    text = b.build().text
    assert "- Then, decide whether to upload your résumé, build one using" in text
    assert "\n\nwage data cover" in text  # a table row is never continued


def test_a_label_under_a_table_is_a_note_not_a_row(tmp_path: Path) -> None:
    path = tmp_path / "wages.csv"
    path.write_text(
        "Occupation,Employment,Wage\nBakers,200,29400\nFootnotes:,,\n"
        "(1) Data are from the Occupational Employment Statistics program.,,\n"
    )
    text = load_file(path, tmp_path).text
    assert "Occupation: Footnotes" not in text
    assert "\nFootnotes:\n" in text

"""What the structure of a user's documents does to an answer, on small corpora made here and
indexed with the real model: table rows are quoted for the row asked about, a list cut by a
chunk boundary is quoted whole, a catalogue entry comes with its heading, and dense search is
exact (the same ranking HNSW gives on a corpus where HNSW does not miss)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from advisor import Advisor
from advisor.config import Settings

OCCUPATIONS = [
    ("Registered nurses", "75,330"),
    ("Nurse practitioners", "111,680"),
    ("Software developers", "110,140"),
    ("Plumbers, pipefitters, and steamfitters", "56,330"),
    ("Bakers", "28,830"),
    ("Chefs and head cooks", "53,380"),
    ("Web developers", "77,200"),
    ("Dental hygienists", "77,090"),
]


def _table(path: Path, rows: list[tuple[str, str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(["Occupation title", "Median annual wage", "Typical job title"])
        for name, wage in rows:
            out.writerow([name, wage, "Line item"])


@pytest.fixture(scope="module")
def structured(tmp_path_factory: pytest.TempPathFactory, embedder) -> Advisor:
    corpus = tmp_path_factory.mktemp("structured")
    _table(corpus / "wages-2020.csv", OCCUPATIONS)
    _table(corpus / "wages-2020-by-sector.csv", OCCUPATIONS[:3])
    (corpus / "resume-help.md").write_text(
        "# Writing your resume\n\n"
        "## Work experience\n\n"
        "For each job you list, give the job title, the hours you worked per week and your "
        "salary. An entry such as Program Analyst, 40 hours per week, $63,000 per year shows "
        "all three.\n\n"
        "## Skills you can list\n\n"
        "Hiring managers look for skills they can check. The skills worth listing are:\n\n"
        + "".join(
            f"- {skill}, described with one example of where you used it and what came of "
            "it for the team you worked with at the time.\n"
            for skill in [
                "Budgeting",
                "Scheduling",
                "Negotiation",
                "Public speaking",
                "Technical writing",
                "Data analysis",
                "Vendor management",
                "Mentoring",
            ]
        )
        + "\n## Job series\n\n"
        + "".join(
            f"### {code} – {name}\n\n{text}\n\n"
            for code, name, text in [
                (
                    "3500",
                    "General Services and Support Work",
                    "Jobs that need little or no specialized training or work experience to enter.",
                ),
                (
                    "3600",
                    "Structural and Finishing Work",
                    "Jobs that build, finish and repair walls, floors and roofs.",
                ),
                ("3700", "Metal Processing", "Jobs that melt, cast and treat metals."),
                ("3800", "Metal Work", "Jobs that shape and join metal parts."),
                ("4100", "Painting and Paperhanging", "Jobs that paint and paper surfaces."),
            ]
        ),
        encoding="utf-8",
    )
    (corpus / "planning-deck.md").write_text(
        "# Quarterly Planning Deck\n\n- Planning office\n- Presenter name // month year\n\n"
        "## Goals\n\nThe quarterly planning meeting agrees the three priorities for the next "
        "quarter and names an owner for each of them.\n",
        encoding="utf-8",
    )
    settings = Settings(
        corpus_dir=corpus, index_dir=tmp_path_factory.mktemp("structured-index"), chunk_tokens=90
    )
    adv = Advisor(settings, embedder=embedder)
    adv.index()
    return adv


def test_rows_are_quoted_for_the_row_asked_about_not_for_shared_column_words(structured):
    about_cv = structured.invoke(
        {"question": "What should a work experience entry show for job title, hours and salary?"}
    )
    assert "40 hours per week" in about_cv.answer
    assert not any(c.source.endswith(".csv") for c in about_cv.citations), about_cv.answer
    about_row = structured.invoke({"question": "What is the median annual wage of bakers?"})
    assert "28,830" in about_row.answer


def test_a_row_repeated_in_another_table_is_quoted_once(structured):
    answer = structured.invoke({"question": "median annual wage of registered nurses"})
    assert "75,330" in answer.answer
    assert answer.answer.count("Registered nurses") == 1, answer.answer


def test_a_list_cut_by_a_chunk_boundary_is_quoted_whole(structured):
    view = structured.searcher.view()
    cut = [c for c in view.chunks if "Mentoring" in c.text and "skills worth listing" not in c.text]
    assert cut, "the list is not cut by a chunk boundary: make chunk_tokens smaller"
    answer = structured.invoke({"question": "Which skills are worth listing on a resume?"})
    assert "skills worth listing" in answer.answer
    assert "Mentoring" in answer.answer, answer.answer


def test_a_catalogue_entry_is_quoted_with_its_heading(structured):
    answer = structured.invoke(
        {"question": "which series has jobs needing little or no specialized training?"}
    )
    assert "3500 – General Services and Support Work" in answer.answer, answer.answer
    plain = structured.invoke({"question": "What salary does a Program Analyst entry show?"})
    assert "**Work experience**" not in plain.answer  # a section with no siblings: no heading


def test_exact_dense_search_ranks_as_the_index_does_and_is_saved(structured, embedder, tmp_path):
    view = structured.searcher.view()
    assert view.chunk_vectors is not None and view.unit_vectors is not None
    folder = structured.settings.tables_path / view.generation.name
    assert (folder / "chunks-vectors.npy").is_file() and (folder / "units-vectors.npy").is_file()
    approximate = Advisor(
        structured.settings.model_copy(update={"exact_search_limit": 0}), embedder=embedder
    )
    assert approximate.searcher.view().chunk_vectors is None
    for question in ["median annual wage of bakers", "skills worth listing", "metal work jobs"]:
        vector = embedder.embed([question])[0]
        exact = view.dense_search(vector, 5)
        hnsw = approximate.searcher.view().dense_search(vector, 5)
        assert list(exact) == list(hnsw)
        assert all(abs(exact[k] - hnsw[k]) < 1e-4 for k in exact)


def test_a_how_many_question_needs_a_number_of_what_it_counts(structured):
    counted = structured.invoke({"question": "How many hours per week does the example show?"})
    assert not counted.declined and "40 hours per week" in counted.answer
    # passages about the skills to list exist, but none says how many to list
    uncounted = structured.invoke({"question": "How many skills should a resume list at most?"})
    assert uncounted.declined, uncounted.answer


def test_a_title_page_is_not_quoted_for_a_question_naming_its_document(structured):
    view = structured.searcher.view()
    titles = [view.chunks[view.position[cid]].text for cid in view.title_pages]
    assert any("Presenter name" in t for t in titles), titles
    answer = structured.invoke({"question": "What does the quarterly planning deck agree?"})
    assert "three priorities" in answer.answer
    assert "Presenter name" not in answer.answer, answer.answer


def test_each_row_of_a_passage_is_named_by_its_own_first_cell(structured):
    view = structured.searcher.view()
    rows = (
        "- Occupation title: Total, all occupations; Median annual wage: 41,950\n"
        "- Occupation title: STEM occupations(2); Median annual wage: 89,780"
    )
    # the second row's name, its footnote mark left out, is in the question
    assert view.names_row(rows, "What is the median annual wage for STEM occupations?")
    assert not view.names_row(rows, "What is the median annual wage for bakers?")


def test_only_the_named_row_of_a_passage_of_rows_is_quoted(structured):
    answer = structured.invoke({"question": "What is the median annual wage of dental hygienists?"})
    assert "77,090" in answer.answer
    assert "Bakers" not in answer.answer and "28,830" not in answer.answer, answer.answer


SLIDES = [
    ("Harbor Portal Relaunch", "- Project initiation\n- Presenter name // month year"),
    (
        "Vision",
        "For port operators, Harbor Portal is the leading source of shipping schedules. "
        "Unlike other sites, Harbor Portal is focused on the harbour alone.",
    ),
    (
        "Executive summary",
        "The current Harbor Portal site was valuable when it was launched, but it has gone "
        "stale since. Harbor Portal can become the place people check first again.",
    ),
    ("Why Harbor Portal?", "Harbor Portal is the only site that joins berth and customs data."),
    (
        "Objectives and Key Results",
        "Objective: Update the site content to be fresh and easy to navigate.\n\n"
        "- Key result 1: Devise a research-backed information architecture\n"
        "- Key result 2: Audit current content and retire pages nobody reads\n"
        "- Key result 3: Publish a monthly digest of schedule changes",
    ),
    ("Audience", "- Port operators\n- Freight forwarders\n- Customs brokers"),
    ("Research plan", "We will interview twelve users in the first month."),
    ("Timeline", "The work runs in three phases over two quarters."),
    ("Communications", "Announcements go out through the newsletter every second week."),
    ("Team", "A product lead, a designer and two engineers do the work."),
    ("Risks", "The main risk is that the schedule data arrives late."),
]


@pytest.fixture(scope="module")
def deck(tmp_path_factory: pytest.TempPathFactory, embedder) -> Advisor:
    corpus = tmp_path_factory.mktemp("deck")
    (corpus / "harbor-portal-relaunch.md").write_text(
        "# Harbor Portal Relaunch\n\n"
        + "".join(f"## {title}\n\n{body}\n\n" for title, body in SLIDES[1:]),
        encoding="utf-8",
    )
    (corpus / "shipping-glossary.md").write_text(
        "# Shipping glossary\n\n## Berth\n\nA berth is the place in a port where a ship is "
        "moored to load or unload.\n\n## Manifest\n\nA manifest lists the cargo a ship carries.\n",
        encoding="utf-8",
    )
    settings = Settings(corpus_dir=corpus, index_dir=tmp_path_factory.mktemp("deck-index"))
    adv = Advisor(settings, embedder=embedder)
    adv.index()
    return adv


def test_the_words_that_name_a_document_do_not_choose_its_passage(deck):
    """Every slide holds the deck's title; the slides that also say "Harbor Portal" in their
    text are not the answer to a question about its key results."""
    view = deck.searcher.view()
    doc = next(c.doc_id for c in view.chunks if "Key result 1" in c.text)
    assert view.without_document_words("What are the Harbor Portal key results?", doc) == (
        "What are the key results?"
    )
    question = "What are the key results for the Harbor Portal relaunch objective?"
    # inside the deck, the question without its name ranks the key results slide first (by
    # their best sentence the slides that say "Harbor Portal" come first)
    vector = deck.embedder.embed([question])[0]
    inside = deck.searcher._lead_document_ranking(view, question, view.dense_search(vector, 20))
    best = max(inside, key=inside.__getitem__)
    assert view.chunks[view.position[best]].section == "Objectives and Key Results"
    answer = deck.invoke({"question": question})
    assert "Devise a research-backed information architecture" in answer.answer, answer.answer
    assert "Audit current content" in answer.answer, answer.answer


def test_an_acronym_the_documents_write_out_is_known(deck):
    """No slide says "OKRs", but one is headed "Objectives and Key Results": the question is
    about the deck, not about something it lacks (an acronym no document has declines)."""
    lexical = deck.searcher.view().lexical
    assert lexical.unknown_names("What are the Harbor Portal OKRs?") == []
    assert lexical.unknown_names("What are the Harbor Portal KPIs?") == ["KPIs"]
    answer = deck.invoke({"question": "What is key result 2 of the Harbor Portal OKRs?"})
    assert not answer.declined and "Audit current content" in answer.answer, answer.answer


WORK = [
    "the repair of farm machinery",
    "the care of public parks",
    "the printing of forms",
    "the packing of goods for storage",
    "the upkeep of roads",
    "the cleaning of buildings",
    "the preparation and serving of food",
    "the laundering of linen",
    "the fitting of pipes",
    "the wiring of offices",
    "the painting of bridges",
    "the repair of engines",
    "the handling of mail",
    "the driving of trucks",
    "the running of boilers",
    "the baking of bread",
    "the guarding of premises",
    "the sorting of records",
    "the care of animals",
    "the testing of water",
]


def _indexed(factory: pytest.TempPathFactory, embedder, name: str, text: str, **overrides):
    """An advisor over one Markdown document `name`.md, indexed with the real model."""
    corpus = factory.mktemp(name)
    (corpus / f"{name}.md").write_text(text, encoding="utf-8")
    settings = Settings(corpus_dir=corpus, index_dir=factory.mktemp(f"{name}-index"), **overrides)
    adv = Advisor(settings, embedder=embedder)
    adv.index()
    return adv


def _series_entries() -> str:
    """One section per series of WORK, alike but for their code and their work."""
    return "".join(
        f"## {4000 + 100 * i} – Trade group {i}\n\nOccupations involved in {work}.\n\n"
        for i, work in enumerate(WORK)
    )


@pytest.fixture(scope="module")
def series(tmp_path_factory: pytest.TempPathFactory, embedder) -> Advisor:
    text = "# Job series\n\n" + _series_entries()
    return _indexed(tmp_path_factory, embedder, "job-series", text)


def test_a_code_in_the_question_finds_the_passage_that_holds_it(series):
    """Twenty sibling entries alike but for their code and their work: the code means nothing to
    the embedding model, so the passage that holds the code asked about is ranked by it."""
    question = "What kind of work falls under series 4600?"  # the food one
    retrieval = series.retrieve(question)
    assert "4600" in retrieval.hits[0].chunk.section, [h.chunk.section for h in retrieval.hits]
    answer = series.invoke({"question": question})
    assert "preparation and serving of food" in answer.answer, answer.answer


@pytest.fixture(scope="module")
def filter_page(tmp_path_factory: pytest.TempPathFactory, embedder) -> Advisor:
    text = (
        "# How to filter results by series\n\n"
        "You can filter your results by series if you know what kind of job you want.\n\n"
        "- Go to More Filters.\n- Scroll down to Series.\n- Tick every series you want.\n\n"
        "Below is a description of the jobs in each series.\n\n"
    ) + _series_entries()
    return _indexed(tmp_path_factory, embedder, "filter-by-series", text)


def test_a_title_word_few_passages_say_marks_the_one_that_does(filter_page, monkeypatch):
    """Every passage of the page is indexed under its title, "How to filter results by
    series"; only one says in its own text how to filter, and that is the answer."""
    import advisor.retrieve as retrieve

    view = filter_page.searcher.view()
    doc = view.chunks[0].doc_id
    share = view.naming_share(view.lexical.tokenize(["filter trade"])[0], doc)
    assert share["filter"] < 0.1 and share["trade"] > 0.9  # "trade" is in headings only
    question = "How do I filter my search results by series?"
    answer = filter_page.invoke({"question": question})
    assert "Go to More Filters" in answer.answer, answer.answer
    monkeypatch.setattr(retrieve, "RARE_IN_TEXT", -1.0)  # title words always name the page
    assert view.naming_share(["filter"], doc)["filter"] == 1.0


@pytest.fixture(scope="module")
def handbook(tmp_path_factory: pytest.TempPathFactory, embedder) -> Advisor:
    text = (
        "# Contracts handbook\n\n## Pricing\n\n"
        "Question – Must agencies only use fixed-price contracts for agile software work? "
        "Answer – The pricing structure is chosen as it is for any other purchase. "
        "Incentive fees can reward a team that ships early. The contracting officer records "
        "the reasons in the file. Options let the buyer extend a good team's work. A review "
        "each quarter checks that the work still meets the need.\n\n"
        "## Length\n\nA contract for agile work should run no longer than five years in total.\n"
    )
    # no passage quoted whole: the units are chosen one by one
    return _indexed(tmp_path_factory, embedder, "contracts-handbook", text, whole_passage_chars=0)


def test_a_question_quoted_from_a_document_comes_with_its_reply(handbook):
    answer = handbook.invoke(
        {"question": "Must agencies only use fixed-price contracts for agile?"}
    )
    assert "chosen as it is for any other purchase" in answer.answer, answer.answer


@pytest.fixture(scope="module")
def projections(tmp_path_factory: pytest.TempPathFactory, embedder) -> Advisor:
    corpus = tmp_path_factory.mktemp("projections")
    with (corpus / "projections.csv").open("w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(["Occupation title", "Employment, 2029", "Median annual wage, 2020"])
        for i, (name, wage) in enumerate(OCCUPATIONS):
            out.writerow([name, f"{120 + 7 * i}.4", wage])
    settings = Settings(corpus_dir=corpus, index_dir=tmp_path_factory.mktemp("projections-idx"))
    adv = Advisor(settings, embedder=embedder)
    adv.index()
    return adv


def test_a_column_the_table_has_only_for_another_year_is_not_asked_of_it(projections):
    """The table has the 2020 wage and the 2029 employment: "the 2029 wage" is not in it, and
    quoting the 2020 wage would answer another question."""
    view = projections.searcher.view()
    doc = view.chunks[0].doc_id
    assert view.lacks_asked_column(doc, "What is the projected 2029 median annual wage of bakers?")
    assert not view.lacks_asked_column(doc, "What was the 2020 median annual wage of bakers?")
    assert not view.lacks_asked_column(doc, "What is the median annual wage of bakers?")
    assert not view.lacks_asked_column(doc, "What is the projected 2029 employment of bakers?")
    # the tables' span of years is not the year of a column
    spanned = "In the 2019-29 projections, what is the median annual wage of bakers?"
    assert not view.lacks_asked_column(doc, spanned)
    # (answers: the workbook's rows in evals/datasets/real-formats-holdout4 and -holdout5)


def test_the_llm_path_does_not_answer_a_column_the_table_lacks(projections):
    """As in the extractive path, the rows of a table with only the 2020 wage are not given to
    a model asked for the 2029 wage (a small model would quote the 2020 figure); the 2029
    employment, which the table has, is still answered by the model."""
    from langchain_core.language_models import GenericFakeChatModel
    from langchain_core.messages import AIMessage

    settings = projections.settings.model_copy(update={"llm": "scripted"})

    def with_model(reply: str) -> Advisor:
        model = GenericFakeChatModel(messages=iter([AIMessage(reply)]))
        return Advisor(settings, llm=model, embedder=projections.embedder, store=projections.store)

    # a one-table corpus: "bakers", said in one passage of two, still names its row
    employment = "What is the projected 2029 employment of bakers?"
    extractive = projections.invoke({"question": employment})
    assert not extractive.declined and "148.4" in extractive.answer, extractive.answer
    lacking = "What is the projected 2029 median annual wage of bakers?"
    answer = with_model("Bakers earn $30,500 [1].").invoke({"question": lacking})
    assert answer.declined and not answer.citations, answer.answer
    asked = projections.retrieve("What is the projected 2029 employment of bakers?")
    n = next(i for i, h in enumerate(asked.hits, 1) if "Bakers" in h.chunk.text)
    row = asked.hits[n - 1].chunk.text
    figure = row.split("Employment, 2029: ")[1].split(";")[0].strip()
    answer = with_model(f"Bakers' employment in 2029 is projected at {figure} [{n}].").invoke(
        {"question": "What is the projected 2029 employment of bakers?"}
    )
    assert not answer.declined and figure in answer.answer, answer.answer


@pytest.fixture(scope="module")
def wide(tmp_path_factory: pytest.TempPathFactory, embedder) -> Advisor:
    corpus = tmp_path_factory.mktemp("wide")
    columns = ["Occupation title", "Code", "Employment, 2019", "Employment, 2029",
               "Employment change, numeric, 2019-29", "Employment change, percent, 2019-29",
               "Openings, annual average",
               "Median annual wage, 2020", "Typical education needed for entry"]
    with (corpus / "projections.csv").open("w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(columns)
        for i, (name, wage) in enumerate(OCCUPATIONS):
            out.writerow([name, f"{11 + i}-10{i}1", f"{110 + 7 * i}.2", f"{120 + 7 * i}.4",
                          f"{10 + i}.2", f"{3 + i}.5", f"{9 + i}.7", wage,
                          "High school diploma or equivalent"])
    settings = Settings(corpus_dir=corpus, index_dir=tmp_path_factory.mktemp("wide-idx"))
    adv = Advisor(settings, embedder=embedder)
    adv.index()
    return adv


def test_a_wide_row_shows_the_column_asked_for_and_is_cited_whole(wide):
    """Of a wide row, the answer shows its name and the columns the question asks about, not
    every cell; the citation is still the whole row (what the user can check it against)."""
    wage = wide.invoke({"question": "What was the 2020 median annual wage of bakers?"})
    assert "Bakers; Median annual wage, 2020: 28,830" in wage.answer, wage.answer
    assert "Employment" not in wage.answer and "Openings" not in wage.answer, wage.answer
    assert any("Employment, 2029" in c.text for c in wage.citations)
    asked = "What is the projected 2029 employment of bakers?"
    employment = wide.invoke({"question": asked})
    assert "Employment, 2029: 148.4" in employment.answer, employment.answer
    assert "Employment, 2019" not in employment.answer, employment.answer  # another year
    assert "wage" not in employment.answer, employment.answer
    # a measure given in two units: both, whichever the question named
    change = wide.invoke({"question": "By what percent will employment of bakers change?"})
    assert "Employment change, percent, 2019-29: 7.5" in change.answer, change.answer
    assert "Employment change, numeric, 2019-29: 14.2" in change.answer, change.answer
    assert "Employment, 2029" not in change.answer, change.answer
    # a question about the row as a whole gets every cell
    whole = wide.invoke({"question": "What do the projections say about bakers?"})
    assert "148.4" in whole.answer and "28,830" in whole.answer, whole.answer

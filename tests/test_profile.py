"""The CV check: items read from the guide's structure, matching on CVs of several professions
and formats (real MiniLM), exact citations, the JSON of `advisor profile`, and chat answers."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from advisor import Checklist, Settings, check_cv
from advisor.cli import app as cli_app
from advisor.errors import ConfigError, UploadError
from advisor.load import load_file
from advisor.profile import CvChecker, asks_about_own_plan, cv_sentences, guide_items, plan_answer

from .cv_files import CVS, accuracy, cv_files, expected

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus"
GUIDE = CORPUS / "ai-project-manager-guide.md"


@pytest.fixture(scope="module")
def checker(embedder) -> CvChecker:
    return CvChecker(Settings(corpus_dir=CORPUS), embedder)


@pytest.fixture(scope="module")
def cvs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return cv_files(tmp_path_factory.mktemp("cvs"))


def status_of(checklist: Checklist, item: str) -> str:
    return next(i.status for i in checklist.items if i.item == item)


# --- the checklist comes from the guide -----------------------------------------------------
def test_items_are_the_guides_lists_and_enumerations_in_its_order(checker: CvChecker) -> None:
    labels = [i.label for i in checker.items]
    for name in ["Computer Science", "Machine Learning", "Natural Language Processing (NLP)",
                 "TensorFlow", "Agile", "Scrum", "Lean Six Sigma", "PRINCE2", "Python", "Jira",
                 "Trello", "Leadership", "Risk Management", "Stakeholder Management",
                 "Communication", "Certified ScrumMaster (CSM)",
                 "AWS Certified Machine Learning – Specialty"]:  # fmt: skip
        assert name in labels
    assert len(labels) == len({label.casefold() for label in labels})  # asked twice, listed once
    groups = [i.group for i in checker.items]
    assert groups.index("Build a Strong Educational Foundation") < groups.index("Gain AI Expertise")
    assert groups.index("Gain AI Expertise") < groups.index("Soft Skills")
    assert {"Certifications to Consider", "Gaining Experience in AI Projects"} <= set(groups)
    nlp = next(i for i in checker.items if i.label.startswith("Natural Language"))
    assert "NLP" in nlp.names  # the alias comes from the guide's parentheses
    ml = next(i for i in checker.items if i.label == "Machine Learning")
    assert "ML" in ml.names  # from "Machine Learning (ML)" in the guide's lead


def test_a_different_guide_gives_a_different_checklist(tmp_path: Path, embedder) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "guide.md").write_text(
        "# Becoming a Baker\n\n## Step-by-Step Guide\n\n### 1. Learn the Basics\n\n"
        "Study techniques such as Sourdough, Lamination, and Tempering.\n\n"
        "## Key Skills\n\n- Patience: Waiting for dough to rise.\n- Hygiene\n\n"
        "## Salary\n\n- Bakers earn well.\n",
        encoding="utf-8",
    )
    settings = Settings(corpus_dir=corpus, profile_guide="guide.md")
    baker = CvChecker(settings, embedder)
    assert [i.label for i in baker.items] == [
        "Sourdough", "Lamination", "Tempering", "Patience", "Hygiene",
    ]  # fmt: skip
    result = baker.check_text("I bake sourdough bread every morning and waited patiently.")
    assert status_of(result, "Sourdough") == "met"
    assert [s.item for s in result.next_steps][:2] == ["Lamination", "Tempering"]
    with pytest.raises(ConfigError, match="needs the guide"):
        _ = CvChecker(Settings(corpus_dir=corpus), embedder).items


def test_example_cv_lines_in_the_guide_show_a_skill_by_what_was_done(
    tmp_path: Path, embedder, caplog: pytest.LogCaptureFixture
) -> None:
    """A bare skill name ("Communication") shares no words with "Presented the quarterly
    figures to the board of trustees"; the guide's `cv_examples` bridge that, and an entry
    naming no item is reported, not fatal."""
    body = (
        "# Becoming a Coordinator\n\n## Key Skills\n\n- Communication\n- Budgeting\n"
        "- Hygiene\n\n## Salary\n\n- Coordinators earn well.\n"
    )
    examples = (
        "---\ntitle: Becoming a Coordinator\ncv_examples:\n  communication:\n"
        "  - Presented the monthly results to the board.\n"
        "  - Wrote the weekly status report for the steering committee.\n"
        "  Juggling:\n  - Kept five balls in the air.\n---\n\n"
    )
    cv = (
        "Office coordinator at a regional charity since 2019.\n"
        "Presented the quarterly figures to the board of trustees every spring.\n"
        "Ordered stationery and booked rooms for the whole team."
    )
    found = {}
    for name, text in [("plain", body), ("examples", examples + body)]:
        corpus = tmp_path / name
        corpus.mkdir()
        (corpus / "guide.md").write_text(text, encoding="utf-8")
        guide = CvChecker(Settings(corpus_dir=corpus, profile_guide="guide.md"), embedder)
        with caplog.at_level("WARNING", logger="advisor.profile"):
            found[name] = guide.check_text(cv)
    assert status_of(found["plain"], "Communication") == "missing"
    shown = next(i for i in found["examples"].items if i.item == "Communication")
    assert shown.status != "missing" and shown.evidence is not None
    assert shown.evidence.text.startswith("Presented the quarterly figures")
    assert status_of(found["examples"], "Hygiene") == "missing"  # the others are unchanged
    assert "'Juggling' were ignored: no item has that name" in caplog.text


def test_every_citation_is_exactly_the_guide_span(checker: CvChecker) -> None:
    text = load_file(GUIDE, CORPUS).text
    result = checker.check_text("Project coordinator. Led a team of five volunteers.")
    for item in result.items:
        c = item.citation
        assert c.text == text[c.start : c.end] and c.text.strip()
        assert c.source == "ai-project-manager-guide.md"
        assert item.item.split(" (")[0].split(" –")[0] in c.text or item.item in c.text
    steps = [s.item for s in result.next_steps]
    order = [i.item for i in result.items if i.status == "missing"]
    assert steps == order  # the guide's own order


# --- matching understands wording -----------------------------------------------------------
@pytest.mark.parametrize(
    ("sentence", "item", "statuses"),
    [
        ("Led a team of 22 nurses on a surgical ward.", "Leadership", {"met", "partly"}),
        ("Certified ScrumMaster (CSM), 2019.", "Certified ScrumMaster (CSM)", {"met"}),
        ("I trained a deep learning model in TensorFlow.", "Deep Learning", {"met"}),
        ("I trained a deep learning model in TensorFlow.", "TensorFlow", {"met"}),
        ("Tracked the work in JIRA and on a tensorflow cluster.", "Jira", {"met"}),
        ("Worked as a Scrum Master for two teams.", "Scrum", {"met"}),
        ("Built NLP pipelines for support tickets.", "Natural Language Processing (NLP)", {"met"}),
        ("Managed clinical risk on the ward.", "Risk Management", {"met", "partly"}),
        ("Deployed services on AWS.", "AWS Certified Machine Learning – Specialty", {"partly"}),
        # a plan or a wish is not evidence; what was done before it in the sentence is
        ("Seeking a role on a team applying machine learning to care.", "Machine Learning",
         {"missing"}),
        ("I plan to start the PMP in 2025.", "PMP (Project Management Professional)",
         {"missing"}),
        ("Would like to learn: Airflow, dbt, Jira", "Jira", {"missing"}),
        ("I want my next project to use machine learning.", "Machine Learning", {"missing"}),
        ("Used Jira daily, and now want to learn PyTorch.", "Jira", {"met"}),
        ("Used Jira daily, and now want to learn PyTorch.", "PyTorch", {"missing"}),
        ("Baked bread for the village fair.", "Python", {"missing"}),
        ("Baked bread for the village fair.", "PRINCE2", {"missing"}),
    ],
)  # fmt: skip
def test_wording(checker: CvChecker, sentence: str, item: str, statuses: set[str]) -> None:
    result = checker.check_text(f"Jane Doe\n\n- {sentence}\n")
    found = next(i for i in result.items if i.item == item)
    assert found.status in statuses
    if found.status != "missing":
        assert found.evidence is not None and found.evidence.text == sentence


def test_evidence_is_verbatim_with_its_place(checker: CvChecker, cvs: dict[str, Path]) -> None:
    text = (CVS / "nurse-manager.txt").read_text(encoding="utf-8")
    result = checker.check_file(cvs["nurse-manager.txt"])
    lines = text.splitlines()
    for item in result.items:
        if item.status != "missing":
            e = item.evidence
            assert e is not None and text[e.start : e.end] == e.text
            assert e.text in lines[e.line - 1]


def test_a_pdf_cv_is_read_and_wrapped_lines_joined(checker: CvChecker, cvs) -> None:
    result = checker.check_file(cvs["it-project-manager.pdf"])
    csm = next(i for i in result.items if i.item == "Certified ScrumMaster (CSM)")
    assert csm.status == "met" and "ScrumMaster (CSM)" in csm.evidence.text
    assert csm.evidence.page == 1


def test_sentences_keep_their_offsets() -> None:
    text = "Jane Doe\n- Led a team. Wrote reports!\n\n  * Built models\n"
    found = cv_sentences(text)
    assert [(s.text, s.line) for s in found] == [
        ("Jane Doe", 1), ("Led a team.", 2), ("Wrote reports!", 2), ("Built models", 4),
    ]  # fmt: skip
    assert all(text[s.start : s.end] == s.text for s in found)


def test_accuracy_on_cvs_of_four_professions(checker: CvChecker, cvs) -> None:
    """The named items a person would check, on CVs written for these tests (see
    tests/cvs/expected.json): met or partly versus missing, in three formats."""
    truth = expected()
    right = total = 0
    for name, path in cvs.items():
        result = checker.check_file(path).to_json_dict()
        share, wrong = accuracy(result, truth["cvs"][name], truth["items"])
        right += round(share * len(truth["cvs"][name]))
        total += len(truth["cvs"][name])
        assert share >= 0.8, (name, wrong)
        for item in result["items"]:
            if item["status"] == "met":
                assert item["evidence"]["text"]
    assert right / total >= 0.9, f"{right}/{total}"


HOLDOUT = Path(__file__).parent / "cvs" / "holdout"


def _checklist_item(items: dict[str, dict], name: str) -> dict:
    """The checklist's item for a label ("NLP" is "Natural Language Processing (NLP)")."""

    def key(text: str) -> str:
        return "".join(ch for ch in text.lower() if ch.isalnum())

    want = key(name)
    by_key = {key(k): v for k, v in items.items()}
    return by_key.get(want) or next(
        v for k, v in by_key.items() if want in k and not k.startswith("certified")
    )


@pytest.mark.parametrize(
    ("folder", "least_right", "least_exact"),
    [
        (HOLDOUT, 0.87, 0.74),
        (HOLDOUT.parent / "holdout2", 0.92, 0.66),
        (HOLDOUT.parent / "holdout3", 0.88, 0.72),
        (HOLDOUT.parent / "holdout4", 0.92, 0.72),
        (HOLDOUT.parent / "holdout5", 0.90, 0.66),
        (HOLDOUT.parent / "holdout6", 0.85, 0.57),
        (HOLDOUT.parent / "holdout7", 0.85, 0.64),
        (HOLDOUT.parent / "holdout8", 0.88, 0.61),
    ],
    ids=[
        "holdout", "holdout2", "holdout3", "holdout4", "holdout5", "holdout6", "holdout7",
        "holdout8",
    ],
)
def test_accuracy_on_held_out_cvs(
    checker: CvChecker, folder: Path, least_right: float, least_exact: float
) -> None:
    """Three CVs with labels by a separate writer who never saw the checker (tests/cvs/holdout,
    first run 45/54 met-or-partly versus missing; tests/cvs/holdout2, first run 45/54;
    tests/cvs/holdout3, first run 42/54; tests/cvs/holdout4, first run 46/54;
    tests/cvs/holdout5, first run 48/54; tests/cvs/holdout6, first run 41/54; tests/cvs/holdout7,
    first run 44/54; tests/cvs/holdout8, first run 45/54): the
    share right, and every met item with verbatim evidence."""
    labels = json.loads((folder / "labels.json").read_text(encoding="utf-8"))
    right = exact = total = 0
    for name, wanted in labels.items():
        result = checker.check_file(folder / name).to_json_dict()
        items = {i["item"]: i for i in result["items"]}
        text = (
            (folder / name).read_text(encoding="utf-8") if name.endswith((".txt", ".md")) else ""
        )
        for label, truth in wanted.items():
            got = _checklist_item(items, label)
            total += 1
            right += (got["status"] == "missing") == (truth["status"] == "missing")
            exact += got["status"] == truth["status"]
            if got["status"] == "met":
                assert got["evidence"]["text"] and (not text or got["evidence"]["text"] in text)
    assert right / total >= least_right, f"{right}/{total}"
    assert exact / total >= least_exact, f"{exact}/{total}"


def test_an_item_the_cv_denies_is_missing(checker: CvChecker) -> None:
    """"no Python", "not a Scrum shop": naming an item to deny it is no evidence of it."""

    def status(text: str, name: str) -> str:
        return _checklist_item({i.item: i.model_dump() for i in checker.check_text(text).items},
                               name)["status"]

    denied = "I have no programming experience (no Python or SQL) but work with data teams."
    assert status(denied, "Python") == "missing"
    assert status("We were not a Scrum shop; the team used Kanban boards.", "Scrum") == "missing"
    assert status("Wrote Python scripts that clean the weekly rota exports.", "Python") == "met"


def test_an_acronym_is_found_spelled_out() -> None:
    from advisor.profile import spelled_out

    aws = spelled_out("AWS")
    assert aws is not None and aws.search("Set up the data pipeline on Amazon Web Services (S3).")
    assert not aws.search("amazon web services")  # lower case: words, not a name
    labor = spelled_out("BLS")
    assert labor is not None and labor.search("figures from the Bureau of Labor Statistics")
    assert spelled_out("AI") is None  # two letters spell too many things


def test_an_acronym_the_cv_spells_out_as_something_else_is_not_the_item(
    checker: CvChecker,
) -> None:
    def status(text: str) -> str:
        items = {i.item: i for i in checker.check_text(text).items}
        return next(v.status for k, v in items.items() if "NLP" in k or "Natural" in k)

    other = "Certificates: NLP Practitioner (neuro-linguistic programming), 2019."
    assert status(other) == "missing"
    same = "Built an NLP (natural language processing) pipeline that tags support emails."
    assert status(same) == "met"
    # the expansion written first, the acronym in parentheses after it
    assert status("Practitioner certificate in Neuro-Linguistic Programming (NLP).") == "missing"
    assert status("Built a Natural Language Processing (NLP) pipeline for emails.") == "met"
    items = {i.item: i for i in checker.check_text(
        "Replaced the legacy Academic Workload System (AWS) with a hosted product.").items}
    assert next(v.status for k, v in items.items() if "AWS" in k) == "missing"
    items = {i.item: i for i in checker.check_text(
        "Rewrote the Perioperative Medicines Protocol (PMP) with pharmacy.").items}
    assert next(v.status for k, v in items.items() if "PMP" in k) == "missing"


# --- bad input --------------------------------------------------------------------------
def test_bad_cvs_get_clear_messages(checker: CvChecker, tmp_path: Path) -> None:
    with pytest.raises(UploadError, match="named .pdf but it is text"):
        checker.check_bytes(b"not a pdf", "cv.pdf")
    with pytest.raises(UploadError, match="broken PDF|cannot be read"):
        checker.check_bytes(b"%PDF-1.4 rubbish", "cv.pdf")
    with pytest.raises(UploadError, match="no sentences"):
        checker.check_text("  \n -- \n")
    with pytest.raises(UploadError, match="limit is"):
        checker.check_text("word " * 20_000)
    with pytest.raises(UploadError, match="cannot be read"):
        checker.check_file(tmp_path / "missing.pdf")


# --- the CLI and the API ------------------------------------------------------------------
def test_cli_json_has_the_documented_shape(cvs, tmp_path: Path) -> None:
    result = CliRunner().invoke(cli_app, ["profile", str(cvs["data-analyst.md"]), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert set(data) == {"items", "next_steps"}
    for item in data["items"]:
        assert set(item) == {"item", "group", "status", "evidence", "citation"}
        assert item["status"] in {"met", "partly", "missing"}
    assert {"item", "group", "citation"} <= set(data["next_steps"][0])
    python = next(i for i in data["items"] if i["item"] == "Python")
    assert python["status"] == "met" and "Python" in python["evidence"]["text"]
    assert python["evidence"]["line"] > 1
    text = CliRunner().invoke(cli_app, ["profile", str(cvs["nurse-manager.txt"])])
    assert text.exit_code == 0 and "Trello" in text.stdout and "Next steps" in text.stdout


def test_cli_error_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ADVISOR_DEBUG", raising=False)
    bad = tmp_path / "cv.pdf"
    bad.write_text("plain text pretending", encoding="utf-8")
    result = CliRunner().invoke(cli_app, ["profile", str(bad)])
    assert result.exit_code == 1 and "named .pdf but it is text" in result.output
    assert "Traceback" not in result.output


def test_python_api_returns_the_model(cvs, embedder) -> None:
    result = check_cv(cvs["data-analyst.md"], Settings(corpus_dir=CORPUS), embedder)
    assert isinstance(result, Checklist)
    assert status_of(result, "Jira") == "met"
    assert status_of(check_cv("Led a team of 22 nurses.", embedder=embedder), "PMP (Project "
                     "Management Professional)") == "missing"  # fmt: skip


# --- chat answers from a checklist ----------------------------------------------------------
def test_own_plan_questions_are_answered_from_the_missing_items(checker: CvChecker, cvs) -> None:
    assert asks_about_own_plan("What should I learn first?")
    assert asks_about_own_plan("what am I missing for this job")
    assert not asks_about_own_plan("Do I need coding skills?")
    assert not asks_about_own_plan("What's next for this field?")
    checklist = checker.check_file(cvs["nurse-manager.txt"])
    answer = plan_answer("What should I learn first?", checklist)
    first = checklist.next_steps[0]
    assert first.item in answer.answer and "[1]" in answer.answer
    assert answer.citations[0].text == first.citation.text and answer.citations[0].n == 1
    assert all(f"[{c.n}]" in answer.answer for c in answer.citations)
    assert "Trello" not in answer.answer  # met items are not suggested
    guide_copy = CORPUS / "ai-project-manager-guide.md"
    text = load_file(guide_copy, CORPUS).text
    assert all(c.text == text[c.start : c.end] for c in answer.citations)


def test_guide_items_work_on_a_copy(tmp_path: Path) -> None:
    shutil.copy(GUIDE, tmp_path / GUIDE.name)
    doc = load_file(tmp_path / GUIDE.name, tmp_path)
    assert len(guide_items(doc, Settings().profile_sections)) > 25


def test_a_hard_wrapped_item_spelling_its_acronym_as_something_else(checker: CvChecker) -> None:
    """A list item wrapped onto indented lines is one sentence, so "PMP (Perioperative" and
    "Medicine Pathway)" are read together: that PMP is not the certification, whether found
    by its letters or by the words of its expansion."""
    cv = (
        "* Coordinated the nursing side of the rollout of the PMP (Perioperative\n"
        "  Medicine Pathway) for frail elderly patients, including training 40 staff.\n"
        "* Ran the weekly theatre list meeting with surgeons and anaesthetists.\n"
    )
    sentences = cv_sentences(cv)
    assert sentences[0].text.endswith("training 40 staff.") and len(sentences) == 2
    assert status_of(checker.check_text(cv), "PMP (Project Management Professional)") == "missing"
    held = cv.replace("Perioperative\n  Medicine Pathway", "Project Management\n  Professional")
    assert status_of(checker.check_text(held), "PMP (Project Management Professional)") == "met"

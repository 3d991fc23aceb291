"""The documents panel and the CV check in a real headless Chromium (Playwright), against a
real Gradio server with its own index; screenshots go to docs/.

The CV's privacy is checked at the end: after the session, no file under the data folder (the
index folder), no Chroma record, no log line and no upload left in Gradio's folder holds it.
"""

from __future__ import annotations

import logging
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from advisor import Advisor, Settings

from .conftest import serve_ui
from .cv_files import CVS
from .test_ui_browser import browser  # noqa: F401  (the module's Chromium)

pytestmark = [pytest.mark.browser, pytest.mark.server, pytest.mark.slow]

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
GUIDE = ROOT / "corpus" / "ai-project-manager-guide.md"
OKAPI = (
    "# Okapi keeping\n\n## Feeding\n\nAn adult okapi eats about 30 kilograms of leaves every day, "
    "mostly from the understory of rainforest trees.\n"
)
OKAPI_Q = "How many kilograms of leaves does an okapi eat every day?"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, embedder) -> Iterator[tuple[str, Advisor]]:
    root = tmp_path_factory.mktemp("panel")
    corpus = root / "corpus"
    corpus.mkdir()
    shutil.copy(GUIDE, corpus)
    advisor = Advisor(Settings(corpus_dir=corpus, index_dir=root / "data"), embedder=embedder)
    advisor.index()
    app = serve_ui(advisor)
    yield app.local_url, advisor
    app.close()


@pytest.fixture
def page(browser: Any, served: tuple[str, Advisor]) -> Iterator[Any]:  # noqa: F811
    page = browser.new_page(viewport={"width": 1200, "height": 1000})
    page.goto(served[0])
    page.wait_for_selector("#question textarea")
    yield page
    page.close()


def ask(page: Any, question: str) -> str:
    """Send a question and return the text of the new answer once it is complete."""
    before = page.locator("#chat .bot").count()
    page.fill("#question textarea", question)
    page.click("#send")
    page.wait_for_function(
        "n => document.querySelectorAll('#chat .bot').length > n", arg=before, timeout=30_000
    )
    page.wait_for_function("() => !document.querySelector('.generating')", timeout=30_000)
    page.wait_for_timeout(300)
    return str(page.locator("#chat .bot").nth(before).inner_text())


def test_add_list_ask_and_remove_a_document(page: Any, tmp_path: Path) -> None:
    doc = tmp_path / "okapi-keeping.md"
    doc.write_text(OKAPI, encoding="utf-8")
    page.click("#documents button:has-text('Your documents')")
    table = page.locator("#doc-table")
    table.wait_for(timeout=10_000)
    assert "How to Become an AI Project Manager" in table.inner_text()

    page.set_input_files("#doc-upload input[type=file]", str(doc))
    status = page.locator("#doc-status")
    status.locator("text=added").wait_for(timeout=60_000)
    assert "okapi-keeping.md" in status.inner_text()
    page.wait_for_function(
        "() => document.querySelector('#doc-table').innerText.includes('Okapi keeping')",
        timeout=20_000,
    )
    page.mouse.move(0, 0)
    page.locator("#documents").screenshot(path=str(DOCS / "documents-panel.png"))

    assert "30 kilograms" in ask(page, OKAPI_Q)

    page.click("#doc-choice input")
    page.get_by_role("option", name="Okapi keeping (uploads/okapi-keeping.md)").click()
    page.click("#doc-remove")
    status.locator("text=removed").wait_for(timeout=60_000)
    page.wait_for_function(
        "() => !document.querySelector('#doc-table').innerText.includes('Okapi keeping')",
        timeout=20_000,
    )
    assert "30 kilograms" not in ask(page, OKAPI_Q)


def test_a_hostile_upload_gets_a_message_and_the_page_goes_on(page: Any, tmp_path: Path) -> None:
    fake = tmp_path / "salary-report.pdf"
    fake.write_text("Just some notes, renamed to look like a PDF.", encoding="utf-8")
    page.click("#documents button:has-text('Your documents')")
    page.set_input_files("#doc-upload input[type=file]", str(fake))
    page.locator("#doc-status").locator("text=was not added").wait_for(timeout=30_000)
    assert "named .pdf but it is text" in page.locator("#doc-status").inner_text()
    assert "$120,000" in ask(page, "What salary can an AI project manager expect?")


def test_cv_checklist_chat_and_privacy(
    page: Any, served: tuple[str, Advisor], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    token = f"Zephyrine{uuid.uuid4().hex[:10]}"
    cv = tmp_path / "cv.md"
    cv.write_text(
        (CVS / "data-analyst.md").read_text(encoding="utf-8").replace("Priya Raman", token),
        encoding="utf-8",
    )
    page.click("#cv-check button:has-text('Check my CV')")
    page.set_input_files("#cv-upload input[type=file]", str(cv))
    page.wait_for_timeout(500)
    page.click("#cv-run")
    result = page.locator("#checklist")
    result.wait_for(timeout=60_000)
    text = result.inner_text()
    assert "Next steps" in text and "met" in text and "missing" in text
    assert "Wrote SQL and Python pipelines on AWS" in text  # the CV's own sentence as evidence
    assert page.locator("#checklist td.met").count() >= 5
    page.mouse.move(0, 0)
    box = page.locator("#cv-check").bounding_box()  # relative to the viewport
    top = box["y"] + page.evaluate("window.scrollY")
    clip = {**box, "y": top, "height": min(box["height"], 1500)}
    page.screenshot(path=str(DOCS / "cv-checklist.png"), clip=clip, full_page=True)

    answer = ask(page, "What should I learn first?")
    assert "From your CV check" in answer and "[1]" in answer
    assert "Sources" in answer

    page.click("#new-chat")
    page.wait_for_function("() => !document.querySelector('#checklist')", timeout=10_000)
    after = ask(page, "What should I learn first?")
    assert "From your CV check" not in after  # forgotten with the session

    _, advisor = served
    data = advisor.settings.index_dir
    for path in data.rglob("*"):
        if path.is_file():
            assert token.encode() not in path.read_bytes(), path
    gen = advisor.store.current()
    stored = (
        gen.chunks.get(include=["documents"])["documents"]
        + gen.units.get(include=["documents"])["documents"]
    )
    assert not any(token in d for d in stored)
    assert not any(token in r.getMessage() for r in caplog.records)
    from gradio.utils import get_upload_folder

    uploads = Path(get_upload_folder())
    leftovers = [p for p in uploads.rglob("*") if p.is_file() and token.encode() in p.read_bytes()]
    assert leftovers == []

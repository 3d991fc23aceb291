"""The chat UI in a real headless Chromium (Debian's /usr/bin/chromium, driven by Playwright).

Outside CI the tests skip when Chromium or Playwright is missing; with CI=true they fail instead.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from advisor import Advisor, Answer, Settings
from advisor.feedback import read_feedback

from .conftest import serve_ui

pytestmark = [pytest.mark.browser, pytest.mark.server, pytest.mark.slow]

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = Path(os.environ.get("ADVISOR_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
CERTS = "Which certifications should I consider?"
XSS = '<script>window.__xss=1</script><img src=x onerror="window.__xss=2">'
EVIL_DOC = """---
title: Interview handbook <img src=x onerror="window.__xss=3">
---
# Interview tips

Good interview preparation <script>window.__xss=4</script> means practising answers aloud.
Salary negotiation <img src=x onerror="window.__xss=5"> is a skill interviewers respect.
"""


def unavailable(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason}; the browser tests must run in CI")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.is_file():
        unavailable(f"{CHROMIUM} is missing (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("Playwright for Python is not installed")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def url(ui_advisor: Advisor) -> Iterator[str]:
    app = serve_ui(ui_advisor)
    yield app.local_url
    app.close()


@pytest.fixture
def page(browser: Any, url: str) -> Iterator[Any]:
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    page.goto(url)
    page.wait_for_selector("#question textarea")
    yield page
    page.close()


def ask(page: Any, question: str, expected: Answer, press_enter: bool = False) -> Any:
    """Type a question, send it, and wait until the `expected` answer is in and the event done."""
    bots_before = page.locator("#chat .bot").count()
    page.fill("#question textarea", question)
    if press_enter:
        page.press("#question textarea", "Enter")
    else:
        page.click("#send")
    bot = page.locator("#chat .bot").nth(bots_before)
    page.wait_for_function(
        "([n, end]) => document.querySelectorAll('#chat .bot')[n]?.innerText.includes(end)",
        arg=[bots_before, last_sentence(expected.answer)],
        timeout=30_000,
    )
    # while an event runs, Gradio marks its output blocks (here the textbox) "generating"
    page.wait_for_function("() => !document.querySelector('.generating')", timeout=30_000)
    return bot


def squash(text: str) -> str:
    return "".join(text.split())


def last_sentence(answer: str) -> str:
    """The end of the answer's last line as the page shows it (no list marker, no `[n]`)."""
    line = re.sub(r"^\s*(?:[-*+]|\d+[.)])\s+", "", answer.rstrip().rsplit("\n", 1)[-1])
    return re.sub(r"\s*\[\d+\]\s*$", "", line)[-30:]


def test_streamed_answer_shows_the_cited_passages(page: Any, ui_advisor: Advisor) -> None:
    expected = ui_advisor.invoke({"question": CERTS, "chat_history": []})
    bot = ask(page, CERTS, expected)

    assert "ScrumMaster" in bot.inner_text()
    passages = bot.locator(".sources .passage")
    assert passages.count() == len(expected.citations)
    for i, citation in enumerate(expected.citations):
        assert squash(passages.nth(i).text_content()) == squash(citation.text)
    assert passages.first.is_visible()  # the first source is open
    marked = bot.locator(".sources mark").first.inner_text()
    assert marked.strip() and squash(marked) in squash(citation_texts(expected))
    summary = bot.locator(".sources summary").first.inner_text()
    assert expected.citations[0].title in summary and expected.citations[0].source in summary

    page.mouse.move(0, 0)
    (ROOT / "docs").mkdir(exist_ok=True)
    page.screenshot(path=str(ROOT / "docs" / "screenshot.png"), full_page=True)

    link = bot.locator("a.cite").first
    target = link.get_attribute("href")
    link.click()
    assert page.evaluate("location.hash") == target
    assert bot.locator(f"details{target}").count() == 1


def citation_texts(answer: Any) -> str:
    return " ".join(c.text for c in answer.citations)


def test_html_in_a_question_is_shown_as_text_and_never_runs(page: Any, ui_advisor: Advisor) -> None:
    bot = ask(page, XSS, ui_advisor.invoke(XSS), press_enter=True)
    page.wait_for_timeout(500)  # give any injected handler the chance to run
    assert page.evaluate("typeof window.__xss") == "undefined"
    assert page.locator("#chat .user").first.inner_text().strip() == XSS
    assert page.locator("#chat img[src='x'], #chat script").count() == 0
    assert bot.inner_text().strip()


def test_follow_up_and_thumbs_down_with_comment(page: Any, ui_advisor: Advisor) -> None:
    first = "What certifications should I consider?"
    expected = ui_advisor.invoke(first)
    ask(page, first, expected)
    history = [("user", first), ("assistant", expected.answer)]
    scrum = ui_advisor.invoke(
        {"question": "Which of those is about Scrum?", "chat_history": history}
    )
    follow_up = ask(page, "Which of those is about Scrum?", scrum)
    assert "ScrumMaster" in follow_up.inner_text()

    follow_up.hover()
    page.locator("#chat button[aria-label='Dislike']").last.click()
    comment = page.get_by_label("Thanks! Anything to add?")
    comment.wait_for(timeout=10_000)
    comment.fill("Say which exam is cheapest.")
    page.get_by_role("button", name="Send comment").click()
    comment.wait_for(state="hidden", timeout=10_000)

    records = read_feedback(ui_advisor.settings.feedback_path)
    mine = [r for r in records if r["question"] == "Which of those is about Scrum?"]
    assert [(r["vote"], r["comment"]) for r in mine][-2:] == [
        ("down", ""),
        ("down", "Say which exam is cheapest."),
    ]
    assert "ScrumMaster" in mine[-1]["answer"] and mine[-1]["citations"]

    page.click("#new-chat")
    page.wait_for_function("() => !document.querySelector('#chat .bot')", timeout=10_000)


def test_html_in_a_document_is_shown_as_text_and_never_runs(
    browser: Any, embedder: Any, tmp_path: Path
) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "interviews.md").write_text(EVIL_DOC, encoding="utf-8")
    evil = Advisor(Settings(corpus_dir=corpus, index_dir=tmp_path / "index"), embedder=embedder)
    evil.index()
    app = serve_ui(evil)
    page = browser.new_page()
    try:
        page.goto(app.local_url)
        page.wait_for_selector("#question textarea")
        question = "How should I prepare for interview questions and salary negotiation?"
        bot = ask(page, question, evil.invoke(question))
        page.wait_for_timeout(500)
        assert page.evaluate("typeof window.__xss") == "undefined"
        text = bot.inner_text()
        assert "<script>window.__xss=4</script>" in text
        assert 'Interview handbook <img src=x onerror="window.__xss=3">' in text
        assert page.locator("#chat img[src='x'], #chat script").count() == 0
    finally:
        page.close()
        app.close()

"""The chat UI: a real Gradio server on loopback driven by gradio_client, and its handlers."""

from __future__ import annotations

import copy
import json
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from advisor import Advisor, Answer, Citation, Settings
from advisor.errors import ConfigError
from advisor.feedback import export_eval_cases, read_feedback
from advisor.ui import APOLOGY, create_app, parse_auth, render_answer, user_markdown

from .conftest import CITATION_FIELDS, free_port, serve_ui

pytestmark = [pytest.mark.server, pytest.mark.slow]

CORPUS = Path(__file__).resolve().parent.parent / "corpus"
SALARY = "What salary can an AI project manager expect?"
CERTS = "What certifications should I consider?"
XSS = '<script>window.__xss=1</script><img src=x onerror="window.__xss=2">'


@pytest.fixture(scope="module")
def app(ui_advisor: Advisor) -> Iterator[Any]:
    app = serve_ui(ui_advisor, max_size=ui_advisor.settings.ui_max_queue)
    yield app
    app.close()


@pytest.fixture(scope="module")
def client(app: Any) -> Iterator[Any]:
    from gradio_client import Client

    client = Client(app.local_url, verbose=False)
    yield client
    client.close()


def chat(app: Any, message: str, history: list | None = None, turns: dict | None = None):
    """Run the UI's respond handler to the end: (all yields, last textbox, chat, turns)."""
    steps = [copy.deepcopy(step) for step in app.respond(message, history or [], turns or {})]
    return steps, *steps[-1]


def source_slice(citation: dict) -> str:
    text = (CORPUS / citation["source"]).read_text(encoding="utf-8")
    return text[citation["start"] : citation["end"]]


# --- through the server -----------------------------------------------------------------
def test_api_answers_with_the_guide_quoted_exactly(client: Any) -> None:
    result = client.predict(SALARY, [], api_name="/ask")
    assert set(result) == {"question", "answer", "declined", "citations"}
    assert "$120,000" in result["answer"] and not result["declined"]
    assert "ai-project-manager-guide" in {c["doc_id"] for c in result["citations"]}
    for citation in result["citations"]:
        assert citation["text"] == source_slice(citation)
        assert f"[{citation['n']}]" in result["answer"]


def test_api_answer_is_the_advisor_answer(client: Any, ui_advisor: Advisor) -> None:
    question = "Do I need coding skills?"
    expected = ui_advisor.invoke({"question": question, "chat_history": []}).to_json_dict()
    assert client.predict(question, [], api_name="/ask") == json.loads(json.dumps(expected))


def test_api_streams_the_growing_answer(client: Any) -> None:
    job = client.submit(CERTS, None, api_name="/ask")
    parts = list(job)
    assert len(parts) >= 2
    assert parts[0]["citations"] and parts[0]["answer"] == ""  # sources come first
    lengths = [len(p["answer"]) for p in parts]
    assert lengths == sorted(lengths)
    assert parts[-1] == job.result()
    assert "ScrumMaster" in parts[-1]["answer"]


def test_api_follow_up_uses_the_history(client: Any) -> None:
    first = client.predict(CERTS, [], api_name="/ask")
    history = [["user", CERTS], ["assistant", first["answer"]]]
    follow_up = client.predict("Which of those is about Scrum?", history, api_name="/ask")
    assert "ScrumMaster" in follow_up["answer"]
    assert "scrum-and-csm" in {c["doc_id"] for c in follow_up["citations"]} | {
        c["doc_id"] for c in first["citations"]
    }


@pytest.mark.parametrize(
    ("question", "message"),
    [("", "Please type a question."), ("x" * 2001, "the limit is 2,000")],
)
def test_api_bad_question_is_a_readable_error(client: Any, question: str, message: str) -> None:
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError) as info:
        client.predict(question, [], api_name="/ask")
    assert message in str(info.value)
    assert "Traceback" not in str(info.value)


def test_the_api_is_the_only_public_endpoint(client: Any) -> None:
    """`/ask`, and the documents panel's add, list and remove (tests/test_documents.py)."""
    endpoints = client.view_api(print_info=False, return_format="dict")["named_endpoints"]
    assert sorted(endpoints) == ["/add_documents", "/ask", "/documents", "/remove_document"]


# --- the chat handlers ----------------------------------------------------------------
def test_respond_streams_the_answer_with_its_sources(app: Any) -> None:
    steps, box, shown, turns = chat(app, SALARY)
    assert box == ""
    assert [m["role"] for m in shown] == ["user", "assistant"]
    assert shown[0]["content"] == user_markdown(SALARY)
    assert "Searching the documents" in steps[0][1][-1]["content"]
    assert len(steps) >= 3  # placeholder, sources, then text
    final = shown[-1]["content"]
    assert "$120,000" in final and '<div class="sources">' in final
    assert "How to Become an AI Project Manager in 2025" in final
    assert "ai-project-manager-guide.md" in final and "<mark>" in final
    anchor = turns["1"]["id"]
    assert f'href="#{anchor}-1"' in final and f'id="{anchor}-1"' in final


def test_respond_follow_up_in_the_chat(app: Any) -> None:
    _, _, shown, turns = chat(app, CERTS)
    _, _, shown, turns = chat(app, "Which of those is about Scrum?", shown, turns)
    assert len(shown) == 4 and set(turns) == {"1", "3"}
    assert "ScrumMaster" in turns["3"]["answer"]
    assert turns["1"]["question"] == CERTS


def test_respond_empty_question_gives_the_text_back_with_a_warning(app: Any) -> None:
    with pytest.warns(UserWarning, match="Please type a question"):
        steps, box, shown, turns = chat(app, "   ")
    assert (box, shown, turns) == ("   ", [], {})


def test_respond_shows_advisor_errors_in_the_chat(tmp_path: Path, advisor: Advisor) -> None:
    empty = Advisor(Settings(corpus_dir=CORPUS, index_dir=tmp_path), embedder=advisor.embedder)
    _, _, shown, turns = chat(create_app(empty), SALARY)
    assert "No index has been built yet" in shown[-1]["content"]
    assert "Traceback" not in shown[-1]["content"] and turns == {}


@pytest.mark.parametrize("fallback", [True, False])
def test_respond_when_the_llm_is_down(ui_advisor: Advisor, fallback: bool) -> None:
    pytest.importorskip("langchain_openai")
    fields = ui_advisor.settings.model_dump() | {
        "llm": "openai:test-model",
        "llm_base_url": f"http://127.0.0.1:{free_port()}/v1",  # nothing listens there
        "llm_retries": 0,
        "llm_fallback": fallback,
    }
    down = Advisor(Settings(**fields), embedder=ui_advisor.embedder, store=ui_advisor.store)
    _, _, shown, turns = chat(create_app(down), SALARY)
    reply = shown[-1]["content"]
    assert "test-model" in reply and "Traceback" not in reply
    if fallback:  # quoted answer, with a notice saying why
        assert "$120,000" in reply and turns["1"]["generator"] == "extractive (fallback)"
    else:
        assert reply.startswith("⚠️") and turns == {}


def test_respond_apologises_for_unexpected_failures(
    ui_advisor: Advisor, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app(ui_advisor)
    monkeypatch.setattr(type(ui_advisor), "retrieve", lambda *a, **k: 1 / 0)
    _, _, shown, turns = chat(app, SALARY)
    assert shown[-1]["content"] == APOLOGY and turns == {}
    assert "ZeroDivisionError" in caplog.text


def test_question_and_document_html_is_escaped(app: Any) -> None:
    _, _, shown, _ = chat(app, XSS)
    assert "<script" not in shown[0]["content"] and "<img" not in shown[0]["content"]
    assert "&lt;script&gt;" in shown[0]["content"]

    evil = "<script>alert(1)</script> Salaries <img src=x onerror=alert(2)> are high."
    citation = Citation(
        n=1,
        doc_id="evil",
        title="<b onmouseover=alert(3)>Title</b>",
        section="<script>s</script>",
        source="evil<x>.md",
        start=0,
        end=len(evil),
        text=evil,
        used=[(evil.index("Salaries"), len(evil))],
    )
    answer = Answer(answer=f"{evil} [1] [7]", citations=[citation])
    rendered = render_answer(answer, "src-test")
    for tag in ("<script", "<img", "<b ", "<x>"):
        assert tag not in rendered
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in rendered
    assert "<mark>Salaries &lt;img src=x onerror=alert(2)&gt; are high.</mark>" in rendered
    assert '<a href="#src-test-1" class="cite">[1]</a>' in rendered
    assert "\\[7\\]" in rendered  # a marker with no source is not a link


def test_declined_answer_suggests_questions(app: Any) -> None:
    _, _, shown, turns = chat(app, "What is the best pizza topping in Naples?")
    assert turns["1"]["answer"].startswith("I'm sorry")
    assert "You could ask, for example:" in shown[-1]["content"]
    assert "Which certifications should I consider?" in shown[-1]["content"]


def test_thumbs_down_with_comment_becomes_an_eval_case(
    app: Any, ui_advisor: Advisor, tmp_path: Path
) -> None:
    import gradio as gr

    _, _, shown, turns = chat(app, CERTS)
    like = gr.LikeData(None, {"index": 1, "value": shown[1]["content"], "liked": False})
    record, row = app.vote(turns, like)
    assert row["visible"] is True
    assert record["vote"] == "down" and record["question"] == CERTS
    assert record["answer"] == turns["1"]["answer"] and record["generator"] == "extractive"
    assert record["citations"] == turns["1"]["citations"]
    assert set(record["citations"][0]) == CITATION_FIELDS
    assert app.send_comment(record, "It should mention PRINCE2.")[0] == ""

    path = ui_advisor.settings.feedback_path
    mine = [r for r in read_feedback(path) if r["id"] == turns["1"]["id"]]
    assert [(r["vote"], r["comment"]) for r in mine] == [
        ("down", ""),
        ("down", "It should mention PRINCE2."),
    ]
    out = tmp_path / "feedback-cases.jsonl"
    count = export_eval_cases(ui_advisor.settings, out)
    cases = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert count == len(cases) >= 1
    case = next(c for c in cases if c["bad_answer"] == record["answer"])
    assert case["question"] == CERTS and case["answerable"] is True
    assert case["reference"] == "It should mention PRINCE2." and case["id"].startswith("feedback-")
    assert case["expected_facts"] == [] and case["expected_sources"] == []
    from advisor.evaluation.dataset import load_eval_cases  # what `advisor eval` reads

    assert CERTS in [c.question for c in load_eval_cases(out)]


def test_rating_a_question_or_error_records_nothing(app: Any, ui_advisor: Advisor) -> None:
    import gradio as gr

    before = read_feedback(ui_advisor.settings.feedback_path)
    record, row = app.vote({}, gr.LikeData(None, {"index": 0, "value": "", "liked": True}))
    assert record is None and row["visible"] is False
    assert read_feedback(ui_advisor.settings.feedback_path) == before


# --- launching ------------------------------------------------------------------------
def test_parse_auth() -> None:
    assert parse_auth(None) is None
    assert parse_auth("ann:s3cret:with-colon") == ("ann", "s3cret:with-colon")
    for bad in ("ann", ":pw", "ann:"):
        with pytest.raises(ConfigError, match="user:password"):
            parse_auth(bad)


def test_launch_binds_loopback_with_login_and_queue(
    ui_advisor: Advisor, monkeypatch: pytest.MonkeyPatch
) -> None:
    import gradio as gr

    from advisor import ui

    seen: dict[str, Any] = {}
    monkeypatch.setattr(gr.Blocks, "launch", lambda self, **kw: seen.update(kw, app=self))
    settings = Settings(
        **ui_advisor.settings.model_dump()
        | {"ui_auth": "ann:s3cret", "ui_port": 7999, "ui_concurrency": 3, "ui_max_queue": 9}
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no deprecated Gradio arguments
        ui.launch(Advisor(settings, embedder=ui_advisor.embedder, store=ui_advisor.store))
    assert seen["server_name"] == "127.0.0.1" and seen["server_port"] == 7999
    assert seen["share"] is False and seen["show_error"] is False
    assert seen["auth"] == ("ann", "s3cret") and "allowed_paths" not in seen
    queue = seen["app"]._queue
    assert queue.max_size == 9 and queue.default_concurrency_limit == 3

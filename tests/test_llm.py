"""The LLM generator: a scripted chat model at the LLM boundary, real endpoints for the faults.

The default extractive path is tested in test_chain.py; here the model is scripted (its reply
is fixed) so that verification, citation clean-up, fallbacks and their notices can be asserted
exactly. test_llm_real.py runs the same path against a real local model.
"""

from __future__ import annotations

import http.server
import importlib.util
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage

from advisor import Advisor, LLMError, Settings
from advisor.answer.llm import (
    build_messages,
    classify,
    estimate_tokens,
    fit_passages,
    make_llm,
    sentences_of,
    server_context,
    source_block,
)
from advisor.errors import ConfigError

from .conftest import free_port

SALARY = "What salary can an AI project manager expect?"


def scripted(*replies: str) -> GenericFakeChatModel:
    return GenericFakeChatModel(messages=iter([AIMessage(r) for r in replies]))


def llm_advisor(advisor: Advisor, llm, **overrides) -> Advisor:
    settings = advisor.settings.model_copy(update={"llm": "scripted", **overrides})
    return Advisor(settings, llm=llm, embedder=advisor.embedder, store=advisor.store)


def test_false_sentence_is_removed_and_reported(advisor: Advisor) -> None:
    llm = scripted(
        "AI project managers earn $120,000–$150,000 a year on average [1]. "
        "Most employers also require a PhD in astrophysics [1]."
    )
    answer = llm_advisor(advisor, llm).invoke({"question": SALARY})
    assert "$120,000" in answer.answer and "PhD" not in answer.answer
    assert [r.text for r in answer.removed] == [
        "Most employers also require a PhD in astrophysics [1]."
    ]
    assert "PhD" in answer.removed[0].reason
    assert answer.notice and "removed" in answer.notice
    assert answer.citations[0].n == 1 and "$120,000" in answer.citations[0].text
    assert answer.generator.startswith("llm:")


def test_mark_mode_keeps_and_marks(advisor: Advisor) -> None:
    llm = scripted(
        "Salaries average $120,000–$150,000 annually [1]. Salaries are $900,000 a month [1]."
    )
    answer = llm_advisor(advisor, llm, verify="mark").invoke({"question": SALARY})
    assert "$900,000 a month [1]. [unsupported]" in answer.answer
    assert len(answer.removed) == 1


def test_citations_to_missing_sources_are_dropped_and_renumbered(advisor: Advisor) -> None:
    retrieved = advisor.retrieve(SALARY).hits
    salary_n = next(i for i, h in enumerate(retrieved, 1) if "$120,000" in h.chunk.text)
    llm = scripted(
        f"Salaries average $120,000–$150,000 annually [{salary_n}][42]. The moon is cheese [99]."
    )
    answer = llm_advisor(advisor, llm).invoke({"question": SALARY})
    assert "[42]" not in answer.answer and "moon" not in answer.answer
    assert answer.answer.endswith("[1].") or "[1]" in answer.answer
    assert [c.n for c in answer.citations] == [1]
    assert "only" in answer.removed[0].reason  # "cites [99], but there are only N sources"


def assert_cited_fallback(answer, why: str) -> None:
    """The user reads the extractive answer, cited, with a notice saying `why`; never a
    decline the corpus can answer, never a lead-in alone."""
    assert not answer.declined and answer.fell_back
    assert answer.generator == "extractive (fallback)"
    assert answer.citations and "[1]" in answer.answer
    assert "$120,000" in answer.answer
    assert answer.notice and why in answer.notice and "quotes the documents" in answer.notice


def test_i_dont_know_on_a_question_the_corpus_answers_is_answered_extractively(
    advisor: Advisor,
) -> None:
    answer = llm_advisor(advisor, scripted("I don't know based on these documents.")).invoke(
        {"question": SALARY}
    )
    assert_cited_fallback(answer, "found no answer")


def test_empty_output_gets_the_extractive_answer(advisor: Advisor) -> None:
    # an empty stream is asked again without streaming (servers hide errors in empty streams)
    answer = llm_advisor(advisor, scripted("   ", "")).invoke({"question": SALARY})
    assert_cited_fallback(answer, "returned no answer")


def test_a_lead_in_alone_is_never_the_answer(advisor: Advisor) -> None:
    answer = llm_advisor(advisor, scripted("The answer to your question is:")).invoke(
        {"question": SALARY}
    )
    assert_cited_fallback(answer, "stated nothing")
    assert "The answer to your question is" not in answer.answer


def test_lead_ins_and_questions_around_uncited_sentences_fall_back_and_count_right(
    advisor: Advisor,
) -> None:
    llm = scripted(
        "Some of these include:\nAI project managers mostly work night shifts on Mars.\n"
        "Salaries are very high in every country. So, what do you say? "
        "What would you like to know more about?"
    )
    answer = llm_advisor(advisor, llm).invoke({"question": SALARY})
    assert_cited_fallback(answer, "2 sentences could not be checked against the documents")
    assert "they had no citation" in (answer.notice or "")
    assert [r.kind for r in answer.removed] == ["uncited", "uncited"]
    assert "what do you say" not in answer.answer and "Some of these" not in answer.answer


def test_the_notice_counts_each_reason(advisor: Advisor) -> None:
    llm = scripted(
        "Salaries average $120,000–$150,000 annually [1]. Salaries are $900,000 a month [1]. "
        "Everyone is hired at once. The moon is cheese [99]."
    )
    answer = llm_advisor(advisor, llm).invoke({"question": SALARY})
    assert not answer.fell_back and answer.generator.startswith("llm:")
    assert sorted(r.kind for r in answer.removed) == ["bad_citation", "uncited", "unsupported"]
    assert answer.notice == (
        "3 sentences were removed: 1 had no citation, 1 was not supported by its cited "
        "passage, 1 cited a source that does not exist."
    )


def test_a_source_label_copied_from_the_prompt_is_not_shown(advisor: Advisor) -> None:
    hits = advisor.searcher.search(SALARY).hits
    label = next(f"{h.chunk.title} > {h.chunk.section}" for h in hits if h.chunk.section)
    llm = scripted(f"{label} Salaries average $120,000–$150,000 annually [1].")
    answer = llm_advisor(advisor, llm).invoke({"question": SALARY})
    assert label not in answer.answer, answer.answer
    assert answer.answer.startswith("Salaries average $120,000"), answer.answer
    assert answer.generator.startswith("llm:")


def test_a_heading_the_model_writes_is_not_shown(advisor: Advisor) -> None:
    """SmolLM2 writes numbered Markdown headings, often a source's section copied from the
    prompt; split at "2." they became a heading shown as a piece of its own."""
    hits = advisor.searcher.search(SALARY).hits
    section = hits[0].chunk.section.rsplit(" > ", 1)[-1]
    llm = scripted(
        f"### 2. {section} [1]\n"
        "Salaries average $120,000–$150,000 annually [1].\n  ## Pay\nThat is the range [1]."
    )
    parts = list(llm_advisor(advisor, llm).stream({"question": SALARY}))
    shown = [p.answer for p in parts if p.answer.strip()]
    assert shown and all("#" not in p and section not in p for p in shown), (section, shown)
    assert shown[0].startswith("Salaries average $120,000"), shown


def test_without_headings_keeps_the_rest_as_it_streams() -> None:
    from advisor.answer.llm import without_headings

    pieces = [
        "Intro line",
        " goes on.\n",
        "#",
        "## Head",
        "ing\n",
        "  next",
        " line # not a heading",
    ]
    assert list(without_headings(iter(pieces))) == [
        "Intro line",
        " goes on.\n",
        "\n",
        "  next",
        " line # not a heading",
    ]


def test_a_lead_in_waits_for_the_statement_it_introduces(advisor: Advisor) -> None:
    llm = scripted(
        "Here is what the guide says:\nSalaries average $120,000–$150,000 annually [1]. "
        "Would you like to know more?"
    )
    parts = list(llm_advisor(advisor, llm).stream({"question": SALARY}))
    total = parts[0]
    for p in parts[1:]:
        total = total + p
    assert total.answer.startswith("Here is what the guide says: Salaries average"), total
    assert "know more" not in total.answer  # a trailing question with nothing after it
    assert all(p.answer != "Here is what the guide says:" for p in parts)  # never alone


def test_malformed_output_without_citations_gets_the_extractive_answer(
    advisor: Advisor,
) -> None:
    garbage = scripted('}{ <<json>> "answer": null ]] \x00 lorem ipsum dolor')
    answer = llm_advisor(advisor, garbage).invoke({"question": SALARY})
    assert_cited_fallback(answer, "could not be checked")
    assert answer.removed and "lorem" not in answer.answer


def test_off_topic_never_reaches_the_model(advisor: Advisor) -> None:
    llm = scripted("This must not be used [1].")
    answer = llm_advisor(advisor, llm).invoke({"question": "Who won the 2018 FIFA World Cup?"})
    assert answer.declined and "must not" not in answer.answer


def test_sentences_stream_as_they_complete() -> None:
    chunks = ["Salaries are ", "high [1]. Tools", " include Jira [2].\n- Trello [2]", ""]
    assert list(sentences_of(iter(chunks))) == [
        "Salaries are high [1].",
        "Tools include Jira [2].",
        "- Trello [2]",
    ]


# --- real endpoints that fail ----------------------------------------------------------------


class Endpoint:
    """A local HTTP server that answers every request with `status` after `delay` seconds."""

    def __init__(self, status: int, delay: float = 0.0) -> None:
        self.requests = 0
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                outer.requests += 1
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                time.sleep(delay)
                body = b'{"error": {"message": "boom"}}'
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def http500() -> Iterator[Endpoint]:
    endpoint = Endpoint(500)
    yield endpoint
    endpoint.close()


@pytest.fixture
def slow() -> Iterator[Endpoint]:
    endpoint = Endpoint(200, delay=3.0)
    yield endpoint
    endpoint.close()


def openai_advisor(advisor: Advisor, url: str, **overrides) -> Advisor:
    settings = advisor.settings.model_copy(
        update={"llm": "openai:test-model", "llm_base_url": url, "llm_retries": 2, **overrides}
    )
    return Advisor(settings, embedder=advisor.embedder, store=advisor.store)


def test_connection_refused_falls_back_with_a_notice(advisor: Advisor) -> None:
    answer = openai_advisor(advisor, f"http://127.0.0.1:{free_port()}/v1").invoke(
        {"question": SALARY}
    )
    assert answer.generator == "extractive (fallback)"
    assert "test-model" in (answer.notice or "") and "quotes the documents" in (answer.notice or "")
    assert "$120,000" in answer.answer


def test_http_500_is_retried_then_reported(advisor: Advisor, http500: Endpoint) -> None:
    adv = openai_advisor(advisor, http500.url, llm_fallback=False)
    with pytest.raises(LLMError, match="test-model"):
        adv.invoke({"question": SALARY})
    assert http500.requests == 3  # one call and two retries


def test_timeout_is_bounded(advisor: Advisor, slow: Endpoint) -> None:
    adv = openai_advisor(advisor, slow.url, llm_timeout=0.5, llm_retries=0)
    started = time.perf_counter()
    answer = adv.invoke({"question": SALARY})
    assert time.perf_counter() - started < 3.0
    assert answer.generator == "extractive (fallback)" and answer.notice


def test_unknown_llm_setting_lists_the_choices() -> None:
    with pytest.raises(ConfigError, match="openai:MODEL"):
        make_llm(Settings(llm="gpt4all:foo"))
    with pytest.raises(ConfigError, match="names no model"):
        make_llm(Settings(llm="openai"))


# --- what `advisor ask --json` says, and the llamacpp seam -----------------------------------


def test_ask_json_with_a_dead_endpoint_says_it_fell_back(advisor: Advisor) -> None:
    from .test_cli import run

    result = run(
        ["ask", SALARY, "--json"],
        advisor.settings,
        ADVISOR_LLM="openai:test-model",
        ADVISOR_LLM_BASE_URL=f"http://127.0.0.1:{free_port()}/v1",
        ADVISOR_LLM_RETRIES="0",
    )
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["fell_back"] is True and data["generator"] == "extractive (fallback)"
    assert "could not be reached" in data["notice"] and data["removed"] == []
    assert "$120,000" in data["answer"] and data["citations"]


def test_ask_json_lists_what_was_removed_and_why(advisor: Advisor) -> None:
    llm = scripted(
        "Salaries average $120,000–$150,000 annually [1]. Salaries are $900,000 a month [1]."
    )
    answer = llm_advisor(advisor, llm).invoke({"question": SALARY})
    data = answer.to_json_dict() | answer.outcome()
    assert data["fell_back"] is False and data["generator"].startswith("llm:")
    assert data["removed"] == [
        {
            "text": "Salaries are $900,000 a month [1].",
            "reason": answer.removed[0].reason,
            "kind": "unsupported",
        }
    ]
    assert "$900,000" in data["removed"][0]["reason"] or "900" in data["removed"][0]["reason"]
    assert data["notice"] == "1 sentence was removed: it was not supported by its cited passage."


def test_llamacpp_without_its_packages_is_one_line_naming_the_install(
    advisor: Advisor, tmp_path: Path
) -> None:
    from .test_cli import run

    model = tmp_path / "model.gguf"
    model.write_bytes(b"GGUF")
    result = run(["ask", SALARY], advisor.settings, ADVISOR_LLM=f"llamacpp:{model}")
    if importlib.util.find_spec("langchain_community") is None:
        assert result.returncode == 1
        assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1
        assert "pip install langchain-community llama-cpp-python" in result.stderr
    else:  # installed: a file llama.cpp cannot read is one line too, without llama.cpp's log
        assert result.returncode == 1 and "could not load" in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1


def test_llamacpp_names_a_missing_model_file(monkeypatch: pytest.MonkeyPatch) -> None:
    if importlib.util.find_spec("langchain_community") is None:
        with pytest.raises(ConfigError, match="pip install langchain-community"):
            make_llm(Settings(llm="llamacpp:/nowhere/model.gguf"))
    else:
        with pytest.raises(ConfigError, match="no such model file"):
            make_llm(Settings(llm="llamacpp:/nowhere/model.gguf"))


# --- the prompt fits the model -----------------------------------------------------------------


def test_passages_are_budgeted_best_first_and_kept_whole(advisor: Advisor) -> None:
    hits = advisor.retrieve(SALARY).hits
    everything = sum(estimate_tokens(source_block(i, h)) for i, h in enumerate(hits, 1))
    kept, _ = fit_passages(SALARY, hits, [], window=everything // 2 + 400, reserve=100)
    assert 0 < len(kept) < len(hits)
    assert kept[0] is hits[0]  # the best passage always goes first
    assert [hits.index(h) for h in kept] == sorted(hits.index(h) for h in kept)
    prompt = build_messages(SALARY, kept, [])[-1].content
    for hit in kept:
        assert hit.chunk.text in prompt  # whole, never cut
    assert estimate_tokens(prompt) <= everything // 2 + 400 - 100


@pytest.mark.parametrize(
    ("message", "window"),
    [
        (
            "Error code: 400 - {'error': {'message': \"This model's maximum context length is "
            '2048 tokens. However, you requested 2675 tokens"}}',
            2048,
        ),
        ("ValueError: Requested tokens (2675) exceed context window of 2048", 2048),
        ("the request exceeds the available context size, try increasing it", None),
    ],
)
def test_context_overflow_errors_are_recognised(message: str, window: int | None) -> None:
    failure = classify(RuntimeError(message), "m", 60)
    assert failure.kind == "context" and failure.window == window
    assert "context window" in failure.message


def test_a_context_too_small_for_any_passage_falls_back_with_a_clear_notice(
    advisor: Advisor,
) -> None:
    llm = scripted("This must not be used [1].")
    adv = llm_advisor(advisor, llm, llm_context_tokens=700, llm_max_tokens=600)
    answer = adv.invoke({"question": SALARY})
    assert_cited_fallback(answer, "did not fit the language model's context window (700 tokens")


class PropsServer:
    """A server that reports its context window the way llama.cpp's `llama-server` does."""

    def __init__(self, body: bytes) -> None:
        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                found = self.path == "/props"
                self.send_response(200 if found else 404)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(body if found else b"{}")

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def test_the_context_window_is_asked_of_the_server() -> None:
    props = PropsServer(b'{"default_generation_settings": {"n_ctx": 1536, "top_k": 40}}')
    try:
        assert server_context(props.url) == 1536
    finally:
        props.server.shutdown()
        props.server.server_close()
    assert server_context(f"http://127.0.0.1:{free_port()}/v1") is None

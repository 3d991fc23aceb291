"""The LLM generator: a scripted chat model at the LLM boundary, real endpoints for the faults.

The default extractive path is tested in test_chain.py; here the model is scripted (its reply
is fixed) so that verification, citation clean-up and fault handling can be asserted exactly.
"""

from __future__ import annotations

import http.server
import threading
import time
from collections.abc import Iterator

import pytest
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage

from advisor import Advisor, LLMError, Settings
from advisor.answer.llm import make_llm, sentences_of
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


def test_i_dont_know_becomes_a_declined_answer(advisor: Advisor) -> None:
    answer = llm_advisor(advisor, scripted("I don't know based on these documents.")).invoke(
        {"question": SALARY}
    )
    assert answer.declined and answer.citations == []


def test_empty_output_is_declined_not_blank(advisor: Advisor) -> None:
    answer = llm_advisor(advisor, scripted("   ")).invoke({"question": SALARY})
    assert answer.declined and answer.answer


def test_malformed_output_without_citations_is_declined(advisor: Advisor) -> None:
    garbage = scripted('}{ <<json>> "answer": null ]] \x00 lorem ipsum dolor')
    answer = llm_advisor(advisor, garbage).invoke({"question": SALARY})
    assert answer.declined and answer.citations == []
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

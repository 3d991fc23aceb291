"""`advisor serve`: a real uvicorn server on loopback, driven by httpx and the official `openai`
client; and `advisor serve --port N` as a real process."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from advisor import Advisor, Settings

from .conftest import CITATION_FIELDS, CORPUS, free_port

pytestmark = pytest.mark.server

SALARY = "What salary can an AI project manager expect?"


class Running:
    """`create_app(advisor)` served by uvicorn in a thread, on a free loopback port."""

    def __init__(self, advisor: Advisor) -> None:
        import uvicorn

        from advisor.serve import create_app

        self.port = free_port()
        config = uvicorn.Config(
            create_app(advisor), host="127.0.0.1", port=self.port, log_level="warning"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.05)
        self.url = f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)


@pytest.fixture(scope="module")
def api(advisor: Advisor) -> Iterator[str]:
    running = Running(advisor)
    yield running.url
    running.stop()


@pytest.fixture(scope="module")
def client(api: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=api, timeout=60) as c:
        yield c


def _file_text(source: str) -> str:
    with open(CORPUS / source, encoding="utf-8", newline="") as fh:
        return fh.read()


def events(response: httpx.Response) -> list[tuple[str, Any]]:
    """The (event, data) pairs of a Server-Sent Events body."""
    out, event, data = [], "message", []
    for line in response.iter_lines():
        if not line:
            if data:
                out.append((event, json.loads("\n".join(data))))
            event, data = "message", []
        elif line.startswith("event:"):
            event = line[6:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].strip())
    return out


# --- /ask and /ask/stream ----------------------------------------------------------------------
def test_ask_returns_the_json_of_advisor_ask(client: httpx.Client, advisor: Advisor) -> None:
    got = client.post("/ask", json={"question": SALARY})
    assert got.status_code == 200
    data = got.json()
    assert set(data) == {"question", "answer", "declined", "citations"}
    assert "$120,000" in data["answer"] and data["declined"] is False
    cite = data["citations"][0]
    assert set(cite) == CITATION_FIELDS
    assert _file_text(cite["source"])[cite["start"] : cite["end"]] == cite["text"]
    assert data == advisor.ask(SALARY).to_json_dict()


def test_ask_takes_the_conversation(client: httpx.Client) -> None:
    first = client.post("/ask", json={"question": "Which certifications should I consider?"})
    history = [
        {"role": "user", "content": "Which certifications should I consider?"},
        ["assistant", first.json()["answer"]],
    ]
    got = client.post(
        "/ask", json={"question": "Which of those is about Scrum?", "chat_history": history}
    )
    assert got.status_code == 200 and "Scrum" in got.json()["answer"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"question": "   "}, "Please type a question."),
        ({"question": "x" * 5000}, "the limit is 2,000"),
        ({"question": "?!?"}, "no words"),
    ],
)
def test_a_bad_question_is_a_422_with_the_users_message(
    client: httpx.Client, body: dict[str, Any], message: str
) -> None:
    got = client.post("/ask", json=body)
    assert got.status_code == 422
    assert message in got.json()["detail"]
    streamed = client.post("/ask/stream", json=body)
    assert streamed.status_code == 422 and message in streamed.json()["detail"]


def test_a_malformed_body_is_a_422_not_a_500(client: httpx.Client) -> None:
    assert client.post("/ask", json={"chat_history": []}).status_code == 422
    assert (
        client.post(
            "/ask", content=b"{not json", headers={"content-type": "application/json"}
        ).status_code
        == 422
    )


def test_ask_stream_sends_chunks_then_an_end_event(client: httpx.Client) -> None:
    with client.stream("POST", "/ask/stream", json={"question": SALARY}) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        got = events(response)
    names = [e for e, _ in got]
    assert names[-1] == "end" and set(names[:-1]) == {"chunk"} and len(names) > 2
    end = got[-1][1]
    assert "".join(d["answer"] for e, d in got if e == "chunk") == end["answer"]
    streamed = [c for e, d in got if e == "chunk" for c in d["citations"]]
    assert streamed == end["citations"] and end["citations"]
    assert end == client.post("/ask", json={"question": SALARY}).json()


def test_streams_really_arrive_in_pieces(api: str) -> None:
    """The first event comes before the last one is written (no buffering on the way)."""
    with (
        httpx.Client(base_url=api, timeout=60) as c,
        c.stream(
            "POST", "/ask/stream", json={"question": "How do I become an AI project manager?"}
        ) as r,
    ):
        pieces = list(r.iter_raw())
    assert len(pieces) > 1


def test_docs_and_schema(client: httpx.Client) -> None:
    assert client.get("/docs").status_code == 200
    schema = client.get("/openapi.json").json()
    assert {"/ask", "/ask/stream", "/v1/chat/completions", "/v1/models"} <= set(schema["paths"])
    ask = schema["components"]["schemas"]["AskRequest"]
    assert {"question", "chat_history"} <= set(ask["properties"])


# --- the OpenAI API ----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def openai_client(api: str) -> Any:
    from openai import OpenAI

    return OpenAI(base_url=f"{api}/v1", api_key="unused", max_retries=0, timeout=60)


def test_models_list_the_advisor(openai_client: Any, advisor: Advisor) -> None:
    ids = [m.id for m in openai_client.models.list()]
    assert ids == [advisor.settings.serve_model]


def test_openai_client_gets_a_cited_answer(openai_client: Any, advisor: Advisor) -> None:
    completion = openai_client.chat.completions.create(
        model="career-advisor", messages=[{"role": "user", "content": SALARY}]
    )
    text = completion.choices[0].message.content
    expected = advisor.ask(SALARY)
    assert text.startswith(expected.answer) and "$120,000" in text and "[1]" in text
    assert "Sources:" in text and f"[1] {expected.citations[0].title}" in text
    citations = completion.model_extra["citations"]
    assert citations == expected.to_json_dict()["citations"]
    assert completion.choices[0].finish_reason == "stop" and completion.model == "career-advisor"
    assert completion.model_extra["declined"] is False


def test_openai_client_streams_a_cited_answer(openai_client: Any, advisor: Advisor) -> None:
    stream = openai_client.chat.completions.create(
        model="career-advisor", messages=[{"role": "user", "content": SALARY}], stream=True
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks)
    expected = advisor.ask(SALARY)
    assert len(chunks) > 3
    assert text.startswith(expected.answer) and f"[1] {expected.citations[0].title}" in text
    last = chunks[-1]
    assert last.choices[0].finish_reason == "stop"
    assert last.model_extra["citations"] == expected.to_json_dict()["citations"]
    plain = openai_client.chat.completions.create(
        model="career-advisor", messages=[{"role": "user", "content": SALARY}]
    )
    assert plain.choices[0].message.content == text


def test_openai_conversation_and_content_parts(openai_client: Any) -> None:
    first = openai_client.chat.completions.create(
        model="career-advisor",
        messages=[{"role": "user", "content": "Which certifications should I consider?"}],
    )
    follow = openai_client.chat.completions.create(
        model="career-advisor",
        messages=[
            {"role": "system", "content": "You are helpful."},
            {"role": "user", "content": "Which certifications should I consider?"},
            {"role": "assistant", "content": first.choices[0].message.content},
            {
                "role": "user",
                "content": [{"type": "text", "text": "Which of those is about Scrum?"}],
            },
        ],
    )
    assert "Scrum" in follow.choices[0].message.content


def test_openai_errors_are_openai_errors(openai_client: Any) -> None:
    import openai

    with pytest.raises(openai.BadRequestError, match="Please type a question"):
        openai_client.chat.completions.create(
            model="career-advisor", messages=[{"role": "user", "content": " "}]
        )
    with pytest.raises(openai.BadRequestError, match="last message must be the user"):
        openai_client.chat.completions.create(
            model="career-advisor", messages=[{"role": "assistant", "content": "Hi"}]
        )
    with pytest.raises(openai.BadRequestError, match="Please type a question"):
        openai_client.chat.completions.create(
            model="career-advisor", messages=[{"role": "user", "content": ""}], stream=True
        )


def test_langchain_chat_openai_uses_it_as_a_model(api: str) -> None:
    from langchain_openai import ChatOpenAI

    model = ChatOpenAI(model="career-advisor", base_url=f"{api}/v1", api_key="unused")  # type: ignore[arg-type]
    reply = model.invoke(SALARY)
    assert "$120,000" in str(reply.content) and "Sources:" in str(reply.content)


# --- errors and login ----------------------------------------------------------------------------
def test_no_index_is_a_503_naming_the_command(tmp_path: Any, embedder: Any) -> None:
    empty = Advisor(Settings(corpus_dir=CORPUS, index_dir=tmp_path / "index"), embedder=embedder)
    running = Running(empty)
    try:
        with httpx.Client(base_url=running.url, timeout=60) as c:
            got = c.post("/ask", json={"question": SALARY})
            assert got.status_code == 503 and "advisor index" in got.json()["detail"]
            got = c.post("/ask/stream", json={"question": SALARY})
            assert got.status_code == 503 and "advisor index" in got.json()["detail"]
            got = c.post(
                "/v1/chat/completions",
                json={"model": "x", "messages": [{"role": "user", "content": SALARY}]},
            )
            assert got.status_code == 503 and "advisor index" in got.json()["error"]["message"]
    finally:
        running.stop()
    assert not (tmp_path / "index").exists()


def test_the_login_is_required_when_set(advisor: Advisor, tmp_path: Any) -> None:
    from openai import AuthenticationError, OpenAI

    fields = advisor.settings.model_dump() | {"ui_auth": "ada:s3cret"}
    guarded = Advisor(Settings(**fields), embedder=advisor.embedder, store=advisor.store)
    running = Running(guarded)
    try:
        with httpx.Client(base_url=running.url, timeout=60) as c:
            refused = c.post("/ask", json={"question": SALARY})
            assert refused.status_code == 401 and "Basic" in refused.headers["www-authenticate"]
            assert c.get("/docs").status_code == 401
            wrong = c.post("/ask", json={"question": SALARY}, auth=("ada", "nope"))
            assert wrong.status_code == 401
            ok = c.post("/ask", json={"question": SALARY}, auth=("ada", "s3cret"))
            assert ok.status_code == 200 and ok.json()["citations"]
            token = base64.b64encode(b"ada:s3cret").decode()
            assert c.get("/docs", headers={"Authorization": f"Basic {token}"}).status_code == 200
        bad = OpenAI(base_url=f"{running.url}/v1", api_key="nope", max_retries=0)
        with pytest.raises(AuthenticationError):
            bad.models.list()
        good = OpenAI(base_url=f"{running.url}/v1", api_key="ada:s3cret", max_retries=0)
        assert [m.id for m in good.models.list()] == ["career-advisor"]
    finally:
        running.stop()


# --- the command ---------------------------------------------------------------------------
@pytest.mark.slow
def test_advisor_serve_command_answers(advisor: Advisor) -> None:
    port = free_port()
    environ = {k: v for k, v in os.environ.items() if k != "ADVISOR_DEBUG"}
    environ.update(
        ADVISOR_CORPUS_DIR=str(advisor.settings.corpus_dir),
        ADVISOR_INDEX_DIR=str(advisor.settings.index_dir),
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "advisor.cli", "serve", "--port", str(port)],
        env=environ,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while True:
            assert process.poll() is None, process.communicate()[1]
            try:
                if httpx.get(f"{url}/v1/models", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "advisor serve did not start"
            time.sleep(0.3)
        got = httpx.post(f"{url}/ask", json={"question": SALARY}, timeout=60).json()
        assert "$120,000" in got["answer"] and got["citations"]
        with httpx.stream("POST", f"{url}/ask/stream", json={"question": SALARY}, timeout=60) as r:
            assert r.headers["content-type"].startswith("text/event-stream")
            assert events(r)[-1][0] == "end"
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=30)
    assert "Traceback" not in stderr
    assert "127.0.0.1" in stderr  # it says where it listens: loopback by default

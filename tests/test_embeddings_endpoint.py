"""`ADVISOR_EMBEDDINGS=openai:MODEL` against a real OpenAI-compatible embeddings server on
loopback (a small FastAPI app serving deterministic bag-of-words vectors, as a local embedding
server would serve a real model's), driven by LangChain's own `OpenAIEmbeddings` client."""

from __future__ import annotations

import hashlib
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from advisor import Advisor, Settings
from advisor.errors import IndexMismatchError

from .conftest import free_port

pytestmark = pytest.mark.server

SIZE = 64
DOCS = {
    "pmp.md": "# PMP\n\n## Exam\n\nThe PMP exam has 180 questions and lasts 230 minutes.\n",
    "csm.md": "# CSM\n\n## Test\n\nThe CSM test has 50 questions and a pass mark of 74%.\n",
    "prince2.md": "# PRINCE2\n\n## Foundation\n\nThe PRINCE2 Foundation exam lasts 60 minutes.\n",
}


def bag_of_words(text: str) -> list[float]:
    """Each word adds 1 to the dimension its hash picks: texts sharing words are close."""
    vector = [0.0] * SIZE
    for word in re.findall(r"[a-z0-9]+", text.lower()):
        vector[int(hashlib.sha256(word.encode()).hexdigest(), 16) % SIZE] += 1.0
    return vector


@pytest.fixture(scope="module")
def endpoint() -> Iterator[dict[str, Any]]:
    import uvicorn
    from fastapi import FastAPI

    app = FastAPI()
    seen: dict[str, Any] = {"requests": 0, "models": set()}

    @app.post("/v1/embeddings")
    def embeddings(body: dict[str, Any]) -> dict[str, Any]:
        texts = body["input"] if isinstance(body["input"], list) else [body["input"]]
        assert all(isinstance(t, str) for t in texts), "texts, not token ids"
        seen["requests"] += 1
        seen["models"].add(body["model"])
        data = [
            {"object": "embedding", "index": i, "embedding": bag_of_words(t)}
            for i, t in enumerate(texts)
        ]
        usage = {"prompt_tokens": 0, "total_tokens": 0}
        return {"object": "list", "data": data, "model": body["model"], "usage": usage}

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    yield {"url": f"http://127.0.0.1:{port}/v1", "seen": seen}
    server.should_exit = True
    thread.join(timeout=30)


def test_an_openai_compatible_endpoint_embeds_the_index_and_the_questions(
    endpoint: dict[str, Any], tmp_path: Path
) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name, text in DOCS.items():
        (corpus / name).write_text(text, encoding="utf-8")
    settings = Settings(
        corpus_dir=corpus,
        index_dir=tmp_path / "index",
        embeddings="openai:bow-64",
        embeddings_base_url=endpoint["url"],
    )
    advisor = Advisor(settings)
    report = advisor.index()
    assert report.documents == 3 and report.wrote
    gen = advisor.store.current()
    assert gen is not None and gen.spec is not None
    assert (gen.spec.embed_model, gen.spec.dimension) == ("openai:bow-64", SIZE)
    before = endpoint["seen"]["requests"]
    docs = advisor.as_retriever(k=1).invoke("How long does the PRINCE2 Foundation exam last?")
    assert docs[0].metadata["source"] == "prince2.md"
    assert endpoint["seen"]["requests"] > before  # the question went to the endpoint too
    assert endpoint["seen"]["models"] == {"bow-64"}
    answer = advisor.invoke({"question": "How many questions does the CSM test have?"})
    assert "50 questions" in answer.answer and answer.citations[0].source == "csm.md"

    # the packaged model on this index is refused, naming what built it
    with pytest.raises(IndexMismatchError, match="openai:bow-64"):
        Advisor(settings.model_copy(update={"embeddings": "local"})).ask("PMP exam length?")

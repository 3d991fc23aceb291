"""Shared fixtures: the real embedding model and a real Chroma index of the shipped corpus.

The corpus index is built once per test session (about 15 s) into a temporary folder and used
read-only; tests that change an index build their own under `tmp_path`.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("ADVISOR_DEBUG", "1")
from advisor.config import Settings, apply_offline_env  # noqa: E402

apply_offline_env()

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus"
EXTERNAL_DOCS = ROOT.parent / "shared" / "external-docs"
# the fields of a citation in `advisor ask --json`, the UI API, results.json and feedback
CITATION_FIELDS = {"n", "doc_id", "title", "section", "source", "start", "end", "text", "page"}


@pytest.fixture(scope="session")
def embedder():
    from advisor.embed import make_embeddings

    return make_embeddings(Settings())


@pytest.fixture(scope="session")
def corpus_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Settings for a read-only index of the shipped corpus."""
    return Settings(corpus_dir=CORPUS, index_dir=tmp_path_factory.mktemp("corpus-index"))


@pytest.fixture(scope="session")
def advisor(corpus_settings: Settings, embedder):
    """The default (extractive) advisor over the shipped corpus, index built once."""
    from advisor import Advisor

    adv = Advisor(corpus_settings, embedder=embedder)
    adv.index()
    return adv


@pytest.fixture
def fresh_settings(tmp_path: Path) -> Settings:
    """Settings with an empty index folder of this test's own."""
    return Settings(corpus_dir=CORPUS, index_dir=tmp_path / "index")


@pytest.fixture
def external_docs() -> Path:
    if not EXTERNAL_DOCS.is_dir():
        pytest.skip(f"{EXTERNAL_DOCS} is not present (it sits beside the clone in CI)")
    return EXTERNAL_DOCS


def free_port() -> int:
    """A loopback port nothing listens on (for servers the tests start)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve_ui(advisor: Any, **queue: Any) -> Any:
    """The chat UI of `advisor` on a free loopback port, in this process; `app.close()` stops it."""
    from advisor.ui import CSS, create_app

    app = create_app(advisor)
    app.queue(default_concurrency_limit=advisor.settings.ui_concurrency, **queue)
    app.launch(
        server_name="127.0.0.1",
        server_port=free_port(),
        prevent_thread_lock=True,
        show_error=False,
        quiet=True,
        css=CSS,
    )
    return app


@pytest.fixture(scope="module")
def ui_advisor(advisor: Any, corpus_settings: Settings, tmp_path_factory: pytest.TempPathFactory):
    """The session's advisor (same index and models), with a feedback file of its own."""
    from advisor import Advisor

    fields = corpus_settings.model_dump() | {"index_dir": tmp_path_factory.mktemp("ui-index")}
    return Advisor(Settings(**fields), embedder=advisor.embedder, store=advisor.store)

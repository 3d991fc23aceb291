"""Shared fixtures: the real embedding model and a real Chroma index of the shipped corpus.

The corpus index is built once per test session (about 15 s) into a temporary folder and used
read-only; tests that change an index build their own under `tmp_path`.
"""

from __future__ import annotations

import os
from pathlib import Path

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

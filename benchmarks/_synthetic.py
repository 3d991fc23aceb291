"""Large indexes (1k, 10k, 100k chunks) made from real text, without embedding it all again.

The base set is a real build of the larger corpus (the project corpus plus the external
documents), read back from its generation: every chunk and every unit with its vector. A synthetic
index holds copy 0 (the base set as it is) and copies 1, 2, ... of it, each a virtual document
`copies/NNNN/<file>` whose chunk texts end with " (copy N)" and whose vectors (chunks and units)
are the base vectors plus a little Gaussian noise, re-normalized (cosine to the original ~0.995).
The last copy may be partial (its first chunks, with their units) to hit the size exactly.

Chroma writes about 1-3 thousand records a second here (100k chunks come with ~670k units), so a
100k index takes many minutes to write. Finished synthetic indexes are therefore cached in
$XDG_CACHE_HOME/career-advisor-bench/ (~3 GB for all sizes), keyed by a fingerprint of the
corpus files, the chunker, the model, the Chroma version and this recipe; a change to any of
them builds them again. ADVISOR_BENCH_CACHE=off builds them in the work folder every time
(removed at the end); ADVISOR_BENCH_CACHE=DIR caches elsewhere.

Everything is written straight into a new generation (IndexStore.create with the real IndexSpec
and a manifest listing every virtual document, chunks.add / units.add in batches no larger
than the client's maximum, then IndexStore.switch_to), so an `Advisor` on that index_dir answers
from it exactly as from a built index.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from _common import line, make_large_corpus

RECIPE = "2"  # bump when the way synthetic indexes are made changes (2: unit counts in metadata)
NOISE = 0.1  # norm of the noise added to a unit vector (per-dimension sigma = NOISE / sqrt(dim))


def large_settings(work: Path, index_dir: Path | None = None) -> Any:
    """Settings for the larger corpus (copied into `work` once) and an index folder (by default
    `work/large-index`, the real build of that corpus)."""
    from advisor import Settings

    corpus = work / "large-corpus"
    if not corpus.is_dir():
        make_large_corpus(corpus)
    return Settings(corpus_dir=corpus, index_dir=index_dir or work / "large-index")


@dataclass
class BaseSet:
    """One real generation, in memory: chunks and, per chunk, its units (in order)."""

    ids: list[str]
    documents: list[str]
    metadatas: list[dict[str, Any]]
    vectors: np.ndarray
    units: dict[str, list[tuple[str, dict[str, Any], np.ndarray]]]  # chunk id -> [(doc, meta, vec)]
    manifest: dict[str, dict[str, Any]]
    unit_count: int = field(default=0)


_BASES: dict[Path, BaseSet] = {}


def load_base(work: Path) -> BaseSet:
    """Build the larger corpus's index in `work` if it is not there yet, and read it back."""
    if work not in _BASES:
        _BASES[work] = _load_base(work)
    return _BASES[work]


def _load_base(work: Path) -> BaseSet:
    from advisor import Advisor

    settings = large_settings(work)
    advisor = Advisor(settings)
    started = time.perf_counter()
    report = advisor.index()  # incremental: a no-op when bench_index.py already built it
    if report.wrote:
        line(f"built the base index of the larger corpus in {time.perf_counter() - started:.1f} s")
    gen = advisor.store.current()
    assert gen is not None
    got = gen.chunks.get(include=["embeddings", "documents", "metadatas"])
    order = np.argsort(got["ids"])  # a stable order, whatever Chroma returns
    ids = [got["ids"][i] for i in order]
    units_got = gen.units.get(include=["embeddings", "documents", "metadatas"])
    units: dict[str, list[tuple[str, dict[str, Any], np.ndarray]]] = defaultdict(list)
    for doc, meta, vec in zip(
        units_got["documents"], units_got["metadatas"], units_got["embeddings"], strict=True
    ):
        units[str(meta["chunk_id"])].append((doc, meta, np.asarray(vec, dtype=np.float32)))
    for members in units.values():
        members.sort(key=lambda u: int(u[1]["order"]))
    return BaseSet(
        ids=ids,
        documents=[got["documents"][i] for i in order],
        metadatas=[got["metadatas"][i] for i in order],
        vectors=np.asarray(got["embeddings"], dtype=np.float32)[order],
        units=dict(units),
        manifest=gen.manifest,
        unit_count=len(units_got["ids"]),
    )


def _noisy(vectors: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    sigma = NOISE / np.sqrt(vectors.shape[1])
    out = vectors + rng.normal(0.0, sigma, vectors.shape).astype(np.float32)
    out /= np.linalg.norm(out, axis=1, keepdims=True)
    return out


class _Writer:
    """Buffers adds to one collection and flushes them in batches of at most `size`."""

    def __init__(self, collection: Any, size: int) -> None:
        self.collection, self.size = collection, size
        self.ids: list[str] = []
        self.docs: list[str] = []
        self.metas: list[dict[str, Any]] = []
        self.vecs: list[np.ndarray] = []
        self.written = 0

    def add(
        self, ids: list[str], docs: list[str], metas: list[dict[str, Any]], vecs: np.ndarray
    ) -> None:
        self.ids += ids
        self.docs += docs
        self.metas += metas
        self.vecs.append(vecs)
        if len(self.ids) >= self.size:
            self.flush()

    def flush(self) -> None:
        vecs = np.concatenate(self.vecs) if self.vecs else np.zeros((0, 0), np.float32)
        for i in range(0, len(self.ids), self.size):
            part = slice(i, i + self.size)
            self.collection.add(
                ids=self.ids[part],
                embeddings=vecs[part],
                documents=self.docs[part],
                metadatas=self.metas[part],
            )
            self.written += len(self.ids[part])
        self.ids, self.docs, self.metas, self.vecs = [], [], [], []


def build_synthetic(base: BaseSet, settings: Any, n_chunks: int, seed: int = 0) -> dict[str, Any]:
    """Write an index of exactly `n_chunks` chunks (and their units) into `settings.index_dir`."""
    from advisor.embed import make_embeddings
    from advisor.index import index_spec
    from advisor.store import open_store

    started = time.perf_counter()
    rng = np.random.default_rng(seed)
    spec = index_spec(settings, make_embeddings(settings))  # reads the model's config only
    store = open_store(settings)
    size = min(store.client.get_max_batch_size(), 5000)
    n_base = len(base.ids)
    copies = -(-n_chunks // n_base)

    def source_of(meta: dict[str, Any], copy: int) -> str:
        return meta["source"] if copy == 0 else f"copies/{copy:04d}/{meta['source']}"

    manifest: dict[str, dict[str, Any]] = {}
    for copy in range(copies):
        take = min(n_base, n_chunks - copy * n_base)
        for meta in base.metadatas[:take]:
            src = source_of(meta, copy)
            if src not in manifest:
                entry = base.manifest.get(meta["source"], {})
                manifest[src] = {
                    "hash": entry.get("hash", ""),
                    "doc_id": meta["doc_id"] if copy == 0 else f"{meta['doc_id']}-copy{copy}",
                    "title": entry.get("title", meta["title"]),
                    "chunks": 0,
                }
            manifest[src]["chunks"] += 1

    gen = store.create(spec, manifest)
    chunks_out, units_out = _Writer(gen.chunks, size), _Writer(gen.units, size)
    report_every = max(10, copies // 10)
    for copy in range(copies):
        if copy and copy % report_every == 0:
            done = chunks_out.written + units_out.written + len(units_out.ids)
            line(
                f"  {copy}/{copies} copies written ({done:,} records, "
                f"{done / (time.perf_counter() - started):.0f} records/s)"
            )
        take = min(n_base, n_chunks - copy * n_base)
        suffix = "" if copy == 0 else f"-copy{copy}"
        ids = [f"{cid}{suffix}" for cid in base.ids[:take]]
        metas = []
        for meta in base.metadatas[:take]:
            m = dict(meta)
            if copy:
                m["source"] = source_of(meta, copy)
                m["doc_id"] = f"{meta['doc_id']}-copy{copy}"
            metas.append(m)
        docs = [d if copy == 0 else f"{d} (copy {copy})" for d in base.documents[:take]]
        vecs = base.vectors[:take] if copy == 0 else _noisy(base.vectors[:take], rng)
        chunks_out.add(ids, docs, metas, vecs)

        u_ids, u_docs, u_metas, u_vecs = [], [], [], []
        for base_id, new_id, meta in zip(base.ids[:take], ids, metas, strict=True):
            for doc, umeta, vec in base.units.get(base_id, []):
                u_ids.append(f"{new_id}:{umeta['order']}")
                u_docs.append(doc)
                u_metas.append({**umeta, "chunk_id": new_id, "source": meta["source"]})
                u_vecs.append(vec)
        if u_ids:
            stacked = np.stack(u_vecs)
            units_out.add(u_ids, u_docs, u_metas, stacked if copy == 0 else _noisy(stacked, rng))
    chunks_out.flush()
    units_out.flush()
    store.switch_to(gen)
    seconds = time.perf_counter() - started
    return {
        "chunks": chunks_out.written,
        "units": units_out.written,
        "copies": copies,
        "base_chunks": n_base,
        "base_units": base.unit_count,
        "seconds": seconds,
        "records_per_s": (chunks_out.written + units_out.written) / seconds,
    }


def cache_root() -> Path | None:
    value = os.environ.get("ADVISOR_BENCH_CACHE", "")
    if value.lower() in ("0", "off", "no", "false"):
        return None
    if value:
        return Path(value)
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "career-advisor-bench"


def fingerprint(settings: Any, n_chunks: int, seed: int) -> str:
    """Everything a synthetic index depends on."""
    from importlib.metadata import version

    from advisor.split import CHUNKER_VERSION

    h = hashlib.sha256()
    for path in sorted(Path(settings.corpus_dir).iterdir()):
        if path.is_file():
            h.update(path.name.encode() + b"\0" + hashlib.sha256(path.read_bytes()).digest())
    for part in (
        CHUNKER_VERSION,
        settings.embedding_model,
        settings.chunk_tokens,
        settings.chunk_overlap_tokens,
        version("chromadb"),
        RECIPE,
        NOISE,
        seed,
        n_chunks,
    ):
        h.update(f"\0{part}".encode())
    return h.hexdigest()[:16]


def index_size(settings: Any) -> int:
    """Chunks in the current generation of `settings.index_dir`, or -1."""
    from advisor.store import open_store

    if not (Path(settings.index_dir) / "chroma").is_dir():
        return -1
    try:
        gen = open_store(settings).current()
        return int(gen.chunks.count()) if gen else -1
    except Exception:
        return -1


def synthetic_index(work: Path, n_chunks: int, seed: int = 0) -> tuple[Any, dict[str, Any]]:
    """Settings of a ready `n_chunks` synthetic index (cached, or built now) and how it was made."""
    settings = large_settings(work)
    root = cache_root()
    if root is None:
        folder = work / f"synthetic-{n_chunks}"
    else:
        folder = root / f"synthetic-{n_chunks}-{fingerprint(settings, n_chunks, seed)}"
    settings = large_settings(work, folder)
    done = folder / "COMPLETE"
    if done.is_file() and index_size(settings) == n_chunks:
        line(f"re-using the cached {n_chunks:,}-chunk synthetic index in {folder}")
        return settings, {**json.loads(done.read_text()), "reused": True, "folder": str(folder)}
    if root is not None and root.is_dir():  # older versions of this size
        for old in root.glob(f"synthetic-{n_chunks}-*"):
            shutil.rmtree(old, ignore_errors=True)
    shutil.rmtree(folder, ignore_errors=True)
    built = build_synthetic(load_base(work), settings, n_chunks, seed)
    done.write_text(json.dumps(built) + "\n")
    line(
        f"wrote {built['chunks']:,} chunks + {built['units']:,} units ({built['copies']} copies of "
        f"the base set) in {built['seconds']:.1f} s ({built['records_per_s']:.0f} records/s) "
        f"to {folder}"
    )
    return settings, {**built, "folder": str(folder)}

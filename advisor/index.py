"""Build or update the index: load -> split -> embed -> store, incrementally and atomically.

Unchanged documents (same content hash) keep their vectors (copied, not re-embedded), changed
documents are re-split and re-embedded, removed ones disappear, and a run with nothing to do
writes nothing. A lock file keeps two builds from running at once. The documents users add in
the page (`settings.user_docs_path`) are a second root, indexed with the corpus under
`uploads/`; a build keeps the previous generation until the next one, so questions answered
while it switched in (the page keeps serving during an upload) finish on the one they began on.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from filelock import FileLock, Timeout

from .config import Settings
from .embed import Embedder
from .errors import CorpusError, IndexBusyError, IndexCorruptError, IndexMismatchError
from .load import Problem, load_corpus
from .split import CHUNKER_VERSION, split_document
from .store import FIX_REBUILD, Generation, IndexSpec, IndexStore, paged_get
from .types import Chunk, SourceDocument, record_values

Progress = Callable[[str, int, int], None]  # (stage, done, total)
USER_PREFIX = "uploads/"  # sources of documents added in the page: "uploads/<file name>"


def load_user_documents(
    settings: Settings, known: Mapping[str, dict] | None = None
) -> tuple[list[SourceDocument], list[Problem]]:
    """The documents users added in the page (`settings.user_docs_path`), as a second root of
    the index: their sources and ids start with `uploads/`, so they never collide with the
    corpus and the page can tell them apart (only these may be removed there)."""
    root = settings.user_docs_path
    if not root.is_dir():
        return [], []
    own = {s[len(USER_PREFIX) :]: e for s, e in (known or {}).items() if s.startswith(USER_PREFIX)}
    docs, problems = load_corpus(root, settings.exclude, settings.max_file_mb, own)
    moved = [
        d.model_copy(update={"source": USER_PREFIX + d.source, "doc_id": USER_PREFIX + d.doc_id})
        for d in docs
    ]
    return moved, [Problem(USER_PREFIX + p.source, p.reason, p.skipped) for p in problems]


@dataclass(frozen=True)
class FileReport:
    """One indexed file, for the per-file lines of `advisor index`."""

    source: str
    title: str
    format: str
    pages: int | None
    chunks: int
    status: str  # "new" | "changed" | "unchanged"


@dataclass
class IndexReport:
    """What a build did, for the summary line and one line per file."""

    documents: int = 0
    added: int = 0
    removed: int = 0
    unchanged: int = 0
    changed_documents: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    seconds: float = 0.0
    wrote: bool = False
    files: list[FileReport] = field(default_factory=list)


def index_spec(settings: Settings, embedder: Embedder) -> IndexSpec:
    """What an index built now would record: the embeddings (by name and dimension) and the
    chunking. `embed_model` is `Embedder.name`: the model name for the local model (so indexes
    built before pluggable embeddings still match), `ollama:MODEL`, `openai:MODEL` or the
    class and model of an app's own `Embeddings`."""
    return IndexSpec(
        embed_model=embedder.name,
        dimension=embedder.dimension,
        chunk_tokens=min(settings.chunk_tokens, embedder.max_tokens),
        chunker=CHUNKER_VERSION,
    )


def chunk_metadata(chunk: Chunk) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "doc_id": chunk.doc_id,
        "title": chunk.title,
        "section": chunk.section,
        "source": chunk.source,
        "start": chunk.start,
        "end": chunk.end,
        # lets a query fetch a passage's units by id ("{chunk_id}:{i}") instead of a filter;
        # the question hints follow its quotable units
        "units": len(chunk.units) + len(chunk.questions),
    }
    if chunk.page is not None:
        meta["page"] = chunk.page
    return meta


def unit_embed_text(chunk: Chunk, text: str) -> str:
    """A unit is embedded with its nearest heading: "Soft Skills: Communication". A heading of
    one word says little by itself ("Examples", "Example"): its parent's comes first,
    "Use numbers to highlight your accomplishments > Examples: Wrote 25 news releases"."""
    path = [p for p in chunk.section.split(" > ") if p]
    heading = path[-1] if path else chunk.title
    if len(path) >= 2 and len(heading.split()) == 1:
        heading = f"{path[-2]} > {heading}"
    return f"{heading}: {record_values(text)}"


def _batches(n: int, size: int) -> Iterator[slice]:
    for i in range(0, n, size):
        yield slice(i, min(i + size, n))


def _copy_documents(old: Generation, new: Generation, sources: list[str], batch: int) -> int:
    """Carry unchanged documents' chunks and units (with their vectors) into the new generation."""
    copied = 0
    for i in range(0, len(sources), 200):
        group = sources[i : i + 200]
        for name in ("chunks", "units"):
            src, dst = getattr(old, name), getattr(new, name)
            for got in paged_get(
                src,
                page=batch,
                where={"source": {"$in": group}},
                include=["embeddings", "documents", "metadatas"],
            ):
                dst.add(
                    ids=got["ids"],
                    embeddings=np.asarray(got["embeddings"]),
                    documents=got["documents"],
                    metadatas=got["metadatas"],
                )
                if name == "chunks":
                    copied += len(got["ids"])
    return copied


def _add_chunks(
    gen: Generation, chunks: list[Chunk], embedder: Embedder, batch: int, progress: Progress
) -> None:
    """Embed chunks (with heading context) and their units, and write both collections.
    Texts go in length order, so each batch pads to similar lengths."""
    chunks = sorted(chunks, key=lambda c: len(c.embed_text))
    # a passage that is one quotable unit (a table row, a short paragraph) lends the unit its
    # own vector: embedding the same words twice would double the cost of a large table
    single = {c.id: c for c in chunks if _is_single_unit(c)}
    reused: dict[str, Any] = {}
    units = sorted((e for c in chunks for e in unit_entries(c)), key=lambda e: len(e.text))
    own = [e for e in units if not (e.metadata["chunk_id"] in single and e.metadata["order"] == 0)]
    total = len(chunks) + len(own)
    done = 0
    for part in _batches(len(chunks), batch):
        some = chunks[part]
        vectors = embedder.embed_passages([c.embed_text for c in some])
        for c, v in zip(some, vectors, strict=True):
            if c.id in single:
                reused[c.id] = v
        gen.chunks.add(
            ids=[c.id for c in some],
            embeddings=vectors,
            documents=[c.text for c in some],
            metadatas=[chunk_metadata(c) for c in some],
        )
        done += len(some)
        progress("embedding", done, total)
    for part in _batches(len(own), batch):
        group = own[part]
        gen.units.add(
            ids=[e.id for e in group],
            embeddings=embedder.embed_passages([e.embed_text for e in group]),
            documents=[e.text for e in group],
            metadatas=[e.metadata for e in group],
        )
        done += len(group)
        progress("embedding", done, total)
    lent = [e for e in units if e.metadata["chunk_id"] in single and e.metadata["order"] == 0]
    for part in _batches(len(lent), batch):
        group = lent[part]
        gen.units.add(
            ids=[e.id for e in group],
            embeddings=np.asarray([reused[e.metadata["chunk_id"]] for e in group]),
            documents=[e.text for e in group],
            metadatas=[e.metadata for e in group],
        )


def _file_reports(
    current: dict[str, SourceDocument],
    previous: dict[str, dict],
    per_doc: dict[str, int],
    todo: set[str],
) -> list[FileReport]:
    out = []
    for source, doc in sorted(current.items()):
        status = "unchanged" if source not in todo else ("changed" if source in previous else "new")
        chunks = per_doc.get(source, int(previous.get(source, {}).get("chunks", 0)))
        out.append(FileReport(source, doc.title, doc.format, doc.pages, chunks, status))
    return out


PROBLEMS_FILE = "problems.json"


def save_problems(settings: Settings, problems: list[Problem]) -> None:
    """Remember which files could not be indexed, so a question about one can say so."""
    import json
    import os

    path = settings.index_dir / PROBLEMS_FILE
    data = [{"source": p.source, "reason": p.reason} for p in problems if p.skipped]
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
    os.replace(tmp, path)


def load_problems(settings: Settings) -> list[Problem]:
    """The files the last build could not index (none when it never ran or the file is bad)."""
    import json

    try:
        data = json.loads((settings.index_dir / PROBLEMS_FILE).read_text(encoding="utf-8"))
        return [Problem(str(d["source"]), str(d["reason"])) for d in data]
    except (OSError, ValueError, KeyError, TypeError):
        return []


def _is_single_unit(chunk: Chunk) -> bool:
    """One quotable unit that is (nearly) the whole passage."""
    if len(chunk.units) != 1:
        return False
    unit = chunk.units[0]
    return (unit.end - unit.start) >= 0.8 * len(chunk.text.strip())


def _unused_hints(doc: SourceDocument, chunks: list[Chunk]) -> list[Problem]:
    """Hints of a heading with no passage of its own (only subsections under it, or a list of
    sources, which is not indexed): said, since they do nothing there."""
    used = {q for c in chunks for q in c.questions}
    return [
        Problem(
            doc.source,
            f"the questions for '{heading}' were not used: that section has no indexed text of "
            "its own (only subsections, or a list of sources)",
            skipped=False,
        )
        for heading, questions in doc.questions.items()
        if not used & set(questions)
    ]


@dataclass(frozen=True)
class UnitEntry:
    """One record of the units collection: what is stored, what is embedded, its metadata."""

    id: str
    text: str
    embed_text: str
    metadata: dict[str, Any]


def unit_entries(chunk: Chunk) -> list[UnitEntry]:
    """A chunk's records in the units collection: its quotable units (embedded with their
    heading), then its question hints (embedded as they are, never quoted; they let a user's
    own wording find the passage). Ids are `{chunk_id}:{order}`."""
    base: dict[str, Any] = {"chunk_id": chunk.id, "source": chunk.source}
    out = []
    for i, u in enumerate(chunk.units):
        text = chunk.text[u.start - chunk.start : u.end - chunk.start]
        parent = -1 if u.parent is None else u.parent
        meta: dict[str, Any] = {"start": u.start, "end": u.end, "kind": u.kind, "parent": parent}
        out.append(
            UnitEntry(
                f"{chunk.id}:{i}", text, unit_embed_text(chunk, text), {**base, **meta, "order": i}
            )
        )
    for i, q in enumerate(chunk.questions, start=len(chunk.units)):
        meta = {"start": chunk.start, "end": chunk.start, "kind": "question", "parent": -1}
        out.append(UnitEntry(f"{chunk.id}:{i}", q, q, {**base, **meta, "order": i}))
    return out


def _switch_keeping(store: IndexStore, gen: Generation, previous: Generation | None) -> None:
    """Make `gen` the answering generation, keeping `previous` until the next build: a
    question that began on it in another thread (the page answers while an upload is being
    indexed) can finish instead of finding its collections gone. Older ones are dropped."""
    if previous is None:
        store.switch_to(gen)
        return
    store._meta().modify(metadata={"current": gen.name, "switched": time.time()})
    keep = (f"{gen.name}-", f"{previous.name}-")
    for col in store.client.list_collections():
        name = col if isinstance(col, str) else col.name
        if name.startswith(f"{store.prefix}-g") and not name.startswith(keep):
            store.client.delete_collection(name)


def build_index(
    settings: Settings,
    embedder: Embedder,
    store: IndexStore,
    *,
    rebuild: bool = False,
    progress: Progress | None = None,
) -> IndexReport:
    """Bring the index in line with the corpus; see the module docstring for the guarantees."""
    report_progress: Progress = progress or (lambda *_: None)
    settings.index_dir.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(settings.index_dir / ".index.lock"))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        raise IndexBusyError(
            "Another `advisor index` is running on this index; wait for it to finish."
        ) from None
    try:
        report = _build(settings, embedder, store, rebuild, report_progress)
    finally:
        lock.release()
    embedder.ensure_onnx()  # once per machine: later processes answer without importing torch
    return report


def _build(
    settings: Settings, embedder: Embedder, store: IndexStore, rebuild: bool, progress: Progress
) -> IndexReport:
    started = time.perf_counter()
    report = IndexReport()
    spec = index_spec(settings, embedder)
    # the current index, read once: its manifest says which files need not be read again
    corrupt = False
    try:
        old: Generation | None = store.current()
    except IndexCorruptError:
        if not rebuild:
            raise
        old, corrupt = None, True
    if not rebuild and old is not None and (old.spec is None or spec.mismatch(old.spec)):
        problem = spec.mismatch(old.spec) if old.spec else "it records no settings"
        raise IndexMismatchError(f"The index does not match the settings: {problem}. {FIX_REBUILD}")
    previous = {} if (rebuild or old is None) else old.manifest
    docs, report.problems = load_corpus(
        settings.corpus_dir, settings.exclude, settings.max_file_mb, previous
    )
    user_docs, user_problems = load_user_documents(settings, previous)
    docs += user_docs
    report.problems += user_problems
    if not docs:
        where = settings.corpus_dir
        skipped = [p for p in report.problems if p.skipped]
        raise CorpusError(
            f"No readable documents in {where}"
            + (f" ({len(skipped)} file(s) could not be read)." if skipped else ".")
        )
    report.documents = len(docs)
    if corrupt:
        store.wipe()  # only once the documents are known to be readable

    current = {d.source: d for d in docs}
    keep = [s for s, d in current.items() if previous.get(s, {}).get("hash") == d.content_hash]
    todo: list[SourceDocument] = [d for s, d in current.items() if s not in keep]
    gone = [s for s in previous if s not in current]
    report.changed_documents = [d.source for d in todo] + gone

    save_problems(settings, report.problems)
    if old is not None and not todo and not gone and not rebuild:
        report.files = _file_reports(current, previous, {}, set())
        report.unchanged = sum(int(v.get("chunks", 0)) for v in previous.values())
        report.seconds = time.perf_counter() - started
        store.drop_others(keep=old.name)  # leftovers of an interrupted build, if any
        return report

    chunks: list[Chunk] = []
    per_doc: dict[str, int] = {}
    for i, doc in enumerate(todo):
        doc_chunks = split_document(
            doc, embedder.count_tokens, spec.chunk_tokens, settings.chunk_overlap_tokens
        )
        per_doc[doc.source] = len(doc_chunks)
        chunks.extend(doc_chunks)
        report.problems.extend(_unused_hints(doc, doc_chunks))
        progress("splitting", i + 1, len(todo))

    now, kept = time.time(), set(keep)
    notes: dict[str, list[str]] = {}
    for p in report.problems:
        if not p.skipped:
            notes.setdefault(p.source, []).append(p.reason)
    manifest = {
        s: {
            "hash": d.content_hash,
            "doc_id": d.doc_id,
            "title": d.title,
            "chunks": per_doc.get(s, previous.get(s, {}).get("chunks", 0)),
            "format": d.format,
            "pages": d.pages,
            # for the page's list of documents: when it was (re)indexed, and what was ignored
            "added": previous.get(s, {}).get("added", now) if s in kept else now,
            "notes": notes.get(s, previous.get(s, {}).get("notes", []) if s in kept else []),
        }
        for s, d in current.items()
    }
    report.files = _file_reports(current, previous, per_doc, {d.source for d in todo})
    gen = store.create(spec, manifest)
    batch = max(1, min(settings.embedding_batch_size * 4, 2000))
    report.unchanged = _copy_documents(old, gen, keep, batch) if old is not None and keep else 0
    _add_chunks(gen, chunks, embedder, batch, progress)
    _switch_keeping(store, gen, old)

    old_count = sum(int(v.get("chunks", 0)) for v in (old.manifest if old else {}).values())
    report.added = len(chunks)
    report.removed = old_count - report.unchanged
    report.wrote = True
    report.seconds = time.perf_counter() - started
    return report


_NAME_WORD = re.compile(r"[a-z0-9]+")


def unindexed_mentions(settings: Settings, question: str) -> str | None:
    """A notice when the question names a file that could not be indexed ("the budget report"
    for scanned-budget-report.pdf): its answer cannot come from there, and the user should know
    why rather than read an answer from other documents as if it were that one's."""
    problems = load_problems(settings)
    if not problems:
        return None
    asked = set(_NAME_WORD.findall(question.lower()))
    named = []
    for p in problems:
        stem = p.source.rsplit("/", 1)[-1].rsplit(".", 1)[0].lower()
        words = {w for w in _NAME_WORD.findall(stem) if len(w) > 3 or w.isdigit()}
        hit = words & asked
        if words and (len(hit) >= 2 or hit == words):
            named.append(f"{p.source} could not be indexed ({p.reason}), so it was not searched.")
    return " ".join(named) or None

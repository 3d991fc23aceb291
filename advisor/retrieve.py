"""Stage 4, retrieve: dense search in Chroma plus BM25 (bm25s), fused by reciprocal rank.

The BM25 index and the chunk table are built once per index generation and kept in memory, so a
query costs two small embeddings, three Chroma queries and one sparse lookup. Whether the corpus
can answer at all is decided here too: a floor on the best dense similarity, and a name or
acronym that no document mentions ("CISSP") below a confident level.
"""

from __future__ import annotations

import asyncio
import math
import re
import threading
from collections import Counter
from collections.abc import Iterator
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
from langchain_chroma import Chroma
from langchain_core.callbacks import (
    AsyncCallbackManagerForRetrieverRun,
    CallbackManagerForRetrieverRun,
)
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict, Field

from . import tables, vectors
from .config import Settings
from .embed import Embedder
from .store import Generation, IndexStore, paged_get
from .tables import Tables
from .types import (
    Chunk,
    Hit,
    Retrieval,
    is_record_text,
    record_cells,
    record_fields,
    without_note_mark,
)

_NAME = re.compile(r"(?<![\w'])([A-Z][A-Za-z0-9]*[A-Za-z0-9])")
_BECOME = re.compile(
    r"\b(?:becom(?:e|es|ing)|(?:re)?train(?:s|ed|ing)?\s+(?:as|to\s+be)|qualify(?:ing)?\s+as|"
    r"career\s+as)\s+(?:a|an)\s+([A-Za-z][\w-]*(?:\s+[A-Za-z][\w-]*){0,2})",
    re.I,
)
_SENTENCE_START = re.compile(r"(?:^|[.?!:;]\s+)\W*(\w+)")


def is_acronym(word: str) -> bool:
    """CISSP, ACP, CompTIA, SAFe: two capitals or more name a credential or a product."""
    return sum(ch.isupper() for ch in word) >= 2


def spelled_out(name: str, capitals: bool = False) -> re.Pattern[str] | None:
    """An acronym's words, capitalised, as a text may write them without it: "Amazon Web
    Services" for AWS, "Project Management Professional" for PMP (small words between them
    allowed: "Bureau of Labor Statistics"); with `capitals`, in capitals too ("OBJECTIVES & KEY
    RESULTS" for OKRs, on a slide)."""
    name = name[:-1] if re.fullmatch(r"[A-Z]{3,6}s", name) else name  # a plural: OKRs
    if not re.fullmatch(r"[A-Z]{3,6}", name):
        return None
    words = r"\s+(?:(?:of|and|for|the|&)\s+)?".join(
        (rf"{c}(?:[a-z]+|[A-Z]+)" if capitals else rf"{c}[a-z]+") for c in name
    )
    return re.compile(rf"(?<!\w){words}(?!\w)")


def _stopwords() -> list[str]:
    """NLTK's English list (as bm25s ships it) plus words that only make a question polite."""
    from bm25s.stopwords import STOPWORDS_EN_PLUS

    chat = {"much", "would", "could", "get", "like", "tell", "also", "really", "please", "whose"}
    return sorted(set(STOPWORDS_EN_PLUS) | chat)


STOPWORDS = _stopwords()


def _stemmer():  # type: ignore[no-untyped-def]
    import Stemmer

    return Stemmer.Stemmer("english").stemWords


class LexicalIndex:
    """BM25 over one generation's chunks, plus document frequencies (IDF, domain words)."""

    def __init__(
        self,
        chunks: list[Chunk],
        saved: Tables | None = None,
        hints: dict[str, list[str]] | None = None,
    ) -> None:
        import bm25s

        self.chunks = chunks
        self._stem = _stemmer()
        self.n = len(chunks)
        self._holding: dict[str, Any] = {}  # token -> which chunks hold it (see `containing`)
        self._written: dict[str, bool] = {}  # acronym -> written out in some chunk
        if saved is not None:
            self.bm25, self.df, self.hint_names = saved.bm25, saved.df, saved.hint_names
            return
        tokens = self.tokenize([c.embed_text for c in chunks])
        # BM25 also reads a passage's question hints (doc2query): the words users ask with
        # find it ("remote" for "working from home"). Document frequencies, which decide
        # what is a known name or a domain word, come from the documents' own text: hints
        # are full of personas ("as a nurse") that no document is about.
        hints = hints or {}
        extra = self.tokenize([" ".join(hints.get(c.id, [])) for c in chunks])
        self.bm25 = bm25s.BM25()
        self.bm25.index([t + e for t, e in zip(tokens, extra, strict=True)], show_progress=False)
        self.df = Counter(t for doc in tokens for t in set(doc))
        # ... but a name in a hint ("how can ChatGPT help me") is one the passage answers about
        self.hint_names = {t for doc in extra for t in doc} - self.df.keys()

    def tokenize(self, texts: list[str]) -> list[list[str]]:
        import bm25s

        out = bm25s.tokenize(
            texts, stopwords=STOPWORDS, stemmer=self._stem, return_ids=False, show_progress=False
        )
        return [list(t) for t in out]  # type: ignore[union-attr]

    def common(self, share: float = 0.2) -> set[str]:
        """Words in more than `share` of all chunks: the corpus's own domain vocabulary. A word
        of one chunk is never common: in a corpus of a few chunks (one small table) every word
        would be, and "bakers" would no longer name its row."""
        return {t for t, df in self.df.items() if df > share * self.n and df > 1}

    def unknown_names(self, text: str) -> list[str]:
        """Names and acronyms in `text` ("CISSP", "Germany") that no chunk mentions at all."""
        # a capital at the start of a sentence ("How", "Tell") names nothing
        starts = {m.group(1) for m in _SENTENCE_START.finditer(text)}
        words = [w for w in _NAME.findall(text) if w not in starts]
        # two-letter acronyms (PM, UX, US) are too ambiguous to decide anything on
        names = [w for w in words if len(w.rstrip("s")) > 2]
        return [
            name
            for name in names
            if self._unknown(name, self.hint_names) and not self._written_out(name)
        ]

    def _written_out(self, name: str) -> bool:
        """Is the acronym `name` written out in some chunk ("Objectives & Key Results" for
        OKRs)? Then the corpus knows what it names, without the letters."""
        if name not in self._written:  # kept per name: a regex over every chunk
            pattern = spelled_out(name, capitals=True)
            self._written[name] = pattern is not None and any(
                pattern.search(c.text) for c in self.chunks
            )
        return self._written[name]

    def unknown_role(self, text: str) -> list[str]:
        """The job in "become a licensed electrician" when no chunk mentions it: a question
        about another career, which a lower-case word hides from the name check."""
        found = []
        for m in _BECOME.finditer(text):
            words = m.group(1).split()
            cut = next((i for i, w in enumerate(words) if w.lower() in STOPWORDS), len(words))
            if cut and self._unknown(words[cut - 1]):
                found.append(words[cut - 1])
        return found

    def _unknown(self, word: str, also_known: set[str] | None = None) -> bool:
        """No chunk has any of the word's tokens (a stop word, which has none, is not unknown)."""
        tokens = set(self.tokenize([word])[0])
        return bool(tokens) and not (tokens & self.df.keys() or tokens & (also_known or set()))

    def containing(self, token: str) -> Any:
        """Which chunks (a boolean array in chunk order) hold `token`. Kept per token: BM25
        scores every chunk to tell, and answers ask for the same question words again."""
        found = self._holding.get(token)
        if found is None:
            if token not in self.df:
                found = np.zeros(self.n, dtype=bool)
            else:
                found = self.bm25.get_scores([token]) > 0
            if len(self._holding) >= HOLDING_CACHE:
                self._holding.clear()
            self._holding[token] = found
        return found

    def coded(self, tokens: list[str], most: int) -> dict[int, int]:
        """The chunks (by position) holding a token with a digit ("7400", "2210", "0001") that
        at most `most` chunks hold, a code that names its passage, with how many such codes each
        holds. Read from the chunks' embed text, so a code in a heading counts."""
        held: dict[int, int] = {}
        for code in {t for t in tokens if any(ch.isdigit() for ch in t)}:
            if 0 < self.df.get(code, 0) <= most:
                for i in np.flatnonzero(self.containing(code)):
                    held[int(i)] = held.get(int(i), 0) + 1
        return held

    def idf(self, token: str) -> float:
        return math.log((self.n + 1) / (self.df.get(token, 0) + 0.5))

    def search(self, query_tokens: list[str], k: int) -> list[tuple[int, float]]:
        known = [t for t in query_tokens if t in self.df]
        if not known or not self.n:
            return []
        docs, scores = self.bm25.retrieve(
            [known], k=min(k, self.n), show_progress=False, n_threads=1
        )
        return [(int(d), float(s)) for d, s in zip(docs[0], scores[0], strict=True) if s > 0]


DOCUMENT_MIN_CHUNKS = 10
NAMING_SHARE = 0.8  # a word in this share of a document's passages names the document
RARE_IN_TEXT = 0.05  # ... unless at most this share of the passages' own text says it
HOLDING_CACHE = 256  # tokens whose chunk masks are kept (256 x 100k chunks: 25 MB at most)
TITLE_PAGE_WORDS = 25
_SENTENCE = re.compile(r"\S[.!?]['\"’”)\]]*$")  # a line that ends a sentence ("74%.")
ENTRY_CHARS = 1200
ENTRY_SIBLINGS = 5
_YEAR = re.compile(r"(?<!\d)(?:19|20)\d\d(?!\d)")
_YEAR_SPAN = re.compile(r"(?<!\d)(?:19|20)\d\d\s*[-–]\s*(?:\d\d){1,2}(?!\d)")
def _years(text: str) -> set[str]:
    """The years `text` names, a span of years ("the 2019-29 projections") aside."""
    return set(_YEAR.findall(_YEAR_SPAN.sub(" ", text)))


WIDE_ROW_CELLS = 7  # a row of fewer cells is quoted whole, whatever column was asked
_COLUMN_NAME = re.compile(r"(?:^- |(?<=; ))([^:;\n]{1,120}): ", re.M)


class GenerationView:
    """The in-memory side of one generation: chunk table by id, lexical index."""

    def __init__(
        self,
        gen: Generation,
        client: Any,
        embeddings: Any,
        tables_dir: Path | None = None,
        exact_limit: int = 0,
    ) -> None:
        saved = (
            tables.load(tables_dir / gen.name, gen.name, gen.chunks.count()) if tables_dir else None
        )
        if saved is not None:
            self.chunks, self.unit_counts = saved.chunks, saved.unit_counts
        else:
            rows = list(_read_chunks(gen.chunks))
            self.chunks = [chunk for chunk, _ in rows]
            # units per chunk, where the index records it (older indexes do not)
            self.unit_counts = {chunk.id: n for chunk, n in rows if n is not None}
        self.position = {c.id: n for n, c in enumerate(self.chunks)}
        self._lock = threading.Lock()
        self._bodies: dict[str, list[set[str]]] = {}  # doc id -> its passages' own tokens
        self._column_names: dict[str, list[tuple[str, set[str]]]] = {}  # doc id -> columns
        self.lexical = LexicalIndex(self.chunks, saved, None if saved else _read_hints(gen.units))
        if saved is None and tables_dir is not None:
            built = tables.Tables(
                self.chunks,
                self.unit_counts,
                self.lexical.bm25,
                self.lexical.df,
                self.lexical.hint_names,
            )
            tables.save(tables_dir, gen.name, built)
        self.common_words = self.lexical.common()
        self.generation = gen
        self._folder = tables_dir / gen.name if tables_dir else None
        self._exact_limit = exact_limit
        self.vectorstore = Chroma(
            client=client,
            collection_name=gen.chunks.name,
            embedding_function=embeddings,
            create_collection_if_not_exists=False,
        )

    @cached_property
    def chunk_vectors(self) -> vectors.Vectors | None:
        """The passages' vectors for exact search (None: too many, HNSW searches them)."""
        return vectors.for_collection(
            self.generation.chunks, "chunks", self._folder, self._exact_limit, units=False
        )

    @cached_property
    def unit_vectors(self) -> vectors.Vectors | None:
        """The sentences', lists' and question hints' vectors for exact search."""
        return vectors.for_collection(
            self.generation.units, "units", self._folder, self._exact_limit, units=True
        )

    def dense_search(self, vector: Any, k: int) -> dict[str, float]:
        """Passage id -> cosine for the `k` passages closest to `vector`."""
        exact = self.chunk_vectors
        if exact is not None:
            return {exact.chunk_ids[i]: sim for i, sim in exact.nearest(vector, k)}
        found = self.vectorstore.similarity_search_by_vector_with_relevance_scores(
            vector.tolist(), k=min(k, max(1, self.lexical.n))
        )
        # langchain-chroma returns the raw cosine distance here (lower is closer)
        return {str(d.id): 1.0 - float(dist) for d, dist in found}

    @cached_property
    def record_ids(self) -> set[str]:
        """Passages that are table rows only ("- Column: value; ..." lines)."""
        return {c.id for c in self.chunks if is_record_text(c.text)}

    @cached_property
    def following(self) -> dict[str, Chunk]:
        """Each passage's next passage in the same section of its document."""
        nxt: dict[str, Chunk] = {}
        for positions in self.doc_positions.values():
            chunks = [self.chunks[n] for n in positions]
            for a, b in zip(chunks, chunks[1:], strict=False):
                if a.section == b.section:
                    nxt[a.id] = b
        return nxt

    @cached_property
    def title_pages(self) -> set[str]:
        """A document's first passage, when the document has more, that says no sentence, only
        its name and a few short lines (a deck's title slide, a report's cover): it matches
        every question that names the document, and answers none."""
        out = set()
        for positions in self.doc_positions.values():
            if len(positions) < 2:
                continue  # a document's only passage is the document, not its cover
            c = self.chunks[positions[0]]
            body = [ln for ln in c.text.splitlines() if ln.strip() and not ln.startswith("#")]
            words = sum(len(ln.split()) for ln in body)
            if body and words <= TITLE_PAGE_WORDS and not any(_SENTENCE.search(ln) for ln in body):
                out.add(c.id)
        return out

    @cached_property
    def entries(self) -> set[str]:
        """Sections that are entries of a catalogue: short (under `ENTRY_CHARS`), with at
        least `ENTRY_SIBLINGS` sibling sections under the same heading (a heading, not the
        document's top level: a deck's slides or a guide's chapters are not entries)."""
        size: Counter[tuple[str, str]] = Counter()
        for c in self.chunks:
            if c.section:
                size[(c.doc_id, c.section)] += len(c.text)
        children: Counter[tuple[str, str]] = Counter()
        for doc, section in size:
            children[(doc, section.rpartition(" > ")[0])] += 1
        return {
            section
            for (doc, section), chars in size.items()
            if chars < ENTRY_CHARS
            and " > " in section  # under a heading of its own, not just the document
            and children[(doc, section.rpartition(" > ")[0])] >= ENTRY_SIBLINGS
        }

    @cached_property
    def sectioned_docs(self) -> set[str]:
        """Documents with headings (their text before the first heading is a lead)."""
        return {c.doc_id for c in self.chunks if c.section}

    def names_row(self, row_text: str, query: str) -> bool:
        """Does the question name this table row? A row is quoted for a question about what it
        describes ("registered nurses"), not for one that shares its column names ("title",
        "wage"), a number or a word of a long cell ("on-the-job training"): two words of the
        row's name (its first cell in words), or every word of another cell, are in the
        question, and one of them is not shared by most of the corpus."""
        asked = set(self.lexical.tokenize([query])[0])
        for line in row_text.splitlines():  # a passage of several rows: each has its name
            named = False
            for cell in record_cells(line):
                cell = without_note_mark(cell)
                if any(ch.isdigit() for ch in cell):
                    continue
                words = set(self.lexical.tokenize([cell])[0])
                shared = words & asked
                need = len(words) if named else min(2, len(words))
                named = True  # the first cell in words is the row's name
                if shared and len(shared) >= need and shared - self.common_words:
                    return True
        return False

    def asked_cells(self, row_text: str, query: str) -> list[int]:
        """The cells of a one-line table row whose column the question asks about: "What is the
        median annual wage for software developers?" asks "Median annual wage, 2020(1)" of a
        13-column row, not its employment figures. A column is asked when a word of its name
        (years aside) is in the question and no other column has those words and more; when
        the question names a year, the column is of no other year. Nothing when no column is
        asked, or every one is (the question is about the row as a whole), or the row is
        narrow (it reads whole)."""
        if len(row_text.strip().splitlines()) != 1:
            return []
        names = [name for name, _ in record_fields(row_text)]
        if len(names) < WIDE_ROW_CELLS or not all(names):
            return []
        asked = set(self.lexical.tokenize([query])[0])
        tokens = self.lexical.tokenize([_YEAR.sub(" ", _YEAR_SPAN.sub(" ", n)) for n in names])
        years = _years(query)

        def other_year(name: str) -> bool:
            named = _years(name)
            return bool(years and named and not named & years)

        shared = {
            i: common
            for i, (name, words) in enumerate(zip(names, tokens, strict=True))
            if i and (common := set(words) & asked) and not other_year(name)
        }
        # "annual" of "Openings, annual average" is the question's "median annual wage" too
        picked = {i for i, w in shared.items() if not any(w < v for v in shared.values())}
        # a measure in several units ("Employment change, percent" and "..., numeric"): both
        families = {names[i].split(",")[0].strip() for i in picked}
        picked |= {
            i
            for i, name in enumerate(names)
            if i and "," in name and name.split(",")[0].strip() in families and not other_year(name)
        }
        return sorted(picked) if len(picked) < len(names) - 1 else []

    def lacks_asked_column(self, doc_id: str, query: str) -> bool:
        """Does the question ask for a column `doc_id`'s tables have only for other years?
        "The projected 2029 median annual wage" where the tables have "Median annual wage,
        2020(1)" and "Employment, 2029": every word of a column's name is in the question, the
        question names a year, and no column of those words is of that year. No row of such a
        document answers it: quoting the 2020 wage would answer another question."""
        # a span of years ("the 2019-29 projections") names the tables, not a column's year
        years = _years(query)
        if not years:
            return False
        asked = set(self.lexical.tokenize([query])[0])
        found = False
        for name, words in self._columns(doc_id):
            if len(words) < 2 or not words <= asked:
                continue
            if set(_YEAR.findall(name)) & years:
                return False
            found = found or bool(_YEAR.search(name))
        return found

    def without_lacking_rows(self, hits: list[Hit], query: str) -> list[Hit]:
        """`hits` without the table rows that lack what was asked (`lacks_asked_column`);
        nothing when the first hit is one: the question is about that table, and the passages
        that share its other words do not have it either."""
        lacking = [
            h.chunk.id in self.record_ids and self.lacks_asked_column(h.chunk.doc_id, query)
            for h in hits
        ]
        if lacking and lacking[0]:
            return []
        return [h for h, lack in zip(hits, lacking, strict=True) if not lack]

    def _columns(self, doc_id: str) -> list[tuple[str, set[str]]]:
        """The column names of `doc_id`'s table rows, each with its words (years left out)."""
        with self._lock:
            cached = self._column_names.get(doc_id)
        if cached is None:
            names = {
                name.strip()
                for i in self.doc_positions.get(doc_id, [])
                if self.chunks[i].id in self.record_ids
                for name in _COLUMN_NAME.findall(self.chunks[i].text)
            }
            ordered = sorted(names)
            tokens = self.lexical.tokenize([_YEAR.sub(" ", n) for n in ordered]) if ordered else []
            cached = [(n, set(t)) for n, t in zip(ordered, tokens, strict=True)]
            with self._lock:
                self._column_names[doc_id] = cached
        return cached

    @cached_property
    def doc_positions(self) -> dict[str, list[int]]:
        """Each document's chunks, as positions in `chunks`, in the document's order."""
        out: dict[str, list[int]] = {}
        for n, c in enumerate(self.chunks):
            out.setdefault(c.doc_id, []).append(n)
        for positions in out.values():
            positions.sort(key=lambda n: self.chunks[n].start)
        return out

    def document_share(
        self, tokens: list[str], doc_id: str, body: bool = False
    ) -> dict[str, float]:
        """For each token, the share of `doc_id`'s passages that hold it (0 for a document
        too short to tell, under `DOCUMENT_MIN_CHUNKS` passages). With `body`, in the
        passages' own text, without the title and headings each passage is indexed with: on
        a page of 58 job series titled "How to filter results by series", "filter" is in
        every passage, and in the text of only the one that says how to filter."""
        positions = self.doc_positions.get(doc_id, [])
        if len(positions) < DOCUMENT_MIN_CHUNKS:
            return {t: 0.0 for t in tokens}
        if not body:
            return {t: float(self.lexical.containing(t)[positions].mean()) for t in set(tokens)}
        held = self._body_tokens(doc_id)
        return {t: sum(t in h for h in held) / len(held) for t in set(tokens)}

    def _body_tokens(self, doc_id: str) -> list[set[str]]:
        with self._lock:
            cached = self._bodies.get(doc_id)
        if cached is None:
            texts = [self.chunks[i].text for i in self.doc_positions.get(doc_id, [])]
            cached = [set(t) for t in self.lexical.tokenize(texts)]
            with self._lock:
                self._bodies[doc_id] = cached
        return cached

    def naming_share(self, tokens: list[str], doc_id: str) -> dict[str, float]:
        """`document_share`, except for a word almost no passage's own text says
        (`RARE_IN_TEXT`), which gets its share in the text: it is in every passage only by the
        title each is indexed with, and it tells apart the passages that do say it (on a page
        titled "How to filter results by series", the one that says how to filter)."""
        share = self.document_share(tokens, doc_id)
        if not any(share.values()):
            return share
        said = self.document_share(tokens, doc_id, body=True)
        return {t: said[t] if said[t] <= RARE_IN_TEXT else v for t, v in share.items()}

    def without_document_words(self, query: str, doc_id: str) -> str:
        """The question minus the words that name `doc_id`: those nearly all its passages hold
        (its title is in each). In "the key results in the TechFar Hub v3 deck" they match every
        slide and tell none apart. The question itself when they are all it has."""
        words = query.split()
        tokens = self.lexical.tokenize(words) if words else []
        share = self.naming_share([t for ts in tokens for t in ts], doc_id)
        naming = {t for t, v in share.items() if v >= NAMING_SHARE}
        if not naming:
            return query
        kept = " ".join(w for w, t in zip(words, tokens, strict=True) if not set(t) & naming)
        return kept if self.lexical.tokenize([kept])[0] else query

    @cached_property
    def unit_rows(self) -> dict[str, np.ndarray]:
        """Each source's rows in `unit_vectors`, for a search within one document."""
        exact = self.unit_vectors
        if exact is None:
            return {}
        sources = [
            self.chunks[self.position[cid]].source if cid in self.position else ""
            for cid in exact.chunk_ids
        ]
        rows: dict[str, list[int]] = {}
        for i, source in enumerate(sources):
            rows.setdefault(source, []).append(i)
        return {source: np.asarray(r, dtype=np.int64) for source, r in rows.items()}

    def without_common_words(self, query: str) -> str:
        """The question minus words nearly every passage shares ("AI", "project", "manager"):
        otherwise those words decide which passage looks most similar."""
        words = query.split()
        tokens = self.lexical.tokenize(words) if words else []
        common = self.common_words
        kept = " ".join(w for w, t in zip(words, tokens, strict=True) if not set(t) & common)
        # nothing but stop words left ("Why bother getting at all?"): the question itself
        return kept if self.lexical.tokenize([kept])[0] else query


def _read_hints(units: Any) -> dict[str, list[str]]:
    """Each passage's question hints (stored beside its units, kind "question")."""
    hints: dict[str, list[str]] = {}
    for got in paged_get(units, where={"kind": "question"}, include=["documents", "metadatas"]):
        for text, meta in zip(got["documents"], got["metadatas"], strict=True):
            hints.setdefault(str(meta["chunk_id"]), []).append(text)
    return hints


def _read_chunks(collection: Any) -> Iterator[tuple[Chunk, int | None]]:
    for got in paged_get(collection, include=["documents", "metadatas"]):
        for i, d, m in zip(got["ids"], got["documents"], got["metadatas"], strict=True):
            yield _chunk_from(i, d, m), (int(m["units"]) if "units" in m else None)


def _chunk_from(chunk_id: str, text: str, meta: dict[str, Any]) -> Chunk:
    return Chunk(
        id=chunk_id,
        doc_id=meta["doc_id"],
        title=meta["title"],
        section=meta.get("section", ""),
        source=meta["source"],
        start=int(meta["start"]),
        end=int(meta["end"]),
        text=text,
        page=meta.get("page"),
    )


class Searcher:
    """Hybrid search over the current index generation; thread-safe, models loaded once."""

    def __init__(self, settings: Settings, embedder: Embedder, store: IndexStore) -> None:
        self.settings = settings
        self.embedder = embedder
        self.store = store
        self._lock = threading.Lock()
        self._view: GenerationView | None = None

    def view(self) -> GenerationView:
        """The current generation, re-read only when a build has switched it."""
        from .index import index_spec

        name = self.store.current_name()
        with self._lock:
            if self._view is None or self._view.generation.name != name:
                gen = self.store.require_current(index_spec(self.settings, self.embedder))
                self._view = GenerationView(
                    gen,
                    self.store.client,
                    self.embedder.langchain,
                    self.settings.tables_path,
                    self.settings.exact_search_limit,
                )
            return self._view

    def _unit_ranking(
        self, view: GenerationView, vector: Any, source: str | None = None
    ) -> tuple[dict[str, float], float]:
        """Passages ranked by their best single sentence or list: a short sentence that answers
        the question can be drowned in its passage's embedding ("small-to-big" retrieval). A
        passage's question hints rank it the same way: a question is closest to a question.
        Also the closest hint among those found (0 when none is among them). With `source`,
        only that document's passages."""
        n = self.settings.fetch_k * 2
        exact = view.unit_vectors
        if exact is not None:
            rows = view.unit_rows.get(source, np.zeros(0, dtype=np.int64)) if source else None
            found = [
                (exact.chunk_ids[i], exact.kinds[i], sim)
                for i, sim in exact.nearest(vector, n, rows)
            ]
        else:
            got = view.generation.units.query(
                query_embeddings=[vector.tolist()],
                n_results=min(n, max(1, view.lexical.n)),
                where={"source": source} if source else None,
                include=["metadatas", "distances"],
            )
            found = [
                (str(meta["chunk_id"]), str(meta.get("kind", "")), 1.0 - float(dist))
                for meta, dist in zip(got["metadatas"][0], got["distances"][0], strict=True)
            ]
        best: dict[str, float] = {}
        best_hint = 0.0
        for cid, kind, sim in found:
            best[cid] = max(best.get(cid, -1.0), sim)
            if kind == "question":
                best_hint = max(best_hint, sim)
        return best, best_hint

    def _clear(
        self, view: GenerationView, dense: dict[str, float], query: str
    ) -> dict[str, float]:
        """The dense matches that count. A table row shares many words with many questions (its
        column names, its numbers): it counts only when it matches clearly or the question names
        it; near-identical rows are the nearest neighbours of many questions they do not
        answer."""
        return {
            cid: sim
            for cid, sim in dense.items()
            if cid not in view.record_ids
            or sim >= self.settings.record_relevance
            or view.names_row(view.chunks[view.position[cid]].text, query)
        }

    def _lead_document_ranking(
        self, view: GenerationView, query: str, dense: dict[str, float]
    ) -> dict[str, float]:
        """The passages of the document the closest passage comes from, ranked by their best
        sentence against the question without the words that name that document: "What are
        the key results for the TechFar Hub v3 objective" is "What are the key results for the
        objective" inside that deck. Empty when the question names nothing of it. `dense`: the
        dense matches that count (`_clear`), so a table row leads only when it is clearly close
        or named."""
        top = max(dense, key=dense.__getitem__, default=None)
        if top is None or top not in view.position:
            return {}
        lead = view.chunks[view.position[top]]
        rest = view.without_document_words(query, lead.doc_id)
        if rest == query:
            return {}
        return self._unit_ranking(view, self.embedder.embed([rest])[0], lead.source)[0]

    def search(self, query: str, k: int | None = None) -> Retrieval:
        """The best `k` passages (`settings.k` by default) and whether they can answer."""
        s = self.settings
        limit = k or s.k
        fetch_k = max(s.fetch_k, limit)
        view = self.view()
        focus = view.without_common_words(query)
        vectors = self.embedder.embed([query, focus] if focus != query else [query])
        rankings: list[tuple[dict[str, float], float]] = []
        for vector in vectors:
            rankings.append((view.dense_search(vector, fetch_k), 1.0))
        dense = rankings[0][0]
        clear = self._clear(view, dense, query)
        by_unit, best_hint = self._unit_ranking(view, vectors[0])
        if s.unit_search_weight > 0:
            rankings.append((by_unit, s.unit_search_weight))
        if s.lead_document_weight > 0:
            lead_ranking = self._lead_document_ranking(view, query, clear)
            rankings.append((lead_ranking, s.lead_document_weight))
        q_tokens = view.lexical.tokenize([query])[0]
        lexical = {
            view.chunks[i].id: score for i, score in view.lexical.search(q_tokens, fetch_k)
        }

        # a code means nothing to the embedding model, and BM25 weighs it like any other word:
        # the passages holding one ("series 7400", "GS-2210") are ranked by it
        coded = view.lexical.coded(q_tokens, s.identifier_max_chunks)
        if s.identifier_weight > 0 and coded:
            named = {view.chunks[i].id: float(n) for i, n in coded.items()}
            rankings.append((named, s.identifier_weight))
        fused: dict[str, float] = {}
        for ranking, weight in [*rankings, (lexical, s.lexical_weight)]:
            for rank, cid in enumerate(sorted(ranking, key=ranking.__getitem__, reverse=True)):
                fused[cid] = fused.get(cid, 0.0) + weight / (s.rrf_k + rank + 1)
        best_first = sorted(fused, key=fused.__getitem__, reverse=True)
        top = _capped([cid for cid in best_first if cid in view.position], view, s, limit)
        hits = [
            Hit(
                chunk=view.chunks[view.position[cid]],
                dense=dense.get(cid, 0.0),
                lexical=lexical.get(cid, 0.0),
                fused=fused[cid],
            )
            for cid in top
        ]
        best = max(clear.values(), default=0.0)  # rows only when clear or named
        unknown = view.lexical.unknown_names(query) + view.lexical.unknown_role(query)
        # an acronym or brand no document mentions (CISSP, PMI-ACP, CompTIA) names something
        # the corpus lacks
        unknown_acronym = any(is_acronym(w) for w in unknown)
        # or close to a question a passage is known to answer, in words it does not use
        relevant = best >= s.relevance_floor or best_hint >= s.hint_relevance
        answerable = not unknown_acronym and (
            best >= s.confident_relevance or (relevant and not unknown)
        )
        return Retrieval(
            query=query,
            hits=hits,
            best_dense=best,
            unknown_terms=unknown,
            answerable=answerable,
        )


def _capped(ranked: list[str], view: GenerationView, s: Settings, k: int) -> list[str]:
    """The best `k` passages with at most `max_passages_per_document` from one document, so a
    long table or report cannot crowd out every other document; passages over the cap fill
    the list only when no other document has any left."""
    kept: list[str] = []
    over: list[str] = []
    per_doc: Counter[str] = Counter()
    for cid in ranked:
        doc = view.chunks[view.position[cid]].doc_id
        if per_doc[doc] < s.max_passages_per_document:
            per_doc[doc] += 1
            kept.append(cid)
        else:
            over.append(cid)
        if len(kept) >= k:
            break
    if len(kept) < k:
        kept += over[: k - len(kept)]
        kept.sort(key=ranked.index)
    return kept


def hit_document(hit: Hit) -> Document:
    """A retrieved passage as a LangChain `Document`: its text, where it comes from (title,
    section, source, character offsets, page) and the scores that ranked it."""
    chunk = hit.chunk
    return Document(
        id=chunk.id,
        page_content=chunk.text,
        metadata={
            **chunk.model_dump(include={"doc_id", "title", "section", "source", "start", "end"}),
            "page": chunk.page,
            "dense": hit.dense,
            "lexical": hit.lexical,
            "fused": hit.fused,
        },
    )


class AdvisorRetriever(BaseRetriever):
    """The hybrid search as a LangChain retriever, for apps that want passages only.

    `k` (here, or per call: `invoke(query, k=3)`) is how many passages come back; unset, the
    advisor's own `settings.k`."""

    model_config = ConfigDict(arbitrary_types_allowed=True)
    searcher: Searcher
    k: int | None = Field(None, ge=1, description="Passages returned (default: settings.k).")

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun, k: int | None = None
    ) -> list[Document]:
        if k is not None and (not isinstance(k, int) or k < 1):
            raise ValueError(f"k must be a positive whole number, not {k!r}.")
        result = self.searcher.search(query, k=k or self.k)
        return [hit_document(h) for h in result.hits]

    async def _aget_relevant_documents(
        self, query: str, *, run_manager: AsyncCallbackManagerForRetrieverRun, k: int | None = None
    ) -> list[Document]:
        """The same search in a worker thread (the models and Chroma are synchronous)."""
        return await asyncio.to_thread(
            self._get_relevant_documents, query, run_manager=run_manager.get_sync(), k=k
        )

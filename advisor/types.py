"""The typed values that pass between pipeline stages."""

from __future__ import annotations

import re
from typing import Literal

from langchain_core.load.serializable import Serializable
from pydantic import BaseModel, Field


class _Saved(Serializable):
    """An output value LangChain can serialise (`dumpd`, `dumps`; `load(...,
    valid_namespaces=["advisor"])` reads it back), e.g. into a LangGraph checkpoint."""

    @classmethod
    def is_lc_serializable(cls) -> bool:
        return True

    @classmethod
    def get_lc_namespace(cls) -> list[str]:
        return ["advisor", "types"]


class SourceDocument(BaseModel):
    """A loaded file: `text` is what every chunk's `start`/`end` offsets index into."""

    doc_id: str
    source: str
    title: str
    text: str
    content_hash: str
    page_starts: list[int] | None = None  # offset where each page begins (paged formats)
    # front matter `questions`: heading -> questions its section answers (see load.py)
    questions: dict[str, list[str]] = Field(default_factory=dict)
    notes: list[str] = Field(default_factory=list)  # what loading ignored, for the user
    format: str = ""  # "PDF", "Word", "Markdown", ... (for the index report)
    pages: int | None = None  # pages, slides or sheets of the file, when it has them

    def page_at(self, offset: int) -> int | None:
        if not self.page_starts:
            return None
        page = 0
        for i, start in enumerate(self.page_starts):
            if start <= offset:
                page = i
        return page + 1


class Unit(BaseModel):
    """A piece an extractive answer may quote: a sentence, a list with its lead-in, an item, or
    (for numbered steps) a heading."""

    start: int
    end: int
    kind: Literal["sentence", "list", "item", "heading"]
    parent: int | None = None  # for an item: index of its list unit within the chunk


class Chunk(BaseModel):
    """A retrievable, citable passage of one document."""

    id: str
    doc_id: str
    title: str
    section: str
    source: str
    start: int
    end: int
    text: str
    page: int | None = None
    units: list[Unit] = Field(default_factory=list)
    questions: list[str] = Field(default_factory=list)  # hints: questions this passage answers

    @property
    def embed_text(self) -> str:
        """What is embedded: the heading path gives short passages their context. Table rows
        are embedded by their values: the column names, the same in every row, would make all
        rows of a table one cluster (BM25 still reads them)."""
        heading = " > ".join(p for p in (self.title, self.section) if p)
        text = record_values(self.text)
        return f"{heading}\n{text}" if heading else text


_RECORD_LINE = re.compile(
    r"^(\s*- )?((?:[^:;\n]{1,120}: [^;\n]*; ){2,}[^:;\n]{1,120}: [^;\n]*)$", re.M
)
_COLUMN = re.compile(r"(?:^|(?<=; ))[^:;\n]{1,120}: ")


def is_record_text(text: str) -> bool:
    """Every line (headings aside) is a table row."""
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    return bool(lines) and all(_RECORD_LINE.fullmatch(ln) for ln in lines)


def record_values(text: str) -> str:
    """`- Name: Chief executives; Code: 11-1011` -> `- Chief executives; 11-1011` on every line
    that is a table row; other text is unchanged."""
    return _RECORD_LINE.sub(lambda m: (m.group(1) or "") + _COLUMN.sub("", m.group(2)), text)


def record_cells(text: str) -> list[str]:
    """The values of a table row's cells, column names left out, in column order."""
    return [
        cell
        for line in record_values(text).splitlines()
        for cell in line.strip().removeprefix("- ").split("; ")
        if cell.strip()
    ]


def record_fields(line: str) -> list[tuple[str, str]]:
    """A one-line table row as (column name, value) pairs, in column order; a cell without a
    column name has "" for it."""
    cells = line.strip().removeprefix("- ").split("; ")
    return [(c.split(": ", 1)[0], c.split(": ", 1)[1]) if ": " in c else ("", c) for c in cells]


_NOTE_MARK = re.compile(r"\s*(?:\(\d{1,2}\)|\[\d{1,2}\]|[*†‡]+)$")


def without_note_mark(cell: str) -> str:
    """A cell without the footnote mark a table may set on it ("STEM occupations(2)",
    "Software developers*"): the mark is not part of the name."""
    return _NOTE_MARK.sub("", cell)


class Citation(_Saved):
    """One numbered source of an answer; `text` is exactly `document[start:end]`."""

    n: int
    doc_id: str
    title: str
    section: str
    source: str
    start: int
    end: int
    text: str
    page: int | None = None
    used: list[tuple[int, int]] = Field(
        default_factory=list,
        description="Offsets (relative to `text`) of the sentences the answer used.",
    )

    @classmethod
    def from_chunk(
        cls, n: int, chunk: Chunk, used: list[tuple[int, int]] | None = None
    ) -> Citation:
        """Citation number `n` for a retrieved chunk (`used`: offsets inside its text)."""
        fields = chunk.model_dump(include={"doc_id", "title", "section", "source", "start", "end"})
        return cls(n=n, text=chunk.text, page=chunk.page, used=used or [], **fields)


class RemovedSentence(_Saved):
    """A sentence of a model's answer that verification kept from the user, and why."""

    text: str
    reason: str
    kind: Literal["uncited", "unsupported", "bad_citation", "other"] = Field(
        "unsupported",
        description="uncited: no [n]; unsupported: the cited passage does not say it; "
        "bad_citation: cites a source that does not exist.",
    )


class Answer(_Saved):
    """The chain's output. Streamed answers arrive as chunks that add up (`a + b`) to this."""

    question: str = ""
    answer: str = ""
    citations: list[Citation] = Field(default_factory=list)
    declined: bool = False
    generator: str = ""
    removed: list[RemovedSentence] = Field(default_factory=list)
    notice: str | None = None
    fell_back: bool = Field(
        False, description="The language model's answer was replaced by the extractive one."
    )
    retrieved: list[str] = Field(
        default_factory=list, description="doc_id of each retrieved passage, best first."
    )

    def __add__(self, other: Answer) -> Answer:
        known = {c.n for c in self.citations}
        return Answer(
            question=self.question or other.question,
            answer=self.answer + other.answer,
            citations=self.citations + [c for c in other.citations if c.n not in known],
            declined=self.declined or other.declined,
            generator=self.generator or other.generator,
            removed=self.removed + other.removed,
            notice=self.notice or other.notice,
            fell_back=self.fell_back or other.fell_back,
            retrieved=self.retrieved or other.retrieved,
        )

    def to_json_dict(self) -> dict:
        """The documented JSON shape of `advisor ask --json`."""
        return {
            "question": self.question,
            "answer": self.answer,
            "declined": self.declined,
            "citations": [c.model_dump(exclude={"used"}) for c in self.citations],
        }

    def outcome(self) -> dict:
        """How the answer came about, for `advisor ask --json`: which generator wrote it, the
        notice shown with it, what verification removed (with reasons), whether it fell back."""
        return {
            "generator": self.generator,
            "notice": self.notice,
            "removed": [r.model_dump() for r in self.removed],
            "fell_back": self.fell_back,
        }


class Hit(BaseModel):
    """A retrieved chunk with the evidence that ranked it."""

    chunk: Chunk
    dense: float  # cosine similarity to the query (0 when only BM25 found it)
    lexical: float  # BM25 score (0 when only dense search found it)
    fused: float  # reciprocal-rank-fusion score


class Retrieval(BaseModel):
    query: str  # what was searched (a follow-up is searched with the question it follows)
    question: str = ""  # the user's own words, when they differ from `query`
    hits: list[Hit]
    best_dense: float
    unknown_terms: list[str] = Field(default_factory=list)  # names no document mentions
    answerable: bool
    parts: list[Retrieval] = Field(default_factory=list)  # one per part of a compound question

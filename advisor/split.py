"""Stage 2, split: structure-aware chunks that fit the embedding model, with quotable units.

Markdown structure comes first (markdown-it): a chunk never crosses a heading, a list stays with
the sentence that introduces it, an FAQ question stays with its answer. Size is measured in the
embedding model's own tokens, heading prefix included, so the model never truncates a chunk.
Oversized blocks fall back to sentences (pysbd) and then to LangChain's token splitter.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache

from markdown_it import MarkdownIt

from .load import LEAD_KEY, front_matter, heading_key
from .types import Chunk, SourceDocument, Unit, is_record_text

CHUNKER_VERSION = "5"
MIN_SENTENCE_WORDS = 4
_WORD = re.compile(r"\w")
# sections of references, for readers rather than to quote ("Sources (as of 2026-11)", "ENDNOTES")
_REFERENCES = re.compile(
    r"^(?:sources|references|bibliography|works cited|end\s?notes|foot\s?notes|notes)\b"
    r"(?:\s*\(.*\))?\s*:?\s*$",
    re.I,
)

TokenCounter = Callable[[str], int]


@dataclass
class Block:
    kind: str  # heading | paragraph | list | leadlist | other
    start: int
    end: int
    level: int = 0  # heading level
    heading: str = ""
    items: list[tuple[int, int]] = field(default_factory=list)  # list item spans
    list_start: int = 0  # where the list begins inside a leadlist


@lru_cache(maxsize=1)
def _markdown() -> MarkdownIt:
    # block structure only: the inline pass (emphasis, links) is never used and costs most
    return MarkdownIt("commonmark").enable("table").disable("inline")


_PER_THREAD = threading.local()


def segmenter():  # type: ignore[no-untyped-def]
    """pysbd's sentence segmenter, one per thread: `Segmenter.segment` keeps the text it is
    working on in the instance, so one shared by concurrent answers mixes their sentences."""
    found = getattr(_PER_THREAD, "segmenter", None)
    if found is None:
        import pysbd

        found = _PER_THREAD.segmenter = pysbd.Segmenter(language="en", clean=False, char_span=True)
    return found


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while end > start and text[end - 1].isspace():
        end -= 1
    while start < end and text[start].isspace():
        start += 1
    return start, end


# where a sentence might end inside a span: end punctuation followed by a space, or a line break
_MAYBE_BOUNDARY = re.compile(r"[.!?…;:]['\"’”)\]]*\s|\n")


_SOFT_BREAK = re.compile(r"(?<![\n:])[ \t]*\n(?![ \t]*(?:\n|[-*+•] |\d{1,3}[.)] ))")


def sentence_spans(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Sentence spans (absolute offsets) of `text[start:end]`. A fragment of fewer than four
    words ("Absolutely.") joins the next sentence: quoted alone it would mean nothing."""
    s, e = _trim(text, start, end)
    if not _MAYBE_BOUNDARY.search(text, s, max(s, e - 1)):
        return [(s, e)] if e > s else [(start, end)]  # one sentence: pysbd is slow, skip it
    spans: list[tuple[int, int]] = []
    carry: int | None = None
    # a hard-wrapped paragraph: a single line break is a space to the segmenter (same length,
    # so offsets hold), and a sentence runs on across it
    flat = _SOFT_BREAK.sub(" ", text[start:end])
    for seg in segmenter().segment(flat):
        s, e = _trim(text, start + seg.start, start + seg.end)
        if e <= s:
            continue
        if carry is not None:
            s, carry = carry, None
        if len(text[s:e].split()) < MIN_SENTENCE_WORDS:
            carry = s
            continue
        spans.append((s, e))
    if carry is not None:
        if spans:
            spans[-1] = (spans[-1][0], _trim(text, carry, end)[1])
        else:
            spans.append(_trim(text, carry, end))
    return spans or [(start, end)]


def parse_blocks(text: str, body_start: int) -> list[Block]:
    """Top-level Markdown blocks of `text[body_start:]` with absolute character offsets."""
    body = text[body_start:]
    line_starts = [0]
    for i, ch in enumerate(body):
        if ch == "\n":
            line_starts.append(i + 1)
    line_starts.append(len(body))

    def span(lines: list[int]) -> tuple[int, int]:
        a = line_starts[min(lines[0], len(line_starts) - 1)]
        b = line_starts[min(lines[1], len(line_starts) - 1)]
        return _trim(text, body_start + a, body_start + b)

    tokens = _markdown().parse(body)
    blocks: list[Block] = []
    for i, tok in enumerate(tokens):
        if tok.level != 0 or tok.map is None or tok.nesting == -1:
            continue
        start, end = span(tok.map)
        if end <= start:
            continue
        if tok.type == "heading_open":
            inline = tokens[i + 1].content if i + 1 < len(tokens) else ""
            blocks.append(Block("heading", start, end, level=int(tok.tag[1]), heading=inline))
        elif tok.type == "paragraph_open":
            blocks.append(Block("paragraph", start, end))
        elif tok.type in ("bullet_list_open", "ordered_list_open"):
            items = [
                span(t.map)
                for t in tokens[i + 1 :]
                if t.type == "list_item_open" and t.level == 1 and t.map is not None
            ]
            # stop at the end of this list
            items = [s for s in items if start <= s[0] < end]
            blocks.append(Block("list", start, end, items=items))
        else:
            blocks.append(Block("other", start, end))
    return _join_lead_ins(blocks, text)


def _join_lead_ins(blocks: list[Block], text: str) -> list[Block]:
    """A paragraph that introduces a list ("... include:") becomes one block with it."""
    out: list[Block] = []
    for block in blocks:
        prev = out[-1] if out else None
        if (
            block.kind == "list"
            and prev is not None
            and prev.kind == "paragraph"
            and (
                text[prev.start : prev.end].rstrip().endswith(":")
                or "\n\n" not in text[prev.end : block.start]
            )
        ):
            out[-1] = Block(
                "leadlist", prev.start, block.end, items=block.items, list_start=block.start
            )
        else:
            out.append(block)
    return out


def block_units(text: str, block: Block) -> list[Unit]:
    """The quotable units of one block (offsets absolute)."""
    if block.kind == "heading":
        return []
    if block.kind == "paragraph" or block.kind == "other":
        return [
            Unit(start=s, end=e, kind="sentence")
            for s, e in sentence_spans(text, block.start, block.end)
        ]
    units: list[Unit] = []
    list_from = block.start
    if block.kind == "leadlist":
        lead = sentence_spans(text, block.start, block.list_start)
        units.extend(Unit(start=s, end=e, kind="sentence") for s, e in lead[:-1])
        list_from = lead[-1][0]
    parent = len(units)
    units.append(Unit(start=list_from, end=block.end, kind="list"))
    units.extend(Unit(start=s, end=e, kind="item", parent=parent) for s, e in block.items)
    return units


def _pieces(text: str, block: Block) -> list[tuple[int, int]]:
    """Smaller spans for a block that does not fit in one chunk."""
    if block.kind in ("list", "leadlist"):
        spans = list(block.items)
        if block.kind == "leadlist":
            lead = sentence_spans(text, block.start, block.list_start)
            if spans:  # the lead-in ("There are three kinds:") stays with the first item
                spans[0] = (lead[-1][0], spans[0][1])
                lead = lead[:-1]
            spans = lead + spans
        return spans
    return sentence_spans(text, block.start, block.end)


def _cut(
    text: str, start: int, end: int, limit: int, count: TokenCounter, overlap: int
) -> list[tuple[int, int]]:
    """Last resort for one over-long sentence: LangChain's splitter, sized in model tokens."""
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    size = limit
    while True:
        splitter = RecursiveCharacterTextSplitter(
            chunk_size=size,
            chunk_overlap=min(overlap, size // 4),
            length_function=count,
            add_start_index=True,
            strip_whitespace=True,
        )
        docs = splitter.create_documents([text[start:end]])
        spans = [
            (
                start + d.metadata["start_index"],
                start + d.metadata["start_index"] + len(d.page_content),
            )
            for d in docs
        ]
        if all(count(text[s:e]) <= limit for s, e in spans) or size <= 8:
            return spans
        size = int(size * 0.8)


def _chunk_id(doc: SourceDocument, start: int, end: int) -> str:
    payload = f"{CHUNKER_VERSION}\0{doc.source}\0{start}\0{end}\0{doc.text[start:end]}"
    return hashlib.sha256(payload.encode()).hexdigest()[:32]


def split_document(
    doc: SourceDocument, count_tokens: TokenCounter, max_tokens: int, overlap_tokens: int = 24
) -> list[Chunk]:
    """Chunks of one document; each one's embed text fits in `max_tokens` model tokens."""
    text = doc.text
    _, body_start = (
        front_matter(text) if doc.source.lower().endswith((".md", ".markdown", ".txt")) else ({}, 0)
    )
    blocks = parse_blocks(text, body_start)

    chunks: list[Chunk] = []
    made: set[str] = set()
    path: list[tuple[int, str]] = []
    pending: list[tuple[int, int, list[Unit]]] = []  # spans of the chunk being filled

    def section() -> str:
        names = [h for lvl, h in path if not (lvl == 1 and h.strip() == doc.title.strip())]
        return " > ".join(names)

    def hints() -> list[str]:
        """The front matter's questions for the section being filled (every chunk of it)."""
        named = section()
        key = heading_key(path[-1][1]) if named else LEAD_KEY
        return list(doc.questions.get(key, []))

    def prefix() -> str:
        return " > ".join(p for p in (doc.title, section()) if p)

    def fits(start: int, end: int) -> bool:
        if end - start > max_tokens * 8 and len(text[start:end].split()) > max_tokens:
            return False  # every word is at least one token: no need to count
        return count_tokens(f"{prefix()}\n{text[start:end]}") <= max_tokens

    def flush() -> None:
        if not pending:
            return
        start, end = pending[0][0], pending[-1][1]
        units = [u for _, _, us in pending for u in us]
        if _WORD.search(text[start:end]) and _chunk_id(doc, start, end) not in made:
            # (the same span twice, which a cut of an over-long sentence can give, is one chunk)
            made.add(_chunk_id(doc, start, end))
            chunks.append(
                Chunk(
                    id=_chunk_id(doc, start, end),
                    doc_id=doc.doc_id,
                    title=doc.title,
                    section=section(),
                    source=doc.source,
                    start=start,
                    end=end,
                    text=text[start:end],
                    page=doc.page_at(start),
                    units=_reparent(_extend_lists(text, units)),
                    questions=hints(),
                )
            )
        pending.clear()

    def add(start: int, end: int, units: list[Unit]) -> None:
        if pending and (not fits(pending[0][0], end) or _mixes_rows(text, pending, start, end)):
            flush()
        if fits(start, end):
            pending.append((start, end, units))
            return
        if _is_record(text, start, end, units):
            # a table row ("Column: value; ...") stays whole: a piece of a record means
            # nothing, and the model reads its start (the row's name) where truncation falls
            flush()
            pending.append((start, end, units))
            flush()
            return
        sentences = sentence_spans(text, start, end)
        if len(sentences) > 1:
            # a list item or paragraph too big for a chunk goes on sentence by sentence: cut
            # by size, its pieces would start and end mid-sentence
            for s, e in sentences:
                add(s, e, [Unit(start=s, end=e, kind="sentence")])
            return
        # a single sentence too big for a chunk: cut it (units become the pieces themselves)
        room = max_tokens - count_tokens(prefix() + "\n") + 2
        for s, e in _cut(text, start, end, max(room, 16), count_tokens, overlap_tokens):
            flush()
            pending.append((s, e, [Unit(start=s, end=e, kind="sentence")]))
        flush()

    for block in blocks:
        if path and _REFERENCES.match(path[-1][1]) and block.kind != "heading":
            continue  # a list of sources is for readers, not something to quote as advice
        if block.kind == "heading":
            flush()
            while path and path[-1][0] >= block.level:
                path.pop()
            path.append((block.level, block.heading.strip()))
            pending.append((block.start, block.end, []))
            continue
        units = block_units(text, block)
        if fits(block.start, block.end):
            add(block.start, block.end, units)
            continue
        flush()
        for s, e in _pieces(text, block):
            inside = [u for u in units if s <= u.start and u.end <= e]
            if block.kind == "leadlist" and block.items and e == block.items[0][1]:
                # the lead-in with the first item: quoted together, as a short list
                inside = [Unit(start=s, end=e, kind="list")] + [
                    u for u in inside if u.kind == "item"
                ]
            add(s, e, inside or [Unit(start=s, end=e, kind="sentence")])
    flush()
    return [c for c in chunks if c.units]


_RECORD = re.compile(r"^[^:;\n]{1,120}: [^;\n]*(?:; [^:;\n]{1,120}: [^;\n]*){2,}$")


def _mixes_rows(
    text: str, pending: list[tuple[int, int, list[Unit]]], start: int, end: int
) -> bool:
    """Would `text[start:end]` put table rows and prose in one chunk? A chunk is either rows
    or not: answers quote a row only when the question names it, and a chunk of rows with
    a table's footnote under them would pass for prose and bring its rows along."""
    rows = is_record_text(text[start:end])
    return any(units and is_record_text(text[s:e]) != rows for s, e, units in pending)


def _is_record(text: str, start: int, end: int, units: list[Unit]) -> bool:
    """One list item written as a table row: "Name: value; Name: value; ..." on one line."""
    return (
        len(units) == 1
        and units[0].kind == "item"
        and end - start < 8000
        and _RECORD.match(text[start:end].lstrip("- ")) is not None
    )


def _extend_lists(text: str, units: list[Unit]) -> list[Unit]:
    """A list cut by a chunk boundary: its list unit (the lead-in with the first item) grows to
    cover the items that follow it in this chunk, so it is quoted as the list it is."""
    out: list[Unit] = []
    for u in units:
        prev = out[-1] if out else None
        lst = next((x for x in reversed(out) if x.kind == "list"), None)
        if (
            u.kind == "item"
            and lst is not None
            and prev is not None
            and prev.end <= u.start
            and lst.end == prev.end
            and not text[prev.end : u.start].strip()
        ):
            i = out.index(lst)
            out[i] = lst.model_copy(update={"end": u.end})
        out.append(u)
    return out


def _reparent(units: list[Unit]) -> list[Unit]:
    """Point each list item at its list's index within this chunk's units."""
    lists = [(j, u) for j, u in enumerate(units) if u.kind == "list"]
    out = []
    for u in units:
        if u.kind == "item":
            parent = next(
                (j for j, lst in lists if lst.start <= u.start and u.end <= lst.end), None
            )
            u = u.model_copy(update={"parent": parent})
        out.append(u)
    return out

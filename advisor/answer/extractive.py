"""Stage 5, answer (default): quote the most relevant sentences and lists, each with its `[n]`.

Every sentence of the answer is a verbatim unit of the passage it cites, so it is supported by
construction. Units were embedded at index time; a query embeds only the question. A unit's
score mixes its cosine to the question with IDF-weighted word overlap, because the domain phrase
("AI project manager") dominates the embeddings of nearly every sentence of the corpus.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..config import Settings
from ..retrieve import GenerationView
from ..types import (
    Answer,
    Chunk,
    Citation,
    Hit,
    Retrieval,
    Unit,
    is_record_text,
    record_cells,
    record_fields,
    without_note_mark,
)
from ..verify.lexicon import _ENUMERATION
from . import outline
from .answer_type import expected_type

MIN_ITEM_WORDS = 4  # a shorter list item is quoted with its whole list
_MARKER = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+")
_SPACE = re.compile(r"\s+")


@dataclass
class Candidate:
    hit_rank: int
    chunk: Chunk
    unit: Unit
    order: int
    text: str
    score: float = 0.0
    vector: np.ndarray | None = None
    shown: str | None = None  # what the answer shows, when not all of `text` (a row's cells)


@dataclass
class Pool:
    """The quotable units of some passages, their vectors, and each passage's question hints."""

    cands: list[Candidate]
    vectors: np.ndarray
    hints: dict[str, np.ndarray]


def _fetch_units(view: GenerationView, hits: list[Hit]) -> Pool:
    ids = [h.chunk.id for h in hits]
    include: Any = ["embeddings", "metadatas", "documents"]
    counts = [view.unit_counts.get(cid) for cid in ids]
    if all(n is not None for n in counts):  # by id: a key lookup, not a scan of all units
        unit_ids = [f"{cid}:{i}" for cid, n in zip(ids, counts, strict=True) for i in range(n or 0)]
        if not unit_ids:
            return Pool([], np.zeros((0, 0), dtype=np.float32), {})
        got = view.generation.units.get(ids=unit_ids, include=include)
    else:
        got = view.generation.units.get(where={"chunk_id": {"$in": ids}}, include=include)
    rank = {cid: i for i, cid in enumerate(ids)}
    cands: list[Candidate] = []
    rows: list[int] = []
    hints: dict[str, list[int]] = {}
    for row, (text, meta) in enumerate(zip(got["documents"], got["metadatas"], strict=True)):
        if meta["kind"] == "question":  # a hint: it ranks its passage, it is never quoted
            hints.setdefault(str(meta["chunk_id"]), []).append(row)
            continue
        if meta["kind"] == "sentence" and (is_label(text) or is_pointer(text)):
            continue
        rows.append(row)
        hit = hits[rank[meta["chunk_id"]]]
        parent = int(meta.get("parent", -1))
        unit = Unit(
            start=int(meta["start"]),
            end=int(meta["end"]),
            kind=meta["kind"],
            parent=None if parent < 0 else parent,
        )
        cands.append(Candidate(rank[meta["chunk_id"]], hit.chunk, unit, int(meta["order"]), text))
    every = np.asarray(got["embeddings"], dtype=np.float32).reshape(len(got["ids"]), -1)
    return Pool(cands, every[rows], {cid: every[r] for cid, r in hints.items()})


_LABEL_WORD = re.compile(r"[A-Z0-9][\w/&'’-]*[.:]?|[&/–-]")


def is_label(text: str) -> bool:
    """A paragraph of two to five capitalised words ("Fixed Price Contract.", "Item No."): a
    caption, a table's label or a slide's fragment that a PDF set on a line of its own. It says
    nothing by itself, so it is never quoted as a passage (a one-word answer, "Yes.", is kept)."""
    words = text.split()
    return 2 <= len(words) <= 5 and all(_LABEL_WORD.fullmatch(w) for w in words)


# "see" or "refer to", then a part of a document: the structure every long document has
_POINTER = re.compile(
    r"^\(?(?:for (?:more|further|full) (?:details|information)[^.]{0,60}?,? )?(?:please )?"
    r"(?:see|refer to)(?: also)?(?: the)?(?: full| complete)? (?:appendix|annex|section|chapter|"
    r"table|figure|fig\.|page|part|list|[\w-]*index|glossary|references?|below|above|"
    r"https?://)",
    re.I,
)


def is_pointer(text: str) -> bool:
    """A sentence that only sends the reader elsewhere ("See Appendix C: Sample Language for
    Government Contracts.", "See the topic-index for the existing topics."): in an answer it
    points at a part of a document the user cannot follow, and says none of what was asked."""
    return len(text.split()) <= 30 and bool(_POINTER.match(text.strip()))


def _overlaps(
    view: GenerationView, q_tokens: list[str], texts: list[str], lead: str = ""
) -> list[float]:
    """IDF-weighted share of the question's words in each text (one tokenizer call for all).
    A word weighs less the more passages of the lead document (the one retrieval put first)
    hold it: in a question about "the CIO Council's IT workforce update", the words that name
    that report are in every passage of it and tell none apart; "executive sponsor" does
    (and so does a title word that almost no passage's own text says: `naming_share`)."""
    share = view.naming_share(q_tokens, lead) if lead else {}
    weights = {t: view.lexical.idf(t) * (1.0 - share.get(t, 0.0)) for t in set(q_tokens)}
    total = sum(weights.values())
    if not total or not texts:
        return [0.0] * len(texts)
    present = [set(tokens) for tokens in view.lexical.tokenize(texts)]
    return [sum(w for t, w in weights.items() if t in words) / total for words in present]


def _select(
    cands: list[Candidate], settings: Settings, limit: int, named: frozenset[str] = frozenset()
) -> list[Candidate]:
    ranked = sorted(cands, key=lambda c: c.score, reverse=True)
    if not ranked:
        return []
    best = ranked[0].score
    chosen: list[Candidate] = []
    shown: list[Candidate] = []
    passages = _focused_passages(ranked, settings, named)
    pool = [
        c for c in ranked if c.score >= best * settings.unit_keep_ratio and c.chunk.id in passages
    ]
    weight = settings.unit_redundancy_weight
    while pool:
        cand = max(pool, key=lambda c: c.score - weight * _redundancy(c, chosen))
        pool.remove(cand)
        if _same_row(cand, chosen) or (chosen and _dangling(cand, chosen)):
            continue
        # the limit counts what the answer shows: items merged into their list take one place
        trial = _tidy(_with_following_list([*chosen, cand], cands), cands)
        if _places(trial) > limit:
            break
        chosen, shown = [*chosen, cand], trial
    return shown


# "Once approved, they will assign your PEP a number.": who "they" are was said before
_PRONOUN_START = re.compile(
    r"^(?:[^,.;:]{1,40},\s*)?(?:they|it|he|she|these|those|this)\s+(?!is\b|was\b)\w", re.I
)


def _dangling(cand: Candidate, chosen: list[Candidate]) -> bool:
    """A unit that opens with a pronoun for something its passage named just before, quoted
    without what came before: it reads as a fragment ("they" who?). The best unit may still be
    one; a later one adds words the reader cannot place."""
    if cand.unit.kind not in ("sentence", "item") or cand.order == 0:
        return False
    before = (cand.chunk.id, cand.order - 1)
    return not any(_key(c) == before for c in chosen) and bool(
        _PRONOUN_START.match(clean(cand.text))
    )


def _same_row(cand: Candidate, chosen: list[Candidate]) -> bool:
    """A table row whose name (first cell) an already chosen row has: a workbook repeats an
    occupation in several tables, and the best-matching one is enough."""
    if not is_record_text(cand.text):
        return False
    name = _row_name(cand.text)
    return any(is_record_text(c.text) and _row_name(c.text) == name for c in chosen)


def _row_name(text: str) -> str:
    """A row's first cell without the footnote marker a table may set on it: "Software
    developers(1)" in one table is the "Software developers" of the next."""
    cells = record_cells(text)
    return without_note_mark(cells[0]).casefold() if cells else ""


def _focused_passages(
    ranked: list[Candidate], settings: Settings, named: frozenset[str] = frozenset()
) -> set[str]:
    """The passages an answer may quote. Two rankings vote: the passage of the best unit, and
    the passage retrieval put first (hybrid search over whole passages), when it scores at
    least `second_opinion_ratio` of the best unit; any other passage only when its best unit
    scores nearly as well as the best (`passage_keep_ratio`): a passage whose best sentence is
    clearly weaker adds words, not what the question asked for."""
    best: dict[str, Candidate] = {}
    for c in ranked:  # best first: the first unit seen of a passage is its best
        best.setdefault(c.chunk.id, c)
    top = ranked[0]
    kept = [top.chunk.id]
    first = min(best.values(), key=lambda c: c.hit_rank)
    if first.chunk.id != top.chunk.id and first.score >= top.score * settings.second_opinion_ratio:
        kept.append(first.chunk.id)
    kept += [
        cid
        for cid, c in best.items()
        if cid not in kept and c.score >= top.score * settings.passage_keep_ratio
    ]
    # then a table row the question names ("STEM occupations" beside "non-STEM occupations"):
    # it is what was asked, however its numbers score, where there is room
    kept += [cid for cid in best if cid in named and cid not in kept]
    return set(kept[: settings.max_answer_passages])


_SUMMARY = re.compile(r"^(?:conclusions?|summary|introduction|overview|final thoughts)$", re.I)


def _is_summary(chunk: Chunk, view: GenerationView) -> bool:
    """The lead before a document's first heading, or its introduction or conclusion: they
    restate the document in general words that match every question a little. (A document
    without headings has no lead to tell apart.)"""
    last = chunk.section.rsplit(" > ", 1)[-1].strip()
    if not last:
        return chunk.doc_id in view.sectioned_docs
    return bool(_SUMMARY.match(last))


def _redundancy(c: Candidate, chosen: list[Candidate]) -> float:
    """Closest cosine to a unit already chosen (maximal marginal relevance): three sentences
    of one introduction say one thing three times."""
    if not chosen or c.vector is None:
        return 0.0
    return max(float(c.vector @ o.vector) for o in chosen if o.vector is not None)


def _places(shown: list[Candidate]) -> int:
    """Places an answer's units take: a list shown right after its lead-in sentence shares the
    sentence's place."""
    keys = {_key(c) for c in shown}
    return sum(
        1 for c in shown if not (c.unit.kind == "list" and (c.chunk.id, c.order - 1) in keys)
    )


def _key(c: Candidate) -> tuple[str, int]:
    return (c.chunk.id, c.order)


def _tidy(chosen: list[Candidate], pool: list[Candidate]) -> list[Candidate]:
    """No item twice, no item beside its own list, no sentence inside a chosen list."""
    by_key = {_key(c): c for c in pool}
    out: list[Candidate] = []
    # two or more items of one list: quote the list (with its lead-in) instead
    items_per_list: dict[tuple[str, int], int] = {}
    for c in chosen:
        if c.unit.kind == "item" and c.unit.parent is not None:
            k = (c.chunk.id, c.unit.parent)
            items_per_list[k] = items_per_list.get(k, 0) + 1
    for c in chosen:
        if c.unit.kind == "item" and c.unit.parent is not None:
            k = (c.chunk.id, c.unit.parent)
            fragment = len(clean(c.text).split()) < MIN_ITEM_WORDS  # "GOVERN", "Modeling"
            if (items_per_list.get(k, 0) >= 2 or fragment) and k in by_key:
                c = by_key[k]
        out.append(c)
    lists = [c for c in out if c.unit.kind == "list"]
    seen_text: set[str] = set()
    final: list[Candidate] = []
    for c in out:
        inside = any(
            lst is not c
            and lst.chunk.source == c.chunk.source
            and lst.unit.start <= c.unit.start
            and c.unit.end <= lst.unit.end
            for lst in lists
        )
        norm = clean(c.text).lower()
        if inside or norm in seen_text:
            continue
        seen_text.add(norm)
        final.append(c)
    return _with_replies(_without_contained(final), by_key)


_WORD = re.compile(r"\w+")
MIN_CONTAINED_WORDS = 6  # a shorter sentence inside a longer one is a phrase, not a repeat


def _without_contained(chosen: list[Candidate]) -> list[Candidate]:
    """No sentence that another chosen unit says whole: two documents of one publisher repeat
    themselves ("Federal jobs often require ... a certain period of time." and the same words
    ", so be sure to include the month and year ..."), and the longer one says both."""
    words = [" ".join(_WORD.findall(clean(c.text).lower())) for c in chosen]
    out = []
    for i, c in enumerate(chosen):
        said = c.unit.kind == "sentence" and len(words[i].split()) >= MIN_CONTAINED_WORDS
        if said and any(
            j != i and len(words[j]) > len(words[i]) and f" {words[i]} " in f" {words[j]} "
            for j in range(len(chosen))
        ):
            continue
        out.append(c)
    return out


def _with_replies(
    chosen: list[Candidate], by_key: dict[tuple[str, int], Candidate]
) -> list[Candidate]:
    """A question quoted from a document ("Question – Must agencies only use fixed-price
    contracts?") is not an answer: the unit after it in its passage, its reply, follows it."""
    keys = {_key(c) for c in chosen}
    out: list[Candidate] = []
    for c in chosen:
        out.append(c)
        reply = by_key.get((c.chunk.id, c.order + 1))
        asks = c.unit.kind == "sentence" and clean(c.text).endswith("?")
        if asks and reply is not None and _key(reply) not in keys:
            keys.add(_key(reply))
            out.append(reply)
    return out


_HYPHEN_BREAK = re.compile(r"(\w+)-[ \t]*\r?\n[ \t]*([a-z]\w*)")
# reStructuredText inline markup in a plain-text file (PEPs, Python's docs): a hyperlink
# reference ("`GitHub pull request`_", "`on GitHub <https://...>`__") and an interpreted role
# (":ref:`topic-index`", ":pep:`PEP template <12>`") read as their text, as docutils renders
# them; its two numbered roles with their prefix (":pep:`8`" is "PEP 8", ":rfc:`2822`" "RFC 2822")
_REST_REFERENCE = re.compile(r"(?<![`\w])`([^`<\n]+?)\s*(?:<[^>`\n]*>)?`__?(?!\w)")
_REST_ROLE = re.compile(r"(?<![\w`]):([a-z][\w.+-]*):`([^`<\n]+?)\s*(?:<[^>`\n]*>)?`")


def _rest_role(m: re.Match[str]) -> str:
    role, text = m.group(1), m.group(2)
    if role in ("pep", "rfc") and text.isdigit():
        return f"{role.upper()} {text}"
    return text


def repair(text: str, context: str = "") -> str:
    """Quoted text as it reads: a word hyphenated across a line break joined ("illus-\ntrated"
    -> "illustrated", unless `context` writes it with its hyphen on one line, "self-managed"),
    then every run of white space, line breaks included, one space. The citation still points at
    the unit's whole span; only what is shown is repaired."""

    def join(m: re.Match[str]) -> str:
        left, right = m.group(1), m.group(2)
        return f"{left}-{right}" if f"{left}-{right}" in context else left + right

    text = _REST_ROLE.sub(_rest_role, _REST_REFERENCE.sub(r"\1", text))
    return _SPACE.sub(" ", _HYPHEN_BREAK.sub(join, text)).strip()


def clean(text: str, context: str = "") -> str:
    """One line of display text: list marker removed, line breaks and split words repaired."""
    return repair(_MARKER.sub("", text), context)


def list_lines(text: str) -> tuple[str, list[str]]:
    """A list unit as its lead-in and its items: a line that starts with a list marker starts an
    item, a line after it without one continues it (a hard-wrapped item)."""
    lead: list[str] = []
    items: list[list[str]] = []
    for line in text.splitlines():
        if not line.strip():
            continue
        if _MARKER.match(line):
            items.append([line])
        elif items:
            items[-1].append(line)
        else:
            lead.append(line)
    return "\n".join(lead), ["\n".join(item) for item in items]


def render_unit(c: Candidate) -> str:
    """A unit as answer text, without its marker: a sentence inline, a list with each item on a
    line of its own, a numbered step or FAQ question (a heading) in bold, a lone item as an
    item."""
    context = c.chunk.text
    if c.shown is not None:
        return f"- {clean(c.shown, context)}"
    if c.unit.kind == "heading":  # a numbered step, kept as the document numbers it
        return f"**{repair(c.text, context)}**"
    if c.unit.kind == "item":
        return f"- {clean(c.text, context)}"
    if c.unit.kind != "list":
        return clean(c.text, context)
    lead, items = list_lines(c.text)
    head = f"{clean(lead, context)}\n" if lead.strip() else ""
    return head + "\n".join(f"- {clean(i, context)}" for i in items)


def render_block(members: list[Candidate], n: int) -> str:
    """What one passage contributes, as blocks that each end with the passage's one marker:
    consecutive sentences as a paragraph, a heading and a list on lines of their own. Text
    after a list starts a new block (in Markdown a line right after a list item continues it)."""
    blocks: list[list[str]] = [[]]
    para: list[str] = []
    after_list = False
    for m in sorted(members, key=lambda m: m.unit.start):
        text = render_unit(m)
        if m.unit.kind == "sentence":
            if after_list:
                blocks.append([])
                after_list = False
            para.append(text)
            continue
        if para:
            blocks[-1].append(" ".join(para))
            para = []
        if after_list and m.unit.kind == "heading":
            blocks.append([])
        blocks[-1].append(text)
        after_list = m.unit.kind in ("list", "item")
    if para:
        blocks[-1].append(" ".join(para))
    # a heading line ends in a Markdown hard break, so the sentence below it stays below it
    return "\n\n".join(
        "\n".join(ln + "  " if ln.startswith("**") else ln for ln in lines).rstrip() + f" [{n}]"
        for lines in blocks
        if lines
    )


def decline_text(topics: list[str]) -> str:
    listed = "; ".join(topics[:10])
    return (
        "I'm sorry, I can't answer that from the documents I have, and I'd rather not guess. "
        f"They cover: {listed}."
    )


def _with_following_list(chosen: list[Candidate], pool: list[Candidate]) -> list[Candidate]:
    """A chosen sentence that introduces a list ("Key trends to watch include:") brings it; so
    does one that says there are some things without naming them, when the next sentence
    names them (`announces`, `enumerates`)."""
    by_key = {_key(c): c for c in pool}
    out: list[Candidate] = []
    for c in chosen:
        out.append(c)
        nxt = by_key.get((c.chunk.id, c.order + 1))
        if (
            c.unit.kind == "sentence"
            and nxt is not None
            and nxt.unit.start <= c.unit.end + 2
            and (
                nxt.unit.kind == "list"
                or (nxt.unit.kind == "sentence" and announces(c.text) and enumerates(nxt.text))
            )
        ):
            out.append(nxt)
    return out


# "there are a number of skills that ...": how many, but not which
_VAGUE_AMOUNT = re.compile(
    r"\b(?:a (?:number|variety|range|set|handful|couple) of|several|various|numerous|a few)\b",
    re.I,
)


def announces(text: str) -> bool:
    """A sentence that says there are some things without naming them ("there are a number of
    skills that experts agreed seemed likely to remain relevant."): the names follow."""
    return bool(_VAGUE_AMOUNT.search(text)) and not _ENUMERATION.search(text)


def enumerates(text: str) -> bool:
    """A sentence naming three or more things ("Disciplines such as project management,
    user-centered design, and cybersecurity threat mitigation ...")."""
    return bool(_ENUMERATION.search(text))


class ExtractiveGenerator:
    """Builds an answer from quoted units; no generative model involved."""

    name = "extractive"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def generate(
        self,
        question: str,
        retrieval: Retrieval,
        view: GenerationView,
        embed: Callable[[list[str]], np.ndarray],
        history: object = None,
    ) -> Iterator[Answer]:
        if not retrieval.answerable or not retrieval.hits:
            yield declined_answer(question, view, self.name)
            return
        if not retrieval.parts and outline.asks_for_steps(retrieval.question or question):
            steps = outline.find_outline(
                retrieval.question or retrieval.query, retrieval, view, embed
            )
            if steps:
                yield from assemble(
                    question, _step_units(self.settings, retrieval, steps, view, embed), self.name
                )
                return
        chosen: list[Candidate] = []
        for part in retrieval.parts or [retrieval]:
            share = max(2, self.settings.max_answer_units // len(retrieval.parts or [1]))
            units = _choose_units(self.settings, part, view, embed, share)
            wanted = expected_type(part.question or part.query)
            if wanted is not None and not wanted.found_in([c.text for c in units]):
                continue  # "how many days ...?" and no number of days: not answered
            for cand in units:
                if all(_key(cand) != _key(c) for c in chosen):
                    chosen.append(cand)
        if not chosen:
            yield declined_answer(question, view, self.name)
            return
        chosen = _with_faq_questions(_with_list_continuation(chosen, view))
        yield from assemble(question, _with_section_names(chosen, view), self.name)


def _with_section_names(chosen: list[Candidate], view: GenerationView) -> list[Candidate]:
    """An entry of a list of short sections (a glossary, a catalogue of job series) says
    what its heading names only in the heading ("3500 - General Services and Support Work",
    then "Occupations not specifically covered by ..."): quoted from its start, the entry
    comes with its heading."""
    out = list(chosen)
    headed = {c.chunk.id for c in chosen if c.unit.kind == "heading"}
    first: dict[str, Candidate] = {}
    for c in chosen:
        if c.chunk.id not in first or c.order < first[c.chunk.id].order:
            first[c.chunk.id] = c
    for c in first.values():
        if c.order != 0 or c.chunk.id in headed or c.chunk.section not in view.entries:
            continue
        unit = outline.heading_unit(c.chunk)
        if unit is not None:
            out.append(_heading(c.hit_rank, c.chunk, unit))
    return out


def _with_list_continuation(chosen: list[Candidate], view: GenerationView) -> list[Candidate]:
    """A quoted list that a chunk boundary cut ("There are three kinds of PEP:" with two of
    its three items) goes on with the items that open the next passage of its section: half
    a list reads as the whole of it."""
    out: list[Candidate] = []
    keys = {_key(c) for c in chosen}
    for c in chosen:
        out.append(c)
        last = c
        # a long list can run over several passages; MAX_LIST_PASSAGES bounds what is quoted
        for _ in range(MAX_LIST_PASSAGES):
            nxt = view.following.get(last.chunk.id)
            rest = last.chunk.text[last.unit.end - last.chunk.start :]
            kinds = ("list",) if last is c else ("list", "item")  # a lone item stays alone
            if last.unit.kind not in kinds or rest.strip() or nxt is None:
                break
            pool = _fetch_units(view, [Hit(chunk=nxt, dense=0.0, lexical=0.0, fused=0.0)]).cands
            for unit in sorted(pool, key=lambda u: u.order):
                if unit.unit.kind not in ("item", "list") or (
                    unit.unit.kind == "list" and list_lines(unit.text)[0].strip()
                ):
                    break  # the next passage goes on with prose or a new list: the list ended
                if _key(unit) not in keys:
                    unit.hit_rank = c.hit_rank
                    out.append(unit)
                    keys.add(_key(unit))
                last = unit
                if unit.unit.kind == "list":
                    break
            if last.chunk.id != nxt.id:
                break
    return out


MAX_LIST_PASSAGES = 3


_NUMBERED_QUESTION = re.compile(r"^\d+[.)]\s")  # "2. What certifications should I pursue?"
_REPLY = re.compile(
    r"^\W*(?:yes|no|not|absolutely|definitely|certainly|sure|of course|it depends)\b", re.I
)


def _with_faq_questions(chosen: list[Candidate]) -> list[Candidate]:
    """An FAQ answer ("Not extensively, but ...") is quoted under its question, which the
    passage holds as its heading: alone it would not say what it answers. A section title that
    happens to be a question ("What Does an AI Project Manager Do?") is not an FAQ."""
    out = list(chosen)
    seen = {c.chunk.id for c in chosen if c.unit.kind == "heading"}
    for c in chosen:
        heading = c.chunk.section.rsplit(" > ", 1)[-1].strip()
        faq = heading.endswith("?") and (_NUMBERED_QUESTION.match(heading) or _REPLY.match(c.text))
        if c.chunk.id in seen or not faq:
            continue
        seen.add(c.chunk.id)
        unit = outline.heading_unit(c.chunk, keep_number=False)
        if unit is not None:
            out.append(_heading(c.hit_rank, c.chunk, unit))
    return out


def _heading(rank: int, chunk: Chunk, unit: Unit) -> Candidate:
    """A heading line of a passage as a quotable candidate (it comes before the passage's
    sentences)."""
    text = chunk.text[unit.start - chunk.start : unit.end - chunk.start]
    return Candidate(rank, chunk, unit, -1, text)


def _choose_units(
    settings: Settings,
    retrieval: Retrieval,
    view: GenerationView,
    embed: Callable[[list[str]], np.ndarray],
    limit: int,
) -> list[Candidate]:
    """Score every unit of the retrieved passages against the question and keep the best.
    Table rows the question does not name are left out when anything else was found: they
    match on column names and numbers, not on what was asked; so is a title page, which
    matches every question that names its document and answers almost none."""
    rows, titles = view.record_ids, view.title_pages
    if not view.without_lacking_rows(retrieval.hits[:1], retrieval.query):
        return []  # the first hit is a row of a table that has what was asked only for other years
    hits = [
        h
        for h in retrieval.hits
        if h.chunk.id not in titles
        and (h.chunk.id not in rows or view.names_row(h.chunk.text, retrieval.query))
    ]
    if hits and len(hits) < len(retrieval.hits):
        retrieval = retrieval.model_copy(update={"hits": hits})
    pool = _fetch_units(view, retrieval.hits)
    # in a passage of several rows, the rows the question names (not their neighbours)
    is_row = [c.chunk.id in rows and is_record_text(c.text) for c in pool.cands]
    # a row that lacks what was asked ("the 2029 wage" of rows with a 2020 wage) is no answer
    lacking = [
        r and view.lacks_asked_column(c.chunk.doc_id, retrieval.query)
        for r, c in zip(is_row, pool.cands, strict=True)
    ]
    named_row = [
        r and view.names_row(c.text, retrieval.query)
        for r, c in zip(is_row, pool.cands, strict=True)
    ]
    named = frozenset(c.chunk.id for c, n in zip(pool.cands, named_row, strict=True) if n)
    keep = [
        i
        for i, (r, n, lack) in enumerate(zip(is_row, named_row, lacking, strict=True))
        if (n or not r) and not lack
    ]
    if any(lacking) and not keep:
        return []  # rows alone, and none has what was asked
    if keep and len(keep) < len(pool.cands):
        pool = Pool([pool.cands[i] for i in keep], pool.vectors[keep], pool.hints)
    cands = pool.cands
    if not cands:
        return []
    _score(settings, retrieval, view, embed, pool)
    short = len(view.lexical.tokenize([retrieval.query])[0]) <= 2
    chosen = _select(cands, settings, 2 if short else limit, named)
    chosen = _asked_cells_only(chosen, view, rows, retrieval.query)
    return _with_whole_passage(chosen, cands, settings.whole_passage_chars)


def _asked_cells_only(
    chosen: list[Candidate], view: GenerationView, rows: set[str], query: str
) -> list[Candidate]:
    """A wide table row shows its name and the columns the question asks for ("Median annual
    wage, 2020(1): 110,140" of a 13-column row); a chosen row that has none of them, when
    another has, answers another question. The citation still points at the whole row."""
    asked = {
        _key(c): view.asked_cells(c.text, query)
        for c in chosen
        if c.chunk.id in rows and is_record_text(c.text)
    }
    if not any(asked.values()):
        return chosen
    out = []
    for c in chosen:
        picked = asked.get(_key(c))
        if picked is None:
            out.append(c)
        elif picked:
            fields = record_fields(c.text)
            cells = [f"{column}: {value}" for column, value in (fields[i] for i in picked)]
            c.shown = "- " + "; ".join([fields[0][1], *cells])
            out.append(c)
    return out


def _with_whole_passage(
    chosen: list[Candidate], pool: list[Candidate], max_chars: int
) -> list[Candidate]:
    """The best passage, when short, is quoted whole: its sentences read as the paragraph the
    author wrote, and the one beside the best sentence often holds the answer ("Start with a
    degree in fields like ..." before "advanced degrees ... can set you apart")."""
    if not chosen or len(chosen[0].chunk.text) > max_chars:
        return chosen
    top = chosen[0].chunk.id
    keys = {_key(c) for c in chosen}
    rest = [
        c
        for c in pool
        if c.chunk.id == top and c.unit.kind in ("sentence", "list") and _key(c) not in keys
    ]
    return _tidy([*chosen, *rest], pool) if rest else chosen


def _step_units(
    settings: Settings,
    retrieval: Retrieval,
    steps: list[outline.Step],
    view: GenerationView,
    embed: Callable[[list[str]], np.ndarray],
) -> list[Candidate]:
    """Each step's heading, then the step's best sentence or list."""
    step_retrieval = retrieval.model_copy(update={"hits": outline.step_hits(steps)})
    pool = _fetch_units(view, step_retrieval.hits)
    cands = pool.cands
    _score(settings, step_retrieval, view, embed, pool)
    chosen: list[Candidate] = []
    for i, step in enumerate(steps):
        chosen.append(_heading(i, step.chunk, step.heading))
        own = [c for c in cands if c.chunk.id == step.chunk.id and c.unit.kind != "item"]
        if own:
            chosen.append(max(own, key=lambda c: c.score))
    return chosen


def _score(
    settings: Settings,
    retrieval: Retrieval,
    view: GenerationView,
    embed: Callable[[list[str]], np.ndarray],
    pool: Pool,
) -> None:
    """A unit's score: cosine to the question (whole, and without the corpus's domain words),
    IDF-weighted word overlap, the rank of its passage, and how closely one of the passage's
    question hints matches the question (a question is closest to a question)."""
    cands, vectors = pool.cands, pool.vectors
    query = retrieval.query
    # the focus (question minus corpus-wide words and the words that name the lead document,
    # the one retrieval put first) comes from the user's own words: a follow-up's new subject
    # ("What about the salary?") must not drown in the context
    lead = retrieval.hits[0].chunk.doc_id if retrieval.hits else ""
    focus = view.without_common_words(retrieval.question or query)
    texts = [query, view.without_document_words(focus, lead) if lead else focus]
    if retrieval.question and retrieval.question != query:
        texts.append(retrieval.question)  # a follow-up's own words weigh as much as the context
    q_vectors = embed(texts)
    q_full = q_vectors[0] if len(texts) == 2 else (q_vectors[0] + q_vectors[2]) / 2
    q_tokens = view.lexical.tokenize([query])[0]
    cos = vectors @ q_full + 0.5 * (vectors @ q_vectors[1])
    lead = retrieval.hits[0].chunk.doc_id if retrieval.hits else ""
    overlaps = _overlaps(view, q_tokens, [c.text for c in cands], lead)
    # a code the question names ("series 7400", "GS-2210") names the passages that hold it, in
    # their text or their heading: the embedding model reads codes as any other number
    held = view.lexical.coded(q_tokens, settings.identifier_max_chunks)
    coded = {view.chunks[i].id for i in held}
    hinted = {cid: float(np.max(h @ q_full)) for cid, h in pool.hints.items()}
    for cand, sim, vector, overlap in zip(cands, cos, vectors, overlaps, strict=True):
        summary = _is_summary(cand.chunk, view)
        # a lead's or conclusion's hints are as general as its text ("what is this job in a
        # nutshell"): they do not outweigh the penalty
        hint = 0.0 if summary else max(0.0, hinted.get(cand.chunk.id, 0.0) - settings.hint_floor)
        cand.vector = vector
        rank = (len(retrieval.hits) - cand.hit_rank) / len(retrieval.hits)
        cand.score = (
            float(sim)
            + settings.unit_overlap_weight * overlap
            + settings.unit_rank_weight * rank
            - settings.unit_summary_penalty * summary
            + settings.hint_weight * hint
            + settings.unit_code_weight * (cand.chunk.id in coded)
        )


def assemble(question: str, chosen: list[Candidate], generator: str) -> Iterator[Answer]:
    """Number the cited chunks, then stream the answer a block (one passage's part) at a
    time; a block carries one marker, at its end."""
    groups: dict[str, list[Candidate]] = {}
    for c in chosen:  # chosen is best-first: first group holds the best unit
        groups.setdefault(c.chunk.id, []).append(c)
    citations = []
    for n, members in enumerate(groups.values(), start=1):
        chunk = members[0].chunk
        used = sorted((m.unit.start - chunk.start, m.unit.end - chunk.start) for m in members)
        citations.append(Citation.from_chunk(n, chunk, used))
    yield Answer(question=question, citations=citations, generator=generator)
    for n, members in enumerate(groups.values(), start=1):
        yield Answer(answer=("\n\n" if n > 1 else "") + render_block(members, n))


def declined_answer(question: str, view: GenerationView, generator: str) -> Answer:
    topics = sorted({m.get("title", "") for m in view.generation.manifest.values()} - {""})
    return Answer(
        question=question, answer=decline_text(topics), declined=True, generator=generator
    )

"""A "how do I ..." question answered with the steps the document itself numbers.

"How do I become an AI project manager?" is the guide's whole "Step-by-Step Guide" section: its
numbered subsections ("1. Build a Strong Educational Foundation", ...). Sentence-level selection
cannot see that structure and quotes the introduction instead. So when a question asks for a
procedure and a section of a retrieved document numbers its subsections, the answer quotes each
step's heading (verbatim: chunks begin with their heading line) followed by the step's most
relevant sentence or list, each cited to the step's own passage.
"""

from __future__ import annotations

import re
import weakref
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..retrieve import GenerationView
from ..types import Chunk, Hit, Retrieval, Unit

PROCEDURE = re.compile(
    r"\bhow (?:do|can|could|should|would|might) (?:i|you|one|someone|a person|people) "
    r"(?:become|get into|break into|get started|start|transition|move into)\b"
    r"|\bhow to (?:become|get into|break into|get started|start)\b"
    r"|\b(?:steps?|roadmap)\b|\bwhere (?:do|should|can) i (?:start|begin)\b",
    re.I,
)
_NUMBERED = re.compile(r"^\d+[.)]\s+\S")
_NUMBER = re.compile(r"\d+[.)]\s+")
_HEADING_LINE = re.compile(r"\A(#{1,6}[ \t]+)(\S[^\n]*?)[ \t#]*(?:\n|\Z)")
MIN_STEPS = 2
MIN_SIMILARITY = 0.6  # question to section heading; "How do I become ..." scores ~0.9


@dataclass
class Step:
    chunk: Chunk
    heading: Unit  # the step's heading line inside its chunk (without the '#' marks)


# per index generation (a view lives as long as its generation is current)
_CACHE: weakref.WeakKeyDictionary[GenerationView, dict[tuple[str, str], list[Step]]] = (
    weakref.WeakKeyDictionary()
)


def asks_for_steps(question: str) -> bool:
    return bool(PROCEDURE.search(question))


def find_outline(
    question: str,
    retrieval: Retrieval,
    view: GenerationView,
    embed: Callable[[list[str]], np.ndarray],
) -> list[Step]:
    """The numbered steps of the section (in a retrieved document) that the question names."""
    docs = {h.chunk.doc_id for h in retrieval.hits}
    outlines = {key: steps for key, steps in _outlines(view).items() if key[0] in docs}
    if not outlines:
        return []
    keys = list(outlines)
    labels = [parent.rsplit(" > ", 1)[-1] for _, parent in keys]
    vectors = np.vstack([embed(labels[i : i + 8]) for i in range(0, len(labels), 8)])
    scores = vectors @ embed([question])[0]
    best = int(np.argmax(scores))
    return outlines[keys[best]] if scores[best] >= MIN_SIMILARITY else []


def step_hits(steps: list[Step]) -> list[Hit]:
    return [Hit(chunk=s.chunk, dense=0.0, lexical=0.0, fused=0.0) for s in steps]


def _outlines(view: GenerationView) -> dict[tuple[str, str], list[Step]]:
    """Sections whose subsections are all numbered steps, per document, in document order;
    computed once per index generation."""
    cached = _CACHE.get(view)
    if cached is not None:
        return cached
    children: dict[tuple[str, str], dict[str, Chunk]] = {}
    for chunk in view.chunks:
        if " > " not in chunk.section:
            continue
        parent, child = chunk.section.rsplit(" > ", 1)
        first = children.setdefault((chunk.doc_id, parent), {})
        if child not in first or chunk.start < first[child].start:
            first[child] = chunk
    found: dict[tuple[str, str], list[Step]] = {}
    for key, by_child in children.items():
        names = list(by_child)
        if len(names) < MIN_STEPS or not all(
            _NUMBERED.match(n) and not n.rstrip().endswith("?") for n in names
        ):
            continue  # not a procedure (an FAQ numbers questions, not steps)
        steps = [_step(c) for c in sorted(by_child.values(), key=lambda c: c.start)]
        if all(s is not None for s in steps):
            found[key] = [s for s in steps if s is not None]
    _CACHE[view] = found
    return found


def _step(chunk: Chunk) -> Step | None:
    heading = heading_unit(chunk)
    return Step(chunk, heading) if heading else None


def heading_unit(chunk: Chunk, keep_number: bool = True) -> Unit | None:
    """The heading line a chunk starts with, as a quotable unit (offsets in the document);
    `keep_number=False` leaves out a leading "2. "."""
    m = _HEADING_LINE.match(chunk.text)
    if not m:
        return None
    start, end = chunk.start + m.start(2), chunk.start + m.end(2)
    if not keep_number and (number := _NUMBER.match(m.group(2))):
        start += number.end()
    return Unit(start=start, end=end, kind="heading")

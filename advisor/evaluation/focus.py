"""Precision beside recall: how long an answer is, how many passages it cites, how many of them
hold none of the facts asked for ("off-point"), and how many quoted segments are fragments.

Fact recall rewards saying more, and an extractive answer is faithful by construction; these
measure what recall cannot see.

- words: words of the answer, citation markers and Markdown marks left out;
- cited passages: the answer's citations;
- off-point passages (cases with expected facts only): cited passages whose text contains no
  alternative of any expected fact (matched as facts are matched in answers);
- quoted prose segments: each sentence of a prose line and each list item of the answer; a
  segment is a fragment when it does not end like a sentence (`.`, `!`, `?`, `…`, or `:` for a
  lead-in). A list item without end punctuation is whole when the cited passages hold it as a
  whole item ("- Agile methodologies"); a heading line (a numbered step, an FAQ question, in
  bold) and a table row are not prose.

A count over nothing is NaN in every rate built from it, never a made-up 0.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache

from pydantic import BaseModel

from .answers import normalize

_MARKER = re.compile(r"\s*\[\d+(?:\s*,\s*\d+)*\]")
_WORD = re.compile(r"\w+(?:['’.,/-]\w+)*")
_BULLET = re.compile(r"^\s*(?:[-*+•]|\d+[.)])\s+")
_EMPHASIS = re.compile(r"\*\*|__|(?<!\w)[*_](?=\S)|(?<=\S)[*_](?!\w)")
_BOLD_LINE = re.compile(r"^\s*\*\*[^*].*\*\*\s*$")
# the end of a sentence: terminal punctuation, then closing quotes or brackets
_ENDS = re.compile(r"[.!?…:][\"'’”)\]*_]*$")
_HYPHEN_BREAK = re.compile(r"(\w)-\s*\n\s*(?=[a-z])")


class FocusScores(BaseModel):
    """One answer's length, citations and quoted segments."""

    words: int
    cited_passages: int
    off_point_passages: int | None  # None: the case has no expected facts to check against
    prose_segments: int
    fragments: list[str]  # the quoted segments that do not end like a sentence

    @property
    def off_point_share(self) -> float | None:
        if self.off_point_passages is None or not self.cited_passages:
            return None
        return self.off_point_passages / self.cited_passages


def answer_words(answer: str) -> int:
    """Words a reader reads: markers, bullets and emphasis marks are not words."""
    return len(_WORD.findall(_MARKER.sub("", answer)))


def off_point(passages: Sequence[str], expected_facts: Sequence[Sequence[str]]) -> int:
    """How many of the passages hold none of the expected facts."""
    wanted = [normalize(alt) for fact in expected_facts for alt in fact if alt.strip()]
    return sum(not any(alt in normalize(text) for alt in wanted) for text in passages)


@lru_cache(maxsize=1)
def _segmenter():  # type: ignore[no-untyped-def]
    import pysbd

    return pysbd.Segmenter(language="en", clean=False)


def _plain(text: str) -> str:
    """Text as a reader sees it: markers and emphasis out, white space collapsed."""
    return " ".join(_EMPHASIS.sub("", _MARKER.sub("", text)).split())


def passage_items(passage: str) -> set[str]:
    """The list items of a passage, each as one line of plain lower-case text (an item wrapped
    over several lines is joined, a word hyphenated across a line break rejoined)."""
    items: list[str] = []
    current: list[str] | None = None
    for line in passage.splitlines():
        if _BULLET.match(line):
            if current is not None:
                items.append("\n".join(current))
            current = [_BULLET.sub("", line)]
        elif current is not None and line.strip():
            current.append(line)
        elif current is not None:
            items.append("\n".join(current))
            current = None
    if current is not None:
        items.append("\n".join(current))
    return {_plain(_HYPHEN_BREAK.sub(r"\1", item)).lower() for item in items}


def prose_segments(answer: str) -> list[tuple[str, str]]:
    """(kind, text) of every quoted prose segment: "item" per list item, "sentence" per
    sentence of any other line. Heading lines and table rows are left out."""
    out: list[tuple[str, str]] = []
    for line in answer.splitlines():
        if not _MARKER.sub("", line).strip() or _BOLD_LINE.match(_MARKER.sub("", line)):
            continue
        if line.lstrip().startswith("|"):  # a table row
            continue
        if _BULLET.match(line):
            out.append(("item", _plain(_BULLET.sub("", line))))
            continue
        for piece in _segmenter().segment(_plain(line)):
            if piece.strip():
                out.append(("sentence", piece.strip()))
    return out


def _part_of_a_row(text: str, passages: Sequence[str]) -> bool:
    """A table row shown by some of its cells ("Bakers; Median annual wage, 2020: 28,830"):
    cells, not a sentence cut short."""
    cells = text.split("; ")
    return len(cells) >= 2 and any(all(cell in _plain(p) for cell in cells) for p in passages)


def fragments(answer: str, passages: Sequence[str]) -> tuple[int, list[str]]:
    """How many prose segments the answer quotes, and those that do not end like a sentence."""
    segments = prose_segments(answer)
    whole_items: set[str] | None = None
    bad = []
    for kind, text in segments:
        if _ENDS.search(text):
            continue
        if kind == "item":
            if whole_items is None:
                whole_items = set().union(*(passage_items(p) for p in passages))
            if text.lower() in whole_items or _part_of_a_row(text, passages):
                continue
        bad.append(text)
    return len(segments), bad


def score_focus(
    answer: str, passages: Sequence[str], expected_facts: Sequence[Sequence[str]] | None
) -> FocusScores:
    """Length, citations, off-point passages (None without expected facts) and fragments of one
    answer; `passages` are the texts of its citations."""
    n_segments, bad = fragments(answer, passages)
    return FocusScores(
        words=answer_words(answer),
        cited_passages=len(passages),
        off_point_passages=off_point(passages, expected_facts) if expected_facts else None,
        prose_segments=n_segments,
        fragments=bad,
    )

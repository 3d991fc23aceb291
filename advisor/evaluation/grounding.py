"""Grounding metrics: is every sentence of an answer cited, and do its citations back it?

Each sentence of a (non-declined) answer is judged by the `GroundingJudge` against the passages
it cites; `[n]` refers to the answer's citation number n. From the verdicts:

- citation rate: share of sentences that carry at least one citation;
- faithfulness: share of sentences the judge accepts (sentences that make no claim, such as a
  lead-in ending in ":", need no citation);
- citation recall (ALCE): share of sentences that have citations and whose cited passages
  together support them;
- citation precision (ALCE): share of citations that count. For a supported sentence with one
  citation, it counts. For a supported sentence with several, a citation is irrelevant when
  the others still support the sentence without it AND it does not support the sentence alone.
  The citations of an unsupported sentence do not count.

An answer may cite once per block: consecutive sentences (or a list) from one passage carry
one marker, at the end of the block. A sentence without a marker of its own is attributed to
the next marker in its block (blocks are separated by blank lines) and judged against that
passage, so support is still checked sentence by sentence.

All rates pool the sentences (or citations) of every judged answer; NaN when there are none.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from pydantic import BaseModel

from .stats import ratio

if TYPE_CHECKING:
    from ..types import Citation
    from ..verify import GroundingJudge

_MARKER = re.compile(r"\s*\[\d+(?:\s*,\s*\d+)*\]")


class SentenceScore(BaseModel):
    """The judge's verdict on one sentence, plus what the citation metrics make of it."""

    text: str
    citations: list[int]
    supported: bool
    score: float
    reason: str
    citation_supported: bool  # has citations and they support it together (citation recall)
    relevant_citations: list[int]  # citations that count for citation precision


class GroundingScores(BaseModel):
    """One answer's sentences; the counts add up across answers."""

    sentences: list[SentenceScore]

    @property
    def n_sentences(self) -> int:
        return len(self.sentences)

    @property
    def n_cited(self) -> int:
        return sum(bool(s.citations) for s in self.sentences)

    @property
    def n_supported(self) -> int:
        return sum(s.supported for s in self.sentences)

    @property
    def n_citation_supported(self) -> int:
        return sum(s.citation_supported for s in self.sentences)

    @property
    def n_citations(self) -> int:
        return sum(len(s.citations) for s in self.sentences)

    @property
    def n_relevant_citations(self) -> int:
        return sum(len(s.relevant_citations) for s in self.sentences)

    @property
    def unsupported(self) -> list[SentenceScore]:
        return [s for s in self.sentences if not s.supported]


def contexts_of(citations: Sequence[Citation]) -> list[str]:
    """Passage texts such that `[n]` is `contexts[n-1]` (a number never used leaves "")."""
    size = max((c.n for c in citations), default=0)
    contexts = [""] * size
    for c in citations:
        if c.n >= 1:
            contexts[c.n - 1] = c.text
    return contexts


def supports(judge: GroundingJudge, sentence: str, passages: Sequence[str]) -> bool:
    """Whether `passages` together support `sentence` (its own markers are ignored)."""
    claim = _MARKER.sub("", sentence).strip()
    if not passages or not claim:
        return False
    one = getattr(judge, "judge_sentence", None)
    if one is not None:
        return bool(one(claim, list(passages)).supported)
    # Only the public `judge(answer, contexts)`: cite every passage from the claim itself.
    body, end = re.match(r"^(.*?)([.!?]*)$", claim, re.S).groups()  # type: ignore[union-attr]
    marks = ", ".join(str(i) for i in range(1, len(passages) + 1))
    verdict = judge.judge(f"{body} [{marks}]{end}", list(passages))
    return verdict.grounded


def relevant_citations(
    judge: GroundingJudge,
    sentence: str,
    citations: Sequence[int],
    contexts: Sequence[str],
    jointly_supported: bool,
) -> list[int]:
    """The citations of one sentence that count for ALCE citation precision."""
    if not jointly_supported or any(not 1 <= n <= len(contexts) for n in citations):
        return []
    if len(citations) == 1:
        return list(citations)
    keep = []
    for n in citations:
        alone = supports(judge, sentence, [contexts[n - 1]])
        others = [contexts[m - 1] for m in citations if m != n]
        if alone or not supports(judge, sentence, others):
            keep.append(n)
    return keep


_BLOCK_BREAK = re.compile(r"\n[ \t]*\n")


def attributed_sentences(answer: str) -> list[tuple[str, list[int]]]:
    """Each sentence of `answer` with the citations it is attributed to: its own markers, or
    else those of the next marked sentence in its block."""
    from ..verify.claims import split_sentences

    out: list[tuple[str, list[int]]] = []
    for block in _BLOCK_BREAK.split(answer):
        units = split_sentences(block)
        closing: list[int] = []
        attributed: list[tuple[str, list[int]]] = []
        for text, cites in reversed(units):
            closing = cites or closing
            attributed.append((text, cites or closing))
        out.extend(reversed(attributed))
    return out


def _with_markers(sentences: list[tuple[str, list[int]]]) -> str:
    """The sentences one per line, each carrying its attributed markers."""
    lines = []
    for text, cites in sentences:
        own = {int(n) for m in _MARKER.findall(text) for n in re.findall(r"\d+", m)}
        marks = "".join(f"[{n}]" for n in cites if n not in own)
        lines.append(f"{text} {marks}" if marks else text)
    return "\n".join(lines)


def score_grounding(judge: GroundingJudge, answer: str, contexts: Sequence[str]) -> GroundingScores:
    """Judge every sentence of `answer` against the passages it cites (or, without a marker of
    its own, the passage whose marker closes its block), and score its citations."""
    units = attributed_sentences(answer)
    judgement = judge.judge(_with_markers(units), list(contexts))
    same = len(judgement.sentences) == len(units)  # the sentences as the answer has them
    sentences = []
    for i, v in enumerate(judgement.sentences):
        cited_ok = bool(v.citations) and v.supported
        relevant = relevant_citations(judge, v.text, v.citations, contexts, cited_ok)
        sentences.append(
            SentenceScore(
                text=units[i][0] if same else v.text,
                citations=list(v.citations),
                supported=v.supported,
                score=float(v.score),
                reason=v.reason,
                citation_supported=cited_ok,
                relevant_citations=relevant,
            )
        )
    return GroundingScores(sentences=sentences)


def pooled(scores: Sequence[GroundingScores]) -> dict[str, float]:
    """The four grounding rates over every sentence (or citation) of every judged answer."""
    total = sum(s.n_sentences for s in scores)
    return {
        "citation_rate": ratio(sum(s.n_cited for s in scores), total),
        "faithfulness": ratio(sum(s.n_supported for s in scores), total),
        "citation_recall": ratio(sum(s.n_citation_supported for s in scores), total),
        "citation_precision": ratio(
            sum(s.n_relevant_citations for s in scores), sum(s.n_citations for s in scores)
        ),
    }

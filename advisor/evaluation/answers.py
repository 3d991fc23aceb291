"""Answer metrics: are the expected facts in the answer, and does the advisor decline when (and
only when) it should?

A fact is a list of alternative wordings (`["$120,000", "120k"]`); it is met when any
alternative occurs in the answer, case-insensitively, after citation markers are removed and
white space collapsed. Decline metrics compare `Answer.declined` with the case's `answerable`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from pydantic import BaseModel

from .stats import ratio

_MARKER = re.compile(r"\s*\[\d+(?:\s*,\s*\d+)*\]")


class FactScores(BaseModel):
    """One answer against its expected facts."""

    met: list[bool]  # one per expected fact
    missed: list[list[str]]  # the facts (all their alternatives) not found

    @property
    def recall(self) -> float:
        """Share of expected facts met; NaN when the case expects none."""
        return ratio(sum(self.met), len(self.met))

    @property
    def all_met(self) -> bool | None:
        return all(self.met) if self.met else None


class DeclineScores(BaseModel):
    """Counts over a set of cases, with the rates they give (NaN when a rate has no cases)."""

    declined_correctly: int  # declined, and should have
    declined: int  # declined at all
    should_decline: int  # unanswerable cases
    answered_correctly: int  # answered an answerable case
    answerable: int

    @property
    def precision(self) -> float:
        """Of the declined cases, the share that should have been declined."""
        return ratio(self.declined_correctly, self.declined)

    @property
    def recall(self) -> float:
        """Of the cases that should be declined, the share that were."""
        return ratio(self.declined_correctly, self.should_decline)

    @property
    def answer_rate(self) -> float:
        """Of the answerable cases, the share answered (not declined)."""
        return ratio(self.answered_correctly, self.answerable)


def normalize(text: str) -> str:
    """Lower case, citation markers removed, white space collapsed: what facts are matched in."""
    return " ".join(_MARKER.sub("", text).split()).lower()


def fact_met(answer: str, alternatives: Sequence[str]) -> bool:
    """True when any alternative wording of the fact occurs in the answer."""
    text = normalize(answer)
    return any(normalize(alt) in text for alt in alternatives if alt.strip())


def score_facts(answer: str, expected_facts: Sequence[Sequence[str]]) -> FactScores:
    met = [fact_met(answer, fact) for fact in expected_facts]
    missed = [list(fact) for fact, ok in zip(expected_facts, met, strict=True) if not ok]
    return FactScores(met=met, missed=missed)


def score_declines(answerable: Sequence[bool], declined: Sequence[bool]) -> DeclineScores:
    """Decline counts for parallel lists: was each case answerable, did the advisor decline it."""
    pairs = list(zip(answerable, declined, strict=True))
    return DeclineScores(
        declined_correctly=sum(d and not a for a, d in pairs),
        declined=sum(d for _, d in pairs),
        should_decline=sum(not a for a, _ in pairs),
        answered_correctly=sum(a and not d for a, d in pairs),
        answerable=sum(a for a, _ in pairs),
    )

"""How well the grounding judge spots ungrounded answers: accuracy, precision, recall and F1.

The positive class is "not grounded" (the judge's job is to catch bad answers), so precision is
the share of answers it flagged that really are ungrounded and recall the share of ungrounded
answers it flagged. Every rate is NaN when its denominator is 0.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel

from .stats import NAN, ratio


class JudgeScores(BaseModel):
    """Confusion counts with "not grounded" as the positive class."""

    true_positive: int  # flagged, and really not grounded
    false_positive: int  # flagged, but grounded
    false_negative: int  # passed, but not grounded
    true_negative: int  # passed, and grounded

    @property
    def n(self) -> int:
        return self.true_positive + self.false_positive + self.false_negative + self.true_negative

    @property
    def accuracy(self) -> float:
        return ratio(self.true_positive + self.true_negative, self.n)

    @property
    def precision(self) -> float:
        return ratio(self.true_positive, self.true_positive + self.false_positive)

    @property
    def recall(self) -> float:
        return ratio(self.true_positive, self.true_positive + self.false_negative)

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        if p != p or r != r:  # NaN
            return NAN
        return 2 * p * r / (p + r) if p + r else 0.0

    def as_dict(self) -> dict[str, float | int]:
        return {
            "n": self.n,
            "accuracy": self.accuracy,
            "precision": self.precision,
            "recall": self.recall,
            "f1": self.f1,
            "true_positive": self.true_positive,
            "false_positive": self.false_positive,
            "false_negative": self.false_negative,
            "true_negative": self.true_negative,
        }


def score_judge(
    expected_grounded: Sequence[bool], predicted_grounded: Sequence[bool]
) -> JudgeScores:
    """Confusion counts for parallel lists of labels and verdicts (True = grounded)."""
    pairs = list(zip(expected_grounded, predicted_grounded, strict=True))
    return JudgeScores(
        true_positive=sum(not e and not p for e, p in pairs),
        false_positive=sum(e and not p for e, p in pairs),
        false_negative=sum(not e and p for e, p in pairs),
        true_negative=sum(e and p for e, p in pairs),
    )

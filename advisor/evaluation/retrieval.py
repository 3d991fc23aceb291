"""Retrieval metrics: did the documents a case expects come back, and how high?

Scored on `Answer.retrieved` (the doc id of each retrieved passage, best first) after
de-duplicating doc ids (a document's rank is that of its best passage). Only answerable cases
with `expected_sources` are scored; for the others every metric is NaN.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel

from .stats import NAN

HIT_KS = (1, 3, 5)


class RetrievalScores(BaseModel):
    """One case: hit@1/3/5 (1.0 when an expected document is in the top k) and 1/rank."""

    hit_at_1: float = NAN
    hit_at_3: float = NAN
    hit_at_5: float = NAN
    reciprocal_rank: float = NAN


def ranked_documents(retrieved: Sequence[str]) -> list[str]:
    """Doc ids in rank order, each kept once at its first (best) rank."""
    return list(dict.fromkeys(retrieved))


def first_hit_rank(ranked: Sequence[str], expected: Sequence[str]) -> int | None:
    """1-based rank of the first expected document in `ranked`, None when none is there."""
    wanted = set(expected)
    return next((i for i, doc in enumerate(ranked, start=1) if doc in wanted), None)


def hit_at_k(ranked: Sequence[str], expected: Sequence[str], k: int) -> float:
    """1.0 when any expected document is among the first `k`, else 0.0; NaN without expectations."""
    if not expected:
        return NAN
    rank = first_hit_rank(ranked, expected)
    return float(rank is not None and rank <= k)


def reciprocal_rank(ranked: Sequence[str], expected: Sequence[str]) -> float:
    """1 / rank of the first expected document (0.0 when missing); NaN without expectations."""
    if not expected:
        return NAN
    rank = first_hit_rank(ranked, expected)
    return 1.0 / rank if rank else 0.0


def score_retrieval(retrieved: Sequence[str], expected: Sequence[str]) -> RetrievalScores:
    """All retrieval metrics of one case (all NaN when it expects no source)."""
    ranked = ranked_documents(retrieved)
    hits = {f"hit_at_{k}": hit_at_k(ranked, expected, k) for k in HIT_KS}
    return RetrievalScores(**hits, reciprocal_rank=reciprocal_rank(ranked, expected))

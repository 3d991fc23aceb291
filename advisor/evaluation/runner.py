"""Run eval cases through the advisor users talk to, score each case, and summarize.

Each case's record holds everything its scores came from (answer, citations, retrieved doc ids,
expected facts and sources, the judge's sentence verdicts), so every summary number can be
recomputed from `results.json` alone; `summarize` does exactly that.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from ..errors import InvalidQuestionError
from .answers import score_declines, score_facts
from .dataset import DatasetError, EvalCase
from .focus import FocusScores, score_focus
from .grounding import GroundingScores, SentenceScore, contexts_of, pooled, score_grounding
from .retrieval import score_retrieval
from .stats import NAN, mean, percentile, ratio

if TYPE_CHECKING:
    from ..verify import GroundingJudge

Progress = Callable[[int, int], None]


class CaseMetrics(BaseModel):
    """One case's scores; NaN (null in JSON) where a metric does not apply to the case."""

    hit_at_1: float = NAN
    hit_at_3: float = NAN
    hit_at_5: float = NAN
    reciprocal_rank: float = NAN
    facts_met: int = 0
    facts_total: int = 0
    fact_recall: float = NAN
    all_facts_met: bool | None = None
    should_decline: bool
    decline_correct: bool  # declined exactly when it should have
    off_topic: bool
    judged: bool  # not declined, so its sentences were judged
    sentences: int = 0
    cited_sentences: int = 0
    supported_sentences: int = 0
    citation_supported_sentences: int = 0
    citations: int = 0
    relevant_citations: int = 0
    # precision beside recall (focus.py): length, passages cited, off-point ones, fragments
    words: int = 0
    cited_passages: int = 0
    off_point_passages: int | None = None  # None: no expected facts, or declined
    off_point_share: float = NAN
    prose_segments: int = 0
    fragments: int = 0


class CaseResult(BaseModel):
    """What one case asked, what the advisor said, and how it scored."""

    id: str
    question: str
    turns: list[str]
    answer: str
    declined: bool
    citations: list[dict[str, Any]]  # as in `advisor ask --json`
    retrieved: list[str]
    latency_ms: float
    answerable: bool
    category: str | None = None
    expected_facts: list[list[str]]
    expected_sources: list[str]
    reference: str | None = None
    missed_facts: list[list[str]]
    failures: list[str]
    metrics: CaseMetrics
    sentences: list[SentenceScore]
    fragments: list[str] = []  # quoted segments that do not end like a sentence


def ask(advisor: Any, case: EvalCase) -> tuple[Any, float]:
    """Ask every turn in order with the advisor's own earlier answers as history; return the
    answer to the last turn and the milliseconds it took."""
    history: list[tuple[str, str]] = []
    for turn in case.turns[:-1]:
        earlier = advisor.invoke({"question": turn, "chat_history": history})
        history += [("user", turn), ("assistant", earlier.answer)]
    start = time.perf_counter()
    answer = advisor.invoke({"question": case.question, "chat_history": history})
    return answer, (time.perf_counter() - start) * 1000


def failures_of(case: EvalCase, m: CaseMetrics, grounding: GroundingScores) -> list[str]:
    """Why a case counts as failing (empty when it passes)."""
    out = []
    if not m.decline_correct:
        out.append(
            "declined an answerable question"
            if case.answerable
            else "answered a question it should decline"
        )
    if m.facts_met < m.facts_total:
        out.append(f"missed {m.facts_total - m.facts_met} of {m.facts_total} expected facts")
    if m.reciprocal_rank == 0.0:
        out.append("no expected source retrieved")
    if grounding.unsupported:
        out.append(f"{len(grounding.unsupported)} unsupported sentence(s)")
    return out


def score_case(case: EvalCase, answer: Any, latency_ms: float, judge: GroundingJudge) -> CaseResult:
    """Every metric of one case, from the advisor's `Answer` to its last turn."""
    declined = bool(answer.declined)
    retrieval = (
        score_retrieval(answer.retrieved, case.expected_sources) if case.answerable else None
    )
    facts = score_facts(answer.answer, case.expected_facts) if case.answerable else None
    citations = sorted(answer.citations, key=lambda c: c.n)
    grounding = (
        GroundingScores(sentences=[])
        if declined
        else score_grounding(judge, answer.answer, contexts_of(citations))
    )
    focus = (
        FocusScores(
            words=0, cited_passages=0, off_point_passages=None, prose_segments=0, fragments=[]
        )
        if declined
        else score_focus(
            answer.answer,
            [c.text for c in citations],
            case.expected_facts if case.answerable else None,
        )
    )
    off_share = focus.off_point_share
    metrics = CaseMetrics(
        **(retrieval.model_dump() if retrieval else {}),
        facts_met=sum(facts.met) if facts else 0,
        facts_total=len(facts.met) if facts else 0,
        fact_recall=facts.recall if facts else NAN,
        all_facts_met=facts.all_met if facts else None,
        should_decline=not case.answerable,
        decline_correct=declined != case.answerable,
        off_topic=case.off_topic,
        judged=not declined,
        sentences=grounding.n_sentences,
        cited_sentences=grounding.n_cited,
        supported_sentences=grounding.n_supported,
        citation_supported_sentences=grounding.n_citation_supported,
        citations=grounding.n_citations,
        relevant_citations=grounding.n_relevant_citations,
        words=focus.words,
        cited_passages=focus.cited_passages,
        off_point_passages=focus.off_point_passages,
        off_point_share=NAN if off_share is None else off_share,
        prose_segments=focus.prose_segments,
        fragments=len(focus.fragments),
    )
    return CaseResult(
        id=case.id,
        question=case.question,
        turns=case.turns,
        answer=answer.answer,
        declined=declined,
        citations=answer.to_json_dict()["citations"],
        retrieved=list(answer.retrieved),
        latency_ms=round(latency_ms, 1),
        answerable=case.answerable,
        category=case.category,
        expected_facts=case.expected_facts,
        expected_sources=case.expected_sources,
        reference=case.reference,
        missed_facts=facts.missed if facts else [],
        failures=failures_of(case, metrics, grounding),
        metrics=metrics,
        sentences=grounding.sentences,
        fragments=focus.fragments,
    )


def run_cases(
    advisor: Any, cases: Sequence[EvalCase], judge: GroundingJudge, progress: Progress | None = None
) -> list[CaseResult]:
    """Every case through `advisor.invoke`, scored. Models are loaded first, so the first case's
    latency is not the cold start."""
    warm_up = getattr(advisor, "warm_up", None)
    if warm_up is not None:
        warm_up()
    results = []
    for i, case in enumerate(cases):
        try:
            answer, latency_ms = ask(advisor, case)
        except InvalidQuestionError as exc:
            raise DatasetError(
                f"The case on line {case.line} (id {case.id!r}) was refused: {exc}"
            ) from None
        results.append(score_case(case, answer, latency_ms, judge))
        if progress:
            progress(i + 1, len(cases))
    return results


def summarize(results: Sequence[CaseResult]) -> dict[str, float | int]:
    """Summary metrics and the counts they are computed over (NaN where a count is 0)."""
    answerable = [r for r in results if r.answerable]
    retrieval = [r.metrics for r in answerable if r.expected_sources]
    with_facts = [r.metrics for r in answerable if r.expected_facts]
    off_topic = [r for r in results if r.metrics.off_topic]
    judged = [r for r in results if r.metrics.judged]
    declines = score_declines([r.answerable for r in results], [r.declined for r in results])
    grounding = pooled([GroundingScores(sentences=r.sentences) for r in judged])
    checked = [r.metrics for r in judged if r.metrics.off_point_passages is not None]
    return {
        "n_cases": len(results),
        "n_answerable": len(answerable),
        "n_unanswerable": len(results) - len(answerable),
        "n_off_topic": len(off_topic),
        "n_retrieval": len(retrieval),
        "n_fact_cases": len(with_facts),
        "n_declined": declines.declined,
        "n_judged": len(judged),
        "n_sentences": sum(r.metrics.sentences for r in judged),
        "n_citations": sum(r.metrics.citations for r in judged),
        "n_failing": sum(bool(r.failures) for r in results),
        "n_fact_citations": sum(m.cited_passages for m in checked),
        "n_prose_segments": sum(r.metrics.prose_segments for r in judged),
        "hit_at_1": mean(m.hit_at_1 for m in retrieval),
        "hit_at_3": mean(m.hit_at_3 for m in retrieval),
        "hit_at_5": mean(m.hit_at_5 for m in retrieval),
        "mrr": mean(m.reciprocal_rank for m in retrieval),
        "fact_recall": mean(m.fact_recall for m in with_facts),
        "fact_hit_rate": mean(bool(m.all_facts_met) for m in with_facts),
        "decline_precision": declines.precision,
        "decline_recall": declines.recall,
        "answer_rate": declines.answer_rate,
        "off_topic_declined": mean(r.declined for r in off_topic),
        **grounding,
        "answer_words_p50": percentile((r.metrics.words for r in judged), 50),
        "answer_words_p90": percentile((r.metrics.words for r in judged), 90),
        "answer_sentences_p50": percentile((r.metrics.sentences for r in judged), 50),
        "cited_passages_mean": mean(r.metrics.cited_passages for r in judged),
        "off_point_share": ratio(
            sum(m.off_point_passages or 0 for m in checked), sum(m.cited_passages for m in checked)
        ),
        "fragment_share": ratio(
            sum(r.metrics.fragments for r in judged), sum(r.metrics.prose_segments for r in judged)
        ),
        "latency_p50_ms": percentile((r.latency_ms for r in results), 50),
        "latency_p95_ms": percentile((r.latency_ms for r in results), 95),
    }

"""The catalogue of summary metrics (names, groups, what each means) and `--min` thresholds."""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import NamedTuple

from ..errors import AdvisorError
from .stats import is_nan


class ThresholdError(AdvisorError):
    """A `--min METRIC=VALUE` option names an unknown metric or is not of that form."""


class Metric(NamedTuple):
    name: str
    group: str
    label: str
    over: str  # the summary count this metric is computed over
    description: str
    higher_is_better: bool = True
    unit: str = ""  # "" for a share between 0 and 1, else "ms", "words", "sentences", ...


METRICS: dict[str, Metric] = {
    m.name: m
    for m in [
        Metric(
            "hit_at_1",
            "retrieval",
            "hit@1",
            "n_retrieval",
            "an expected document is the top retrieved document",
        ),
        Metric(
            "hit_at_3",
            "retrieval",
            "hit@3",
            "n_retrieval",
            "an expected document is among the top 3 retrieved documents",
        ),
        Metric(
            "hit_at_5",
            "retrieval",
            "hit@5",
            "n_retrieval",
            "an expected document is among the top 5 retrieved documents",
        ),
        Metric(
            "mrr",
            "retrieval",
            "MRR",
            "n_retrieval",
            "mean of 1/rank of the first expected document (0 when missing)",
        ),
        Metric(
            "fact_recall",
            "answers",
            "fact recall",
            "n_fact_cases",
            "share of expected facts found in the answer, averaged over answerable cases",
        ),
        Metric(
            "fact_hit_rate",
            "answers",
            "fact hit rate",
            "n_fact_cases",
            "share of answerable cases whose answer has every expected fact",
        ),
        Metric(
            "decline_precision",
            "answers",
            "decline precision",
            "n_declined",
            "of the declined questions, the share that should have been declined",
        ),
        Metric(
            "decline_recall",
            "answers",
            "decline recall",
            "n_unanswerable",
            "of the questions that should be declined, the share that were",
        ),
        Metric(
            "answer_rate",
            "answers",
            "answer rate",
            "n_answerable",
            "of the answerable questions, the share answered (not declined)",
        ),
        Metric(
            "off_topic_declined",
            "answers",
            "off-topic declined",
            "n_off_topic",
            "of the off-topic questions (outside careers altogether), the share declined",
        ),
        Metric(
            "citation_rate",
            "grounding",
            "citation rate",
            "n_sentences",
            "share of answer sentences that carry a citation",
        ),
        Metric(
            "faithfulness",
            "grounding",
            "faithfulness",
            "n_sentences",
            "share of answer sentences the judge finds supported by the passages they cite",
        ),
        Metric(
            "citation_recall",
            "grounding",
            "citation recall",
            "n_sentences",
            "share of answer sentences whose cited passages together support them (ALCE)",
        ),
        Metric(
            "citation_precision",
            "grounding",
            "citation precision",
            "n_citations",
            "share of citations that are needed for or support their sentence (ALCE)",
        ),
        Metric(
            "off_point_share",
            "focus",
            "off-point passages",
            "n_fact_citations",
            "of the passages cited in answers to cases with expected facts, the share holding "
            "none of those facts",
            higher_is_better=False,
        ),
        Metric(
            "fragment_share",
            "focus",
            "fragments",
            "n_prose_segments",
            "of the quoted prose segments (sentences, list items), the share that does not end "
            "like a sentence",
            higher_is_better=False,
        ),
        Metric(
            "answer_words_p50",
            "focus",
            "answer words p50",
            "n_judged",
            "median length of the answers given (not declined), in words",
            higher_is_better=False,
            unit="words",
        ),
        Metric(
            "answer_words_p90",
            "focus",
            "answer words p90",
            "n_judged",
            "90th-percentile length of the answers given, in words",
            higher_is_better=False,
            unit="words",
        ),
        Metric(
            "answer_sentences_p50",
            "focus",
            "answer sentences p50",
            "n_judged",
            "median number of sentences (list items count as sentences) of the answers given",
            higher_is_better=False,
            unit="sentences",
        ),
        Metric(
            "cited_passages_mean",
            "focus",
            "passages cited",
            "n_judged",
            "mean number of passages an answer cites",
            higher_is_better=False,
            unit="passages",
        ),
        Metric(
            "latency_p50_ms",
            "latency",
            "latency p50",
            "n_cases",
            "median time to answer the scored turn",
            higher_is_better=False,
            unit="ms",
        ),
        Metric(
            "latency_p95_ms",
            "latency",
            "latency p95",
            "n_cases",
            "95th-percentile time to answer the scored turn",
            higher_is_better=False,
            unit="ms",
        ),
    ]
}


class Count(NamedTuple):
    unit: str  # short: "cases", "sentences"
    description: str


COUNTS: dict[str, Count] = {
    "n_cases": Count("cases", "cases"),
    "n_answerable": Count("cases", "answerable cases"),
    "n_unanswerable": Count("cases", "unanswerable cases"),
    "n_off_topic": Count("cases", "off-topic cases"),
    "n_retrieval": Count("cases", "answerable cases with expected_sources"),
    "n_fact_cases": Count("cases", "answerable cases with expected_facts"),
    "n_declined": Count("declined", "declined answers"),
    "n_judged": Count("answers", "judged (not declined) answers"),
    "n_sentences": Count("sentences", "sentences of judged answers"),
    "n_citations": Count("citations", "citations of judged answers"),
    "n_fact_citations": Count("passages", "passages cited by answers to cases with facts"),
    "n_prose_segments": Count("segments", "quoted prose segments of judged answers"),
}

THRESHOLD_METRICS = [m.name for m in METRICS.values() if m.higher_is_better]
MAXIMUM_METRICS = [m.name for m in METRICS.values() if not m.higher_is_better]


def parse_minimums(options: list[str]) -> dict[str, float]:
    """`["faithfulness=0.9"]` as {metric: minimum}, or a `ThresholdError` saying what to fix."""
    return _parse(options, "--min")


def parse_maximums(options: list[str]) -> dict[str, float]:
    """`["off_point_share=0.2"]` as {metric: maximum} (metrics where lower is better)."""
    return _parse(options, "--max")


def _parse(options: list[str], flag: str) -> dict[str, float]:
    lower = flag == "--max"
    allowed = MAXIMUM_METRICS if lower else THRESHOLD_METRICS
    limits: dict[str, float] = {}
    valid = ", ".join(allowed)
    for option in options:
        name, sep, value = option.partition("=")
        name = name.strip().replace("@", "_at_").replace("-", "_")
        if not sep:
            example = "off_point_share=0.2" if lower else "faithfulness=0.9"
            raise ThresholdError(
                f"{flag} {option!r} must look like METRIC=VALUE, e.g. {flag} {example}."
            )
        if name not in METRICS:
            close = difflib.get_close_matches(name, allowed, n=1)
            hint = f" Did you mean {close[0]}?" if close else ""
            raise ThresholdError(
                f"{flag} names an unknown metric {name!r}.{hint} Valid metrics: {valid}."
            )
        if METRICS[name].higher_is_better == lower:
            better = "higher" if lower else "lower"
            raise ThresholdError(
                f"{flag} cannot be used with {name} ({better} is better). Valid metrics: {valid}."
            )
        try:
            limits[name] = float(value)
        except ValueError:
            raise ThresholdError(f"{flag} {option!r}: {value!r} is not a number.") from None
    return limits


def unmet_minimums(summary: Mapping[str, object], minimums: dict[str, float]) -> list[str]:
    """One line per threshold the summary does not meet (NaN meets nothing: no evidence)."""
    return _unmet(summary, minimums, "minimum")


def unmet_maximums(summary: Mapping[str, object], maximums: dict[str, float]) -> list[str]:
    """One line per maximum the summary exceeds (NaN meets nothing)."""
    return _unmet(summary, maximums, "maximum")


def _unmet(summary: Mapping[str, object], limits: dict[str, float], kind: str) -> list[str]:
    unmet = []
    for name, limit in limits.items():
        value = summary.get(name)
        if not isinstance(value, int | float) or is_nan(value):
            unmet.append(
                f"{name} could not be computed (no {COUNTS[METRICS[name].over].description}), "
                f"{kind} {limit:g}"
            )
        elif kind == "minimum" and value < limit:
            unmet.append(f"{name} = {value:.3f} is below the minimum {limit:g}")
        elif kind == "maximum" and value > limit:
            unmet.append(f"{name} = {value:.3f} is above the maximum {limit:g}")
    return unmet

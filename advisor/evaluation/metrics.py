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
    unit: str = ""  # "" for a share between 0 and 1, "ms" for milliseconds


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
}

THRESHOLD_METRICS = [m.name for m in METRICS.values() if m.higher_is_better]


def parse_minimums(options: list[str]) -> dict[str, float]:
    """`["faithfulness=0.9"]` as {metric: minimum}, or a `ThresholdError` saying what to fix."""
    minimums: dict[str, float] = {}
    valid = ", ".join(THRESHOLD_METRICS)
    for option in options:
        name, sep, value = option.partition("=")
        name = name.strip().replace("@", "_at_").replace("-", "_")
        if not sep:
            raise ThresholdError(
                f"--min {option!r} must look like METRIC=VALUE, e.g. --min faithfulness=0.9."
            )
        if name not in METRICS:
            close = difflib.get_close_matches(name, THRESHOLD_METRICS, n=1)
            hint = f" Did you mean {close[0]}?" if close else ""
            raise ThresholdError(
                f"--min names an unknown metric {name!r}.{hint} Valid metrics: {valid}."
            )
        if not METRICS[name].higher_is_better:
            raise ThresholdError(
                f"--min cannot be used with {name} (lower is better). Valid metrics: {valid}."
            )
        try:
            minimums[name] = float(value)
        except ValueError:
            raise ThresholdError(f"--min {option!r}: {value!r} is not a number.") from None
    return minimums


def unmet_minimums(summary: Mapping[str, object], minimums: dict[str, float]) -> list[str]:
    """One line per threshold the summary does not meet (NaN meets nothing: no evidence)."""
    unmet = []
    for name, minimum in minimums.items():
        value = summary.get(name)
        if not isinstance(value, int | float) or is_nan(value):
            unmet.append(
                f"{name} could not be computed (no {COUNTS[METRICS[name].over].description}), "
                f"minimum {minimum:g}"
            )
        elif value < minimum:
            unmet.append(f"{name} = {value:.3f} is below the minimum {minimum:g}")
    return unmet

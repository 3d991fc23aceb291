"""`advisor eval` and `advisor judge`: metric functions on hand-made inputs with known results,
then real runs through the real advisor and the real grounding judge (no mocks)."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from advisor.evaluate import run_eval_command, run_judge_command
from advisor.evaluation.answers import score_declines, score_facts
from advisor.evaluation.classification import score_judge
from advisor.evaluation.dataset import DatasetError, load_eval_cases, load_judge_cases
from advisor.evaluation.focus import answer_words, fragments, off_point, score_focus
from advisor.evaluation.grounding import (
    SentenceScore,
    attributed_sentences,
    pooled,
    score_grounding,
)
from advisor.evaluation.metrics import (
    MAXIMUM_METRICS,
    METRICS,
    THRESHOLD_METRICS,
    ThresholdError,
    parse_maximums,
    parse_minimums,
    unmet_maximums,
    unmet_minimums,
)
from advisor.evaluation.report import case_html, render_html
from advisor.evaluation.retrieval import ranked_documents, reciprocal_rank, score_retrieval
from advisor.evaluation.runner import CaseMetrics, CaseResult
from advisor.evaluation.stats import mean, percentile, ratio

from .conftest import CITATION_FIELDS

ROOT = Path(__file__).resolve().parent.parent
CAREER = ROOT / "evals" / "datasets" / "career.jsonl"
JUDGE_CASES = ROOT / "evals" / "datasets" / "judge_cases.jsonl"

PMP = (
    "The PMP exam has 180 questions, of which 175 are scored, and candidates have 230 minutes "
    "to finish it."
)
SCRUM = (
    "Scrum defines three accountabilities: the Product Owner, the Scrum Master and the Developers."
)


def nan(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def write_jsonl(path: Path, lines: list[Any]) -> Path:
    path.write_text(
        "\n".join(line if isinstance(line, str) else json.dumps(line) for line in lines) + "\n",
        encoding="utf-8",
    )
    return path


# --- metric functions on hand-made inputs -------------------------------------------------


def test_retrieval_dedupes_documents_and_ranks_the_first_expected_one() -> None:
    retrieved = ["guide", "outlook", "guide", "pmp", "scrum", "pmp"]
    assert ranked_documents(retrieved) == ["guide", "outlook", "pmp", "scrum"]
    scores = score_retrieval(retrieved, ["pmp"])
    assert (scores.hit_at_1, scores.hit_at_3, scores.hit_at_5) == (0.0, 1.0, 1.0)
    assert scores.reciprocal_rank == pytest.approx(1 / 3)  # rank 3 once "guide" is deduped
    assert score_retrieval(retrieved, ["scrum", "outlook"]).reciprocal_rank == 0.5
    missing = score_retrieval(retrieved, ["prince2"])
    assert (missing.hit_at_5, missing.reciprocal_rank) == (0.0, 0.0)


def test_retrieval_without_expected_sources_is_nan_not_zero() -> None:
    scores = score_retrieval(["guide"], [])
    assert all(nan(v) for v in scores.model_dump().values())
    assert nan(reciprocal_rank([], []))


def test_a_fact_is_met_by_any_alternative_case_insensitively() -> None:
    answer = "Salaries average **$120K** a year [1], and the Certified Scrum[2]Master helps."
    facts = score_facts(answer, [["$120,000", "$120k"], ["pmp"], ["ScrumMaster", "CSM"]])
    assert facts.met == [True, False, True]  # markers are removed before matching
    assert facts.missed == [["pmp"]]
    assert facts.recall == pytest.approx(2 / 3)
    assert facts.all_met is False
    assert score_facts("Machine learning and NLP", [["machine LEARNING"], ["nlp"]]).all_met


def test_no_expected_facts_gives_nan_recall() -> None:
    facts = score_facts("anything", [])
    assert nan(facts.recall) and facts.all_met is None


def test_decline_precision_and_recall() -> None:
    answerable = [True, True, False, False, False]
    declined = [False, True, True, True, False]
    scores = score_declines(answerable, declined)
    assert scores.precision == pytest.approx(2 / 3)  # 3 declined, 2 of them rightly
    assert scores.recall == pytest.approx(2 / 3)  # 3 to decline, 2 declined
    assert scores.answer_rate == 0.5  # 2 answerable, 1 answered


def test_metrics_over_nothing_are_nan() -> None:
    empty = score_declines([], [])
    assert nan(empty.precision) and nan(empty.recall) and nan(empty.answer_rate)
    only_answered = score_declines([True, False], [False, False])
    assert nan(only_answered.precision) and only_answered.recall == 0.0
    assert nan(mean([])) and nan(ratio(0, 0)) and nan(percentile([], 95))
    assert all(nan(v) for v in pooled([]).values())
    judge = score_judge([], [])
    assert all(nan(getattr(judge, k)) for k in ("accuracy", "precision", "recall", "f1"))


def test_judge_scores_treat_not_grounded_as_positive() -> None:
    expected = [False, False, False, True, True]  # three ungrounded answers
    verdict = [False, False, True, False, True]  # two caught, one missed, one false alarm
    scores = score_judge(expected, verdict)
    assert (scores.true_positive, scores.false_negative, scores.false_positive) == (2, 1, 1)
    assert scores.accuracy == pytest.approx(3 / 5)
    assert scores.precision == pytest.approx(2 / 3)
    assert scores.recall == pytest.approx(2 / 3)
    assert scores.f1 == pytest.approx(2 / 3)


def test_grounding_with_the_real_judge(embedder) -> None:
    from advisor.verify import GroundingJudge

    judge = GroundingJudge(embedder)
    answer = (
        "The PMP exam has 180 questions [1][2].\n"  # [2] is irrelevant: [1] alone supports it
        "Scrum defines three accountabilities [2].\n"
        "The PMP exam has 200 questions [1].\n"  # wrong number: unsupported
        "The PMP exam has 180 questions."  # no citation
    )
    scores = score_grounding(judge, answer, [PMP, SCRUM])
    assert [s.supported for s in scores.sentences] == [True, True, False, False]
    assert [s.citation_supported for s in scores.sentences] == [True, True, False, False]
    assert [s.relevant_citations for s in scores.sentences] == [[1], [2], [], []]
    rates = pooled([scores])
    assert rates["citation_rate"] == 0.75
    assert rates["faithfulness"] == 0.5
    assert rates["citation_recall"] == 0.5
    assert rates["citation_precision"] == 0.5  # 2 of 4 citations count

    both = score_grounding(
        judge,
        "The PMP exam has 180 questions, and Scrum defines three accountabilities [1][2].",
        [PMP, SCRUM],
    )
    assert both.sentences[0].relevant_citations == [1, 2]  # each needed for one half


def test_a_sentence_without_a_marker_is_attributed_to_the_marker_closing_its_block() -> None:
    answer = (
        "The PMP exam has 180 questions. Candidates have 230 minutes [1]\n\n"
        "Scrum defines three roles:\n- the Product Owner\n- the Developers [2]\n\n"
        "Nothing closes this block."
    )
    assert attributed_sentences(answer) == [
        ("The PMP exam has 180 questions.", [1]),
        ("Candidates have 230 minutes [1]", [1]),
        ("Scrum defines three roles:", [2]),
        ("the Product Owner", [2]),
        ("the Developers [2]", [2]),
        ("Nothing closes this block.", []),  # no marker after it in its block
    ]


def test_block_citations_are_still_judged_sentence_by_sentence(embedder) -> None:
    from advisor.verify import GroundingJudge

    judge = GroundingJudge(embedder)
    answer = "The PMP exam has 200 questions. Candidates have 230 minutes to finish it [1]"
    scores = score_grounding(judge, answer, [PMP])
    assert [s.text for s in scores.sentences] == [
        "The PMP exam has 200 questions.",  # as the answer has it: no marker added
        "Candidates have 230 minutes to finish it [1]",
    ]
    assert [s.citations for s in scores.sentences] == [[1], [1]]
    assert [s.supported for s in scores.sentences] == [False, True]  # the wrong number is caught


def test_focus_counts_words_passages_off_point_and_fragments() -> None:
    answer = (
        "The PMP exam has **180** questions [1] and 230 minutes [1]\n\n"
        "Popular options include:\n- Lean Six Sigma\n- Certified Scrum [2]\n\n"
        "Scrum defines three [2]"
    )
    passages = [PMP, "Popular options include:\n- Lean Six\n  Sigma\n- Certified ScrumMaster"]
    assert answer_words(answer) == 20  # markers, bullets and ** are not words
    assert off_point(passages, [["230 minutes"], ["180"]]) == 1  # the list holds neither
    n, bad = fragments(answer, passages)
    # 2 sentences of the first line (pysbd keeps it whole: 1), the lead-in, 2 items, 1 sentence
    assert n == 5
    # "Lean Six Sigma" is a whole item of the passage (wrapped there); "Certified Scrum" is a
    # piece of one, and "Scrum defines three" stops mid-sentence
    assert bad == [
        "The PMP exam has 180 questions and 230 minutes",
        "Certified Scrum",
        "Scrum defines three",
    ]
    focus = score_focus(answer, passages, None)
    assert focus.off_point_passages is None and focus.off_point_share is None
    assert score_focus(answer, passages, [["180"]]).off_point_share == 0.5


def test_headings_and_table_rows_are_not_prose_segments() -> None:
    answer = "**1. Build a Strong Educational Foundation** [1]\n\n| PMP | 180 |\nWhy? [1]"
    assert fragments(answer, []) == (1, [])


# --- thresholds ---------------------------------------------------------------------------


def test_min_options_parse_and_unknown_names_list_the_valid_ones() -> None:
    assert parse_minimums(["hit@3=0.9", "faithfulness=0.95"]) == {
        "hit_at_3": 0.9,
        "faithfulness": 0.95,
    }
    with pytest.raises(ThresholdError) as unknown:
        parse_minimums(["faithfullness=0.9"])
    assert "faithfullness" in str(unknown.value)
    assert all(name in str(unknown.value) for name in THRESHOLD_METRICS)
    with pytest.raises(ThresholdError, match="METRIC=VALUE"):
        parse_minimums(["faithfulness"])
    with pytest.raises(ThresholdError, match="not a number"):
        parse_minimums(["faithfulness=high"])
    with pytest.raises(ThresholdError, match="lower is better"):
        parse_minimums(["latency_p95_ms=100"])


def test_max_options_take_metrics_where_lower_is_better() -> None:
    assert parse_maximums(["off_point_share=0.2", "answer-words-p50=60"]) == {
        "off_point_share": 0.2,
        "answer_words_p50": 60.0,
    }
    assert {"off_point_share", "fragment_share", "answer_words_p50"} <= set(MAXIMUM_METRICS)
    with pytest.raises(ThresholdError, match="higher is better"):
        parse_maximums(["faithfulness=0.9"])
    with pytest.raises(ThresholdError, match="Did you mean off_point_share"):
        parse_maximums(["off_point_shar=0.2"])
    summary = {"off_point_share": 0.3, "fragment_share": float("nan"), "answer_words_p50": 50}
    unmet = unmet_maximums(
        summary, {"off_point_share": 0.2, "fragment_share": 0.05, "answer_words_p50": 60}
    )
    assert unmet[0] == "off_point_share = 0.300 is above the maximum 0.2"
    assert "could not be computed" in unmet[1] and len(unmet) == 2


def test_unmet_minimums_and_nan_meets_nothing() -> None:
    summary = {"faithfulness": 0.9, "mrr": float("nan"), "hit_at_1": 0.5}
    unmet = unmet_minimums(summary, {"faithfulness": 0.95, "mrr": 0.1, "hit_at_1": 0.5})
    assert len(unmet) == 2
    assert unmet[0].startswith("faithfulness") and "could not be computed" in unmet[1]


# --- datasets -----------------------------------------------------------------------------


def test_bad_dataset_lines_are_reported_with_their_line_numbers(tmp_path: Path) -> None:
    good = {"id": "ok", "question": "What is the PMP?", "answerable": True}
    path = write_jsonl(
        tmp_path / "bad.jsonl",
        [
            good,
            {"id": "no-answerable", "question": "What is the PMP?"},
            "{not json",
            {"id": "facts", "question": "Q?", "answerable": True, "expected_facts": ["PMP"]},
            {"id": "ok", "turns": [], "answerable": True},
            {"id": "typo", "question": "Q?", "answerable": True, "expected_source": ["pmp"]},
        ],
    )
    with pytest.raises(DatasetError) as info:
        load_eval_cases(path)
    message = str(info.value)
    assert "6 problem(s)" in message  # line 5 has two
    assert "line 2 (id 'no-answerable'): \"answerable\" is missing. Please add it" in message
    assert "line 3: not valid JSON" in message
    assert "line 4 (id 'facts'): \"expected_facts\" must be a list of facts" in message
    assert "id 'ok' is also used on line 1" in message
    assert '"turns" must be a non-empty list of questions' in message
    assert "line 6 (id 'typo'): unknown field \"expected_source\"; did you mean" in message


def test_the_shipped_datasets_load() -> None:
    for dataset in sorted(CAREER.parent.glob("*.jsonl")):
        if not dataset.name.startswith("judge"):  # every line of every eval dataset is a case
            lines = [ln for ln in dataset.read_text().splitlines() if ln.strip()]
            assert len(load_eval_cases(dataset)) == len(lines), dataset.name
    cases = load_eval_cases(CAREER)
    conversation = next(c for c in cases if len(c.turns) > 1)
    assert conversation.question == conversation.turns[-1]
    assert sum(c.off_topic for c in cases) >= 8  # the `off-...` ids
    assert not any(c.off_topic for c in cases if c.id.startswith("nc-"))
    assert len(load_judge_cases(JUDGE_CASES)) == 146
    assert len(load_judge_cases(JUDGE_CASES.with_name("judge_holdout.jsonl"))) == 48
    assert len(load_judge_cases(JUDGE_CASES.with_name("judge_holdout2.jsonl"))) == 60


def test_bad_judge_cases_say_what_to_fix(tmp_path: Path) -> None:
    path = write_jsonl(
        tmp_path / "judge.jsonl",
        [{"id": "a", "answer": "x [1]", "contexts": ["x"], "grounded": "yes"}],
    )
    with pytest.raises(DatasetError, match=r'line 1 \(id \'a\'\): "grounded" must be true'):
        load_judge_cases(path)
    with pytest.raises(DatasetError, match="No dataset at"):
        load_judge_cases(tmp_path / "missing.jsonl")


# --- the report ---------------------------------------------------------------------------


def _hand_made_result() -> CaseResult:
    citation = {
        "n": 1,
        "doc_id": "pmp",
        "title": "PMP <Certification>",
        "section": "Exam",
        "source": "pmp.md",
        "start": 0,
        "end": len(PMP),
        "text": PMP,
        "page": None,
    }
    bad = SentenceScore(
        text="The PMP exam has <b>200</b> questions [1].",
        citations=[1],
        supported=False,
        score=0.2,
        reason="number 200 not in cited passage",
        citation_supported=False,
        relevant_citations=[],
    )
    return CaseResult(
        id="pmp-<exam>",
        question="How long is the PMP exam? <script>x()</script>",
        turns=["How long is the PMP exam? <script>x()</script>"],
        answer=bad.text,
        declined=False,
        citations=[citation],
        retrieved=["pmp"],
        latency_ms=12.0,
        answerable=True,
        expected_facts=[["230 minutes"]],
        expected_sources=["pmp"],
        missed_facts=[["230 minutes"]],
        failures=["missed 1 of 1 expected facts", "1 unsupported sentence(s)"],
        metrics=CaseMetrics(
            should_decline=False,
            decline_correct=True,
            off_topic=False,
            judged=True,
            sentences=1,
            citations=1,
            cited_sentences=1,
        ),
        sentences=[bad],
    )


def test_report_highlights_unsupported_sentences_next_to_the_cited_passage() -> None:
    html = case_html(_hand_made_result())
    assert '<mark title="number 200 not in cited passage">The PMP exam has &lt;b&gt;200' in html
    assert "PMP &lt;Certification&gt;" in html and "230 minutes to finish it." in html
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "<b>200</b>" not in html
    assert "Missed facts" in html


def test_report_page_is_self_contained_and_escaped() -> None:
    summary = {m: float("nan") for m in METRICS} | {"faithfulness": 0.5, "dataset": "<d>"}
    html = render_html(
        summary,
        [_hand_made_result()],
        {"faithfulness": 0.9},
        ["faithfulness = 0.500 is below the minimum 0.9"],
        "Eval <x>",
    )
    assert html.count("<svg") == 2 and 'data-metric="faithfulness"' in html  # + lengths
    assert "n/a" in html  # NaN metrics are shown as missing, not as a 0 bar
    for external in ("<script", "<link", "src=", "@import", "url("):
        assert external not in html
    assert "Eval &lt;x&gt;" in html and "&lt;d&gt;" in html
    assert "Minimums not met" in html


# --- real runs ----------------------------------------------------------------------------

SMALL_IDS = ["guide-salary", "guide-team-members", "mt-pmp-questions", "off-worldcup", "nc-nurse"]


@pytest.fixture(scope="module")
def small_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """3 answerable cases (one a conversation) and 2 to decline, from career.jsonl. One case
    gets an extra fact no answer contains, so the report has a failing case to show."""
    rows = {json.loads(line)["id"]: json.loads(line) for line in CAREER.read_text().splitlines()}
    chosen = [rows[i] for i in SMALL_IDS]
    chosen[1]["expected_facts"] = chosen[1]["expected_facts"] + [["zebra-wrangling"]]
    chosen[3]["id"] = "off-worldcup-<&>"  # text from a dataset must be escaped in the report
    return write_jsonl(tmp_path_factory.mktemp("small") / "small.jsonl", chosen)


@pytest.fixture(scope="module")
def small_run(advisor, small_dataset: Path, tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("eval-out")
    code = run_eval_command(advisor, small_dataset, out, [])
    return code, out, json.loads((out / "results.json").read_text(encoding="utf-8"))


def _recomputed(cases: list[dict[str, Any]]) -> dict[str, float]:
    """The summary metrics, computed again from the case records alone, independently."""

    def avg(values: list[float]) -> float:
        return sum(values) / len(values) if values else float("nan")

    def first_rank(case: dict[str, Any]) -> int | None:
        ranked = list(dict.fromkeys(case["retrieved"]))
        hits = [i for i, d in enumerate(ranked, 1) if d in case["expected_sources"]]
        return hits[0] if hits else None

    def strip(answer: str) -> str:
        return re.sub(r"\s*\[\d+(?:,\s*\d+)*\]", "", answer)

    def met(answer: str, fact: list[str]) -> bool:
        text = " ".join(strip(answer).split()).lower()
        return any(" ".join(alt.split()).lower() in text for alt in fact)

    answerable = [c for c in cases if c["answerable"]]
    ret = [c for c in answerable if c["expected_sources"]]
    ranks = [first_rank(c) for c in ret]
    facts = [c for c in answerable if c["expected_facts"]]
    shares = [[met(c["answer"], f) for f in c["expected_facts"]] for c in facts]
    declined = [c for c in cases if c["declined"]]
    should = [c for c in cases if not c["answerable"]]
    sentences = [s for c in cases if not c["declined"] for s in c["sentences"]]
    citations = sum(len(s["citations"]) for s in sentences)
    latencies = [c["latency_ms"] for c in cases]
    given = [c for c in cases if not c["declined"]]
    words = [len(re.findall(r"\w+(?:['’.,/-]\w+)*", strip(c["answer"]))) for c in given]
    checked = [c for c in given if c["answerable"] and c["expected_facts"]]

    def off(case: dict[str, Any]) -> int:
        alts = [" ".join(a.split()).lower() for f in case["expected_facts"] for a in f]
        texts = [" ".join(p["text"].split()).lower() for p in case["citations"]]
        return sum(not any(a in t for a in alts) for t in texts)

    cited = sum(len(c["citations"]) for c in checked)
    segments = sum(c["metrics"]["prose_segments"] for c in given)
    return {
        "hit_at_1": avg([float(r == 1) for r in ranks]),
        "hit_at_3": avg([float(r is not None and r <= 3) for r in ranks]),
        "mrr": avg([1 / r if r else 0.0 for r in ranks]),
        "fact_recall": avg([sum(s) / len(s) for s in shares]),
        "fact_hit_rate": avg([float(all(s)) for s in shares]),
        "decline_precision": avg([float(not c["answerable"]) for c in declined]),
        "decline_recall": avg([float(c["declined"]) for c in should]),
        "answer_rate": avg([float(not c["declined"]) for c in answerable]),
        "citation_rate": avg([float(bool(s["citations"])) for s in sentences]),
        "faithfulness": avg([float(s["supported"]) for s in sentences]),
        "citation_recall": avg([float(bool(s["citations"]) and s["supported"]) for s in sentences]),
        "citation_precision": (
            sum(len(s["relevant_citations"]) for s in sentences) / citations
            if citations
            else float("nan")
        ),
        "latency_p50_ms": float(np.percentile(latencies, 50)),
        "latency_p95_ms": float(np.percentile(latencies, 95)),
        "answer_words_p50": float(np.percentile(words, 50)) if words else float("nan"),
        "answer_words_p90": float(np.percentile(words, 90)) if words else float("nan"),
        "cited_passages_mean": avg([float(len(c["citations"])) for c in given]),
        "off_point_share": sum(off(c) for c in checked) / cited if cited else float("nan"),
        "fragment_share": (
            sum(len(c["fragments"]) for c in given) / segments if segments else float("nan")
        ),
    }


@pytest.mark.slow
def test_eval_results_can_be_recomputed_from_their_cases(small_run) -> None:
    code, _, data = small_run
    assert code == 0
    summary, cases = data["summary"], data["cases"]
    assert [c["id"] for c in cases] == [*SMALL_IDS[:3], "off-worldcup-<&>", "nc-nurse"]
    assert summary["n_cases"] == 5 and summary["n_answerable"] == 3
    for case in cases:
        assert {"expected_facts", "answerable", "expected_sources", "retrieved"} <= case.keys()
        for c in case["citations"]:  # the fields of `advisor ask --json`
            assert set(c) == CITATION_FIELDS
        for s in case["sentences"]:
            assert {"text", "citations", "supported", "score"} <= s.keys()
    for name, value in _recomputed(cases).items():
        if nan(value):
            assert summary[name] is None, name
        else:
            assert summary[name] == pytest.approx(value), name
    assert cases[0]["turns"] == [cases[0]["question"]]
    assert len(cases[2]["turns"]) == 2  # the conversation: last turn scored
    assert cases[1]["missed_facts"] == [["zebra-wrangling"]]
    assert summary["fact_hit_rate"] < 1.0


@pytest.mark.slow
def test_eval_writes_a_report_with_a_chart_and_the_failing_case(small_run) -> None:
    _, out, _ = small_run
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "<svg" in html and "<script" not in html
    assert 'id="case-guide-team-members"' in html and "zebra-wrangling" in html
    assert "off-worldcup-&lt;&amp;&gt;" in html and "off-worldcup-<&>" not in html
    assert html.count("<svg") == 2  # the metrics, and the answer lengths
    assert "Most off-point passages" in html and 'data-metric="off_point_share"' in html


@pytest.mark.slow
def test_min_thresholds_set_the_exit_code(
    advisor, corpus_settings, small_run, small_dataset, tmp_path: Path
) -> None:
    summary = small_run[2]["summary"]
    value = summary["faithfulness"]
    assert run_eval_command(advisor, small_dataset, None, [f"faithfulness={value}"]) == 0

    from advisor.cli import app

    result = CliRunner().invoke(
        app,
        [
            "eval",
            "--dataset",
            str(small_dataset),
            "--min",
            f"faithfulness={value + 0.01}",
            "--min",
            f"hit@3={summary['hit_at_3']}",
        ],
        env={"ADVISOR_INDEX_DIR": str(corpus_settings.index_dir)},
    )
    assert result.exit_code == 1, result.output
    assert "Below minimum: faithfulness" in result.output
    assert "hit_at_3" not in result.output.split("Below minimum")[-1]

    with pytest.raises(ThresholdError, match="Valid metrics: hit_at_1"):
        run_eval_command(advisor, small_dataset, None, ["recall=0.5"])

    words = summary["answer_words_p50"]
    assert run_eval_command(advisor, small_dataset, None, [], [f"answer_words_p50={words}"]) == 0
    result = CliRunner().invoke(
        app,
        ["eval", "--dataset", str(small_dataset), "--max", f"answer_words_p50={words - 1}"],
        env={"ADVISOR_INDEX_DIR": str(corpus_settings.index_dir)},
    )
    assert result.exit_code == 1 and "Above maximum: answer_words_p50" in result.output


@pytest.mark.slow
def test_an_empty_dataset_gives_nan_never_a_score(advisor, tmp_path: Path) -> None:
    empty = write_jsonl(tmp_path / "empty.jsonl", [""])
    assert run_eval_command(advisor, empty, tmp_path / "out", []) == 0
    summary = json.loads((tmp_path / "out" / "results.json").read_text())["summary"]
    assert summary["n_cases"] == 0
    assert all(summary[name] is None for name in METRICS)
    assert run_eval_command(advisor, empty, None, ["faithfulness=0"]) == 1


@pytest.mark.slow
def test_a_malformed_line_is_a_clear_error_from_the_cli(
    corpus_settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from advisor.cli import app

    bad = write_jsonl(
        tmp_path / "bad.jsonl",
        [
            {"id": "a", "question": "What is the PMP?", "answerable": True},
            {"id": "b", "question": "What is Scrum?", "answerable": "yes"},
        ],
    )
    monkeypatch.delenv("ADVISOR_DEBUG", raising=False)  # as a user sees it
    result = CliRunner().invoke(
        app,
        ["eval", "--dataset", str(bad)],
        env={"ADVISOR_INDEX_DIR": str(corpus_settings.index_dir)},
    )
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert "line 2 (id 'b'): \"answerable\" must be true" in " ".join(result.output.split())


@pytest.mark.slow
def test_judge_command_scores_the_judge_on_the_labelled_cases(
    corpus_settings, tmp_path: Path
) -> None:
    assert run_judge_command(corpus_settings, JUDGE_CASES, tmp_path) == 0
    data = json.loads((tmp_path / "judge.json").read_text(encoding="utf-8"))
    summary, cases = data["summary"], data["cases"]
    assert summary["n"] == len(cases) == 146
    assert summary["accuracy"] == pytest.approx(
        sum(c["grounded"] == c["expected"] for c in cases) / len(cases)
    )
    flagged = [c for c in cases if not c["grounded"]]
    ungrounded = [c for c in cases if not c["expected"]]
    assert summary["precision"] == pytest.approx(
        sum(not c["expected"] for c in flagged) / len(flagged)
    )
    assert summary["recall"] == pytest.approx(
        sum(not c["grounded"] for c in ungrounded) / len(ungrounded)
    )
    assert {"text", "citations", "supported", "score", "reason"} <= cases[0]["sentences"][0].keys()
    assert set(summary["by_kind"]) >= {"negation", "wrong_number", "faithful_paraphrase"}


def test_llm_judge_needs_a_model_and_is_scored_like_the_offline_one(corpus_settings) -> None:
    from langchain_core.language_models import FakeListChatModel

    from advisor.errors import ConfigError
    from advisor.evaluation.commands import judge_record, make_judge
    from advisor.evaluation.dataset import JudgeCase

    with pytest.raises(ConfigError, match="ADVISOR_LLM"):
        make_judge(corpus_settings, llm_judge=True)
    reply = '[{"i": 1, "supported": false, "reason": "wrong number"}]'
    judge = make_judge(corpus_settings, True, FakeListChatModel(responses=[reply]))
    case = JudgeCase(
        id="n",
        answer="The PMP exam has 180 questions [1].",
        contexts=[PMP],
        grounded=True,
        kind="faithful_verbatim",
    )
    record = judge_record(judge, case)
    assert record["grounded"] is False and record["correct"] is False
    assert record["sentences"][0]["reason"] == "llm: wrong number"

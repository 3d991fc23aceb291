"""The CI gate: the project's own dataset through the real advisor, with thresholds that hold.

Raise a threshold when the advisor improves; never lower one to make a failing change pass.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from advisor.evaluate import run_eval_command

from .conftest import ROOT

GATES = {
    "hit_at_5": 0.95,
    "mrr": 0.85,
    "fact_recall": 0.95,
    "fact_hit_rate": 0.93,
    "decline_precision": 0.90,
    "decline_recall": 0.85,
    "answer_rate": 0.95,
    "off_topic_declined": 0.85,
    "citation_rate": 0.95,
    "faithfulness": 0.95,
    "citation_recall": 0.95,
    "citation_precision": 0.95,
}


# Precision beside recall, set by set (evals/README.md, "Focus"): each set keeps its fact hit
# rate of the day these gates were set, and may not get less focused: (fact_hit_rate at least,
# off_point_share at most, answer_words_p50 at most). Fragments stay near zero everywhere.
FOCUS_GATES = {
    "career": (0.985, 0.36, 78),
    "holdout": (0.916, 0.54, 84),
    "holdout2": (0.916, 0.54, 91),
    "holdout3": (0.944, 0.50, 88),
    "holdout4": (1.0, 0.48, 86),
    "holdout5": (0.916, 0.52, 85),
    "holdout6": (0.916, 0.50, 85),
    "holdout7": (0.916, 0.43, 85),
    "holdout8": (0.97, 0.34, 85),
    "real-formats": (0.87, 0.66, 110),
    "real-formats-holdout": (0.86, 0.70, 105),
    "real-formats-holdout2": (0.875, 0.57, 86),
    "real-formats-holdout3": (0.89, 0.65, 118),
    "real-formats-holdout4": (0.76, 0.62, 95),
    "real-formats-holdout5": (0.92, 0.56, 90),
}
MAX_FRAGMENT_SHARE = 0.02


def _focus_limits(dataset: Path) -> tuple[dict[str, float], dict[str, float]]:
    hits, off_point, words = FOCUS_GATES[dataset.stem]
    maximums = {
        "off_point_share": off_point,
        "answer_words_p50": words,
        "fragment_share": MAX_FRAGMENT_SHARE,
    }
    return {"fact_hit_rate": hits}, maximums


def _assert_gates(advisor, dataset: Path, gates: dict[str, float], out: Path) -> None:
    minimums_by_set, maximums = _focus_limits(dataset)
    gates = {k: max(v, minimums_by_set.get(k, v)) for k, v in {**minimums_by_set, **gates}.items()}
    minimums = [f"{name}={value}" for name, value in gates.items()]
    code = run_eval_command(
        advisor, dataset, out, minimums, [f"{k}={v}" for k, v in maximums.items()]
    )
    summary = json.loads((out / "results.json").read_text())["summary"]
    failing = {k: summary[k] for k, v in gates.items() if summary[k] is None or summary[k] < v}
    failing |= {k: summary[k] for k, v in maximums.items() if summary[k] is None or summary[k] > v}
    assert code == 0 and not failing, failing


def test_every_dataset_has_focus_gates() -> None:
    sets = {
        p.stem
        for p in (ROOT / "evals" / "datasets").glob("*.jsonl")
        if not p.stem.startswith("judge")
    }
    assert sets == set(FOCUS_GATES)


@pytest.mark.slow
def test_project_dataset_meets_the_gates(advisor, tmp_path: Path) -> None:
    _assert_gates(advisor, ROOT / "evals" / "datasets" / "career.jsonl", GATES, tmp_path)
    assert (tmp_path / "report.html").read_text().count("<svg") >= 1


# The held-out sets (written by separate sessions from the corpus alone; see evals/README.md).
# Each was blind for its first run only, so these gates guard against regressions, and a new
# claim about unseen questions needs a new set.
HELD_OUT_GATES = {
    "hit_at_5": 0.95,
    "fact_hit_rate": 0.88,
    "decline_precision": 0.95,
    "decline_recall": 0.75,
    "answer_rate": 0.95,
    "off_topic_declined": 0.85,
    "faithfulness": 0.95,
}
HELD_OUT = sorted((ROOT / "evals" / "datasets").glob("holdout*.jsonl"))


@pytest.mark.slow
@pytest.mark.parametrize("dataset", HELD_OUT, ids=lambda p: p.stem)
def test_held_out_datasets_meet_the_gates(advisor, tmp_path: Path, dataset: Path) -> None:
    _assert_gates(advisor, dataset, HELD_OUT_GATES, tmp_path)


# Real published documents in every format (../shared/real-formats, used in place; see its
# README), asked by evals/datasets/real-formats.jsonl. The index is built once for both sets.
REAL_FORMATS = ROOT.parent / "shared" / "real-formats"
REAL_FORMAT_GATES = {
    "hit_at_5": 0.95,
    "fact_hit_rate": 0.6,
    "decline_precision": 0.8,
    "decline_recall": 0.6,
    "answer_rate": 0.95,
    "off_topic_declined": 0.8,
    "faithfulness": 0.95,
}


@pytest.fixture(scope="module")
def real_formats_advisor(tmp_path_factory: pytest.TempPathFactory, embedder):
    if not REAL_FORMATS.is_dir():
        pytest.skip(f"{REAL_FORMATS} is not present (it sits beside the clone in CI)")
    from advisor import Advisor
    from advisor.config import Settings

    settings = Settings(
        corpus_dir=REAL_FORMATS, index_dir=tmp_path_factory.mktemp("real-formats-index")
    )
    adv = Advisor(settings, embedder=embedder)
    report = adv.index()
    assert not [p for p in report.problems if p.skipped], report.problems
    return adv


@pytest.mark.slow
@pytest.mark.parametrize(
    "dataset",
    sorted((ROOT / "evals" / "datasets").glob("real-formats*.jsonl")),
    ids=lambda p: p.stem,
)
def test_real_format_datasets_meet_the_gates(
    real_formats_advisor, tmp_path: Path, dataset: Path
) -> None:
    _assert_gates(real_formats_advisor, dataset, REAL_FORMAT_GATES, tmp_path)
    from advisor.load import load_file

    results = json.loads((tmp_path / "results.json").read_text())
    loaded: dict[str, str] = {}
    for case in results["cases"]:
        for c in case["citations"]:  # every citation is the exact span of the loaded text
            if c["source"] not in loaded:
                loaded[c["source"]] = load_file(REAL_FORMATS / c["source"], REAL_FORMATS).text
            assert c["text"] == loaded[c["source"]][c["start"] : c["end"]]

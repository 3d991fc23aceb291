"""Evals: datasets of cases, one small module per metric group, the runner and the report.

dataset.py         JSONL cases, validated line by line (DatasetError)
retrieval.py       hit@k and reciprocal rank of the expected documents
answers.py         expected facts met; decline precision / recall
grounding.py       citation rate, faithfulness, ALCE citation recall and precision
classification.py  accuracy / precision / recall / F1 of the grounding judge
metrics.py         the metric catalogue and --min thresholds
runner.py          cases through the advisor, scored, summarized
report.py          rich table and self-contained HTML report
commands.py        `advisor eval` and `advisor judge`
"""

from .commands import run_eval_command, run_judge_command
from .dataset import DatasetError, EvalCase, JudgeCase, load_eval_cases, load_judge_cases
from .metrics import METRICS, ThresholdError

__all__ = [
    "METRICS",
    "DatasetError",
    "EvalCase",
    "JudgeCase",
    "ThresholdError",
    "load_eval_cases",
    "load_judge_cases",
    "run_eval_command",
    "run_judge_command",
]

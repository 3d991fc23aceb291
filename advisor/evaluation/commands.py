"""`advisor eval` and `advisor judge`: load cases, score them, print a table, write the files."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console

from .classification import score_judge
from .dataset import JudgeCase, load_eval_cases, load_judge_cases
from .metrics import parse_maximums, parse_minimums, unmet_maximums, unmet_minimums
from .report import fmt, render_html, summary_table
from .runner import run_cases, summarize
from .stats import nan_to_none

if TYPE_CHECKING:
    from ..config import Settings
    from ..verify import GroundingJudge, LLMJudge


def _progress(console: Console, label: str) -> tuple[Any, Any]:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    bar = Progress(
        TextColumn(label),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )
    task = bar.add_task(label, total=None)
    return bar, lambda done, total: bar.update(task, completed=done, total=total)


def write_json(path: Path, data: Any) -> None:
    """JSON with NaN written as null (strict JSON has no NaN)."""
    text = json.dumps(nan_to_none(data), indent=2, ensure_ascii=False, allow_nan=False)
    path.write_text(text + "\n", encoding="utf-8")


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")  # noqa: UP017


def run_eval_command(
    advisor: Any,
    dataset: Path | None,
    out: Path | None,
    minimums: list[str],
    maximums: list[str] | None = None,
) -> int:
    """Run every case of `dataset` through `advisor`; exit code 1 when a `--min` or `--max`
    is not met."""
    from ..config import default_dataset
    from ..verify import GroundingJudge

    console, err = Console(), Console(stderr=True)
    wanted = parse_minimums(minimums)  # a typo fails now, not after the whole run
    ceilings = parse_maximums(maximums or [])
    path = dataset or default_dataset()
    cases = load_eval_cases(path)
    judge = GroundingJudge(advisor.embedder)
    bar, update = _progress(err, "eval")
    with bar:
        results = run_cases(advisor, cases, judge, progress=update)
    summary: dict[str, Any] = {
        "dataset": str(path),
        "generator": advisor.generator_name,
        "created": _now(),
        **summarize(results),
    }
    unmet = unmet_minimums(summary, wanted) + unmet_maximums(summary, ceilings)
    console.print(
        summary_table(
            summary,
            wanted,
            f"Eval of {path.name}: {len(results)} cases, {summary['n_failing']} failing",
            ceilings,
        )
    )
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        write_json(
            out / "results.json",
            {
                "summary": summary,
                "thresholds": {"minimums": wanted, "maximums": ceilings, "unmet": unmet},
                "cases": [r.model_dump() for r in results],
            },
        )
        title = f"Career advisor eval: {path.name}"
        (out / "report.html").write_text(
            render_html(summary, results, wanted, unmet, title, ceilings), encoding="utf-8"
        )
        console.print(f"Wrote {out / 'results.json'} and {out / 'report.html'}", highlight=False)
    for line in unmet:
        label = "Above maximum" if "maximum" in line else "Below minimum"
        err.print(f"[bold red]{label}:[/] {line}", highlight=False)
    return 1 if unmet else 0


def judge_record(judge: GroundingJudge | LLMJudge, case: JudgeCase) -> dict[str, Any]:
    """The judge's verdict on one labelled case, sentence by sentence."""
    judgement = judge.judge(case.answer, case.contexts)
    return {
        "id": case.id,
        "kind": case.kind,
        "grounded": judgement.grounded,
        "expected": case.grounded,
        "correct": judgement.grounded == case.grounded,
        "sentences": [
            {
                "text": s.text,
                "citations": list(s.citations),
                "supported": s.supported,
                "score": float(s.score),
                "reason": s.reason,
            }
            for s in judgement.sentences
        ],
    }


def judge_summary(path: Path, records: list[dict[str, Any]]) -> dict[str, Any]:
    """Accuracy, precision, recall and F1 of "not grounded", overall and per kind of case."""
    scores = score_judge([r["expected"] for r in records], [r["grounded"] for r in records])
    kinds: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in records:
        if r["kind"]:
            kinds[r["kind"]].append(r)
    by_kind = {
        kind: {"n": len(rs), "accuracy": sum(r["correct"] for r in rs) / len(rs)}
        for kind, rs in sorted(kinds.items())
    }
    return {"cases_file": str(path), "created": _now(), **scores.as_dict(), "by_kind": by_kind}


def make_judge(settings: Settings, llm_judge: bool = False, chat_model: Any = None) -> Any:
    """The offline `GroundingJudge`, or with `llm_judge` an `LLMJudge` asking the chat model of
    `ADVISOR_LLM` (or `chat_model`) and falling back to the offline judge per sentence."""
    from ..embed import make_embeddings
    from ..errors import ConfigError
    from ..verify import GroundingJudge, LLMJudge

    offline = GroundingJudge(make_embeddings(settings))
    if not llm_judge:
        return offline
    if chat_model is None:
        if settings.llm.strip().lower() in ("", "extractive", "none"):
            raise ConfigError(
                "--llm-judge needs a language model: set ADVISOR_LLM (e.g. openai:MODEL or "
                "ollama:MODEL); the extractive generator has none."
            )
        from ..answer.llm import make_llm

        chat_model = make_llm(settings)
    return LLMJudge(chat_model, fallback=offline)


def run_judge_command(
    settings: Settings, cases: Path, out: Path | None, llm_judge: bool = False
) -> int:
    """Score the grounding judge on labelled cases; positive class = not grounded."""
    from rich.table import Table

    console, err = Console(), Console(stderr=True)
    labelled = load_judge_cases(cases)
    judge = make_judge(settings, llm_judge)
    bar, update = _progress(err, "judge")
    records = []
    with bar:
        for i, case in enumerate(labelled):
            records.append(judge_record(judge, case))
            update(i + 1, len(labelled))
    summary = judge_summary(cases, records) | {"judge": type(judge).__name__}

    console.print(
        f"{summary['judge']} on {cases.name} (positive class: not grounded)", highlight=False
    )
    table = Table()
    for column in ("metric", "value"):
        table.add_column(column, justify="left" if column == "metric" else "right")
    for key in ("accuracy", "precision", "recall", "f1"):
        table.add_row(key, fmt(summary[key]))
    table.add_row("cases", str(summary["n"]))
    counts = [summary[k] for k in ("true_positive", "false_negative", "false_positive")]
    table.add_row("caught / missed / false alarms", " / ".join(map(str, counts)))
    for kind, row in summary["by_kind"].items():
        table.add_row(f"  accuracy on {kind}", f"{fmt(row['accuracy'])} (n={row['n']})")
    console.print(table)
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        write_json(out / "judge.json", {"summary": summary, "cases": records})
        console.print(f"Wrote {out / 'judge.json'}", highlight=False)
    return 0

"""Grounding judge latency: the offline `GroundingJudge` on real extractive answers (the advisor's
answers to eval questions, each sentence against the passages it cites), against the baseline of
embedding the same texts once with the same model (the judge's floor: it embeds claims, their
clauses and the passage sentences, then applies its rules). Each answer is judged twice: by a
fresh judge (nothing cached) and again by the same judge (passage vectors cached), as the live
LLM path does for the passages of one question.

    python benchmarks/bench_judge.py [--questions 20]
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

from _common import DATASET, emit, header, line, median, ratio


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--questions", type=int, default=20)
    args = parser.parse_args()

    from advisor import Advisor
    from advisor.verify import GroundingJudge, passage_sentences, split_sentences, strip_markers

    header("Grounding judge (offline) on real answers")
    advisor = Advisor()
    advisor.index()
    cases = [json.loads(x) for x in DATASET.read_text().splitlines() if x.strip()]
    questions = [c["question"] for c in cases if c.get("answerable") and c.get("question")]
    step = max(1, len(questions) // args.questions)
    answers = [advisor.invoke({"question": q}) for q in questions[::step][: args.questions]]
    answers = [a for a in answers if a.citations and not a.declined]

    embedder = advisor.embedder
    GroundingJudge(embedder).judge("Warm up [1].", ["Warm up."])
    fresh_s, cached_s, floor_s, sentences = [], [], [], []
    for a in answers:
        contexts = [c.text for c in a.citations]
        claims = [strip_markers(t) for t, _ in split_sentences(a.answer)]
        texts = sorted({*claims, *(s for p in contexts for s in passage_sentences(p))})
        started = time.perf_counter()
        embedder._encode_torch(texts, progress=False) if len(texts) > 8 else embedder._encode_small(
            texts
        )
        floor_s.append(time.perf_counter() - started)
        judge = GroundingJudge(embedder)
        started = time.perf_counter()
        verdict = judge.judge(a.answer, contexts)
        fresh_s.append(time.perf_counter() - started)
        started = time.perf_counter()
        judge.judge(a.answer, contexts)
        cached_s.append(time.perf_counter() - started)
        sentences.append(len(verdict.sentences))
        assert verdict.grounded, (a.question, verdict)

    res: dict[str, Any] = {
        "answers": len(answers),
        "sentences_median": median(sentences),
        "fresh_p50_s": median(fresh_s),
        "cached_p50_s": median(cached_s),
        "floor_p50_s": median(floor_s),
        "fresh_vs_floor": median([ratio(f, b) for f, b in zip(fresh_s, floor_s, strict=True)]),
    }
    line(
        f"{len(answers)} answers, median {res['sentences_median']:.0f} sentences: judge p50 "
        f"{res['fresh_p50_s'] * 1000:.1f} ms fresh, {res['cached_p50_s'] * 1000:.1f} ms with "
        f"passage vectors cached; embedding the same texts once {res['floor_p50_s'] * 1000:.1f} "
        f"ms (fresh judge = {res['fresh_vs_floor']:.2f}x that floor)"
    )
    emit("judge", res)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

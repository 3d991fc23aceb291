"""Child process of bench_memory.py: answer questions from an existing index, then print one JSON
line with the timings. Its peak resident memory is read by the parent (wait4 ru_maxrss).

    python benchmarks/_answer.py --index-dir DIR [--corpus-dir DIR] [--questions 10]
"""

from __future__ import annotations

import argparse
import json
import sys
import time

started = time.perf_counter()

from _common import questions  # noqa: E402  (sets the offline environment first)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--index-dir", required=True)
    parser.add_argument("--corpus-dir")
    parser.add_argument("--questions", type=int, default=10)
    args = parser.parse_args()

    from advisor import Advisor, Settings

    extra = {"corpus_dir": args.corpus_dir} if args.corpus_dir else {}
    settings = Settings(index_dir=args.index_dir, **extra)
    advisor = Advisor(settings)  # answers only; never re-indexes
    answers, first = 0, None
    for q in questions(args.questions):
        answer = advisor.invoke({"question": q})
        answers += bool(answer.answer)
        if first is None:
            first = time.perf_counter() - started
    chunks = advisor.searcher.view().lexical.n
    print(
        json.dumps(
            {
                "answers": answers,
                "chunks": chunks,
                "first_answer_s": first,
                "total_s": time.perf_counter() - started,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

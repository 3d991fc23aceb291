"""Dense search, exact against approximate: the in-memory matrix product the advisor uses up to
`exact_search_limit` vectors, against Chroma's HNSW graph (the baseline, same index, same run),
on the real documents of ../shared/real-formats (a workbook of 4,800 near-identical rows beside
nine prose documents: the case where HNSW lost the best passage) or, without that folder, on
the shipped corpus. Reports per-query latency of both, their ratio, HNSW's recall of the exact
top 20, and the full default answer with each.

    python benchmarks/bench_search.py [--queries 200] [--index-dir DIR]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from _common import REPO, emit, header, line, median, ratio, work_dir


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--index-dir", type=Path, help="an index to reuse (default: a new one)")
    args = parser.parse_args()

    import numpy as np

    from advisor import Advisor
    from advisor.config import Settings

    real = REPO.parent / "shared" / "real-formats"
    corpus = real if real.is_dir() else REPO / "corpus"
    header(f"Dense search, exact vs HNSW ({corpus.name})")
    with work_dir() as work:
        index = args.index_dir or Path(work) / "index"
        exact = Advisor(Settings(corpus_dir=corpus, index_dir=index))
        exact.index()
        approx = Advisor(
            exact.settings.model_copy(update={"exact_search_limit": 0}), embedder=exact.embedder
        )
        ev, av = exact.searcher.view(), approx.searcher.view()
        step = max(1, len(ev.chunks) // args.queries)
        texts = [c.text[:160] for c in ev.chunks[::step]][: args.queries]
        vectors = exact.embedder.embed(texts)
        ev.dense_search(vectors[0], 20), av.dense_search(vectors[0], 20)  # warm: vectors loaded

        def per_query(view: Any) -> list[float]:
            out = []
            for v in vectors:
                started = time.perf_counter()
                view.dense_search(v, 20)
                out.append(time.perf_counter() - started)
            return out

        exact_s, hnsw_s = per_query(ev), per_query(av)
        recall = [
            len(set(ev.dense_search(v, 20)) & set(av.dense_search(v, 20))) / 20 for v in vectors
        ]
        questions = texts[:30]
        exact.ask(questions[-1]), approx.ask(questions[-1])
        ask_exact, ask_hnsw = [], []
        for q in questions:
            for adv, out in ((exact, ask_exact), (approx, ask_hnsw)):
                started = time.perf_counter()
                adv.ask(q)
                out.append(time.perf_counter() - started)
    res: dict[str, Any] = {
        "corpus": corpus.name,
        "chunks": len(ev.chunks),
        "queries": len(vectors),
        "exact_p50_s": median(exact_s),
        "hnsw_p50_s": median(hnsw_s),
        "exact_vs_hnsw": ratio(median(exact_s), median(hnsw_s)),
        "hnsw_recall_at_20": float(np.mean(recall)),
        "hnsw_recall_min": float(min(recall)),
        "ask_exact_p50_s": median(ask_exact),
        "ask_hnsw_p50_s": median(ask_hnsw),
        "ask_exact_vs_hnsw": ratio(median(ask_exact), median(ask_hnsw)),
    }
    exact_ms, hnsw_ms = res["exact_p50_s"] * 1000, res["hnsw_p50_s"] * 1000
    line(
        f"{res['chunks']} chunks, {res['queries']} queries: exact {exact_ms:.2f} ms, HNSW "
        f"{hnsw_ms:.2f} ms ({res['exact_vs_hnsw']:.2f}x); HNSW recall of the exact top 20: "
        f"{res['hnsw_recall_at_20']:.3f} (worst query {res['hnsw_recall_min']:.2f}); full "
        f"answer {res['ask_exact_vs_hnsw']:.2f}x"
    )
    emit("search", res)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Query latency: p50/p95 of a full answer (`advisor.invoke`, default extractive generator) and of
retrieval alone (`advisor.searcher.search`) at 1k, 10k and 100k chunks, against a plain LangChain
`similarity_search(q, k=4)` on the same collection.

The indexes are built from real text (see _synthetic.py): the chunks and units of the larger corpus
(project corpus + external docs), replicated with " (copy N)" text suffixes and noisy re-normalized
vectors, written straight into a generation. The baseline is `langchain_chroma.Chroma` over that
generation's chunk collection with its own `HuggingFaceEmbeddings(model_name=<local path>)`.

Per size: the first question is timed on its own (it loads the chunk table and builds BM25), three
questions warm every path up, then each of ~30 eval questions runs the three calls in turn
(baseline, retrieval, full answer), so machine noise hits them alike. A separate cProfile pass
(not part of the timings) says where a full answer spends its time.

    python benchmarks/bench_query.py [--sizes 1000,10000,100000] [--questions 30]
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import pstats
import shutil
import sys
import time
from typing import Any

from _common import (
    emit,
    header,
    line,
    median,
    ms,
    percentile,
    questions,
    ratio,
    work_dir,
)
from _synthetic import synthetic_index


def profile_targets() -> list[tuple[str, Any]]:
    """The pieces of a full answer worth naming in a profile, as function objects."""
    from chromadb.api.models.Collection import Collection

    from advisor.answer import extractive
    from advisor.chain import Advisor
    from advisor.embed import Embedder
    from advisor.retrieve import GenerationView, LexicalIndex, Searcher
    from advisor.store import IndexStore

    return [
        ("full answer (Advisor.invoke)", Advisor.invoke),
        ("retrieval (Searcher.search)", Searcher.search),
        (
            "extractive answer (ExtractiveGenerator.generate)",
            extractive.ExtractiveGenerator.generate,
        ),
        ("query embedding (Embedder.embed)", Embedder.embed),
        ("Chroma vector queries (Collection.query)", Collection.query),
        ("Chroma reads (Collection.get)", Collection.get),
        ("index generation check (IndexStore.current_name)", IndexStore.current_name),
        ("BM25 lookup (LexicalIndex.search)", LexicalIndex.search),
        ("tokenizing (LexicalIndex.tokenize)", LexicalIndex.tokenize),
        ("  of which question minus common words", GenerationView.without_common_words),
        ("  of which unknown-name check", LexicalIndex.unknown_names),
        ("  of which unit word overlap (extractive._overlaps)", extractive._overlaps),
        ("unit fetch (extractive._fetch_units)", extractive._fetch_units),
    ]


def profile_parts(stats: pstats.Stats, calls: int) -> list[dict[str, Any]]:
    """Cumulative time per answer of each target function (all its calls)."""
    import inspect

    table = stats.stats  # type: ignore[attr-defined]
    rows = []
    for label, func in profile_targets():
        code = inspect.unwrap(func).__code__
        key = (code.co_filename, code.co_firstlineno, code.co_name)
        _cc, nc, _tt, ct, _callers = table.get(key, (0, 0, 0.0, 0.0, {}))
        rows.append(
            {"part": label, "ms_per_answer": ct / calls * 1000, "calls_per_answer": nc / calls}
        )
    return rows


def forget(advisor: Any) -> None:
    """Drop the embedder's remembered query vectors, so every timed call embeds its question
    (the retrieval call would otherwise hand the full answer its vectors for free)."""
    advisor.embedder._recent.clear()


def measure_size(n: int, work: Any, qs: list[str], hf: Any) -> dict[str, Any]:
    import torch
    from langchain_chroma import Chroma

    from advisor import Advisor

    header(f"Query latency at {n:,} chunks")
    settings, built = synthetic_index(work, n)
    shutil.rmtree(settings.tables_path, ignore_errors=True)  # a first process ever
    advisor = Advisor(settings)
    advisor.embedder.embed(["warm up"])
    started = time.perf_counter()
    first_answer = advisor.invoke({"question": qs[0]})
    first = time.perf_counter() - started
    gen = advisor.searcher.view().generation
    units_count = gen.units.count()
    line(
        f"first answer, tables built from the index and saved: {ms(first)}; "
        f"{units_count:,} units"
    )
    assert first_answer.answer
    # what every later process pays: the saved tables are loaded (a new Advisor = a new view)
    again = Advisor(settings, embedder=advisor.embedder)
    forget(again)
    started = time.perf_counter()
    assert again.invoke({"question": qs[0]}).answer == first_answer.answer
    first_saved = time.perf_counter() - started
    line(f"first answer, saved tables loaded: {ms(first_saved)}")
    del again

    baseline = Chroma(
        client=advisor.store.client,
        collection_name=gen.chunks.name,
        embedding_function=hf,
        create_collection_if_not_exists=False,
    )
    for q in qs[:3]:  # warm-up
        baseline.similarity_search(q, k=4)
        advisor.searcher.search(q)
        advisor.invoke({"question": q})

    def timed_pass(advisor: Any, baseline: Any) -> tuple[dict[str, list[float]], int]:
        """Each question through the baseline, retrieval and a full answer, in turn."""
        times: dict[str, list[float]] = {"baseline": [], "search": [], "invoke": []}
        declined = 0
        for q in qs:
            started = time.perf_counter()
            baseline.similarity_search(q, k=4)
            times["baseline"].append(time.perf_counter() - started)
            forget(advisor)
            started = time.perf_counter()
            advisor.searcher.search(q)
            times["search"].append(time.perf_counter() - started)
            forget(advisor)
            started = time.perf_counter()
            answer = advisor.invoke({"question": q})
            times["invoke"].append(time.perf_counter() - started)
            declined += answer.declined
        return times, declined

    times, declined = timed_pass(advisor, baseline)

    threads = torch.get_num_threads()  # process-wide: the baseline ran with it too

    profiler = cProfile.Profile()
    profiler.enable()
    for q in qs:
        forget(advisor)
        advisor.invoke({"question": q})
    profiler.disable()
    parts = profile_parts(pstats.Stats(profiler), len(qs))

    res: dict[str, Any] = {
        "chunks": n,
        "units": units_count,
        "build": built,
        "questions": len(qs),
        "declined": declined,
        "first_answer_s": first,
        "first_answer_saved_tables_s": first_saved,
        "profile": parts,
    }
    for key, values in times.items():
        res[f"{key}_p50_s"] = percentile(values, 50)
        res[f"{key}_p95_s"] = percentile(values, 95)
    for key in ("search", "invoke"):
        res[f"{key}_p50_vs_baseline"] = ratio(res[f"{key}_p50_s"], res["baseline_p50_s"])
        res[f"{key}_p95_vs_baseline"] = ratio(res[f"{key}_p95_s"], res["baseline_p95_s"])
    res["torch_threads"] = threads
    # the per-question ratio, median over questions: robust to noise that spans a question
    res["invoke_vs_baseline_median_pairwise"] = median(
        [ratio(a, b) for a, b in zip(times["invoke"], times["baseline"], strict=True)]
    )
    line(
        f"baseline similarity_search(k=4): p50 {ms(res['baseline_p50_s'])}, "
        f"p95 {ms(res['baseline_p95_s'])}"
    )
    line(
        f"retrieval (searcher.search):     p50 {ms(res['search_p50_s'])}, p95 "
        f"{ms(res['search_p95_s'])}"
        f"  ({res['search_p50_vs_baseline']:.1f}x / {res['search_p95_vs_baseline']:.1f}x the "
        "baseline)"
    )
    line(
        f"full answer (invoke):            p50 {ms(res['invoke_p50_s'])}, p95 "
        f"{ms(res['invoke_p95_s'])}"
        f"  ({res['invoke_p50_vs_baseline']:.1f}x / {res['invoke_p95_vs_baseline']:.1f}x the "
        "baseline)"
        f"; {declined}/{len(qs)} declined"
    )
    line(f"torch intra-op threads after the run (process-wide, baseline included): {threads}")
    line("where a full answer spends its time (cProfile pass, cumulative ms per answer):")
    for row in parts:
        line(
            f"  {row['part']:<52} {row['ms_per_answer']:8.1f} ms  "
            f"({row['calls_per_answer']:.1f} calls)"
        )

    del baseline, advisor
    gc.collect()
    return res


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--questions", type=int, default=30)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]

    from langchain_huggingface import HuggingFaceEmbeddings

    from advisor import Settings

    qs = questions(args.questions)
    hf = HuggingFaceEmbeddings(model_name=str(Settings().embedding_path))
    hf.embed_query("warm up")
    results = []
    with work_dir() as work:
        for n in sizes:
            try:
                results.append(measure_size(n, work, qs, hf))
            except Exception as exc:  # report it and go on with the other sizes
                error = f"{type(exc).__name__}: {str(exc)[:300]}"
                line(f"FAILED at {n:,} chunks: {error}")
                results.append({"chunks": n, "error": error})
    built = next((r["build"] for r in results if "build" in r), {})
    base = {"base_chunks": built.get("base_chunks"), "base_units": built.get("base_units")}
    emit("query", {"sizes": results, **base})
    return 0


if __name__ == "__main__":
    sys.exit(main())

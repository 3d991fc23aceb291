"""Run every benchmark and rewrite benchmarks/RESULTS.md with the figures they printed, the
targets (PASS/FAIL) and the machine they ran on. `make bench` runs this.

    python benchmarks/run_all.py [--only index,query,memory,startup] [--no-write] [--render-only]

With --only, the other benchmarks' figures are kept from the RESULTS.md being replaced (each
benchmark's line in its header says when it ran).

Each benchmark is its own script, run in its own process (so one's memory and threads do not
disturb the next), in the order index -> query -> memory -> startup. They share one temporary work
folder (the larger corpus and its index, the 100k-chunk index), removed at the end.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
import zlib
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import BENCH_DIR, PYTHON, REPO, RESULT_PREFIX, machine_info, temp_dir  # noqa: E402

BENCHMARKS = {  # name -> (script, time limit in seconds)
    "index": ("bench_index.py", 1200),
    "query": ("bench_query.py", 2400),
    "memory": ("bench_memory.py", 1200),
    "startup": ("bench_startup.py", 900),
    "judge": ("bench_judge.py", 600),
    "search": ("bench_search.py", 1200),
}
RESULTS = BENCH_DIR / "RESULTS.md"
RAW_PREFIX = "<!-- raw results: "


def run_one(name: str, work: Path) -> dict[str, Any]:
    """Run one script, echoing its output live; return its printed lines and parsed result."""
    script, limit = BENCHMARKS[name]
    env = {**os.environ, "ADVISOR_BENCH_WORK": str(work), "PYTHONUNBUFFERED": "1"}
    started = time.monotonic()
    proc = subprocess.Popen(
        [PYTHON, str(BENCH_DIR / script)],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group: a time-out ends its children too
    )
    assert proc.stdout is not None
    lines: list[str] = []
    result: dict[str, Any] | None = None

    def kill_group() -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)

    timer = threading.Timer(limit, kill_group)
    timer.start()
    try:
        for raw in proc.stdout:
            text = raw.rstrip("\n")
            if text.startswith(RESULT_PREFIX):
                result = json.loads(text[len(RESULT_PREFIX) :])
                continue
            print(text, flush=True)
            lines.append(text)
        code = proc.wait()
    except BaseException:
        kill_group()
        proc.wait()
        raise
    finally:
        timer.cancel()
    seconds = time.monotonic() - started
    finished = time.strftime("%Y-%m-%d %H:%M")
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    status = "ok" if code == 0 and result is not None else f"failed (exit {code})"
    if seconds >= limit:
        status = f"killed after its {limit} s limit"
    return {
        "status": status,
        "seconds": seconds,
        "finished": finished,
        "load_at_end": load,
        "lines": lines,
        "result": result,
    }


# --- RESULTS.md ---------------------------------------------------------------------------
def verdict(value: float | None, limit: float) -> str:
    if value is None or value != value:
        return "n/a"
    if value <= limit:
        return f"**PASS** ({value / limit:.2f}x the limit)"
    return f"**FAIL** ({value / limit:.2f}x the limit)"


def f2(x: float) -> str:
    return f"{x:.2f}"


def ms(x: float) -> str:
    return f"{x * 1000:.1f} ms"


def index_section(r: dict[str, Any]) -> list[str]:
    out = [
        "## Index build",
        "",
        "Model loaded and warm in every case; medians over the rounds; every ratio is taken within "
        "a round (same machine state) and then the median of those. Floors are "
        "`SentenceTransformer.encode` of exactly the texts the build embeds, same model and batch "
        "size, run just before and just after the build and averaged. The LangChain baseline "
        "splits into 500-character chunks (so its chunk count differs): compare KiB/s and the "
        "time ratio.",
        "",
        "| corpus | chunks (+units) | ours | floor: chunks only | floor: chunks + units | "
        "LangChain baseline | build / floor (chunks) | build / floor (chunks+units) | "
        "build / baseline | re-index unchanged |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    corpora = [r[key] for key in ("small", "large", "real") if r.get(key)]
    for c in corpora:
        out.append(
            f"| {c['corpus']}, {c['kib']:.0f} KiB, {c['rounds']} round(s) | {c['chunks']} "
            f"(+{c['units']}) | {c['build_chunks_per_s']:.2f} chunks/s ({c['build_s']:.1f} s, "
            f"{c['kib_per_s']:.2f} KiB/s) | {c['floor_chunks_per_s']:.2f} chunks/s "
            f"({c['floor_chunks_s']:.1f} s) | {c['floor_all_chunks_per_s']:.2f} chunks/s "
            f"({c['floor_all_s']:.1f} s) | {c['baseline_chunks_per_s']:.2f} chunks/s "
            f"({c['baseline_chunks']} chunks, {c['baseline_s']:.1f} s, "
            f"{c['baseline_kib_per_s']:.2f} KiB/s) | {f2(c['ratio_build_vs_floor_chunks'])}x | "
            f"{f2(c['ratio_build_vs_floor_all'])}x | {f2(c['ratio_build_vs_baseline'])}x | "
            f"{c['reindex_s'] * 1000:.1f} ms = {c['reindex_share'] * 100:.2f}% of a build |"
        )
    out += [
        "",
        "The same build / floor ratios in CPU time of the benchmark process (user + system, "
        "all threads), which other processes disturb less than wall time:",
        "",
        "| corpus | build / floor (chunks), CPU | build / floor (chunks + units), CPU |",
        "|---|---|---|",
        *[
            f"| {c['corpus']} | {c['cpu_ratio_build_vs_floor_chunks']:.2f}x | "
            f"{c['cpu_ratio_build_vs_floor_all']:.2f}x |"
            for c in corpora
        ],
        "",
        "Where a build's time goes (the stages timed alone, same rounds):",
        "",
        "| corpus | build | embedding (floor, chunks + units) | load + split | Chroma writes "
        "| rest |",
        "|---|---|---|---|---|---|",
    ]
    for c in corpora:
        out.append(
            f"| {c['corpus']} | {c['build_s']:.1f} s | {c['floor_all_s']:.1f} s | "
            f"{c['load_split_s']:.2f} s | {c['writes_s']:.2f} s | {c['unexplained_s']:.2f} s |"
        )
    return out + [""]


def query_section(r: dict[str, Any]) -> list[str]:
    out = [
        "## Query latency",
        "",
        f"How the indexes were built: the base set is a real build of the larger corpus "
        f"(`corpus/` + ../shared/external-docs: {r['base_chunks']} chunks, {r['base_units']} "
        "units). Each size holds copy 0 (the base set unchanged) and copies 1..N of it as virtual "
        'documents `copies/NNNN/<file>`: chunk texts end with " (copy N)", units keep their '
        "text, and every vector (chunk and unit) is the base vector plus Gaussian noise of norm "
        "~0.1, re-normalized (cosine to the original ~0.995). They are written straight into a "
        "generation with `IndexStore.create(index_spec(settings, embedder), manifest)` (a manifest "
        "entry per virtual document), `chunks.add`/`units.add` in batches of at most "
        "`client.get_max_batch_size()` (same id scheme and metadata keys as a build), then "
        "`store.switch_to`; the Advisor answers from them as from a built index. Near-copies "
        "crowd the top results at large sizes, so answers there quote copies of the same passage.",
        "",
        "Each size: one untimed warm-up pass (3 questions), then 30 eval questions "
        "(`evals/datasets/career.jsonl`, spread over the file), each running the baseline "
        "`Chroma.similarity_search(q, k=4)` (plain `langchain_chroma` over the same chunk "
        "collection, its own `HuggingFaceEmbeddings`), `advisor.searcher.search(q)` and "
        "`advisor.invoke({'question': q})` in turn.",
        "",
        "| chunks (units) | baseline p50 / p95 | retrieval p50 / p95 | retrieval / baseline "
        "(p50, p95) | full answer p50 / p95 | full answer / baseline (p50, p95) | first answer: "
        "tables built and saved / saved tables loaded | synthetic index written in |",
        "|---|---|---|---|---|---|---|---|",
    ]
    ok = [s for s in r["sizes"] if "error" not in s]
    for s in r["sizes"]:
        if "error" in s:
            out.append(f"| {s['chunks']:,} | **failed**: `{s['error']}` | | | | | | |")
            continue
        built = s["build"]
        how = f"{built['seconds']:.0f} s ({built['records_per_s']:.0f} records/s)"
        if built.get("reused"):
            how = f"cached; {how} when written"
        out.append(
            f"| {s['chunks']:,} ({s['units']:,}) | {ms(s['baseline_p50_s'])} / "
            f"{ms(s['baseline_p95_s'])} | {ms(s['search_p50_s'])} / {ms(s['search_p95_s'])} | "
            f"{s['search_p50_vs_baseline']:.1f}x, {s['search_p95_vs_baseline']:.1f}x | "
            f"{ms(s['invoke_p50_s'])} / {ms(s['invoke_p95_s'])} | "
            f"{s['invoke_p50_vs_baseline']:.1f}x, {s['invoke_p95_vs_baseline']:.1f}x | "
            f"{ms(s['first_answer_s'])} / {ms(s.get('first_answer_saved_tables_s', float('nan')))} "
            f"| {how} |"
        )
    threads = {s.get("torch_threads") for s in ok}
    out += [
        "",
        f"torch intra-op threads in effect: {', '.join(map(str, sorted(threads)))} (used by the "
        "baseline's `HuggingFaceEmbeddings`; the advisor embeds questions with its ONNX export "
        "on one onnxruntime thread). Timed calls start with the advisor's remembered query "
        "vectors cleared, so each one embeds its question. The first answer of a process "
        "builds the chunk table and BM25 from the index and saves them under "
        "`index_dir/tables/<generation>/`; later processes load them.",
    ]
    out += [
        "",
        "Where a full answer spends its time (a separate cProfile pass over the same 30 questions; "
        "cumulative ms per answer, so nested rows overlap; profiling inflates Python-heavy parts):",
        "",
        "| part | " + " | ".join(f"{s['chunks']:,}" for s in ok) + " |",
        "|---|" + "---|" * len(ok),
    ]
    labels = [p["part"] for p in ok[0]["profile"]] if ok else []
    for i, label in enumerate(labels):
        cells = []
        for s in ok:
            p = s["profile"][i]
            cells.append(f"{p['ms_per_answer']:.1f} ({p['calls_per_answer']:.1f} calls)")
        out.append(f"| {label.strip()} | " + " | ".join(cells) + " |")
    return out + [""]


def memory_section(r: dict[str, Any]) -> list[str]:
    torch = r["import_torch_mib"]
    small, big, ui = r["answer_default"], r["answer_100k"], r["ui"]
    n = r.get("questions", 10)
    out = [
        "## Memory",
        "",
        "Peak resident set of each child process (its own `ru_maxrss`, read with `wait4`).",
        "",
        "| process | peak RSS | vs `import torch` | vs answering from the shipped corpus |",
        "|---|---|---|---|",
        f"| `python -c 'import torch'` (baseline) | {torch:.0f} MiB | 1.00x | |",
        f"| answering {n} questions from the shipped corpus ({small['chunks']} chunks) | "
        f"{small['peak_rss_mib']:.0f} MiB | {small['peak_rss_mib'] / torch:.2f}x | 1.00x |",
    ]
    if ui.get("status") == "ok":
        out.append(
            f"| `advisor ui` serving the shipped corpus, after {ui['questions']} answers | "
            f"{ui['peak_rss_mib']:.0f} MiB | {ui['peak_rss_mib'] / torch:.2f}x | "
            f"{ui['peak_rss_mib'] / small['peak_rss_mib']:.2f}x |"
        )
    else:
        out.append(f"| `advisor ui` | pending: {ui.get('error', '')} | | |")
    if "error" in big:
        out.append(f"| answering from the 100k-chunk index | **failed**: `{big['error']}` | | |")
        return out + [""]
    out.append(
        f"| answering {n} questions from the {big['chunks']:,}-chunk index | "
        f"{big['peak_rss_mib']:.0f} MiB | {big['peak_rss_mib'] / torch:.2f}x | "
        f"{big['peak_rss_mib'] / small['peak_rss_mib']:.2f}x |"
    )
    out += [
        "",
        f"A new process's first answer: {big['first_answer_s']:.1f} s from the 100k index, "
        f"{small['first_answer_s']:.1f} s from the shipped corpus (imports, model, the saved "
        "chunk table and BM25).",
        "",
    ]
    return out


def judge_section(r: dict[str, Any]) -> list[str]:
    return [
        "## Grounding judge",
        "",
        f"The offline `GroundingJudge` on {r['answers']} real extractive answers (median "
        f"{r['sentences_median']:.0f} sentences), each sentence against the passages it cites.",
        "",
        "| judge, fresh (nothing cached) | judge, passage vectors cached | floor: embedding the "
        "same texts once | fresh / floor |",
        "|---|---|---|---|",
        f"| {r['fresh_p50_s'] * 1000:.1f} ms | {r['cached_p50_s'] * 1000:.1f} ms | "
        f"{r['floor_p50_s'] * 1000:.1f} ms | {r['fresh_vs_floor']:.2f}x |",
        "",
    ]


def search_section(r: dict[str, Any]) -> list[str]:
    return [
        "## Dense search: exact against HNSW",
        "",
        f"{r['queries']} queries on {r['corpus']} ({r['chunks']} chunks), the same index; the "
        "full answers differ in what they quote (exact search finds other passages), so their "
        "times compare two answers, not two searches.",
        "",
        "| exact, per query | HNSW, per query | exact / HNSW | HNSW recall of the exact top 20 "
        "(worst query) | full answer, exact / HNSW |",
        "|---|---|---|---|---|",
        f"| {r['exact_p50_s'] * 1000:.2f} ms | {r['hnsw_p50_s'] * 1000:.2f} ms | "
        f"{r['exact_vs_hnsw']:.2f}x | {r['hnsw_recall_at_20']:.3f} ({r['hnsw_recall_min']:.2f}) | "
        f"{r['ask_exact_vs_hnsw']:.2f}x |",
        "",
    ]


def startup_section(r: dict[str, Any]) -> list[str]:
    a, ui = r["ask"], r["ui"]
    out = [
        "## Start-up",
        "",
        f'`advisor ask "..."` in a new process with the index built, until the answer is printed '
        f"(first byte on stdout); interleaved with the baselines, median of {a['runs']} (plus one "
        "untimed run first).",
        "",
        "| command | median | ratio |",
        "|---|---|---|",
        f"| `python -c pass` | {a['pass_s']:.2f} s | |",
        f"| `python -c 'import torch'` | {a['import_torch_s']:.2f} s | |",
    ]
    if "import_onnx_s" in a:
        out.append(
            f"| `python -c 'import onnxruntime, tokenizers'` (what the question path "
            f"imports in place of torch) | {a['import_onnx_s']:.2f} s | |"
        )
    out += [
        f"| `advisor ask` to the printed answer | {a['ask_answer_s']:.2f} s | "
        f"{a['ask_vs_torch']:.2f}x `import torch`, {a['ask_vs_pass']:.0f}x `pass` |",
        f"| `advisor ask` to exit | {a['ask_exit_s']:.2f} s | |",
    ]
    if ui.get("status") == "ok":
        out.append(
            f"| `advisor ui --port P` until gradio_client gets an answer (median of {ui['runs']}) "
            f"| {ui['ui_answer_s']:.2f} s | {ui['ui_vs_ask']:.2f}x `advisor ask`, "
            f"{ui['ui_vs_torch']:.1f}x `import torch` |"
        )
    else:
        out.append(f"| `advisor ui --port P` | pending: {ui.get('error', '')} | |")
    out += ["", "Steps of one cold `advisor ask` (the CLI's own calls, timed one by one):", ""]
    out += ["| step | seconds |", "|---|---|"]
    out += [f"| {label} | {seconds:.2f} |" for label, seconds in a["steps"]]
    out += ["", "Largest top-level imports (`python -X importtime`, which inflates them):", ""]
    out += ["| module | seconds |", "|---|---|"]
    out += [f"| {name} | {seconds:.2f} |" for name, seconds in a["imports"][:8]]
    return out + [""]


def targets(results: dict[str, Any]) -> list[str]:
    rows = []
    idx = results.get("index", {}).get("result")
    if idx:
        for c in [idx[key] for key in ("large", "small") if idx.get(key)]:
            rows.append(
                (
                    f"Index build within 1.2x of the raw embedding time ({c['corpus']}; floor = "
                    "chunks + units, the embedding the build does)",
                    f"{c['ratio_build_vs_floor_all']:.2f}x",
                    verdict(c["ratio_build_vs_floor_all"], 1.2),
                )
            )
            rows.append(
                (
                    f"Index build within 1.2x of the raw embedding time ({c['corpus']}; floor = "
                    "chunks + units; CPU time of the process instead of wall time)",
                    f"{c['cpu_ratio_build_vs_floor_all']:.2f}x",
                    verdict(c["cpu_ratio_build_vs_floor_all"], 1.2),
                )
            )
            rows.append(
                (
                    f"Index build within 1.2x of the raw embedding time ({c['corpus']}; floor = "
                    "chunks only)",
                    f"{c['ratio_build_vs_floor_chunks']:.2f}x",
                    verdict(c["ratio_build_vs_floor_chunks"], 1.2),
                )
            )
        for c in [idx[key] for key in ("small", "large") if idx.get(key)]:
            rows.append(
                (
                    f"Re-indexing an unchanged corpus under 2% of a build ({c['corpus']})",
                    f"{c['reindex_share'] * 100:.2f}%",
                    verdict(c["reindex_share"] * 100, 2.0),
                )
            )
    q = results.get("query", {}).get("result")
    if q:
        for size, limit in ((10_000, 0.050), (100_000, 0.150)):
            match = [s for s in q["sizes"] if s["chunks"] == size]
            if not match:
                continue
            m = match[0]
            label = f"Full default answer p50 under {limit * 1000:.0f} ms at {size:,} chunks"
            if "error" in m:
                rows.append((label, f"no answer: `{m['error']}`", "**FAIL** (cannot answer)"))
            else:
                rows.append((label, ms(m["invoke_p50_s"]), verdict(m["invoke_p50_s"], limit)))
    s = results.get("startup", {}).get("result")
    if s:
        rows.append(
            (
                "`advisor ask` cold start under 5 s",
                f"{s['ask']['ask_answer_s']:.2f} s",
                verdict(s["ask"]["ask_answer_s"], 5.0),
            )
        )
    out = ["## Targets", "", "| target | measured | verdict |", "|---|---|---|"]
    out += [f"| {a} | {b} | {c} |" for a, b, c in rows]
    return out + [""]


def write_results(results: dict[str, Any], before: dict[str, Any], after_load: list[float]) -> None:
    m = before
    out = [
        "# Benchmark results",
        "",
        "Written by `make bench` (`python benchmarks/run_all.py`); do not edit by hand. What each "
        "benchmark does and how to run one alone: [README.md](README.md).",
        "",
        f"- Date: {m['date']}",
        f"- Machine: {m['cpu_model']}, {m['cores']} cores ({m['usable_cores']} usable), "
        f"{m['memory_gib']} GiB memory",
        f"- Load average (1, 5, 15 min) at the start: {', '.join(map(str, m['load_average']))}; "
        f"at the end: {', '.join(f'{x:.2f}' for x in after_load)} (a shared machine: read the "
        "ratios against baselines measured in the same run, not the absolute times)",
        f"- Python {m['python']}; " + ", ".join(f"{k} {v}" for k, v in m["versions"].items()),
        "- Benchmarks: "
        + "; ".join(
            f"{name} {r['status']} in {r['seconds'] / 60:.1f} min"
            + (f" (finished {r['finished']}, load {r['load_at_end']})" if "finished" in r else "")
            for name, r in results.items()
        ),
        "",
    ]
    out += targets(results)
    sections = {
        "index": index_section,
        "query": query_section,
        "memory": memory_section,
        "startup": startup_section,
        "judge": judge_section,
        "search": search_section,
    }
    for name, make in sections.items():
        r = results.get(name)
        if r is None:
            continue
        if r["result"] is None:
            out += [f"## {name}", "", f"Did not finish: {r['status']}.", ""]
            continue
        out += make(r["result"])
    out += ["## What the scripts printed", ""]
    for name, r in results.items():
        out += [f"### {BENCHMARKS[name][0]}", "", "```text", *r["lines"], "```", ""]
    raw = json.dumps({"machine": before, "load_after": after_load, "results": results})
    packed = base64.b64encode(zlib.compress(raw.encode())).decode()
    out += [f"{RAW_PREFIX}{packed} -->", ""]  # for --render-only
    RESULTS.write_text("\n".join(out))


def load_raw() -> dict[str, Any]:
    """The raw results saved at the end of RESULTS.md."""
    text = RESULTS.read_text()
    start = text.rindex(RAW_PREFIX) + len(RAW_PREFIX)
    packed = text[start : text.index(" -->", start)]
    return dict(json.loads(zlib.decompress(base64.b64decode(packed))))


def render_only() -> None:
    """Rewrite RESULTS.md from the raw results saved at its end (after changing this file)."""
    raw = load_raw()
    write_results(raw["results"], raw["machine"], raw["load_after"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", default=",".join(BENCHMARKS), help="comma-separated names")
    parser.add_argument("--no-write", action="store_true", help="do not rewrite RESULTS.md")
    parser.add_argument(
        "--render-only", action="store_true", help="re-render RESULTS.md from its saved raw data"
    )
    args = parser.parse_args()
    if args.render_only:
        render_only()
        return 0
    names = [n.strip() for n in args.only.split(",") if n.strip()]
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark(s) {unknown}; choose from {list(BENCHMARKS)}")

    before = machine_info()
    print(
        f"Machine: {before['cpu_model']}, {before['cores']} cores, {before['memory_gib']} GiB, "
        f"load {before['load_average']}, {before['date']}",
        flush=True,
    )
    results: dict[str, Any] = {}
    started = time.monotonic()
    with temp_dir("run-all") as work:
        for name in [n for n in BENCHMARKS if n in names]:
            print(f"\n##### {name} ({BENCHMARKS[name][0]})", flush=True)
            results[name] = run_one(name, work)
            print(
                f"##### {name}: {results[name]['status']} in {results[name]['seconds']:.0f} s",
                flush=True,
            )
    print(f"\nAll benchmarks: {(time.monotonic() - started) / 60:.1f} min", flush=True)
    if not args.no_write:
        if (
            set(names) != set(BENCHMARKS)
            and RESULTS.is_file()
            and RAW_PREFIX in RESULTS.read_text()
        ):
            # a subset was run: keep the other benchmarks' figures from the last full run
            previous = load_raw()
            kept = {k: v for k, v in previous["results"].items() if k not in results}
            results = {k: {**kept, **results}[k] for k in BENCHMARKS if k in {**kept, **results}}
            before, after = previous["machine"], previous["load_after"]
        else:
            after = list(os.getloadavg())
        write_results(results, before, after)
        print(f"Wrote {RESULTS.relative_to(REPO)}", flush=True)
    return 0 if all(r["status"] == "ok" for r in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())

"""Index build: chunks per second of a full build, against the raw embedding floor and a plain
LangChain baseline, plus re-indexing an unchanged corpus as a share of a build.

For each corpus (the shipped `corpus/`, a larger one: `corpus/` plus ../shared/external-docs
copied to a temp folder, and the real PDF, DOCX, PPTX, HTML and XLSX files of
../shared/real-formats in place), every round measures, with the model already loaded and warm:

- ours: `build_index` into an empty index folder (load -> split -> embed chunks and units -> store);
- floor (chunks): `SentenceTransformer.encode` of the same chunk embed-texts, same model, same
  batch size, nothing else, run just before and just after the build and averaged;
- floor (chunks + units): the same plus the unit texts (and question hints) the build also
  embeds for the extractive answer (the embedding work our build actually does);
- LangChain baseline: `RecursiveCharacterTextSplitter(chunk_size=500, chunk_overlap=50)` +
  `Chroma.from_documents` with `HuggingFaceEmbeddings(model_name=<local model path>)`, into a
  temp folder, from the same loaded texts;
- re-index: `build_index` again on the unchanged corpus (median of 5).

Ratios are taken within each round and their median reported, in wall time and also in this
process's CPU time (which other processes on a shared machine disturb less).

It also times the build's non-embedding stages alone (load + split; the Chroma writes of
`_add_chunks`, replaying the vectors) so the overhead over the floor can be attributed.

    python benchmarks/bench_index.py [--rounds-small 3] [--rounds-large 3] [--rounds-real 1]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from _common import (
    REPO,
    corpus_bytes,
    emit,
    fmt_s,
    header,
    line,
    median,
    ratio,
    temp_dir,
    work_dir,
)
from _synthetic import large_settings


def chunk_and_unit_texts(settings: Any, embedder: Any) -> tuple[list[Any], list[str], list[str]]:
    """What a build embeds: the chunks' embed texts, then their units' texts and their
    question hints (front matter `questions`), which the build embeds beside the units."""
    from advisor.index import index_spec, unit_entries
    from advisor.load import load_corpus
    from advisor.split import split_document

    spec = index_spec(settings, embedder)
    docs, _ = load_corpus(settings.corpus_dir, settings.exclude, settings.max_file_mb)
    chunks = [
        c
        for d in docs
        for c in split_document(
            d, embedder.count_tokens, spec.chunk_tokens, settings.chunk_overlap_tokens
        )
    ]
    units = [e.embed_text for c in chunks for e in unit_entries(c)]
    return chunks, [c.embed_text for c in chunks], units


# torch's intra-op threads at start-up. The advisor's Embedder switches to one thread for a
# query's few texts and back to this for index batches; the floors and the baseline call the
# model directly, so they set it themselves (the setting is process-wide).
BUILD_THREADS: int = 0


def use_build_threads() -> None:
    import torch

    torch.set_num_threads(BUILD_THREADS)


def raw_encode(embedder: Any, texts: list[str]) -> tuple[float, float, np.ndarray]:
    """Wall and CPU seconds of encoding `texts`, and the vectors."""
    use_build_threads()
    started, cpu = time.perf_counter(), time.process_time()
    vectors = embedder.model.encode(
        texts,
        batch_size=embedder.batch_size,
        normalize_embeddings=True,
        convert_to_numpy=True,
        show_progress_bar=False,
    )
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    return wall, cpu, np.asarray(vectors, dtype=np.float32)


class ReplayEmbedder:
    """Returns vectors computed earlier, so `_add_chunks` can be timed without the model."""

    def __init__(self, texts: list[str], vectors: np.ndarray) -> None:
        self.cache = dict(zip(texts, vectors, strict=True))

    def embed(self, texts: list[str]) -> np.ndarray:
        return np.stack([self.cache[t] for t in texts])

    def embed_passages(self, texts: list[str]) -> np.ndarray:  # what `_add_chunks` calls
        return self.embed(texts)


def langchain_baseline(settings: Any, hf: Any, folder: Path) -> tuple[float, int]:
    """The plain pipeline: load, 500/50 character splitter, Chroma.from_documents."""
    from langchain_chroma import Chroma
    from langchain_core.documents import Document
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    from advisor.load import load_corpus

    use_build_threads()
    started = time.perf_counter()
    docs, _ = load_corpus(settings.corpus_dir, settings.exclude, settings.max_file_mb)
    splitter = RecursiveCharacterTextSplitter(chunk_size=500, chunk_overlap=50)
    pieces = splitter.split_documents(
        [Document(page_content=d.text, metadata={"source": d.source}) for d in docs]
    )
    store = Chroma.from_documents(
        pieces, hf, persist_directory=str(folder), collection_name="baseline"
    )
    seconds = time.perf_counter() - started
    del store
    return seconds, len(pieces)


def one_corpus(
    name: str, settings_for: Any, rounds: int, embedder: Any, hf: Any, keep_index: Path | None
) -> dict[str, Any]:
    from advisor.index import _add_chunks, build_index
    from advisor.store import open_store

    header(f"Index build: {name}")
    probe = settings_for(Path("/nonexistent"))
    chunks, chunk_texts, unit_texts = chunk_and_unit_texts(probe, embedder)
    kib = corpus_bytes(probe.corpus_dir) / 1024
    line(
        f"corpus {probe.corpus_dir} ({kib:.0f} KiB): {len(chunks)} chunks, {len(unit_texts)} units"
    )

    rows: list[dict[str, float]] = []
    for r in range(rounds):
        with temp_dir("index") as tmp:
            last = r == rounds - 1 and keep_index is not None
            index_dir = keep_index if last else tmp / "index"
            if last and keep_index is not None:
                shutil.rmtree(keep_index, ignore_errors=True)
            settings = settings_for(index_dir)
            store = open_store(settings)
            # the floors bracket the build (before and after, averaged), so a change in the
            # machine's load during the round weighs on both sides alike
            before = [raw_encode(embedder, chunk_texts), raw_encode(embedder, unit_texts)]
            started, cpu = time.perf_counter(), time.process_time()
            report = build_index(settings, embedder, store)
            build, build_cpu = time.perf_counter() - started, time.process_time() - cpu
            assert report.wrote and report.added == len(chunks), (report.added, len(chunks))

            reindex = []
            for _ in range(5):
                started = time.perf_counter()
                again = build_index(settings, embedder, store)
                reindex.append(time.perf_counter() - started)
                assert not again.wrote

            after = [raw_encode(embedder, chunk_texts), raw_encode(embedder, unit_texts)]
            floor_chunks = (before[0][0] + after[0][0]) / 2
            floor_units = (before[1][0] + after[1][0]) / 2
            floor_chunks_cpu = (before[0][1] + after[0][1]) / 2
            floor_units_cpu = (before[1][1] + after[1][1]) / 2
            chunk_vecs, unit_vecs = after[0][2], after[1][2]

            # the build's other stages alone: load + split, and the Chroma writes
            started = time.perf_counter()
            chunk_and_unit_texts(settings, embedder)
            load_split = time.perf_counter() - started
            replay = ReplayEmbedder(
                chunk_texts + unit_texts, np.concatenate([chunk_vecs, unit_vecs])
            )
            scratch = open_store(settings_for(tmp / "scratch"))
            from advisor.index import index_spec

            gen = scratch.create(index_spec(settings, embedder), {})
            started = time.perf_counter()
            batch = max(1, min(settings.embedding_batch_size * 4, 2000))
            _add_chunks(gen, chunks, replay, batch, lambda *_: None)  # type: ignore[arg-type]
            writes = time.perf_counter() - started

            baseline, baseline_chunks = langchain_baseline(settings, hf, tmp / "baseline")
        row = {
            "build_s": build,
            "chunks": len(chunks),
            "units": len(unit_texts),
            "reindex_s": median(reindex),
            "floor_chunks_s": floor_chunks,
            "floor_all_s": floor_chunks + floor_units,
            "floor_all_before_s": before[0][0] + before[1][0],
            "floor_all_after_s": after[0][0] + after[1][0],
            "build_cpu_s": build_cpu,
            "floor_chunks_cpu_s": floor_chunks_cpu,
            "floor_all_cpu_s": floor_chunks_cpu + floor_units_cpu,
            "load_split_s": load_split,
            "writes_s": writes,
            "baseline_s": baseline,
            "baseline_chunks": baseline_chunks,
        }
        rows.append(row)
        line(
            f"round {r + 1}/{rounds}: build {fmt_s(build)}, floor chunks {fmt_s(floor_chunks)}, "
            f"floor chunks+units {fmt_s(row['floor_all_s'])} (before "
            f"{fmt_s(row['floor_all_before_s'])}, after {fmt_s(row['floor_all_after_s'])}), "
            f"baseline {fmt_s(baseline)} "
            f"({baseline_chunks} chunks), re-index {row['reindex_s'] * 1000:.1f} ms, "
            f"load+split {fmt_s(load_split)}, writes {fmt_s(writes)}"
        )

    # medians over rounds; ratios are medians of the per-round ratios (same-round baselines)
    def med(key: str) -> float:
        return median([r[key] for r in rows])

    def med_ratio(a: str, b: str) -> float:
        return median([ratio(r[a], r[b]) for r in rows])

    n = len(chunks)
    res = {
        "corpus": name,
        "kib": kib,
        "rounds": rounds,
        "chunks": n,
        "units": len(unit_texts),
        "build_s": med("build_s"),
        "build_chunks_per_s": n / med("build_s"),
        "floor_chunks_s": med("floor_chunks_s"),
        "floor_chunks_per_s": n / med("floor_chunks_s"),
        "floor_all_s": med("floor_all_s"),
        "floor_all_chunks_per_s": n / med("floor_all_s"),
        "baseline_s": med("baseline_s"),
        "baseline_chunks": rows[-1]["baseline_chunks"],
        "baseline_chunks_per_s": rows[-1]["baseline_chunks"] / med("baseline_s"),
        "reindex_s": med("reindex_s"),
        "load_split_s": med("load_split_s"),
        "writes_s": med("writes_s"),
        "ratio_build_vs_floor_chunks": med_ratio("build_s", "floor_chunks_s"),
        "ratio_build_vs_floor_all": med_ratio("build_s", "floor_all_s"),
        "ratio_build_vs_baseline": med_ratio("build_s", "baseline_s"),
        "cpu_ratio_build_vs_floor_chunks": med_ratio("build_cpu_s", "floor_chunks_cpu_s"),
        "cpu_ratio_build_vs_floor_all": med_ratio("build_cpu_s", "floor_all_cpu_s"),
        "reindex_share": med_ratio("reindex_s", "build_s"),
        "kib_per_s": kib / med("build_s"),
        "baseline_kib_per_s": kib / med("baseline_s"),
    }
    res["unexplained_s"] = (
        res["build_s"] - res["floor_all_s"] - res["load_split_s"] - res["writes_s"]
    )
    line(
        f"ours: {res['build_chunks_per_s']:.2f} chunks/s ({fmt_s(res['build_s'])} for {n} chunks "
        f"+ {len(unit_texts)} units, {res['kib_per_s']:.2f} KiB/s)"
    )
    line(
        f"floor, chunks only: {res['floor_chunks_per_s']:.2f} chunks/s; build / floor = "
        f"{res['ratio_build_vs_floor_chunks']:.2f}x"
    )
    line(
        f"floor, chunks + units: {res['floor_all_chunks_per_s']:.2f} chunks/s; build / floor = "
        f"{res['ratio_build_vs_floor_all']:.2f}x"
    )
    line(
        f"the same ratios in CPU time of this process (less sensitive to other processes): "
        f"{res['cpu_ratio_build_vs_floor_chunks']:.2f}x (chunks only), "
        f"{res['cpu_ratio_build_vs_floor_all']:.2f}x (chunks + units)"
    )
    line(
        f"LangChain baseline: {res['baseline_chunks_per_s']:.2f} of its chunks/s "
        f"({res['baseline_chunks']} chunks, {res['baseline_kib_per_s']:.2f} KiB/s); build / "
        "baseline = "
        f"{res['ratio_build_vs_baseline']:.2f}x"
    )
    line(
        f"re-index unchanged: {res['reindex_s'] * 1000:.1f} ms = {res['reindex_share'] * 100:.2f}% "
        "of a build"
    )
    line(
        f"where the build's time goes: embedding {fmt_s(res['floor_all_s'])}, load+split "
        f"{fmt_s(res['load_split_s'])}, Chroma writes {fmt_s(res['writes_s'])}, rest "
        f"{fmt_s(res['unexplained_s'])}"
    )
    return res


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds-small", type=int, default=3)
    parser.add_argument("--rounds-large", type=int, default=3)
    parser.add_argument(
        "--rounds-real", type=int, default=1, help="../shared/real-formats, when it is there"
    )
    args = parser.parse_args()

    import torch
    from langchain_huggingface import HuggingFaceEmbeddings

    from advisor import Settings
    from advisor.embed import make_embeddings

    global BUILD_THREADS
    BUILD_THREADS = torch.get_num_threads()
    embedder = make_embeddings(Settings())
    embedder.embed(["warm up"])  # model loaded and warm before any timing
    line(f"torch intra-op threads for index batches: {BUILD_THREADS}")
    hf = HuggingFaceEmbeddings(model_name=str(embedder.path))
    hf.embed_documents(["warm up"])

    with work_dir() as work:
        small = one_corpus(
            "project corpus (corpus/)",
            lambda index_dir: Settings(corpus_dir=REPO / "corpus", index_dir=index_dir),
            args.rounds_small,
            embedder,
            hf,
            None,
        )
        # the larger corpus is copied into the work folder; its last build is kept there for
        # bench_query.py (the base of the synthetic indexes) when run_all shares the folder
        large_probe = large_settings(work)
        large = None
        if args.rounds_large > 0:
            large = one_corpus(
                "larger corpus (corpus/ + external docs)",
                lambda index_dir: Settings(corpus_dir=large_probe.corpus_dir, index_dir=index_dir),
                args.rounds_large,
                embedder,
                hf,
                large_probe.index_dir,
            )
        # documents as users have them (PDF reports and slides, DOCX, PPTX, HTML, XLSX): their
        # conversion is in load+split, which is timed alone
        real_dir = REPO.parent / "shared" / "real-formats"
        real = None
        if args.rounds_real > 0 and real_dir.is_dir():
            real = one_corpus(
                "real formats (../shared/real-formats)",
                lambda index_dir: Settings(corpus_dir=real_dir, index_dir=index_dir),
                args.rounds_real,
                embedder,
                hf,
                None,
            )
    emit("index", {"small": small, "large": large, "real": real})
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Shared helpers of the benchmark scripts: timing statistics, machine facts, temp folders,
child processes with their peak memory, the eval questions, and the larger corpus.

Every script prints its figures as it goes and ends with one line
`BENCH-RESULT {json}` that `run_all.py` reads to write RESULTS.md.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from _stats import free_port, median, percentile, ratio  # noqa: F401 (re-exported)

from advisor.config import OFFLINE_ENV

REPO = Path(__file__).resolve().parent.parent
BENCH_DIR = REPO / "benchmarks"
EXTERNAL_DOCS = REPO.parent / "shared" / "external-docs"
DATASET = REPO / "evals" / "datasets" / "career.jsonl"
PYTHON = sys.executable
ADVISOR_CLI = str(Path(sys.executable).with_name("advisor"))

# offline and quiet, for this process and every child it starts (the advisor's own list)
BENCH_ENV = dict(OFFLINE_ENV)
os.environ.update(BENCH_ENV)
os.environ.pop("ADVISOR_CHROMA_URL", None)  # always the embedded store
os.environ.pop("ADVISOR_LLM", None)  # always the default (extractive) generator

RESULT_PREFIX = "BENCH-RESULT "


# --- statistics (from _stats, re-exported) -------------------------------------------------
def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def fmt_s(seconds: float) -> str:
    return f"{seconds:.2f} s"


# --- machine --------------------------------------------------------------------------------
def machine_info() -> dict[str, Any]:
    """Cores, memory, CPU model, load and the versions that matter, for RESULTS.md."""
    model = platform.processor() or "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    mem_gib = float("nan")
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_gib = int(line.split()[1]) / 1024**2
    versions = {}
    for name in (
        "torch",
        "chromadb",
        "sentence_transformers",
        "onnxruntime",
        "langchain_chroma",
        "bm25s",
        "gradio",
    ):
        with contextlib.suppress(Exception):
            from importlib.metadata import version

            versions[name] = version(name.replace("_", "-"))
    return {
        "cores": os.cpu_count(),
        "usable_cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "memory_gib": round(mem_gib, 1),
        "cpu_model": model,
        "date": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "python": platform.python_version(),
        "versions": versions,
    }


# --- folders --------------------------------------------------------------------------------
@contextlib.contextmanager
def temp_dir(prefix: str) -> Iterator[Path]:
    """A temporary folder, removed afterwards whatever happens."""
    path = Path(tempfile.mkdtemp(prefix=f"advisor-bench-{prefix}-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@contextlib.contextmanager
def work_dir() -> Iterator[Path]:
    """Where expensive artefacts (the larger corpus's index, the synthetic indexes) are kept.

    `run_all.py` sets ADVISOR_BENCH_WORK so the scripts share them and removes it at the end;
    a script run alone gets its own temporary folder, removed when it ends.
    """
    shared = os.environ.get("ADVISOR_BENCH_WORK")
    if shared:
        Path(shared).mkdir(parents=True, exist_ok=True)
        yield Path(shared)
        return
    with temp_dir("work") as path:
        yield path


def make_large_corpus(dest: Path) -> Path:
    """The project corpus plus ../shared/external-docs, copied into `dest` (never the repo)."""
    dest.mkdir(parents=True, exist_ok=True)
    for src in sorted((REPO / "corpus").iterdir()):
        if src.is_file():
            shutil.copy2(src, dest / src.name)
    if not EXTERNAL_DOCS.is_dir():
        raise SystemExit(f"External documents not found at {EXTERNAL_DOCS}")
    for src in sorted(EXTERNAL_DOCS.iterdir()):
        if src.is_file() and src.name.lower() != "readme.md":
            shutil.copy2(src, dest / src.name)
    return dest


def corpus_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.iterdir() if p.is_file())


# --- questions ------------------------------------------------------------------------------
def questions(n: int = 30) -> list[str]:
    """`n` single-turn questions from the eval set, spread evenly over it (deterministic)."""
    rows = [json.loads(line) for line in DATASET.read_text().splitlines() if line.strip()]
    qs = [r["question"] for r in rows if r.get("question")]
    if len(qs) <= n:
        return qs
    return [qs[round(i * (len(qs) - 1) / (n - 1))] for i in range(n)]


# --- child processes ------------------------------------------------------------------------
def child_env(**extra: str) -> dict[str, str]:
    env = {**os.environ, **BENCH_ENV, **extra}
    env.pop("ADVISOR_BENCH_WORK", None)
    return env


def wait_rusage(proc: subprocess.Popen, timeout: float) -> tuple[int, float]:
    """Wait for `proc` (killing it after `timeout` s); return (exit code, peak RSS in MiB).

    Uses wait4(), so the peak resident set is the child's own `ru_maxrss`.
    """
    if proc.returncode is not None:  # already reaped (by poll()): its rusage is gone
        return proc.returncode, float("nan")
    deadline = time.monotonic() + timeout
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if time.monotonic() > deadline:
            proc.kill()
            pid, status, usage = os.wait4(proc.pid, 0)
            break
        time.sleep(0.02)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return proc.returncode, usage.ru_maxrss / 1024  # Linux: kilobytes


def stop(proc: subprocess.Popen, grace: float = 15.0) -> tuple[int, float]:
    """Ask a server child to stop (SIGINT, then SIGKILL); return (exit code, peak RSS MiB).

    The child is reaped here with wait4() (never with poll()), so its rusage is not lost.
    """
    with contextlib.suppress(ProcessLookupError):
        os.kill(proc.pid, signal.SIGINT)  # a zombie still has its pid until reaped
    return wait_rusage(proc, grace)


def run_timed(cmd: list[str], env: dict[str, str], timeout: float = 120.0) -> dict[str, Any]:
    """Run `cmd`; the wall time to its first byte of stdout and to its exit, and its peak RSS."""
    with tempfile.TemporaryFile() as err_file:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=err_file, cwd=REPO)
        assert proc.stdout is not None
        watchdog = threading.Timer(timeout, proc.kill)  # a hung child must not hang the bench
        watchdog.start()
        try:
            first = proc.stdout.read(1)
            first_byte = time.perf_counter() - started
            out = first + proc.stdout.read()
            code, rss = wait_rusage(proc, timeout)
            total = time.perf_counter() - started
        finally:
            watchdog.cancel()
        if code != 0:
            err_file.seek(0)
            err = err_file.read().decode(errors="replace")
            raise RuntimeError(f"{' '.join(cmd[:3])}... exited {code}: {err[-800:]}")
    return {
        "first_output": first_byte if first else total,
        "exit": total,
        "rss_mib": rss,
        "stdout": out.decode(errors="replace"),
    }


# --- output ---------------------------------------------------------------------------------
def header(title: str) -> None:
    print(f"\n=== {title} ===", flush=True)


def line(text: str) -> None:
    print(text, flush=True)


def emit(name: str, result: dict[str, Any]) -> None:
    """The machine-readable summary `run_all.py` reads (one line, last thing printed)."""
    print(RESULT_PREFIX + json.dumps({"benchmark": name, **result}, default=float), flush=True)

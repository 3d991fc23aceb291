"""Memory: peak resident set (the child's own ru_maxrss, read with wait4) of

- the chat UI (`advisor ui`) serving the shipped corpus, after answering 10 questions through
  gradio_client;
- a process answering 10 questions from the 100k-chunk synthetic index (benchmarks/_answer.py);

against baselines measured in the same run: `python -c "import torch"`, and the same answering
process on the shipped corpus's index (so the 100k figure's growth is what the size adds).

The 100k index is the one bench_query.py left in the shared work folder under run_all.py;
run alone, this script builds it (several minutes, see _synthetic.py).

    python benchmarks/bench_memory.py [--questions 10]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from _common import (
    ADVISOR_CLI,
    BENCH_DIR,
    PYTHON,
    REPO,
    child_env,
    emit,
    fmt_s,
    free_port,
    header,
    line,
    questions,
    ratio,
    run_timed,
    stop,
    temp_dir,
    work_dir,
)
from _synthetic import synthetic_index
from bench_startup import build_default_index, wait_for_answer

SIZE = 100_000


def answering_process(index_dir: Path, corpus_dir: Path | None, n: int) -> dict[str, Any]:
    cmd = [
        PYTHON,
        str(BENCH_DIR / "_answer.py"),
        "--index-dir",
        str(index_dir),
        "--questions",
        str(n),
    ]
    if corpus_dir:
        cmd += ["--corpus-dir", str(corpus_dir)]
    run = run_timed(cmd, child_env(), timeout=900)
    info = json.loads(run["stdout"].strip().splitlines()[-1])
    return {**info, "peak_rss_mib": run["rss_mib"], "wall_s": run["exit"]}


def ui_process(index_dir: Path, n: int, tmp: Path) -> dict[str, Any]:
    from gradio_client import Client

    port = free_port()
    log = tmp / "ui.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [ADVISOR_CLI, "ui", "--port", str(port)],
            env=child_env(ADVISOR_INDEX_DIR=str(index_dir)),
            cwd=REPO,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            url = f"http://127.0.0.1:{port}/"
            wait_for_answer(url, proc, time.monotonic() + 240)
            client = Client(url, verbose=False, download_files=False, analytics_enabled=False)
            for q in questions(n):
                client.predict(q, [], api_name="/ask")
        except Exception as exc:
            stop(proc)
            tail = log.read_text(errors="replace")[-1500:]
            line(f"`advisor ui` is not working yet: {exc}\n{tail}")
            return {"status": "pending", "error": str(exc)}
        code, peak = stop(proc)
    return {"status": "ok", "peak_rss_mib": peak, "questions": n + 1, "exit_code": code}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--questions", type=int, default=10)
    args = parser.parse_args()

    res: dict[str, Any] = {"questions": args.questions}
    with temp_dir("memory") as tmp, work_dir() as work:
        header("Memory: peak resident set of the child process")
        torch = run_timed([PYTHON, "-c", "import torch"], child_env())
        res["import_torch_mib"] = torch["rss_mib"]
        line(f"baseline `python -c 'import torch'`: {torch['rss_mib']:.0f} MiB")

        default_index = tmp / "index"
        build_default_index(default_index)
        small = answering_process(default_index, None, args.questions)
        res["answer_default"] = small
        line(
            f"answering {args.questions} questions from the shipped corpus ({small['chunks']} "
            "chunks): "
            f"{small['peak_rss_mib']:.0f} MiB = "
            f"{ratio(small['peak_rss_mib'], torch['rss_mib']):.2f}x "
            f"`import torch`"
        )

        ui = ui_process(default_index, args.questions, tmp)
        res["ui"] = ui
        if ui["status"] == "ok":
            line(
                f"advisor ui serving the shipped corpus, after {ui['questions']} answers: "
                f"{ui['peak_rss_mib']:.0f} MiB = "
                f"{ratio(ui['peak_rss_mib'], torch['rss_mib']):.2f}x "
                f"`import torch`, {ratio(ui['peak_rss_mib'], small['peak_rss_mib']):.2f}x the "
                "answering process"
            )

        settings, _ = synthetic_index(work, SIZE)
        try:
            big = answering_process(settings.index_dir, settings.corpus_dir, args.questions)
        except Exception as exc:  # report it; the other figures stand
            res["answer_100k"] = {"error": f"{type(exc).__name__}: {str(exc)[-300:]}"}
            line(f"FAILED answering from the {SIZE:,}-chunk index: {res['answer_100k']['error']}")
        else:
            res["answer_100k"] = big
            line(
                f"answering {args.questions} questions from the {big['chunks']:,}-chunk index: "
                f"{big['peak_rss_mib']:.0f} MiB = "
                f"{ratio(big['peak_rss_mib'], small['peak_rss_mib']):.2f}x the same process on "
                f"the shipped corpus, {ratio(big['peak_rss_mib'], torch['rss_mib']):.2f}x "
                f"`import torch`; first answer {fmt_s(big['first_answer_s'])} after start "
                f"(shipped corpus: {fmt_s(small['first_answer_s'])})"
            )
    emit("memory", res)
    return 0


if __name__ == "__main__":
    sys.exit(main())

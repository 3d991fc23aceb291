"""Start-up: `advisor ask "..."` in a new process until its answer is printed (index already
built), against `python -c "import torch"` and `python -c "pass"` measured in the same run
(interleaved, median of 5; also `import onnxruntime, tokenizers`, what the question path imports
in place of torch); and `advisor ui --port P` until the page answers a question through
gradio_client (median of 3). A breakdown of one `advisor ask` (python -X importtime; its
steps timed) says where the time goes.

    python benchmarks/bench_startup.py [--runs 5] [--ui-runs 3]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import re
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
    median,
    ratio,
    run_timed,
    stop,
    temp_dir,
)

QUESTION = "What salary can an AI project manager expect?"


def build_default_index(index_dir: Path) -> None:
    """`advisor index` of the shipped corpus into `index_dir` (not timed)."""
    subprocess.run(
        [ADVISOR_CLI, "index"],
        env=child_env(ADVISOR_INDEX_DIR=str(index_dir)),
        cwd=REPO,
        check=True,
        capture_output=True,
        timeout=900,
    )


def import_breakdown(env: dict[str, str]) -> list[tuple[str, float]]:
    """Top-level imports of one `advisor ask`, by cumulative import time (python -X importtime)."""
    proc = subprocess.run(
        [PYTHON, "-X", "importtime", "-m", "advisor.cli", "ask", QUESTION],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    totals: dict[str, float] = {}
    for row in proc.stderr.splitlines():
        m = re.match(r"import time:\s+(\d+) \|\s+(\d+) \| (\s*)(\S+)", row)
        if not m:
            continue
        indent = len(m.group(3))
        name = m.group(4)
        if indent == 0:  # a top-level import (nested ones are counted in it)
            root = name.split(".")[0]
            totals[root] = totals.get(root, 0.0) + int(m.group(2)) / 1e6
    return sorted(totals.items(), key=lambda kv: kv[1], reverse=True)


def step_breakdown(env: dict[str, str]) -> list[tuple[str, float]]:
    """The steps of one cold `advisor ask`, timed in a child (benchmarks/_coldstart.py)."""
    run = run_timed([PYTHON, str(BENCH_DIR / "_coldstart.py"), QUESTION], env, timeout=300)
    return [tuple(s) for s in json.loads(run["stdout"].strip().splitlines()[-1])]


def ask_startup(runs: int, index_dir: Path, tmp: Path) -> dict[str, Any]:
    header("Start-up: advisor ask (cold process, index built)")
    env = child_env(ADVISOR_INDEX_DIR=str(index_dir))
    commands = {
        "pass": [PYTHON, "-c", "pass"],
        "import_torch": [PYTHON, "-c", "import torch"],
        "import_onnx": [PYTHON, "-c", "import onnxruntime, tokenizers"],
        "ask": [ADVISOR_CLI, "ask", QUESTION],
    }
    run_timed(commands["ask"], env, timeout=300)  # first run warms the page cache; not counted
    samples: dict[str, list[dict[str, Any]]] = {k: [] for k in commands}
    for i in range(runs):
        for key, cmd in commands.items():
            samples[key].append(run_timed(cmd, env, timeout=300))
        line(
            f"run {i + 1}/{runs}: pass {fmt_s(samples['pass'][-1]['exit'])}, import torch "
            f"{fmt_s(samples['import_torch'][-1]['exit'])}, import onnxruntime+tokenizers "
            f"{fmt_s(samples['import_onnx'][-1]['exit'])}, advisor ask answer printed at "
            f"{fmt_s(samples['ask'][-1]['first_output'])} (exit "
            f"{fmt_s(samples['ask'][-1]['exit'])})"
        )
    assert "120,000" in samples["ask"][-1]["stdout"], samples["ask"][-1]["stdout"][:500]
    res: dict[str, Any] = {
        "runs": runs,
        "pass_s": median([s["exit"] for s in samples["pass"]]),
        "import_torch_s": median([s["exit"] for s in samples["import_torch"]]),
        "import_onnx_s": median([s["exit"] for s in samples["import_onnx"]]),
        "ask_answer_s": median([s["first_output"] for s in samples["ask"]]),
        "ask_exit_s": median([s["exit"] for s in samples["ask"]]),
        "ask_vs_torch": median(
            [
                ratio(a["first_output"], t["exit"])
                for a, t in zip(samples["ask"], samples["import_torch"], strict=True)
            ]
        ),
        "ask_vs_pass": median(
            [
                ratio(a["first_output"], p["exit"])
                for a, p in zip(samples["ask"], samples["pass"], strict=True)
            ]
        ),
    }
    line(
        f"median: advisor ask {fmt_s(res['ask_answer_s'])} to the answer "
        f"({fmt_s(res['ask_exit_s'])} "
        f"to exit) = {res['ask_vs_torch']:.2f}x `import torch` ({fmt_s(res['import_torch_s'])}), "
        f"{res['ask_vs_pass']:.1f}x `pass` ({fmt_s(res['pass_s'])}); `import onnxruntime, "
        "tokenizers` "
        f"{fmt_s(res['import_onnx_s'])}"
    )
    imports = import_breakdown(env)
    res["imports"] = imports[:10]
    line("largest top-level imports of `advisor ask` (python -X importtime, cumulative):")
    for name, seconds in imports[:10]:
        line(f"  {name:<28} {fmt_s(seconds)}")
    steps = step_breakdown(env)
    res["steps"] = steps
    line("steps of one cold `advisor ask` (benchmarks/_coldstart.py, after interpreter start):")
    for label, seconds in steps:
        line(f"  {label:<74} {fmt_s(seconds)}")
    return res


def wait_for_answer(url: str, proc: subprocess.Popen, deadline: float) -> Any:
    """Poll until the UI answers a question through its /ask endpoint."""
    from gradio_client import Client

    last_error: Exception | None = None
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"`advisor ui` exited with code {proc.returncode}")
        try:
            with contextlib.redirect_stdout(None):
                client = Client(url, verbose=False, download_files=False, analytics_enabled=False)
            return client.predict(QUESTION, [], api_name="/ask")
        except Exception as exc:  # not up yet
            last_error = exc
            time.sleep(0.25)
    raise TimeoutError(f"`advisor ui` did not answer in time ({last_error})")


def ui_startup(runs: int, index_dir: Path, tmp: Path) -> dict[str, Any]:
    header("Start-up: advisor ui (until a question is answered through gradio_client)")
    import gradio_client  # noqa: F401  (imported before any timing)

    times: list[float] = []
    rss: list[float] = []
    for i in range(runs):
        port = free_port()
        log = tmp / f"ui-{i}.log"
        with open(log, "wb") as out:
            started = time.perf_counter()
            proc = subprocess.Popen(
                [ADVISOR_CLI, "ui", "--port", str(port)],
                env=child_env(ADVISOR_INDEX_DIR=str(index_dir)),
                cwd=REPO,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
            try:
                answer = wait_for_answer(f"http://127.0.0.1:{port}/", proc, time.monotonic() + 240)
                times.append(time.perf_counter() - started)
                assert "120,000" in str(answer), str(answer)[:300]
            except Exception as exc:
                tail = log.read_text(errors="replace")[-1500:]
                stop(proc)
                line(f"`advisor ui` is not working yet: {exc}\n{tail}")
                return {"status": "pending", "error": f"{exc}", "log_tail": tail}
            finally:
                if proc.returncode is None:
                    _, peak = stop(proc)
                    rss.append(peak)
        line(f"run {i + 1}/{runs}: first answer through the UI after {fmt_s(times[-1])}")
    res = {
        "status": "ok",
        "runs": runs,
        "ui_answer_s": median(times),
        "samples": times,
        "peak_rss_mib_after_one_answer": median(rss),
    }
    line(f"median: advisor ui answers {fmt_s(res['ui_answer_s'])} after launch")
    return res


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--ui-runs", type=int, default=3)
    args = parser.parse_args()
    with temp_dir("startup") as tmp:
        index_dir = tmp / "index"
        build_default_index(index_dir)
        ask = ask_startup(args.runs, index_dir, tmp)
        ui = ui_startup(args.ui_runs, index_dir, tmp)
    if ui.get("status") == "ok":
        ui["ui_vs_ask"] = ratio(ui["ui_answer_s"], ask["ask_answer_s"])
        ui["ui_vs_torch"] = ratio(ui["ui_answer_s"], ask["import_torch_s"])
        line(
            f"advisor ui to a first answer = {ui['ui_vs_ask']:.2f}x `advisor ask`, "
            f"{ui['ui_vs_torch']:.1f}x `import torch`"
        )
    emit("startup", {"ask": ask, "ui": ui})
    return 0


if __name__ == "__main__":
    sys.exit(main())

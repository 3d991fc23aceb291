"""Latency of `advisor serve` under a small, bounded load, against calling the advisor directly.

Builds (or reuses, `--index-dir`) the index of `corpus/`, starts `advisor serve` on a free
loopback port as a real process, and in the same run, round by round (interleaved, so both
sides see the same machine load):

- direct, one at a time: `advisor.invoke` in this process (the baseline)
- HTTP, one at a time: `POST /ask` with one keep-alive `httpx.Client`
- direct, concurrent: `--clients` threads sharing one `Advisor`, `--requests` questions each
- HTTP, concurrent: `--clients` threads, each its own client, against the server
- `POST /ask/stream`: time to the first `chunk` event and to the `end` event
- `POST /v1/chat/completions` (plain), one at a time

Every HTTP answer is checked against the direct answer to the same question (the default
generator is deterministic): a difference, an error status or an empty answer fails the run.
Prints p50/p95 per mode and the ratios HTTP / direct; ends with one `BENCH-RESULT {json}` line.
Bounded: `--deadline` seconds in all, a timeout on every request, the server always stopped.

    .venv/bin/python benchmarks/bench_serve.py                    # 4 clients x 10, 3 rounds
    .venv/bin/python benchmarks/bench_serve.py --clients 2 --requests 5 --rounds 1
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from _common import (
    REPO,
    child_env,
    emit,
    free_port,
    header,
    line,
    percentile,
    questions,
    ratio,
    stop,
    temp_dir,
)


class Failed(RuntimeError):
    """An HTTP answer was wrong (status, content, or different from the direct answer)."""


def wait_ready(url: str, proc: subprocess.Popen, deadline: float) -> float:
    import httpx

    started = time.perf_counter()
    while True:
        if proc.poll() is not None:
            raise SystemExit(f"advisor serve exited with {proc.returncode}")
        try:
            if httpx.get(f"{url}/v1/models", timeout=2).status_code == 200:
                return time.perf_counter() - started
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise SystemExit("advisor serve did not start in time")
        time.sleep(0.2)


def summary(values: list[float]) -> dict[str, float]:
    return {
        "p50_ms": percentile(values, 50) * 1000,
        "p95_ms": percentile(values, 95) * 1000,
        "n": len(values),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=4, help="concurrent clients")
    parser.add_argument("--requests", type=int, default=10, help="questions per client")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--questions", type=int, default=30)
    parser.add_argument("--index-dir", type=Path, default=None, help="reuse this index folder")
    parser.add_argument("--deadline", type=float, default=600.0, help="seconds, in all")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds per request")
    args = parser.parse_args()
    deadline = time.monotonic() + args.deadline

    import httpx

    from advisor import Advisor, Settings

    with temp_dir("serve") as tmp:
        index_dir = args.index_dir or tmp / "index"
        settings = Settings(corpus_dir=REPO / "corpus", index_dir=index_dir)
        header("advisor serve under load, against advisor.invoke in the same run")
        advisor = Advisor(settings)
        advisor.index()
        qs = questions(args.questions)
        expected = {q: advisor.invoke({"question": q}).to_json_dict() for q in qs}

        port = free_port()
        url = f"http://127.0.0.1:{port}"
        env = child_env(
            ADVISOR_CORPUS_DIR=str(settings.corpus_dir), ADVISOR_INDEX_DIR=str(index_dir)
        )
        env.pop("ADVISOR_UI_AUTH", None)
        proc = subprocess.Popen(
            [sys.executable, "-m", "advisor.cli", "serve", "--port", str(port)],
            env=env,
            cwd=REPO,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            ready = wait_ready(url, proc, deadline)
            line(
                f"server ready after {ready:.1f} s on {url}; {len(qs)} questions, "
                f"{args.clients} clients x {args.requests} requests, {args.rounds} rounds"
            )
            result = run_rounds(advisor, url, qs, expected, args, deadline, httpx)
        finally:
            code, rss = stop(proc)
            err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
            if "Traceback" in err:
                print(err[-2000:], file=sys.stderr)
        result["server_rss_mib"] = rss
        result["server_ready_s"] = ready
        report(result)
        emit("serve", result)
    return 0


def run_rounds(
    advisor: Any,
    url: str,
    qs: list[str],
    expected: dict[str, Any],
    args: argparse.Namespace,
    deadline: float,
    httpx: Any,
) -> dict[str, Any]:
    times: dict[str, list[float]] = {
        k: []
        for k in (
            "direct",
            "http",
            "direct_concurrent",
            "http_concurrent",
            "stream_first",
            "stream_end",
            "openai",
        )
    }
    walls: dict[str, list[float]] = {"direct_concurrent": [], "http_concurrent": []}
    lock = threading.Lock()

    def check(question: str, data: dict[str, Any]) -> None:
        if not data.get("answer") or data != expected[question]:
            raise Failed(f"answer to {question!r} differs from the direct one")

    def ask(client: Any, question: str) -> float:
        started = time.perf_counter()
        got = client.post("/ask", json={"question": question})
        took = time.perf_counter() - started
        if got.status_code != 200:
            raise Failed(f"/ask answered {got.status_code}: {got.text[:200]}")
        check(question, got.json())
        return took

    def direct(question: str) -> float:
        started = time.perf_counter()
        advisor.invoke({"question": question})
        return time.perf_counter() - started

    def concurrent(work: Any, key: str, make_client: bool) -> None:
        def one_client(c: int) -> list[float]:
            mine = [qs[(c * args.requests + i) % len(qs)] for i in range(args.requests)]
            if not make_client:
                return [work(None, q) for q in mine]
            with httpx.Client(base_url=url, timeout=args.timeout) as client:
                return [work(client, q) for q in mine]

        started = time.perf_counter()
        with ThreadPoolExecutor(args.clients) as pool:
            got = list(pool.map(one_client, range(args.clients)))
        with lock:
            walls[key].append(time.perf_counter() - started)
            times[key].extend(t for ts in got for t in ts)

    with httpx.Client(base_url=url, timeout=args.timeout) as client:
        for q in qs[:5]:  # warm up both sides
            ask(client, q)
            direct(q)
        for r in range(args.rounds):
            if time.monotonic() > deadline:
                line(f"deadline reached after {r} rounds")
                break
            for q in qs:  # interleaved question by question
                times["direct"].append(direct(q))
                times["http"].append(ask(client, q))
            concurrent(lambda _c, q: direct(q), "direct_concurrent", make_client=False)
            concurrent(ask, "http_concurrent", make_client=True)
            for q in qs[:10]:
                started, first = time.perf_counter(), None
                parts, end = [], None
                with client.stream("POST", "/ask/stream", json={"question": q}) as response:
                    event = ""
                    for text in response.iter_lines():
                        if text.startswith("event:"):
                            event = text[6:].strip()
                        elif text.startswith("data:"):
                            if first is None:
                                first = time.perf_counter() - started
                            if event == "end":
                                end = json.loads(text[5:])
                            else:
                                parts.append(json.loads(text[5:])["answer"])
                times["stream_end"].append(time.perf_counter() - started)
                times["stream_first"].append(first or 0.0)
                if end is None or "".join(parts) != end["answer"]:
                    raise Failed(f"the stream for {q!r} did not add up to its end event")
                check(q, end)
                started = time.perf_counter()
                body = {"model": "career-advisor", "messages": [{"role": "user", "content": q}]}
                got = client.post("/v1/chat/completions", json=body)
                times["openai"].append(time.perf_counter() - started)
                if got.status_code != 200:
                    raise Failed(f"/v1/chat/completions answered {got.status_code}")
                text = got.json()["choices"][0]["message"]["content"]
                if not text.startswith(expected[q]["answer"]):
                    raise Failed(f"the chat answer to {q!r} differs from the direct one")
            line(f"round {r + 1}: done")

    out: dict[str, Any] = {k: summary(v) for k, v in times.items() if v}
    for key, wall in walls.items():
        n = args.clients * args.requests * len(wall)
        out[key]["requests_per_s"] = n / sum(wall) if wall else 0.0
    out["clients"], out["requests"], out["rounds"] = args.clients, args.requests, args.rounds
    out["serve_concurrency"] = advisor.settings.serve_concurrency
    out["ratio_http_to_direct_p50"] = ratio(out["http"]["p50_ms"], out["direct"]["p50_ms"])
    out["ratio_http_to_direct_concurrent_p50"] = ratio(
        out["http_concurrent"]["p50_ms"], out["direct_concurrent"]["p50_ms"]
    )
    out["ratio_throughput_http_to_direct"] = ratio(
        out["http_concurrent"]["requests_per_s"], out["direct_concurrent"]["requests_per_s"]
    )
    return out


def report(r: dict[str, Any]) -> None:
    labels = {
        "direct": "advisor.invoke, one at a time (baseline)",
        "http": "POST /ask, one at a time",
        "direct_concurrent": f"advisor.invoke, {r['clients']} threads",
        "http_concurrent": f"POST /ask, {r['clients']} clients",
        "stream_first": "POST /ask/stream, first event",
        "stream_end": "POST /ask/stream, end event",
        "openai": "POST /v1/chat/completions",
    }
    line(f"{'mode':<44} {'p50':>9} {'p95':>9} {'n':>5} {'req/s':>7}")
    for key, label in labels.items():
        if key in r:
            s = r[key]
            rate = f"{s['requests_per_s']:7.1f}" if "requests_per_s" in s else ""
            line(f"{label:<44} {s['p50_ms']:7.1f}ms {s['p95_ms']:7.1f}ms {s['n']:5d} {rate}")
    line(
        f"HTTP / direct p50: {r['ratio_http_to_direct_p50']:.2f}x one at a time, "
        f"{r['ratio_http_to_direct_concurrent_p50']:.2f}x concurrent; throughput "
        f"{r['ratio_throughput_http_to_direct']:.2f}x; server peak RSS "
        f"{r['server_rss_mib']:.0f} MiB"
    )


if __name__ == "__main__":
    try:
        raise SystemExit(main())
    except Failed as exc:
        print(f"FAILED: {exc}", file=sys.stderr)
        raise SystemExit(1) from None

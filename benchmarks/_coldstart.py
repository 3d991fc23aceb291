"""Child process of bench_startup.py: the steps of `advisor ask` (the same calls the CLI makes,
in the same order), each timed, printed as one JSON line. Interpreter start-up is not included
(it is the `python -c pass` baseline).

    python benchmarks/_coldstart.py "question"
"""

import json
import sys
import time

steps: list[tuple[str, float]] = []
last = time.perf_counter()


def step(name: str) -> None:
    global last
    now = time.perf_counter()
    steps.append((name, now - last))
    last = now


import os  # noqa: E402

os.environ.setdefault("HF_HUB_OFFLINE", "1")
from advisor.cli import print_answer, run_index, settings_with  # noqa: E402

step("import advisor.cli (and with it langchain-core, langchain-chroma, chromadb, bm25s)")
from advisor.chain import Advisor  # noqa: E402

advisor = Advisor(settings_with())
run_index(advisor, quiet=True)
step("index up-to-date check (load + hash the corpus, open Chroma)")
advisor.embedder.embed(["warm up"])
step("embedding model (ONNX export through onnxruntime; PyTorch only without the export)")
advisor.searcher.view()
step("open the generation (chunk table, BM25)")
answer = advisor.invoke({"question": sys.argv[1], "chat_history": []})
step("first answer (invoke)")
print_answer(answer)
step("print the answer")
print(json.dumps(steps))

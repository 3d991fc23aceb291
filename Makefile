# What README tells a person to type. Every target installs what it needs first.
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
export HF_HUB_OFFLINE := 1
export ANONYMIZED_TELEMETRY := False
export GRADIO_ANALYTICS_ENABLED := False

.PHONY: install run test bench eval lint browser clean-index

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

test: install browser
	$(PY) -m pytest

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

# The two commands of the README. Both create a local virtual environment (.venv) on first use
# and re-install only when pyproject.toml changes, so running them again is cheap and safe.
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin

QUESTION ?= Wat constateert de ROB over de publieke dienstverlening?

.PHONY: run ask test test-long bench bench-scale eval eval-smoke clean-venv

# Index the corpus (only what changed), then serve the web UI on http://127.0.0.1:7860.
run: $(VENV)/.installed
	$(BIN)/python -m ingest
	$(BIN)/python app.py

ask: $(VENV)/.installed
	$(BIN)/python -m assistant ask --stream "$(QUESTION)"

test: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/python -m pytest -m "not long"

# The load and endurance tests (about 20 minutes on 2 cores): concurrent answers during an ingest,
# several browsers at once, memory over 200 questions. Figures in test-artifacts/reliability/.
test-long: $(VENV)/.installed-dev
	$(BIN)/python -m pytest -m long

# The whole reference set (dev + holdout) with the 1.5B model, and the llama-index baseline side by
# side: about four hours on 2 cores (173 items). The report lands in evals/runs/<time>/report.html.
eval: $(VENV)/.installed
	$(BIN)/python -m ingest --quiet
	$(BIN)/python -m evals --split all --backend embedded --baseline

# A few items with the small model: a check that the suite runs (minutes), not a quality measure.
eval-smoke: $(VENV)/.installed-dev
	$(BIN)/python -m ingest --quiet
	$(BIN)/python -m evals --split all --ids sou-015 un-001 en-001 --backend embedded \
		--model qwen2.5-coder-0.5b --baseline --thresholds evals/thresholds-smoke.toml

bench: $(VENV)/.installed-dev
	$(BIN)/python benchmarks/ingest.py
	$(BIN)/python benchmarks/answer.py

# Growth from 1k to 100k synthetic chunks, embedded Chroma and a Chroma server (~40 min on 2 cores).
bench-scale: $(VENV)/.installed-dev
	$(BIN)/python benchmarks/scale.py --json benchmarks/results/scale.json

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@ $(VENV)/.installed

clean-venv:
	rm -rf $(VENV)

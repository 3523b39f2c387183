# The two commands of the README. Both create a local virtual environment (.venv) on first use
# and re-install only when pyproject.toml changes, so running them again is cheap and safe.
# The newest supported Python that runs here (3.13, 3.12, 3.11); override with PYTHON=python3.12.
PYTHON ?= $(or $(shell for p in python3.13 python3.12 python3.11; do \
	$$p -c 'import sys' >/dev/null 2>&1 && echo $$p && break; done),python3.11)
VENV ?= .venv
BIN := $(VENV)/bin

QUESTION ?= Wat constateert de ROB over de publieke dienstverlening?

.PHONY: run ask test test-fast test-long bench bench-scale eval eval-smoke clean-venv messages lock

# Index the corpus (only what changed), then serve the web UI on http://127.0.0.1:7860.
run: $(VENV)/.installed
	$(BIN)/beleidsassistent ingest
	$(BIN)/beleidsassistent serve

ask: $(VENV)/.installed
	$(BIN)/beleidsassistent ask --stream "$(QUESTION)"

test: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/python -m pytest -m "not long"

# The tests that need no language model, server or browser (minutes): CI runs them on the oldest
# supported Python too.
test-fast: $(VENV)/.installed-dev
	$(BIN)/python -m pytest -m "not slow and not long"

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

# Every dependency comes from the hash-pinned lock (requirements.lock, requirements-dev.lock;
# `make lock` writes them); the project itself is installed on top of it without resolving again.
$(VENV)/.installed: pyproject.toml requirements.lock | $(BIN)/python
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml requirements-dev.lock | $(BIN)/python
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements-dev.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $@ $(VENV)/.installed

# Resolve pyproject.toml's dependencies anew, for Python 3.11 to 3.13 on every platform, with the
# sha256 of every file (uv; only the package registry is needed). Run it after changing a
# dependency in pyproject.toml; tests/test_lock.py fails until you do.
UV_COMPILE = uv pip compile pyproject.toml --universal --python-version 3.11 --generate-hashes \
	--quiet --custom-compile-command "make lock"
lock: $(VENV)/.installed-dev
	$(BIN)/$(UV_COMPILE) -o requirements.lock
	$(BIN)/$(UV_COMPILE) --extra dev -o requirements-dev.lock

clean-venv:
	rm -rf $(VENV)

# The interface's message catalogue (assistant/core/i18n.py): extract every _()/N_()/ngettext()
# message, merge it into the Dutch and English catalogues (new ones get empty translations, which
# tests/test_i18n.py reports) and compile them. Run after changing a user-facing message.
LOCALE := assistant/locale
messages: $(VENV)/.installed-dev
	$(BIN)/pybabel --quiet extract --add-location=file --sort-output --project=beleidsassistent \
		-c TRANSLATORS: -F $(LOCALE)/babel.cfg -k N_ -k ngettext:1,2 \
		-o $(LOCALE)/beleidsassistent.pot \
		assistant ingest evals
	for lang in nl en; do \
		if [ -f $(LOCALE)/$$lang/LC_MESSAGES/beleidsassistent.po ]; then \
			$(BIN)/pybabel --quiet update --no-fuzzy-matching --ignore-obsolete -D beleidsassistent \
				-i $(LOCALE)/beleidsassistent.pot -d $(LOCALE) -l $$lang; \
		else \
			$(BIN)/pybabel --quiet init -D beleidsassistent -i $(LOCALE)/beleidsassistent.pot \
				-d $(LOCALE) -l $$lang; \
		fi; \
	done
	$(BIN)/pybabel --quiet compile -D beleidsassistent -d $(LOCALE)

# Two commands do all set-up on a fresh machine: `make demo` and `make test`.
# Python >= 3.12 is required (PyMC 6 / ArviZ 1): on 3.11 pip silently installs PyMC 5.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
PYTHON_312 := $(shell for p in python3.12 python3.13 $$HOME/.pyenv/versions/3.12*/bin/python3.12 $$HOME/.pyenv/versions/3.13*/bin/python3.13 /usr/bin/python3.12 /usr/local/bin/python3.12; do \
	if command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then echo $$p; break; fi; done)
PYTEST_WORKERS ?= 2

.PHONY: install demo test test-slow bench clean

$(VENV)/.installed: pyproject.toml
	@if [ -z "$(PYTHON_312)" ]; then echo "error: Python >= 3.12 not found (PyMC 6 needs it); install python3.12"; exit 1; fi
	$(PYTHON_312) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[test,bench,notebook]"
	touch $@

install: $(VENV)/.installed

demo: install
	MPLBACKEND=Agg $(PY) examples/demo_gcse.py

test: install
	MPLBACKEND=Agg $(PY) -m pytest -n $(PYTEST_WORKERS) --dist loadgroup -q

test-slow: install
	MPLBACKEND=Agg $(PY) -m pytest -n $(PYTEST_WORKERS) --dist loadgroup -q -m slow --durations=40 || [ $$? -eq 5 ]

bench: install
	$(PY) bench/run.py

clean:
	rm -rf $(VENV) build *.egg-info report

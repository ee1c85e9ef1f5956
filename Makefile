# Two entry points that work on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml constraints.txt requirements-nodeps.txt | sha256sum | cut -c1-12)

.PHONY: demo test lint bench regen clean fuzz crash

$(STAMP): pyproject.toml constraints.txt requirements-nodeps.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e ".[dev,train,eval,ray,mix]"
	$(PY) -m pip install --quiet --no-deps -r requirements-nodeps.txt
	rm -f $(VENV)/.installed-*
	touch $@

demo: $(STAMP)
	$(PY) scripts/demo.py

test: $(STAMP)
	$(PY) -m pytest -n 2 -q

lint: $(STAMP)
	$(VENV)/bin/ruff check .

# after adding or changing a template: the docs' examples, the lm-eval task files and the golden hashes
regen: $(STAMP)
	$(PY) scripts/sync_docs.py
	$(PY) scripts/make_lm_eval_tasks.py
	$(PY) tests/golden.py --update

# the fuzz suite's long profile (thousands of cases, about 15 minutes); the outcome counts go to .hypothesis/fuzz-stats.json
fuzz: $(STAMP)
	HYPOTHESIS_PROFILE=long FUZZ_STATS=.hypothesis/fuzz-stats.json $(PY) -m pytest -q -p no:xdist tests/test_fuzz.py

# the crash suite's long profile (16 runs per command killed at random moments); outcomes in .hypothesis/crash-stats.json
crash: $(STAMP)
	HYPOTHESIS_PROFILE=long CRASH_STATS=.hypothesis/crash-stats.json TRAIN_CRASH_STATS=.hypothesis/train-crash-stats.json \
		$(PY) -m pytest -q -p no:xdist tests/test_crashes.py tests/train/test_train_crashes.py

bench: $(STAMP)
	$(PY) benchmarks/generation.py

clean:
	rm -rf $(VENV) build *.egg-info

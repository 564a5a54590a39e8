# tokengym: `make demo` runs the main job, `make test` runs the test suite. Both set up .venv first.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
TORCH_VERSION ?= 2.13.0
# The CPU build of PyTorch: on Linux, PyPI's default torch wheel carries CUDA (several GB); the CPU one does not.
ifeq ($(shell uname -s),Linux)
TORCH_REQ ?= torch==$(TORCH_VERSION)+cpu
TORCH_INDEX ?= --extra-index-url https://download.pytorch.org/whl/cpu
else
TORCH_REQ ?= torch==$(TORCH_VERSION)
TORCH_INDEX ?=
endif

.PHONY: install demo test lint bench clean constraints

install: $(STAMP)

$(STAMP): pyproject.toml Makefile constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -c "import torch" 2>/dev/null || $(PY) -m pip install --retries 1 "$(TORCH_REQ)" $(TORCH_INDEX)
	$(PY) -m pip install -c constraints.txt -e ".[test,semantic,hub,textworld]"
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/tokengym demo

test: $(STAMP)
	$(PY) -m ruff check tokengym tests benchmarks
	$(PY) -m pytest -q

bench: $(STAMP)
	$(PY) benchmarks/env_throughput.py
	$(PY) benchmarks/textgame_throughput.py
	$(PY) benchmarks/ppo_throughput.py

# Pin the versions installed now (after 'make test' passed on them) for every later set-up.
constraints: $(STAMP)
	{ echo "# The versions 'make test' was last run with: the set-up installs with '-c constraints.txt', so a fresh machine"; \
	  echo "# gets the stack CI tested. Regenerate with 'make constraints' after upgrading a dependency and passing the tests."; \
	  $(PY) -m pip freeze --exclude-editable | grep -v '^[#-]' | sed 's/+cpu$$//' | sort -f; } > constraints.txt

clean:
	rm -rf $(VENV) build *.egg-info

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

APT_CHROMIUM := env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver

.PHONY: install demo test lint bench clean constraints notebooks

install: $(STAMP)

$(STAMP): pyproject.toml Makefile constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -c "import torch" 2>/dev/null || $(PY) -m pip install --retries 1 "$(TORCH_REQ)" $(TORCH_INDEX)
	$(PY) -m pip install -c constraints.txt -e ".[test,semantic,hub,textworld,stats,ray]"
	@# The browser test drives Chromium: install it with apt where we may (root or passwordless sudo); never fail here.
	-@{ command -v chromium && command -v chromedriver; } >/dev/null 2>&1 || ! command -v apt-get >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then s=; elif sudo -n true 2>/dev/null; then s="sudo -n"; else s=none; fi; \
	  [ "$$s" != none ] && { $$s $(APT_CHROMIUM) || { $$s apt-get update -qq && $$s $(APT_CHROMIUM); }; } >/dev/null 2>&1 \
	  || echo "Chromium not installed (needs apt as root): tests/test_feedback_page.py will be skipped"; }
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/tokengym demo

test: $(STAMP)
	$(PY) -m ruff check tokengym tests benchmarks
	$(PY) -m pytest -q

# The teaching notebooks in Jupyter, from the project's venv (installs the notebooks extra, Jupyter, on first use).
notebooks: $(STAMP)
	$(PY) -c "import notebook" 2>/dev/null || $(PY) -m pip install -c constraints.txt -e ".[notebooks]"
	$(VENV)/bin/jupyter notebook notebooks/

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

# aupmilter — two commands do all set-up on a fresh Debian 12 box (as root):
#   make run    install what is needed, then run the milter on its embedded defaults
#   make test   same set-up, then the whole test suite (incl. real Postfix, PostgreSQL, Chromium)
SHELL := /bin/bash
.SHELLFLAGS := -o pipefail -c
# pip on these machines warns about absent local mirrors; that noise is not ours.
QUIET_PIP := 2>&1 | { grep -v -E '^WARNING: Location|^\s*$$' || true; }
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP_APT := $(VENV)/.apt-done
STAMP_PIP := $(VENV)/.pip-done
APT_PACKAGES := libmilter-dev libmagic1 postfix opendkim-tools sasl2-bin libsasl2-modules swaks postgresql chromium prometheus zip p7zip-full systemd python3-venv python3-dev gcc \
	clamav-daemon libreoffice-writer-nogui libreoffice-calc-nogui libreoffice-impress-nogui
BENCH_APT_PACKAGES := rspamd

.PHONY: run test setup lint typecheck bench bench-smoke fuzz soak clean train train-offensive train-chain train-phishing

setup: $(STAMP_PIP)

# Debian packages: installed once, quietly; Postfix without a system-wide configuration (the
# test fixture runs its own private instance on loopback).
$(STAMP_APT):
	@missing=$$(for p in $(APT_PACKAGES); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages: $$missing"; \
	  echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections; \
	  apt-get update -qq >/dev/null && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi
	@mkdir -p $(VENV) && touch $@

$(VENV)/bin/python: | $(STAMP_APT)
	@$(PYTHON) -m venv $(VENV)

$(STAMP_PIP): $(STAMP_APT) $(VENV)/bin/python pyproject.toml
	@$(PY) -m pip install -q --disable-pip-version-check --upgrade pip $(QUIET_PIP)
	@$(PY) -m pip install -q --disable-pip-version-check -e '.[dev]' $(QUIET_PIP)
	@touch $@

run: setup
	@mkdir -p var
	$(VENV)/bin/aupmilter run

test: setup
	$(PY) -m pytest -q -p no:cacheprovider $(PYTEST_ARGS)

# lint-imports: the layer and no-cycle contracts in pyproject.toml ([tool.importlinter]).
lint: setup
	$(VENV)/bin/ruff check src tests bench train
	$(VENV)/bin/ruff format --check src tests bench train
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports --no-cache

typecheck: setup
	$(VENV)/bin/mypy

bench: setup
	@missing=$$(for p in $(BENCH_APT_PACKAGES); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages for the benchmark peer: $$missing"; \
	  apt-get update -qq >/dev/null && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi
	@$(PY) -m pip install -q --disable-pip-version-check -e '.[bench]' $(QUIET_PIP)
	$(PY) -m bench.run
	$(PY) -m bench.offensive_bench --out bench/results/offensive.json
	$(PY) -m bench.chain_bench --out bench/results/chain.json
	$(PY) -m bench.antivirus_bench --out bench/results/antivirus.json
	$(PY) -m bench.phishing_bench --out bench/results/phishing.json

bench-smoke: setup
	$(PY) -m bench.run --smoke

# Offline model training (not part of make test: the shipped model files are the ones tested).
# Offensive language: Debian's word lists for the real-word guard, scikit-learn for the model;
# OLID from ../shared/data, optional extra data under var/offensive-data (docs/policy.md).
train: train-offensive train-chain train-phishing

train-offensive: setup
	@for p in wbritish wamerican; do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; fi
	@$(PY) -m pip install -q --disable-pip-version-check -e '.[train]' $(QUIET_PIP)
	$(PY) -m train.offensive_realwords
	$(PY) -m train.offensive_model

# Chain letters and phishing: scikit-learn for the models, data written for the project
# (train/data, tests/fixtures; docs/policy.md).  The milter reads the exported JSON weights.
train-chain: setup
	@$(PY) -m pip install -q --disable-pip-version-check -e '.[train]' $(QUIET_PIP)
	$(PY) -m train.chain_letter

train-phishing: setup
	@$(PY) -m pip install -q --disable-pip-version-check -e '.[train]' $(QUIET_PIP)
	$(PY) -m train.phishing

# Long fault-injection run through the real Postfix (bounded: SOAK_MESSAGES messages).
SOAK_MESSAGES ?= 5000
soak: setup
	AUPMILTER_SOAK_MESSAGES=$(SOAK_MESSAGES) $(PY) -m pytest -q -p no:cacheprovider tests/test_faults.py

# Coverage-guided fuzzing (atheris), bounded: FUZZ_RUNS iterations over a seeded corpus.
FUZZ_RUNS ?= 20000
fuzz: setup
	@$(PY) -m pip install -q --disable-pip-version-check -e '.[fuzz]' $(QUIET_PIP)
	@rm -rf var/fuzz-corpus && $(PY) fuzz/seeds.py var/fuzz-corpus
	@mkdir -p var/fuzz-crashes
	$(PY) fuzz/fuzz_engine.py -artifact_prefix=var/fuzz-crashes/ -runs=$(FUZZ_RUNS) -max_len=65536 -rss_limit_mb=2048 -timeout=20 var/fuzz-corpus

clean:
	rm -rf $(VENV) var build dist *.egg-info

# Paraf: `make run` serves on http://$(HOST):$(PORT); `make test` runs the whole suite.
# Both set up what is missing first: Debian packages, .venv, the instance folder.

SHELL := /bin/bash
HOST ?= 127.0.0.1
PORT ?= 5000
WORKERS ?= 2
THREADS ?= 4
CERTIFICATE_SWEEP_SECONDS ?= 3600
export HOST PORT

VENV := .venv
PY := $(VENV)/bin/python
FLASK := $(VENV)/bin/flask --app wsgi
SYSTEM_PACKAGES := softhsm2 poppler-utils libnss3-tools fonts-dejavu-core openssl
TEST_PACKAGES := chromium

.PHONY: run test bench system test-system venv instance

# Install the Debian packages in $(1) that are missing (root, or sudo, or a clear message).
define apt_ensure
	@missing=""; \
	for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	python3 -c 'import ensurepip, venv' 2>/dev/null || missing="$$missing python3-venv"; \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages:$$missing"; \
		if [ "$$(id -u)" = 0 ]; then SUDO=""; \
		elif command -v sudo >/dev/null; then SUDO="sudo"; \
		else echo "Please install these Debian packages as root:$$missing"; exit 1; fi; \
		$$SUDO apt-get update -qq && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi
endef

run: system venv instance
	$(FLASK) loops run --outbox-interval 5 --sweep-interval $(CERTIFICATE_SWEEP_SECONDS) & loops=$$!; \
	trap 'kill $$loops 2>/dev/null; wait $$loops' EXIT INT TERM; \
	$(VENV)/bin/gunicorn --worker-class gthread --workers $(WORKERS) --threads $(THREADS) --bind $(HOST):$(PORT) \
		--graceful-timeout 10 --access-logfile - --error-logfile - wsgi:app

# Every figure of bench/README.md, each against its baseline in the same run (about 8 minutes on 2 cores).
bench: test-system venv
	$(PY) bench/sign.py --rounds 10
	$(PY) bench/ocsp.py --rounds 5
	$(PY) bench/verify.py --rounds 5
	$(PY) bench/memory.py
	$(PY) bench/load.py --seconds 120 --sequential-seconds 40

test: test-system venv
	$(PY) -m pytest $(PYTEST_ARGS)

system:
	$(call apt_ensure,$(SYSTEM_PACKAGES))

test-system:
	$(call apt_ensure,$(SYSTEM_PACKAGES) $(TEST_PACKAGES))

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $@

instance:
	$(FLASK) instance init
	@test -f "$${PARAF_INSTANCE:-instance}/demo-accounts.json" || [ "$(PARAF_ENV)" = production ] || $(FLASK) demo seed

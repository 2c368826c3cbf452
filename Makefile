PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# The official SDK lives in its own venv: its import name `couchbase` clashes with ours.
SDK4_VERSION := 4.6.3
SDK4_VENV := .venv-sdk4
SDK4_STAMP := $(SDK4_VENV)/.installed-$(SDK4_VERSION)

.PHONY: run test bench server clean system-deps sdk4

$(STAMP): pyproject.toml setup.py src/cbserver/kv/_fast_path.c \
		src/cbserver/views/_json_cut.c src/cbserver/views/_collate.c \
		src/cbserver/views/_icu_key.c \
		src/cbserver/storage/_batch_codec.c src/cbserver/storage/_disk_queue.c \
		src/cbserver/storage/_layout3.h src/cbserver/storage/_crc32.c \
		scripts/system-deps.sh
	./scripts/system-deps.sh run
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip uninstall -q -y quickjs  # replaced by quickjs-ng (same import name)
	$(PY) -m pip install -q -e '.[server,app,test]'
	touch $(STAMP)

$(SDK4_STAMP):
	test -x $(SDK4_VENV)/bin/python || $(PYTHON) -m venv $(SDK4_VENV)
	$(SDK4_VENV)/bin/python -m pip install -q couchbase==$(SDK4_VERSION)
	touch $(SDK4_STAMP)

sdk4: $(SDK4_STAMP)

system-deps:
	./scripts/system-deps.sh test

run: $(STAMP)
	$(PY) -m beersample

server: $(STAMP)
	$(PY) -m cbserver --bucket default

test: system-deps $(STAMP) $(SDK4_STAMP)
	$(PY) -m pytest -q

bench: system-deps $(STAMP) $(SDK4_STAMP)
	$(PY) -m benchmarks

clean:
	rm -rf $(VENV) $(SDK4_VENV) .pytest_cache .hypothesis

# make run / make test / make bench: the venv is created on first use and refreshed
# whenever pyproject.toml changes. Nothing else needs installing by hand.
# make fuzz: the property-based fuzz tests with 2000 examples each, then 100,000 hostile records into smoke.
# make conformance: the official MCP conformance suite against a NetMCP tool server;
# installs Node 22 and the suite from npm under .conformance/ on first use (not part of make test).
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.netloop-stamp
ARGS   ?=

.PHONY: run test fuzz bench lint conformance clean

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(VENV)/bin/netloop run $(ARGS)

test: $(STAMP)
	$(PY) -m pytest $(ARGS)

fuzz: $(STAMP)
	NETLOOP_HYPOTHESIS_PROFILE=fuzz $(PY) -m pytest -m fuzz --timeout 3600 $(ARGS)
	$(VENV)/bin/netloop bench --fuzz 100000

bench: $(STAMP)
	$(VENV)/bin/netloop bench $(ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check .

conformance: $(STAMP)
	$(PY) tests/conformance/run.py $(ARGS)

clean:
	rm -rf $(VENV) build *.egg-info .conformance

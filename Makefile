# make run / make test / make bench: the venv is created on first use and refreshed
# whenever pyproject.toml changes. Nothing else needs installing by hand.
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.netloop-stamp
ARGS   ?=

.PHONY: run test bench lint clean

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(VENV)/bin/netloop run $(ARGS)

test: $(STAMP)
	$(PY) -m pytest $(ARGS)

bench: $(STAMP)
	$(VENV)/bin/netloop bench $(ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check .

clean:
	rm -rf $(VENV) build *.egg-info

# The two commands: `make site` builds the site, `make test` runs the tests.
# Both create .venv and install the pinned requirements on first use.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
ARGS ?=

.PHONY: site test serve new clean bench frozen

site: $(STAMP)
	$(PY) -m builder build $(ARGS)

frozen: $(STAMP)
	$(PY) -m builder build --frozen $(ARGS)

test: $(STAMP)
	$(PY) -m pytest -q $(ARGS)

clean: $(STAMP)
	$(PY) -m builder clean

$(STAMP): requirements.txt requirements-exec.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-exec.txt
	touch $(STAMP)

# The two commands: `make site` builds the site, `make test` runs the tests.
# Both create .venv and install the pinned requirements on first use.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
ARGS ?=
TITLE ?=
REMOTE ?= origin

.PHONY: site test serve new check frozen publish bench clean fidelity

site: $(STAMP)
	$(PY) -m builder build $(ARGS)

test: $(STAMP)
	$(PY) -m pytest -q $(ARGS)

serve: $(STAMP)
	$(PY) -m builder serve $(ARGS)

new: $(STAMP)
	@test -n "$(TITLE)" || { echo 'usage: make new TITLE="My tutorial"'; exit 2; }
	$(PY) -m builder new "$(TITLE)"

check: $(STAMP)
	$(PY) -m builder check

frozen: $(STAMP)
	$(PY) -m builder build --frozen $(ARGS)

publish: $(STAMP)
	$(PY) -m builder build --frozen
	$(PY) -m builder publish --remote "$(REMOTE)"

bench: $(STAMP)
	$(PY) bench/run.py $(ARGS)

# Someone else's Jekyll posts built by us and by Jekyll, compared post by post (fidelity/results.md).
fidelity: $(STAMP)
	@command -v jekyll >/dev/null 2>&1 || [ "$$(id -u)" != 0 ] || \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq jekyll >/dev/null; } || \
		echo "fidelity: jekyll could not be installed"
	$(PY) fidelity/run.py $(ARGS)

clean: $(STAMP)
	$(PY) -m builder clean

$(STAMP): requirements.txt requirements-exec.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-exec.txt
	touch $(STAMP)

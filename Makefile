# The two commands: `make site` builds the site, `make test` runs the tests.
# Both create .venv and install the pinned requirements on first use.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
CLUSTER_STAMP := $(VENV)/.installed-cluster
ARGS ?=
TITLE ?=
REMOTE ?= origin

.PHONY: site test test-browser browser serve new check frozen publish bench clean fidelity

site: $(STAMP)
	$(PY) -m builder build $(ARGS)

# The layering of builder/'s stages (pyproject.toml [tool.importlinter]), then every test.
test: $(STAMP) $(CLUSTER_STAMP) browser
	$(VENV)/bin/lint-imports --no-cache
	$(PY) -m pytest -q $(ARGS)

# What the browser tests drive: Debian's chromium and a Chinese font. Installed where we may
# (as root); elsewhere those tests skip, saying why.
browser:
	@if ! command -v chromium >/dev/null 2>&1 || ! fc-list :lang=zh 2>/dev/null | grep -q .; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null \
				|| echo "browser: chromium could not be installed; the browser tests will skip"; \
		else echo "browser: chromium is missing and this user cannot install it; the browser tests will skip"; fi; \
	fi

# Lighthouse 12.2.3 (npm, into .lighthouse/) with Debian's chromium on each page type, light and
# dark: a dozen runs, a few minutes, so not part of `make test`. Scores: test-artifacts/lighthouse/.
test-browser: $(STAMP) browser
	@test -f .lighthouse/node_modules/lighthouse/cli/index.js || \
		npm install --no-audit --no-fund --prefix .lighthouse lighthouse@12.2.3 >/dev/null || \
		echo "test-browser: lighthouse could not be installed with npm; its test will skip"
	LIGHTHOUSE=1 $(PY) -m pytest -q tests/test_lighthouse.py tests/test_search.py $(ARGS)

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

$(STAMP): requirements.txt requirements-exec.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-exec.txt
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $(STAMP)

# Ray, for the cluster tests (a real local cluster); `make site` never needs it.
$(CLUSTER_STAMP): $(STAMP) requirements-cluster.txt
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-cluster.txt
	touch $(CLUSTER_STAMP)

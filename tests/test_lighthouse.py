"""Lighthouse 12.2.3 (desktop) on each page type of the seed site and on a post with every reader
feature, light and dark (issue 15): performance, accessibility, best practices and SEO all 100.
Text compression and cache lifetimes are the web server's business, so those two audits are skipped.

Slow (a dozen Lighthouse runs), so it runs only under `make test-browser`, which installs
Lighthouse with npm into .lighthouse/ and sets LIGHTHOUSE=1; elsewhere it skips, saying so.
Performance is measured from timings, so a page under 100 there gets a second run (the better one
counts): other processes on a busy machine lengthen its main-thread tasks. The table of scores
goes to test-artifacts/lighthouse/scores.md.
"""
from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from browser_support import CHROMIUM, serve
from conftest import REPO

LIGHTHOUSE = REPO / ".lighthouse/node_modules/lighthouse/cli/index.js"
ARTIFACTS = REPO / "test-artifacts/lighthouse"
CATEGORIES = ("performance", "accessibility", "best-practices", "seo")
SKIPPED_AUDITS = ("uses-text-compression", "uses-long-cache-ttl")
PAGES = {
    "home": "/",
    "tutorial": "/tutorial/2017/08/11/pytorch-linear-regression.html",
    "tag": "/tags/pytorch/",
    "archive": "/archive/",
    "search": "/search/?q=%E6%A2%AF%E5%BA%A6",
    "404": "/404.html",
}
# A post with every reader feature (issue 15), on a site of its own: series and related posts,
# citations with references and a BibTeX block, math, a table, code to copy, a Matplotlib figure,
# and a Plotly and an Altair chart (executed here, so those packages must be installed).
FEATURE_PAGES = {"every feature": "/2024/03/01/every-feature.html"}
FEATURE_POST = """---
title: "Every feature"
author: Ada Lovelace
cite: true
toc: true
tags: [pytorch, charts]
series: Tour
series_order: 1
---
Transformers [@vaswani2017, p. 3] build on deep learning [@goodfellow2016]. The loss is
$L = \\frac{1}{n}\\sum_i (y_i - \\hat y_i)^2$.

## Code

```python
import math
print(math.pi)
```

## Charts

```python
#| fig-alt: A line through three points
import plotly.graph_objects as go
go.Figure(go.Scatter(x=[1, 2, 3], y=[3, 1, 2], name="points")).show()
```

```python
#| fig-alt: Two points rising
import altair as alt
alt.Chart(alt.Data(values=[{"a": 1, "b": 2}, {"a": 2, "b": 3}])).mark_point().encode(x="a:Q", y="b:Q")
```

```python
#| fig-alt: A rising curve
import matplotlib.pyplot as plt
plt.plot([1, 2, 3], [1, 4, 9])
plt.show()
```

| model | loss |
| --- | --- |
| linear | 0.12 |
"""
REFERENCES = """@article{vaswani2017, author = {Vaswani, Ashish and Shazeer, Noam}, year = {2017},
  title = {Attention Is All You Need}, journal = {Advances in Neural Information Processing Systems}}
@book{goodfellow2016, author = {Goodfellow, Ian and Bengio, Yoshua}, title = {Deep Learning},
  publisher = {MIT Press}, year = {2016}}
"""
SCHEMES = ("light", "dark")
RUN_TIMEOUT = 180   # seconds for one Lighthouse run on a busy machine
# --force-dark-mode makes Chromium report prefers-color-scheme: dark to the page.
CHROME_FLAGS = "--headless=new --no-sandbox --disable-gpu --disable-background-networking --no-first-run"

pytestmark = [pytest.mark.skipif(os.environ.get("LIGHTHOUSE") != "1",
                                 reason="Lighthouse runs only under `make test-browser` (LIGHTHOUSE=1)"),
              pytest.mark.kernel]      # the post with every feature runs its charts' code


@pytest.fixture(scope="module")
def site(chromium, tmp_path_factory) -> Path:
    if not LIGHTHOUSE.is_file():
        pytest.skip(f"{LIGHTHOUSE.relative_to(REPO)} is missing: `make test-browser` installs it")
    output = tmp_path_factory.mktemp("lighthouse") / "_site"
    done = subprocess.run(["python", "-m", "builder", "build", "--frozen", "--dest", str(output)], cwd=REPO,
                          capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PATH": f"{REPO / '.venv/bin'}:{os.environ['PATH']}"})
    assert done.returncode == 0, done.stdout + done.stderr
    return output


@pytest.fixture(scope="module")
def feature_site(site, tmp_path_factory) -> Path:
    pytest.importorskip("plotly")
    pytest.importorskip("altair")
    source = tmp_path_factory.mktemp("features")
    (source / "posts").mkdir()
    (source / "_config.yml").write_text('title: Features\nurl: "https://example.org"\nlang: en\n'
                                        "bibliography: refs.bib\n", encoding="utf-8")
    (source / "refs.bib").write_text(REFERENCES, encoding="utf-8")
    (source / "posts/2024-03-01-every-feature.md").write_text(FEATURE_POST, encoding="utf-8")
    (source / "posts/2024-03-02-part-two.md").write_text(
        "---\ntitle: Part two\ntags: [pytorch]\nseries: Tour\nseries_order: 2\n---\nThe second part.\n",
        encoding="utf-8")
    done = subprocess.run(["python", "-m", "builder", "build", "--source", str(source)], cwd=REPO,
                          capture_output=True, text=True, timeout=600,
                          env={**os.environ, "PATH": f"{REPO / '.venv/bin'}:{os.environ['PATH']}"})
    assert done.returncode == 0, done.stdout + done.stderr
    return source / "_site"


def lighthouse(url: str, scheme: str, report: Path) -> dict[str, float]:
    """Run Lighthouse on `url`, its report written to `report`; the four category scores (0-1)."""
    flags = CHROME_FLAGS + (" --force-dark-mode --blink-settings=preferredColorScheme=0" if scheme == "dark" else "")
    command = ["node", str(LIGHTHOUSE), url, "--preset=desktop", "--quiet", "--output=json",
               f"--output-path={report}", f"--only-categories={','.join(CATEGORIES)}",
               f"--skip-audits={','.join(SKIPPED_AUDITS)}", f"--chrome-flags={flags}"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=RUN_TIMEOUT,
                          env={**os.environ, "CHROME_PATH": str(CHROMIUM)})
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(report.read_text(encoding="utf-8"))
    return {name: result["categories"][name]["score"] for name in CATEGORIES}


def scored(url: str, scheme: str, report: Path) -> dict[str, float]:
    """Lighthouse's scores for the page, run twice when performance is under 100 (a timing: a
    busy machine's stall, or the page's?), the better run counting."""
    scores = lighthouse(url, scheme, report)
    if scores["performance"] < 1:
        again = lighthouse(url, scheme, report)
        scores = again if again["performance"] >= scores["performance"] else scores
    return scores


def failing_audits(report: Path) -> list[str]:
    result = json.loads(report.read_text(encoding="utf-8"))
    return sorted(audit["id"] for audit in result["audits"].values()
                  if audit.get("score") is not None and audit["score"] < 1
                  and audit.get("scoreDisplayMode") in ("binary", "numeric", "metricSavings"))


def test_every_page_type_scores_100_in_every_category_light_and_dark(site, feature_site):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    rows, problems = [], []
    for served, pages in ((site, PAGES), (feature_site, FEATURE_PAGES)):
        with serve(served) as origin:
            for name, path in pages.items():
                for scheme in SCHEMES:
                    report = ARTIFACTS / f"{name.replace(' ', '-')}-{scheme}.json"
                    scores = scored(origin + path, scheme, report)
                    rows.append(f"| {name} | {scheme} | " + " | ".join(f"{round(s * 100)}" for s in scores.values()) + " |")
                    if any(score != 1 for score in scores.values()):
                        problems.append(f"{name} ({scheme}): {scores} failing {failing_audits(report)}")
    table = ["| page | scheme | " + " | ".join(CATEGORIES) + " |", "|---|---|---|---|---|---|", *rows]
    (ARTIFACTS / "scores.md").write_text("\n".join(table) + "\n", encoding="utf-8")
    assert problems == []

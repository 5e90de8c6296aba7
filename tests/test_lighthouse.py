"""Lighthouse 12.2.3 (desktop) on each page type of the seed site, light and dark (issue 15):
performance, accessibility, best practices and SEO all 100. Text compression and cache lifetimes
are the web server's business, so those two audits are skipped.

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
SCHEMES = ("light", "dark")
RUN_TIMEOUT = 180   # seconds for one Lighthouse run on a busy machine
# --force-dark-mode makes Chromium report prefers-color-scheme: dark to the page.
CHROME_FLAGS = "--headless=new --no-sandbox --disable-gpu --disable-background-networking --no-first-run"

pytestmark = pytest.mark.skipif(os.environ.get("LIGHTHOUSE") != "1",
                                reason="Lighthouse runs only under `make test-browser` (LIGHTHOUSE=1)")


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


def failing_audits(report: Path) -> list[str]:
    result = json.loads(report.read_text(encoding="utf-8"))
    return sorted(audit["id"] for audit in result["audits"].values()
                  if audit.get("score") is not None and audit["score"] < 1
                  and audit.get("scoreDisplayMode") in ("binary", "numeric", "metricSavings"))


def test_every_page_type_scores_100_in_every_category_light_and_dark(site):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    rows, problems = [], []
    with serve(site) as origin:
        for name, path in PAGES.items():
            for scheme in SCHEMES:
                report = ARTIFACTS / f"{name}-{scheme}.json"
                scores = lighthouse(origin + path, scheme, report)
                if scores["performance"] < 1:   # a timing: a busy machine's stall, or the page's?
                    again = lighthouse(origin + path, scheme, report)
                    scores = again if again["performance"] >= scores["performance"] else scores
                rows.append(f"| {name} | {scheme} | " + " | ".join(f"{round(s * 100)}" for s in scores.values()) + " |")
                if any(score != 1 for score in scores.values()):
                    problems.append(f"{name} ({scheme}): {scores} failing {failing_audits(report)}")
    table = ["| page | scheme | " + " | ".join(CATEGORIES) + " |", "|---|---|---|---|---|---|", *rows]
    (ARTIFACTS / "scores.md").write_text("\n".join(table) + "\n", encoding="utf-8")
    assert problems == []

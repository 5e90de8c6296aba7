"""Page weight of the seed tutorial (issue 15): HTML, CSS and JavaScript it loads, uncompressed,
at most 60 KB, of which JavaScript at most 15 KB; no search code outside the search page."""
from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from conftest import REPO, run_build

TUTORIAL = "tutorial/2017/08/11/pytorch-linear-regression.html"
ASSET = re.compile(r'<(?:link rel="stylesheet" href|script[^>]* src)="/([^"]+)"')


@pytest.fixture(scope="module")
def seed_site(tmp_path_factory) -> Path:
    site = tmp_path_factory.mktemp("weight") / "site"
    for name in ("posts", "_freeze", "assets", "pages"):
        if (REPO / name).is_dir():
            shutil.copytree(REPO / name, site / name)
    shutil.copy(REPO / "_config.yml", site / "_config.yml")
    result = run_build(site, frozen=True).result
    assert result.exit_code == 0, result.failures
    return site / "_site"


def loaded(site: Path, page: str) -> dict[str, int]:
    """The page and the stylesheets and scripts it names, with their sizes in bytes."""
    html = (site / page).read_text(encoding="utf-8")
    return {page: len(html.encode("utf-8")), **{path: (site / path).stat().st_size for path in ASSET.findall(html)}}


def test_tutorial_page_weighs_under_60_kb_with_under_15_kb_of_script(seed_site):
    files = loaded(seed_site, TUTORIAL)
    script = sum(size for path, size in files.items() if path.endswith(".js"))
    assert "assets/css/main.css" in files and "assets/js/copy-code.js" in files
    assert sum(files.values()) <= 60_000, files
    assert script <= 15_000, files


def test_search_code_loads_on_the_search_page_only(seed_site):
    assert not any("search" in path for path in loaded(seed_site, TUTORIAL))
    assert "assets/js/search.js" in loaded(seed_site, "search/index.html")

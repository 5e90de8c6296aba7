"""A whole fixture site (baseurl, tags, a draft, a future post, a page, math, Liquid, and a post
with outputs, a figure, a training-log chart and a notebook from its committed freeze record),
built `--frozen` (no kernel) and diffed byte for byte.

After an intended change to the theme or the renderer, regenerate the expected tree with
`UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/test_golden.py` and review the diff. After a
change to the executed post, run it in a copy of the fixture (`python -m builder build` there)
and commit its new `_freeze/` record and `assets/img/` figure into the fixture.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from conftest import FIXTURES, run_build, tree_bytes

EXPECTED = Path(__file__).resolve().parent / "golden" / "expected"
THEME_FILES = ("assets/css/", "pagefind/")   # the theme's CSS and Pagefind's bundle: not what this test is about
BUILD_TIME = "1700000000"           # 2023-11-14: the 2999 post is in the future, 2020 ones are not


@pytest.fixture(scope="module")
def tree(tmp_path_factory) -> dict[str, bytes]:
    """The fixture site built once, `--frozen`, at a fixed build time: path -> bytes."""
    out = tmp_path_factory.mktemp("golden")
    site = out / "site"
    shutil.copytree(FIXTURES / "golden-site", site)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SOURCE_DATE_EPOCH", BUILD_TIME)
        built = run_build(site, dest=out / "out", frozen=True)
    assert built.result.exit_code == 0, built.log
    return {path: data for path, data in tree_bytes(out / "out").items()
            if not path.startswith(THEME_FILES)}


def test_golden_site_matches_byte_for_byte(tree):
    if os.environ.get("UPDATE_GOLDEN"):
        shutil.rmtree(EXPECTED, ignore_errors=True)
        for path, data in tree.items():
            (EXPECTED / path).parent.mkdir(parents=True, exist_ok=True)
            (EXPECTED / path).write_bytes(data)
    expected = tree_bytes(EXPECTED)
    assert sorted(tree) == sorted(expected)
    for path in sorted(tree):
        assert tree[path].decode("utf-8", "replace") == expected[path].decode("utf-8", "replace"), path


def test_golden_site_leaves_out_drafts_and_future_posts(tree):
    everything = b"".join(tree.values())
    assert b"A draft" not in everything and b"Not yet published" not in everything
    assert "about/index.html" in tree and b"About this &lt;site&gt;" in tree["about/index.html"]
    assert b'href="/blog/tags/pytorch/"' in tree["tutorial/2020/01/01/first-steps.html"]


def test_golden_site_shows_the_executed_post_from_its_record(tree):
    page = tree["tutorial/2020/04/01/a-tiny-fit.html"].decode("utf-8")
    assert "epoch 5 loss 0.0232" in page and 'aria-label="loss over 5 epochs' in page
    assert tree["assets/img/a-tiny-fit/fitted-line.png"] == (
        FIXTURES / "golden-site/assets/img/a-tiny-fit/fitted-line.png").read_bytes()
    assert b'"w = 2.072, b = 0.769' in tree["tutorial/2020/04/01/a-tiny-fit.ipynb"]

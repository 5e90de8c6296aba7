"""A whole fixture site (baseurl, tags, a draft, a future post, a page, math, Liquid) diffed byte for byte.

After an intended change to the theme or the renderer, regenerate the expected tree with
`UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/test_golden.py` and review the diff.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

from conftest import FIXTURES, run_build, tree_bytes

EXPECTED = Path(__file__).resolve().parent / "golden" / "expected"
THEME_FILES = ("assets/css/", "pagefind/")   # the theme's CSS and Pagefind's bundle: not what this test is about
BUILD_TIME = "1700000000"           # 2023-11-14: the 2999 post is in the future, 2020 ones are not


def built_tree(tmp_path: Path, monkeypatch) -> dict[str, bytes]:
    site = tmp_path / "site"
    shutil.copytree(FIXTURES / "golden-site", site)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", BUILD_TIME)
    built = run_build(site, dest=tmp_path / "out", execute=False)
    assert built.result.exit_code == 0, built.log
    return {path: data for path, data in tree_bytes(tmp_path / "out").items()
            if not path.startswith(THEME_FILES)}


def test_golden_site_matches_byte_for_byte(tmp_path, monkeypatch):
    tree = built_tree(tmp_path, monkeypatch)
    if os.environ.get("UPDATE_GOLDEN"):
        shutil.rmtree(EXPECTED, ignore_errors=True)
        for path, data in tree.items():
            (EXPECTED / path).parent.mkdir(parents=True, exist_ok=True)
            (EXPECTED / path).write_bytes(data)
    expected = tree_bytes(EXPECTED)
    assert sorted(tree) == sorted(expected)
    for path in sorted(tree):
        assert tree[path].decode("utf-8", "replace") == expected[path].decode("utf-8", "replace"), path


def test_golden_site_leaves_out_drafts_and_future_posts(tmp_path, monkeypatch):
    tree = built_tree(tmp_path, monkeypatch)
    everything = b"".join(tree.values())
    assert b"A draft" not in everything and b"Not yet published" not in everything
    assert "about/index.html" in tree and b"About this &lt;site&gt;" in tree["about/index.html"]
    assert b'href="/blog/tags/pytorch/"' in tree["tutorial/2020/01/01/first-steps.html"]

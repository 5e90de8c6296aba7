"""Site search (issue 15): the Pagefind index over the posts' bodies, `search: false`, the no-op
rebuild that leaves the index alone, and searching Chinese and English words in headless Chromium
(skipped, saying why, where Chromium is missing and cannot be installed)."""
from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from browser_support import Browser, Tab, serve
from builder.site import search
from conftest import run_build, write

CHINESE = "2024/01/01/chinese.html"
ENGLISH = "2024/01/02/english.html"
HIDDEN = "2024/01/03/hidden.html"


def make_site(root: Path) -> Path:
    """A Chinese site under `baseurl: /blog` with one English post and one left out of search."""
    site = root / "site"
    write(site / "_config.yml", "title: 搜索\nlang: zh-CN\nbaseurl: /blog\n"
                                "permalink: /:year/:month/:day/:title.html\n")
    write(site / "posts/2024-01-01-chinese.md", "---\ntitle: 梯度下降入门\n---\n\n"
          "我们用随机梯度下降训练一个线性回归模型，学习率决定每一步走多远。\n")
    write(site / "posts/2024-01-02-english.md", "---\ntitle: Backpropagation\nlang: en\n---\n\n"
          "Backpropagation computes every gradient of the loss in one backward sweep.\n")
    write(site / "posts/2024-01-03-hidden.md", "---\ntitle: Hidden\nsearch: false\n---\n\n"
          "A draft about xylophones that readers should not find.\n")
    return site


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    source = make_site(tmp_path_factory.mktemp("search"))
    result = run_build(source, execute=False).result
    assert result.exit_code == 0, result.failures
    return source / "_site"


def indexed_urls(site: Path) -> set[str]:
    """The URLs of the pages in the Pagefind bundle (its fragments are gzip'd JSON)."""
    urls = set()
    for fragment in (site / "pagefind/fragment").glob("*.pf_fragment"):
        data = gzip.decompress(fragment.read_bytes())
        urls.add(json.loads(data[data.index(b"{"):])["url"])
    return urls


def test_only_posts_with_a_searchable_body_are_indexed(site):
    assert indexed_urls(site) == {"/" + CHINESE, "/" + ENGLISH}
    assert "data-pagefind-body" not in (site / HIDDEN).read_text(encoding="utf-8")
    # One index in the site's language: its Chinese segmentation keeps English words whole.
    languages = json.loads((site / "pagefind/pagefind-entry.json").read_text())["languages"]
    assert list(languages) == ["zh-cn"] and languages["zh-cn"]["page_count"] == 2


def test_masthead_box_sends_the_query_to_the_search_page(site):
    html = (site / CHINESE).read_text(encoding="utf-8")
    assert '<form class="masthead__search" role="search" action="/blog/search/" method="get">' in html
    assert '<label class="visually-hidden" for="masthead-search">搜索本站</label>' in html
    assert "search.js" not in html and "/pagefind/" not in html   # the page loads no search code
    page = (site / "search/index.html").read_text(encoding="utf-8")
    assert 'src="/blog/assets/js/search.js" data-bundle="/blog/pagefind/" data-base="/blog/"' in page


def test_noop_rebuild_leaves_the_index_alone_and_an_edit_redoes_it(tmp_path, monkeypatch):
    source = make_site(tmp_path)
    assert run_build(source, execute=False).result.exit_code == 0
    entry = source / "_site/pagefind/pagefind-entry.json"
    before = entry.stat().st_mtime_ns
    calls = []
    real = search.run_pagefind
    monkeypatch.setattr(search, "run_pagefind", lambda *args: calls.append(args) or real(*args))
    assert run_build(source, execute=False).result.exit_code == 0
    assert calls == [] and entry.stat().st_mtime_ns == before
    write(source / "posts/2024-01-03-hidden.md", "---\ntitle: Hidden\n---\n\nNow about xylophones.\n")
    assert run_build(source, execute=False).result.exit_code == 0
    assert len(calls) == 1
    assert "/" + HIDDEN in indexed_urls(source / "_site")
    assert not (source / "_site" / search.STAGING).exists()


def test_a_missing_pagefind_leaves_the_site_built_and_says_why(tmp_path, monkeypatch):
    source = make_site(tmp_path)
    monkeypatch.setenv("PAGEFIND_BINARY_PATH", str(tmp_path / "no-pagefind"))
    built = run_build(source, execute=False)
    assert built.result.exit_code == 0
    assert "search index not updated: No such file or directory (pagefind/ kept as it was)" in built.log
    assert (source / "_site" / CHINESE).is_file() and not (source / "_site/pagefind").exists()
    monkeypatch.delenv("PAGEFIND_BINARY_PATH")
    assert run_build(source, execute=False).result.exit_code == 0    # the next build indexes
    assert indexed_urls(source / "_site") == {"/" + CHINESE, "/" + ENGLISH}


def test_search_off_in_config_means_no_box_no_page_no_index(tmp_path):
    source = make_site(tmp_path)
    write(source / "_config.yml", "title: Quiet\nsearch: false\n")
    assert run_build(source, execute=False).result.exit_code == 0
    built = source / "_site"
    assert not (built / "pagefind").exists() and not (built / "search").exists()
    assert "masthead__search" not in (built / "index.html").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def tab(site, chromium, tmp_path_factory):
    browser = Browser(tmp_path_factory.mktemp("chromium-profile"))
    try:
        yield Tab(browser)
    finally:
        browser.close()


RESULTS = """new Promise((done, failed) => {
  const started = Date.now();
  (function poll() {
    const status = document.querySelector(".search__status").textContent;
    if (status && !status.includes("JavaScript")) return done({status,
      links: [...document.querySelectorAll(".search__results a")].map((a) => a.getAttribute("href"))});
    if (Date.now() - started > 10000) return failed(new Error("no search results after 10 s: " + status));
    setTimeout(poll, 50);
  })();
})"""


@pytest.mark.parametrize("query, found", [
    ("梯度", ["/blog/" + CHINESE]),
    ("学习率", ["/blog/" + CHINESE]),
    ("backpropagation", ["/blog/" + ENGLISH]),
    ("xylophones", []),
])
def test_search_page_finds_chinese_and_english_words(site, tab, query, found):
    with serve(site, "/blog") as origin:
        tab.open(f"{origin}/blog/search/?q={query}")
        shown = tab.evaluate(RESULTS)
        assert tab.take_errors() == []
    assert shown["links"] == found
    assert shown["status"] == (f"{len(found)} 条结果" if found else "没有结果")

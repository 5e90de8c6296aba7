"""Site search (issue 15): the Pagefind index over the posts' bodies in shards, `search: false`,
the no-op rebuild that leaves the index alone, the edit that redoes only its shard, and searching
Chinese and English words across shards in headless Chromium (skipped, saying why, where
Chromium is missing)."""
from __future__ import annotations

import gzip
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from browser_support import Browser, Tab, serve
from builder.site import search, search_bundle, search_shards
from conftest import REPO, run_build, tree_bytes, write

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


@pytest.fixture
def one_page_shards(monkeypatch):
    """Shards of one page each (a real site has about 128), so that a small site has several:
    the Chinese post's shard is 00 and the English post's 01."""
    monkeypatch.setattr(search_shards, "PAGES_PER_SHARD", 1)


@pytest.fixture
def started(monkeypatch) -> list[str]:
    """The shards Pagefind is started on, in order."""
    names = []
    real = search_bundle.start_pagefind
    monkeypatch.setattr(search_bundle, "start_pagefind",
                        lambda executable, job: names.append(job.name) or real(executable, job))
    return names


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    source = make_site(tmp_path_factory.mktemp("search"))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(search_shards, "PAGES_PER_SHARD", 1)
        result = run_build(source, execute=False).result
    assert result.exit_code == 0, result.failures
    return source / "_site"


def shards(site: Path) -> list[str]:
    return json.loads((site / "pagefind/shards.json").read_text(encoding="utf-8"))["shards"]


def indexed_pages(site: Path, shard: str = "*") -> list[dict]:
    """What the shards' Pagefind bundles hold of each page (their fragments are gzip'd JSON)."""
    pages = []
    for fragment in site.glob(f"pagefind/{shard}/fragment/*.pf_fragment"):
        data = gzip.decompress(fragment.read_bytes())
        pages.append(json.loads(data[data.index(b"{"):]))
    return pages


def indexed_urls(site: Path, shard: str = "*") -> set[str]:
    return {page["url"] for page in indexed_pages(site, shard)}


def test_only_posts_with_a_searchable_body_are_indexed(site):
    assert shards(site) == ["00", "01"]
    assert indexed_urls(site, "00") == {"/" + CHINESE} and indexed_urls(site, "01") == {"/" + ENGLISH}
    assert "data-pagefind-body" not in (site / HIDDEN).read_text(encoding="utf-8")
    for shard in shards(site):
        # One index in the site's language: its Chinese segmentation keeps English words whole.
        languages = json.loads((site / f"pagefind/{shard}/pagefind-entry.json").read_text())["languages"]
        assert list(languages) == ["zh-cn"] and languages["zh-cn"]["page_count"] == 1
    # Each shard is a whole bundle (any one can lead the others) without Pagefind's own interfaces.
    assert sorted(path.name for path in (site / "pagefind/01").iterdir()) == [
        "fragment", "index", "pagefind-entry.json", "pagefind-worker.js", "pagefind.js",
        next(path.name for path in (site / "pagefind/01").glob("*.pf_meta")), "wasm.unknown.pagefind"]


def test_shard_count_grows_by_doubling_as_pages_are_added():
    assert [search_shards.shard_count(pages) for pages in (0, 1, 128, 129, 256, 257, 1000, 10**6)] == \
        [1, 1, 1, 2, 2, 4, 8, 64]


def test_masthead_box_sends_the_query_to_the_search_page(site):
    html = (site / CHINESE).read_text(encoding="utf-8")
    assert '<form class="masthead__search" role="search" action="/blog/search/" method="get">' in html
    assert '<label class="visually-hidden" for="masthead-search">搜索本站</label>' in html
    assert "search.js" not in html and "/pagefind/" not in html   # the page loads no search code
    page = (site / "search/index.html").read_text(encoding="utf-8")
    assert 'src="/blog/assets/js/search.js" data-bundle="/blog/pagefind/" data-base="/blog/"' in page


def test_noop_rebuild_runs_no_pagefind_and_an_edit_redoes_only_its_shard(tmp_path, one_page_shards, started):
    source = make_site(tmp_path)
    built = source / "_site"
    assert run_build(source, execute=False).result.exit_code == 0
    assert started == ["00", "01"]
    before = {path: path.stat().st_ino for path in built.glob("pagefind/*/**/*") if path.is_file()}
    started.clear()
    assert run_build(source, execute=False).result.exit_code == 0
    assert started == []
    write(source / "posts/2024-01-02-english.md", "---\ntitle: Backpropagation\nlang: en\n---\n\n"
          "Backpropagation computes every gradient; autograd records the graph.\n")
    assert run_build(source, execute=False).result.exit_code == 0
    assert started == ["01"]                              # the English post's shard, not the Chinese one's
    after = {path: path.stat().st_ino for path in built.glob("pagefind/*/**/*") if path.is_file()}
    assert {path: ino for path, ino in after.items() if "/00/" in str(path)} == \
        {path: ino for path, ino in before.items() if "/00/" in str(path)}
    assert any(b"autograd" in gzip.decompress(path.read_bytes()) for path in built.glob("pagefind/01/fragment/*"))
    assert shards(built) == ["00", "01"] and not (built / search_bundle.STAGING).exists()


def test_a_page_leaving_the_index_takes_its_emptied_shard_along(tmp_path, one_page_shards, started):
    source = make_site(tmp_path)
    assert run_build(source, execute=False).result.exit_code == 0
    write(source / "posts/2024-01-02-english.md", "---\ntitle: Backpropagation\nsearch: false\n---\n\nGone.\n")
    assert run_build(source, execute=False).result.exit_code == 0
    built = source / "_site"
    assert shards(built) == ["00"] and not (built / "pagefind/01").exists()
    assert indexed_urls(built) == {"/" + CHINESE}


def test_an_incremental_index_has_the_bytes_of_a_clean_one(tmp_path, one_page_shards):
    source = make_site(tmp_path / "a")
    assert run_build(source, execute=False).result.exit_code == 0
    write(source / "posts/2024-01-03-hidden.md", "---\ntitle: Hidden\n---\n\nNow about xylophones.\n")
    assert run_build(source, execute=False).result.exit_code == 0     # 3 pages: 4 shards, all redone
    write(source / "posts/2024-01-01-chinese.md", "---\ntitle: 梯度\n---\n\n学习率决定每一步走多远。\n")
    assert run_build(source, execute=False).result.exit_code == 0
    clean = tmp_path / "b"
    shutil.copytree(source, clean, ignore=shutil.ignore_patterns("_site", ".build-cache"))
    assert run_build(clean, execute=False).result.exit_code == 0
    index = lambda site: {path: data for path, data in tree_bytes(site / "_site").items()  # noqa: E731
                          if path.startswith("pagefind/")}
    assert index(source) == index(clean) and shards(source / "_site") == ["00", "02", "03"]


def test_a_failing_shard_leaves_every_previous_bundle_in_place(tmp_path, one_page_shards, monkeypatch):
    source = make_site(tmp_path)
    assert run_build(source, execute=False).result.exit_code == 0
    index = lambda: {path: data for path, data in tree_bytes(source / "_site").items()  # noqa: E731
                     if path.startswith("pagefind/")}
    before = index()
    real = search_bundle.start_pagefind

    def break_shard_01(executable, job):
        if job.name != "01":
            return real(executable, job)
        with open(job.log, "wb") as log:
            return subprocess.Popen([sys.executable, "-c", "import sys; sys.exit('index broken')"], stderr=log)
    monkeypatch.setattr(search_bundle, "start_pagefind", break_shard_01)
    for name in ("2024-01-01-chinese.md", "2024-01-02-english.md"):
        path = source / "posts" / name
        path.write_text(path.read_text(encoding="utf-8") + "\nMore.\n", encoding="utf-8")
    built = run_build(source, execute=False)
    assert built.result.exit_code == 0
    assert "search index not updated: Pagefind failed on shard 01: index broken" in built.log
    assert index() == before and not (source / "_site" / search_bundle.STAGING).exists()
    monkeypatch.setattr(search_bundle, "start_pagefind", real)
    assert run_build(source, execute=False).result.exit_code == 0    # the next build redoes both
    assert index() != before and any(b"More" in gzip.decompress(path.read_bytes())
                                     for path in (source / "_site").glob("pagefind/01/fragment/*"))


def test_pagefind_runs_while_the_build_stores_its_state(tmp_path, one_page_shards, started, monkeypatch):
    from builder.site import build
    source = make_site(tmp_path)
    running_at_save = []
    real_save = build.save_state
    monkeypatch.setattr(build, "save_state", lambda *args: running_at_save.append(list(started)) or real_save(*args))
    assert run_build(source, execute=False).result.exit_code == 0
    assert running_at_save[0][:1] == ["00"] and shards(source / "_site") == ["00", "01"]


def test_a_commit_that_fails_after_pagefind_started_kills_it_and_keeps_the_old_index(
        tmp_path, one_page_shards, monkeypatch):
    from builder.site import build
    source = make_site(tmp_path)
    assert run_build(source, execute=False).result.exit_code == 0
    before = {path: data for path, data in tree_bytes(source / "_site").items() if path.startswith("pagefind/")}
    processes = []
    real_start = search_bundle.start_pagefind
    monkeypatch.setattr(search_bundle, "start_pagefind",
                        lambda executable, job: processes.append(real_start(executable, job)) or processes[-1])

    def state_lost(*args):
        raise RuntimeError("the disk went away")
    monkeypatch.setattr(build, "save_state", state_lost)
    write(source / "posts/2024-01-02-english.md", "---\ntitle: Backpropagation\nlang: en\n---\n\nAutograd.\n")
    with pytest.raises(RuntimeError, match="disk went away"):
        run_build(source, execute=False)
    assert processes and all(process.returncode is not None for process in processes)   # killed and reaped
    assert not (source / "_site" / search_bundle.STAGING).exists()
    assert {path: data for path, data in tree_bytes(source / "_site").items() if path.startswith("pagefind/")} == before


def test_a_page_whose_path_reads_as_a_glob_is_indexed_as_itself(tmp_path):
    source = make_site(tmp_path)      # Pagefind picks a shard's pages with a glob naming each one
    write(source / "posts/2024-01-04-odd.md", '---\ntitle: Odd\npermalink: "/odd/(a),[b]{c}*?<d>:$e!#.html"\n'
          "---\n\nQuaternions everywhere.\n")
    assert run_build(source, execute=False).result.exit_code == 0
    assert indexed_urls(source / "_site") == {"/" + CHINESE, "/" + ENGLISH, "/odd/(a),[b]{c}*?<d>:$e!#.html"}


def test_a_formula_is_indexed_by_its_symbols_not_its_tex_source(tmp_path):
    source = make_site(tmp_path)
    write(source / "posts/2024-01-02-english.md", "---\ntitle: Backpropagation\nlang: en\n---\n\n"
          "The step is $\\theta \\leftarrow \\theta - \\eta g$ for every weight.\n")
    assert run_build(source, execute=False).result.exit_code == 0
    [content] = [page["content"] for page in indexed_pages(source / "_site") if page["url"] == "/" + ENGLISH]
    squashed = content.replace(" ", "").replace("\u200b", "")     # the Chinese index's word breaks
    assert "stepisθ←θ−ηgforeveryweight" in squashed
    assert "\\theta" not in content and "leftarrow" not in content


def test_a_missing_pagefind_leaves_the_site_built_and_says_why(tmp_path, monkeypatch):
    source = make_site(tmp_path)
    monkeypatch.setenv("PAGEFIND_BINARY_PATH", str(tmp_path / "no-pagefind"))
    built = run_build(source, execute=False)
    assert built.result.exit_code == 0
    assert "search index not updated: No such file or directory (pagefind/ kept as it was)" in built.log
    assert (source / "_site" / CHINESE).is_file() and not (source / "_site/pagefind").exists()
    assert not (source / "_site" / search_bundle.STAGING).exists()
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
        if found:
            tab.screenshot(REPO / "test-artifacts" / "screenshots" / f"search-{found[0].rsplit('/', 1)[-1][:-5]}.png")
    assert shown["links"] == found
    assert shown["status"] == (f"{len(found)} 条结果" if found else "没有结果")

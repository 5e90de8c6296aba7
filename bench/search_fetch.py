"""Bytes the search page fetches for one query, against the corpus' text (issue 15: at most 1/10).

    python bench/search_fetch.py [--posts 1000] [QUERY ...]

Generates the bench corpus (bench/corpus.py), builds it with `--no-execute` (so with its Pagefind
index), serves it on 127.0.0.1 and, in a fresh headless Chromium for each query, opens
/search/?q=QUERY; the server counts every byte it sends under /pagefind/ (the page's
and the Web Worker's fetches alike). Prints one line per query; needs Debian's chromium.
The index is in shards (builder/site/search_shards.py), and a query fetches an index chunk of
every shard for each of its words: a query of two words costs about twice the index bytes.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

sys.dont_write_bytecode = True
REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO / "bench"), str(REPO / "tests")]
import corpus  # noqa: E402
from browser_support import Browser, SiteHandler, Tab, serve  # noqa: E402

SERVED: list[tuple[str, int]] = []
WAIT_FOR_RESULTS = """new Promise((done, failed) => { const started = Date.now(); (function poll() {
  const status = document.querySelector(".search__status").textContent;
  if (status && !status.includes("JavaScript")) return done(status);
  if (Date.now() - started > 30000) return failed(new Error("no results after 30 s"));
  setTimeout(poll, 50); })(); })"""


def counting_copyfile(handler, source, destination) -> None:
    data = source.read()
    SERVED.append((handler.path, len(data)))
    destination.write(data)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--posts", type=int, default=1000)
    parser.add_argument("queries", nargs="*", default=["gradient", "regularizer"])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        site = Path(scratch) / "site"
        corpus.generate(args.posts, site)
        subprocess.run([sys.executable, "-m", "builder", "build", "--no-execute"], cwd=site, check=True,
                       timeout=1800, stdout=subprocess.DEVNULL)
        text = sum(path.stat().st_size for path in (site / "posts").iterdir())
        SiteHandler.copyfile = counting_copyfile
        with serve(site / "_site") as origin:
            for number, query in enumerate(args.queries):
                fetched, status = fetch_once(f"{origin}/search/?q={query}", Path(scratch) / f"profile-{number}")
                print(f"{query!r}: {status}; fetched {fetched:,} B under pagefind/ "
                      f"= 1/{text / fetched:.0f} of the corpus' {text:,} B of Markdown")


def fetch_once(url: str, profile: Path) -> tuple[int, str]:
    """Bytes served under /pagefind/ for `url` in a fresh browser (a Web Worker's fetches bypass
    DevTools' cache switch, so only a new profile is sure to start empty), and the page's status."""
    SERVED.clear()
    browser = Browser(profile)
    try:
        tab = Tab(browser)
        tab.open(url)
        status = tab.evaluate(WAIT_FOR_RESULTS)
    finally:
        browser.close()
    return sum(size for path, size in SERVED if path.startswith("/pagefind/")), status

if __name__ == "__main__":
    main()

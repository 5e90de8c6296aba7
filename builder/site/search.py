"""Site search: the search page, and the Pagefind index built over the written pages.

Pagefind reads the pages once they are on disk and writes its bundle (small chunks fetched per
query) into a hidden staging folder; the bundle then replaces `pagefind/` by renames. The index is
rebuilt only when an HTML page changed since it was made (a stamp of their sizes and mtimes is
kept beside the build state, not in the site, whose bytes stay those of a clean build), so a
no-op build never runs Pagefind. Only `data-pagefind-body` (a post's or
page's body, unless its front matter says `search: false`) is indexed. Every page goes into one
index in the site's `lang`: a Chinese index (segmented words) finds English words too, while
Pagefind's per-language indexes could not be searched together from one page.
"""
from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

from builder.core.config import SiteConfig
from builder.core.model import Page
from builder.render.page import RenderContext, listing_page
from builder.render.templates import render_template
from builder.site.progress import Reporter
from builder.site.writer import Writer, WriteError, replace_file

BUNDLE = "pagefind"
STAGING = ".pagefind-staging"
RETIRED = ".pagefind-retired"
TIMEOUT_SECONDS = 600


def search_enabled(config: SiteConfig) -> bool:
    """Whether the site has search: on unless `_config.yml` says `search: false`."""
    return config.values.get("search", True) is not False


def render_search_page(context: RenderContext) -> list[Page]:
    """The page `search/index.html`, or none when search is off."""
    if not search_enabled(context.config):
        return []
    html = render_template(context.env, "layouts/search.html", {
        "site": context.site, "page": listing_page(context.env.globals["ui"]["search_title"], "/search/", "search")})
    return [Page("search/index.html", html.encode("utf-8"))]


@contextlib.contextmanager
def indexed(writer: Writer, config: SiteConfig, reporter: Reporter, stamp_file: Path) -> Iterator[None]:
    """Around the writer's commit: keep the previous index, then re-index if any page changed.

    `stamp_file` remembers which pages the index was made from (in the build's cache folder).
    """
    bundle = writer.root / BUNDLE
    if not search_enabled(config):
        yield
        return
    index_files = {path.relative_to(writer.root).as_posix()
                   for path in (bundle.rglob("*") if bundle.is_dir() else ()) if path.is_file()}
    for path in sorted(index_files):
        writer.keep(path)
    yield
    writer.kept -= index_files      # kept only from deletion: the page count leaves the index out
    stamp = pages_stamp(writer.root)
    if read_stamp(stamp_file) == stamp and (bundle / "pagefind-entry.json").is_file():
        return
    try:
        build_index(writer.root, str(config.lang))
        replace_file(stamp_file, (stamp + "\n").encode(), stamp_file.name)
    except (SearchIndexError, WriteError) as error:
        reporter.note(f"search index not updated: {error}")


class SearchIndexError(Exception):
    """Pagefind is missing or failed; the site is written, its previous index stays."""


def pages_stamp(root: Path) -> str:
    """A digest of every HTML page's path, size and mtime, outside the search bundle."""
    digest = hashlib.sha256()
    for folder, subfolders, files in os.walk(root):
        subfolders[:] = sorted(name for name in subfolders if name not in (BUNDLE, STAGING, RETIRED))
        for name in sorted(files):
            if name.endswith(".html"):
                stat = os.stat(os.path.join(folder, name))
                digest.update(f"{os.path.relpath(folder, root)}/{name} {stat.st_size} {stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def read_stamp(stamp_file: Path) -> str | None:
    try:
        return stamp_file.read_text(encoding="utf-8").strip()
    except OSError:
        return None


def build_index(root: Path, language: str) -> None:
    """Run Pagefind into a staging folder, then swap it in for the previous bundle."""
    staging, retired, bundle = root / STAGING, root / RETIRED, root / BUNDLE
    shutil.rmtree(staging, ignore_errors=True)
    try:
        run_pagefind(root, staging, language)
        shutil.rmtree(retired, ignore_errors=True)
        if bundle.exists():
            os.replace(bundle, retired)
        try:
            os.replace(staging, bundle)
        except OSError:
            if retired.exists():
                os.replace(retired, bundle)
            raise
    except OSError as error:
        raise SearchIndexError(f"{error.strerror or error} ({BUNDLE}/ kept as it was)") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        shutil.rmtree(retired, ignore_errors=True)


def run_pagefind(root: Path, output: Path, language: str) -> None:
    """Index `root`'s pages into `output` with Pagefind's binary (the `pagefind[extended]` package)."""
    try:
        from pagefind.service import get_executable   # the wheel's binary, or PAGEFIND_BINARY_PATH
    except ImportError:
        get_executable = lambda: None   # noqa: E731
    executable = get_executable()
    if executable is None:
        raise SearchIndexError("Pagefind is not installed: run `pip install -r requirements.txt`")
    command = [str(executable), "--site", str(root), "--output-path", str(output), "--silent",
               "--force-language", language.lower()]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT_SECONDS, check=False)
    except subprocess.TimeoutExpired:
        raise SearchIndexError(f"Pagefind took longer than {TIMEOUT_SECONDS} s") from None
    if done.returncode != 0:
        raise SearchIndexError(f"Pagefind failed: {(done.stderr or done.stdout).strip()[-500:]}")

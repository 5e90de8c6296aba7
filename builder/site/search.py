"""Site search: the search page, and the Pagefind index of the written pages, in shards.

Only `data-pagefind-body` (a post's or page's body, unless its front matter says `search:
false`) is indexed. The pages are split into shards (builder.site.search_shards), one Pagefind
bundle each under `pagefind/<shard>/`, listed in `pagefind/shards.json`; the search page merges
them (`assets/js/search.js`). Once the writer's commit has put the pages in place, only the
shards whose pages changed are re-indexed (builder.site.search_bundle), while the commit goes on
storing the build's state; so an edit to one post costs its shard's pages, and a no-op build runs
no Pagefind at all. Every shard is one index in the site's `lang`: a Chinese
index (segmented words) finds English words too, while Pagefind's per-language indexes could
not be searched together from one page.
"""
from __future__ import annotations

import contextlib
import json
import os
import posixpath
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from builder.core.config import SiteConfig
from builder.core.model import Page
from builder.render.page import RenderContext, listing_page
from builder.render.templates import render_template
from builder.site.progress import Reporter
from builder.site.search_bundle import BUNDLE, STAGING, SearchIndexError, ShardBuild, pagefind_executable
from builder.site.search_shards import IndexRecord, page_facts, read_record, shard_keys, store_record
from builder.site.writer import Listing, Writer, WriteError, holds, replace_file

MANIFEST = "shards.json"


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
def indexed(writer: Writer, config: SiteConfig, reporter: Reporter,
            record_file: Path) -> Iterator[Callable[[], None]]:
    """Around the writer's commit: keep the previous bundles, and give the commit a function to
    call once the pages are in place, which starts Pagefind on the shards whose pages changed;
    the bundles go in when the commit is done. `record_file` remembers what each shard's
    bundle was made from (in the build's cache folder)."""
    if not search_enabled(config):
        yield lambda: None
        return
    bundle_files = previous_bundle_files(writer.root)
    writer.kept |= bundle_files      # just listed, so there: keep() would stat each one again
    started: list[PendingIndex | None] = []

    def start() -> None:
        pages = [path for path in writer.produced | writer.kept
                 if path.endswith(".html") and not path.startswith((BUNDLE + "/", STAGING + "/"))]
        started.append(attempt(reporter, lambda: start_index(writer.root, pages, str(config.lang), record_file)))

    try:
        yield start
    except BaseException:
        for pending in filter(None, started):
            pending.abandon()
        raise
    writer.kept -= bundle_files      # kept only from deletion: the page count leaves the index out
    if not started:
        start()
    redone = attempt(reporter, started[0].finish) if started[0] is not None else None
    if redone != []:
        settle_bundles(writer, bundle_files)
    if redone and reporter.verbose:
        reporter.note(f"search: re-indexed shard(s) {', '.join(redone)}")


def attempt(reporter: Reporter, step: Callable):
    """`step()`, or None when Pagefind or a write failed: the site stays built, the index as it was."""
    try:
        return step()
    except (SearchIndexError, WriteError) as error:
        reporter.note(f"search index not updated: {error}")
        return None


def settle_bundles(writer: Writer, before: set[str]) -> None:
    """Tell the writer's listing what the index step changed in the site (the bundles, their
    folders, the site's folder where the staging folder came and went), so that the next build
    need not sweep the whole site to find out."""
    if writer.settled is None:
        return
    after = previous_bundle_files(writer.root)
    folders = {"", BUNDLE} | {posixpath.dirname(path) for path in after}
    kept = {folder: stat for folder, stat in writer.settled.folders.items()
            if folder != BUNDLE and not folder.startswith(BUNDLE + "/")}
    writer.settled = Listing(writer.settled.files, kept).changed_by_us(
        writer.root, folders, (writer.settled.files - before) | after)


def previous_bundle_files(root: Path) -> set[str]:
    """The files of the shard bundles and their list (a bundle of an older layout is removed)."""
    bundle, found = root / BUNDLE, set()
    if (bundle / MANIFEST).is_file():
        found.add(f"{BUNDLE}/{MANIFEST}")
    for folder, _, files in os.walk(bundle):
        parts = Path(folder).relative_to(bundle).parts
        if parts and is_shard_name(parts[0]):
            found.update(f"{BUNDLE}/{'/'.join(parts)}/{name}" for name in files)
    return found


def is_shard_name(name: str) -> bool:
    return len(name) == 2 and name.isdigit()


@dataclass
class PendingIndex:
    """Pagefind running on the stale shards (if any); `finish()` lists the shards and stores
    the record, returning the shards re-indexed ([] when nothing changed)."""

    root: Path
    record_file: Path
    record: IndexRecord | None = None            # None: no page changed
    build: ShardBuild | None = None
    stale: list[str] = field(default_factory=list)

    def finish(self) -> list[str]:
        if self.record is None:
            return []
        if self.build is not None:
            self.build.finish()
        write_manifest(self.root, sorted(self.record.shards))
        remove_other_shards(self.root / BUNDLE, set(self.record.shards))
        store_record(self.record_file, self.record)
        return self.stale

    def abandon(self) -> None:
        if self.build is not None:
            self.build.abandon()


def start_index(root: Path, pages: list[str], language: str, record_file: Path) -> PendingIndex:
    """Start re-indexing the shards whose pages changed."""
    previous = read_record(record_file)
    facts = page_facts(root, pages, previous.pages)
    if facts == previous.pages and previous.settings.startswith(language.lower() + " ") \
            and bundles_present(root, list(previous.shards)):
        return PendingIndex(root, record_file)  # no page changed: not even Pagefind's version is looked up
    settings = index_settings(language)
    shards = shard_keys(facts, settings)
    stale = {name: paths for name, (paths, key) in shards.items()
             if previous.shards.get(name) != key or not bundles_present(root, [name])}
    build = ShardBuild(root, stale, language) if stale else None
    record = IndexRecord(settings, facts, {name: key for name, (_, key) in shards.items()})
    return PendingIndex(root, record_file, record, build, sorted(stale))


def bundles_present(root: Path, shards: list[str]) -> bool:
    """Whether these shards' bundles and the list of shards are in the site (not deleted by hand)."""
    return (root / BUNDLE / MANIFEST).is_file() and all(
        (root / BUNDLE / name / "pagefind-entry.json").is_file() for name in shards)


def index_settings(language: str) -> str:
    """What every bundle depends on besides its pages: the language, and which Pagefind made it."""
    executable = pagefind_executable()
    try:
        stat = executable.stat()
    except OSError as error:
        raise SearchIndexError(f"{error.strerror or error} ({BUNDLE}/ kept as it was)") from None
    return f"{language.lower()} {executable} {stat.st_size} {stat.st_mtime_ns}"


def write_manifest(root: Path, shards: list[str]) -> None:
    """`pagefind/shards.json`: the bundles the search page merges (the first one leads)."""
    content = (json.dumps({"shards": shards}) + "\n").encode()
    target = root / BUNDLE / MANIFEST
    if not holds(target, content):
        target.parent.mkdir(exist_ok=True)
        replace_file(target, content, f"{BUNDLE}/{MANIFEST}")


def remove_other_shards(bundle: Path, wanted: set[str]) -> None:
    """Remove shard bundles that no page belongs to any longer (after the manifest stopped naming them)."""
    for entry in sorted(os.scandir(bundle), key=lambda entry: entry.name) if bundle.is_dir() else ():
        if entry.is_dir() and entry.name not in wanted:
            shutil.rmtree(entry.path, ignore_errors=True)

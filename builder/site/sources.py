"""Reading: every post, page and draft, validated, filtered by date and `published`, checked for clashes.

A source whose stat (or hash) is as in the previous build is not parsed again.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

from builder.core.config import SiteConfig
from builder.core.errors import BuildError, SourceErrors
from builder.core.model import Post
from builder.site.forked import map_with_helper
from builder.site.incremental import IncrementalState, SourceEntry, file_stat, sha256
from builder.site.options import BuildOptions
from builder.source.claims import claim_outputs
from builder.source.reader import read_drafts, read_pages, read_post, source_files

PARALLEL_READ_MIN = 200        # changed sources below which a helper process costs more than it saves


@dataclass
class Sources:
    """What the build read: posts, standalone pages, and the files it could not read."""

    posts: list[Post]
    pages: list[Post]
    unreadable: list[BuildError]


def read_sources(options: BuildOptions, config: SiteConfig, previous: IncrementalState, state: IncrementalState) -> Sources:
    """Every post, page and (with --drafts) draft, validated, filtered and checked for clashes."""
    posts, unreadable = read_posts(options.source, config, previous, state, options.jobs)
    pages = read_extra(lambda: read_pages(options.source, config), unreadable)
    if options.drafts:
        posts += read_extra(lambda: read_drafts(options.source, config, build_time()), unreadable)
    if unreadable and not options.keep_going:
        raise SourceErrors(unreadable)
    remember_sources(options.source, pages + posts, state)
    posts, pages = select_posts(posts, options), select_posts(pages, options)
    claimed, clashes = claim_outputs(posts + pages, options.keep_going)
    if clashes and not options.keep_going:
        raise clashes[0] if len(clashes) == 1 else SourceErrors(clashes)
    kept = {post.path for post in claimed}
    return Sources([p for p in posts if p.path in kept], [p for p in pages if p.path in kept],
                   unreadable + clashes)


def read_posts(site_dir: Path, config: SiteConfig, previous: IncrementalState, state: IncrementalState,
               jobs: int = 1) -> tuple[list[Post], list[BuildError]]:
    """Every readable post under posts/, and the problems of the others.

    A file whose stat (or, failing that, whose hash) is as in the previous build is not parsed
    again; with `jobs` > 1, a forked helper parses half of many changed files.
    """
    paths = source_files(site_dir, "posts", config)
    sources = [(f"posts/{path.name}", path, file_stat(path)) for path in paths]     # paths are posts/*
    entries: dict[str, SourceEntry | BuildError] = {}
    changed = []
    for relative, path, stat in sources:
        known = previous.sources.get(relative)
        if known is not None and known.stat == stat:
            entries[relative] = known
        else:
            changed.append((relative, path, stat))
    entries.update(read_changed(site_dir, changed, config, previous, jobs))
    posts, problems = [], []
    for relative, _, _ in sources:
        entry = entries[relative]
        if isinstance(entry, BuildError):
            problems.append(entry)
        else:
            state.sources[relative] = entry
            posts.append(entry.post)
    return posts, problems


def read_changed(site_dir: Path, changed: list[tuple], config: SiteConfig, previous: IncrementalState,
                 jobs: int) -> dict[str, SourceEntry | BuildError]:
    """The new entries of changed sources (half of many read by a forked helper when `jobs` > 1)."""
    def read(source: tuple) -> SourceEntry | BuildError:
        return read_outcome(site_dir, *source, config, previous)

    outcomes = map_with_helper(read, changed, PARALLEL_READ_MIN) if jobs > 1 else [read(job) for job in changed]
    return dict(zip((relative for relative, _, _ in changed), outcomes))


def read_extra(read: Callable[[], list[Post]], problems: list[BuildError]) -> list[Post]:
    """Standalone pages or drafts; their problems join the posts' problems."""
    try:
        return read()
    except SourceErrors as errors:
        problems.extend(errors.problems)
    except BuildError as error:
        problems.append(error)
    return []


def remember_sources(site_dir: Path, posts: list[Post], state: IncrementalState) -> None:
    """Record the stat and hash of sources read outside the post cache (pages, drafts)."""
    for post in posts:
        if post.path not in state.sources:
            path = site_dir / post.path
            state.sources[post.path] = SourceEntry(file_stat(path), sha256(path.read_bytes()), post)


def read_outcome(site_dir: Path, relative: str, path: Path, stat: tuple[int, int] | None, config: SiteConfig,
                 previous: IncrementalState) -> SourceEntry | BuildError:
    """The source's new entry (parsed again unless only its stat changed), or why it cannot be read."""
    known = previous.sources.get(relative)
    try:
        digest = sha256(path.read_bytes())
        post = known.post if known is not None and known.sha == digest else read_post(site_dir, path, config)
    except BuildError as error:
        return error
    return SourceEntry(stat, digest, post)


def select_posts(posts: list[Post], options: BuildOptions) -> list[Post]:
    """Drop unpublished posts and posts dated in the future unless asked for."""
    now = build_time()
    return [p for p in posts if (options.drafts or p.get("published", True) is not False)
            and (options.future or p.date <= now)]


def build_time() -> datetime:
    """Now, or SOURCE_DATE_EPOCH for reproducible builds."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    return datetime.fromtimestamp(int(epoch), timezone.utc) if epoch else datetime.now(timezone.utc)

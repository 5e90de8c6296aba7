"""Which pages the search index holds, in which shard, and which shards a build must redo.

The indexed pages are split into shards by a hash of their path, so a page keeps its shard while
the site changes around it, and one Pagefind bundle is made per shard: an edit to one post
re-indexes only the pages of its shard. A shard is redone when its pages differ from those its
bundle was made from. A page is known by its path and its file's size, mtime and inode (the
writer puts every changed file in place as a new file), so nothing is read or hashed for the
pages a build left alone. What each bundle was made from is kept in the build's cache folder,
beside the build state: the site's bytes stay those of a clean build.
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from builder.site.writer import replace_file

MARKER = b"data-pagefind-body"    # pages without it (listings, `search: false`) are not indexed
# Pagefind takes ~3 ms a page, so an edit re-indexes its shard in 0.3-0.5 s; and each word of a
# query fetches one ~27 KB index chunk from every shard (Pagefind's chunk size is fixed).
PAGES_PER_SHARD = 128
MAX_SHARDS = 64                  # each shard adds an index chunk to every query's fetches
FORMAT = 1                       # of the record below; another value makes every shard stale


@dataclass
class IndexRecord:
    """What the index in place was made from: the site's pages, and each shard bundle's key."""

    settings: str = ""
    pages: dict[str, list] = field(default_factory=dict)   # path -> [size, mtime_ns, inode, indexed]
    shards: dict[str, str] = field(default_factory=dict)   # shard name -> key of its pages

    def as_json(self) -> bytes:
        return json.dumps({"format": FORMAT, "settings": self.settings, "pages": self.pages,
                           "shards": self.shards}, sort_keys=True, separators=(",", ":")).encode()


def read_record(path: Path) -> IndexRecord:
    """The record the previous build left, or an empty one (so every shard is redone)."""
    try:
        data = json.loads(path.read_bytes())
        if data.get("format") == FORMAT:
            return IndexRecord(data["settings"], data["pages"], data["shards"])
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        pass
    return IndexRecord()


def store_record(path: Path, record: IndexRecord) -> None:
    """Raises WriteError, leaving the previous record (whose shards are then redone next time)."""
    replace_file(path, record.as_json(), path.name)


def page_facts(root: Path, paths: list[str], previous: dict[str, list]) -> dict[str, list]:
    """[size, mtime_ns, inode, indexed] of each page; only a page whose file changed is read."""
    facts, folder = {}, str(root)
    for path in sorted(paths):
        stat = os.stat(os.path.join(folder, path))
        known = [stat.st_size, stat.st_mtime_ns, stat.st_ino]
        before = previous.get(path)
        if before is not None and before[:3] == known:
            facts[path] = before
        else:
            facts[path] = known + [MARKER in (root / path).read_bytes()]
    return facts


def shard_count(pages: int) -> int:
    """A power of two that keeps shards near PAGES_PER_SHARD pages (it changes only as the
    site doubles or halves, which re-indexes every page once)."""
    count = 1
    while count * PAGES_PER_SHARD < pages and count < MAX_SHARDS:
        count *= 2
    return count


def shard_of(path: str, count: int) -> str:
    """The shard's name: a folder name under pagefind/, stable for a page while `count` is."""
    number = int.from_bytes(hashlib.sha256(path.encode("utf-8")).digest()[:4], "big") % count
    return f"{number:02d}"


def shard_keys(facts: dict[str, list], settings: str) -> dict[str, tuple[list[str], str]]:
    """Each non-empty shard's pages and a key of everything its bundle depends on."""
    indexed = [path for path, fact in facts.items() if fact[3]]
    count = shard_count(len(indexed))
    members: dict[str, list[str]] = {}
    for path in indexed:
        members.setdefault(shard_of(path, count), []).append(path)
    keys = {}
    for name, paths in sorted(members.items()):
        digest = hashlib.sha256(f"{settings}\n{count}\n".encode())
        for path in sorted(paths):
            digest.update(f"{path} {facts[path][:3]}\n".encode())
        keys[name] = (sorted(paths), digest.hexdigest())
    return keys

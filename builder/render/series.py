"""Reading paths through the posts: series ("Part 2 of 5") and related posts by shared tags."""
from __future__ import annotations

from collections import defaultdict
from itertools import combinations
from typing import Any

from builder.core.model import Post
from builder.source.reader import as_list
from builder.core.urls import taxonomy_slug

RELATED_COUNT = 3
# Shared tags are counted up to this many, which keeps the index small for posts with many tags
# (a post is indexed under every set of up to this many of its tags).
MAX_SHARED_TAGS = 4


def series_url(name: str) -> str:
    """Site-relative URL of a series' page, e.g. /series/deep-learning-basics/."""
    return f"/series/{taxonomy_slug(name)}/"


def series_name(post: Post) -> str | None:
    name = post.get("series")
    return str(name).strip() or None if name is not None else None


def group_series(posts: list[Post]) -> list[dict[str, Any]]:
    """Every series (by slug, sorted by name) with its parts in reading order: `series_order`
    first where given, then by date, then URL."""
    by_url: dict[str, dict[str, Any]] = {}
    for post in posts:
        name = series_name(post)
        if name:
            by_url.setdefault(series_url(name), {"name": name, "url": series_url(name), "posts": []})["posts"].append(post)
    for series in by_url.values():
        series["posts"].sort(key=reading_order)
        series["name"] = series_name(series["posts"][0])
    return sorted(by_url.values(), key=lambda s: (s["name"].casefold(), s["url"]))


def reading_order(post: Post) -> tuple:
    order = post.get("series_order")
    return (order is None, order if isinstance(order, int) else 0, post.date, post.url)


def series_links(posts: list[Post]) -> dict[str, dict[str, Any]]:
    """post path -> the series box of that post: name, page URL, its part number and every part."""
    boxes = {}
    for series in group_series(posts):
        parts = [{"title": p.title, "url": p.url} for p in series["posts"]]
        for number, post in enumerate(series["posts"], 1):
            boxes[post.path] = {"name": series["name"], "url": series["url"], "number": number,
                                "total": len(parts), "parts": parts}
    return boxes


def related_links(posts: list[Post]) -> dict[str, list[dict[str, Any]]]:
    """post path -> up to three posts sharing the most tags, newer first on ties, then by URL;
    posts with `related: false` get none."""
    ranked = sorted(sorted(posts, key=lambda p: p.url), key=lambda p: p.date, reverse=True)
    slugs: dict[str, str] = {}     # a corpus has few distinct tags; slugifying is the costly part
    tags = {post.path: tuple(sorted({slugs.get(t) or slugs.setdefault(t, taxonomy_slug(t))
                                     for t in map(str, as_list(post.get("tags")))})) for post in ranked}
    index = tag_set_index(ranked, tags)
    rank = {post.path: position for position, post in enumerate(ranked)}
    best: dict[tuple, list[Post]] = {}   # posts sharing a tag set share their ranking
    related = {}
    for post in ranked:
        names = tags[post.path]
        if post.get("related", True) is not False and names:
            if names not in best:
                best[names] = most_related(names, index, rank)
            others = [p for p in best[names] if p is not post][:RELATED_COUNT]
            related[post.path] = [{"title": p.title, "url": p.url, "date": p.date} for p in others]
    return related


# The best RELATED_COUNT + 1 posts for a tag set: one more than shown, since the asking post
# itself may be among them.
KEPT = RELATED_COUNT + 1


def tag_set_index(ranked: list[Post], tags: dict[str, tuple]) -> dict[tuple, list[Post]]:
    """Every set of up to MAX_SHARED_TAGS tags -> the first KEPT posts having them all, in rank order."""
    index: dict[tuple, list[Post]] = defaultdict(list)
    for post in ranked:
        names = tags[post.path]
        for size in range(1, min(len(names), MAX_SHARED_TAGS) + 1):
            for subset in combinations(names, size):
                holders = index[subset]
                if len(holders) < KEPT:
                    holders.append(post)
    return index


def most_related(names: tuple, index: dict[tuple, list[Post]], rank: dict[str, int]) -> list[Post]:
    """The best KEPT posts for a tag set, most shared tags first. Level by level: a post sharing
    exactly `size` tags that ranks among the best left is within the first KEPT holders of one of
    its shared `size`-tag sets, since only posts already chosen (sharing more) precede it there."""
    chosen: list[Post] = []
    for size in range(min(len(names), MAX_SHARED_TAGS), 0, -1):
        seen = {p.path for p in chosen}
        candidates = {p.path: p for subset in combinations(names, size) for p in index.get(subset, ())
                      if p.path not in seen}
        chosen += sorted(candidates.values(), key=lambda p: rank[p.path])[:KEPT - len(chosen)]
        if len(chosen) == KEPT:
            break
    return chosen

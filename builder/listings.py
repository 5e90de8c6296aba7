"""Site-wide pages built from the posts' metadata: home, feed, sitemap, previous/next links."""
from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from builder.feed import FeedEntry, render_feed, render_robots, render_sitemap
from builder.model import Page, Post
from builder.render import RenderContext, excerpt_of
from builder.reader import as_list
from builder.templates import render_template


def sort_posts(posts: list[Post]) -> list[Post]:
    """Newest first; ties broken by path so the order never depends on the file system."""
    return sorted(posts, key=lambda p: (p.date, p.path), reverse=True)


def summary(post: Post) -> dict[str, Any]:
    """What a listing shows of a post."""
    return {"title": post.title, "url": post.url, "date": post.date, "excerpt": excerpt_of(post),
            "tags": as_list(post.get("tags")), "categories": as_list(post.get("categories"))}


def neighbours(ordered: list[Post]) -> dict[str, dict[str, Any]]:
    """post path -> {'previous': older post summary, 'next': newer post summary}."""
    links = {}
    for index, post in enumerate(ordered):
        newer = ordered[index - 1] if index > 0 else None
        older = ordered[index + 1] if index + 1 < len(ordered) else None
        links[post.path] = {"previous": summary(older) if older else None,
                            "next": summary(newer) if newer else None}
    return links


def render_home(ordered: list[Post], context: RenderContext) -> list[Page]:
    """index.html plus page2/, page3/, ... with `paginate` posts each."""
    size = max(1, context.config.paginate)
    chunks = [ordered[i:i + size] for i in range(0, len(ordered), size)] or [[]]
    pages = []
    for number, chunk in enumerate(chunks, 1):
        paginator = {"page": number, "total_pages": len(chunks),
                     "previous_page_path": page_url(number - 1) if number > 1 else None,
                     "next_page_path": page_url(number + 1) if number < len(chunks) else None}
        variables = {"site": context.site, "posts": [summary(p) for p in chunk], "paginator": paginator,
                     "page": {"title": context.config.title, "url": page_url(number), "layout": "home"}}
        html = render_template(context.env, "layouts/home.html", variables)
        path = "index.html" if number == 1 else f"page{number}/index.html"
        pages.append(Page(path, html.encode("utf-8")))
    return pages


def page_url(number: int) -> str:
    return "/" if number == 1 else f"/page{number}/"


def render_site_files(ordered: list[Post], context: RenderContext) -> list[Page]:
    """feed.xml, sitemap.xml, robots.txt, 404.html and .nojekyll."""
    config = context.config
    entries = [FeedEntry(title=p.title, url=p.url, date=p.date, updated=modified_date(p),
                         excerpt=excerpt_of(p), tags=tuple(as_list(p.get("tags")))) for p in ordered]
    urls = [("/", entries[0].last_changed if entries else None)]
    urls += [(entry.url, entry.last_changed) for entry in entries if entry.url]
    not_found = render_template(context.env, "layouts/404.html", {
        "site": context.site, "page": {"title": "404", "url": "/404.html", "layout": "404"}})
    return [Page("feed.xml", render_feed(entries, config)), Page("sitemap.xml", render_sitemap(urls, config)),
            Page("robots.txt", render_robots(config)), Page("404.html", not_found.encode("utf-8")),
            Page(".nojekyll", b"")]


def modified_date(post: Post) -> datetime | None:
    """`modified:` as an aware datetime, when it is one (Jekyll writes ISO 8601)."""
    value = post.get("modified") or post.get("last_modified_at")
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return None
    if isinstance(value, date) and not isinstance(value, datetime):
        value = datetime.combine(value, time())
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=post.date.tzinfo)
    return None

"""Site-wide pages built from the posts' metadata: home, tags, categories, archive, feed,
sitemap, previous/next links."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, time
from itertools import groupby
from typing import Any, Callable, Sequence

from builder.render.feed import FeedEntry, render_feed, render_robots, render_sitemap
from builder.core.model import Page, Post
from builder.render.page import PageView, RenderContext, excerpt_of, listing_page
from builder.source.reader import as_list
from builder.render.series import group_series, related_links, series_links, series_name
from builder.core.theme import THEME_DIR
from builder.render.templates import render_template
from builder.core.urls import category_url, output_path, tag_url, taxonomy_slug


# Browsers ask for /favicon.ico when a page (a feed, an image) names no icon; pages link
# `favicon:` from _config.yml, or the theme's assets/favicon.svg.
DEFAULT_FAVICON = THEME_DIR / "assets" / "favicon.ico"


@dataclass(frozen=True)
class Taxonomy:
    """Tags or categories: where a post's terms come from and where their pages live."""

    kind: str                           # "tags" or "categories", also the index's URL
    layout: str                         # layout of one term's page; the index uses `kind`
    url_of: Callable[[str], str]
    title_key: str                      # ui-text key of one term's page title

    def terms_of(self, post: Post) -> list[str]:
        return as_list(post.get(self.kind))


TAXONOMIES = (Taxonomy("tags", "tag", tag_url, "tag_title"),
              Taxonomy("categories", "category", category_url, "category_title"))


def sort_posts(posts: list[Post]) -> list[Post]:
    """Newest first; ties broken by path so the order never depends on the file system."""
    return sorted(posts, key=lambda p: (p.date, p.path), reverse=True)


def summary(post: Post) -> dict[str, Any]:
    """What a listing shows of a post."""
    return {"title": post.title, "url": post.url, "date": post.date, "excerpt": excerpt_of(post),
            "tags": as_list(post.get("tags")), "categories": as_list(post.get("categories")),
            "series": (series_name(post), post.get("series_order"))}


def neighbours(ordered: list[Post], summaries: list[dict[str, Any]] | None = None) -> dict[str, dict[str, Any]]:
    """post path -> what its page shows of other posts: 'previous' (older) and 'next' (newer)
    summaries, its 'series_box' and its 'related_posts'. Being part of the page's render key,
    a change to any of these renders the page again. `summaries`: those of `ordered`, if made."""
    links = {}
    boxes, related = series_links(ordered), related_links(ordered)
    if summaries is None:
        summaries = [summary(post) for post in ordered]     # each is shown twice: as next and as previous
    for index, post in enumerate(ordered):
        links[post.path] = {"previous": summaries[index + 1] if index + 1 < len(ordered) else None,
                            "next": summaries[index - 1] if index > 0 else None,
                            "series_box": boxes.get(post.path), "related_posts": related.get(post.path, [])}
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
                     "page": listing_page(context.config.title, page_url(number), "home")}
        html = render_template(context.env, "layouts/home.html", variables)
        path = "index.html" if number == 1 else f"page{number}/index.html"
        pages.append(Page(path, html.encode("utf-8")))
    return pages


def page_url(number: int) -> str:
    return "/" if number == 1 else f"/page{number}/"


def render_taxonomy_pages(ordered: list[Post], context: RenderContext) -> list[Page]:
    """/tags/ and /tags/<slug>/, /categories/ and /categories/<slug>/, and /archive/ by year."""
    pages = []
    for taxonomy in TAXONOMIES:
        terms = group_terms(ordered, taxonomy)
        pages += [render_term(term, taxonomy, context) for term in terms]
        pages.append(render_term_index(terms, taxonomy, context))
    return pages + render_series_pages(ordered, context) + [render_year_archive(ordered, context)]


def render_series_pages(ordered: list[Post], context: RenderContext) -> list[Page]:
    """/series/<slug>/ for every series: its parts in reading order."""
    ui = context.env.globals["ui"]
    pages = []
    for series in group_series(ordered):
        page = listing_page(f"{ui['series_title']}{ui['colon']}{series['name']}", series["url"], "series")
        pages.append(render_listing(page, {"posts": [summary(p) for p in series["posts"]]}, context))
    return pages


def group_terms(ordered: list[Post], taxonomy: Taxonomy) -> list[dict[str, Any]]:
    """One entry per term slug, sorted by name; spellings that share a slug ("PyTorch", "pytorch")
    share a page, named by the spelling most posts use."""
    by_slug: dict[str, dict[str, Any]] = {}
    for post in ordered:
        for name in dict.fromkeys(taxonomy.terms_of(post)):
            term = by_slug.setdefault(taxonomy_slug(name), {"names": Counter(), "posts": []})
            term["names"][name] += 1
            if not term["posts"] or term["posts"][-1] is not post:
                term["posts"].append(post)
    terms = []
    for term in by_slug.values():
        name = min(term["names"], key=lambda n: (-term["names"][n], n))
        terms.append({"name": name, "url": taxonomy.url_of(name), "count": len(term["posts"]),
                      "posts": [summary(p) for p in term["posts"]]})
    return sorted(terms, key=lambda term: (term["name"].casefold(), term["url"]))


def render_term(term: dict[str, Any], taxonomy: Taxonomy, context: RenderContext) -> Page:
    """One tag's or category's page: its posts, newest first."""
    ui = context.env.globals["ui"]
    page = listing_page(f"{ui[taxonomy.title_key]}{ui['colon']}{term['name']}", term["url"], taxonomy.layout)
    index = {"url": f"/{taxonomy.kind}/", "title": ui[f"{taxonomy.kind}_label"]}
    return render_listing(page, {"term": term, "posts": term["posts"], "index": index}, context)


def render_term_index(terms: list[dict[str, Any]], taxonomy: Taxonomy, context: RenderContext) -> Page:
    """/tags/ or /categories/: every term with its number of posts."""
    ui = context.env.globals["ui"]
    page = listing_page(ui[f"{taxonomy.kind}_label"], f"/{taxonomy.kind}/", taxonomy.kind)
    return render_listing(page, {"terms": terms}, context)


def render_year_archive(ordered: list[Post], context: RenderContext) -> Page:
    """/archive/: every post, grouped by year, newest first."""
    years = [{"year": year, "posts": [summary(p) for p in posts]}
             for year, posts in groupby(ordered, key=lambda p: p.date.year)]
    page = listing_page(context.env.globals["ui"]["archive_title"], "/archive/", "posts")
    return render_listing(page, {"years": years}, context)


def render_listing(page: PageView, variables: dict[str, Any], context: RenderContext) -> Page:
    html = render_template(context.env, f"layouts/{page.layout}.html",
                           {"site": context.site, "page": page, **variables})
    return Page(output_path(page.url, page.url), html.encode("utf-8"))


def render_site_files(ordered: list[Post], context: RenderContext, pages: Sequence[Post] = ()) -> list[Page]:
    """feed.xml, sitemap.xml, robots.txt, 404.html and .nojekyll; `pages` (from pages/) join the sitemap only."""
    config = context.config
    entries = [FeedEntry(title=p.title, url=p.url, date=p.date, updated=modified_date(p),
                         excerpt=excerpt_of(p), tags=tuple(as_list(p.get("tags")))) for p in ordered]
    urls = [("/", entries[0].last_changed if entries else None)]
    urls += [(entry.url, entry.last_changed) for entry, post in zip(entries, ordered)
             if entry.url and post.get("sitemap", True) is not False]
    urls += [(page.url, modified_date(page)) for page in pages if page.get("sitemap", True) is not False]
    not_found = render_template(context.env, "layouts/404.html", {
        "site": context.site, "page": listing_page("404", "/404.html", "404")})
    return [Page("feed.xml", render_feed(entries, config)), Page("sitemap.xml", render_sitemap(urls, config)),
            Page("robots.txt", render_robots(config)), Page("404.html", not_found.encode("utf-8")),
            Page(".nojekyll", b""), Page("favicon.ico", DEFAULT_FAVICON.read_bytes())]


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

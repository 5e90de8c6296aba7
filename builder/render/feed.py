"""The site's machine-readable files: Atom feed, sitemap and robots.txt.

Same input, same bytes: nothing here reads the clock. URLs are absolute
(`url` + `baseurl` + path); when `url` is not set they fall back to site-relative
URLs prefixed by `baseurl`, which feed readers may not resolve, so set `url`.
"""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import date, datetime, timezone
from urllib.parse import quote

from builder.core.config import SiteConfig

ATOM_NS = "http://www.w3.org/2005/Atom"
SITEMAP_NS = "http://www.sitemaps.org/schemas/sitemap/0.9"
XML_DECLARATION = '<?xml version="1.0" encoding="utf-8"?>\n'
# An empty feed has no newest post to date it by; the epoch keeps it reproducible.
EMPTY_FEED_UPDATED = datetime(1970, 1, 1, tzinfo=timezone.utc)
# Everything XML 1.0 cannot carry: control characters other than tab, LF and CR,
# lone surrogates, U+FFFE and U+FFFF.
ILLEGAL_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
# RFC 3986 reserved characters and '%' stay as written; anything else (spaces,
# non-ASCII slugs) is percent-encoded for the sitemap and robots.txt.
URL_SAFE = ":/?#[]@!$&'()*+,;=%~"


@dataclass(frozen=True)
class FeedEntry:
    """One post as the feed shows it; `url` is site-relative, dates are timezone-aware."""

    title: str
    url: str
    date: datetime
    updated: datetime | None = None
    excerpt: str = ""
    tags: tuple[str, ...] = ()
    content_html: str = ""

    def __post_init__(self) -> None:
        for name in ("date", "updated"):
            value = getattr(self, name)
            if value is not None and value.tzinfo is None:
                raise ValueError(f"FeedEntry {self.url!r}: `{name}` must be timezone-aware, got {value!r}")

    @property
    def last_changed(self) -> datetime:
        """`updated` when it is later than `date`, else `date`."""
        return max(self.date, self.updated) if self.updated else self.date


def render_feed(posts: list[FeedEntry], config: SiteConfig, limit: int = 20) -> bytes:
    """An Atom 1.0 feed of the first `limit` entries, in the order given (newest first)."""
    entries = list(posts)[:max(limit, 0)]
    home = absolute_url(config, "/")
    feed = ET.Element("feed", {"xmlns": ATOM_NS})
    add_text(feed, "id", home)
    add_text(feed, "title", config.title)
    if config.description:
        add_text(feed, "subtitle", config.description)
    add_text(feed, "updated", atom_date(feed_updated(entries)))
    add_link(feed, "self", absolute_url(config, "/feed.xml"), "application/atom+xml")
    add_link(feed, "alternate", home, "text/html")
    add_text(ET.SubElement(feed, "author"), "name", author_name(config))
    for entry in entries:
        feed.append(feed_entry(entry, config))
    return serialise(feed)


def feed_entry(entry: FeedEntry, config: SiteConfig) -> ET.Element:
    """One `<entry>` element."""
    url = absolute_url(config, entry.url)
    element = ET.Element("entry")
    add_text(element, "id", url)
    add_text(element, "title", entry.title)
    add_link(element, "alternate", url, "text/html")
    add_text(element, "published", atom_date(entry.date))
    add_text(element, "updated", atom_date(entry.last_changed))
    if entry.excerpt:
        add_text(element, "summary", entry.excerpt)
    for tag in entry.tags:
        if clean_text(tag).strip():
            ET.SubElement(element, "category", {"term": clean_text(tag)})
    if entry.content_html:
        add_text(element, "content", entry.content_html).set("type", "html")
    return element


def render_sitemap(urls: list[tuple[str, datetime | date | None]], config: SiteConfig) -> bytes:
    """A sitemaps.org urlset: one `<url>` per site-relative URL, with `<lastmod>` when known."""
    urlset = ET.Element("urlset", {"xmlns": SITEMAP_NS})
    for url, modified in urls:
        element = ET.SubElement(urlset, "url")
        add_text(element, "loc", encoded_url(absolute_url(config, url)))
        if modified is not None:
            add_text(element, "lastmod", sitemap_date(modified))
    return serialise(urlset)


def render_robots(config: SiteConfig) -> bytes:
    """robots.txt allowing everything and, when `url` is set, pointing at the sitemap."""
    lines = ["User-agent: *", "Allow: /"]
    if config.site_url:
        lines.append(f"Sitemap: {encoded_url(absolute_url(config, '/sitemap.xml'))}")
    return ("\n".join(lines) + "\n").encode("utf-8")


def absolute_url(config: SiteConfig, url: str) -> str:
    """`url` + `baseurl` + a site-relative URL; only `baseurl` + URL when `url` is unset."""
    return config.site_url + config.base + "/" + url.lstrip("/")


def encoded_url(url: str) -> str:
    """The URL with spaces and non-ASCII characters percent-encoded, as sitemaps require."""
    return quote(url, safe=URL_SAFE)


def feed_updated(entries: list[FeedEntry]) -> datetime:
    """The latest change among the entries, not the clock."""
    return max((entry.last_changed for entry in entries), default=EMPTY_FEED_UPDATED)


def author_name(config: SiteConfig) -> str:
    """The site author's name; Atom requires one, so the site title stands in."""
    return (config.author or {}).get("name") or config.title


def atom_date(value: datetime) -> str:
    """RFC 3339 to the second, e.g. 2017-08-11T11:55:22-04:00."""
    return value.isoformat(timespec="seconds")


def sitemap_date(value: datetime | date) -> str:
    """The W3C date (YYYY-MM-DD) of a date or datetime, in its own time zone."""
    return (value.date() if isinstance(value, datetime) else value).isoformat()


def clean_text(text: str) -> str:
    """`text` without the characters XML 1.0 cannot represent."""
    return ILLEGAL_XML.sub("", str(text))


def add_text(parent: ET.Element, tag: str, text: str) -> ET.Element:
    """Append `<tag>text</tag>`; ElementTree escapes it on output."""
    element = ET.SubElement(parent, tag)
    element.text = clean_text(text)
    return element


def add_link(parent: ET.Element, rel: str, href: str, media_type: str) -> None:
    ET.SubElement(parent, "link", {"rel": rel, "type": media_type, "href": clean_text(href)})


def serialise(root: ET.Element) -> bytes:
    """UTF-8 bytes with a double-quoted XML declaration and two-space indentation."""
    ET.indent(root, space="  ")
    return (XML_DECLARATION + ET.tostring(root, encoding="unicode") + "\n").encode("utf-8")

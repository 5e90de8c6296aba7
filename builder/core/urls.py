"""Slugs, permalinks, baseurl handling and safe output paths."""
from __future__ import annotations

import re
import unicodedata
from datetime import datetime

from builder.core.errors import ContainmentError, Location

PERMALINK_STYLES = {
    "date": "/:categories/:year/:month/:day/:title:output_ext",
    "pretty": "/:categories/:year/:month/:day/:title/",
    "ordinal": "/:categories/:year/:y_day/:title:output_ext",
    "none": "/:categories/:title:output_ext",
}
MAX_SEGMENT = 200
MAX_SLUG_BYTES = 150     # leaves room for an extension within MAX_SEGMENT
PAGE_SUFFIXES = {".html", ".htm", ".xml", ".txt", ".json"}


def slugify(text: str) -> str:
    """Lowercase words joined by '-'; letters of any script (CJK included) are kept."""
    text = unicodedata.normalize("NFKC", text).lower()
    words = re.findall(r"[^\W_]+", text)
    slug = "-".join(words).encode("utf-8")[:MAX_SLUG_BYTES].decode("utf-8", "ignore")
    return slug.strip("-")


def post_slug(text: str) -> str:
    """A post's URL segment from its file name or `slug:`, as Jekyll's `:title` makes it: case,
    letters, digits, `_`, `.` and `~` kept, anything else a '-'. (Tags are lowercased: `slugify`.)"""
    text = unicodedata.normalize("NFKC", text)
    slug = re.sub(r"[^\w.~-]+", "-", text).encode("utf-8")[:MAX_SLUG_BYTES].decode("utf-8", "ignore")
    return slug.strip("-.")


def taxonomy_slug(name: str) -> str:
    """The URL segment of a tag or category: its slug, or its code points when it has no letters."""
    return slugify(name) or "-".join(f"{ord(c):x}" for c in name.strip()) or "untitled"


def tag_url(name: str) -> str:
    """Site-relative URL of a tag's page, e.g. /tags/线性回归/."""
    return f"/tags/{taxonomy_slug(name)}/"


def category_url(name: str) -> str:
    """Site-relative URL of a category's page."""
    return f"/categories/{taxonomy_slug(name)}/"


def expand_permalink(pattern: str, date: datetime, slug: str, categories: list[str]) -> str:
    """Jekyll's permalink placeholders, expanded."""
    pattern = PERMALINK_STYLES.get(pattern, pattern)
    values = {
        "categories": "/".join(slugify(c) for c in categories),
        "year": f"{date.year:04d}", "month": f"{date.month:02d}", "day": f"{date.day:02d}",
        "i_month": str(date.month), "i_day": str(date.day), "short_year": f"{date.year % 100:02d}",
        "y_day": f"{date.timetuple().tm_yday:03d}", "title": slug, "slug": slug,
        "output_ext": ".html",
    }
    url = re.sub(r":(categories|year|month|day|i_month|i_day|short_year|y_day|title|slug|output_ext)",
                 lambda m: values[m.group(1)], pattern)
    return "/" + re.sub(r"/{2,}", "/", url).lstrip("/")


def output_path(url: str, where: Location | str) -> str:
    """The file a site-relative URL is written to, refusing anything that could escape."""
    check_url(url, where)
    path = url.lstrip("/")
    if not path or path.endswith("/"):
        path += "index.html"
    elif suffix(path) not in PAGE_SUFFIXES:
        path += "/index.html"
    return path


def suffix(path: str) -> str:
    """PurePosixPath(path).suffix for a path check_url accepted, without building the path."""
    name = path.rsplit("/", 1)[-1]
    dot = name.rfind(".")
    return name[dot:] if 0 < dot < len(name) - 1 else ""


def check_url(url: str, where: Location | str) -> None:
    if "\x00" in url or "\\" in url:
        raise ContainmentError(f"URL {url!r} contains a NUL or a backslash", where,
                               "Use only '/' as a separator in `permalink:`.")
    if not url.startswith("/"):
        raise ContainmentError(f"URL {url!r} must start with '/'", where, "Write `permalink: /path/`.")
    parts = url.split("/")
    if any(part in ("..", ".") for part in parts):
        raise ContainmentError(f"URL {url!r} contains '..' or '.'", where,
                               "A permalink cannot point outside the site; remove the dot segments.")
    if any(len(part.encode()) > MAX_SEGMENT for part in parts):
        raise ContainmentError(f"URL {url!r} has a segment longer than {MAX_SEGMENT} bytes", where,
                               "Shorten the title slug or set a shorter `permalink:`.")


def join_url(base: str, url: str) -> str:
    """baseurl + site-relative URL."""
    return base + ("/" + url.lstrip("/") if url else "/")

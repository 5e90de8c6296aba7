"""Check that every internal link and image of a built site points at a file that exists."""
from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

from builder.errors import BuildError

LINKING = {("a", "href"), ("img", "src"), ("link", "href"), ("script", "src"), ("source", "src")}


class LinkCollector(HTMLParser):
    def __init__(self):
        super().__init__()
        self.links: list[str] = []

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if (tag, name) in LINKING and value:
                self.links.append(value)


def broken_links(site: Path, base: str, failed: set[str] = frozenset()) -> list[BuildError]:
    """Every internal href/src in `site`'s HTML files whose target does not exist.

    Links to `failed` pages (posts that could not be built) are reported with the post instead.
    """
    problems = []
    for page in sorted(site.rglob("*.html")):
        collector = LinkCollector()
        collector.feed(page.read_text(encoding="utf-8"))
        relative = page.relative_to(site).as_posix()
        for link in collector.links:
            target = internal_target(link, base)
            if target is not None and target not in failed and not exists(site, target):
                problems.append(BuildError(f"broken link {link!r}", f"_site/{relative}",
                                           "Fix the link in the post or template, or add the missing file."))
    return problems


def internal_target(link: str, base: str) -> str | None:
    """The site-relative path a link points at, or None for external links and anchors."""
    parts = urlsplit(link)
    if parts.scheme or parts.netloc or not parts.path.startswith("/"):
        return None
    path = unquote(parts.path)
    if base and not (path == base or path.startswith(base + "/")):
        return path  # outside the baseurl: certainly broken
    return path[len(base):].lstrip("/")


def exists(site: Path, target: str) -> bool:
    path = site / target
    return path.is_file() or (path / "index.html").is_file()

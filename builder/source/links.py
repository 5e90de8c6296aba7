"""Check that every internal link and image points at a file that exists: in the built site, or
for a post's images, in the source tree before anything is written."""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

from builder.core.config import SiteConfig, is_excluded
from builder.core.errors import BuildError, Location, SourceError
from builder.source.frontmatter import find_nested_key_line
from builder.core.model import Post, Prose

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


# -- Images a post's Markdown refers to, checked against the source tree before writing --

MARKDOWN_IMAGE = re.compile(r"!\[(?:[^\[\]]|\[[^\[\]]*\])*\]\(\s*<?(?P<url>[^\s()<>]+(?:\([^\s()]*\))?)>?"
                            r"""(?:\s+(?:"[^"]*"|'[^']*'|\([^)]*\)))?\s*\)""")
HTML_IMAGE = re.compile(r"""<img\b[^>]*?\bsrc\s*=\s*(?:"(?P<dq>[^"]*)"|'(?P<sq>[^']*)'|(?P<bare>[^\s>]+))""",
                        re.IGNORECASE)
REFERENCE_IMAGE = re.compile(r"!\[(?P<alt>[^\[\]]*)\]\[(?P<ref>[^\[\]]*)\]")
REFERENCE_DEFINITION = re.compile(r"^ {0,3}\[(?P<ref>[^\[\]]+)\]:\s*<?(?P<url>\S+?)>?(?:\s.*)?$", re.MULTILINE)
FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
CODE_SPAN = re.compile(r"(`+)(?:(?!\1).)+?\1")
# The Liquid that imported Jekyll posts put in front of image paths: all of it means "this site".
SITE_URL_LIQUID = re.compile(r"\{\{-?\s*site\.url\s*-?\}\}")
BASEURL_LIQUID = re.compile(r"\{\{-?\s*site\.baseurl\s*-?\}\}")
URL_FILTER_LIQUID = re.compile(r"""\{\{-?\s*(?:"([^"]*)"|'([^']*)')\s*\|\s*(?:relative_url|absolute_url)\s*-?\}\}""")


@dataclass(frozen=True)
class PublishedFiles:
    """What the build copies into the site: the site's assets/ (less `exclude:`) and the theme's."""

    site_dir: Path
    base: str = ""
    theme_dir: Path | None = None
    config: SiteConfig | None = None


def missing_images(post: Post, site_dir: Path, base: str, theme_dir: Path | None = None,
                   config: SiteConfig | None = None) -> list[BuildError]:
    """Every site image the post shows (front matter images, Markdown or <img>) that will not be published.

    Looks in `site_dir` and, for assets/ outside assets/img/, in `theme_dir` (both are copied into
    the site); with `config`, a file that `exclude:` leaves out is missing too. Call it once the
    post's own figures are on disk (after execution, or with a frozen record), since a post may
    show a figure its own code produced. The problems are in file order.
    """
    files = PublishedFiles(site_dir, base, theme_dir, config)
    problems = front_matter_image_problems(post, files)
    for line, url in image_references(post, base):
        problem = image_problem(url, post.url, files)
        if problem:
            message, hint = problem
            problems.append(SourceError(message, Location(post.path, line), hint))
    return problems


def image_references(post: Post, base: str = "") -> list[tuple[int, str]]:
    """(line, URL) of each image in the post's prose, outside code, in source order."""
    found = []
    for block in post.blocks:
        if isinstance(block, Prose) and may_show_image(block.text):
            visible = expand_site_liquid(without_code(block.text), base)
            found += [(block.line + visible.count("\n", 0, start), url)
                      for start, url in sorted(images_in(visible))]
    return found


def may_show_image(text: str) -> bool:
    """False when `text` has neither `![` nor `<img`, so no image: most prose skips the search."""
    return "![" in text or "<img" in text.lower()


def images_in(text: str) -> list[tuple[int, str]]:
    """(offset, URL) of inline, reference-style and HTML images in Markdown `text`."""
    definitions = {m["ref"].lower(): m["url"] for m in REFERENCE_DEFINITION.finditer(text)}
    found = [(m.start(), m["url"]) for m in MARKDOWN_IMAGE.finditer(text)]
    found += [(m.start(), m["dq"] or m["sq"] or m["bare"] or "") for m in HTML_IMAGE.finditer(text)]
    for match in REFERENCE_IMAGE.finditer(text):
        url = definitions.get((match["ref"] or match["alt"]).lower())
        if url is not None:
            found.append((match.start(), url))
    return found


def without_code(text: str) -> str:
    """`text` with fenced code blocks and code spans blanked out, keeping offsets and line breaks."""
    lines, fence = text.split("\n"), None
    for index, line in enumerate(lines):
        match = FENCE.match(line)
        if fence is None and match:
            fence, lines[index] = match.group(1), ""
        elif fence is not None:
            stripped = line.strip()
            if stripped.startswith(fence) and set(stripped) == {fence[0]}:
                fence = None
            lines[index] = ""
    return CODE_SPAN.sub(lambda m: re.sub(r"[^\n]", " ", m.group(0)), "\n".join(lines))


def image_problem(url: str, page_url: str, files: PublishedFiles) -> tuple[str, str] | None:
    """(what is wrong, hint) for an image URL that will not show, or None."""
    if "{{" in url or "{%" in url:
        return None                      # other Liquid: only the build can tell
    parts = urlsplit(url.strip())
    if parts.scheme or parts.netloc or not parts.path:
        return None                      # another site's image, a data: URL or an anchor
    path, base = unquote(parts.path), files.base
    if not path.startswith("/"):
        resolved = urljoin(page_url, path).lstrip("/")   # relative to the post's page, not to posts/
        if is_published(resolved, files):
            return None
        return (f"the image {url} does not exist (a relative path is read from the page {page_url}, "
                f"so it names {resolved})", "Start the path with /, e.g. ![...](/assets/img/name.png), "
                "and put the file under assets/ in the site folder.")
    if base and not (path == base or path.startswith(base + "/")):
        return (f"the image {url} is outside the site's baseurl {base}, so it will not show once published",
                f"Write ![...]({{{{ \"{path}\" | relative_url }}}}) or start the path with {base}/.")
    return unpublished_image(url, path[len(base):].lstrip("/"), files)


def unpublished_image(url: str, target: str, files: PublishedFiles, named: str = "") -> tuple[str, str] | None:
    """(what is wrong, hint) when the site file `target` will not be in the built site, or None.

    `named` says where the URL came from (e.g. " named by `header.image`").
    """
    if is_published(target, files):
        return None
    if (files.site_dir / target).is_file() and files.config is not None and is_excluded(target, files.config):
        return (f"the image {url}{named} is left out of the site by `exclude:` in _config.yml",
                f"Remove the pattern that matches {target} from `exclude:`, or fix the path.")
    if target.startswith("assets/"):
        return (f"the image {url}{named} does not exist (no file {target} in the site folder)",
                f"Add the file {target} to the site folder, or fix the path.")
    moved = "assets/" + target
    if (files.site_dir / target).is_file():
        return (f"the image {url}{named} is not published: only assets/ is copied into the site, "
                f"so {target} stays behind", f"Move it to {moved} and write /{moved}.")
    return (f"the image {url}{named} does not exist (no file {target} in the site folder)",
            f"Add it as {moved} (only assets/ is copied into the site) and write /{moved}, "
            "or fix the path.")


def expand_site_liquid(text: str, base: str) -> str:
    """`text` with `{{ site.url }}` dropped (it names this site), `{{ site.baseurl }}` and
    `{{ "..." | relative_url }}` expanded; never adds a line break."""
    text = URL_FILTER_LIQUID.sub(lambda m: base + "/" + (m[1] if m[1] is not None else m[2]).lstrip("/"), text)
    return BASEURL_LIQUID.sub(lambda _: base, SITE_URL_LIQUID.sub("", text))


def is_published(target: str, files: PublishedFiles) -> bool:
    """The file will be in the built site: under assets/ in the site folder (and not excluded),
    or among the theme's assets that the build copies."""
    if not target.startswith("assets/") or ".." in target.split("/") or target.split("/")[-1].startswith("."):
        return False
    if (files.site_dir / target).is_file():
        return files.config is None or not is_excluded(target, files.config)
    return (files.theme_dir is not None and not target.startswith("assets/img/")
            and (files.theme_dir / target).is_file())


# -- Images named in the front matter; the templates put them through `relative_url` --

FRONT_MATTER_IMAGES = (("header", "image"), ("header", "overlay_image"), ("header", "teaser"),
                       ("header", "og_image"), ("teaser",), ("image",), ("image", "path"))


def front_matter_image_problems(post: Post, files: PublishedFiles) -> list[BuildError]:
    """A problem for each front-matter image that will not be in the built site, at its key's line."""
    problems, text = [], None
    for keys in FRONT_MATTER_IMAGES:
        url = nested_value(post.front_matter, keys)
        if not isinstance(url, str) or not url.strip() or urlsplit(url.strip()).scheme or url.startswith("//"):
            continue                     # absent, or another site's image: not ours to check
        target = unquote(urlsplit(expand_site_liquid(url.strip(), "")).path).lstrip("/")
        problem = unpublished_image(url, target, files, f" named by `{'.'.join(keys)}` in the front matter")
        if problem:
            text = text if text is not None else source_text(files.site_dir / post.path)
            line = find_nested_key_line(text, keys)
            problems.append(SourceError(problem[0], Location(post.path, line), problem[1]))
    return problems


def nested_value(mapping, keys: tuple[str, ...]):
    for key in keys:
        mapping = mapping.get(key) if isinstance(mapping, Mapping) else None
    return mapping


def source_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace").replace("\r\n", "\n")
    except OSError:
        return ""

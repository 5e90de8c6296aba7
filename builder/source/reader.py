"""Read a post's source file into a validated `Post`."""
from __future__ import annotations

import re
import warnings
from datetime import date, datetime, time, timezone
from pathlib import Path
from typing import Any, Callable
from zoneinfo import ZoneInfo

import yaml

from builder.core.config import SiteConfig, is_excluded
from builder.core.errors import BuildError, Location, SourceError, SourceErrors
from builder.source.frontmatter import check_front_matter, layout_names, split_front_matter
from builder.core.model import Block, CodeCell, Post, Prose
from builder.core.schema import CellOptions, FrontMatter
from builder.core.theme import template_dirs
from builder.core.urls import expand_permalink, post_slug, slugify

POST_NAME = re.compile(r"^(?P<date>\d{4}-\d{2}-\d{2})-(?P<slug>.+)\.(?:md|markdown)$")
FENCE_OPEN = re.compile(r"^(?P<fence>`{3,}|~{3,})[ \t]*\{?(?P<lang>[\w+.-]*)\}?[^`]*$")
EXECUTED_LANGUAGES = {"python", "python3", "py"}
# A page has no date of its own; this one keeps it sortable and reproducible.
PAGE_DATE = datetime(1970, 1, 1, tzinfo=timezone.utc)
PAGE_FRONT_MATTER: dict[str, Any] = {"layout": "single", "read_time": False, "comments": False}


def read_post(site_dir: Path, path: Path, config: SiteConfig) -> Post:
    """Parse and validate one post; raise SourceError naming the file and line."""
    rel, front, body, body_line = read_front(site_dir, path)
    slug, file_date = name_parts(path.name, rel)
    when = post_date(front.get("date"), file_date, config, rel)
    return make_post(rel, slug, when, front, body, body_line, post_url(front, config, when, url_slug(front, slug)))


def url_slug(front: dict[str, Any], slug: str) -> str:
    """The slug in the post's URL: front matter `slug`, as in Jekyll, else the file name's."""
    return post_slug(str(front.get("slug") or slug)) or "post"


def read_pages(site_dir: Path, config: SiteConfig) -> list[Post]:
    """Every standalone page under pages/ (about.md -> /about/), validated; all problems together.

    A page is a Post marked `collection: pages` in its front matter (see `is_page`): layout
    `single`, no date shown, no reading time, never listed. Its `date` is the front matter's
    or PAGE_DATE.
    """
    return read_all(source_files(site_dir, "pages", config), lambda path: read_page(site_dir, path, config))


def read_page(site_dir: Path, path: Path, config: SiteConfig) -> Post:
    """One standalone page; `permalink:` wins over /<file name>/."""
    rel, front, body, body_line = read_front(site_dir, path)
    stem = path.name.rsplit(".", 1)[0]
    when = post_date(front["date"], None, config, rel) if front.get("date") else PAGE_DATE
    front = PAGE_FRONT_MATTER | front | {"collection": "pages"}
    url = "/" + str(front["permalink"]).lstrip("/") if front.get("permalink") else f"/{slugify(stem) or 'page'}/"
    return make_post(rel, stem, when, front, body, body_line, url)


def read_drafts(site_dir: Path, config: SiteConfig, when: datetime) -> list[Post]:
    """Every draft under _drafts/ (no date in the name), dated `when` unless its front matter says."""
    return read_all(source_files(site_dir, "_drafts", config), lambda path: read_draft(site_dir, path, config, when))


def read_draft(site_dir: Path, path: Path, config: SiteConfig, when: datetime) -> Post:
    rel, front, body, body_line = read_front(site_dir, path)
    slug = path.name.rsplit(".", 1)[0]
    if front.get("date"):
        when = post_date(front["date"], None, config, rel)
    return make_post(rel, slug, when, front, body, body_line, post_url(front, config, when, url_slug(front, slug)))


def is_page(post: Post) -> bool:
    """True for a standalone page from pages/, which listings, feed and tags leave out."""
    return post.front_matter.get("collection") == "pages"


def source_files(site_dir: Path, folder: str, config: SiteConfig) -> list[Path]:
    """The Markdown files of `folder` (posts, pages or _drafts) that `exclude:` does not leave out."""
    paths = sorted((site_dir / folder).glob("*.md")) + sorted((site_dir / folder).glob("*.markdown"))
    return [path for path in paths if not is_excluded(f"{folder}/{path.name}", config)]


def read_all(paths: list[Path], read_one: Callable[[Path], Post]) -> list[Post]:
    """Read every file, then raise every problem at once."""
    posts, problems = [], []
    for path in paths:
        try:
            posts.append(read_one(path))
        except BuildError as error:
            problems.append(error)
    if problems:
        raise SourceErrors(problems)
    return posts


def read_front(site_dir: Path, path: Path) -> tuple[str, dict[str, Any], str, int]:
    """(site-relative path, validated front matter, body, line of the body's first line)."""
    rel = path.relative_to(site_dir).as_posix()
    text = read_text(path, rel)
    front, body, body_line = split_front_matter(text, rel)
    # Listing the theme's layouts costs a glob per template folder: only for a post that names one.
    layouts = layout_names(template_dirs(site_dir)) if "layout" in front else None
    problems = check_front_matter(front, rel, text, layouts)
    if problems:
        raise problems[0]
    return rel, front, body, body_line


def make_post(rel: str, name: str, when: datetime, front: dict[str, Any], body: str, body_line: int,
              url: str) -> Post:
    blocks = split_blocks(body, body_line, rel)
    separator = front.get("excerpt_separator")
    if separator and not front.get("excerpt") and separator in body:
        front = front | {"excerpt": plain_excerpt(body.partition(separator)[0])}
    title = str(front.get("title") or name.replace("-", " ").capitalize())
    return Post(path=rel, slug=slugify(name) or "post", date=when, title=title, front_matter=FrontMatter.from_given(front),
                blocks=blocks, url=url, body_line=body_line)


def plain_excerpt(markdown_text: str) -> str:
    """The text before `excerpt_separator`, as one line of plain text (links keep their words)."""
    text = re.sub(r"!\[[^\]]*\]\([^)]*\)", "", markdown_text)
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = re.sub(r"<[^>]*>|[*`#>]|\b_|_\b", "", text)
    return " ".join(text.split())


def read_text(path: Path, rel: str) -> str:
    data = path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data[:error.start].count(b"\n") + 1
        raise SourceError(f"the file is not valid UTF-8 (byte {error.start})", Location(rel, line),
                          "Save the file with UTF-8 encoding.") from None
    return text.lstrip("\ufeff").replace("\r\n", "\n")


def name_parts(name: str, rel: str) -> tuple[str, date | None]:
    match = POST_NAME.match(name)
    if not match:
        stem = name.rsplit(".", 1)[0]
        return stem, None
    try:
        return match["slug"], date.fromisoformat(match["date"])
    except ValueError:
        raise SourceError(f"the file name's date {match['date']} is not a real date", rel,
                          "Name posts YYYY-MM-DD-title.md with a valid date.") from None


def post_date(value: Any, file_date: date | None, config: SiteConfig, rel: str) -> datetime:
    zone = ZoneInfo(config.timezone)
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=zone)
    if isinstance(value, date):
        return datetime.combine(value, time(), zone)
    if file_date:
        return datetime.combine(file_date, time(), zone)
    raise SourceError("the post has no date", rel,
                      "Name the file YYYY-MM-DD-title.md or add `date: 2024-01-31` to the front matter.")


def post_url(front: dict, config: SiteConfig, when: datetime, slug: str) -> str:
    if front.get("permalink"):
        return "/" + str(front["permalink"]).lstrip("/")
    return expand_permalink(config.permalink, when, slug, as_list(front.get("categories")))


def as_list(value: Any) -> list[str]:
    """Jekyll accepts a list or a space-separated string for tags and categories."""
    if value is None:
        return []
    if isinstance(value, str):
        return value.split()
    return [str(item) for item in value]


def split_blocks(body: str, first_line: int, rel: str) -> tuple[Block, ...]:
    """Split the body into prose and executable code cells, keeping line numbers."""
    lines = body.split("\n")
    blocks: list[Block] = []
    prose_start, index = 0, 0
    while index < len(lines):
        match = FENCE_OPEN.match(lines[index])
        if not match:
            index += 1
            continue
        end = closing_fence(lines, index, match["fence"], first_line, rel)
        if match["lang"].lower() in EXECUTED_LANGUAGES:
            add_prose(blocks, lines[prose_start:index], first_line + prose_start)
            blocks.append(make_cell(lines[index + 1:end], first_line + index, rel))
            prose_start = end + 1
        index = end + 1
    add_prose(blocks, lines[prose_start:], first_line + prose_start)
    return number_cells(blocks)


def closing_fence(lines: list[str], start: int, fence: str, first_line: int, rel: str) -> int:
    for index in range(start + 1, len(lines)):
        stripped = lines[index].strip()
        if stripped.startswith(fence[0] * len(fence)) and set(stripped) == {fence[0]}:
            return index
    raise SourceError(f"the code block opened with {fence} is never closed",
                      Location(rel, first_line + start), f"Add a closing {fence} line.")


def add_prose(blocks: list[Block], lines: list[str], line: int) -> None:
    text = "\n".join(lines)
    if text.strip():
        blocks.append(Prose(text, line))


def make_cell(lines: list[str], fence_line: int, rel: str) -> CodeCell:
    source = "\n".join(lines)
    options = cell_options(lines, fence_line, rel)
    return CodeCell(number=0, source=source, fence_line=fence_line, options=options)


def number_cells(blocks: list[Block]) -> tuple[Block, ...]:
    numbered, count = [], 0
    for block in blocks:
        if isinstance(block, CodeCell):
            count += 1
            block = CodeCell(count, block.source, block.fence_line, block.options)
        numbered.append(block)
    return tuple(numbered)


def cell_options(lines: list[str], fence_line: int, rel: str) -> CellOptions:
    """Parse the `#| key: value` lines at the top of a cell."""
    options: dict[str, Any] = {}
    for offset, line in enumerate(lines, 1):
        if not line.startswith("#|"):
            break
        where = Location(rel, fence_line + offset)
        key, value = parse_option(line[2:].strip(), where)
        options[key] = value
    return CellOptions.from_given(options)


def parse_option(text: str, where: Location) -> tuple[str, Any]:
    try:
        parsed = yaml.safe_load(text)
    except (yaml.YAMLError, ValueError):
        parsed = None
    if not isinstance(parsed, dict) or len(parsed) != 1:
        raise SourceError(f"cannot read the cell option `#| {text}`", where,
                          "Write cell options as `#| key: value`, e.g. `#| label: loss-curve`.")
    (key, value), = parsed.items()
    declared = CellOptions.by_name()
    if key not in declared:
        warnings.warn(f"{where}: unknown cell option `{key}` is ignored")
    elif not isinstance(value, declared[key].types) and value is not None:
        raise SourceError(f"cell option `{key}` has the wrong type: {value!r}", where,
                          f"Known options: {', '.join(declared)}.")
    return str(key), value

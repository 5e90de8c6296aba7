"""Split and validate a post's YAML front matter."""
from __future__ import annotations

import re
import warnings
from pathlib import Path
from typing import Any, Collection, Iterable

import yaml

from builder.core.dates import first_bad_date_line
from builder.source.layouts import with_jekyll_aliases
from builder.core.errors import Location, SourceError
from builder.core.schema import FrontMatter, fits

FENCE = "---"
# Jekyll and Minimal Mistakes keys that imported posts carry but this theme does not act on:
# accepted with a note of what happens instead, so that nobody believes they work.
IGNORED_JEKYLL_KEYS: dict[str, str] = {
    "show_date": "every post shows its date and pages do not",
    "sidebar": "the sidebar shows the site author when `author_profile: true`",
    "redirect_from": "no redirect pages are made; keep the old URL with `permalink:`",
    "redirect_to": "no redirect pages are made",
    "link": "a link post's link is not shown; put the link in the text",
    "tagline": "the header shows `excerpt` under the title",
    "teaser": "list pages show no teaser images; `header.teaser` is used for link previews",
    "words_per_minute": "reading time uses a fixed words-per-minute rate",
    "canonical_url": "the canonical URL is the page's own URL",
    "hidden": "the post is still listed; use `published: false` to leave it out",
    "locale": "write the page's language as `lang:`",
}


# libyaml's loader parses front matter many times faster than PyYAML's Python one, with the same
# safe constructors; wheels without libyaml fall back to the Python loader.
FAST_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_yaml(text: str) -> Any:
    try:
        return yaml.load(text, Loader=FAST_SAFE_LOADER)
    except (yaml.YAMLError, ValueError):
        # The Python loader names the offending character ("found character '\\t'"); libyaml does not.
        return yaml.safe_load(text)


def split_front_matter(text: str, path: str) -> tuple[dict[str, Any], str, int]:
    """Return (front matter, body, line number of the body's first line)."""
    lines = text.split("\n")
    if not lines or lines[0].rstrip() != FENCE:
        return {}, text, 1
    closing = next((i for i, line in enumerate(lines[1:], 1) if line.rstrip() in (FENCE, "...")), None)
    if closing is None:
        raise SourceError("the front matter has no closing `---`", Location(path, 1),
                          "Did you forget the closing `---` line after the YAML block?")
    data = parse_yaml("\n".join(lines[1:closing]), path)
    return data, "\n".join(lines[closing + 1:]), closing + 2


def parse_yaml(text: str, path: str) -> dict[str, Any]:
    try:
        data = load_yaml(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = mark.line + 2 if mark else 1   # +1 for 1-based, +1 for the opening fence
        problem = getattr(error, "problem", None) or "cannot be parsed"
        raise SourceError(f"invalid YAML in the front matter: {problem}", Location(path, line),
                          "Indent with spaces (not tabs) and quote values that contain ': ' or start with a symbol.") from None
    except ValueError as error:   # PyYAML's timestamps: `date: 2020-02-30` is not a real date
        raise SourceError(f"invalid date in the front matter: {error}", Location(path, first_bad_date_line(text)),
                          "Write a real date (YYYY-MM-DD), or quote the value to keep it as text.") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise SourceError("the front matter must be `key: value` lines", Location(path, 2),
                          "Write one `key: value` per line between the two `---` lines.")
    return data


def check_front_matter(data: dict[str, Any], path: str, text: str,
                       layouts: Collection[str] | None = None) -> list[SourceError]:
    """Type problems of known keys; unknown keys only warn. `text` is the whole source file.

    With `layouts` (the names in templates/layouts/, see `layout_names`), an unknown layout is a problem too.
    """
    problems, declared = [], FrontMatter.by_name()
    for key, value in data.items():
        if key not in declared:
            warn_unused_key(key, path, text)
            continue
        if value is not None and not fits(value, declared[key].types):
            problems.append(SourceError(f"front matter `{key}` must be {declared[key].help}, not {value!r}",
                                        Location(path, find_key_line(text, key)),
                                        f"Change `{key}:` in the front matter."))
    layout = data.get("layout")
    if layouts is not None and isinstance(layout, str) and layout not in layouts:
        problems.append(unknown_layout(layout, path, text, layouts))
    return problems


def warn_unused_key(key: Any, path: str, text: str) -> None:
    """One warning for a key the theme does not use: what happens instead, or that it is unknown."""
    line = find_key_line(text, key)
    where = path if line is None else f"{path}:{line}"
    if key in IGNORED_JEKYLL_KEYS:
        warnings.warn(f"{where}: front matter `{key}` has no effect here: {IGNORED_JEKYLL_KEYS[key]}")
    else:
        warnings.warn(f"{where}: unknown front matter key `{key}` (not used by the theme; "
                      f"available to templates as page.{key})")


def unknown_layout(layout: str, path: str, text: str, layouts: Collection[str]) -> SourceError:
    return SourceError(f"unknown layout `{layout}` (available: {', '.join(sorted(layouts)) or 'none'})",
                       Location(path, find_key_line(text, "layout")),
                       f"Use one of the available layouts, or create templates/layouts/{layout}.html "
                       "in the site folder.")


def layout_names(template_folders: Iterable[Path]) -> list[str]:
    """The layouts a post may name: `layouts/*.html` in any of the template folders."""
    return with_jekyll_aliases(p.stem for folder in template_folders for p in Path(folder).glob("layouts/*.html"))


def find_key_line(text: str, key: str) -> int | None:
    """The line of a top-level `key:` in the file's front matter."""
    pattern = re.compile(rf"^{re.escape(str(key))}\s*:")
    for number, line in enumerate(text.split("\n")[1:], 2):
        if line.rstrip() == FENCE:
            return None
        if pattern.match(line):
            return number
    return None


def find_nested_key_line(text: str, keys: tuple[str, ...]) -> int | None:
    """The line of `keys[0]:`, or of its indented `keys[1]:` when there is one; for messages."""
    line = find_key_line(text, keys[0])
    if line is None or len(keys) == 1:
        return line
    child = re.compile(rf"^\s+{re.escape(keys[1])}\s*:")
    lines = text.split("\n")
    for number in range(line + 1, len(lines) + 1):
        current = lines[number - 1]
        if current.rstrip() == FENCE or (current[:1].strip() and not current.startswith("#")):
            break                        # the end of the front matter, or the next top-level key
        if child.match(current):
            return number
    return line

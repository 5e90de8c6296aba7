"""Start a new post, or bring one in from a legacy Jekyll post or a Jupyter notebook
(Python tutorial scripts: builder.source.gallery).

These commands write source files under `posts/`, never the built site, and never replace a
file that is already there.
"""
from __future__ import annotations

import json
import re
import shutil
from datetime import date, datetime
from pathlib import Path
from typing import Any

import nbformat
import yaml

from builder.core.errors import SourceError
from builder.source.frontmatter import find_nested_key_line, split_front_matter
from builder.source.links import FRONT_MATTER_IMAGES, nested_value
from builder.source.reader import EXECUTED_LANGUAGES, FENCE_OPEN, POST_NAME, closing_fence, read_text
from builder.core.urls import slugify

POSTS = "posts"
EXCERPT_PLACEHOLDER = "TODO: one sentence on what this tutorial teaches."
STARTER_BODY = """
Say what this tutorial teaches and what the reader should already know.

```python
import torch

print(torch.__version__)
```
"""
# A pasted output is an indented block (Markdown's code block); a stale figure is an image alone on its line.
INDENTED = re.compile(r"^(?: {4}|\t)")
IMAGE_LINE = re.compile(r"^[ ]{0,3}!\[[^\]]*\]\([^)]*\)\s*$")
HEADING = re.compile(r"^[ ]{0,3}#[ \t]+(?P<title>.+?)(?:[ \t]+#+)?[ \t]*$")


# new post

def new_post(site_dir: Path, title: str, today: date) -> Path:
    """Create `posts/<today>-<slug>.md` with front matter and one starter cell; return its path."""
    title = title.strip()
    path = site_dir / POSTS / f"{today.isoformat()}-{title_slug(title)}.md"
    write_new(path, front_matter_text(post_front_matter(title)) + STARTER_BODY,
              f"Pick another title, or delete {path} first.")
    return path


def title_slug(title: str) -> str:
    slug = slugify(title)
    if not slug:
        raise SourceError(f"the title {title!r} has no letters or digits to name the file after", None,
                          'Use a title with at least one letter or digit, e.g. "Linear regression".')
    return slug


def post_front_matter(title: str) -> dict[str, Any]:
    return {"layout": "single", "title": title, "excerpt": EXCERPT_PLACEHOLDER, "tags": [],
            "toc": False, "author_profile": True}


def front_matter_text(data: dict[str, Any]) -> str:
    # safe_dump quotes whatever YAML would misread (': ', '#', 'yes', '2024'); width keeps titles on one line.
    dumped = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=10**6)
    return f"---\n{dumped}---\n"


def write_new(path: Path, text: str, hint: str) -> None:
    """Write a new source file; refuse to replace one that exists."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with path.open("x", encoding="utf-8", newline="\n") as file:
            file.write(text)
    except FileExistsError:
        raise SourceError("a file with this name already exists", str(path), hint) from None


# legacy Jekyll post

def import_jekyll_post(source: Path, site_dir: Path) -> tuple[Path, list[str]]:
    """Copy a legacy post into `posts/`, dropping pasted outputs and stale image links after code."""
    where = str(source)
    text = read_source(source)
    front, _, body_line = split_front_matter(text, where)
    lines = text.split("\n")
    body, changes = drop_pasted_outputs(lines[body_line - 1:], body_line, where)
    name, renamed = dated_name(source.name, front, where)
    path = site_dir / POSTS / name
    head, image_changes = bring_front_matter_images(front, lines[:body_line - 1], source, site_dir)
    write_new(path, "\n".join(head + body), f"Delete {path} first, or rename {source.name} before importing it.")
    return path, renamed + image_changes + changes


def bring_front_matter_images(front: dict[str, Any], head: list[str], source: Path,
                              site_dir: Path) -> tuple[list[str], list[str]]:
    """Copy the header images the front matter names from the old blog into assets/; comment out
    the lines of those that are nowhere, since the build stops on a missing image."""
    head, changes = list(head), []
    old_blog = source.parent.parent if source.parent.name in ("_posts", "_drafts") else None
    for keys in FRONT_MATTER_IMAGES:
        url = nested_value(front, keys)
        if not isinstance(url, str) or re.match(r"^([a-z][a-z0-9+.-]*:|//)", url.strip(), re.IGNORECASE):
            continue
        target = url.strip().split("?")[0].split("#")[0].lstrip("/")
        if is_site_file(site_dir, target):
            continue
        name = ".".join(keys)
        if old_blog and target.startswith("assets/") and is_site_file(old_blog, target):
            (site_dir / target).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(old_blog / target, site_dir / target)
            changes.append(f"copied {target} (front matter `{name}`) from {old_blog}")
            continue
        line = find_nested_key_line("\n".join(head), keys)
        if line is not None and not head[line - 1].lstrip().startswith("#"):
            head[line - 1] = re.sub(r"^(\s*)", r"\1# ", head[line - 1], count=1)
            changes.append(f"line {line}: commented out front matter `{name}`: {url} is not in the site; "
                           + restore_hint(target))
    return head, changes


def restore_hint(target: str) -> str:
    if target.startswith("assets/"):
        return f"add the file {target} and uncomment the line"
    return f"add the file as assets/{target}, point the line at /assets/{target} and uncomment it"


def is_site_file(folder: Path, target: str) -> bool:
    return bool(target) and ".." not in target.split("/") and (folder / target).is_file()


def read_source(source: Path) -> str:
    try:
        return read_text(source, str(source))
    except OSError as error:
        raise SourceError(f"cannot read the file: {error.strerror or error}", str(source),
                          "Check the path; the file must exist and be readable.") from None


def drop_pasted_outputs(lines: list[str], first_line: int, where: str) -> tuple[list[str], list[str]]:
    """The body without the outputs and images pasted after python cells, and what was removed."""
    kept: list[str] = []
    changes: list[str] = []
    index, cell = 0, 0
    while index < len(lines):
        match = FENCE_OPEN.match(lines[index])
        if not match:
            kept.append(lines[index])
            index += 1
            continue
        end = closing_fence(lines, index, match["fence"], first_line, where)
        kept.extend(lines[index:end + 1])
        index = end + 1
        if match["lang"].lower() in EXECUTED_LANGUAGES:
            cell += 1
            resume, removed = pasted_after(lines, index, cell, first_line)
            if removed:
                kept.append("")           # one blank line where the pasted material was
                changes.extend(removed)
                index = resume
    return kept, changes


def pasted_after(lines: list[str], start: int, cell: int, first_line: int) -> tuple[int, list[str]]:
    """Where prose resumes after cell `cell`, skipping pasted output and image links, and notes on each."""
    index, changes = start, []
    while True:
        while index < len(lines) and not lines[index].strip():
            index += 1
        line = lines[index] if index < len(lines) else ""
        if line.strip() and INDENTED.match(line):
            end = indented_end(lines, index)
            changes.append(f"line {first_line + index}: removed {end - index} lines of pasted output "
                           f"after cell {cell}")
        elif IMAGE_LINE.match(line):
            end = index + 1
            changes.append(f"line {first_line + index}: removed stale image link {line.strip()} "
                           f"after cell {cell}")
        else:
            return index, changes
        index = end


def indented_end(lines: list[str], start: int) -> int:
    """The end (exclusive) of the indented block at `start`; blank lines inside it belong to it."""
    end = start
    for index in range(start, len(lines)):
        if not lines[index].strip():
            continue
        if not INDENTED.match(lines[index]):
            break
        end = index + 1
    return end


def dated_name(name: str, front: dict[str, Any], where: str) -> tuple[str, list[str]]:
    """Posts are named YYYY-MM-DD-slug.md; an undated legacy name gets the front matter's date."""
    if POST_NAME.match(name):
        return name, []
    key = next((k for k in ("date", "modified") if as_date(front.get(k))), None)
    if key is None:
        raise SourceError("the file name has no date and the front matter has no `date:` or `modified:`",
                          where, "Rename the file YYYY-MM-DD-title.md, or add `date: 2024-01-31` "
                                 "to its front matter.")
    dated = f"{as_date(front[key]).isoformat()}-{name}"
    return dated, [f"renamed {name} to {dated} (date from the front matter's `{key}:`)"]


def as_date(value: Any) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip()[:10])
        except ValueError:
            return None
    return None


# Jupyter notebook

def import_notebook(source: Path, site_dir: Path, today: date,
                    day: date | None = None) -> tuple[Path, list[str]]:
    """Turn a .ipynb into a post: markdown cells become prose, code cells ```python, outputs dropped.
    Its date is `day`, else the notebook's metadata `date`, else `today`."""
    where = str(source)
    notebook = read_notebook(source)
    check_language(notebook, where)
    title, sources, changes = notebook_title(notebook, source)
    day = day or notebook_date(notebook.metadata.get("date"), today, where)
    blocks, notes = notebook_blocks(notebook.cells, sources)
    path = site_dir / POSTS / f"{day.isoformat()}-{title_slug(title)}.md"
    body = "".join(f"\n{block}\n" for block in blocks)
    write_new(path, front_matter_text(post_front_matter(title)) + body,
              f"Delete {path} first, or set another `title` in the notebook's metadata.")
    return path, changes + notes


def read_notebook(source: Path) -> nbformat.NotebookNode:
    text = read_source(source)
    try:
        notebook = nbformat.reads(text, as_version=4, capture_validation_error={})
        nbformat.validate(notebook)
    except (nbformat.ValidationError, json.JSONDecodeError, ValueError, KeyError, TypeError) as error:
        summary = str(error).strip().split("\n")[0]
        raise SourceError(f"not a valid Jupyter notebook: {summary}", str(source),
                          "Open and save it in Jupyter, or check that it is an .ipynb file.") from None
    return notebook


def check_language(notebook: nbformat.NotebookNode, where: str) -> None:
    metadata = notebook.metadata
    language = (metadata.get("kernelspec", {}).get("language")
                or metadata.get("language_info", {}).get("name") or "python")
    if str(language).lower() not in EXECUTED_LANGUAGES:
        raise SourceError(f"the notebook's language is {language}, not Python", where,
                          "Only Python notebooks can become posts.")


def notebook_title(notebook: nbformat.NotebookNode, source: Path) -> tuple[str, list[str], list[str]]:
    """The title and the cells' sources, less the first markdown cell's `# heading` if it gave the title."""
    sources = [cell.source for cell in notebook.cells]
    title = notebook.metadata.get("title")
    if isinstance(title, str) and title.strip():
        return title.strip(), sources, []
    first = next((i for i, cell in enumerate(notebook.cells) if cell.cell_type == "markdown"), None)
    lines = sources[first].split("\n") if first is not None else []
    heading = next((i for i, line in enumerate(lines) if HEADING.match(line)), None)
    if heading is None:
        title = re.sub(r"[_-]+", " ", source.stem).strip()
        return title, sources, [f"the notebook has no title: used its file name, {title!r}"]
    title = HEADING.match(lines[heading])["title"].strip()
    sources[first] = "\n".join(lines[:heading] + lines[heading + 1:]).strip("\n")
    return title, sources, [f"cell {first + 1}: the heading '# {title}' became the title"]


def notebook_date(value: Any, today: date, where: str) -> date:
    if value is None:
        return today
    day = as_date(value)
    if day is None:
        raise SourceError(f"the notebook's metadata `date` {value!r} is not a date", where,
                          'Write it as "2024-01-31" in the notebook metadata, or remove it.')
    return day


def notebook_blocks(cells: list, sources: list[str]) -> tuple[list[str], list[str]]:
    """Markdown text for each kept cell, and notes on what was left out."""
    blocks, notes, with_outputs = [], [], []
    for number, (cell, text) in enumerate(zip(cells, sources), 1):
        text = text.strip("\n")
        if cell.cell_type == "raw":
            notes.append(f"cell {number}: dropped a raw cell")
        elif not text.strip():
            continue
        elif cell.cell_type == "markdown":
            blocks.append(text)
            notes.extend(attachment_notes(cell, number))
        elif cell.cell_type == "code":
            blocks.append(code_block(cell, text))
            with_outputs += [number] if cell.get("outputs") else []
    if with_outputs:
        cells_text = ("cell " if len(with_outputs) == 1 else "cells ") + ", ".join(map(str, with_outputs))
        notes.append(f"dropped the outputs of {cells_text}: the build runs the code again")
    return blocks, notes


def code_block(cell: nbformat.NotebookNode, text: str) -> str:
    """A ```python fence; the cell's tags become `#|` options the builder reads."""
    tags = list(cell.get("metadata", {}).get("tags", []))
    options = []
    if "skip-execution" in tags:
        tags.remove("skip-execution")
        options.append("#| eval: false")
    if tags:
        options.append(f"#| tags: {yaml.safe_dump(tags, default_flow_style=True, width=10**6).strip()}")
    return "\n".join(["```python", *options, text, "```"])


def attachment_notes(cell: nbformat.NotebookNode, number: int) -> list[str]:
    names = sorted(cell.get("attachments", {}))
    if not names:
        return []
    return [f"cell {number}: attachments {', '.join(names)} were not imported; "
            f"save them under assets/ and link them from the post"]

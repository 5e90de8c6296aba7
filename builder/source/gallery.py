"""Import a Python script written as a tutorial: a sphinx-gallery example or a jupytext percent script.

The script is split into prose and code by jupytext (its `sphinx` and `percent` formats), not by
a parser of ours; sphinx-gallery prose is reStructuredText and becomes Markdown (builder.source.rst).
"""
from __future__ import annotations

import re
from datetime import date
from pathlib import Path

from builder.core.errors import SourceError
from builder.source.rst import first_heading, plain, rst_to_markdown
from builder.source.scaffold import (HEADING, POSTS, front_matter_text, post_front_matter, read_source,
                                     title_slug, write_new)

PERCENT_CELL = re.compile(r"^# ?%%", re.MULTILINE)
# A module docstring first (after comments, blank lines and a shebang/encoding line): sphinx-gallery.
DOCSTRING_FIRST = re.compile(r'^(?:[ \t]*(?:#[^\n]*)?\n)*[ \t]*[rRuU]?("""|\'\'\')')
MATPLOTLIB_MAGIC = "%matplotlib inline"        # jupytext adds it to sphinx-gallery notebooks
# sphinx-gallery (since 0.8) also separates blocks with `# %%`; jupytext's sphinx reader knows only
# the older line of `#` characters, so the one is rewritten as the other before reading.
GALLERY_PERCENT = re.compile(r"^# ?%%[ \t]*$", re.MULTILINE)
HASH_LINE = "#" * 79


def script_format(text: str) -> str:
    """jupytext's format for the script: `sphinx` (a gallery example) or `percent`."""
    if DOCSTRING_FIRST.match(text):
        return "sphinx"
    if PERCENT_CELL.search(text):
        return "percent"
    return "sphinx"


def import_script(source: Path, site_dir: Path, day: date) -> tuple[Path, list[str]]:
    """Turn a gallery or percent script into `posts/<day>-<slug>.md`: prose, then ```python cells."""
    text = read_source(source)
    kind = script_format(text)
    cells = read_cells(text, kind, source)
    title, cells, levels, notes = script_title(cells, kind, source)
    blocks = markdown_blocks(cells, kind, levels, notes)
    if not any(block.startswith("```python\n") for block in blocks):
        notes.append("the script has no code outside its prose: the post runs nothing")
    path = site_dir / POSTS / f"{day.isoformat()}-{title_slug(title)}.md"
    body = "".join(f"\n{block}\n" for block in blocks)
    write_new(path, front_matter_text(post_front_matter(title)) + body,
              f"Delete {path} first, or rename the script's first heading.")
    return path, [f"read as a {'sphinx-gallery' if kind == 'sphinx' else 'percent'} script"] + notes


def read_cells(text: str, kind: str, source: Path) -> list[tuple[str, str]]:
    """(cell type, source) pairs, as jupytext splits the script."""
    try:
        import jupytext
    except ImportError:
        raise SourceError("importing a Python script needs jupytext, which is not installed", str(source),
                          "pip install -r requirements-exec.txt (it pins jupytext).") from None
    try:
        text = GALLERY_PERCENT.sub(HASH_LINE, text) if kind == "sphinx" else text
        notebook = jupytext.reads(text, fmt=f"py:{kind}")
    except Exception as error:  # noqa: BLE001 - jupytext raises many kinds on malformed input
        raise SourceError(f"jupytext cannot read the script as {kind} format: {error}", str(source),
                          "Check that it is Python (a syntax error shows with `python -m py_compile`).") from None
    cells = [(cell.cell_type, cell.source.strip("\n")) for cell in notebook.cells]
    return [(kind_, body) for kind_, body in cells if body.strip() and body.strip() != MATPLOTLIB_MAGIC]


def script_title(cells: list[tuple[str, str]], kind: str,
                 source: Path) -> tuple[str, list[tuple[str, str]], list[str], list[str]]:
    """The title from the first prose cell's first heading (removed there), else the file name;
    also the RST heading styles seen, so that the next style down becomes `##`."""
    first = next((i for i, (cell_type, _) in enumerate(cells) if cell_type == "markdown"), None)
    found = heading_of(cells[first][1], kind) if first is not None else None
    if found is None:
        title = re.sub(r"[_-]+", " ", source.stem).strip()
        return title, cells, [], [f"the script has no heading: used its file name, {title!r}, as the title"]
    title, rest, style = found
    title = plain(title) if kind == "sphinx" else title
    cells = list(cells)
    cells[first] = ("markdown", rest.strip("\n"))
    return title, cells, [style] if style else [], [f"the heading {title!r} became the title"]


def heading_of(text: str, kind: str) -> tuple[str, str, str] | None:
    if kind == "sphinx":
        return first_heading(text)
    lines = text.split("\n")
    at = next((i for i, line in enumerate(lines) if HEADING.match(line)), None)
    if at is None:
        return None
    return HEADING.match(lines[at])["title"].strip(), "\n".join(lines[:at] + lines[at + 1:]), ""


def markdown_blocks(cells: list[tuple[str, str]], kind: str, levels: list[str],
                    notes: list[str]) -> list[str]:
    """The post's body, one block per cell; RST prose converted, code fenced as ```python."""
    blocks = []
    for cell_type, text in cells:
        if not text.strip():
            continue
        if cell_type == "code":
            blocks.append(f"```python\n{text}\n```")
        elif kind == "sphinx":
            converted, dropped = rst_to_markdown(text, levels)
            notes.extend(dropped)
            blocks.extend([converted] if converted.strip() else [])
        else:
            blocks.append(text)
    return blocks

"""A post's body to HTML: Liquid, then Markdown, with each code cell and its outputs in place."""
from __future__ import annotations

import functools
import importlib
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import markdown
from markdown.extensions import Extension
from markdown.extensions.toc import slugify_unicode
from markdown.preprocessors import Preprocessor
from pygments import highlight
from pygments.formatters import HtmlFormatter

from builder.render.liquid import LiquidContext, expand_liquid
from builder.core.errors import Location, SourceError, in_file_order
from builder.render.citations import CitationExtension
from builder.render.markdown_shortcuts import ShortcutsExtension
from builder.render.python_lexer import python_lexer
from builder.render.kramdown import KramdownSettings, kramdown_settings, markdown_extensions
from builder.formats.mathml import MathError, MathExtension
from builder.core.model import CodeCell, ExecutedPost, Prose

# Private-use characters: Python-Markdown strips STX/ETX, and authors never type these.
MARK = "\ue000"
CELL_MARKER = MARK + "builder-cell:{}" + MARK
TOC_MARKER = MARK + "builder-toc" + MARK


@dataclass(frozen=True)
class Body:
    """A rendered post body and its table of contents."""

    html: str
    toc: str                      # <ul>...</ul> of the headings, or ""
    toc_placed: bool              # Liquid asked for the TOC at TOC_MARKER in `html`


class CellExtension(Extension):
    """Puts pre-rendered cell HTML where each cell's marker line stands, untouched by Markdown."""

    def __init__(self, cells: dict[str, str]):
        super().__init__()
        self.cells = cells

    def extendMarkdown(self, md: markdown.Markdown) -> None:
        md.preprocessors.register(CellPreprocessor(md, self), "builder_cells", 25)


class CellPreprocessor(Preprocessor):
    def __init__(self, md: markdown.Markdown, extension: CellExtension):
        super().__init__(md)
        self.extension = extension

    def run(self, lines: list[str]) -> list[str]:
        cells = self.extension.cells
        return [self.md.htmlStash.store(cells[line]) if line in cells else line for line in lines]


class ModuleNamedMarkdown(markdown.Markdown):
    """Python-Markdown loading an extension named as a module ("tables" for its own, or
    "pymdownx.highlight", which superfences adds by name) from that module: looking a name up
    among entry points first reads every installed package's metadata (6 ms of a build process
    here, 35 ms when nothing had read it yet)."""

    def build_extension(self, ext_name: str, configs: Mapping[str, Any]) -> Extension:
        modules = [] if ":" in ext_name else [ext_name] if "." in ext_name else [
            f"markdown.extensions.{ext_name}", ext_name]
        for module in modules:
            try:
                return importlib.import_module(module).makeExtension(**configs)
            except ModuleNotFoundError as error:
                if error.name != module:
                    raise
        return super().build_extension(ext_name, configs)


def new_markdown(cells: dict[str, str]) -> markdown.Markdown:
    return configured_markdown(CellExtension(cells))


def configured_markdown(cell_extension: CellExtension, shortcuts: bool = True,
                        kramdown: KramdownSettings = KramdownSettings()) -> markdown.Markdown:
    """Our Python-Markdown; `shortcuts=False` leaves its own (slower, same-output) parsing loops."""
    # kramdown's block and span syntax, typography and heading ids (builder/render/kramdown.py).
    kramdown_extensions, kramdown_configs = markdown_extensions(kramdown, TOC_MARKER)
    return ModuleNamedMarkdown(extensions=kramdown_extensions + [
        "codehilite", "toc", MathExtension(), CitationExtension(), cell_extension,
    ] + ([ShortcutsExtension()] if shortcuts else []), extension_configs=kramdown_configs | {
        "codehilite": {"css_class": "highlight", "guess_lang": False},
        "toc": {"slugify": slugify_unicode, "permalink": False, "toc_depth": "2-4",
                "marker": ""},   # our TOC goes where Liquid asks; no "[TOC]" search over every tree
    }, output_format="html")


_reusable = threading.local()


def markdown_for(cells: dict[str, str], kramdown: KramdownSettings = KramdownSettings()) -> markdown.Markdown:
    """This thread's Markdown converter, reset and given `cells`.

    Setting up a converter with its extensions costs more than converting a short post, so each
    thread keeps one; `reset()` clears what a conversion leaves (stash, footnotes, TOC, references).
    """
    if getattr(_reusable, "kramdown", None) != kramdown:
        _reusable.cell_extension = CellExtension({})
        _reusable.md = configured_markdown(_reusable.cell_extension, kramdown=kramdown)
        _reusable.kramdown = kramdown
    _reusable.md.reset()
    _reusable.cell_extension.cells = cells
    return _reusable.md


def render_body(executed: ExecutedPost, liquid: LiquidContext, render_cell) -> Body:
    """Render prose and cells; `render_cell(cell, outputs)` returns a cell's HTML."""
    post = executed.post
    parts, cells, problems = [], {}, []
    for block in post.blocks:
        if isinstance(block, Prose):
            parts.append(expand_liquid(clean_prose(block.text), liquid, post.path, block.line, problems))
        else:
            marker = CELL_MARKER.format(block.number)
            cells[marker] = render_cell(block, executed.outputs_of(block))
            parts.append(f"\n{marker}\n")
    if problems:   # every Liquid problem of the post at once
        raise in_file_order(problems)
    md = markdown_for(cells, kramdown_settings(liquid.site.get("kramdown")))
    try:
        html = md.convert("\n".join(parts))
    except MathError as error:
        raise SourceError(str(error), Location(post.path, line_of(post, error.tex)),
                          "Fix the TeX, or write \\$ for a literal dollar sign.") from None
    toc = toc_list(md)
    return Body(html.replace(f"<p>{TOC_MARKER}</p>", TOC_MARKER), toc, TOC_MARKER in html)


def line_of(post, text: str) -> int | None:
    """The Markdown line where `text` first appears in the post's prose."""
    for block in post.blocks:
        if isinstance(block, Prose) and text in block.text:
            return block.line + block.text[:block.text.index(text)].count("\n")
    return None


def clean_prose(text: str) -> str:
    return text.replace(MARK, "")


def toc_list(md: markdown.Markdown) -> str:
    toc = getattr(md, "toc", "")
    start = toc.find("<ul>")
    return toc[start:toc.rfind("</ul>") + 5] if start >= 0 else ""


# Made once: building an HtmlFormatter computes its whole style sheet, a fifth of highlighting;
# the lexer keeps, per state and character, the rules worth trying.
PYTHON_LEXER = python_lexer()
HTML_FORMATTER = HtmlFormatter(cssclass="highlight")


@functools.lru_cache(maxsize=4096)
def highlight_python(code: str) -> str:
    """Pygments HTML for a code cell; cached because identical blocks recur across posts."""
    return highlight(code, PYTHON_LEXER, HTML_FORMATTER)


def render_markdown_output(text: str) -> str:
    """A cell's `text/markdown` output as HTML, by the Markdown of the prose (not yet sanitized:
    the caller cleans it); TeX that cannot be converted stays as text."""
    if not hasattr(_reusable, "outputs_md"):
        _reusable.outputs_md = configured_markdown(CellExtension({}))
    md = _reusable.outputs_md
    md.reset()
    try:
        return md.convert(clean_prose(text))
    except MathError:
        md.reset()
        from html import escape
        return f"<pre>{escape(text)}</pre>"

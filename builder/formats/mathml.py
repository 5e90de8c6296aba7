"""Python-Markdown extension that renders TeX math to MathML at build time."""
from __future__ import annotations

import functools
import re
import xml.etree.ElementTree as etree

from latex2mathml.converter import convert_to_element
from markdown import Markdown
from markdown.blockprocessors import BlockProcessor
from markdown.extensions import Extension
from markdown.inlinepatterns import InlineProcessor
from markdown.serializers import to_html_string
from markdown.treeprocessors import Treeprocessor
from markdown.util import AtomicString

# Math may not swallow the \x02...\x03 placeholders Markdown leaves for code spans.
_DOLLAR_BODY = r"(?:[^$\\\x02\x03]|\\.)"
_DOUBLE_DOLLARS = r"(?<!\\)\$\$(?P<dollars>" + _DOLLAR_BODY + r"+?)\$\$"
# kramdown authors write MathJax's \( \) and \[ \] with their backslash escaped: \\( \\) \\[ \\].
# A single \( or \[ is Markdown's escaped parenthesis or bracket, as in kramdown: never math.
_ESCAPED_BRACKETS = r"(?<!\\)\\\\\[(?P<brackets>[^\x02\x03]+?)\\\\\]"
_ESCAPED_PARENS = r"(?<!\\)\\\\\((?P<parens>[^\x02\x03]+?)\\\\\)"
# Pandoc's rule keeps prices like "$5 and $10" as text: the opening $ must touch
# its content, and the closing $ must touch it too and not precede a digit.
_SINGLE_DOLLARS = r"(?<![\\$])\$(?=[^\s$])(?P<single>" + _DOLLAR_BODY + r"+?)(?<=\S)\$(?![$\d])"
# kramdown: $$...$$ is display math only as a block of its own; inside a paragraph it is inline.
_STANDALONE_DISPLAY = re.compile(r"[ ]{0,3}(?:" + _DOUBLE_DOLLARS + "|" + _ESCAPED_BRACKETS + r")\s*",
                                 re.DOTALL)
_DISPLAY_MATH = re.compile(_ESCAPED_BRACKETS, re.DOTALL)
_INLINE_MATH = re.compile(_DOUBLE_DOLLARS + "|" + _SINGLE_DOLLARS + "|" + _ESCAPED_PARENS, re.DOTALL)
# What Jupyter's text/latex outputs use: $$ and \[ \] display, $ and \( \) inline.
_OUTPUT_MATH = re.compile(r"(?<!\\)\$\$(?:" + _DOLLAR_BODY + r"+?)\$\$|(?<!\\)\\\[(?:.+?)\\\]"
                          r"|" + _SINGLE_DOLLARS.replace("?P<single>", "?:") + r"|(?<!\\)\\\((?:.+?)\\\)",
                          re.DOTALL)

DISPLAY_CLASS = "math-display"


class MathError(ValueError):
    """TeX in a post that latex2mathml cannot convert."""

    def __init__(self, tex: str, message: str):
        super().__init__(message)
        self.tex = tex


@functools.lru_cache(maxsize=4096)
def mathml_html(tex: str, display: bool) -> str:
    """The `<math>` element for `tex` as HTML, carrying its source as an annotation."""
    # Serialized once per formula and stashed as raw HTML: the same formulas recur across posts,
    # and a MathML tree left in Markdown's document would be walked by every later tree stage.
    try:
        math = convert_to_element(tex, display="block" if display else "inline")
    # latex2mathml reports malformed TeX with its own exceptions and with bare
    # IndexError and friends, so anything raised here means bad input.
    except Exception as error:
        reason = type(error).__name__ + (f": {error}" if str(error) else "")
        raise MathError(tex,
            f'cannot convert the TeX "{tex}" to MathML ({reason}); '
            "fix the TeX, or write \\$ if the $ is not meant to start math"
        ) from error
    _repair_tokens(math)
    _add_tex_annotation(math, tex)
    return to_html_string(math)


TOKEN_ELEMENTS = {"mi", "mn", "mo", "mtext", "ms"}


def _repair_tokens(math: etree.Element) -> None:
    """A token element holding elements is invalid MathML (latex2mathml makes `\\mathrel{+}` a
    `<mo>` around an `<mrow>`): it becomes the `<mrow>` of what it holds."""
    for element in math.iter():
        if element.tag in TOKEN_ELEMENTS and len(element):
            element.tag = "mrow"
            element.attrib.clear()
            if element.text and not element.text.strip():
                element.text = None


def _add_tex_annotation(math: etree.Element, tex: str) -> None:
    semantics = etree.Element("semantics")
    semantics.extend(list(math))
    annotation = etree.SubElement(semantics, "annotation", {"encoding": "application/x-tex"})
    annotation.text = tex
    for child in list(math):
        math.remove(child)
    math.append(semantics)


def display_block(md: Markdown, tex: str) -> etree.Element:
    """Display math in its `<div class="math-display">`."""
    wrapper = etree.Element("div", {"class": DISPLAY_CLASS})
    wrapper.text = AtomicString(md.htmlStash.store(mathml_html(tex, display=True)))
    return wrapper


def _math_source(match: re.Match[str]) -> str:
    return next(group for group in match.groups() if group is not None).strip()


class DisplayMathInlineProcessor(InlineProcessor):
    """Turns `\\\\[...\\\\]` inside a paragraph into display math (MathJax shows it so)."""

    def handleMatch(self, m: re.Match[str], data: str) -> tuple[etree.Element, int, int]:
        return display_block(self.md, _math_source(m)), m.start(0), m.end(0)


class InlineMathProcessor(InlineProcessor):
    """Turns `$$...$$` within a paragraph, `$...$` and `\\\\(...\\\\)` into inline math."""

    def handleMatch(self, m: re.Match[str], data: str) -> tuple[str, int, int]:
        return self.md.htmlStash.store(mathml_html(_math_source(m), display=False)), m.start(0), m.end(0)


class DisplayMathBlockProcessor(BlockProcessor):
    """Renders a block that is nothing but display math before headings or rules can claim its lines."""

    def test(self, parent: etree.Element, block: str) -> bool:
        return _STANDALONE_DISPLAY.fullmatch(block) is not None

    def run(self, parent: etree.Element, blocks: list[str]) -> None:
        match = _STANDALONE_DISPLAY.fullmatch(blocks.pop(0))
        parent.append(display_block(self.parser.md, _math_source(match)))


class LiftDisplayMathTreeprocessor(Treeprocessor):
    """Moves display math out of paragraphs, since a `<div>` cannot live in a `<p>`."""

    def run(self, root: etree.Element) -> None:
        for parent in list(root.iter()):
            for index in reversed(range(len(parent))):
                child = parent[index]
                if child.tag == "p" and any(_is_display(grandchild) for grandchild in child):
                    parent[index:index + 1] = _split_paragraph(child)


def _is_display(element: etree.Element) -> bool:
    return element.tag == "div" and element.get("class") == DISPLAY_CLASS


def _split_paragraph(paragraph: etree.Element) -> list[etree.Element]:
    pieces = []
    current = _paragraph(paragraph.text)
    for child in list(paragraph):
        if _is_display(child):
            tail, child.tail = child.tail, None
            pieces += [current, child]
            current = _paragraph(tail)
        else:
            current.append(child)
    pieces.append(current)
    return [piece for piece in pieces if _is_display(piece) or _has_content(_trimmed(piece))]


def _paragraph(text: str | None) -> etree.Element:
    paragraph = etree.Element("p")
    paragraph.text = text.lstrip() if text else text
    return paragraph


def _trimmed(paragraph: etree.Element) -> etree.Element:
    if len(paragraph) and paragraph[-1].tail:
        paragraph[-1].tail = paragraph[-1].tail.rstrip()
    elif not len(paragraph) and paragraph.text:
        paragraph.text = paragraph.text.rstrip()
    return paragraph


def _has_content(paragraph: etree.Element) -> bool:
    return bool(paragraph.text) or len(paragraph) > 0


class MathExtension(Extension):
    """Renders `$...$`, `\\\\(...\\\\)`, `$$...$$` and `\\\\[...\\\\]` as MathML, by kramdown's rules."""

    def extendMarkdown(self, md: Markdown) -> None:
        """Register the math processors with `md`."""
        if "$" not in md.ESCAPED_CHARS:
            md.ESCAPED_CHARS.append("$")
        # HTML treats <math> as phrasing content; left block-level, the
        # prettifier would put line breaks around every inline formula.
        if "math" in md.block_level_elements:
            md.block_level_elements.remove("math")
        # Above hash headers (70) and rules (50); below indented code (80).
        md.parser.blockprocessors.register(DisplayMathBlockProcessor(md.parser), "math_display_block", 75)
        # After code spans (190) so their contents stay literal, before
        # backslash escapes (180) so \\, \( and \[ reach the math untouched.
        md.inlinePatterns.register(DisplayMathInlineProcessor(_DISPLAY_MATH.pattern, md), "math_display", 188)
        md.inlinePatterns.register(InlineMathProcessor(_INLINE_MATH.pattern, md), "math_inline", 186)
        # After inline processing (20), before prettifying (10).
        md.treeprocessors.register(LiftDisplayMathTreeprocessor(md), "math_lift_display", 15)


def makeExtension(**kwargs: object) -> MathExtension:
    """Entry point Python-Markdown uses for `extensions=['builder.formats.mathml']`."""
    return MathExtension(**kwargs)


def latex_html(latex: str) -> str:
    """A `text/latex` output as HTML: its math as MathML, the text around it escaped; TeX without
    delimiters is one displayed formula, as Jupyter shows it. Raises MathError for bad TeX."""
    from html import escape
    pieces, position = [], 0
    for match in _OUTPUT_MATH.finditer(latex):
        display = match[0].startswith(("$$", "\\["))
        tex = match[0][2:-2] if display or match[0].startswith("\\(") else match[0][1:-1]
        pieces += [escape(latex[position:match.start()]), mathml_html(tex.strip(), display)]
        position = match.end()
    if not pieces:
        return mathml_html(latex.strip(), display=True)
    return "".join(pieces) + escape(latex[position:])

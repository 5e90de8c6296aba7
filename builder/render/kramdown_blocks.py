"""The kramdown behaviours no Python-Markdown extension has: heading ids, table groups, directives.

- Heading ids as kramdown makes them: GitHub's rule for Jekyll's default GFM input, kramdown's own
  for `input: kramdown`; duplicates numbered -1, -2 as kramdown does, so old `#anchor` links work.
- Tables: a `|---|` row starts a new body, a `|===|` row starts the footer, and an attribute list
  (`{: rules="groups"}`) on the line after a table applies to the table.
- `{::options .../}` and `{::comment}...{:/}` vanish, `{::nomarkdown}...{:/}` passes through
  untouched, and a `{:toc}` list becomes the table of contents.
- Two blockquotes separated by a blank line stay two blockquotes.
- An attribute list on the line after a list, a blockquote or a table applies to it.
"""
from __future__ import annotations

import html
import re
import xml.etree.ElementTree as etree
from collections import Counter

import markdown
from markdown.blockprocessors import BlockQuoteProcessor, HashHeaderProcessor
from markdown.extensions import Extension
from markdown.extensions.attr_list import AttrListTreeprocessor
from markdown.extensions.toc import remove_fnrefs, render_inner_html, strip_tags
from markdown.postprocessors import Postprocessor
from markdown.preprocessors import Preprocessor
from markdown.treeprocessors import Treeprocessor
from markdown.util import HTML_PLACEHOLDER_RE

HEADINGS = {"h1", "h2", "h3", "h4", "h5", "h6"}


class KramdownBlocksExtension(Extension):
    """`ids`: "gfm", "kramdown" or "" (no automatic ids); `toc_marker` stands where `{:toc}` asks."""

    def __init__(self, ids: str = "gfm", id_prefix: str = "", toc_marker: str = "", gfm: bool = True):
        super().__init__()
        self.ids, self.id_prefix, self.toc_marker, self.gfm = ids, id_prefix, toc_marker, gfm

    def extendMarkdown(self, md: markdown.Markdown) -> None:
        # After fenced code is stashed (25), before raw HTML blocks are (20).
        md.preprocessors.register(DirectivesPreprocessor(md, self.toc_marker), "kramdown_directives", 22)
        md.postprocessors.register(UnwrapPassThroughPostprocessor(md), "kramdown_unwrap", 31)   # before raw_html
        md.preprocessors.register(BlockAttributesPreprocessor(md), "kramdown_block_attributes", 21.5)
        md.preprocessors.register(ListIndentPreprocessor(md), "kramdown_list_indents", 21)
        md.treeprocessors.register(BlockAttributesTreeprocessor(md), "kramdown_block_attributes", 26)
        md.parser.blockprocessors.register(SeparateBlockQuoteProcessor(md.parser), "quote", 20)
        if self.gfm:
            md.parser.blockprocessors.register(GfmHashHeaderProcessor(md.parser), "hashheader", 70)
        # Before the inline stage (20), while cells still hold their source text.
        md.treeprocessors.register(TableGroupsTreeprocessor(md), "kramdown_tables", 25)
        if self.ids == "kramdown":
            md.treeprocessors.register(RawHeadingTextTreeprocessor(md), "kramdown_raw_headings", 21)
        # After smarty (6), whose typography GitHub-style ids are made from; before toc (5).
        md.treeprocessors.register(HeadingIdTreeprocessor(md, self.ids, self.id_prefix), "kramdown_ids", 5.5)
        md.treeprocessors.register(EmptyIdTreeprocessor(md), "kramdown_empty_ids", 4.5)


# ---- heading ids --------------------------------------------------------------------------------

NOT_GFM_ID = re.compile(r"[^\w\- \t]")
LEADING_NON_LETTERS = re.compile(r"^[^a-zA-Z]+")
NOT_KRAMDOWN_ID = re.compile(r"[^a-zA-Z0-9 \-]")
TRAILING_ATTRIBUTES = re.compile(r"\s*\{:?[^}]*\}\s*$")
RAW_TEXT = "data-kramdown-raw"


def gfm_id(text: str) -> str:
    """kramdown's GFM parser: lowercase, drop all but word characters, dashes and blanks, blanks → dashes."""
    return re.sub(r"[ \t]", "-", NOT_GFM_ID.sub("", text.lower()))


def kramdown_id(raw_text: str) -> str:
    """kramdown's own parser: from the first ASCII letter, keep [a-zA-Z0-9 -], spaces → dashes, lowercase."""
    kept = NOT_KRAMDOWN_ID.sub("", LEADING_NON_LETTERS.sub("", raw_text))
    return kept.replace(" ", "-").lower() or "section"


class RawHeadingTextTreeprocessor(Treeprocessor):
    """Keeps each heading's Markdown source: kramdown's own ids are made from it, not from the HTML."""

    def run(self, root: etree.Element) -> None:
        for element in root.iter():
            if element.tag in HEADINGS:
                element.set(RAW_TEXT, TRAILING_ATTRIBUTES.sub("", element.text or ""))


class HeadingIdTreeprocessor(Treeprocessor):
    """Gives each heading without an id kramdown's id; an empty id (no id at all) is removed later."""

    def __init__(self, md: markdown.Markdown, ids: str, prefix: str):
        super().__init__(md)
        self.ids, self.prefix = ids, prefix

    def run(self, root: etree.Element) -> None:
        seen: Counter[str] = Counter()
        for element in root.iter():
            if element.tag not in HEADINGS:
                continue
            raw = element.attrib.pop(RAW_TEXT, "")
            if "id" not in element.attrib:
                element.set("id", self.next_id(element, raw, seen) if self.ids else "")

    def next_id(self, element: etree.Element, raw: str, seen: Counter[str]) -> str:
        if self.ids == "kramdown":
            base = kramdown_id(raw)
        else:
            text = strip_tags(render_inner_html(remove_fnrefs(element), self.md))
            base = gfm_id(html.unescape(text))
        seen[base] += 1
        if self.ids == "gfm" and not base and seen[base] == 1:
            return ""
        return self.prefix + (base if seen[base] == 1 else f"{base}-{seen[base] - 1}")


class EmptyIdTreeprocessor(Treeprocessor):
    """Removes the empty ids that kept the toc extension from inventing its own, and the rule
    Python-Markdown puts above the footnotes (kramdown has none)."""

    def run(self, root: etree.Element) -> None:
        for element in root.iter():
            if element.tag in HEADINGS and element.get("id") == "":
                del element.attrib["id"]
        for footnotes in root.iter("div"):
            rule = footnotes.find("hr")
            if "footnote" in (footnotes.get("class") or "").split() and rule is not None:
                footnotes.remove(rule)


# ---- tables -------------------------------------------------------------------------------------

SEPARATOR_CELL = re.compile(r"^[-=+:|\s]*$")
ATTRIBUTE_LIST = re.compile(r"^\{:?\s*(.*?)\s*\}$")


class TableGroupsTreeprocessor(Treeprocessor):
    def run(self, root: etree.Element) -> None:
        for table in list(root.iter("table")):
            body = table.find("tbody")
            if body is not None:
                self.apply_trailing_attributes(table, body)
                self.split_groups(table, body)

    def apply_trailing_attributes(self, table: etree.Element, body: etree.Element) -> None:
        rows = list(body)
        cells = [cell.text or "" for cell in rows[-1]] if rows else []
        match = ATTRIBUTE_LIST.match(cells[0].strip()) if cells else None
        if match and not any(text.strip() for text in cells[1:]):
            AttrListTreeprocessor(self.md).assign_attrs(table, match[1])
            body.remove(rows[-1])

    def split_groups(self, table: etree.Element, body: etree.Element) -> None:
        group, position = body, list(table).index(body)
        for row in list(body):
            kind = separator_kind(row)
            if kind is None:
                if group is not body:
                    body.remove(row)
                    group.append(row)
                continue
            body.remove(row)
            if len(group) or kind == "=":   # a separator before any row starts nothing new
                position += 1
                group = etree.Element("tfoot" if kind == "=" or group.tag == "tfoot" else "tbody")
                table.insert(position, group)
        for empty in [g for g in table if g.tag in ("tbody", "tfoot") and not len(g)]:
            table.remove(empty)


def separator_kind(row: etree.Element) -> str | None:
    """"-" or "=" for a kramdown separator row (only -, =, +, :, | and blanks), else None."""
    text = "|".join(cell.text or "" for cell in row).strip("| ")
    if not text or not SEPARATOR_CELL.match(text) or not re.search(r"[-=]", text):
        return None
    return "=" if text.lstrip("|+: ").startswith("=") else "-"


# ---- attribute lists after lists and blockquotes -----------------------------------------------

BLOCK_ATTRIBUTES = re.compile(r"^\{:(?!:)\s*([^}]*?)\s*\}\s*$")
ATTRIBUTES_MARK = "\ue001kramdown-attributes:"


class BlockAttributesPreprocessor(Preprocessor):
    """Moves `{: ...}` after a list or blockquote into a block of its own, marked for the tree.

    Python-Markdown would give the attributes to the last item or paragraph inside.
    """

    def run(self, lines: list[str]) -> list[str]:
        result: list[str] = []
        for line in lines:
            match = BLOCK_ATTRIBUTES.match(line)
            if match and not TOC_REQUEST.match(line) and self.after_list_or_quote(result):
                result.extend(["", ATTRIBUTES_MARK + match[1], ""])
            else:
                result.append(line)
        self.md.kramdown_marked = ATTRIBUTES_MARK in "\n".join(result)   # else the tree has none to move
        return result

    @staticmethod
    def after_list_or_quote(lines: list[str]) -> bool:
        if not lines or not lines[-1].strip():
            return False
        start = len(lines) - 1
        while start > 0 and lines[start - 1].strip():
            start -= 1
        first = lines[start]
        # An indented block continues a list item (or is indented code: the IAL is then the code's).
        return bool(LIST_MARKER.match(first) or first.lstrip()[:1] in (">", "|") or first[:1] in (" ", "\t"))


class BlockAttributesTreeprocessor(Treeprocessor):
    """Gives each marked attribute list to the element before it, and drops the marker."""

    def run(self, root: etree.Element) -> None:
        if not getattr(self.md, "kramdown_marked", True):
            return
        for parent in list(root.iter()):
            for index, child in reversed(list(enumerate(parent))):
                text = child.text or ""
                if child.tag == "p" and text.startswith(ATTRIBUTES_MARK) and not len(child):
                    if index and not is_stashed_html(parent[index - 1]):   # highlighted code: as-is
                        AttrListTreeprocessor(self.md).assign_attrs(parent[index - 1], text[len(ATTRIBUTES_MARK):])
                    parent.remove(child)


def is_stashed_html(element: etree.Element) -> bool:
    return element.tag == "p" and not len(element) and bool(HTML_PLACEHOLDER_RE.fullmatch((element.text or "").strip()))


# ---- blockquotes --------------------------------------------------------------------------------

class SeparateBlockQuoteProcessor(BlockQuoteProcessor):
    """A blank line ends a blockquote, as in kramdown; Python-Markdown would merge the next one."""

    def lastChild(self, parent: etree.Element) -> etree.Element | None:
        sibling = super().lastChild(parent)
        return None if sibling is not None and sibling.tag == "blockquote" else sibling


# ---- GFM headings, list indents --------------------------------------------

class GfmHashHeaderProcessor(HashHeaderProcessor):
    """GFM input: `#word` is text, a heading needs a blank after its #s."""

    RE = re.compile(r"(?:^|\n)(?P<level>#{1,6})(?P<header>(?:[ \t](?:\\.|[^\\#]|#+(?=[^#\n]))*?)?)#*(?:\n|$)")


LIST_MARKER = re.compile(r"^( *)(?:[*+-]|\d+\.)[ \t]+\S")
LATER_LIST_MARKER = re.compile(r"\n *(?:[*+-]|\d+\.)[ \t]+\S")   # LIST_MARKER on a line after the first
FENCE = re.compile(r"^\s*(```|~~~)")


class ListIndentPreprocessor(Preprocessor):
    """Re-indents list items by two blanks a level, as the two-blank list extension reads them.

    kramdown nests an item under the one before when it is indented further, by any amount (authors
    write two, three or four blanks), and reads a list indented by one to three blanks after a
    paragraph as a list. Each item's lines keep their indent relative to its marker.
    """

    def run(self, lines: list[str]) -> list[str]:
        text = "\n".join(lines)
        if not (LIST_MARKER.match(text) or LATER_LIST_MARKER.search(text)):
            return lines               # no list: nothing to re-indent
        fences, maths = "```" in text or "~~~" in text, "$$" in text
        result: list[str] = []
        stack: list[int] = []        # original indents of the open items, outermost first
        shift, in_fence, in_math, in_html, blank_before = 0, False, False, False, True
        for line in lines:
            if fences and FENCE.match(line):
                in_fence = not in_fence
            if maths and line.count("$$") % 2:   # display math: a "- b" line there is TeX, not a list
                in_math = not in_math
            if blank_before:           # a raw HTML block runs to the next blank line
                in_html = line.startswith("<") and not stack
            marker = None if in_fence or in_math or in_html else LIST_MARKER.match(line)
            filled = bool(line.strip())
            if marker and (stack or blank_before or len(marker[1]) == 0) and len(marker[1]) < 4 + 4 * len(stack):
                if not stack and not blank_before:
                    result.append("")   # GFM: a list may interrupt a paragraph
                shift = self.place(stack, len(marker[1]))
            elif filled and not line[:1].isspace() and blank_before:
                stack, shift = [], 0   # a block at the margin after a blank line ends the list
            result.append(shifted(line, shift) if stack else line)
            blank_before = not filled
        return result

    @staticmethod
    def place(stack: list[int], indent: int) -> int:
        """Push or pop `stack` for an item at `indent`; the shift that puts it at two blanks a level."""
        while stack and indent < stack[-1]:
            stack.pop()
        if not stack or indent > stack[-1]:
            stack.append(indent)
        return 2 * (len(stack) - 1) - indent


def shifted(line: str, shift: int) -> str:
    if shift >= 0 or not line.strip():
        return " " * shift + line if line.strip() else line
    blanks = len(line) - len(line.lstrip(" "))
    return line[min(blanks, -shift):]


# ---- kramdown extensions: {::options}, {::comment}, {::nomarkdown}, {:toc} ----------------------

OPTIONS = re.compile(r"\{::options\b[^}]*/\}")
COMMENT = re.compile(r"\{::comment\}\n?(.*?)\n?\{:/(?:comment)?\}", re.DOTALL)
NOMARKDOWN = re.compile(r"\{::nomarkdown\}\n?(.*?)\n?\{:/(?:nomarkdown)?\}", re.DOTALL)
TOC_REQUEST = re.compile(r"^\s*\{:\s*toc\s*\}\s*$")
LIST_ITEM = re.compile(r"^\s*(?:[*+-]|\d+\.)\s")


def html_comment(text: str) -> str:
    """kramdown writes a `{::comment}` as an HTML comment."""
    return f"<!-- {text.replace('--', '- -')} -->"


class UnwrapPassThroughPostprocessor(Postprocessor):
    """`{::nomarkdown}` on lines of its own stands alone, as in kramdown, even when it is not a block tag."""

    def run(self, text: str) -> str:
        for placeholder in getattr(self.md, "kramdown_blocks", ()):
            text = text.replace(f"<p>{placeholder}</p>", placeholder)
        return text


class DirectivesPreprocessor(Preprocessor):
    def __init__(self, md: markdown.Markdown, toc_marker: str):
        super().__init__(md)
        self.toc_marker = toc_marker

    def run(self, lines: list[str]) -> list[str]:
        self.md.kramdown_blocks = set()   # this document's pass-through blocks
        text = "\n".join(lines)
        if "{:" not in text:
            return lines
        text = COMMENT.sub(lambda match: self.md.htmlStash.store(html_comment(match[1])), OPTIONS.sub("", text))
        text = NOMARKDOWN.sub(self.pass_through, text)
        return self.place_toc(text.split("\n"))

    def pass_through(self, match: re.Match) -> str:
        """Stash the text; one that fills its lines is a block, and gets no <p> around it."""
        placeholder = self.md.htmlStash.store(match[1])
        text = match.string
        if text[match.start() - 1:match.start()] in ("", "\n") and text[match.end():match.end() + 1] in ("", "\n"):
            self.md.kramdown_blocks.add(placeholder)
        return placeholder

    def place_toc(self, lines: list[str]) -> list[str]:
        """A list followed by `{:toc}` is replaced by the table of contents (or nothing)."""
        result: list[str] = []
        for line in lines:
            if not TOC_REQUEST.match(line):
                result.append(line)
                continue
            while result and LIST_ITEM.match(result[-1]):
                result.pop()
            result.extend(["", self.toc_marker, ""] if self.toc_marker else [""])
        return result

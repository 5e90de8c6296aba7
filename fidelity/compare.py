"""A page's article body as text and heading ids, for comparing our page with Jekyll's."""
from __future__ import annotations

import difflib
from dataclasses import dataclass
from html.parser import HTMLParser

HEADINGS = {"h1", "h2", "h3", "h4", "h5", "h6"}
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
# Elements whose nesting is the article's structure (Pygments' spans and wrapper divs are not).
STRUCTURE = HEADINGS | {"p", "ul", "ol", "li", "dl", "dt", "dd", "blockquote", "pre", "table", "thead",
                        "tbody", "tfoot", "tr", "th", "td", "hr", "abbr", "sup"}
# Table cells: Rouge ends a line-number cell with a newline and Pygments does not.
CELLS = {"td", "th"}
# Added around the article by includes and layouts, not written by the post: the TOC box.
SKIPPED = {"aside", "script", "style"}


@dataclass(frozen=True)
class Article:
    text: str                 # whitespace collapsed to single spaces
    heading_ids: tuple[str, ...]
    structure: tuple[str, ...]    # start and end ("/ul") tags of STRUCTURE elements, in order


class ArticleParser(HTMLParser):
    """Collects text and heading ids inside the first element whose attribute `key` is `value`."""

    def __init__(self, key: str, value: str):
        super().__init__(convert_charrefs=True)
        self.key, self.value = key, value
        self.depth = 0            # >0 inside the article element
        self.skip_depth = 0       # >0 inside a skipped element
        self.done = False
        self.chunks: list[str] = []
        self.ids: list[str] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag, attrs):
        if self.depth and not self.skip_depth and tag in STRUCTURE and tag not in SKIPPED:
            self.tags.append(tag)
        if self.depth and not self.skip_depth and tag in CELLS:
            self.chunks.append(" ")   # cells are apart on the page, whatever the whitespace between
        if self.done or tag in VOID:
            return
        if self.depth:
            self.depth += 1
            if self.skip_depth or tag in SKIPPED:
                self.skip_depth += 1
            elif tag in HEADINGS:
                self.ids.append(dict(attrs).get("id") or "")
        elif (self.value in (dict(attrs).get(self.key) or "").split()) or dict(attrs).get(self.key) == self.value:
            self.depth = 1

    def handle_endtag(self, tag):
        if self.depth and not self.skip_depth and tag in STRUCTURE and tag not in VOID:
            self.tags.append("/" + tag)   # end tags too: nesting is structure
        if self.done or not self.depth or tag in VOID:
            return
        self.depth -= 1
        if self.skip_depth:
            self.skip_depth -= 1
        if self.depth == 0:
            self.done = True

    def handle_data(self, data):
        if self.depth and not self.skip_depth and not self.done:
            self.chunks.append(data)


def article(html: str, key: str, value: str) -> Article | None:
    """The article inside the element with `key`=`value` (a class among several counts), or None."""
    parser = ArticleParser(key, value)
    parser.feed(html)
    if not parser.depth and not parser.done:
        return None
    return Article(" ".join("".join(parser.chunks).split()), tuple(parser.ids), tuple(parser.tags))


def first_difference(ours: str, theirs: str, context: int = 40) -> str:
    """A short 'ours … / Jekyll …' excerpt around the first place the texts differ."""
    matcher = difflib.SequenceMatcher(None, ours, theirs, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag != "equal":
            start = max(0, i1 - 15)
            return f"ours `{ours[start:i2 + 25][:context]}` / Jekyll `{theirs[max(0, j1 - 15):j2 + 25][:context]}`"
    return ""


def similarity(ours: str, theirs: str) -> float:
    return difflib.SequenceMatcher(None, ours, theirs, autojunk=False).ratio()


def structure_difference(ours: tuple[str, ...], theirs: tuple[str, ...]) -> str:
    """The first place the element sequences differ, as 'ours [...] / Jekyll [...]'."""
    for index, (mine, their) in enumerate(zip(ours, theirs)):
        if mine != their:
            return f"elements ours {list(ours[index:index + 4])} / Jekyll {list(theirs[index:index + 4])}"
    return f"elements: ours {len(ours)}, Jekyll {len(theirs)}"

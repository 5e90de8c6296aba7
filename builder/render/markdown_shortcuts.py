"""Python-Markdown, skipping the inline patterns and block processors that cannot apply.

The stock parser asks every block processor about every block, and the stock InlineProcessor tries
every registered pattern on every text node: some seventeen regular-expression scans, each behind
a registry lookup, even for a sentence of plain words. Each of them can only apply to text that
holds one of a few strings (a link needs "[", a heading "#", a table "|"), so one whose strings are
all absent is skipped. So is a whole inline stage when no text of the tree holds a trigger (the
typography stage, on most posts), and a processor whose run could change nothing (attribute lists
without a brace, fences without a fence, HTML blocks without < or &). Each inline pattern's regular
expression is searched only from the characters a match can start with (most start with a
lookbehind, which Python's engine otherwise tries at every character), whitespace is normalized
with a newline-first expression, and block-level tags are looked up in a set. The output is the
same, which tests/test_markdown_shortcuts.py checks against stock Python-Markdown. Patterns and
processors not listed here are always tried. What reaches into Python-Markdown's internals lives
in builder/core/patches.py, guarded by the version it was written for.
"""
from __future__ import annotations

import markdown
from markdown.extensions import Extension

from builder.core.patches import (quicker_whitespace_normalizing, replace_pattern_regex, set_backed_block_level_names,
                                  skip_run_unless_triggered, triggered_block_parser, triggered_inline_processor)
from builder.render.regex_first_chars import first_char_finder

# smarty's quote patterns in its order (Python-Markdown 3.11.3): what each one's regular expression
# needs. Prose is full of apostrophes; this keeps the double-quote patterns off it, and the reverse.
SMARTY_QUOTE_TRIGGERS: tuple[tuple[str, ...], ...] = (
    ("'",), ('"',),                 # a quote opening the text, before punctuation
    ("\"'",), ("'\"",),             # quotes in a row, opening
    ("'\"",), ("\"'",),             # quotes in a row, closing
    ("'",),                         # a decade: '80s
    ("'",), ("'",), ("'",), ("'",),  # single quotes: opening, closing (twice), the rest
    ('"',), ('"',), ('"',), ('"',),  # double quotes: opening, closing (twice), the rest
)

# Every match of the inline pattern registered under this name contains at least one of these strings.
TRIGGERS: dict[str, tuple[str, ...]] = {
    "backtick": ("`",),
    "math_display": ("\\\\[",),          # builder/formats/mathml.py: \\[ ... \\]
    "math_inline": ("$", "\\\\("),       # $ ... $, $$ ... $$, \\( ... \\)
    "escape": ("\\",),
    "footnote": ("[",),
    "reference": ("[",),
    "link": ("[",),
    "image_link": ("[",),
    "image_reference": ("[",),
    "short_reference": ("[",),
    "short_image_ref": ("[",),
    "autolink": ("<",),
    "automail": ("<",),
    "linebreak": ("  \n",),
    "html": ("<",),
    "entity": ("&",),
    "em_strong": ("*", "_"),
    "delimiter": ("~",),           # pymdownx.tilde's ~~struck~~ (no other pymdownx delimiter is loaded)
    "builder_citation": ("[@",),   # builder/render/citations.py
    # smarty's (kramdown typography), run by its own inline stage: see ShortcutsExtension.
    "smarty-ellipses": ("...",),
    "smarty-em-dashes": ("---",),
    "smarty-en-dashes": ("--",),
    "smarty-left-angle-quotes": ("<<",),
    "smarty-right-angle-quotes": (">>",),
    **{f"smarty-quotes-{index}": triggers for index, triggers in enumerate(SMARTY_QUOTE_TRIGGERS)},
}


# The block processor registered under this name applies only to a block holding one of these.
BLOCK_TRIGGERS: dict[str, tuple[str, ...]] = {
    "table": ("|",),
    "hashheader": ("#",),
    "setextheader": ("=", "-"),
    "hr": ("-", "_", "*"),
    "ulist": ("*", "+", "-"),
    "quote": (">",),
    "footnote": ("[^",),
    "reference": ("]:",),
    "deflist": (":",),
    "abbr": ("*[",),                     # its run declines any other block
    "markdown_block": ("\u0002",),       # md_in_html's run declines a block without a stashed tag
    "math_display_block": ("$$", "\\\\["),   # builder/formats/mathml.py
}
# These need a block that starts with the processor's indent (its tab_length blanks).
INDENTED_BLOCKS = ("code", "indent", "defindent")

# The tree processor (or pre- or postprocessor) registered under this name changes nothing unless its
# tree's texts and tails (or its lines, or its text) hold one of these; for those in READS_ATTRIBUTES,
# or its attribute values.
RUN_TRIGGERS: dict[str, tuple[str, ...]] = {
    "attr_list": ("{",),                 # its three patterns all need a brace
    "fenced_code_block": ("```", "~~~"),  # pymdownx.superfences: a fence needs three of either
    "html_block": ("<", "&"),             # its HTML parser passes text without either through as it is
    "unescape": tuple(f"\u0002{digit}" for digit in range(10)),   # STX<number>ETX back to a character
    "raw_html": ("\u0002wzxhzdk:",),     # it puts stashed HTML back where its placeholder is
}
READS_ATTRIBUTES = {"unescape"}


class ShortcutsExtension(Extension):
    """Register last: it wraps the block processors and replaces the inline stage already there."""

    def extendMarkdown(self, md: markdown.Markdown) -> None:
        inline = triggered_inline_processor(md, TRIGGERS)
        if inline is not None:     # None: the patch is off for this Python-Markdown version
            md.treeprocessors.register(inline, "inline", 20)
        if inline is not None and "smarty" in md.treeprocessors:   # typography's own inline stage
            smarty = triggered_inline_processor(md, TRIGGERS)
            smarty.inlinePatterns = md.treeprocessors["smarty"].inlinePatterns
            md.treeprocessors.register(smarty, "smarty", 6)
        triggered_block_parser(md.parser, BLOCK_TRIGGERS | indent_triggers(md))
        for name, triggers in RUN_TRIGGERS.items():
            for registry in (md.treeprocessors, md.preprocessors, md.postprocessors):
                if name in registry:
                    skip_run_unless_triggered(registry[name], triggers, attributes=name in READS_ATTRIBUTES)
        set_backed_block_level_names(md)
        quicker_whitespace_normalizing(md)
        search_from_first_chars(md)


def search_from_first_chars(md: markdown.Markdown) -> None:
    """Each inline pattern's regular expression searched only where a match can start."""
    registries = [md.inlinePatterns] + ([md.treeprocessors["smarty"].inlinePatterns]
                                        if "smarty" in md.treeprocessors else [])
    for registry in registries:
        for pattern in registry:
            replace_pattern_regex(pattern, first_char_finder(pattern.compiled_re))


def indent_triggers(md: markdown.Markdown) -> dict[str, tuple[str, ...]]:
    processors = md.parser.blockprocessors
    return {name: (" " * processors[name].tab_length,) for name in INDENTED_BLOCKS if name in processors}

"""Python-Markdown, skipping the inline patterns and block processors that cannot apply.

The stock parser asks every block processor about every block, and the stock InlineProcessor tries
every registered pattern on every text node: some seventeen regular-expression scans, each behind
a registry lookup, even for a sentence of plain words. Each of them can only apply to text that
holds one of a few strings (a link needs "[", a heading "#", a table "|"), so one whose strings are
all absent is skipped. The output is the same, which tests/test_markdown_shortcuts.py checks
against stock Python-Markdown. Patterns and processors not listed here are always tried. The
skipping itself reaches into Python-Markdown's internals, so it lives in builder/core/patches.py,
guarded by the version it was written for.
"""
from __future__ import annotations

import markdown
from markdown.extensions import Extension

from builder.core.patches import skip_unless_triggered, triggered_inline_processor

# Every match of the inline pattern registered under this name contains at least one of these strings.
TRIGGERS: dict[str, tuple[str, ...]] = {
    "backtick": ("`",),
    "math_display": ("$", "\\"),
    "math_inline": ("$", "\\"),
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
    "delimiter": ("~",),
    "builder_citation": ("[@",),   # builder/render/citations.py   # pymdownx.tilde's ~~struck~~ (no other pymdownx delimiter is loaded)
    # smarty's (kramdown typography), run by its own inline stage: see ShortcutsExtension.
    "smarty-ellipses": ("...",),
    "smarty-em-dashes": ("---",),
    "smarty-en-dashes": ("--",),
    "smarty-left-angle-quotes": ("<<",),
    "smarty-right-angle-quotes": (">>",),
    **{f"smarty-quotes-{index}": ("'", '"') for index in range(15)},
}


# The block processor registered under this name applies only to a block holding one of these.
BLOCK_TRIGGERS: dict[str, tuple[str, ...]] = {
    "table": ("|",),
    "hashheader": ("#",),
    "setextheader": ("=", "-"),
    "hr": ("-", "_", "*"),
    "quote": (">",),
    "footnote": ("[^",),
    "reference": ("]:",),
}


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
        for name, triggers in BLOCK_TRIGGERS.items():
            if name in md.parser.blockprocessors:
                skip_unless_triggered(md.parser.blockprocessors[name], triggers)

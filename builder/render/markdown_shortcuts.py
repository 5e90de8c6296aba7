"""Python-Markdown, skipping the inline patterns and block processors that cannot apply.

The stock parser asks every block processor about every block, and the stock InlineProcessor tries
every registered pattern on every text node: some seventeen regular-expression scans, each behind
a registry lookup, even for a sentence of plain words. Each of them can only apply to text that
holds one of a few strings (a link needs "[", a heading "#", a table "|"), so one whose strings are
all absent is skipped. The output is the same, which tests/test_markdown_shortcuts.py checks
against stock Python-Markdown. Patterns and processors not listed here are always tried.
"""
from __future__ import annotations

import markdown
from markdown import util
from markdown.blockprocessors import BlockProcessor
from markdown.extensions import Extension
from markdown.treeprocessors import InlineProcessor

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
    "delimiter": ("~",),   # pymdownx.tilde's ~~struck~~ (no other pymdownx delimiter is loaded)
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

ALL_TRIGGERS = tuple(sorted({trigger for triggers in TRIGGERS.values() for trigger in triggers}))


class TriggeredInlineProcessor(InlineProcessor):
    def run(self, tree, ancestors=None):
        registry = self.inlinePatterns
        triggers = {registry.get_index_for_name(name): frozenset(chars)
                    for name, chars in TRIGGERS.items() if name in registry}
        self.patterns_in_order = [(registry[i], triggers.get(i)) for i in range(len(registry))]
        return super().run(tree, ancestors)

    # Overrides the base class's private __handleInline (its mangled name), which it calls
    # recursively for the text inside each match.
    def _InlineProcessor__handleInline(self, data: str, patternIndex: int = 0) -> str:
        if isinstance(data, util.AtomicString):
            return data
        # Matches only replace text with placeholders, which hold no trigger, so the set found
        # here can only grow stale by excess: a pattern is then tried for nothing, never skipped.
        present = {trigger for trigger in ALL_TRIGGERS if trigger in data}
        apply_pattern = self._InlineProcessor__applyPattern
        patterns = self.patterns_in_order
        for index in range(patternIndex, len(patterns)):
            pattern, triggers = patterns[index]
            if triggers is not None and triggers.isdisjoint(present):
                continue
            matched, start = True, 0
            while matched:   # a pattern that matched is tried again after its match
                data, matched, start = apply_pattern(pattern, data, index, start)
        return data


def skip_unless_triggered(processor: BlockProcessor, triggers: tuple[str, ...]) -> None:
    """Make `processor.test` answer False at once for a block without any of `triggers`."""
    test = processor.test
    processor.test = lambda parent, block: any(t in block for t in triggers) and test(parent, block)


class ShortcutsExtension(Extension):
    """Register last: it wraps the block processors and replaces the inline stage already there."""

    def extendMarkdown(self, md: markdown.Markdown) -> None:
        md.treeprocessors.register(TriggeredInlineProcessor(md), "inline", 20)
        if "smarty" in md.treeprocessors:   # typography has an inline stage of its own
            smarty = TriggeredInlineProcessor(md)
            smarty.inlinePatterns = md.treeprocessors["smarty"].inlinePatterns
            md.treeprocessors.register(smarty, "smarty", 6)
        for name, triggers in BLOCK_TRIGGERS.items():
            if name in md.parser.blockprocessors:
                skip_unless_triggered(md.parser.blockprocessors[name], triggers)

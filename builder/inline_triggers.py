"""Python-Markdown's inline stage, skipping patterns whose first character is absent from the text.

The stock InlineProcessor tries every registered pattern on every text node: some seventeen
regular-expression scans, each behind a registry lookup, even for a sentence of plain words. Each
stock pattern can only match text containing one of a few characters (a link needs "[", emphasis
"*" or "_"), so a pattern whose characters are all absent cannot match and is skipped. The output
is the same, which tests/test_inline_triggers.py checks against the stock processor. Patterns not
listed here (another extension's) are always tried.
"""
from __future__ import annotations

import re

import markdown
from markdown import util
from markdown.extensions import Extension
from markdown.treeprocessors import InlineProcessor

# Every match of the pattern registered under this name contains at least one of these strings.
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
    "em_strong2": ("_",),
    "not_strong": ("*", "_"),
    "strong": ("*",),
    "emphasis": ("*",),
    "emphasis2": ("_",),
    "strong2": ("_",),
}


ANY_TRIGGER = re.compile("|".join(sorted({re.escape(t) for chars in TRIGGERS.values() for t in chars},
                                          key=len, reverse=True)))


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
        present = set(ANY_TRIGGER.findall(data))
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


class TriggeredInlineExtension(Extension):
    def extendMarkdown(self, md: markdown.Markdown) -> None:
        md.treeprocessors.register(TriggeredInlineProcessor(md), "inline", 20)

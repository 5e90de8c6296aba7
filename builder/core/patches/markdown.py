"""Python-Markdown's patches (see the package's docstring): skip the inline patterns and block
processors that cannot apply to a text, and answer lookups that the library makes in lists.
"""
from __future__ import annotations

import re
from typing import Callable

from builder.core.patches import enabled

_classes: dict[str, type] = {}     # classes made on first use (they import Python-Markdown)
# --------------------------------------------------------------------------- Python-Markdown

def triggered_inline_processor(md, triggers: dict[str, tuple[str, ...]]):
    """An InlineProcessor trying only the patterns whose triggers the text holds, or None when off."""
    if not enabled("markdown-inline-triggers"):
        return None
    return triggered_inline_class()(md, triggers)


def triggered_block_parser(parser, triggers: dict[str, tuple[str, ...]]) -> None:
    """Make `parser` ask each block only the block processors that have no triggers or whose
    triggers the block holds; the others' `test` would answer False."""
    if not enabled("markdown-block-triggers"):
        return
    plan = BlockPlan(parser.blockprocessors, triggers)
    parser.parseBlocks = lambda parent, blocks: _parse_triggered_blocks(plan, parent, blocks)


def skip_run_unless_triggered(processor, triggers: tuple[str, ...], attributes: bool = False) -> None:
    """Make a tree processor, preprocessor or postprocessor return at once when its input holds
    none of `triggers` (for a tree: no text or tail, nor attribute value if `attributes`), as its
    `run` would change nothing."""
    if not enabled("markdown-run-triggers"):
        return
    run = processor.run

    def triggered_run(given):
        if isinstance(given, str):                  # a postprocessor's text
            return run(given) if any_held([given], triggers) else given
        if isinstance(given, list):                 # a preprocessor's lines
            return run(given) if any_held(given, triggers) else given
        return run(given) if any_held(tree_strings(given, attributes), triggers) else None

    processor.run = triggered_run


def any_held(strings: list[str], triggers: tuple[str, ...]) -> bool:
    """Whether one of `strings` holds one of `triggers`."""
    held = "\0".join(strings)
    return any(map(held.__contains__, triggers))


def tree_strings(root, attributes: bool = False) -> list[str]:
    """Every text and tail in the tree under `root`, and every attribute value if `attributes`."""
    if attributes:
        return [value for element in root.iter() for value in (element.text, element.tail, *element.attrib.values())
                if value]
    return [value for element in root.iter() for value in (element.text, element.tail) if value]


def replace_pattern_regex(pattern, stand_in) -> None:
    """Give an inline pattern a stand-in for its compiled regular expression, which the inline
    stage only asks for `finditer(text, start)` (old-style patterns: `match`)."""
    if stand_in is not None and enabled("markdown-pattern-search"):
        pattern.compiled_re = stand_in


def quicker_whitespace_normalizing(md) -> None:
    """Python-Markdown's NormalizeWhitespace, its blank-line rule (a line of blanks after a newline
    becomes empty) written to start with the newline: the regular-expression engine then jumps from
    newline to newline instead of trying a lookbehind at every character of the document."""
    if enabled("markdown-normalize-whitespace") and "normalize_whitespace" in md.preprocessors:
        md.preprocessors["normalize_whitespace"].run = lambda lines: normalized_lines(lines, md.tab_length)


_BLANK_LINE = re.compile(r"\n +(?=\n)")


def normalized_lines(lines: list[str], tab_length: int) -> list[str]:
    """The stock steps: no STX/ETX, newlines only, two more at the end, tabs expanded, blank lines emptied."""
    source = "\n".join(lines).replace("\x02", "").replace("\x03", "")
    source = source.replace("\r\n", "\n").replace("\r", "\n") + "\n\n"
    return _BLANK_LINE.sub("\n", source.expandtabs(tab_length)).split("\n")


def set_backed_block_level_names(md) -> None:
    """Make `md.block_level_elements` answer `in` from a set (remade after any change to the list):
    Markdown.is_block_level asks it for every element, several times, and it holds some sixty tags."""
    if enabled("markdown-block-level-set"):
        md.block_level_elements = _block_level_names_class()(md.block_level_elements)


def _block_level_names_class() -> type:
    if "block-level" not in _classes:
        class BlockLevelNames(list):
            def __contains__(self, item) -> bool:
                names = self.__dict__.get("names")
                if names is None:
                    names = self.__dict__["names"] = frozenset(self)
                return item in names if isinstance(item, str) else list.__contains__(self, item)

        for name in ("append", "extend", "insert", "remove", "pop", "clear", "sort", "reverse",
                     "__setitem__", "__delitem__", "__iadd__", "__imul__"):
            setattr(BlockLevelNames, name, _forgetting_names(getattr(list, name)))
        _classes["block-level"] = BlockLevelNames
    return _classes["block-level"]


def _forgetting_names(change: Callable) -> Callable:
    def changed(self, *args, **kwargs):
        self.__dict__.pop("names", None)
        return change(self, *args, **kwargs)
    return changed


class BlockPlan:
    """The block processors of a registry in order, and which of them each block is worth asking."""

    def __init__(self, registry, triggers: dict[str, tuple[str, ...]]):
        self.registry, self.triggers = registry, triggers
        self.processors: list = []
        self.asked: dict[frozenset, tuple] = {}

    def candidates(self, block: str) -> tuple:
        """The processors to ask about `block`, in order."""
        registry = self.registry
        if not registry._is_sorted or len(registry) != len(self.processors):   # first use, or changed
            self.rebuild()
        present = frozenset(filter(block.__contains__, self.all_triggers))
        found = self.asked.get(present)
        if found is None:
            found = self.asked[present] = tuple(
                processor for processor, triggers in zip(self.processors, self.processor_triggers)
                if triggers is None or not triggers.isdisjoint(present))
        return found

    def rebuild(self) -> None:
        self.processors = list(self.registry)      # sorts the registry
        names = [item.name for item in self.registry._priority]
        self.processor_triggers = [frozenset(self.triggers[name]) if name in self.triggers else None
                                   for name in names]
        self.all_triggers = tuple(sorted({t for name in names for t in self.triggers.get(name, ())}))
        self.asked = {}

    def after(self, processor) -> list:
        return self.processors[self.processors.index(processor) + 1:]


def _parse_triggered_blocks(plan: BlockPlan, parent, blocks: list[str]) -> None:
    """BlockParser.parseBlocks, asking each block only its candidate processors."""
    while blocks:
        block = blocks[0]
        for processor in plan.candidates(block):
            if processor.test(parent, block):
                if processor.run(parent, blocks) is not False:
                    break
                if blocks and blocks[0] is not block:   # declined, but changed the block
                    _ask_in_order(plan.after(processor), parent, blocks)
                    break


def _ask_in_order(processors, parent, blocks: list[str]) -> None:
    """Stock parsing of the first block: the first processor whose test and run accept it."""
    for processor in processors:
        if processor.test(parent, blocks[0]) and processor.run(parent, blocks) is not False:
            return



def triggered_inline_class() -> type:
    """The InlineProcessor subclass that skips patterns (defined on first use: it imports markdown)."""
    if "inline" not in _classes:
        _classes["inline"] = _define_triggered_inline()
    return _classes["inline"]


def _define_triggered_inline() -> type:
    from markdown import util
    from markdown.treeprocessors import InlineProcessor

    class TriggeredInlineProcessor(InlineProcessor):
        def __init__(self, md, triggers: dict[str, tuple[str, ...]]):
            super().__init__(md)
            self.plan = TriggerPlan([], triggers)     # made on the first run

        def run(self, tree, ancestors=None):
            self.plan = self.plan.current(self.inlinePatterns)
            if not self.plan.untriggered and not any_held(tree_strings(tree), self.plan.all_triggers):
                self.stashed_nodes = {}           # no pattern can match: the tree stays as it is
                return tree
            return super().run(tree, ancestors)

        # Overrides the base class's private __handleInline (mangled), also called on each match's text.
        def _InlineProcessor__handleInline(self, data: str, patternIndex: int = 0) -> str:
            return data if isinstance(data, util.AtomicString) else _apply_triggered_patterns(self, data, patternIndex)

        # And its private __processPlaceholders: a text without placeholders (most of them) is
        # only put back where it was taken from.
        def _InlineProcessor__processPlaceholders(self, data, parent, isText: bool = True) -> list:
            if not data or util.INLINE_PLACEHOLDER_PREFIX in data:
                return super()._InlineProcessor__processPlaceholders(data, parent, isText)
            _put_back(util.AtomicString(data) if isinstance(data, util.AtomicString) else data[0:], parent, isText)
            return []

    return TriggeredInlineProcessor


def _put_back(text: str, parent, as_text: bool) -> None:
    """Append `text` to `parent`'s text (or tail), as the InlineProcessor does with plain text."""
    held = parent.text if as_text else parent.tail
    if as_text:
        parent.text = held + text if held else text
    else:
        parent.tail = held + text if held else text


class TriggerPlan:
    """Which inline patterns to try on a text, by the trigger strings the text holds.

    A text is tried with each pattern that has no triggers or one of its triggers present, in
    registry order; the list for each set of present triggers is made once and kept, since few
    distinct sets occur.
    """

    def __init__(self, patterns: list, triggers: dict[str, tuple[str, ...]], registry=None):
        self.patterns, self.triggers = patterns, triggers
        found = {registry.get_index_for_name(name): frozenset(chars)
                 for name, chars in triggers.items() if registry is not None and name in registry}
        self.pattern_triggers = [found.get(index) for index in range(len(patterns))]
        self.all_triggers = tuple(sorted(set().union(*found.values())))
        self.untriggered = len(found) < len(patterns)
        self.tried: dict[frozenset, tuple[int, ...]] = {}

    def current(self, registry) -> TriggerPlan:
        """This plan, or a new one if the registry's patterns are not the ones it was made for."""
        patterns = list(registry)
        return self if patterns == self.patterns else TriggerPlan(patterns, self.triggers, registry)

    def indices(self, data: str) -> tuple[int, ...]:
        """The indices of the patterns to try on `data`, in order."""
        present = frozenset(filter(data.__contains__, self.all_triggers))
        indices = self.tried.get(present)
        if indices is None:
            indices = self.tried[present] = tuple(
                index for index, triggers in enumerate(self.pattern_triggers)
                if triggers is None or not triggers.isdisjoint(present))
        return indices


def _apply_triggered_patterns(processor, data: str, first: int) -> str:
    """Apply the patterns from index `first` on, skipping those whose triggers are absent."""
    # Matches only replace text with placeholders, which hold no trigger, so the set found
    # here can only grow stale by excess: a pattern is then tried for nothing, never skipped.
    plan = processor.plan
    apply_pattern = processor._InlineProcessor__applyPattern
    for index in plan.indices(data):
        if index < first:
            continue
        pattern = plan.patterns[index]
        matched, start = True, 0
        while matched:   # a pattern that matched is tried again after its match
            data, matched, start = apply_pattern(pattern, data, index, start)
    return data



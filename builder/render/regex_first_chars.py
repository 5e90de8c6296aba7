"""Which characters a regular expression's match can start with, as a one-character test.

The lexer in builder/render/python_lexer.py asks, at each position, only the rules whose first
character can be the one there; Markdown's inline patterns search from one such character to the
next (FirstCharFinder, below). The answer has to err only one way: a character the test refuses
is one no match can start with. So the regular expression is read from CPython's own parse of it:
the first item that takes a character (a literal, a class, any character) tells, items that take
none (anchors, lookarounds) are passed over, and an optional item adds the next one's characters.
Whatever is not understood, and a pattern that can match the empty string, gives None: no test.
"""
from __future__ import annotations

import re

from builder.core.patches import sre_modules


def first_char_test(pattern: re.Pattern) -> re.Pattern | None:
    """A pattern matching each character that a match of `pattern` can start with, or None."""
    modules = sre_modules()
    if modules is None or not isinstance(pattern.pattern, str):
        return None
    parser, compiler, _ = modules
    try:
        items, empty = first_items(parser.parse(pattern.pattern, pattern.flags).data, modules)
    except Unknown:
        return None
    if empty or not items:
        return None
    union = items if len(items) == 1 else [(modules[2].BRANCH, (None, [parser.SubPattern(parser.State(), [item])
                                                                      for item in items]))]
    return compiler.compile(parser.SubPattern(parser.State(), union), pattern.flags)


class Unknown(Exception):
    """An item this module does not read: the caller gives up on a test."""


def first_items(sequence, modules) -> tuple[list, bool]:
    """The one-character items that can come first in `sequence`, and whether it can be empty."""
    items: list = []
    for op, argument in sequence:
        found, empty = first_items_of(op, argument, modules)
        items += found
        if not empty:
            return items, False
    return items, True


def first_items_of(op, argument, modules) -> tuple[list, bool]:
    """`first_items` of one parsed item."""
    _, _, sre = modules
    if op in (sre.LITERAL, sre.NOT_LITERAL, sre.IN, sre.ANY):
        return [(op, argument)], False
    if op in (sre.AT, sre.ASSERT, sre.ASSERT_NOT):      # they take no character
        return [], True
    if op is sre.SUBPATTERN:
        _, add_flags, del_flags, inner = argument
        if add_flags or del_flags:
            raise Unknown(op)
        return first_items(inner.data, modules)
    if op is sre.ATOMIC_GROUP:
        return first_items(argument.data, modules)
    if op in (sre.MAX_REPEAT, sre.MIN_REPEAT, sre.POSSESSIVE_REPEAT):
        least, _, inner = argument
        items, empty = first_items(inner.data, modules)
        return items, empty or least == 0
    if op is sre.BRANCH:
        items, empty = [], False
        for branch in argument[1]:
            found, branch_empty = first_items(branch.data, modules)
            items, empty = items + found, empty or branch_empty
        return items, empty
    raise Unknown(op)


class FirstCharFinder:
    """A compiled regular expression whose `finditer` tries a match only where one can start.

    Python's engine skips ahead quickly only for an expression that starts with a literal or a
    class; one that starts with a lookbehind (Markdown's code spans and math, smarty's quotes and
    dashes) is tried at every position of the text. This one jumps from one possible first
    character to the next. Every other attribute is the expression's own.
    """

    def __init__(self, regex: re.Pattern, first: re.Pattern):
        self.regex, self.first = regex, first

    def __getattr__(self, name: str):
        return getattr(self.regex, name)

    def finditer(self, string: str, pos: int = 0, endpos: int | None = None):
        if endpos is not None:
            return self.regex.finditer(string, pos, endpos)
        return self._matches(string, pos)

    def _matches(self, string: str, pos: int):
        """The matches `finditer` gives; none can be empty, so each next search starts at the end."""
        candidate, match = self.first.search, self.regex.match
        while (start := candidate(string, pos)) is not None:
            found = match(string, start.start())
            if found is None:
                pos = start.start() + 1
                continue
            yield found
            pos = max(found.end(), start.start() + 1)   # never empty: see first_char_test


def first_char_finder(regex: re.Pattern) -> FirstCharFinder | None:
    """`regex` as a FirstCharFinder, or None where no first-character test can be read from it."""
    first = first_char_test(regex)
    return None if first is None else FirstCharFinder(regex, first)

"""Pygments' Python lexer, made faster by asking at each position only the rules that can match there.

A Pygments RegexLexer tries the rules of its current state one after another, a regular-expression
match each, until one matches: some forty failed matches for every token of Python. But most rules
can only match text that starts with certain characters (a keyword with its first letter, an
operator with its sign), which builder/render/regex_first_chars.py reads from each rule's regular
expression. So for each state and each character, the rules whose match can start with that
character are listed once, in the state's order, and only they are tried at a position holding
it; the first that matches wins, as in Pygments, and its action and state change are applied as
Pygments applies them. The tokens, and so the highlighted HTML, are the same:
tests/test_python_lexer.py compares both lexers token for token.
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Iterator

from pygments.lexers import PythonLexer
from pygments.token import Error, Whitespace, _TokenType

from builder.core.patches import regex_lexer_rules
from builder.render.regex_first_chars import first_char_test


@dataclass(frozen=True)
class Rule:
    pattern: re.Pattern
    action: object          # a token type, a callback, or None
    new_state: object       # None, a tuple of states, a number of pops, or "#push"


class StateRules:
    """A state's rules; at each position, only those whose match can start with the character there."""

    def __init__(self, rules: list[Rule]):
        self.rules = rules
        self.tests = [cached_first_char_test(rule.pattern) for rule in rules]
        self.by_char: dict[str, tuple[Rule, ...]] = {"": tuple(rules)}     # "": at the end of the text

    def match(self, text: str, pos: int) -> tuple[Rule, re.Match] | None:
        """The first rule that matches `text` at `pos`, and its match."""
        char = text[pos:pos + 1]
        rules = self.by_char.get(char)
        if rules is None:
            rules = self.by_char[char] = tuple(rule for rule, test in zip(self.rules, self.tests)
                                               if test is None or test.match(char))
        for rule in rules:
            found = rule.pattern.match(text, pos)
            if found:
                return rule, found
        return None


@functools.lru_cache(maxsize=None)
def cached_first_char_test(pattern: re.Pattern) -> re.Pattern | None:
    """first_char_test, once per distinct pattern (states share many of their rules)."""
    return first_char_test(pattern)


def apply_state_change(stack: list, new_state) -> None:
    """Change the state stack as a Pygments rule's (processed) new state says."""
    if isinstance(new_state, tuple):
        for state in new_state:
            if state == "#pop":
                if len(stack) > 1:
                    stack.pop()
            else:
                stack.append(stack[-1] if state == "#push" else state)
    elif isinstance(new_state, int):      # that many pops (a negative number), keeping the bottom state
        del stack[new_state if abs(new_state) < len(stack) else 1:]
    elif new_state == "#push":
        stack.append(stack[-1])
    else:
        raise ValueError(f"unknown state change {new_state!r}")


class States(dict):
    """State name -> StateRules, each made when the lexer first enters the state."""

    def __init__(self, rules: dict):
        super().__init__()
        self.rules = rules

    def __missing__(self, name) -> StateRules:
        made = self[name] = StateRules([Rule(match.__self__, action, new_state)
                                        for match, action, new_state in self.rules[name]])
        return made


class FirstCharPythonLexer(PythonLexer):
    """PythonLexer asking only the rules that can match at each position (see the module's docstring)."""

    _states: States | None = None     # made once: the rules are the class's

    def __init__(self, **options):
        super().__init__(**options)
        if FirstCharPythonLexer._states is None:
            FirstCharPythonLexer._states = States(regex_lexer_rules(self))
        self.states = FirstCharPythonLexer._states

    def get_tokens_unprocessed(self, text: str, stack=("root",)) -> Iterator[tuple[int, object, str]]:
        stack = list(stack)
        rules = self.states[stack[-1]]
        pos = 0
        while True:
            found = rules.match(text, pos)
            if found is None:          # no rule matches: an error character, or a newline that resets
                if pos >= len(text):
                    return
                if text[pos] == "\n":
                    stack = ["root"]
                    rules = self.states["root"]
                yield pos, Whitespace if text[pos] == "\n" else Error, text[pos]
                pos += 1
                continue
            rule, match = found
            if type(rule.action) is _TokenType:
                yield pos, rule.action, match.group()
            elif rule.action is not None:
                yield from rule.action(self, match)
            pos = match.end()
            if rule.new_state is not None:
                apply_state_change(stack, rule.new_state)
                rules = self.states[stack[-1]]


def python_lexer() -> PythonLexer:
    """The faster lexer where the patch applies to the installed Pygments, else Pygments' own."""
    return FirstCharPythonLexer() if regex_lexer_rules(PythonLexer()) is not None else PythonLexer()

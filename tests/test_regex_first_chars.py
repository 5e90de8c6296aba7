"""The first characters read from a regular expression, and the search that jumps between them."""
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pygments.lexers import PythonLexer

from builder.render.markup import new_markdown
from builder.render.regex_first_chars import FirstCharFinder, first_char_finder, first_char_test

MARKDOWN = new_markdown({})
INLINE_FINDERS = [pattern.compiled_re for registry in (MARKDOWN.inlinePatterns,
                                                        MARKDOWN.treeprocessors["smarty"].inlinePatterns)
                  for pattern in registry if isinstance(pattern.compiled_re, FirstCharFinder)]
TEXT = st.text(alphabet=st.sampled_from(list("ab_1 \n\t`\\$'\"-.[]()!<>&*~@^{}:;,?/\u2013\u0002\u0003é")),
               max_size=40)


@pytest.mark.parametrize("pattern, starts, refused", [
    (r"abc|d", "ad", "bcx"),
    (r"(?<!\.)\bdef\b", "d", "e."),
    (r"x?y", "xy", "z"),
    (r"[^\S\n]+", " \t", "\nx"),
    (r"(?i)rb", "rR", "b"),
    (r"\d(?:_?\d)*", "07", "_a"),
])
def test_first_char_test_takes_the_starts_and_refuses_the_others(pattern, starts, refused):
    test = first_char_test(re.compile(pattern))
    assert [char for char in starts + refused if test.match(char)] == list(starts)


@pytest.mark.parametrize("pattern", [r"", r"x*", r"\b", r"(?P<n>a)?(?P=n)", r"(?i:a)b"])
def test_no_first_char_test_where_a_match_may_be_empty_or_is_not_read(pattern):
    assert first_char_test(re.compile(pattern)) is None


def test_every_inline_pattern_of_our_markdown_searches_from_first_characters():
    patterns = [pattern for registry in (MARKDOWN.inlinePatterns, MARKDOWN.treeprocessors["smarty"].inlinePatterns)
                for pattern in registry]
    assert INLINE_FINDERS and len(INLINE_FINDERS) == len(patterns)


@settings(max_examples=600, deadline=None)
@given(st.sampled_from(INLINE_FINDERS), TEXT, st.integers(0, 5))
def test_the_finder_finds_what_finditer_finds(finder, text, start):
    def found(matches):
        return [(match.span(), match.groups()) for match in matches]
    assert found(finder.finditer(text, start)) == found(finder.regex.finditer(text, start))


def test_no_finder_for_a_pattern_that_may_match_empty_text():
    assert first_char_finder(re.compile(r"x*")) is None
    assert isinstance(first_char_finder(re.compile(r"(?<!\\)`")), FirstCharFinder)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from([rule.__self__ for rules in PythonLexer()._tokens.values() for rule, _, _ in rules]),
       st.text(alphabet=st.sampled_from(list("aZ_1 \t\n'\"fbrU.#@\\{}%([é名")), min_size=1, max_size=8))
def test_a_refused_character_starts_no_match_of_a_pygments_rule(pattern, text):
    test = first_char_test(pattern)
    if test is not None and not test.match(text[0]):
        assert pattern.match(text) is None

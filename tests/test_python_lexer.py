"""The first-character lexer must give exactly the tokens of Pygments' own PythonLexer."""
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from pygments.lexers import PythonLexer

from builder.render.python_lexer import FirstCharPythonLexer, python_lexer
from builder.render.regex_first_chars import first_char_test

REPO = Path(__file__).resolve().parent.parent
PIECES = ["x", "_y", "é", "名", "1", "0x1F", "1_000.5e-3j", " ", "\t", "\n", "\\\n", "\\", "#", "# c\n",
          "'", '"', "'''", '"""', "f'", 'f"', "rb'", "Rf'", "b'", "u'", "{", "}", "{{", "}}", "{x!r:>{w}}",
          "(", ")", "[", "]", ":", ",", ".", "=", "==", ":=", "->", "@", "@dec\n", "%s", "%(a)d", "\\N{DASH}",
          "def f", "class C", "import os", "from . import x", "lambda", "async def", "await", "match x:",
          "case _:", "print", "self", "__init__", "__name__", "None", "True", "yield from", "not in",
          "type X = int", "$", "?", "`", "\x00", "\r\n"]
sources = st.lists(st.sampled_from(PIECES), max_size=40).map("".join)


def tokens(lexer, code: str) -> list:
    return list(lexer.get_tokens(code))


def test_the_faster_lexer_is_used_with_this_pygments():
    assert isinstance(python_lexer(), FirstCharPythonLexer)


@pytest.mark.slow
@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sources)
@example("def f(a, *, b=1) -> 'str':\n    return f\"{a!r:>{b}} {{}}\" % {'k': rb'\\d'}\n")
@example("x = '''unterminated\n\ny = \"open\n")
@example("@property\nasync def g():\n    await h(名, é_1)\n")
def test_same_tokens_as_pygments(code):
    assert tokens(FirstCharPythonLexer(), code) == tokens(PythonLexer(), code)


def test_same_tokens_on_this_repository_and_its_posts():
    codes = [path.read_text(encoding="utf-8") for path in sorted((REPO / "builder").rglob("*.py"))]
    for post in sorted((REPO / "posts").glob("*.md")):
        codes += re.findall(r"```python[^\n]*\n(.*?)```", post.read_text(encoding="utf-8"), re.S)
    fast, stock = FirstCharPythonLexer(), PythonLexer()
    assert [tokens(fast, code) for code in codes] == [tokens(stock, code) for code in codes]


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


@settings(max_examples=300, deadline=None)
@given(st.sampled_from([rule.__self__ for rules in PythonLexer()._tokens.values() for rule, _, _ in rules]),
       st.text(alphabet=st.sampled_from(list("aZ_1 \t\n'\"fbrU.#@\\{}%([é名")), min_size=1, max_size=8))
def test_a_refused_character_starts_no_match_of_a_pygments_rule(pattern, text):
    test = first_char_test(pattern)
    if test is not None and not test.match(text[0]):
        assert pattern.match(text) is None

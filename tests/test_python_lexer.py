"""The first-character lexer must give exactly the tokens of Pygments' own PythonLexer."""
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from pygments.lexers import PythonLexer

from builder.render.python_lexer import FirstCharPythonLexer, python_lexer

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

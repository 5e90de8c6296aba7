"""Rendering cell outputs (sanitised HTML, size limits), and the plain text of excerpts."""
from __future__ import annotations

from pathlib import Path

import pytest

from builder.core.config import validate_config
from builder.core.model import CodeCell, Output
from builder.render.page import MAX_HTML_OUTPUT, RenderContext, plain_text, render_output
from builder.render.templates import make_environment


def context(tmp_path: Path) -> RenderContext:
    config = validate_config({}, "_config.yml")
    return RenderContext(make_environment(tmp_path, config), config, {})


def test_html_outputs_are_sanitised_but_keep_tables(tmp_path):
    html = '<table><tr><td onclick="x()">1</td></tr></table><script>alert(1)</script>'
    rendered = render_output(Output("html", text=html), CodeCell(1, "df", 3), context(tmp_path))
    assert "<table><tbody><tr><td>1</td></tr></tbody></table>" in rendered
    assert "script" not in rendered and "onclick" not in rendered


def test_an_svg_figure_takes_its_alt_text_from_fig_alt_then_fig_cap(tmp_path):
    svg = Output("svg", text='<svg xmlns="http://www.w3.org/2000/svg"/>')
    described = CodeCell(1, "plot()", 3, {"fig-alt": "Loss falls <fast>", "fig-cap": "Loss"})
    assert 'alt="Loss falls &lt;fast&gt;"' in render_output(svg, described, context(tmp_path))
    captioned = CodeCell(1, "plot()", 3, {"fig-cap": "Loss"})
    assert 'alt="Loss"' in render_output(svg, captioned, context(tmp_path))


def test_huge_html_output_is_replaced_by_a_note(tmp_path):
    html = "<table>" + "<tr><td>1</td></tr>" * (MAX_HTML_OUTPUT // 10) + "</table>"
    rendered = render_output(Output("html", text=html), CodeCell(1, "df", 3), context(tmp_path))
    assert len(rendered) < 1000
    assert f"HTML output of {len(html):,} characters not shown (the limit is 200,000)" in rendered


def test_the_reused_markdown_converter_forgets_the_previous_post():
    from builder.render.markup import markdown_for, new_markdown
    first = "Text[^1], a [ref] and <b>html</b>.\n\n[^1]: A note.\n\n[ref]: https://a.example\n\n## Same\n\n## Same\n"
    second = "Again[^1] and [ref].\n\n## Same\n\nCELL\n"
    fresh = new_markdown({"CELL": "<div>cell two</div>"})
    expected = fresh.convert(second), fresh.toc
    markdown_for({"CELL": "<div>cell one</div>"}).convert(first)
    reused = markdown_for({"CELL": "<div>cell two</div>"})
    assert (reused.convert(second), reused.toc) == expected
    assert 'id="same"' in expected[0] and "cell two" in expected[0] and "fnref" not in expected[0]


def reading_minutes_of(text: str) -> int:
    from builder.core.model import Post, Prose
    from builder.render.page import reading_minutes
    return reading_minutes(Post("posts/p.md", "p", None, "P", {}, (Prose(text, 1),), "/p/", 1))


def test_reading_minutes_count_latin_words_and_cjk_characters_as_the_regexes_define_them():
    import math
    import re
    texts = ["word " * 399 + "last", "don't x_1 2nd" * 150, "naïve café—é " * 140, "-a-b-" * 120,
             "日本語の文章" * 100 + " and words " * 150, "\tword\nword" * 201, ""]
    for text in texts:
        words = len(re.findall(r"[A-Za-z0-9_']+", text))
        cjk = len(re.findall(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]", text))
        assert reading_minutes_of(text) == max(1, math.ceil(words / 200 + cjk / 400)), text[:20]
    assert reading_minutes_of("word " * 401) == 3 and reading_minutes_of("日" * 401) == 2


@pytest.mark.parametrize("paragraph, expected", [
    (r"The loss is $L = \frac{1}{n}\sum_i (y_i - \hat y_i)^2$, *squared*.",
     r"The loss is $L = \frac{1}{n}\sum_i (y_i - \hat y_i)^2$, squared."),
    ("Call `torch.nn.functional.mse_loss` or `a**2` on __both__ > _inputs_.",
     "Call torch.nn.functional.mse_loss or a**2 on both inputs."),
    ("A [linked *word*](https://example.org) and ![a picture](x.png) [@key, p. 2].", "A linked word and a picture."),
])
def test_an_excerpt_keeps_code_and_math_as_written(paragraph, expected):
    """The description, feed summary and listing excerpt: emphasis marks go, but the `_` and `*`
    of code spans and formulas are what they say (they used to read `\\sumi (yi - \\hat yi)`)."""
    assert plain_text(paragraph) == expected

import markdown
import pytest

from builder.formats.mathml import MathError, MathExtension

MATHML_NS = 'xmlns="http://www.w3.org/1998/Math/MathML"'


def render(source: str) -> str:
    return markdown.markdown(source, extensions=[MathExtension(), "fenced_code"])


def inline_math(mrow: str, tex: str) -> str:
    return (
        f'<math display="inline" {MATHML_NS}><semantics><mrow>{mrow}</mrow>'
        f'<annotation encoding="application/x-tex">{tex}</annotation></semantics></math>'
    )


def display_math(mrow: str, tex: str) -> str:
    return (
        f'<div class="math-display"><math display="block" {MATHML_NS}><semantics><mrow>{mrow}</mrow>'
        f'<annotation encoding="application/x-tex">{tex}</annotation></semantics></math></div>'
    )


A1_SQUARED = "<msubsup><mi>a</mi><mn>1</mn><mn>2</mn></msubsup>"


def test_inline_dollars():
    assert render("$a_1^2$") == f"<p>{inline_math(A1_SQUARED, 'a_1^2')}</p>"


def test_inline_math_keeps_surrounding_text_and_spacing():
    assert render("Let $x$ be **big**.") == (
        f"<p>Let {inline_math('<mi>x</mi>', 'x')} be <strong>big</strong>.</p>"
    )


def test_display_dollars_on_one_line():
    assert render("$$a_1^2$$") == display_math(A1_SQUARED, "a_1^2")


def test_underscores_and_stars_are_not_emphasis():
    html = render("Compare $a_1 * b_2$ with $c_3 * d_4$.")

    assert "<em>" not in html
    assert inline_math(
        "<msub><mi>a</mi><mn>1</mn></msub><mo>&#x0002A;</mo><msub><mi>b</mi><mn>2</mn></msub>", "a_1 * b_2"
    ) in html
    assert inline_math(
        "<msub><mi>c</mi><mn>3</mn></msub><mo>&#x0002A;</mo><msub><mi>d</mi><mn>4</mn></msub>", "c_3 * d_4"
    ) in html


def test_markdown_inside_text_command_stays_literal():
    assert render(r"$\text{*a* _b_}$") == (
        f"<p>{inline_math('<mtext>*a*&#x000A0;_b_</mtext>', chr(92) + 'text{*a* _b_}')}</p>"
    )


def test_math_in_code_span_is_literal():
    assert render("Code `$x$` here") == "<p>Code <code>$x$</code> here</p>"


def test_math_in_fenced_code_is_literal():
    assert render("```\n$x_1$ and $$y$$\n```") == "<pre><code>$x_1$ and $$y$$\n</code></pre>"


def test_escaped_dollar_is_literal():
    assert render(r"It costs \$5 or \$x\$.") == "<p>It costs $5 or $x$.</p>"


def test_prices_are_not_math():
    assert render("Pay $5 and $10 now.") == "<p>Pay $5 and $10 now.</p>"


def test_closing_dollar_before_a_digit_is_not_math():
    assert render("It costs $5-$10 each.") == "<p>It costs $5-$10 each.</p>"


def test_prices_before_real_math():
    assert render("Pay $5 and $10 for $x$") == f"<p>Pay $5 and $10 for {inline_math('<mi>x</mi>', 'x')}</p>"


def test_dollar_followed_by_space_is_not_math():
    assert render("a $ b$ c") == "<p>a $ b$ c</p>"


def test_double_dollars_inside_a_paragraph_are_inline_as_in_kramdown():
    # kramdown: <p>The loss:\n\(a_1 \\ b &lt; c\)\nwhere ...</p>
    source = "The loss:\n$$\na_1 \\\\ b < c\n$$\nwhere $b$ is small."

    assert render(source) == (
        "<p>The loss:\n"
        + inline_math('<msub><mi>a</mi><mn>1</mn></msub><mspace linebreak="newline"></mspace>'
                      "<mi>b</mi><mo>&#x0003C;</mo><mi>c</mi>", "a_1 \\\\ b &lt; c")
        + f"\nwhere {inline_math('<mi>b</mi>', 'b')} is small.</p>")


def test_double_dollars_in_a_sentence_are_inline():
    # kramdown: <p>Inline \(a+b\) in a sentence.</p>
    assert render("Inline $$x$$ in a sentence.") == f"<p>Inline {inline_math('<mi>x</mi>', 'x')} in a sentence.</p>"


def test_display_block_on_its_own_keeps_heading_like_lines():
    assert render("Before\n\n$$\n# x\n$$\n\nAfter") == "\n".join([
        "<p>Before</p>",
        display_math("<mi>#</mi><mi>x</mi>", "# x"),
        "<p>After</p>",
    ])


def test_escaped_mathjax_delimiters_as_kramdown_authors_write_them():
    # kramdown: <p>See \[x^2\] and \(y_1\).</p>, which MathJax shows as display and inline math
    assert render(r"See \\[ x^2 \\] and \\( y_1 \\).") == "\n".join([
        "<p>See</p>",
        display_math("<msup><mi>x</mi><mn>2</mn></msup>", "x^2"),
        f"<p>and {inline_math('<msub><mi>y</mi><mn>1</mn></msub>', 'y_1')}.</p>",
    ])


def test_escaped_brackets_and_parentheses_in_prose_are_not_math():
    # kramdown: <p>Interval [-1,1] and (z) plain.</p>
    assert render(r"Interval \[-1,1\] and \(z\) plain.") == "<p>Interval [-1,1] and (z) plain.</p>"


def test_escaped_brackets_standing_alone_are_display_math():
    assert render("A\n\n\\\\[x\\\\]\n\nB") == "\n".join(["<p>A</p>", display_math("<mi>x</mi>", "x"), "<p>B</p>"])


def test_mathrel_gives_no_token_element_holding_elements():
    html = render(r"$a \mathrel{+}= b$")
    assert "<mo><mrow>" not in html
    assert "<mi>a</mi><mrow><mrow><mo>&#x0002B;</mo></mrow></mrow><mo>&#x0003D;</mo>" in html


def test_unconvertible_tex_raises_math_error_naming_it():
    with pytest.raises(MathError) as raised:
        render(r"Bad $\frac{$ here")

    assert isinstance(raised.value, ValueError)
    assert str(raised.value) == (
        'cannot convert the TeX "\\frac{" to MathML (NoAvailableTokensError); '
        "fix the TeX, or write \\$ if the $ is not meant to start math"
    )


def test_extension_loads_by_module_name():
    assert markdown.markdown("$x$", extensions=["builder.formats.mathml"]) == f"<p>{inline_math('<mi>x</mi>', 'x')}</p>"


# Every formula's MathML is checked structurally: known elements, no <math> inside <math>, token
# elements hold text only, and the scripts, fractions and roots have their fixed number of children.

MATHML_ELEMENTS = {"math", "semantics", "annotation", "mrow", "mi", "mn", "mo", "mtext", "ms", "mspace",
                   "mfrac", "msqrt", "mroot", "msub", "msup", "msubsup", "munder", "mover",
                   "munderover", "mtable", "mtr", "mtd", "mstyle", "mpadded", "mphantom", "menclose",
                   "merror", "mmultiscripts", "mprescripts", "none"}
FIXED_CHILDREN = {"mfrac": 2, "mroot": 2, "msub": 2, "msup": 2, "msubsup": 3, "munder": 2, "mover": 2,
                  "munderover": 3}
TOKENS = {"mi", "mn", "mo", "mtext", "ms", "annotation"}
FORMULAS = [
    r"a \mathrel{+}= b", r"\operatorname{softmax}(z)_i = \frac{e^{z_i}}{\sum_j e^{z_j}}",
    r"\mathcal{L} = -\sum_{i=1}^{N} y_i \log \hat{y}_i", r"\|x\|_2^2 = \sum_i x_i^2",
    r"\begin{bmatrix} 1 & 0 \\ 0 & 1 \end{bmatrix}", r"\sqrt[3]{x} + \sqrt{y}",
    r"\mathbb{E}_{x \sim p}[f(x)]", r"\nabla_\theta J(\theta) \leftarrow \theta - \eta g",
    r"\begin{aligned} a &= b \\ c &= d \end{aligned}", r"\overline{x} \underbrace{y}_{n}",
    r"\text{if } x > 0", r"f(x) = \begin{cases} 1 & x > 0 \\ 0 & \text{else} \end{cases}",
]


def mathml_problems(html: str) -> list[str]:
    import xml.etree.ElementTree as ElementTree
    root = ElementTree.fromstring(html.replace(f" {MATHML_NS}", "").replace("&nbsp;", "&#160;"))
    problems = []
    for element in root.iter():
        children = list(element)
        if element.tag not in MATHML_ELEMENTS:
            problems.append(f"unknown element <{element.tag}>")
        if element is not root and element.tag == "math":
            problems.append("<math> inside <math>")
        if element.tag in TOKENS and children:
            problems.append(f"<{element.tag}> holds elements")
        if element.tag in FIXED_CHILDREN and len(children) != FIXED_CHILDREN[element.tag]:
            problems.append(f"<{element.tag}> has {len(children)} children")
    return problems


@pytest.mark.parametrize("tex", FORMULAS)
def test_every_formula_gives_structurally_valid_mathml(tex):
    from builder.formats.mathml import mathml_html
    assert mathml_problems(mathml_html(tex, display=True)) == []


def test_the_fixture_sites_formulas_are_valid_mathml():
    import re
    from pathlib import Path
    posts = Path(__file__).parent / "fixtures/golden-site/posts"
    html = "".join(render(path.read_text(encoding="utf-8")) for path in sorted(posts.glob("*.md")))
    formulas = re.findall(r"<math.*?</math>", html, re.DOTALL)
    assert formulas
    assert [problem for formula in formulas for problem in mathml_problems(formula)] == []


def test_the_check_finds_invalid_mathml():
    assert mathml_problems("<math><mo><mrow><mo>+</mo></mrow></mo><msub><mi>x</mi></msub></math>") == \
        ["<mo> holds elements", "<msub> has 1 children"]

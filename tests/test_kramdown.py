"""Our Markdown against kramdown's: each expected string is what kramdown 2.4.0 prints for the input
with Jekyll 4.3's default options (GFM input, smart quotes, auto ids), compared as text and structure."""
import re
from html.parser import HTMLParser

import pytest

from builder.core.errors import ConfigError
from builder.render.kramdown import KramdownSettings, kramdown_settings, unused_keys
from builder.render.kramdown_blocks import gfm_id, kramdown_id
from builder.render.markup import CellExtension, configured_markdown

# Tags that carry structure; the rest (Pygments' spans, wrapping divs) are presentation.
STRUCTURE = {"p", "ul", "ol", "li", "del", "pre", "code", "blockquote", "dl", "dt", "dd", "abbr", "em",
             "strong", "a", "table", "thead", "tbody", "tfoot", "tr", "th", "td", "sup", "h1", "h2",
             "h3", "h4", "h5", "h6"}
KEPT_ATTRIBUTES = {"id", "title", "rules", "href", "class"}


class Structure(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tokens: list[str] = []
        self.text = ""

    def flush(self):
        text = " ".join(self.text.split())
        if text:
            self.tokens.append(text)
        self.text = ""

    def handle_starttag(self, tag, attrs):
        if tag in STRUCTURE:
            self.flush()
            kept = sorted((k, v) for k, v in attrs if k in KEPT_ATTRIBUTES and not (tag == "code" and k == "class"))
            self.tokens.append(f"<{tag}{''.join(f' {k}={v!r}' for k, v in kept)}>")

    def handle_endtag(self, tag):
        if tag in STRUCTURE:
            self.flush()
            self.tokens.append(f"</{tag}>")

    def handle_data(self, data):
        self.text += data

    def handle_comment(self, data):
        self.flush()
        self.tokens.append(f"<!--{' '.join(data.split())}-->")


def structure(html: str) -> list[str]:
    parser = Structure()
    parser.feed(html)
    parser.flush()
    return parser.tokens


def ours(source: str, settings: KramdownSettings = KramdownSettings()) -> str:
    return configured_markdown(CellExtension({}), kramdown=settings).convert(source)


def assert_like_kramdown(source: str, kramdown_html: str, settings: KramdownSettings = KramdownSettings()):
    assert structure(ours(source, settings)) == structure(kramdown_html)


def test_typography_as_kramdown():
    assert_like_kramdown("Say \"hi\" -- it's 1990s --- and... done.",
                         "<p>Say “hi” – it’s 1990s — and… done.</p>")


def test_typographic_characters_are_written_as_characters():
    assert ours("\"a\" -- b...") == "<p>“a” – b…</p>"


def test_straight_quotes_for_a_site_that_turns_them_off():
    settings = kramdown_settings({"smart_quotes": "apos,apos,quot,quot"})
    assert settings.smart_quotes is None
    assert ours("Say \"hi\", it's -- fine", settings) == "<p>Say \"hi\", it's – fine</p>"
    assert kramdown_settings({"smart_quotes": False}) == settings


def test_typography_leaves_code_and_math_alone():
    html = ours("`a -- \"b\"` and $x'' -- y$")
    assert '<code>a -- "b"</code>' in html
    assert "–" not in html.split("<math", 1)[1]


def test_two_space_nested_lists():
    assert_like_kramdown("* a\n  * b\n    * c\n* d", """<ul>
  <li>a
    <ul>
      <li>b
        <ul>
          <li>c</li>
        </ul>
      </li>
    </ul>
  </li>
  <li>d</li>
</ul>""")


def test_fenced_code_inside_a_list_item():
    assert_like_kramdown("1. x\n\n   ```python\n   y = 1\n   ```\n\n2. z", """<ol>
  <li>
    <p>x</p>

    <pre><code class="language-python">y = 1
</code></pre>
  </li>
  <li>
    <p>z</p>
  </li>
</ol>""")


def test_definition_list():
    assert_like_kramdown("Term\n: Definition", "<dl>\n  <dt>Term</dt>\n  <dd>Definition</dd>\n</dl>")


def test_abbreviation():
    assert_like_kramdown("*[HTML]: Hyper Text\n\nThe HTML spec.",
                         '<p>The <abbr title="Hyper Text">HTML</abbr> spec.</p>')


def test_footnote_text():
    html = ours("Text[^1].\n\n[^1]: Note.")
    assert 'href="#fn:1"' in html and '<li id="fn:1">' in html and "Note." in html
    assert "<hr" not in html   # kramdown draws no rule above the notes


def test_blockquotes_separated_by_a_blank_line_stay_separate():
    assert_like_kramdown("> one\n\n> two", "<blockquote>\n  <p>one</p>\n</blockquote>\n\n"
                                           "<blockquote>\n  <p>two</p>\n</blockquote>")


def test_lazy_blockquote_lines_still_continue():
    assert_like_kramdown("> one\ntwo\n>\n> three", "<blockquote>\n  <p>one\ntwo</p>\n\n  <p>three</p>\n</blockquote>")


def test_heading_ids_as_jekyll_gfm():
    assert_like_kramdown("## Ordered -- Unordered -- Ordered\n\n## 1. Über *cool* `x` [a](http://b.c) x_y\n\n"
                         "## Ordered -- Unordered -- Ordered", """
<h2 id="ordered--unordered--ordered">Ordered – Unordered – Ordered</h2>
<h2 id="1-über-cool-x-a-x_y">1. Über <em>cool</em> <code>x</code> <a href="http://b.c">a</a> x_y</h2>
<h2 id="ordered--unordered--ordered-1">Ordered – Unordered – Ordered</h2>""")


def test_heading_ids_edge_cases_as_jekyll_gfm():
    assert_like_kramdown("## ???\n\n## ???\n\n## A <span>b</span> &amp; c\n\n## \"Quoted\" it's\n\n"
                         "# Section\n\n# Section\n\n# Section-1\n\n## Own {#mine}", """
<h2>???</h2>
<h2 id="-1">???</h2>
<h2 id="a-b--c">A <span>b</span> &amp; c</h2>
<h2 id="quoted-its">“Quoted” it’s</h2>
<h1 id="section">Section</h1>
<h1 id="section-1">Section</h1>
<h1 id="section-1">Section-1</h1>
<h2 id="mine">Own</h2>""")


def test_heading_ids_of_kramdown_input():
    settings = kramdown_settings({"input": "kramdown"})
    assert_like_kramdown("## Ordered -- Unordered\n\n## 1. Über *cool*\n\n## ???\n\n## ???", """
<h2 id="ordered----unordered">Ordered – Unordered</h2>
<h2 id="ber-cool">1. Über <em>cool</em></h2>
<h2 id="section">???</h2>
<h2 id="section-1">???</h2>""", settings)


def test_no_heading_ids_when_auto_ids_is_off():
    assert ours("## A", kramdown_settings({"auto_ids": False})) == "<h2>A</h2>"


def test_id_rules():
    assert gfm_id("Hello, World!") == "hello-world"
    assert kramdown_id("123 Go_now?") == "gonow"
    assert kramdown_id("!!!") == "section"


def test_table_groups_footer_and_attributes():
    source = ('| H1 | H2 |\n|:---|---:|\n| a | b |\n|----+----|\n| c | d |\n|====|====|\n| f | g |\n'
              '{: rules="groups"}')
    assert_like_kramdown(source, """<table rules="groups">
  <thead><tr><th style="text-align: left">H1</th><th style="text-align: right">H2</th></tr></thead>
  <tbody><tr><td style="text-align: left">a</td><td style="text-align: right">b</td></tr></tbody>
  <tbody><tr><td style="text-align: left">c</td><td style="text-align: right">d</td></tr></tbody>
  <tfoot><tr><td style="text-align: left">f</td><td style="text-align: right">g</td></tr></tfoot>
</table>""")


def test_separator_row_before_any_body_row_is_dropped():
    assert_like_kramdown("| a | b |\n|---|---|\n| - | - |\n| 1 | 2 |", """<table>
  <thead><tr><th>a</th><th>b</th></tr></thead>
  <tbody><tr><td>1</td><td>2</td></tr></tbody>
</table>""")


def test_options_vanish_and_comments_become_html_comments():
    assert_like_kramdown('{::options parse_block_html="true" /}\n\n{::comment}\nhidden\n{:/comment}\n\nafter',
                         "<!-- hidden -->\n\n<p>after</p>")


def test_nomarkdown_passes_through():
    assert ours("{::nomarkdown}\n<b>*raw*</b> \"q\"\n{:/nomarkdown}") == '<b>*raw*</b> "q"'
    assert ours("Text {::nomarkdown}<i>*x*</i>{:/} end.") == "<p>Text <i>*x*</i> end.</p>"


def test_toc_list_becomes_the_table_of_contents_marker():
    from builder.render.markup import TOC_MARKER
    assert ours("* x\n{:toc}\n\n## A") == f'<p>{TOC_MARKER}</p>\n<h2 id="a">A</h2>'


def test_hard_wrap_setting():
    assert ours("a\nb", kramdown_settings({"hard_wrap": True})) == "<p>a<br>\nb</p>"


def test_bad_settings_are_reported():
    with pytest.raises(ConfigError, match=re.escape("`kramdown.smart_quotes` must be four entity names, not 'x,y'")):
        kramdown_settings({"smart_quotes": "x,y"})
    with pytest.raises(ConfigError, match="`kramdown` must be a mapping"):
        kramdown_settings("on")
    assert unused_keys({"auto_ids": True, "toc_levels": "1..3", "parse_links": 1}) == ["parse_links"]


def test_list_indented_after_a_paragraph_is_a_list_and_two_blanks_still_nest_in_a_list():
    assert_like_kramdown("A few:\n\n  * one\n  * two\n    * nested\n\nAfter.\n\n* a\n\n  * b", """
<p>A few:</p>
<ul><li>one</li><li>two<ul><li>nested</li></ul></li></ul>
<p>After.</p>
<ul><li><p>a</p><ul><li>b</li></ul></li></ul>""")


def test_gfm_heading_needs_a_blank_after_the_hashes():
    assert_like_kramdown("#dowork\n:   Coined\n\n# Real", """
<dl><dt>#dowork</dt><dd>Coined</dd></dl>
<h1 id="real">Real</h1>""")


def test_nesting_by_four_blanks_and_three_blanks():
    assert_like_kramdown("  * a\n      * b\n          * c\n  * d\n\n1. one\n   1. sub\n2. two", """
<ul><li>a<ul><li>b<ul><li>c</li></ul></li></ul></li><li>d</li></ul>
<ol><li>one<ol><li>sub</li></ol></li><li>two</li></ol>""")


def test_loose_list_stays_one_list():
    assert_like_kramdown("* a\n\n    more\n\n* b", "<ul><li><p>a</p><p>more</p></li><li><p>b</p></li></ul>")


def test_list_interrupts_a_paragraph_but_not_display_math():
    assert_like_kramdown("Para\n* a\n* b", "<p>Para</p><ul><li>a</li><li>b</li></ul>")
    assert "<li>" not in ours("Text\n$$\na\n- b\n$$")


def test_attribute_list_after_a_list_blockquote_or_table_applies_to_it():
    assert_like_kramdown("* a\n* b\n{: .list}\n\n> quote\n{: .q}\n\nPara\n{: .notice--info}\n\n1. x\n\n   more\n{: .o}", """
<ul class="list"><li>a</li><li>b</li></ul>
<blockquote class="q"><p>quote</p></blockquote>
<p class="notice--info">Para</p>
<ol class="o"><li><p>x</p><p>more</p></li></ol>""")
    assert_like_kramdown("| a |\n|---|\n| b |\n{: .t}", "<table class=\"t\"><thead><tr><th>a</th></tr></thead>"
                                                      "<tbody><tr><td>b</td></tr></tbody></table>")


def test_gfm_strikethrough_but_no_subscript():
    assert_like_kramdown("H~2~O ~~del~~ a~~b~~c", "<p>H~2~O <del>del</del> a<del>b</del>c</p>")


def test_site_config_checks_kramdown_settings_when_it_is_read():
    from builder.core.config import validate_config
    with pytest.warns(UserWarning, match=re.escape("_config.yml:3: `kramdown.parse_links` is not supported and is ignored")):
        validate_config({"kramdown": {"parse_links": True, "toc_levels": "1..3"}}, "_config.yml", {"kramdown": 3})
    with pytest.raises(ConfigError, match="`kramdown.smart_quotes` must be four entity names"):
        validate_config({"kramdown": {"smart_quotes": "x"}}, "_config.yml")


def test_dash_lines_inside_a_raw_html_block_stay_html():
    assert_like_kramdown('<div class="notice">\nSome text\n- not a list\n</div>',
                         '<div class="notice">\nSome text\n- not a list\n</div>')

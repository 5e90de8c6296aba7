"""The Jekyll Liquid subset expanded in a post's prose before Markdown."""
from __future__ import annotations

import datetime

import pytest

from builder.core.errors import Location, SourceError
from builder.render.liquid import LiquidContext, expand_liquid

SITE = {"title": "PyTorch notes", "url": "https://example.github.io", "baseurl": "/blog",
        "author": {"name": "Ada"}}
PAGE = {"title": "Linear <regression>", "header": {"image": "/assets/a.png"}}


def make_context(includes: list | None = None, posts: dict | None = None,
                 links: dict | None = None) -> LiquidContext:
    calls = includes if includes is not None else []

    def include(name, attributes, where):
        calls.append((name, attributes, where))
        return f"<nav>{name}</nav>"

    return LiquidContext(site=SITE, page=PAGE, include=include,
                         resolve_post=(posts or {}).get, resolve_link=(links or {}).get,
                         base="/blog", site_url="https://example.github.io")


def expand(text: str, context: LiquidContext | None = None, first_line: int = 1) -> str:
    return expand_liquid(text, context or make_context(), "posts/x.md", first_line)


def expand_error(text: str, first_line: int = 1) -> SourceError:
    with pytest.raises(SourceError) as caught:
        expand(text, first_line=first_line)
    return caught.value


# variables and filters


def test_text_without_liquid_is_unchanged():
    text = "# Title\n\nA dict: {'a': 1} and a brace { alone }.\n"
    assert expand(text) == text


def test_site_variables():
    assert expand("![x]({{ site.url }}{{ site.baseurl }}/x.png)") == \
        "![x](https://example.github.io/blog/x.png)"


def test_page_and_nested_variables():
    assert expand("{{ page.title }} by {{site.author.name}}") == "Linear <regression> by Ada"


def test_relative_url_filter_adds_the_baseurl():
    assert expand("{{ page.header.image | relative_url }}") == "/blog/assets/a.png"
    assert expand('{{ "assets/b.png" | relative_url }}') == "/blog/assets/b.png"


def test_absolute_url_filter_adds_site_url_and_baseurl():
    assert expand("{{ '/about/' | absolute_url }}") == "https://example.github.io/blog/about/"


def test_url_filters_leave_absolute_urls_alone():
    assert expand('{{ "https://cdn.example.com/a.png" | relative_url }}') == "https://cdn.example.com/a.png"


def test_escape_filter():
    assert expand("{{ page.title | escape }}") == "Linear &lt;regression&gt;"


def test_chained_filters():
    assert expand("{{ ' Hello ' | strip | upcase }}") == "HELLO"


def test_missing_key_warns_and_expands_to_nothing():
    with pytest.warns(UserWarning, match=r"^posts/x\.md:2: `\{\{ page\.subtitle \}\}` is not set "
                                         r"and expands to nothing$"):
        assert expand("a\n[{{ page.subtitle }}]") == "a\n[]"


def test_unknown_variable_root_is_an_error():
    error = expand_error("x\n{{ foo.bar }}", first_line=5)
    assert str(error) == ("posts/x.md:6: unknown Liquid variable `foo.bar`\n  Hint: Set it with "
                          "{% assign %}, or use site.* and page.*; wrap literal braces in {% raw %}.")


def test_unknown_filter_is_an_error():
    error = expand_error('a\n{{ page.title | frobnicate: "%Y" }}')
    assert error.where == Location("posts/x.md", 2)
    assert error.message == "unsupported Liquid filter `frobnicate`"
    assert error.hint.startswith("Use one of Liquid's filters or Jekyll's (relative_url,")


# tags


def test_raw_keeps_its_content_unexpanded():
    assert expand("a {% raw %}{{ not expanded }} {% if %}{% endraw %} b") == \
        "a {{ not expanded }} {% if %} b"


def test_variables_after_a_raw_block_are_expanded():
    assert expand("{% raw %}{{ x }}{% endraw %} {{ page.title }}") == "{{ x }} Linear <regression>"


def test_literal_braces_idiom_does_not_swallow_the_next_variable():
    assert expand("Use {% raw %}{{{% endraw %} to print. Site: {{ site.title }}") == \
        "Use {{ to print. Site: PyTorch notes"


def test_highlight_becomes_a_fenced_block():
    text = "Before\n{% highlight python linenos %}\nx = 1\nprint(x)\n{% endhighlight %}\nAfter"
    assert expand(text) == 'Before\n```python linenums="1"\nx = 1\nprint(x)\n```\nAfter'


def test_highlight_expands_liquid_inside_as_jekyll_does():
    assert expand("{% highlight text %}{{ site.title }}{% endhighlight %}") == "```text\nPyTorch notes\n```"


def test_include_calls_the_callback_with_its_attributes():
    calls = []
    result = expand('Intro\n{% include toc title="Table" %}', make_context(includes=calls), first_line=3)
    assert result == "Intro\n<nav>toc</nav>"
    assert calls == [("toc", {"title": "Table"}, Location("posts/x.md", 4))]


def test_include_attributes_with_spaces_and_single_quotes():
    calls = []
    expand("{% include figure image_path='/a b.png' caption=\"A plot\" alt=page.title %}",
           make_context(includes=calls))
    assert calls[0][:2] == ("figure", {"image_path": "/a b.png", "caption": "A plot",
                                       "alt": "Linear <regression>"})


def test_include_without_a_name_is_an_error():
    error = expand_error("{% include %}")
    assert error.message == "`{% include %}` needs a name"


def test_post_url_resolves_through_the_context():
    context = make_context(posts={"2017-08-11-x": "/blog/2017/08/11/x.html"})
    assert expand("[x]({% post_url 2017-08-11-x %})", context) == "[x](/blog/2017/08/11/x.html)"


def test_link_resolves_through_the_context():
    context = make_context(links={"about.md": "/blog/about/"})
    assert expand("{% link about.md %}", context) == "/blog/about/"


def test_post_url_naming_nothing_is_an_error():
    error = expand_error("a\n{% post_url 2017-08-11-missing %}", first_line=10)
    assert str(error) == ("posts/x.md:11: `{% post_url 2017-08-11-missing %}` names nothing in this site\n"
                          "  Hint: Check the post's file name (without .md) or the path.")


def test_unknown_tag_reports_its_exact_line():
    error = expand_error("one\ntwo\n{% frobnicate x = 1 %}\nfour", first_line=10)
    assert error.where == Location("posts/x.md", 12)
    assert str(error) == ("posts/x.md:12: unsupported Liquid tag `{% frobnicate %}`\n  Hint: Supported "
                          "tags: assign, capture, if, unless, case, for, raw, comment, include, highlight, "
                          "post_url, link. Replace the tag with Markdown, or wrap literal braces in "
                          "{% raw %}...{% endraw %}.")


def test_unclosed_raw_is_an_error():
    error = expand_error("a\n\n{% raw %}{{ x }}", first_line=4)
    assert str(error) == "posts/x.md:6: `{% raw %}` is never closed\n  Hint: Add `{% endraw %}`."


def test_unclosed_highlight_is_an_error():
    error = expand_error("{% highlight python %}\nx = 1\n")
    assert error.message == "`{% highlight %}` is never closed"
    assert error.hint == "Add `{% endhighlight %}`."


def test_closing_tag_without_opening_is_an_error():
    error = expand_error("x {% endraw %}")
    assert error.message == "`{% endraw %}` has no opening tag"
    assert error.where == Location("posts/x.md", 1)


def test_every_problem_of_a_text_is_reported_together_in_order():
    error = expand_error("{% frob c %}\n{{ nope | upcase }}\n"
                         "{{ page.title | frobnicate }}\n{% raw %}{{ never read }}", first_line=10)
    assert [str(problem).split("\n")[0] for problem in error.problems] == [
        "posts/x.md:10: unsupported Liquid tag `{% frob %}`",
        "posts/x.md:11: unknown Liquid variable `nope`",
        "posts/x.md:12: unsupported Liquid filter `frobnicate`",
        "posts/x.md:13: `{% raw %}` is never closed"]


def test_problems_can_be_collected_across_texts():
    problems: list = []
    assert expand_liquid("a\n{% if x %}", make_context(), "posts/x.md", 3, problems) == "a\n"
    assert expand_liquid("{{ page.title | escape }}", make_context(), "posts/x.md", 5, problems) == \
        "Linear &lt;regression&gt;"
    assert [str(p).split("\n")[0] for p in problems] == ["posts/x.md:4: `{% if %}` is never closed"]


def test_a_stray_else_is_reported_once():
    error = expand_error("{% if page.x %}\na\n{% elsif page.y %}\nb\n{% else %}\nc\n{% endif %}\n{% else %}")
    assert str(error) == ("posts/x.md:8: `{% else %}` outside any block\n  Hint: Remove it, or put it "
                          "inside its {% if %}, {% case %} or {% for %}.")


# Jekyll's tags and filters, each as a Jekyll blog uses it


def test_assign_and_capture():
    assert expand("{% assign n = page.title | upcase %}{% capture c %}[{{ n }}]{% endcapture %}{{ c }}") == \
        "[LINEAR <REGRESSION>]"


def test_if_unless_and_case():
    text = ("{% if page.header.image %}img{% else %}none{% endif %} "
            "{% unless page.draft %}live{% endunless %} "
            "{% case site.title %}{% when 'PyTorch notes' %}torch{% else %}?{% endcase %}")
    assert expand(text) == "img live torch"


def test_for_over_page_values_with_forloop():
    context = make_context()
    context.page = {"tags": ["a", "b", "c"]}
    assert expand("{% for t in page.tags %}{{ forloop.index }}{{ t }}{% unless forloop.last %},"
                  "{% endunless %}{% endfor %}", context) == "1a,2b,3c"


def test_for_over_site_posts_with_where_and_sort():
    context = make_context()
    context.site = {"posts": [{"title": "B", "lang": "en"}, {"title": "A", "lang": "en"},
                              {"title": "C", "lang": "fr"}]}
    text = "{% assign en = site.posts | where: 'lang', 'en' | sort: 'title' %}" \
           "{% for p in en %}{{ p.title }}{% endfor %}"
    assert expand(text, context) == "AB"


def test_include_passes_variables_and_evaluated_parameters():
    calls = []
    expand("{% assign id = 'xyz' %}{% include video id=id provider=\"youtube\" %}", make_context(includes=calls))
    assert calls[0][:2] == ("video", {"id": "xyz", "provider": "youtube"})


def test_comment_is_dropped():
    assert expand("a{% comment %}{{ anything | at_all }}{% endcomment %}b") == "ab"


def test_date_filters():
    context = make_context()
    context.page = {"date": datetime.datetime(2017, 8, 11, 9, 5)}
    text = ("{{ page.date | date: '%Y/%m/%d' }}|{{ page.date | date_to_string }}|"
            "{{ page.date | date_to_long_string }}|{{ page.date | date_to_xmlschema }}|"
            "{{ '2016-02-01' | date_to_string }}")
    assert expand(text, context) == \
        "2017/08/11|11 Aug 2017|11 August 2017|2017-08-11T09:05:00+00:00|01 Feb 2016"


def test_markdownify():
    assert expand("{{ '*a* [b](/c)' | markdownify }}") == '<p><em>a</em> <a href="/c">b</a></p>'


def test_slugify_as_jekyll():
    assert expand("{{ 'Hello, World: Ünïcode_x!' | slugify }}") == "hello-world-ünïcode-x"
    assert expand("{{ 'a.b c' | slugify: 'pretty' }}") == "a.b-c"


def test_xml_escape_jsonify_and_string_filters():
    assert expand("{{ page.title | xml_escape }}") == "Linear &lt;regression&gt;"
    assert expand("{{ site.author | jsonify }}") == '{"name": "Ada"}'
    assert expand("{{ 'a-b-c' | remove: '-' | append: '!' }}") == "abc!"
    assert expand("{{ '<p>one <b>two</b></p>' | strip_html | number_of_words }}") == "2"


def test_post_url_inside_a_link_keeps_the_text_after_it():
    context = make_context(posts={"2017-08-11-x": "/blog/x/"})
    assert expand("[x]({% post_url 2017-08-11-x %}) and more", context) == "[x](/blog/x/) and more"


def test_prose_without_liquid_markers_is_returned_as_is():
    text = "Braces { and } and % alone"
    assert expand(text) is text


def test_whitespace_control_reaches_past_the_liquid_lines():
    assert expand("a\n\n{%- assign x = 1 -%}\n\nb") == "ab"


def test_prose_around_the_liquid_is_kept_and_lines_still_count():
    prose = "Plain prose.\n\n" * 50
    assert expand(prose + "{{ site.title }}\n" + prose) == prose + "PyTorch notes\n" + prose
    error = expand_error(prose + "{{ nope }}" + prose)
    assert error.where == Location("posts/x.md", 101)


def test_uri_and_cgi_escape_group_by_and_sentence():
    context = make_context()
    context.page = {"items": [{"k": "a", "n": 1}, {"k": "b", "n": 2}, {"k": "a", "n": 3}]}
    assert expand("{{ 'a b&c' | cgi_escape }} {{ 'a b/c' | uri_escape }}") == "a+b%26c a%20b/c"
    assert expand("{% assign g = page.items | group_by: 'k' %}{% for x in g %}{{ x.name }}{{ x.size }}"
                  "{% endfor %}", context) == "a2b1"
    assert expand("{{ page.title | split: ' ' | array_to_sentence_string }}") == "Linear and <regression>"

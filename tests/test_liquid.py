"""The Jekyll Liquid subset expanded in a post's prose before Markdown."""
from __future__ import annotations

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
    assert str(error) == ("posts/x.md:6: unknown Liquid variable `foo.bar`\n  Hint: Only site.* and "
                          "page.* are available; wrap literal braces in {% raw %}.")


def test_unknown_filter_is_an_error():
    error = expand_error('{{ page.title | date: "%Y" }}')
    assert error.where == Location("posts/x.md", 1)
    assert error.message == 'unsupported Liquid filter `date: "%Y"`'
    assert error.hint == ("Supported filters: relative_url, absolute_url, escape, strip, downcase, "
                          "upcase.")


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
    assert expand(text) == "Before\n```python\nx = 1\nprint(x)\n```\nAfter"


def test_include_calls_the_callback_with_its_attributes():
    calls = []
    result = expand('Intro\n{% include toc title="Table" %}', make_context(includes=calls), first_line=3)
    assert result == "Intro\n<nav>toc</nav>"
    assert calls == [("toc", {"title": "Table"}, Location("posts/x.md", 4))]


def test_include_attributes_with_spaces_and_single_quotes():
    calls = []
    expand("{% include figure image_path='/a b.png' caption=\"A plot\" alt=x %}", make_context(includes=calls))
    assert calls[0][:2] == ("figure", {"image_path": "/a b.png", "caption": "A plot", "alt": "x"})


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
    error = expand_error("one\ntwo\n{% assign x = 1 %}\nfour", first_line=10)
    assert error.where == Location("posts/x.md", 12)
    assert str(error) == ("posts/x.md:12: unsupported Liquid tag `{% assign %}`\n  Hint: Supported tags: "
                          "raw, include, highlight, post_url, link. Replace the tag with Markdown, or "
                          "wrap literal braces in {% raw %}...{% endraw %}.")


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
    error = expand_error("{% capture c %}x{% endcapture %}{{ c }}\n{{ nope | upcase }}\n"
                         "{{ page.title | slugify }}\n{% raw %}{{ never read }}", first_line=10)
    assert [str(problem).split("\n")[0] for problem in error.problems] == [
        "posts/x.md:10: unsupported Liquid tag `{% capture %}`",
        "posts/x.md:11: unknown Liquid variable `nope`",
        "posts/x.md:12: unsupported Liquid filter `slugify`",
        "posts/x.md:13: `{% raw %}` is never closed"]


def test_problems_can_be_collected_across_texts():
    problems: list = []
    assert expand_liquid("a {% if x %}", make_context(), "posts/x.md", 3, problems) == "a "
    assert expand_liquid("{{ page.title | escape }}", make_context(), "posts/x.md", 5, problems) == \
        "Linear &lt;regression&gt;"
    assert [str(p).split("\n")[0] for p in problems] == ["posts/x.md:3: unsupported Liquid tag `{% if %}`"]


def test_the_inner_tags_of_an_unsupported_block_are_not_reported_again():
    error = expand_error("{% if page.x %}\na\n{% elsif page.y %}\nb\n{% else %}\nc\n{% endif %}\n{% else %}")
    assert str(error).split("\n")[0] == "posts/x.md:1: unsupported Liquid tag `{% if %}`"
    assert str(error).count("posts/x.md:") == 1      # not its elsif, else and endif

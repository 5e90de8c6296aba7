"""Jekyll's layout names and its URL case, as a moved Jekyll blog relies on them."""
from __future__ import annotations

from builder.core.urls import expand_permalink, post_slug, slugify, tag_url
from builder.source.frontmatter import layout_names
from builder.source.layouts import layout_file, with_jekyll_aliases
from builder.render.templates import THEME_DIR

import datetime


def test_jekyll_layout_names_are_available_when_their_layouts_are():
    assert with_jekyll_aliases(["single", "home"]) == ["home", "page", "post", "single"]
    assert with_jekyll_aliases(["home"]) == ["home"]


def test_the_theme_offers_post_and_page():
    names = layout_names([THEME_DIR / "templates"])
    assert {"post", "page", "default", "home", "single"} <= set(names)


def test_post_and_page_render_with_single_unless_the_site_has_its_own():
    assert layout_file("post", lambda name: False) == "layouts/single.html"
    assert layout_file("page", lambda name: False) == "layouts/single.html"
    assert layout_file("post", lambda name: name == "layouts/post.html") == "layouts/post.html"
    assert layout_file("archive", lambda name: False) == "layouts/archive.html"


def test_post_urls_keep_the_file_names_case_as_jekyll_does():
    slug = post_slug("Closures-in-Javascript")
    assert expand_permalink("date", datetime.datetime(2017, 8, 11), slug, ["Web Dev"]) == \
        "/web-dev/2017/08/11/Closures-in-Javascript.html"


def test_post_slugs_turn_other_characters_into_dashes():
    # Jekyll::Utils.slugify(x, mode: "pretty", cased: true) for these: Hello_World, a-b-c, v1.2
    assert [post_slug(x) for x in ("Hello_World", "a b/c", "v1.2")] == ["Hello_World", "a-b-c", "v1.2"]


def test_tags_are_still_lowercased():
    assert slugify("JavaScript Tips") == "javascript-tips"
    assert tag_url("JavaScript") == "/tags/javascript/"


def test_mathjax_and_math_front_matter_are_accepted_quietly():
    import warnings
    from builder.source.frontmatter import check_front_matter
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert check_front_matter({"mathjax": True, "math": True, "gallery": []}, "posts/x.md",
                                  "---\nmathjax: true\nmath: true\ngallery: []\n---\n") == []

"""Site pages and the theme: tags, categories, the year archive, home pagination, standalone
pages, drafts, SEO tags, comments and UI strings, asserted as exact HTML fragments."""
from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest

from builder.core.config import SiteConfig, validate_config
from builder.core.errors import ConfigError, SourceError
from builder.render.listings import neighbours, render_home, render_site_files, render_taxonomy_pages, sort_posts
from builder.core.model import CellResult, ExecutedPost, Page, Post
from builder.core.errors import SourceErrors
from builder.source.reader import PAGE_DATE, is_page, read_drafts, read_pages, read_post
from builder.render.page import RenderContext, render_post
from builder.render.templates import make_environment
from builder.core.urls import category_url, tag_url
from conftest import write

BLOG = {"title": "Notes & co", "url": "https://example.org", "baseurl": "/blog"}
GISCUS = {"provider": "giscus", "repo": "ann/notes", "repo_id": "R_1", "category": "Comments",
          "category_id": "DIC_1"}


@pytest.fixture
def site(tmp_path: Path) -> Path:
    return tmp_path / "site"


def context_for(site: Path, **settings) -> RenderContext:
    config = validate_config(BLOG | settings, "_config.yml")
    return RenderContext(make_environment(site, config), config, {})


def post(site: Path, name: str, text: str, config: SiteConfig) -> Post:
    return read_post(site, write(site / "posts" / name, text), config)


def three_posts(site: Path, context: RenderContext) -> list[Post]:
    """Newest first: two posts in 2017, one in 2016."""
    return sort_posts([
        post(site, "2016-03-01-old.md", "---\ntitle: Old\ntags: [PyTorch]\n---\nOld text.\n", context.config),
        post(site, "2017-08-11-a.md", "---\ntitle: A\ntags: [pytorch, \"<script>\", 线性回归]\n"
             "categories: [Tutorial]\n---\nA text.\n", context.config),
        post(site, "2017-09-01-b.md", "---\ntitle: B\ncategories: [Tutorial]\n---\nB text.\n", context.config),
    ])


def by_path(pages: list[Page]) -> dict[str, str]:
    """Text pages by path (the binary favicon.ico left out)."""
    return {page.path: page.content.decode("utf-8") for page in pages if not page.path.endswith(".ico")}


def page_html(executed_post: Post, context: RenderContext, links: dict | None = None) -> str:
    return render_post(ExecutedPost(executed_post, {}, {}, from_cache=True), context, links or {}).content.decode()


def item(url: str, title: str, day: str, excerpt: str) -> str:
    return ('<article class="archive__item">\n'
            f'  <h2 class="archive__item-title"><a href="/blog{url}" rel="permalink">{title}</a></h2>\n'
            f'  <p class="page__meta"><time datetime="{day}T00:00:00+00:00">{day}</time></p>\n'
            f'<p class="archive__item-excerpt">{excerpt}</p></article>\n')


# -- Tags, categories and the year archive --

def test_taxonomy_pages_are_written_at_slug_urls(site):
    context = context_for(site)
    pages = render_taxonomy_pages(three_posts(site, context), context)
    assert [page.path for page in pages] == [
        "tags/script/index.html", "tags/pytorch/index.html", "tags/线性回归/index.html", "tags/index.html",
        "categories/tutorial/index.html", "categories/index.html", "archive/index.html"]


def test_tags_index_links_every_tag_with_baseurl_escaped_and_counted(site):
    context = context_for(site)
    html = by_path(render_taxonomy_pages(three_posts(site, context), context))["tags/index.html"]
    assert ('  <h1 class="archive__title">Tags</h1>\n'
            '  <ul class="taxonomy__index">\n'
            '<li><a href="/blog/tags/script/">&lt;script&gt; <span class="taxonomy__count">1</span></a></li>\n'
            '<li><a href="/blog/tags/pytorch/">PyTorch <span class="taxonomy__count">2</span></a></li>\n'
            '<li><a href="/blog/tags/线性回归/">线性回归 <span class="taxonomy__count">1</span></a></li>\n'
            '  </ul>\n') in html
    assert "<script>" not in html
    assert "<title>Tags | Notes &amp; co</title>" in html


def test_tag_page_lists_its_posts_newest_first_and_merges_spellings(site):
    context = context_for(site)
    html = by_path(render_taxonomy_pages(three_posts(site, context), context))["tags/pytorch/index.html"]
    assert ('  <h1 class="archive__title">Tag: PyTorch</h1>\n'
            + item("/tutorial/2017/08/11/a.html", "A", "2017-08-11", "A text.")
            + item("/2016/03/01/old.html", "Old", "2016-03-01", "Old text.")
            + '  <p class="archive__index"><a href="/blog/tags/">← Tags</a></p>\n') in html


def test_category_page_and_index(site):
    context = context_for(site)
    pages = by_path(render_taxonomy_pages(three_posts(site, context), context))
    assert ('  <h1 class="archive__title">Category: Tutorial</h1>\n'
            + item("/tutorial/2017/09/01/b.html", "B", "2017-09-01", "B text.")
            + item("/tutorial/2017/08/11/a.html", "A", "2017-08-11", "A text.")) in pages["categories/tutorial/index.html"]
    assert ('<li><a href="/blog/categories/tutorial/">Tutorial <span class="taxonomy__count">2</span></a></li>'
            in pages["categories/index.html"])


def test_year_archive_groups_posts_by_year_newest_first(site):
    context = context_for(site)
    html = by_path(render_taxonomy_pages(three_posts(site, context), context))["archive/index.html"]
    assert ('  <section class="archive__group" id="2017">\n'
            '    <h2 class="archive__subtitle">2017</h2>\n'
            + item("/tutorial/2017/09/01/b.html", "B", "2017-09-01", "B text.")
            + item("/tutorial/2017/08/11/a.html", "A", "2017-08-11", "A text.")
            + '  </section>\n'
            '  <section class="archive__group" id="2016">\n'
            '    <h2 class="archive__subtitle">2016</h2>\n'
            + item("/2016/03/01/old.html", "Old", "2016-03-01", "Old text.")
            + '  </section>\n') in html
    assert '<li><a href="#2017">2017 <span class="taxonomy__count">2</span></a></li>' in html


def test_site_without_posts_still_has_its_indexes(site):
    context = context_for(site)
    pages = by_path(render_taxonomy_pages([], context))
    assert sorted(pages) == ["archive/index.html", "categories/index.html", "tags/index.html"]
    assert "<p>Nothing here yet.</p>" in pages["tags/index.html"]


def test_taxonomy_urls_keep_cjk_and_fall_back_to_code_points():
    assert tag_url("线性回归") == "/tags/线性回归/"
    assert tag_url("Deep Learning") == "/tags/deep-learning/"
    assert tag_url("+++") == "/tags/2b-2b-2b/"
    assert category_url("机器 学习") == "/categories/机器-学习/"


def test_post_links_its_tags_and_categories(site):
    context = context_for(site)
    a = three_posts(site, context)[1]
    assert ('<p class="page__taxonomy"><strong>Tags: </strong>\n'
            '<a class="page__taxonomy-item" href="/blog/tags/pytorch/" rel="tag">pytorch</a>'
            '<a class="page__taxonomy-item" href="/blog/tags/script/" rel="tag">&lt;script&gt;</a>'
            '<a class="page__taxonomy-item" href="/blog/tags/线性回归/" rel="tag">线性回归</a></p>'
            '<p class="page__taxonomy"><strong>Categories: </strong>\n'
            '<a class="page__taxonomy-item" href="/blog/categories/tutorial/" rel="tag">Tutorial</a></p>'
            ) in page_html(a, context)


# -- Home pagination --

def test_home_is_paginated_with_links_between_pages(site):
    context = context_for(site, paginate=1)
    pages = by_path(render_home(three_posts(site, context), context))
    assert sorted(pages) == ["index.html", "page2/index.html", "page3/index.html"]
    assert ('<nav class="pagination">\n'
            '<a href="/blog/" rel="prev">← Newer posts</a>  <span>Page 2 of 3</span>\n'
            '<a href="/blog/page3/" rel="next">Older posts →</a></nav>') in pages["page2/index.html"]
    assert item("/tutorial/2017/08/11/a.html", "A", "2017-08-11", "A text.") in pages["page2/index.html"]
    assert "<title>Notes &amp; co | Page 2</title>" in pages["page2/index.html"]
    assert "<title>Notes &amp; co</title>" in pages["index.html"]
    assert 'rel="prev"' not in pages["index.html"] and 'rel="next"' not in pages["page3/index.html"]


# -- Standalone pages and drafts --

def test_pages_get_their_own_url_layout_and_marker(site):
    config = context_for(site).config
    write(site / "pages/about.md", "---\ntitle: About\n---\nAbout me.\n")
    write(site / "pages/contact.md", "---\ntitle: Contact\npermalink: /contact-me/\n---\nWrite.\n")
    about, contact = read_pages(site, config)
    assert (about.url, contact.url) == ("/about/", "/contact-me/")
    assert about.date == PAGE_DATE and about.path == "pages/about.md"
    assert dict(about.front_matter) == {"layout": "single", "read_time": False, "comments": False,
                                        "title": "About", "collection": "pages"}
    assert is_page(about) and not is_page(post(site, "2020-01-01-x.md", "Hi.\n", config))


def test_page_shows_no_date_and_is_a_website_for_open_graph(site):
    context = context_for(site)
    write(site / "pages/about.md", "---\ntitle: About\n---\nAbout me.\n")
    html = page_html(read_pages(site, context.config)[0], context)
    assert ('<h1 class="page__title" itemprop="headline" data-pagefind-meta="title">About</h1>  </header>') in html
    assert "page__meta" not in html and "page__date" not in html
    assert '<meta property="og:type" content="website">' in html
    assert '<meta property="og:url" content="https://example.org/blog/about/">' in html


def test_page_problems_are_reported_together(site):
    config = context_for(site).config
    write(site / "pages/a.md", "---\ntoc: maybe\n---\nA\n")
    write(site / "pages/b.md", "---\ntitle: B\n")
    with pytest.raises(SourceErrors) as caught:
        read_pages(site, config)
    assert [str(p) for p in caught.value.problems] == [
        "pages/a.md:2: front matter `toc` must be true or false, not 'maybe'\n"
        "  Hint: Change `toc:` in the front matter.",
        "pages/b.md:1: the front matter has no closing `---`\n"
        "  Hint: Did you forget the closing `---` line after the YAML block?"]


def test_drafts_are_dated_by_the_build(site):
    config = context_for(site).config
    when = datetime(2024, 5, 6, 7, 8, tzinfo=timezone.utc)
    write(site / "_drafts/new-idea.md", "---\ntitle: New idea\n---\nSoon.\n")
    write(site / "_drafts/dated.md", "---\ndate: 2023-01-02\n---\nSoon.\n")
    dated, idea = read_drafts(site, config, when)
    assert (idea.path, idea.date, idea.url, idea.slug) == ("_drafts/new-idea.md", when,
                                                           "/2024/05/06/new-idea.html", "new-idea")
    assert dated.url == "/2023/01/02/dated.html" and dated.title == "Dated"
    assert read_drafts(site / "nothing", config, when) == []


def test_bad_draft_names_its_file(site):
    write(site / "_drafts/x.md", "---\npublished: sometimes\n---\n")
    with pytest.raises(SourceError) as caught:
        read_drafts(site, context_for(site).config, PAGE_DATE)
    assert str(caught.value) == ("_drafts/x.md:2: front matter `published` must be true or false, not 'sometimes'\n"
                                 "  Hint: Change `published:` in the front matter.")


def test_sitemap_lists_pages_but_not_posts_that_opt_out(site):
    context = context_for(site)
    write(site / "pages/about.md", "---\ntitle: About\n---\nAbout me.\n")
    hidden = post(site, "2020-01-01-hidden.md", "---\nsitemap: false\n---\nHi.\n", context.config)
    sitemap = by_path(render_site_files([hidden], context, read_pages(site, context.config)))["sitemap.xml"]
    assert "<loc>https://example.org/blog/about/</loc>" in sitemap and "hidden" not in sitemap


# -- SEO --

SEO_POST = """---
title: Fit a "line" <fast>
excerpt: Ten lines & one model.
tags: [pytorch]
header:
  overlay_image: /assets/img/hero.png
  overlay_filter: 0.3
  caption: "Photo: <i>me</i>"
  cta_url: /about/
  cta_label: Read more
---
Body.
"""


def test_seo_tags_of_a_post_are_absolute_and_escaped(site):
    context = context_for(site)
    html = page_html(post(site, "2017-08-11-fit.md", SEO_POST, context.config), context)
    assert (
        '<title>Fit a &#34;line&#34; &lt;fast&gt; | Notes &amp; co</title>\n'
        '<meta name="description" content="Ten lines &amp; one model.">\n'
        '<meta name="generator" content="builder 0.1.0">\n'
        '<link rel="canonical" href="https://example.org/blog/2017/08/11/fit.html">\n'
        '<meta property="og:type" content="article">\n'
        '<meta property="og:locale" content="en">\n'
        '<meta property="og:site_name" content="Notes &amp; co">\n'
        '<meta property="og:title" content="Fit a &#34;line&#34; &lt;fast&gt;">\n'
        '<meta property="og:description" content="Ten lines &amp; one model.">\n'
        '<meta property="og:url" content="https://example.org/blog/2017/08/11/fit.html">\n'
        '<meta property="og:image" content="https://example.org/blog/assets/img/hero.png">\n'
        '<meta property="article:published_time" content="2017-08-11T00:00:00+00:00">\n'
        '<meta property="article:tag" content="pytorch">\n'
        '<meta name="twitter:card" content="summary_large_image">\n') in html


def test_without_site_url_no_relative_url_poses_as_absolute(site):
    context = context_for(site, url="")
    html = page_html(post(site, "2017-08-11-fit.md", SEO_POST, context.config), context)
    assert "canonical" not in html and "og:url" not in html and "og:image" not in html
    assert '<meta name="twitter:card" content="summary">' in html


def test_hero_overlay_with_filter_caption_and_call_to_action(site):
    context = context_for(site)
    html = page_html(post(site, "2017-08-11-fit.md", SEO_POST, context.config), context)
    assert ('<div class="page__hero--overlay" style=" background-image: linear-gradient(rgba(0, 0, 0, 0.3), '
            "rgba(0, 0, 0, 0.3)), url('/blog/assets/img/hero.png');\">\n"
            '  <div class="wrapper">\n'
            '    <h1 class="page__title" itemprop="headline">Fit a &#34;line&#34; &lt;fast&gt;</h1>\n'
            '<p class="page__lead">Ten lines &amp; one model.</p>'
            '<p><a href="/blog/about/" class="btn">Read more</a></p>  </div>\n'
            '<span class="page__hero-caption">Photo: &lt;i&gt;me&lt;/i&gt;</span></div>') in html
    assert html.count('class="page__title"') == 1


def test_hero_values_cannot_break_out_of_css(site):
    context = context_for(site)
    text = ("---\nheader:\n  overlay_color: \"red; background: url(x)\"\n"
            "  overlay_image: \"/x.png'); color: red; ('\"\n---\nHi.\n")
    html = page_html(post(site, "2020-01-01-x.md", text, context.config), context)
    assert ('style="background-color: transparent; background-image: linear-gradient(rgba(0, 0, 0, 0.5), '
            "rgba(0, 0, 0, 0.5)), url('/blog/x.png%27%29;%20color:%20red;%20%28%27');\"") in html


# -- Comments --

COMMENTED = "---\ntitle: A\ncomments: true\n---\nHi.\n"


def test_comments_are_off_without_a_provider(site):
    context = context_for(site)
    assert "page__comments" not in page_html(post(site, "2020-01-01-a.md", COMMENTED, context.config), context)


def test_comments_need_the_post_to_ask_for_them(site):
    context = context_for(site, comments=GISCUS)
    assert "giscus" not in page_html(post(site, "2020-01-01-a.md", "Hi.\n", context.config), context)


def test_giscus_comments_when_configured_and_asked_for(site):
    context = context_for(site, comments=GISCUS, lang="zh-CN")
    html = page_html(post(site, "2020-01-01-a.md", COMMENTED, context.config), context)
    assert ('<section class="page__comments" id="comments">\n'
            '  <h2 class="page__comments-title">评论</h2>\n'
            '<script src="https://giscus.app/client.js" data-repo="ann/notes" data-repo-id="R_1" '
            'data-category="Comments" data-category-id="DIC_1" data-mapping="pathname" data-strict="0" '
            'data-reactions-enabled="1" data-emit-metadata="0" data-input-position="bottom" '
            'data-theme="preferred_color_scheme" data-lang="zh-CN" data-loading="lazy" crossorigin="anonymous" '
            'async></script>\n</section>') in html


def test_utterances_and_disqus_comments(site):
    context = context_for(site, comments={"provider": "utterances", "repo": "ann/notes"})
    html = page_html(post(site, "2020-01-01-a.md", COMMENTED, context.config), context)
    assert ('<script src="https://utteranc.es/client.js" repo="ann/notes" issue-term="pathname" '
            'theme="preferred-color-scheme" crossorigin="anonymous" async></script>') in html
    context = context_for(site, comments={"provider": "disqus", "shortname": "notes"})
    html = page_html(post(site, "2020-01-01-b.md", "---\ntitle: </script>\ncomments: true\n---\nHi.\n",
                          context.config), context)
    assert '    this.page.url = "https://example.org/blog/2020/01/01/b.html";\n' in html
    assert '    s.src = "https://notes.disqus.com/embed.js";\n' in html


@pytest.mark.parametrize("settings, message", [
    ({"provider": "facebook"}, "`comments.provider` 'facebook' is not one of giscus, utterances, disqus"),
    ({"provider": "giscus", "repo": "a/b"},
     "`comments.repo_id` is required for giscus; `comments.category` is required for giscus; "
     "`comments.category_id` is required for giscus"),
    ({"provider": "disqus", "shortname": "x.evil/"},
     "`comments.shortname` 'x.evil/' is not a Disqus shortname (letters, digits, '-')"),
])
def test_bad_comments_settings_are_configuration_errors(site, settings, message):
    with pytest.raises(ConfigError) as caught:
        context_for(site, comments=settings)
    assert str(caught.value) == (f"_config.yml: {message}\n"
                                 "  Hint: Fix `comments:`, or remove `provider:` to turn comments off.")


# -- Masthead, author profile, language --

def test_masthead_navigation_with_baseurl_and_unsafe_links_dropped(site):
    nav = [{"title": "About", "url": "/about/"}, {"title": "GitHub", "url": "https://github.com/ann"},
           {"title": "<Bad>", "url": "java\tscript:alert(1)"}]
    context = context_for(site, navigation=nav)
    write(site / "pages/about.md", "---\ntitle: About\n---\nAbout me.\n")
    html = page_html(read_pages(site, context.config)[0], context)
    assert ('<li><a href="/blog/about/" aria-current="page">About</a></li>'
            '<li><a href="https://github.com/ann">GitHub</a></li>'
            '<li><a href="#">&lt;Bad&gt;</a></li>') in html


def test_author_profile_sidebar(site):
    author = {"name": "Ann <A>", "bio": "Writes.", "avatar": "/assets/ann.png",
              "links": [{"label": "GitHub", "url": "https://github.com/ann"}, {"label": "X", "url": "javascript:x"}]}
    context = context_for(site, author=author)
    html = page_html(post(site, "2020-01-01-a.md", "---\nauthor_profile: true\n---\nHi.\n", context.config), context)
    assert '<div class="page-wrap with-sidebar">' in html
    assert ('<img class="author__avatar" src="/blog/assets/ann.png" alt="Ann &lt;A&gt;" width="110" height="110">'
            in html)
    assert ('<li><a href="https://github.com/ann" rel="nofollow noopener noreferrer me" itemprop="sameAs">GitHub</a></li>\n'
            '<li><a href="#" rel="nofollow noopener noreferrer me" itemprop="sameAs">X</a></li>') in html
    no_profile = page_html(post(site, "2020-01-02-b.md", "Hi.\n", context.config), context)
    assert "sidebar" not in no_profile


def test_chinese_ui_strings_and_lang(site):
    context = context_for(site, lang="zh-CN", paginate=2)
    posts = three_posts(site, context)
    html = page_html(posts[1], context, neighbours(posts)[posts[1].path])
    assert '<html lang="zh-CN">' in html and '<meta property="og:locale" content="zh_CN">' in html
    assert '<time class="page__date" datetime="2017-08-11T00:00:00+00:00">发布于 2017-08-11</time>' in html
    assert '<span class="page__reading-time">1 分钟阅读</span>' in html
    assert '<strong>标签：</strong>' in html and '<strong>分类：</strong>' in html
    assert 'rel="prev">← 上一篇: Old</a>' in html
    home = by_path(render_home(posts, context))
    assert '<h1 class="archive__title">最新文章</h1>' in home["index.html"]
    assert "<span>第 1 页，共 2 页</span>" in home["index.html"]
    assert "<title>Notes &amp; co | 第 2 页</title>" in home["page2/index.html"]
    tags = by_path(render_taxonomy_pages(posts, context))
    assert '<h1 class="archive__title">标签：PyTorch</h1>' in tags["tags/pytorch/index.html"]
    assert '<h1 class="archive__title">归档</h1>' in tags["archive/index.html"]


def test_page_language_overrides_the_site_language(site):
    context = context_for(site)
    html = page_html(post(site, "2020-01-01-a.md", "---\nlang: zh-CN\n---\nHi.\n", context.config), context)
    assert '<html lang="zh-CN">' in html


def test_modified_date_and_no_reading_time(site):
    context = context_for(site)
    text = "---\nmodified: 2020-02-03T04:05:06+08:00\nread_time: false\n---\nHi.\n"
    html = page_html(post(site, "2020-01-01-a.md", text, context.config), context)
    assert ('<time class="page__modified" datetime="2020-02-03T04:05:06+08:00">Updated 2020-02-03</time>') in html
    assert "page__reading-time" not in html


def test_table_of_contents_is_shown_when_asked_for(site):
    context = context_for(site)
    text = "---\ntoc: true\ntoc_sticky: true\ntoc_label: Contents\n---\n## One\n\nText.\n\n## Two\n\nMore.\n"
    html = page_html(post(site, "2020-01-01-a.md", text, context.config), context)
    assert '<aside class="toc toc--sticky">\n  <nav>\n    <h2 class="toc__title">Contents</h2>' in html


def test_site_owner_hooks_are_empty_and_overridable(site):
    write(site / "templates/includes/head/custom.html", '<meta name="owner" content="ann">\n')
    context = context_for(site)
    html = page_html(post(site, "2020-01-01-a.md", "Hi.\n", context.config), context)
    assert '<meta name="owner" content="ann">\n</head>' in html
    assert "Site owners" not in html


def test_executed_post_offers_its_notebook_and_colab(site):
    context = context_for(site, repository="ann/notes")
    executed = post(site, "2020-01-02-numbers.md", "Hi.\n\n```python\nprint(1)\n```\n", context.config)
    page = render_post(ExecutedPost(executed, {1: CellResult(1, ())}, {}), context, {})
    assert ('<p class="page__notebook"><a href="/blog/2020/01/02/numbers.ipynb" download>Download the notebook</a>'
            '<a href="https://colab.research.google.com/github/ann/notes/blob/gh-pages/2020/01/02/numbers.ipynb" '
            'rel="noopener">Open in Colab</a></p>') in page.content.decode()
    assert "page__notebook" not in page_html(post(site, "2020-01-03-prose.md", "Hi.\n", context.config), context)

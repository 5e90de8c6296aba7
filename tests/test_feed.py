import xml.etree.ElementTree as ET
from datetime import date, datetime, timedelta, timezone

import pytest

from builder.render.feed import FeedEntry, render_feed, render_robots, render_sitemap
from conftest import make_config

FEED_SETTINGS = {"title": "Tutorials", "description": "Executable PyTorch tutorials",
                 "url": "https://example.org", "baseurl": "/blog", "author": {"name": "A"}}

A = "{http://www.w3.org/2005/Atom}"
S = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
UTC = timezone.utc
EDT = timezone(timedelta(hours=-4))


def feed_config(**overrides):
    return make_config(**(FEED_SETTINGS | overrides))


def entry(n: int, **overrides) -> FeedEntry:
    fields = {"title": f"Post {n}", "url": f"/2017/08/{n:02d}/post-{n}.html",
              "date": datetime(2017, 8, n, 12, 0, tzinfo=UTC), "updated": None,
              "excerpt": f"Excerpt {n}", "tags": (), "content_html": ""}
    return FeedEntry(**(fields | overrides))


def parse(data: bytes) -> ET.Element:
    return ET.fromstring(data)


def link(element: ET.Element, rel: str) -> str:
    (found,) = [e for e in element.findall(f"{A}link") if e.get("rel") == rel]
    return found.get("href")


# render_feed

def test_feed_has_the_required_atom_elements():
    config = feed_config()
    feed = parse(render_feed([entry(3), entry(2)], config))

    assert feed.tag == f"{A}feed"
    assert feed.findtext(f"{A}id") == "https://example.org/blog/"
    assert feed.findtext(f"{A}title") == "Tutorials"
    assert feed.findtext(f"{A}subtitle") == "Executable PyTorch tutorials"
    assert feed.findtext(f"{A}updated") == "2017-08-03T12:00:00+00:00"
    assert link(feed, "self") == "https://example.org/blog/feed.xml"
    assert link(feed, "alternate") == "https://example.org/blog/"
    assert feed.findtext(f"{A}author/{A}name") == "A"


def test_entry_has_id_title_link_dates_summary_and_absolute_urls():
    config = feed_config()
    item = entry(3, updated=datetime(2017, 9, 1, 8, 30, tzinfo=EDT))
    (element,) = parse(render_feed([item], config)).findall(f"{A}entry")

    assert element.findtext(f"{A}id") == "https://example.org/blog/2017/08/03/post-3.html"
    assert element.findtext(f"{A}title") == "Post 3"
    assert link(element, "alternate") == "https://example.org/blog/2017/08/03/post-3.html"
    assert element.findtext(f"{A}published") == "2017-08-03T12:00:00+00:00"
    assert element.findtext(f"{A}updated") == "2017-09-01T08:30:00-04:00"
    assert element.findtext(f"{A}summary") == "Excerpt 3"
    assert element.find(f"{A}content") is None


def test_entry_updated_is_its_date_when_not_modified_or_modified_earlier():
    earlier = datetime(2017, 1, 1, tzinfo=UTC)
    feed = parse(render_feed([entry(3), entry(2, updated=earlier)], feed_config()))

    assert [e.findtext(f"{A}updated") for e in feed.findall(f"{A}entry")] == [
        "2017-08-03T12:00:00+00:00", "2017-08-02T12:00:00+00:00"]


def test_feed_updated_is_the_latest_modification_not_the_first_entry():
    later = datetime(2018, 1, 2, 3, 4, 5, tzinfo=UTC)
    feed = parse(render_feed([entry(3), entry(1, updated=later)], feed_config()))

    assert feed.findtext(f"{A}updated") == "2018-01-02T03:04:05+00:00"


def test_empty_feed_is_dated_by_the_epoch_not_the_clock():
    feed = parse(render_feed([], feed_config()))

    assert feed.findtext(f"{A}updated") == "1970-01-01T00:00:00+00:00"
    assert feed.findall(f"{A}entry") == []


def test_categories_and_html_content():
    item = entry(1, tags=("pytorch", "CNN & RNN"), content_html='<p>x &lt; y</p>\n<img src="a.png">')
    (element,) = parse(render_feed([item], feed_config())).findall(f"{A}entry")

    assert [c.get("term") for c in element.findall(f"{A}category")] == ["pytorch", "CNN & RNN"]
    content = element.find(f"{A}content")
    assert content.get("type") == "html"
    assert content.text == '<p>x &lt; y</p>\n<img src="a.png">'


def test_title_is_escaped_exactly():
    title = 'a < b & "c"'
    data = render_feed([entry(1, title=title)], feed_config(title=title))

    assert b'<title>a &lt; b &amp; "c"</title>' in data
    feed = parse(data)
    assert feed.findtext(f"{A}title") == title
    assert feed.find(f"{A}entry").findtext(f"{A}title") == title


def test_tag_with_quotes_is_escaped_in_the_attribute():
    data = render_feed([entry(1, tags=('say "hi" <now>',))], feed_config())

    assert b'<category term="say &quot;hi&quot; &lt;now&gt;" />' in data
    assert parse(data).find(f"{A}entry/{A}category").get("term") == 'say "hi" <now>'


def test_output_starts_with_the_xml_declaration():
    assert render_feed([entry(1)], feed_config()).startswith(
        b'<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom">\n')


def test_feed_is_deterministic():
    posts = [entry(3, tags=("b", "a"), content_html="<p>hi</p>"), entry(2), entry(1)]

    assert render_feed(posts, feed_config()) == render_feed(posts, feed_config())


def test_limit_keeps_the_first_entries():
    posts = [entry(n) for n in range(25, 0, -1)]

    assert len(parse(render_feed(posts, feed_config())).findall(f"{A}entry")) == 20
    feed = parse(render_feed(posts, feed_config(), limit=3))
    assert [e.findtext(f"{A}title") for e in feed.findall(f"{A}entry")] == ["Post 25", "Post 24", "Post 23"]


def test_limit_zero_gives_no_entries():
    assert parse(render_feed([entry(1)], feed_config(), limit=0)).findall(f"{A}entry") == []


def test_entries_keep_the_given_order():
    posts = [entry(2), entry(9), entry(5)]
    feed = parse(render_feed(posts, feed_config()))

    assert [e.findtext(f"{A}title") for e in feed.findall(f"{A}entry")] == ["Post 2", "Post 9", "Post 5"]


def test_cjk_title_round_trips_as_utf8():
    title = "卷积神经网络入门：用 PyTorch 识别手写数字"
    data = render_feed([entry(1, title=title, url="/2017/08/01/卷积.html")], feed_config())

    assert title.encode("utf-8") in data
    element = parse(data).find(f"{A}entry")
    assert element.findtext(f"{A}title") == title
    assert element.findtext(f"{A}id") == "https://example.org/blog/2017/08/01/卷积.html"


def test_illegal_control_characters_are_dropped():
    item = entry(1, title="bad\x00\x07\x1b[0mtitle\tok", excerpt="line\x0bone\nline two\x0c",
                 tags=("t\x01ag",), content_html="<pre>\x1b[31mred</pre>")
    data = render_feed([item], feed_config(description="desc\x08ription"))
    feed = parse(data)
    element = feed.find(f"{A}entry")

    assert feed.findtext(f"{A}subtitle") == "description"
    assert element.findtext(f"{A}title") == "bad[0mtitle\tok"
    assert element.findtext(f"{A}summary") == "lineone\nline two"
    assert element.find(f"{A}category").get("term") == "tag"
    assert element.findtext(f"{A}content") == "<pre>[31mred</pre>"


def test_root_baseurl_gives_urls_at_the_host_root():
    feed = parse(render_feed([entry(1)], feed_config(baseurl="")))

    assert feed.findtext(f"{A}id") == "https://example.org/"
    assert link(feed, "self") == "https://example.org/feed.xml"
    assert feed.find(f"{A}entry").findtext(f"{A}id") == "https://example.org/2017/08/01/post-1.html"


def test_trailing_slashes_in_url_and_baseurl_are_normalised():
    feed = parse(render_feed([entry(1)], feed_config(url="https://example.org/", baseurl="/blog/")))

    assert link(feed, "self") == "https://example.org/blog/feed.xml"


def test_without_site_url_the_feed_uses_baseurl_relative_urls():
    feed = parse(render_feed([entry(1)], feed_config(url="")))

    assert feed.findtext(f"{A}id") == "/blog/"
    assert link(feed, "self") == "/blog/feed.xml"
    assert feed.find(f"{A}entry").findtext(f"{A}id") == "/blog/2017/08/01/post-1.html"


def test_author_falls_back_to_the_site_title():
    config = make_config(title="Tutorials", url="https://example.org")

    assert parse(render_feed([], config)).findtext(f"{A}author/{A}name") == "Tutorials"


def test_naive_dates_are_refused():
    with pytest.raises(ValueError, match="`date` must be timezone-aware"):
        entry(1, date=datetime(2017, 8, 1))


# render_sitemap

def test_sitemap_has_absolute_locs_and_lastmod_in_order():
    urls = [("/", None), ("/2017/08/11/a-b.html", datetime(2017, 8, 11, 23, 30, tzinfo=EDT)),
            ("/about/", date(2020, 1, 2))]
    data = render_sitemap(urls, feed_config())
    urlset = parse(data)

    assert data.startswith(b'<?xml version="1.0" encoding="utf-8"?>\n'
                           b'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n')
    assert urlset.tag == f"{S}urlset"
    entries = [(u.findtext(f"{S}loc"), u.findtext(f"{S}lastmod")) for u in urlset.findall(f"{S}url")]
    assert entries == [("https://example.org/blog/", None),
                       ("https://example.org/blog/2017/08/11/a-b.html", "2017-08-11"),
                       ("https://example.org/blog/about/", "2020-01-02")]


def test_sitemap_escapes_and_percent_encodes_locs():
    data = render_sitemap([("/search/?q=a&b=c", None), ("/卷积 网络/", None)], feed_config())

    assert b"<loc>https://example.org/blog/search/?q=a&amp;b=c</loc>" in data
    assert [u.findtext(f"{S}loc") for u in parse(data)] == [
        "https://example.org/blog/search/?q=a&b=c",
        "https://example.org/blog/%E5%8D%B7%E7%A7%AF%20%E7%BD%91%E7%BB%9C/"]


def test_sitemap_is_deterministic():
    urls = [("/", datetime(2017, 8, 11, tzinfo=UTC)), ("/a/", None)]

    assert render_sitemap(urls, feed_config()) == render_sitemap(urls, feed_config())


# render_robots

def test_robots_points_at_the_sitemap():
    assert render_robots(feed_config()) == (
        b"User-agent: *\nAllow: /\nSitemap: https://example.org/blog/sitemap.xml\n")


def test_robots_without_site_url_omits_the_sitemap():
    assert render_robots(feed_config(url="")) == b"User-agent: *\nAllow: /\n"

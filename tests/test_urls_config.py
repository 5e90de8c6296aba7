"""Slugs, permalinks, output paths, and `_config.yml` settings."""
from __future__ import annotations

import copy
import warnings
from datetime import datetime

import pytest

from builder.core.config import load_config, normalise_baseurl, validate_config
from builder.core.errors import ConfigError, ContainmentError, Location
from builder.core.urls import MAX_SEGMENT, MAX_SLUG_BYTES, expand_permalink, join_url, output_path, slugify

DATE = datetime(2017, 8, 1)
WHERE = Location("posts/2017-08-01-x.md")


# slugify


@pytest.mark.parametrize("title, slug", [
    ("Linear Regression", "linear-regression"),
    ("Hello, World! (part 2)", "hello-world-part-2"),
    ("  --PyTorch_1.0: what's new?--  ", "pytorch-1-0-what-s-new"),
    ("使用pytorch进行线性回归", "使用pytorch进行线性回归"),
    ("ＰｙＴｏｒｃｈ 入门", "pytorch-入门"),
    ("Café déjà vu", "café-déjà-vu"),
    ("!!!", ""),
])
def test_slugify(title, slug):
    assert slugify(title) == slug


def test_slugify_caps_length():
    assert slugify("a" * 300) == "a" * MAX_SLUG_BYTES
    assert len(slugify("卷" * 100).encode()) <= MAX_SLUG_BYTES


def test_a_capped_slug_fits_the_date_permalink():
    url = expand_permalink("date", DATE, slugify("a" * 300), [])
    path = output_path(url, WHERE)
    assert path.startswith("2017/08/01/aaaa") and path.endswith("a.html")


# expand_permalink


@pytest.mark.parametrize("style, url", [
    ("date", "/2017/08/01/my-post.html"),
    ("pretty", "/2017/08/01/my-post/"),
    ("none", "/my-post.html"),
    ("ordinal", "/2017/213/my-post.html"),
    ("/:year/:i_month/:i_day/:slug/", "/2017/8/1/my-post/"),
    ("/blog/:short_year/:month-:day-:title:output_ext", "/blog/17/08-01-my-post.html"),
    ("tutorials/:title", "/tutorials/my-post"),
])
def test_expand_permalink_without_categories(style, url):
    assert expand_permalink(style, DATE, "my-post", []) == url


@pytest.mark.parametrize("style, url", [
    ("date", "/ml/deep-learning/2017/08/01/my-post.html"),
    ("pretty", "/ml/deep-learning/2017/08/01/my-post/"),
    ("none", "/ml/deep-learning/my-post.html"),
])
def test_expand_permalink_with_categories(style, url):
    assert expand_permalink(style, DATE, "my-post", ["ML", "Deep Learning"]) == url


# output_path


@pytest.mark.parametrize("url, path", [
    ("/a/b.html", "a/b.html"),
    ("/a/b/", "a/b/index.html"),
    ("/a/b", "a/b/index.html"),
    ("/", "index.html"),
    ("/feed.xml", "feed.xml"),
    ("/使用/", "使用/index.html"),
])
def test_output_path(url, path):
    assert output_path(url, WHERE) == path


def test_output_path_of_a_dotted_version_is_html():
    assert output_path("/pytorch-1.0", WHERE).endswith(".html")


def test_dot_dot_segment_is_refused():
    with pytest.raises(ContainmentError) as caught:
        output_path("/a/../../etc/passwd", WHERE)
    assert str(caught.value) == ("posts/2017-08-01-x.md: URL '/a/../../etc/passwd' contains '..' or '.'\n"
                                 "  Hint: A permalink cannot point outside the site; remove the dot "
                                 "segments.")


@pytest.mark.parametrize("url", ["/a\\..\\b.html", "/a\x00.html"])
def test_backslash_and_nul_are_refused(url):
    with pytest.raises(ContainmentError) as caught:
        output_path(url, "posts/x.md")
    assert str(caught.value) == (f"posts/x.md: URL {url!r} contains a NUL or a backslash\n"
                                 "  Hint: Use only '/' as a separator in `permalink:`.")


def test_relative_url_is_refused():
    with pytest.raises(ContainmentError) as caught:
        output_path("a/b/", WHERE)
    assert caught.value.message == "URL 'a/b/' must start with '/'"
    assert caught.value.hint == "Write `permalink: /path/`."


def test_long_segment_is_refused():
    url = "/" + "x" * 300 + "/"
    with pytest.raises(ContainmentError) as caught:
        output_path(url, WHERE)
    assert caught.value.message == f"URL {url!r} has a segment longer than 200 bytes"
    assert caught.value.hint == "Shorten the title slug or set a shorter `permalink:`."


def test_segment_length_counts_bytes():
    output_path("/" + "a" * 200 + "/", WHERE)
    with pytest.raises(ContainmentError):
        output_path("/" + "线" * 67 + "/", WHERE)   # 201 bytes in UTF-8


# join_url


@pytest.mark.parametrize("base, url, joined", [
    ("/blog", "/2017/08/01/x.html", "/blog/2017/08/01/x.html"),
    ("", "/about/", "/about/"),
    ("/blog", "", "/blog/"),
    ("", "", "/"),
    ("/blog", "/", "/blog/"),
    ("/blog", "assets/a.png", "/blog/assets/a.png"),
])
def test_join_url(base, url, joined):
    assert join_url(base, url) == joined


# config


def test_config_defaults():
    config = validate_config({}, "_config.yml")
    assert (config.title, config.url, config.baseurl, config.lang) == ("Untitled site", "", "", "en")
    assert (config.permalink, config.timezone, config.paginate) == ("date", "UTC", 10)
    assert (config.timeout, config.post_timeout) == (600, 3600)
    assert config.author == {"name": "", "bio": "", "avatar": ""}
    assert (config.site_url, config.base) == ("", "")


def test_missing_config_file_gives_defaults(tmp_path):
    assert load_config(tmp_path).values == validate_config({}, "_config.yml").values


def test_config_file_values_are_read(tmp_path):
    (tmp_path / "_config.yml").write_text(
        "title: 教程\nurl: https://example.github.io/\nbaseurl: blog/\npaginate: 5\n"
        "author:\n  name: Ada\n", encoding="utf-8")
    config = load_config(tmp_path)
    assert (config.title, config.paginate) == ("教程", 5)
    assert config.site_url == "https://example.github.io"
    assert config.base == "/blog"
    assert config.author == {"name": "Ada", "bio": "", "avatar": ""}


def test_null_values_keep_the_default():
    assert validate_config({"paginate": None, "title": None}, "_config.yml").paginate == 10


def test_unknown_attribute_raises_attribute_error():
    with pytest.raises(AttributeError, match="^nonexistent$"):
        validate_config({}, "_config.yml").nonexistent


@pytest.mark.parametrize("baseurl, normal", [
    ("blog/", "/blog"), ("/blog", "/blog"), ("/blog/", "/blog"), ("", ""), ("/", ""),
    ("a/b/", "/a/b"),
])
def test_normalise_baseurl(baseurl, normal):
    assert normalise_baseurl(baseurl) == normal


def test_wrong_types_are_all_reported_together():
    with pytest.raises(ConfigError) as caught:
        validate_config({"paginate": "ten", "title": [1], "lang": "en"}, "_config.yml")
    assert str(caught.value) == (
        "_config.yml: `paginate` must be a whole number, not 'ten' (Posts per page on the home page.); "
        "`title` must be a string, not [1] (The site's name, shown in the masthead and the feed.)\n"
        "  Hint: Fix the listed keys; see the README for each key's type.")
    assert caught.value.exit_code == 2


def test_boolean_is_not_a_whole_number():
    with pytest.raises(ConfigError, match=r"^_config\.yml: `paginate` must be a whole number, not True "):
        validate_config({"paginate": True}, "_config.yml")


def test_invalid_yaml_names_the_line(tmp_path):
    (tmp_path / "_config.yml").write_text("title: A\nauthor:\n\tname: x\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path)
    assert caught.value.where == Location("_config.yml", 3)
    assert str(caught.value) == ("_config.yml:3: invalid YAML: found character '\\t' that cannot start "
                                 "any token\n  Hint: Check indentation (spaces, not tabs) and quote "
                                 "values containing ':' or '#'.")


def test_config_that_is_not_a_mapping(tmp_path):
    (tmp_path / "_config.yml").write_text("- a\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path)
    assert str(caught.value) == ("_config.yml: the file must be a mapping of keys to values\n"
                                 "  Hint: Write one `key: value` per line.")


def test_config_that_is_not_utf8(tmp_path):
    (tmp_path / "_config.yml").write_bytes(b"title: \xff\n")
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path)
    assert str(caught.value) == "_config.yml: the file is not valid UTF-8\n  Hint: Save the file with UTF-8 encoding."


def test_unknown_key_warns_but_stays_available():
    with pytest.warns(UserWarning, match=r"^_config\.yml: unknown key `twiter` is ignored "
                                         r"\(available to templates as site\.twiter\)$"):
        config = validate_config({"twiter": "ada"}, "_config.yml")
    assert config.twiter == "ada"


def test_tolerated_jekyll_keys_do_not_warn():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        config = validate_config({"theme": "minima", "plugins": ["jekyll-feed"]}, "_config.yml")
    assert config.theme == "minima"


def test_unknown_timezone_is_a_config_error():
    with pytest.raises(ConfigError, match="timezone"):
        validate_config({"timezone": "Mars/Olympus_Mons"}, "_config.yml")


def test_config_can_be_copied():
    config = validate_config({"title": "A"}, "_config.yml")
    assert copy.copy(config).title == "A"

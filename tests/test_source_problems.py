"""All the problems of a post in one run, in file order; images named in the front matter; front
matter keys from Jekyll; `exclude:`. No post here has Python code, so no kernel starts."""
from __future__ import annotations

import warnings
from pathlib import Path

import pytest

from builder.commands.cli import main
from builder.core.config import validate_config, is_excluded
from builder.core.errors import Location, SourceError, SourceErrors, in_file_order
from builder.source.links import missing_images
from builder.source.reader import read_post
from builder.render.templates import THEME_DIR
from conftest import run_build, write

POST = "posts/2020-01-01-a.md"
TAG_HINT = ("  Hint: Supported tags: assign, capture, if, unless, case, for, raw, comment, include, "
            "highlight, post_url, link. Replace the tag with Markdown, or wrap literal braces in "
            "{% raw %}...{% endraw %}.")
FILTER_HINT = ("  Hint: Use one of Liquid's filters or Jekyll's (relative_url, absolute_url, date, "
               "date_to_string, markdownify, slugify, xml_escape, where, jsonify, ...).")


def include_problem(line: int, name: str) -> str:
    return (f"{POST}:{line}: unknown include `{name}`\n"
            f"  Hint: Create templates/includes/{name}.html or remove the include.")


def image_problem(line: int, path: str) -> str:
    return (f"{POST}:{line}: the image /{path} does not exist (no file {path} in the site folder)\n"
            f"  Hint: Add the file {path} to the site folder, or fix the path.")


def render_failure(site: Path) -> str:
    """The one failure of a build that read every post but could not render one."""
    built = run_build(site)
    assert built.result.exit_code == 1 and len(built.result.failures) == 1, built.log
    assert not (site / "_site").exists()
    return str(built.result.failures[0])


# -- Every problem of a post, in file order --

# The cell (not run) splits the prose in two: the problems of both parts are listed together.
FOUR_INCLUDES = ("---\ntitle: A\n---\nHello.\n\n{% include carousel %}\n\nText.\n\n{% include podcast id=\"x\" %}\n"
                 "\n```python\n#| eval: false\nprint(1)\n```\n\n{% include carousel caption=\"b\" %}\n{% include toc %}\n"
                 "{% include timeline %}\n")


def test_every_unknown_include_is_listed_with_its_line(site_dir):
    write(site_dir / POST, FOUR_INCLUDES)
    assert render_failure(site_dir) == "\n\n".join([
        include_problem(6, "carousel"), include_problem(10, "podcast"),
        include_problem(17, "carousel"), include_problem(19, "timeline")])


def test_a_missing_image_does_not_hide_an_earlier_liquid_tag(site_dir):
    write(site_dir / POST, "---\ntitle: A\n---\n{% gist 1 %}\n{{ page.title | sassify }}\n\n"
                           "![one](/assets/img/none.png)\n\n{% gist 2 %}\n![two](/assets/b.png)\n")
    assert render_failure(site_dir) == "\n\n".join([
        f"{POST}:4: unsupported Liquid tag `{{% gist %}}`\n{TAG_HINT}",
        f"{POST}:5: unsupported Liquid filter `sassify`\n{FILTER_HINT}",
        image_problem(7, "assets/img/none.png"),
        f"{POST}:9: unsupported Liquid tag `{{% gist %}}`\n{TAG_HINT}",
        image_problem(10, "assets/b.png")])


def test_a_hint_repeated_by_the_next_problem_is_shown_once(site_dir):
    write(site_dir / POST, "---\ntitle: A\n---\n{{ page.title | sassify }} {{ page.title | scssify: \"x\" }}\n\n"
                           "{% gist 1 %}\n")
    assert render_failure(site_dir) == (
        f"{POST}:4: unsupported Liquid filter `sassify`\n{FILTER_HINT}\n\n"
        f"{POST}:4: unsupported Liquid filter `scssify`\n\n"
        f"{POST}:6: unsupported Liquid tag `{{% gist %}}`\n{TAG_HINT}")


def test_check_lists_every_problem_of_the_post(site_dir, capsys):
    write(site_dir / POST, "---\ntitle: A\nheader:\n  image: /assets/img/top.png\n---\n"
                           "![x](/assets/img/none.png)\n\n{% include nosuch %}\n")
    assert main(["check", "--source", str(site_dir)]) == 1
    err = capsys.readouterr().err
    assert err == ("error: " + "\n\n".join([
        f"{POST}:4: the image /assets/img/top.png named by `header.image` in the front matter does not exist "
        "(no file assets/img/top.png in the site folder)\n"
        "  Hint: Add the file assets/img/top.png to the site folder, or fix the path.",
        image_problem(6, "assets/img/none.png"), include_problem(8, "nosuch")])
        + "\n\ncheck: 1 problem(s)\n")


def test_problems_of_several_files_keep_their_files_together():
    problems = [SourceError("b", Location("posts/b.md", 2)), SourceError("a", Location("posts/a.md", 9)),
                SourceErrors([SourceError("c", Location("posts/b.md", 1)), SourceError("d", "posts/a.md")])]
    assert str(in_file_order(problems)) == "posts/b.md:1: c\n\nposts/b.md:2: b\n\nposts/a.md: d\n\nposts/a.md:9: a"
    single = SourceError("only", Location("posts/a.md", 3))
    assert in_file_order([single]) is single


# -- Images named in the front matter --

def front_matter_problems(site: Path, front: str, base: str = "") -> list[str]:
    path = write(site / POST, f"---\ntitle: A\n{front}---\nHello.\n")
    post = read_post(site, path, validate_config({}, "_config.yml"))
    return [str(p) for p in missing_images(post, site, base, THEME_DIR)]


def test_missing_header_images_name_their_keys_and_lines(site_dir):
    front = ("header:\n  overlay_color: \"#000\"\n  overlay_image: /assets/img/hero.jpg\n"
             "  teaser: assets/img/t.jpg\nimage: https://example.com/remote.png\nteaser: /images/old.png\n")
    assert front_matter_problems(site_dir, front) == [
        f"{POST}:5: the image /assets/img/hero.jpg named by `header.overlay_image` in the front matter does not "
        "exist (no file assets/img/hero.jpg in the site folder)\n"
        "  Hint: Add the file assets/img/hero.jpg to the site folder, or fix the path.",
        f"{POST}:6: the image assets/img/t.jpg named by `header.teaser` in the front matter does not exist "
        "(no file assets/img/t.jpg in the site folder)\n"
        "  Hint: Add the file assets/img/t.jpg to the site folder, or fix the path.",
        f"{POST}:8: the image /images/old.png named by `teaser` in the front matter does not exist "
        "(no file images/old.png in the site folder)\n"
        "  Hint: Add it as assets/images/old.png (only assets/ is copied into the site) and write "
        "/assets/images/old.png, or fix the path."]


def test_front_matter_images_that_exist_or_are_remote_pass(site_dir):
    write(site_dir / "assets/img/hero.jpg", "jpg")
    front = ("header:\n  image: /assets/img/hero.jpg\n  og_image: \"{{ site.baseurl }}/assets/img/hero.jpg\"\n"
             "image:\n  path: http://example.com/x.png\n")
    assert front_matter_problems(site_dir, front, base="/blog") == []


def test_a_missing_front_matter_image_fails_the_build(site_dir):
    write(site_dir / POST, "---\ntitle: A\nimage: /assets/img/card.png\n---\nHello.\n")
    assert render_failure(site_dir) == (
        f"{POST}:3: the image /assets/img/card.png named by `image` in the front matter does not exist "
        "(no file assets/img/card.png in the site folder)\n"
        "  Hint: Add the file assets/img/card.png to the site folder, or fix the path.")


# -- The hint says what the build copies --

def text_image_problems(site: Path, url: str) -> list[str]:
    path = write(site / POST, f"---\ntitle: A\n---\n![x]({url})\n")
    config = validate_config({"exclude": ["assets/private"]}, "_config.yml")
    post = read_post(site, path, config)
    return [str(p) for p in missing_images(post, site, "", THEME_DIR, config)]


def test_an_image_outside_assets_that_exists_is_not_published(site_dir):
    write(site_dir / "images/fig.png", "png")
    assert text_image_problems(site_dir, "/images/fig.png") == [
        f"{POST}:4: the image /images/fig.png is not published: only assets/ is copied into the site, "
        "so images/fig.png stays behind\n  Hint: Move it to assets/images/fig.png and write /assets/images/fig.png."]


def test_an_excluded_image_is_named_as_excluded(site_dir):
    write(site_dir / "assets/private/fig.png", "png")
    assert text_image_problems(site_dir, "/assets/private/fig.png") == [
        f"{POST}:4: the image /assets/private/fig.png is left out of the site by `exclude:` in _config.yml\n"
        "  Hint: Remove the pattern that matches assets/private/fig.png from `exclude:`, or fix the path."]


def test_an_image_under_assets_is_found(site_dir):
    write(site_dir / "assets/images/fig.png", "png")
    assert text_image_problems(site_dir, "/assets/images/fig.png") == []


# -- Front matter keys from Jekyll --

def read_warnings(site: Path, front: str) -> tuple[list[str], object]:
    path = write(site / POST, f"---\ntitle: A\n{front}---\nFirst part.\n\n<!--more-->\n\nThe rest.\n")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        post = read_post(site, path, validate_config({}, "_config.yml"))
    return [str(w.message) for w in caught], post


def test_excerpt_separator_is_used_without_a_warning(site_dir):
    messages, post = read_warnings(site_dir, "excerpt_separator: \"<!--more-->\"\n")
    assert messages == []
    assert post.get("excerpt") == "First part."


def test_slug_replaces_the_file_name_in_the_url(site_dir):
    messages, post = read_warnings(site_dir, "slug: better-name\n")
    assert messages == [] and post.url == "/2020/01/01/better-name.html" and post.slug == "a"


def test_a_jekyll_key_without_effect_says_what_happens_instead(site_dir):
    messages, _ = read_warnings(site_dir, "redirect_from: /old/\nshow_date: false\n")
    assert messages == [
        f"{POST}:3: front matter `redirect_from` has no effect here: no redirect pages are made; "
        "keep the old URL with `permalink:`",
        f"{POST}:4: front matter `show_date` has no effect here: every post shows its date and pages do not"]


def test_execute_false_is_accepted_as_a_bool(site_dir):
    messages, post = read_warnings(site_dir, "execute: false\n")
    assert messages == [] and post.get("execute") is False
    with pytest.raises(SourceError, match=r"front matter `execute` must be true or false, not 'no'"):
        read_warnings(site_dir, "execute: \"no\"\n")


# -- exclude: as in Jekyll --

def test_exclude_patterns_and_jekyll_defaults():
    config = validate_config({"exclude": ["drafts", "*.psd", "/old/", "posts/*-wip.md"]}, "_config.yml")
    excluded = ["drafts", "drafts/a.md", "assets/x.psd", "old/a/b.png", "posts/2020-01-01-wip.md",
                "node_modules/x.js", "Gemfile", "Gemfile.lock", "vendor/bundle/x.rb", ".jekyll-cache/x"]
    kept = ["draftsy/a.md", "posts/2020-01-01-ok.md", "vendor/other.rb", "assets/a.png", "assets/node_modules/x"]
    assert [path for path in excluded + kept if is_excluded(path, config)] == excluded


def test_exclude_leaves_out_posts_pages_and_assets(site_dir):
    write(site_dir / "_config.yml", "exclude:\n  - posts/2020-01-02-wip.md\n  - pages/notes.md\n  - \"*.psd\"\n")
    write(site_dir / POST, "---\ntitle: A\n---\nHello.\n")
    write(site_dir / "posts/2020-01-02-wip.md", "---\ntitle: [broken\n---\n")
    write(site_dir / "pages/notes.md", "---\ntitle: Notes\n---\nPrivate.\n")
    write(site_dir / "assets/img/kept.png", "png")
    write(site_dir / "assets/img/source.psd", "psd")
    assert run_build(site_dir).result.exit_code == 0
    built = {p.relative_to(site_dir / "_site").as_posix() for p in (site_dir / "_site").rglob("*")}
    assert "2020/01/01/a.html" in built and "assets/img/kept.png" in built
    assert not [p for p in built if "wip" in p or "notes" in p or p.endswith(".psd")]


@pytest.fixture
def site_dir(tmp_path: Path) -> Path:
    return tmp_path / "site"

"""Bad sources: each problem is one paragraph saying what is wrong, where, and how to fix it,
and a build that fails writes nothing. No post here has Python code, so no kernel starts."""
from __future__ import annotations

from pathlib import Path

import pytest

from builder.commands.cli import main
from builder.core.config import validate_config
from builder.core.errors import SourceError
from builder.formats.figures import (MAX_FIGURE_BYTES, MAX_FIGURES_PER_CELL, FigureError, check_figure_count,
                             check_figure_size)
from builder.source.frontmatter import check_front_matter, layout_names
from builder.source.links import missing_images
from builder.source.reader import read_post
from builder.render.templates import THEME_DIR, template_dirs
from conftest import png, run_build, tree_bytes, write

POST = "posts/2020-01-01-a.md"
YAML_HINT = "Hint: Indent with spaces (not tabs) and quote values that contain ': ' or start with a symbol."


@pytest.fixture
def site(tmp_path: Path) -> Path:
    return tmp_path / "site"


def fails_to_read(site: Path) -> str:
    """The one-paragraph message of a build stopped while reading; nothing was written."""
    with pytest.raises(SourceError) as caught:
        run_build(site)
    assert not (site / "_site").exists()
    return str(caught.value)


def fails_to_render(site: Path) -> str:
    """The message of a build that read every post but could not render one; nothing was written."""
    built = run_build(site)
    assert built.result.exit_code == 1 and len(built.result.failures) == 1, built.log
    assert not (site / "_site").exists()
    return str(built.result.failures[0])


# -- Front matter and encoding --

def test_invalid_yaml_names_the_file_and_line(site):
    write(site / POST, "---\ntitle: A\n\tbad: x\n---\nHello.\n")
    assert fails_to_read(site) == (f"{POST}:3: invalid YAML in the front matter: found character '\\t' "
                                   f"that cannot start any token\n  {YAML_HINT}")


def test_missing_closing_fence_asks_about_it(site):
    write(site / POST, "---\ntitle: A\nHello.\n")
    assert fails_to_read(site) == (f"{POST}:1: the front matter has no closing `---`\n"
                                   "  Hint: Did you forget the closing `---` line after the YAML block?")


def test_non_utf8_file_names_the_line_and_byte(site):
    (site / "posts").mkdir(parents=True)
    (site / POST).write_bytes(b"---\ntitle: A\n---\nHello \xff.\n")
    assert fails_to_read(site) == (f"{POST}:4: the file is not valid UTF-8 (byte 23)\n"
                                   "  Hint: Save the file with UTF-8 encoding.")


def test_date_that_is_not_a_date(site):
    write(site / POST, "---\ntitle: A\ndate: tomorrow\n---\nHello.\n")
    assert fails_to_read(site) == (f"{POST}:3: front matter `date` must be a date such as 2017-08-11 or "
                                   "2017-08-11 10:00:00 +08:00, not 'tomorrow'\n"
                                   "  Hint: Change `date:` in the front matter.")


def test_tags_that_are_not_a_list(site):
    write(site / POST, "---\ntitle: A\ntags: 5\n---\nHello.\n")
    assert fails_to_read(site) == (f"{POST}:3: front matter `tags` must be a list such as [pytorch, regression], "
                                   "not 5\n  Hint: Change `tags:` in the front matter.")


def test_unknown_front_matter_key_only_warns(site):
    write(site / POST, "---\ntitle: A\ncolour: blue\n---\nHello.\n")
    with pytest.warns(UserWarning, match=rf"^{POST}:3: unknown front matter key `colour` "
                                         r"\(not used by the theme; available to templates as page\.colour\)$"):
        assert run_build(site).result.exit_code == 0


# -- Layouts, includes, Liquid and templates --

THEME_LAYOUTS = layout_names([THEME_DIR / "templates"])   # the theme's own layouts, whatever they are today
LAYOUT_MESSAGE = (f"{POST}:3: unknown layout `nosuch` (available: {', '.join(THEME_LAYOUTS)})\n"
                  "  Hint: Use one of the available layouts, or create templates/layouts/nosuch.html "
                  "in the site folder.")


def test_unknown_layout_is_found_in_the_front_matter(site):
    text = "---\ntitle: A\nlayout: nosuch\n---\nHello.\n"
    write(site / POST, text)
    problems = check_front_matter({"title": "A", "layout": "nosuch"}, POST, text,
                                  layout_names(template_dirs(site)))
    assert [str(p) for p in problems] == [LAYOUT_MESSAGE]


def test_site_layouts_are_available_too(site):
    write(site / "templates/layouts/wide.html", "{{ content }}\n")
    assert "single" in THEME_LAYOUTS and "wide" not in THEME_LAYOUTS
    assert layout_names(template_dirs(site)) == sorted(THEME_LAYOUTS + ["wide"])


def test_unknown_layout_names_the_post_and_the_layouts(site):
    write(site / POST, "---\ntitle: A\nlayout: nosuch\n---\nHello.\n")
    assert fails_to_read(site) == LAYOUT_MESSAGE


def test_unknown_include_names_the_post_line(site):
    write(site / POST, "---\ntitle: A\n---\nHello.\n\n{% include nosuch %}\n")
    assert fails_to_render(site) == (f"{POST}:6: unknown include `nosuch`\n"
                                     "  Hint: Create templates/includes/nosuch.html or remove the include.")


def test_unknown_liquid_tag_names_the_post_line(site):
    write(site / POST, "---\ntitle: A\n---\nHello.\n\n{% gist 1 %}\n")
    assert fails_to_render(site) == (
        f"{POST}:6: unsupported Liquid tag `{{% gist %}}`\n"
        "  Hint: Supported tags: assign, capture, if, unless, case, for, raw, comment, include, "
        "highlight, post_url, link. Replace the tag with Markdown, or wrap literal braces in "
        "{% raw %}...{% endraw %}.")


@pytest.mark.parametrize("body", ["Hello.\n", "Hello.\n\n```python\nprint(1)\n```\n"],
                         ids=["prose", "executed while the templates load"])
@pytest.mark.kernel
def test_template_syntax_error_names_the_site_template_and_line(site, body):
    write(site / POST, "---\ntitle: A\n---\n" + body)
    write(site / "templates/layouts/single.html", "<main>\n{{ content }}\n{% if %}\n</main>\n")
    assert fails_to_render(site) == ("templates/layouts/single.html:3: template syntax error: Expected an "
                                     "expression, got 'end of statement block'\n"
                                     "  Hint: Fix the Jinja syntax at that line.")


UNDEFINED_HINT = "Hint: Guard optional values with `is defined` or fix the name."


def test_template_undefined_variable_names_the_template_and_line(site):
    write(site / POST, "---\ntitle: A\n---\nHello.\n")
    write(site / "templates/layouts/single.html", "<main>\n{{ content }}\n{{ nosuch }}\n</main>\n")
    assert fails_to_render(site) == ("templates/layouts/single.html:3: template uses an undefined value: "
                                     f"'nosuch' is undefined\n  {UNDEFINED_HINT}")


# -- Two posts, one URL; a missing image --

def test_two_posts_with_the_same_permalink_are_both_named(site):
    write(site / POST, "---\ntitle: A\npermalink: /same/\n---\nHello.\n")
    write(site / "posts/2020-01-02-b.md", "---\ntitle: B\npermalink: /same/\n---\nHello.\n")
    assert fails_to_read(site) == ("posts/2020-01-02-b.md: the URL /same/ is also claimed by "
                                   f"{POST}\n  Hint: Give one of the two posts a different "
                                   "`permalink:` or file name.")


IMAGE_MESSAGE = (f"{POST}:6: the image /assets/img/none.png does not exist (no file assets/img/none.png "
                 "in the site folder)\n  Hint: Add the file assets/img/none.png to the site folder, "
                 "or fix the path.")


def test_missing_image_is_found_in_the_post(site):
    path = write(site / POST, "---\ntitle: A\n---\nHello.\n\n![x](/assets/img/none.png)\n"
                              "![fine](/assets/img/here.png) `![code](/no.png)`\n")
    write(site / "assets/img/here.png", "png")
    post = read_post(site, path, validate_config({}, "_config.yml"))
    assert [str(p) for p in missing_images(post, site, "", THEME_DIR)] == [IMAGE_MESSAGE]


def test_missing_image_outside_the_baseurl(site):
    path = write(site / POST, "---\ntitle: A\n---\n![x](/assets/img/here.png)\n"
                              "![y]({{ site.baseurl }}/assets/img/here.png)\n")
    write(site / "assets/img/here.png", "png")
    post = read_post(site, path, validate_config({}, "_config.yml"))
    assert [str(p) for p in missing_images(post, site, "/blog", THEME_DIR)] == [
        f"{POST}:4: the image /assets/img/here.png is outside the site's baseurl /blog, so it will not "
        "show once published\n  Hint: Write ![...]({{ \"/assets/img/here.png\" | relative_url }}) "
        "or start the path with /blog/."]


def test_missing_image_fails_the_build(site):
    write(site / POST, "---\ntitle: A\n---\nHello.\n\n![x](/assets/img/none.png)\n")
    assert fails_to_render(site) == IMAGE_MESSAGE


# -- _config.yml, through the command line (exit 2) --

def config_error(site: Path, capsys, config: bytes) -> str:
    write(site / POST, "Hello.\n")
    (site / "_config.yml").write_bytes(config)
    assert main(["build", "--source", str(site)]) == 2
    assert not (site / "_site").exists()
    return capsys.readouterr().err


def test_config_with_a_tab_names_the_line(site, capsys):
    assert config_error(site, capsys, b"title: T\nauthor:\n\tname: x\n") == (
        "error: _config.yml:3: invalid YAML: found character '\\t' that cannot start any token\n"
        "  Hint: Check indentation (spaces, not tabs) and quote values containing ':' or '#'.\n")


def test_config_with_wrong_types_names_each_key_and_line(site, capsys):
    assert config_error(site, capsys, b"title: T\npaginate: ten\ntimezone: Mars/Base\n") == (
        "error: _config.yml: `paginate` must be a whole number, not 'ten' on line 2 (Posts per page on "
        "the home page.); `timezone` 'Mars/Base' on line 3 is not a known time zone (use an IANA name "
        "such as Asia/Shanghai or UTC)\n"
        "  Hint: Fix the listed keys; see the README for each key's type.\n")


def test_config_with_an_impossible_date_names_the_line(site, capsys):
    assert config_error(site, capsys, b"title: T\nstarted: 2020-02-30\n") == (
        "error: _config.yml:2: invalid date: day is out of range for month\n"
        "  Hint: Write a real date (YYYY-MM-DD), or quote the value to keep it as text.\n")


def test_config_that_is_not_utf8(site, capsys):
    assert config_error(site, capsys, b"title: T\xff\n") == (
        "error: _config.yml: the file is not valid UTF-8\n  Hint: Save the file with UTF-8 encoding.\n")


def test_unknown_config_key_warns_with_its_line(site):
    write(site / POST, "Hello.\n")
    write(site / "_config.yml", "title: T\ntwiter: ada\n")
    with pytest.warns(UserWarning, match=r"^_config\.yml:2: unknown key `twiter` is ignored"):
        assert run_build(site).result.exit_code == 0


# -- A failed build leaves the previous site as it was --

@pytest.mark.parametrize("broken", ["---\ntitle: [x\n---\nHi.\n", "---\ntitle: A\n---\n{% include nosuch %}\n"])
def test_a_failed_build_leaves_the_existing_site_unchanged(site, broken):
    write(site / POST, "---\ntitle: A\n---\nHello.\n")
    assert run_build(site).result.exit_code == 0
    before = tree_bytes(site / "_site")
    write(site / "posts/2020-01-02-b.md", broken)
    try:
        assert run_build(site).result.exit_code == 1
    except SourceError:
        pass
    assert tree_bytes(site / "_site") == before


# -- check: every problem in every post, in one run --

FOUR_BROKEN = {
    "posts/2020-01-01-yaml.md": ("---\ntitle: [x\n---\nHi.\n",
                                 "posts/2020-01-01-yaml.md:2: invalid YAML in the front matter"),
    "posts/2020-01-02-tags.md": ("---\ntags: 5\n---\nHi.\n",
                                 "posts/2020-01-02-tags.md:2: front matter `tags` must be a list"),
    "posts/2020-01-03-liquid.md": ("---\ntitle: L\n---\nHi.\n\n{% gist 1 %}\n",
                                   "posts/2020-01-03-liquid.md:6: unsupported Liquid tag `{% gist %}`"),
    "posts/2020-01-04-image.md": ("---\ntitle: I\n---\nHi.\n\n![x](/assets/img/none.png)\n",
                                  "posts/2020-01-04-image.md:6: the image /assets/img/none.png does not exist"),
}


def check_four_broken_posts(site: Path, capsys) -> str:
    for path, (text, _) in FOUR_BROKEN.items():
        write(site / path, text)
    assert main(["check", "--source", str(site)]) == 1
    assert not (site / "_site").exists()
    return capsys.readouterr().err


def test_check_lists_four_broken_posts_in_one_run(site, capsys):
    err = check_four_broken_posts(site, capsys)
    for path, (_, message) in FOUR_BROKEN.items():
        assert f"error: {message}" in err, path
    assert err.endswith("check: 4 problem(s)\n")


def test_check_today_stops_after_the_read_errors(site, capsys):
    """Until read errors stop only their own post, the Liquid and image problems go unreported."""
    err = check_four_broken_posts(site, capsys)
    assert FOUR_BROKEN["posts/2020-01-01-yaml.md"][1] in err
    assert FOUR_BROKEN["posts/2020-01-02-tags.md"][1] in err


# -- Figures: a limit on size and number --

def test_figure_within_the_limits_passes():
    check_figure_size(png(4096, 4096), "cell1-1.png")
    check_figure_count(MAX_FIGURES_PER_CELL, "cell 1")


def test_figure_too_many_pixels():
    with pytest.raises(FigureError) as caught:
        check_figure_size(png(5000, 300), "cell3-1.png")
    assert str(caught.value) == "figure cell3-1.png is 5000x300 pixels, more than the limit of 4096x4096"
    assert caught.value.hint == ("Make the figure smaller: lower `figsize` or `dpi`, "
                                 "e.g. plt.figure(figsize=(8, 5), dpi=100).")


def test_figure_too_many_bytes():
    with pytest.raises(FigureError) as caught:
        check_figure_size(png(800, 600, b"\x00" * MAX_FIGURE_BYTES), "loss.png")
    assert str(caught.value).startswith("figure loss.png is 5,242,9")
    assert str(caught.value).endswith(" bytes, more than the limit of 5,242,880 bytes")


def test_too_many_figures_in_one_cell():
    with pytest.raises(FigureError) as caught:
        check_figure_count(MAX_FIGURES_PER_CELL + 1, "cell 2")
    assert str(caught.value) == "cell 2 shows more than 50 figures, the limit for one cell"
    assert caught.value.hint.startswith("Draw several plots as subplots of one figure")

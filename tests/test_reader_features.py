"""Reader features of the theme (issue 15): series, related posts, social cards, favicon,
copy buttons' script, heading order. The copy button itself is driven in
tests/test_copy_button.py, in Chromium."""
from __future__ import annotations

import random
import re
from datetime import datetime, timedelta, timezone
from html.parser import HTMLParser
from pathlib import Path

import pytest

from builder.render.listings import DEFAULT_FAVICON
from builder.core.model import Post
from builder.render.series import MAX_SHARED_TAGS, related_links
from conftest import REPO, run_build, write

PART_ONE = "2024/01/01/basics.html"
PART_TWO = "2024/02/01/tensors.html"
PART_THREE = "2024/03/01/autograd.html"
LONER = "2024/04/01/loner.html"


def post_text(title: str, tags: str, extra: str = "", body: str = "Some prose.\n") -> str:
    return f"---\ntitle: {title}\ntags: [{tags}]\n{extra}---\n\n{body}"


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    """A `baseurl: /blog` site: a three-part series whose parts are out of date order by
    `series_order`, a post with a figure and one with `image:`, a post with no related posts."""
    site = tmp_path_factory.mktemp("reader") / "site"
    write(site / "_config.yml", "title: Reader\nurl: https://example.org\nbaseurl: /blog\n"
                                "permalink: /:year/:month/:day/:title.html\nauthor:\n  name: Ada\n")
    (site / "assets/img/tensors").mkdir(parents=True)
    figure = (REPO / "assets/img/pytorch-linear-regression/training-data.png").read_bytes()
    for name in ("img/tensors/first.png", "img/tensors/second.png", "card.png"):
        (site / "assets" / name).write_bytes(figure)
    write(site / "posts/2024-01-01-basics.md", post_text(
        "Basics", "pytorch, basics", "series: Deep learning\nseries_order: 1\nimage: /assets/card.png\n",
        "```pycon\n>>> x = 1\n>>> x\n1\n```\n"))
    write(site / "posts/2024-02-01-tensors.md", post_text(
        "Tensors", "pytorch, basics", "series: Deep learning\nseries_order: 2\n",
        "![the first](/blog/assets/img/tensors/first.png)\n\n![the second](/blog/assets/img/tensors/second.png)\n"))
    write(site / "posts/2024-03-01-autograd.md", post_text(
        "Autograd", "pytorch", "series: deep learning\nrelated: false\n"))
    write(site / "posts/2024-04-01-loner.md", post_text("Loner", "gardening", "author_profile: true\n", "## A section\n\nText.\n"))
    result = run_build(site, execute=False).result
    assert result.exit_code == 0, result.failures
    return site / "_site"


def read(site: Path, page: str) -> str:
    return (site / page).read_text(encoding="utf-8")


def series_box(html: str) -> str:
    found = re.search(r'<nav class="series-box".*?</nav>', html, re.DOTALL)
    return found[0] if found else ""


def test_series_box_numbers_each_part_and_links_the_others(built):
    box = series_box(read(built, PART_TWO))
    assert '<a href="/blog/series/deep-learning/">Deep learning</a> · Part 2 of 3' in box
    assert re.findall(r"<li>(.*?)</li>", box) == [
        '<a href="/blog/2024/01/01/basics.html">Basics</a>',
        '<span aria-current="page">Tensors</span>',
        '<a href="/blog/2024/03/01/autograd.html">Autograd</a>',
    ]


def test_series_order_comes_first_then_date(built):
    # Autograd has no series_order: it follows the numbered parts; its name differs only in case.
    assert "Part 3 of 3" in series_box(read(built, PART_THREE))
    assert "Part 1 of 3" in series_box(read(built, PART_ONE))
    assert series_box(read(built, LONER)) == ""


def test_series_page_lists_the_parts_in_reading_order(built):
    html = read(built, "series/deep-learning/index.html")
    assert "<title>Series: Deep learning | Reader</title>" in html
    titles = re.findall(r'<h2 class="archive__item-title"><a href="([^"]+)"', html)
    assert titles == ["/blog/2024/01/01/basics.html", "/blog/2024/02/01/tensors.html",
                      "/blog/2024/03/01/autograd.html"]


def related_section(html: str) -> list[str]:
    found = re.search(r'<section class="page__related".*?</section>', html, re.DOTALL)
    return re.findall(r'<li><a href="([^"]+)">', found[0]) if found else []


def test_related_posts_share_tags_most_shared_first(built):
    assert related_section(read(built, PART_ONE)) == ["/blog/2024/02/01/tensors.html",
                                                      "/blog/2024/03/01/autograd.html"]
    assert '<h2 class="page__related-title" id="related-title">Related posts</h2>' in read(built, PART_ONE)


def test_no_related_posts_when_turned_off_or_none_share_a_tag(built):
    assert related_section(read(built, PART_THREE)) == []
    assert related_section(read(built, LONER)) == []


def make_post(number: int, tags: list[str], day: int, **front) -> Post:
    date = datetime(2024, 1, 1, tzinfo=timezone.utc) + timedelta(days=day)
    return Post(path=f"posts/p{number:03}.md", slug=f"p{number:03}", date=date, title=f"P{number}",
                front_matter={"tags": tags, **front}, blocks=(), url=f"/p{number:03}/", body_line=1)


def test_related_ties_break_by_newer_date_then_url():
    posts = [make_post(1, ["a", "b"], 0), make_post(2, ["a"], 5), make_post(3, ["a"], 5),
             make_post(4, ["a", "b"], 1), make_post(5, ["a"], 9), make_post(6, ["b"], 20)]
    urls = {path: [p["url"] for p in related] for path, related in related_links(posts).items()}
    # p004 shares two tags; then one shared tag, newest first (p006 on day 20), then p005; p002
    # and p003 tie on date and lose to them.
    assert urls["posts/p001.md"] == ["/p004/", "/p006/", "/p005/"]
    assert urls["posts/p002.md"] == ["/p005/", "/p003/", "/p004/"]
    assert urls["posts/p003.md"] == ["/p005/", "/p002/", "/p004/"]


def brute_force_related(posts: list[Post]) -> dict[str, list[str]]:
    tags = {p.path: set(p.front_matter["tags"]) for p in posts}
    answer = {}
    for post in posts:
        if not tags[post.path] or post.front_matter.get("related") is False:
            continue
        others = [(min(len(tags[post.path] & tags[o.path]), MAX_SHARED_TAGS), o) for o in posts if o is not post]
        others = [(shared, o) for shared, o in others if shared]
        others.sort(key=lambda item: (-item[0], -item[1].date.timestamp(), item[1].url))
        answer[post.path] = [o.url for _, o in others[:3]]
    return answer


@pytest.mark.parametrize("seed", range(30))
def test_related_posts_equal_a_brute_force_ranking(seed):
    rng = random.Random(seed)
    names = [f"t{i}" for i in range(rng.randint(2, 8))]
    posts = [make_post(n, rng.sample(names, rng.randint(0, min(6, len(names)))), rng.randint(0, 15),
                       **({"related": False} if rng.random() < 0.1 else {}))
             for n in range(rng.randint(1, 40))]
    found = {path: [p["url"] for p in related] for path, related in related_links(posts).items()}
    assert {k: v for k, v in found.items() if v} == {k: v for k, v in brute_force_related(posts).items() if v}


def meta(html: str, name: str) -> str | None:
    found = re.search(rf'<meta (?:property|name)="{re.escape(name)}" content="([^"]*)">', html)
    return found[1] if found else None


def test_social_card_is_the_first_figure_with_an_absolute_url(built):
    html = read(built, PART_TWO)
    assert meta(html, "og:image") == "https://example.org/blog/assets/img/tensors/first.png"
    assert meta(html, "twitter:image") == "https://example.org/blog/assets/img/tensors/first.png"
    assert meta(html, "twitter:card") == "summary_large_image"


def test_front_matter_image_wins_over_figures(built):
    assert meta(read(built, PART_ONE), "og:image") == "https://example.org/blog/assets/card.png"


def test_no_image_means_a_summary_card(built):
    html = read(built, LONER)
    assert meta(html, "og:image") is None
    assert meta(html, "twitter:card") == "summary"


def test_favicon_is_linked_and_served_at_the_root(built):
    assert (built / "favicon.ico").read_bytes() == DEFAULT_FAVICON.read_bytes()
    assert (built / "assets/favicon.svg").is_file()
    for page in (PART_ONE, LONER, "index.html", "404.html", "series/deep-learning/index.html"):
        assert '<link rel="icon" href="/blog/assets/favicon.svg" type="image/svg+xml">' in read(built, page)


def test_favicon_from_config(tmp_path):
    site = tmp_path / "site"
    write(site / "_config.yml", "title: T\nfavicon: /assets/me.png\n")
    write(site / "posts/2024-01-01-a.md", post_text("A", "x"))
    assert run_build(site, execute=False).result.exit_code == 0
    assert '<link rel="icon" href="/assets/me.png">' in read(site / "_site", "index.html")


COPY_SCRIPT = ('<script src="/blog/assets/js/copy-code.js" defer data-copy="Copy" data-label="Copy the code" '
               'data-copied="Copied" data-failed="Copy failed"></script>')


def test_copy_script_only_on_pages_with_code(built):
    assert COPY_SCRIPT in read(built, PART_ONE)
    assert "copy-code.js" not in read(built, LONER)
    assert "copy-code.js" not in read(built, "index.html")
    assert (built / "assets/js/copy-code.js").read_bytes() == (REPO / "assets/js/copy-code.js").read_bytes()


def test_copy_button_is_made_by_the_script_not_the_page(built):
    # With JavaScript off there is no button: the HTML has none, the script makes them.
    assert "<button" not in read(built, PART_ONE)
    script = (REPO / "assets/js/copy-code.js").read_text(encoding="utf-8")
    assert 'createElement("button")' in script and '"aria-live", "polite"' in script


class HeadingLevels(HTMLParser):
    def __init__(self):
        super().__init__()
        self.levels: list[int] = []

    def handle_starttag(self, tag, attrs):
        if re.fullmatch(r"h[1-6]", tag):
            self.levels.append(int(tag[1]))


def skipped_levels(html: str) -> list[str]:
    """Headings that go down more than one level from the previous one, or start below h1."""
    parser = HeadingLevels()
    parser.feed(html)
    problems, previous = [], 0
    for level in parser.levels:
        if level > previous + 1:
            problems.append(f"h{level} after {'h' + str(previous) if previous else 'the start'}")
        previous = level
    return problems


def test_heading_levels_never_skip(built):
    assert '<p class="author__name" itemprop="name">Ada</p>' in read(built, LONER)   # was an h3 before the h1
    pages = sorted(built.rglob("*.html"))
    assert len(pages) > 10
    assert {page.relative_to(built).as_posix(): skipped_levels(page.read_text(encoding="utf-8"))
            for page in pages if skipped_levels(page.read_text(encoding="utf-8"))} == {}


def test_heading_check_finds_a_skip():
    assert skipped_levels("<h1>a</h1><h3>b</h3>") == ["h3 after h1"]
    assert skipped_levels("<h2>a</h2>") == ["h2 after the start"]


def test_incremental_rebuild_updates_other_posts_series_and_related(tmp_path):
    """Editing one post's tags or series changes other posts' pages: an incremental rebuild
    gives the bytes of a clean one."""
    from conftest import tree_bytes
    site = tmp_path / "site"
    write(site / "_config.yml", "title: T\n")
    write(site / "posts/2024-01-01-a.md", post_text("A", "x, y", "series: S\n"))
    write(site / "posts/2024-01-02-b.md", post_text("B", "x", "series: S\n"))
    write(site / "posts/2024-01-03-c.md", post_text("C", "y"))
    assert run_build(site, execute=False).result.exit_code == 0
    write(site / "posts/2024-01-03-c.md", post_text("C", "z", "series: S\nseries_order: 0\n"))
    assert run_build(site, execute=False).result.exit_code == 0
    clean = tmp_path / "clean"
    assert run_build(site, dest=clean, execute=False).result.exit_code == 0
    rebuilt = {k: v for k, v in tree_bytes(site / "_site").items() if not k.startswith(".build")}
    assert rebuilt == {k: v for k, v in tree_bytes(clean).items() if not k.startswith(".build")}
    assert "Part 2 of 3" in read(site / "_site", "2024/01/01/a.html")
    assert related_section(read(site / "_site", "2024/01/01/a.html")) == ["/2024/01/02/b.html"]


@pytest.mark.kernel
def test_retina_figure_is_shown_at_half_its_pixel_size(tmp_path):
    """A figure drawn in the inline backend's 'retina' format (200 dpi) gets width and height
    of half its pixels; the PNG stays free of metadata and the same on a forced re-run."""
    from builder.formats.figures import png_size
    site = tmp_path / "site"
    write(site / "posts/2024-01-01-r.md", "---\ntitle: R\n---\n\n```python\n"
          "%config InlineBackend.figure_formats = ['retina']\nimport matplotlib.pyplot as plt\n"
          "plt.figure(figsize=(4, 3), dpi=100)\nplt.plot([1, 2, 3]); plt.show()\n```\n")
    assert run_build(site).result.exit_code == 0
    figure = site / "assets/img/r/cell1-1.png"
    data = figure.read_bytes()
    width, height = png_size(data)
    assert (width, height) > (700, 500) and b"tEXt" not in data
    assert f'width="{width // 2}" height="{height // 2}"' in read(site / "_site", "2024/01/01/r.html")
    assert run_build(site, force=True).result.exit_code == 0
    assert figure.read_bytes() == data

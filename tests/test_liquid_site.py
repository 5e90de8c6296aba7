"""Liquid in posts loops over Jekyll's `site.posts`, `site.tags` and `site.categories`."""
from __future__ import annotations

import re
import shutil
from pathlib import Path

from conftest import REPO, run_build, tree_bytes, write

LOOP = ('Latest: {% for post in site.posts limit:2 %}<a href="{{ post.url | relative_url }}">'
        '{{ post.title }}</a> {% endfor %}\n\n'
        'Tags: {% for tag in site.tags %}{{ tag[0] }} ({{ tag[1].size }}) {% endfor %}\n\n'
        'Data: {% for post in site.tags.data %}{{ post.title }}; {% endfor %}\n')


def make_site(site: Path) -> None:
    """Five posts, a day apart; the newest loops over site.posts and site.tags."""
    write(site / "_config.yml", "title: Lists\nurl: https://example.org\nbaseurl: /blog\n")
    tags = {1: "[loss]", 2: "[loss, data]", 3: "[data]", 4: "[model]"}
    for day in range(1, 5):
        write(site / f"posts/2021-03-0{day}-post-{day}.md",
              f'---\ntitle: "Post {day}"\ntags: {tags[day]}\n---\nPlain prose of post {day}.\n')
    write(site / "posts/2021-03-05-latest.md", f'---\ntitle: "Index"\n---\n{LOOP}')
    shutil.copytree(REPO / "templates", site / "templates")


def rendered(built) -> int:
    return int(built.log.split(" rendered)")[0].rsplit("(", 1)[1])


def index_html(site: Path) -> str:
    return (site / "_site/2021/03/05/latest.html").read_text(encoding="utf-8")


def test_site_posts_limit_shows_the_newest_titles_with_links_and_site_tags_counts(tmp_path):
    site = tmp_path / "site"
    make_site(site)
    built = run_build(site, execute=False)
    assert built.result.exit_code == 0, built.log
    html = index_html(site)
    assert ('Latest: <a href="/blog/2021/03/05/latest.html">Index</a> '
            '<a href="/blog/2021/03/04/post-4.html">Post 4</a>') in html
    assert "Post 3</a>" not in html
    assert "Tags: loss (2) data (2) model (1)" in html
    assert "Data: Post 3; Post 2;" in html       # a tag's posts, newest first


def test_retitling_another_post_renders_the_looping_post_again_and_equals_a_clean_build(tmp_path):
    site = tmp_path / "site"
    make_site(site)
    first = run_build(site, execute=False)
    listings = rendered(first) - 5 - len(list((site / "_site/assets").rglob("*.*")))
    post = site / "posts/2021-03-02-post-2.md"
    post.write_text(post.read_text(encoding="utf-8").replace("Post 2", "Renamed 2"), encoding="utf-8")
    again = run_build(site, execute=False)
    # the retitled post, its neighbours (posts 1 and 3), the looping post and the listings
    assert rendered(again) == 4 + listings
    assert "Data: Post 3; Renamed 2;" in index_html(site)
    clean = tmp_path / "clean"
    shutil.copytree(site, clean, ignore=shutil.ignore_patterns("_site", ".builder*"))
    assert run_build(clean, execute=False).result.exit_code == 0
    assert tree_bytes(site / "_site") == tree_bytes(clean / "_site")


def test_a_post_not_naming_site_lists_is_not_rendered_again_by_a_distant_retitle(tmp_path):
    site = tmp_path / "site"
    make_site(site)
    (site / "posts/2021-03-05-latest.md").write_text('---\ntitle: "Index"\n---\nNo lists here.\n',
                                                     encoding="utf-8")
    first = run_build(site, execute=False)
    listings = rendered(first) - 5 - len(list((site / "_site/assets").rglob("*.*")))
    post = site / "posts/2021-03-01-post-1.md"
    post.write_text(post.read_text(encoding="utf-8").replace("Post 1", "Renamed 1"), encoding="utf-8")
    assert rendered(run_build(site, execute=False)) == 2 + listings   # post 1 and its neighbour post 2


"""Minimal Mistakes' includes that posts call: video (privacy-friendly embeds) and figure."""
from __future__ import annotations

from pathlib import Path

import pytest

from conftest import run_build, write

POST = "posts/2020-01-01-v.md"


@pytest.fixture
def site_dir(tmp_path: Path) -> Path:
    return tmp_path / "site"


def built_body(site_dir, body: str) -> str:
    write(site_dir / POST, f"---\ntitle: V\n---\n{body}\n")
    built = run_build(site_dir)
    assert built.result.exit_code == 0, built.log
    html = (site_dir / "_site/2020/01/01/v.html").read_text(encoding="utf-8")
    return html[html.index("<section"):html.index("</section>")]


def test_youtube_without_cookies_and_vimeo_without_tracking(site_dir):
    body = built_body(site_dir, '{% include video id="XsxDH4HcOWA" provider="youtube" title="A talk" %}\n\n'
                                '{% include video id="97649261" provider="vimeo" %}')
    assert ('<iframe src="https://www.youtube-nocookie.com/embed/XsxDH4HcOWA" title="A talk" '
            'loading="lazy"') in body
    assert '<iframe src="https://player.vimeo.com/video/97649261?dnt=1" title="Video" loading="lazy"' in body


def test_a_video_id_cannot_break_out_of_the_url(site_dir):
    body = built_body(site_dir, '{% include video id="x\\" onload=\\"alert(1)" %}')
    assert "onload=\"alert" not in body


def test_figure_with_a_markdown_caption(site_dir):
    write(site_dir / "assets/a.png", "png")
    body = built_body(site_dir, '{% include figure image_path="/assets/a.png" alt="a" '
                                'caption="A *plot* of [x](/y/)." %}')
    assert ('<figure class=""><img src="/assets/a.png" alt="a"><figcaption>A <em>plot</em> of '
            '<a href="/y/">x</a>.</figcaption></figure>') in body


GALLERY_POST = """---
title: V
gallery:
  - url: /assets/a.png
    image_path: /assets/a-th.png
    alt: "one"
    title: "One"
  - image_path: /assets/a.png
    alt: "two"
feature_row:
  - image_path: /assets/a.png
    title: "Feat"
    excerpt: "Some text."
    url: "/x/"
    btn_label: "Go"
---
"""


def built_with_front_matter(site_dir, front: str, body: str) -> str:
    write(site_dir / "assets/a.png", "png")
    write(site_dir / "assets/a-th.png", "png")
    write(site_dir / POST, f"{front}{body}\n")
    built = run_build(site_dir)
    assert built.result.exit_code == 0, built.log
    assert "has no effect" not in built.log
    html = (site_dir / "_site/2020/01/01/v.html").read_text(encoding="utf-8")
    return html[html.index("<section"):html.index("</section>")]


def test_gallery_shows_the_front_matter_images_with_a_markdown_caption(site_dir):
    body = built_with_front_matter(site_dir, GALLERY_POST, '{% include gallery caption="A **gallery**." %}')
    assert ('<figure class="gallery half "><a href="/assets/a.png" title="One"><img src="/assets/a-th.png" '
            'alt="one"></a><img src="/assets/a.png" alt="two"><figcaption>A <strong>gallery</strong>.'
            '</figcaption></figure>') in body


def test_feature_row_shows_its_items_with_buttons(site_dir):
    body = built_with_front_matter(site_dir, GALLERY_POST, "{% include feature_row %}")
    assert ('<div class="feature__wrapper"><div class="feature__item"><img src="/assets/a.png" alt="">'
            '<h2 class="archive__item-title">Feat</h2><p class="archive__item-excerpt">Some text.</p>'
            '<p><a href="/x/" class="btn btn--primary">Go</a></p></div></div>') in body

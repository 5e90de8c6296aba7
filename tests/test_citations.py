"""Citations (issue 15): `[@key]` in prose formatted by citeproc-py from a BibTeX file, a
References list, a "Cite this post" BibTeX block and Google Scholar citation_* tags."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from conftest import run_build, write
from builder.render.citations import parse_citation

REFS = r"""
@article{vaswani2017,
  author = {Vaswani, Ashish and Shazeer, Noam},
  title = {Attention Is All You Need},
  journal = {Advances in Neural Information Processing Systems},
  volume = {30},
  year = {2017}
}
@book{goodfellow2016,
  author = {Goodfellow, Ian and Bengio, Yoshua},
  title = {Deep Learning},
  publisher = {MIT Press},
  year = {2016}
}
"""
POST = """
---
title: "Attention & <friends>"
author: Ada Lovelace
cite: true
---
Transformers [@vaswani2017, p. 3] build on deep learning [@goodfellow2016].

Both [@goodfellow2016; @vaswani2017].
"""
PAGE = "2024/05/01/attention.html"
VASWANI = ("Vaswani, A. and Shazeer, N. (2017) “Attention Is All You Need”, "
           "<i>Advances in Neural Information Processing Systems</i>, 30.")
GOODFELLOW = "Goodfellow, I. and Bengio, Y. (2016) <i>Deep Learning</i>. MIT Press."


def make_site(root: Path, config: str = "", post: str = POST) -> Path:
    write(root / "_config.yml", 'title: Cites\nurl: "https://example.org"\nbaseurl: "/blog"\n'
          "timezone: UTC\nbibliography: refs.bib\n" + config)
    write(root / "refs.bib", REFS)
    write(root / "posts" / "2024-05-01-attention.md", post)
    write(root / "posts" / "2024-05-02-plain.md", "---\ntitle: Plain\n---\nNo citations [here].\n")
    return root


def built_page(site: Path, page: str = PAGE) -> str:
    built = run_build(site)
    assert built.result.exit_code == 0, built.log
    return (site / "_site" / page).read_text(encoding="utf-8")


def test_author_year_citations_link_to_the_references(tmp_path):
    html = built_page(make_site(tmp_path))
    assert ('Transformers <a class="citation" href="#ref-vaswani2017" data-preview="Vaswani, A. and Shazeer, N. '
            '(2017) “Attention Is All You Need”, Advances in Neural Information Processing Systems, 30." '
            'aria-describedby="ref-vaswani2017">(Vaswani and Shazeer, 2017, p. 3)</a>') in html
    assert 'aria-describedby="ref-goodfellow2016 ref-vaswani2017">(Goodfellow and Bengio, 2016; ' \
           'Vaswani and Shazeer, 2017)</a>' in html
    references = html[html.index('<section class="references"'):]
    assert references.index(GOODFELLOW) < references.index(VASWANI)     # sorted by author
    assert f'<li id="ref-vaswani2017">{VASWANI}</li>' in references
    assert '<h2 id="references-title">References</h2>\n<ul class="references__list">' in references


def test_numeric_style_numbers_in_order_of_first_citation(tmp_path):
    html = built_page(make_site(tmp_path, "citation-style: numeric\n"))
    labels = re.findall(r'<a class="citation"[^>]*>([^<]*)</a>', html)
    assert labels == ["[1, p. 3]", "[2]", "[2; 1]"]
    assert f'<li id="ref-vaswani2017"><span class="references__label">[1]</span> {VASWANI}</li>\n' \
           f'<li id="ref-goodfellow2016"><span class="references__label">[2]</span> {GOODFELLOW}</li>' in html


def test_cite_this_post_and_scholar_tags(tmp_path):
    html = built_page(make_site(tmp_path))
    assert ("<pre class=\"cite-this__bibtex\"><code>@online{lovelace2024attention,\n"
            "  title = {Attention &amp; &lt;friends&gt;},\n  author = {Ada Lovelace},\n  year = {2024},\n"
            "  month = {05},\n  url = {https://example.org/blog/2024/05/01/attention.html}\n}</code></pre>") in html
    assert ('<meta name="citation_title" content="Attention &amp; &lt;friends&gt;">\n'
            '<meta name="citation_author" content="Ada Lovelace">\n'
            '<meta name="citation_publication_date" content="2024/05/01">\n'
            '<meta name="citation_public_url" content="https://example.org/blog/2024/05/01/attention.html">') in html
    assert "citation_pdf_url" not in html


def test_posts_without_citations_get_none_of_it(tmp_path):
    html = built_page(make_site(tmp_path), "2024/05/02/plain.html")
    assert "No citations [here]." in html
    assert "references" not in html and "citation_" not in html and "cite-this" not in html


def test_a_missing_key_names_the_file_and_line(tmp_path):
    site = make_site(tmp_path, post=POST.replace("[@goodfellow2016].", "[@nobody1999]."))
    built = run_build(site)
    assert built.result.exit_code == 1
    assert ("posts/2024-05-01-attention.md:6: citation @nobody1999 is not in the bibliography refs.bib\n"
            "  Hint: Add an entry `nobody1999` to refs.bib, or fix the key (known: goodfellow2016, vaswani2017).") \
        in built.log


def test_citing_without_a_bibliography_is_an_error(tmp_path):
    site = make_site(tmp_path)
    write(site / "_config.yml", 'title: Cites\ntimezone: UTC\n')
    built = run_build(site)
    assert built.result.exit_code == 1
    assert ("posts/2024-05-01-attention.md:6: the post cites [@...] but names no bibliography\n"
            "  Hint: Add `bibliography: refs.bib` to the front matter or to _config.yml.") in built.log


@pytest.mark.parametrize("text, items", [
    ("@a", [("a", "")]), ("@a, p. 3", [("a", "p. 3")]), ("@a; @b:c, chap. 2", [("a", ""), ("b:c", "chap. 2")]),
])
def test_parse_citation(text, items):
    assert parse_citation(text) == items


def test_editing_the_bibliography_renders_the_citing_post_again(tmp_path):
    site = make_site(tmp_path)
    built_page(site)
    write(site / "refs.bib", REFS.replace("Deep Learning", "Deeper Learning"))
    html = built_page(site)
    assert "<i>Deeper Learning</i>" in html


def test_the_description_leaves_the_citations_out(tmp_path):
    html = built_page(make_site(tmp_path))
    assert '<meta name="description" content="Transformers build on deep learning.">' in html


def test_a_chinese_site_titles_its_references_and_bibtex_in_chinese(tmp_path):
    html = built_page(make_site(tmp_path, config="lang: zh-CN\n"))
    assert '<h2 id="references-title">参考文献</h2>' in html
    assert '<h2 id="cite-this-title">引用本文</h2>' in html


def test_every_ui_string_has_an_english_and_a_chinese_text():
    import yaml
    from conftest import REPO
    table = yaml.safe_load((REPO / "templates" / "data" / "ui-text.yml").read_text(encoding="utf-8"))
    assert sorted(table["en"]) == sorted(table["zh"])
    assert {"references", "cite_this", "show_code"} <= set(table["en"])

"""Reader features in headless Chromium (issue 15): a citation's references show on keyboard
focus as on hover, and a post with a series box, related posts, citations, references and the
"Cite this post" block is screenshot, light and dark, to test-artifacts/screenshots/ for a person
to look at. Skipped, saying why, where Chromium is missing (`make browser` installs it)."""
from __future__ import annotations

from pathlib import Path

import pytest

from browser_support import serve
from conftest import REPO, run_build, write

pytestmark = pytest.mark.browser

PAGE = "2024/05/01/attention.html"
SCREENSHOTS = REPO / "test-artifacts" / "screenshots"
REFERENCES = """@article{vaswani2017, author = {Vaswani, Ashish and Shazeer, Noam}, year = {2017},
  title = {Attention Is All You Need}, journal = {Advances in Neural Information Processing Systems}}
"""
FOCUS_FIRST_CITATION = """(() => {
  const link = document.querySelector('a.citation');
  link.focus();
  return {focused: link.matches(':focus-visible'), preview: getComputedStyle(link, '::after').content,
          shown: getComputedStyle(link, '::after').display};
})()"""
POINTED_PREVIEW = "getComputedStyle(document.querySelector('a.citation'), '::after').content"


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    source = tmp_path_factory.mktemp("reader") / "site"
    write(source / "_config.yml", 'title: Reader\nurl: "https://example.org"\nbaseurl: /blog\nlang: en\n'
                                  "bibliography: refs.bib\n")
    write(source / "refs.bib", REFERENCES)
    write(source / "posts/2024-05-01-attention.md", "---\ntitle: Attention\nauthor: Ada Lovelace\ncite: true\n"
          "tags: [transformers, pytorch]\nseries: Transformers\nseries_order: 1\n---\n\n"
          "Attention [@vaswani2017, p. 3] weighs every token against every other: "
          "$\\mathrm{softmax}(QK^\\top / \\sqrt{d})V$.\n\n```python\nimport torch\nprint(torch.ones(2))\n```\n")
    write(source / "posts/2024-05-02-heads.md", "---\ntitle: Many heads\ntags: [transformers]\n"
          "series: Transformers\nseries_order: 2\n---\n\nSeveral attention heads side by side.\n")
    result = run_build(source, execute=False).result
    assert result.exit_code == 0, result.failures
    return source / "_site"


def test_a_citation_shows_its_reference_on_keyboard_focus(site, tab):
    with serve(site, "/blog") as origin:
        tab.open(f"{origin}/blog/{PAGE}")
        assert tab.evaluate(POINTED_PREVIEW) == "none"          # nothing before the reader comes to it
        for kind in ("keyDown", "keyUp"):                        # a keyboard user, so :focus-visible
            tab.call("Input.dispatchKeyEvent", type=kind, key="Tab", code="Tab", windowsVirtualKeyCode=9)
        focus = tab.evaluate(FOCUS_FIRST_CITATION)
        errors = tab.take_errors()
    assert focus["focused"] and focus["shown"] != "none"
    assert "Attention Is All You Need" in focus["preview"] and errors == []


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_screenshot_of_series_related_and_citations(site, tab, scheme):
    with serve(site, "/blog") as origin:
        tab.open(f"{origin}/blog/{PAGE}", 1280, 1600, dark=scheme == "dark")
        tab.evaluate(FOCUS_FIRST_CITATION)
        parts = tab.evaluate("['.series-box', '.page__related', '.references', '.cite-this']"
                             ".map(selector => !!document.querySelector(selector))")
        shot = tab.screenshot(SCREENSHOTS / f"reader-features-{scheme}.png")
        errors = tab.take_errors()
    assert parts == [True, True, True, True] and errors == []
    assert shot.read_bytes().startswith(b"\x89PNG") and shot.stat().st_size > 10_000

"""The built sites as a browser sees them (issue 5).

Two sites are built and served on 127.0.0.1: the repository's own site (`--frozen`) and a small
site made here with `baseurl: /blog`, math, an image and internal links with anchors, served so
that anything outside `/blog/` is a 404. Debian's headless Chromium (`make browser` installs it;
these tests skip, saying so, where it is missing), driven over the DevTools protocol on a
pipe, opens every HTML page of both and checks that:

- no console error, uncaught exception or failed resource load is reported;
- every image, scrolled into view, finishes loading with a non-zero natural width, and every
  stylesheet loads;
- every same-origin link answers 200 and every `#anchor` names an id on its target page;
- math is MathML that Chromium lays out as math (computed `display` of `inline math` or
  `block math`, non-zero width).

It also saves screenshots of the home page and the tutorial post at desktop (1280x2000) and phone
(390x1600) widths, light and dark, to `test-artifacts/screenshots/`, for a person to look at.
"""
from __future__ import annotations

import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urldefrag, urlsplit

import pytest

from browser_support import fragment_targets, serve
from builder.site.lock import build_lock
from conftest import REPO, run_build, write
from test_reader_features import skipped_levels

pytestmark = pytest.mark.browser

TUTORIAL = "tutorial/2017/08/11/pytorch-linear-regression.html"
MATH_POST = "2024/01/02/math.html"
SCREENSHOTS = REPO / "test-artifacts" / "screenshots"
VIEWPORTS = {"desktop": (1280, 2000, False), "phone": (390, 1600, True)}
MATHML = "http://www.w3.org/1998/Math/MathML"
MATH_DISPLAYS = ("math", "inline math", "block math")   # computed `display` of laid-out MathML

# Scroll every image into view (they are loading="lazy"), wait for each to settle, then report
# what the checks need from the live DOM.
INSPECT = """(async () => {
  const settle = img => img.complete ? null : new Promise(done => {
    img.addEventListener('load', done, {once: true});
    img.addEventListener('error', done, {once: true});
    setTimeout(done, 5000);
  });
  for (const img of document.images) { img.scrollIntoView(); await settle(img); }
  window.scrollTo(0, 0);
  return {
    images: [...document.images].map(i => ({src: i.currentSrc || i.src, complete: i.complete,
                                            naturalWidth: i.naturalWidth})),
    stylesheets: [...document.querySelectorAll('link[rel=stylesheet]')].map(l => ({href: l.href,
                                                                                 loaded: !!l.sheet})),
    links: [...document.querySelectorAll('a[href]')].map(a => a.href),
    ids: [...document.querySelectorAll('[id]')].map(e => e.id),
    math: [...document.querySelectorAll('math')].map(m => ({namespace: m.namespaceURI,
      display: getComputedStyle(m).display, width: m.getBoundingClientRect().width})),
  };
})()"""
OVERFLOW = "document.documentElement.scrollWidth - window.innerWidth"
# Every visible text whose colour has a WCAG contrast ratio under 3 against the first opaque
# background behind it, one example per element kind.
LOW_CONTRAST = """(() => {
  const rgba = s => (s.match(/[\\d.]+/g) || []).map(Number);
  const channel = c => (c /= 255) <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  const luminance = ([r, g, b]) => 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b);
  const background = el => {
    for (; el; el = el.parentElement) {
      const c = rgba(getComputedStyle(el).backgroundColor);
      if (c.length === 3 || c[3] > 0) return c;
    }
    return [255, 255, 255];
  };
  const low = {};
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node; (node = walker.nextNode());) {
    const el = node.parentElement;
    if (!node.textContent.trim() || !el.getClientRects().length) continue;
    const [a, b] = [luminance(rgba(getComputedStyle(el).color)), luminance(background(el))];
    const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    const kind = [el.tagName.toLowerCase(), ...el.classList].join('.');
    if (ratio < 3 && !(kind in low)) low[kind] = `${ratio.toFixed(2)}: ${node.textContent.trim().slice(0, 30)}`;
  }
  return low;
})()"""


@dataclass
class Visit:
    """What one page reported in the browser."""

    url: str
    source: str
    errors: list[str]
    dom: dict


@dataclass
class ServedSite:
    name: str
    folder: Path
    root: str                 # the home page URL, ending in "/"
    visits: list[Visit] = field(default_factory=list)

    def url(self, page: str) -> str:
        return self.root + ("" if page == "index.html" else page)


def build_repo_site(dest: Path) -> Path:
    """`builder build --frozen --dest DEST` of the repository, in this process (as fast, less the start-up)."""
    with build_lock(REPO):
        built = run_build(REPO, dest=dest, frozen=True)
    assert built.result.exit_code == 0, built.log
    return dest


def build_blog_site(site: Path) -> Path:
    """A `baseurl: /blog` site with math, an image, and links to a heading on this and another page."""
    write(site / "_config.yml", "title: Tiny blog\nbaseurl: /blog\n")
    (site / "assets/img").mkdir(parents=True)
    (site / "assets/img/points.png").write_bytes(
        (REPO / "assets/img/pytorch-linear-regression/training-data.png").read_bytes())
    write(site / "posts/2024-01-02-math.md", """
        ---
        title: "Math and links"
        toc: true
        ---

        Inline $a_1^2$ and display:

        $$\\sum_i x_i$$

        ![Some points]({{ site.baseurl }}/assets/img/points.png)

        ## A heading

        Jump to [the heading](#a-heading), read [the other post]({% post_url 2024-01-01-other %}#second-part)
        or go [home]({{ site.baseurl }}/).
        """)
    write(site / "posts/2024-01-01-other.md", """
        ---
        title: "Other"
        ---

        ## Second part

        Back to [the math post]({% link posts/2024-01-02-math.md %}).
        """)
    built = run_build(site, dest=site / "_site")
    assert built.result.exit_code == 0, built.log
    return site / "_site"


@pytest.fixture(scope="module", params=["repo", "blog"])
def site(request, tab, tmp_path_factory):
    """One built site, served, with every HTML page already visited in the browser."""
    scratch = tmp_path_factory.mktemp(request.param)
    if request.param == "repo":
        folder, base = build_repo_site(scratch / "_site"), ""
    else:
        folder, base = build_blog_site(scratch / "site"), "/blog"
    with serve(folder, base) as origin:
        served = ServedSite(request.param, folder, f"{origin}{base}/")
        for page in sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*.html")):
            url = served.url(page)
            tab.open(url)
            dom = tab.evaluate(INSPECT)
            source = (folder / page).read_text(encoding="utf-8")
            served.visits.append(Visit(url, source, tab.take_errors(), dom))
        yield served


def test_every_page_loads_without_console_errors(site):
    assert len(site.visits) >= 3
    problems = [f"{visit.url}: {error}" for visit in site.visits for error in visit.errors]
    assert not problems, "\n".join(problems)


def test_every_page_links_an_icon_and_no_heading_skips_a_level(site):
    # An icon link keeps Chromium from asking for the origin's /favicon.ico, which is not ours
    # under a baseurl (the 404 would be a console error, counted above).
    assert [visit.url for visit in site.visits if '<link rel="icon" href=' not in visit.source] == []
    skips = {visit.url: skipped_levels(visit.source) for visit in site.visits if skipped_levels(visit.source)}
    assert skips == {}


def test_every_image_loads_with_a_natural_width(site):
    images = [(visit.url, image) for visit in site.visits for image in visit.dom["images"]]
    assert images, f"the {site.name} site has no images to check"
    broken = [f"{url}: {image}" for url, image in images if not (image["complete"] and image["naturalWidth"] > 0)]
    assert not broken, "\n".join(broken)
    stylesheets = [(visit.url, sheet) for visit in site.visits for sheet in visit.dom["stylesheets"]]
    unloaded = [f"{url}: {sheet['href']} did not load" for url, sheet in stylesheets if not sheet["loaded"]]
    assert stylesheets and not unloaded, "\n".join(unloaded)


def test_every_internal_link_and_anchor_resolves(site):
    origin = "{0.scheme}://{0.netloc}".format(urlsplit(site.root))
    pages: dict[str, tuple[int, str]] = {}
    problems = []
    checked = 0
    for visit in site.visits:
        for link in visit.dom["links"]:
            if not link.startswith(origin + "/"):
                continue
            checked += 1
            target, fragment = urldefrag(link)
            if target not in pages:
                pages[target] = fetch(target)
            status, body = pages[target]
            if status != 200:
                problems.append(f"{visit.url}: {link} answers {status}")
            elif fragment:
                ids = set(visit.dom["ids"]) if target == urldefrag(visit.url)[0] else fragment_targets(body)
                if unquote(fragment) not in ids:
                    problems.append(f"{visit.url}: {link} names no id on {target}")
    assert checked >= len(site.visits)
    assert not problems, "\n".join(problems)


def fetch(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read().decode("utf-8", errors="replace")
    except urllib.error.HTTPError as error:
        return error.code, ""


def test_math_renders_as_mathml(site):
    with_math = [visit for visit in site.visits if "<math" in visit.source]
    if site.name == "blog":
        assert [visit.url for visit in with_math] == [site.url(MATH_POST)]
        assert len(with_math[0].dom["math"]) == 2
    for visit in with_math:
        assert visit.dom["math"], f"{visit.url}: no <math> element in the live DOM"
        for math in visit.dom["math"]:
            assert math["namespace"] == MATHML and math["display"] in MATH_DISPLAYS, (visit.url, math)
            assert math["width"] > 0, visit.url
    for visit in site.visits:
        assert "$$" not in visit.source and "\\(" not in visit.source, f"{visit.url}: unconverted TeX"


@pytest.mark.parametrize("site", ["repo"], indirect=True)
@pytest.mark.parametrize("page", ["index.html", TUTORIAL], ids=["home", "tutorial"])
def test_screenshots_of_home_and_tutorial(site, tab, page):
    name = "home" if page == "index.html" else "tutorial"
    overflow = {}
    for viewport, (width, height, mobile) in VIEWPORTS.items():
        for scheme in ("light", "dark"):
            tab.open(site.url(page), width, height, mobile, dark=scheme == "dark")
            tab.evaluate(INSPECT)    # loads the lazy images before the picture is taken
            assert tab.take_errors() == []
            shot = tab.screenshot(SCREENSHOTS / f"{name}-{viewport}-{scheme}.png")
            print(f"screenshot: {shot}")
            assert shot.read_bytes().startswith(b"\x89PNG") and shot.stat().st_size > 10_000, shot
            overflow[f"{viewport}-{scheme}"] = tab.evaluate(OVERFLOW)
    assert overflow == dict.fromkeys(overflow, 0), f"{name}: page wider than the viewport by (px)"


@pytest.mark.parametrize("site", ["repo"], indirect=True)
@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_text_is_readable_in_light_and_dark_mode(site, tab, scheme):
    low = {}
    for visit in site.visits:
        tab.open(visit.url, dark=scheme == "dark")
        if found := tab.evaluate(LOW_CONTRAST):
            low[visit.url] = found
    lines = [f"{url}: {kind} {example}" for url, found in low.items() for kind, example in sorted(found.items())]
    assert not lines, f"text with contrast under 3:1 in {scheme} mode:\n" + "\n".join(lines)

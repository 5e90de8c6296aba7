"""Interactive charts (issue 15): Plotly and Vega-Lite outputs become charts drawn from their
spec by the vendored libraries, with a PNG picture made at execution time for readers without
JavaScript, the notebook export and social cards; `--frozen` needs none of the chart packages."""
from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from browser_support import Browser, Tab, install_chromium, serve
from conftest import REPO, run_build, write
from builder.render.charts import LIBRARIES, drop_unused_libraries, script_json

pytest.importorskip("plotly")
pytest.importorskip("altair")

CHARTS_POST = '''
---
title: Charts
---
A Plotly chart:

```python
import plotly.graph_objects as go
go.Figure(go.Scatter(x=[1, 2, 3], y=[3, 1, 2], name="</script><b>x</b>")).show()
```

An Altair chart, shown as Altair's default renderer leaves it:

```python
#| fig-alt: Points rising
import altair as alt
alt.Chart(alt.Data(values=[{"a": 1, "b": 2}, {"a": 2, "b": 3}])).mark_point().encode(x="a:Q", y="b:Q")
```
'''
PAGE = "2024/03/01/charts.html"
PLOTLY_PNG = "assets/img/charts/cell1-1.plotly.png"
VEGA_PNG = "assets/img/charts/cell2-1.vegalite.png"
BLOCKED = ("plotly", "altair", "kaleido", "vl_convert")


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """A site with one post of two charts and one post without, built once (executing the charts)."""
    reason = install_chromium()       # kaleido draws Plotly's picture with it
    if reason:
        pytest.skip(f"chromium is not installed and cannot be installed here: {reason}")
    site = tmp_path_factory.mktemp("charts")
    write(site / "_config.yml", 'title: Charts\nurl: "https://example.org"\nbaseurl: "/blog"\ntimezone: UTC\n')
    write(site / "posts" / "2024-03-01-charts.md", CHARTS_POST)
    write(site / "posts" / "2024-03-02-plain.md", "---\ntitle: Plain\n---\nNo charts here.\n")
    built = run_build(site)
    assert built.result.exit_code == 0, built.log
    return site


@pytest.mark.kernel
def test_each_chart_has_a_picture_and_its_spec_as_escaped_json(site):
    html = (site / "_site" / PAGE).read_text(encoding="utf-8")
    for picture in (PLOTLY_PNG, VEGA_PNG):
        assert (site / "_site" / picture).read_bytes().startswith(b"\x89PNG")
        assert f'src="/blog/{picture}"' in html
    assert 'alt="Points rising" width="' in html
    assert '"name":"\\u003c/script\\u003e\\u003cb\\u003ex\\u003c/b\\u003e"' in html
    assert "<b>x</b>" not in html


@pytest.mark.kernel
def test_the_chart_libraries_load_only_on_pages_with_charts(site):
    """Named to the chart script, which loads one when a reader comes to a chart."""
    html = (site / "_site" / PAGE).read_text(encoding="utf-8")
    for kind, library in LIBRARIES.items():
        assert f' data-{kind}="/blog/{library}"' in html and f'src="/blog/{library}"' not in html
        assert (site / "_site" / library).is_file()
    assert html.count('<script src="/blog/assets/js/charts.js" defer data-activate="Interactive chart"') == 1
    plain = (site / "_site" / "2024/03/02/plain.html").read_text(encoding="utf-8")
    assert "<script src" not in plain.replace("/assets/js/copy-code.js", "").replace("/assets/js/search.js", "")
    assert "vendor/" not in plain and "charts.js" not in plain


def test_a_site_without_charts_gets_no_chart_libraries():
    sources = {"assets/js/charts.js": 1, "assets/css/main.css": 2, "assets/img/p/cell1-1.png": 3,
               **{path: 4 for path in LIBRARIES.values()}}
    assert sorted(drop_unused_libraries(sources)) == ["assets/css/main.css", "assets/img/p/cell1-1.png"]
    sources["assets/img/p/cell2-1.vegalite.png"] = 5
    assert LIBRARIES["plotly"] not in drop_unused_libraries(sources)
    assert LIBRARIES["vegalite"] in drop_unused_libraries(sources)


def test_script_json_cannot_end_its_script_element():
    assert script_json('{"a":"</script><!--&"}') == '{"a":"\\u003c/script\\u003e\\u003c!--\\u0026"}'
    assert json.loads(script_json('{"a":"</script>&"}')) == {"a": "</script>&"}


@pytest.mark.kernel
def test_the_freeze_record_and_the_notebook_carry_the_spec(site):
    record = json.loads(next((site / "_freeze").rglob("*.json")).read_text(encoding="utf-8"))
    charts = [o for cell in record["cells"] for o in cell["outputs"] if o["kind"] == "chart"]
    assert [(c["name"], c["path"]) for c in charts] == [("plotly", PLOTLY_PNG), ("vegalite", VEGA_PNG)]
    notebook = json.loads((site / "_site" / "2024/03/01/charts.ipynb").read_text(encoding="utf-8"))
    data = [o["data"] for cell in notebook["cells"] if cell["cell_type"] == "code" for o in cell["outputs"]]
    assert data[0]["application/vnd.plotly.v1+json"]["data"][0]["y"] == [3, 1, 2]
    assert data[1]["application/vnd.vegalite.v6+json"]["mark"] == {"type": "point"}
    assert json.loads(charts[1]["text"][0])["$schema"].startswith("https://vega.github.io/schema/vega-lite/v6.")
    assert all("image/png" in d for d in data)


@pytest.mark.kernel
def test_frozen_build_needs_no_chart_package(site, tmp_path):
    block = "".join(f"sys.modules[{name!r}] = None; " for name in BLOCKED)
    code = (f"import runpy, sys; {block}sys.argv = ['builder', 'build', '--frozen', '--source', "
            f"{str(site)!r}, '--dest', {str(tmp_path / 'out')!r}]; runpy.run_module('builder', run_name='__main__')")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=REPO)
    assert done.returncode == 0, done.stdout + done.stderr
    assert (tmp_path / "out" / PAGE).read_bytes() == (site / "_site" / PAGE).read_bytes()


@pytest.fixture(scope="module")
def tab(tmp_path_factory):
    reason = install_chromium()
    if reason:
        pytest.skip(f"chromium is not installed and cannot be installed here: {reason}")
    browser = Browser(tmp_path_factory.mktemp("chromium-profile"))
    try:
        yield Tab(browser)
    finally:
        browser.close()


DRAWN = """(() => ({
  plotly: !!document.querySelector('figure[data-chart=plotly] .plot-container svg.main-svg'),
  vega: !!document.querySelector('figure[data-chart=vegalite] .output__chart-interactive canvas, '
                                 + 'figure[data-chart=vegalite] .output__chart-interactive svg'),
  hidden: [...document.querySelectorAll('.output__chart-picture')].map(img => img.hidden),
  buttons: document.querySelectorAll('.output__chart-activate').length,
}))()"""


LIBRARIES_FETCHED = ("performance.getEntriesByType('resource').map(entry => entry.name)"
                     ".filter(name => name.includes('/assets/js/vendor/'))")
PRESS_BUTTON = """(() => {{ const button = document.querySelectorAll('.output__chart-activate')[{index}];
  button.focus(); button.click(); return document.activeElement === button; }})()"""


def wait_drawn(tab: Tab, kind: str) -> dict:
    deadline = time.monotonic() + 15
    while True:
        drawn = tab.evaluate(DRAWN)
        if drawn[kind] or time.monotonic() > deadline:
            return drawn
        time.sleep(0.2)


@pytest.mark.kernel
def test_charts_draw_when_the_reader_comes_to_them(site, tab):
    """The page loads no chart library; each chart's button (reached by keyboard) draws it and
    moves the focus to the chart. Screenshots: the pictures with their buttons, then the charts."""
    with serve(site / "_site", "/blog") as origin:
        tab.open(f"{origin}/blog/{PAGE}")
        time.sleep(0.5)
        fetched_before = tab.evaluate(LIBRARIES_FETCHED)
        tab.screenshot(REPO / "test-artifacts" / "screenshots" / "interactive-charts-pictures.png")
        buttons = tab.evaluate("[...document.querySelectorAll('.output__chart-activate')].map(b => b.textContent)")
        focused = [tab.evaluate(PRESS_BUTTON.format(index=0))]
        drawn = wait_drawn(tab, "plotly")
        focused.append(tab.evaluate(PRESS_BUTTON.format(index=0)))     # the Vega-Lite one is the first left
        drawn = wait_drawn(tab, "vega")
        focus_on = tab.evaluate("document.activeElement.classList.contains('output__chart-interactive')")
        errors = tab.take_errors()
        tab.screenshot(REPO / "test-artifacts" / "screenshots" / "interactive-charts.png")
    assert fetched_before == [] and buttons == ["Interactive chart", "Interactive chart"] and focused == [True, True]
    assert drawn == {"plotly": True, "vega": True, "hidden": [True, True], "buttons": 0}
    assert focus_on and errors == []


@pytest.mark.kernel
def test_scrolling_to_a_chart_draws_it(site, tab):
    with serve(site / "_site", "/blog") as origin:
        tab.open(f"{origin}/blog/{PAGE}", 1280, 400)
        tab.evaluate("document.querySelector('figure[data-chart=vegalite]').scrollIntoView()")
        drawn = wait_drawn(tab, "vega")
        errors = tab.take_errors()
    assert drawn["vega"] and errors == []


@pytest.mark.kernel
def test_without_javascript_the_pictures_show(site, tab):
    tab.call("Emulation.setScriptExecutionDisabled", value=True)
    try:
        with serve(site / "_site", "/blog") as origin:
            tab.open(f"{origin}/blog/{PAGE}")
            widths = tab.evaluate("Promise.all([...document.querySelectorAll('.output__chart-picture')]"
                                  ".map(img => img.decode().then(() => img.naturalWidth)))")
    finally:
        tab.call("Emulation.setScriptExecutionDisabled", value=False)
    assert widths == [1400, 702]


def chart_cell() -> tuple:
    from builder.core.model import CodeCell, Post
    cell = CodeCell(1, "fig.show()", 7, {})
    return Post("posts/p.md", "p", None, "P", {}, (cell,), "/p/", 1), cell


def test_a_chart_that_cannot_be_drawn_as_a_picture_names_the_cell_and_the_fix(monkeypatch):
    from builder.core.errors import ExecutionError
    from builder.execute import chart_images, display

    def no_chromium(spec):
        raise RuntimeError("no Chrome found")
    monkeypatch.setattr(chart_images, "plotly_png", no_chromium)
    post, cell = chart_cell()
    raw = {"output_type": "display_data", "data": {"application/vnd.plotly.v1+json": {"data": []}, "text/html": "<div>"}}
    with pytest.raises(ExecutionError) as caught:
        display.convert_output(post, cell, raw, {}, 0)
    assert str(caught.value) == (
        "posts/p.md:7 (cell 1): cannot draw the plotly chart as a PNG: RuntimeError: no Chrome found\n"
        f"  Hint: {chart_images.INSTALL_HINT}")


def test_a_chart_with_too_much_data_is_refused(monkeypatch):
    from builder.core.errors import ExecutionError
    from builder.execute import display
    post, cell = chart_cell()
    spec = {"data": {"values": [{"a": "x" * 1000}] * 6000}}
    raw = {"output_type": "display_data", "data": {"application/vnd.vegalite.v5+json": spec}}
    with pytest.raises(ExecutionError, match=r"the vegalite chart's data is 6,0\d\d,\d\d\d bytes, more than the limit"):
        display.convert_output(post, cell, raw, {}, 0)


def altair_6_spec() -> dict:
    import altair as alt
    return alt.Chart(alt.Data(values=[{"a": 1, "b": 2}])).mark_point().encode(x="a:Q", y="b:Q").to_dict()


def test_an_altair_6_spec_becomes_a_chart_with_a_picture_at_twice_its_size():
    from builder.execute import display
    from builder.formats.figures import png_size
    post, cell = chart_cell()
    spec, figures = altair_6_spec(), {}
    raw = {"output_type": "execute_result", "data": {"application/vnd.vegalite.v6+json": spec,
                                                     "text/plain": "<VegaLite 6 object>"}}
    output = display.convert_output(post, cell, raw, figures, 0)
    assert (output.kind, output.name, output.path) == ("chart", "vegalite", "assets/img/p/cell1-1.vegalite.png")
    assert json.loads(output.text) == spec
    assert png_size(figures[output.path]) == (2 * output.width, 2 * output.height)


def test_the_vendored_vega_lite_reads_the_specs_altair_makes():
    """vega-embed warns about a spec made for a newer Vega-Lite than its own (Altair 6.3: v6.4.1)."""
    schema = re.fullmatch(r"https://vega.github.io/schema/vega-lite/v(\d+)\.(\d+)\.\d+\.json",
                          altair_6_spec()["$schema"])
    vendored = re.search(r"-lite-(\d+)\.(\d+)-", LIBRARIES["vegalite"])
    assert schema and vendored and schema[1] == vendored[1] == "6"
    assert (int(vendored[1]), int(vendored[2])) >= (int(schema[1]), int(schema[2]))

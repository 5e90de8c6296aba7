"""Figures for high-density screens (issue 15): matplotlib figures are saved at twice their pixel
density and shown at their usual size, the same bytes on every run; `fig-format` chooses png
(one pixel per CSS pixel, as before, with the key runs had then) or svg, per post or per cell."""
from __future__ import annotations

import json
import re
import warnings
from pathlib import Path

import pytest

from conftest import make_config, png, png_chunk, run_build, write
from builder.core.errors import ExecutionError
from builder.core.model import CodeCell, Post
from builder.execute.display import shown_size
from builder.execute.executor import ExecutionOptions
from builder.execute.figure_formats import figure_setup_code
from builder.formats.figures import pixel_ratio, png_size
from builder.freeze.records import cell_key, option_changes, sha256_text

DENSE_POST = '''
---
title: Dense
---
```python
#| label: wave
import matplotlib.pyplot as plt
plt.figure(figsize=(3, 2)); plt.plot([1, 3, 2]); plt.show()
```

```python
#| fig-format: svg
plt.figure(figsize=(3, 2)); plt.plot([1, 3, 2]); plt.show()
```

```python
plt.figure(figsize=(3, 2), dpi=72); plt.plot([2, 1, 3]); plt.show()
```

```python
import altair as alt
alt.renderers.enable("mimetype")    # Altair 6's own type name: application/vnd.vegalite.v6.json
alt.Chart(alt.Data(values=[{"a": 1, "b": 2}])).mark_point().encode(x="a:Q", y="b:Q")
```
'''
PLAIN_POST = "---\ntitle: Plain\nfig-format: png\n---\n```python\n" \
             "import matplotlib.pyplot as plt\nplt.figure(figsize=(3, 2)); plt.plot([1, 3, 2]); plt.show()\n```\n"
OLD_KEY = {"kernel": "python3", "post_timeout": 3600, "seed": 0, "timeout": 600}


def record(site: Path, slug: str) -> dict:
    return json.loads((site / f"_freeze/posts/{slug}.json").read_text(encoding="utf-8"))


def outputs(site: Path, slug: str) -> list[dict]:
    return [output for cell in record(site, slug)["cells"] for output in cell["outputs"]]


def img_size(site: Path, page: str, path: str) -> tuple[int, int]:
    html = (site / "_site" / page).read_text(encoding="utf-8")
    found = re.search(rf'<img src="/{re.escape(path)}" alt="[^"]*" width="(\d+)" height="(\d+)"', html)
    assert found, f"no <img> of {path} in {page}"
    return int(found[1]), int(found[2])


@pytest.fixture(scope="module")
def sites(tmp_path_factory) -> tuple[Path, Path]:
    """The same two posts built twice from scratch: a dense one (retina, an svg cell, Altair) and
    one pinned to `fig-format: png`."""
    built = []
    for name in ("first", "second"):
        site = tmp_path_factory.mktemp(name)
        write(site / "_config.yml", 'title: Figures\nurl: "https://example.org"\ntimezone: UTC\n')
        write(site / "posts/2024-01-01-dense.md", DENSE_POST)
        write(site / "posts/2024-01-02-plain.md", PLAIN_POST)
        result = run_build(site)
        assert result.result.exit_code == 0, result.log
        built.append(site)
    return built[0], built[1]


@pytest.mark.kernel
def test_a_figure_has_twice_the_pixels_it_is_shown_at(sites):
    site, _ = sites
    data = (site / "assets/img/dense/wave.png").read_bytes()
    width, height = img_size(site, "2024/01/01/dense.html", "assets/img/dense/wave.png")
    assert png_size(data)[0] in (2 * width, 2 * width + 1) and png_size(data)[1] in (2 * height, 2 * height + 1)
    assert 250 < width < 300 and 170 < height < 210      # 3x2 inches at 100 dpi, cropped tight
    assert pixel_ratio(data) == 2 and b"tEXt" not in data


@pytest.mark.kernel
def test_a_figure_of_low_dpi_is_still_shown_at_half_its_pixels(sites):
    """Its pHYs says 144 dpi; the kernel's metadata, not the density, gives the size to show."""
    site, _ = sites
    data = (site / "assets/img/dense/cell3-1.png").read_bytes()
    width, height = img_size(site, "2024/01/01/dense.html", "assets/img/dense/cell3-1.png")
    assert pixel_ratio(data) == 1 and png_size(data)[0] in (2 * width, 2 * width + 1)
    assert 190 < width < 220


@pytest.mark.kernel
def test_a_cell_can_ask_for_svg_and_the_next_cell_is_dense_again(sites):
    site, _ = sites
    kinds = [(output["kind"], output.get("path")) for output in outputs(site, "2024-01-01-dense")]
    assert kinds[:3] == [("image", "assets/img/dense/wave.png"), ("svg", None),
                         ("image", "assets/img/dense/cell3-1.png")]
    svg = "\n".join(outputs(site, "2024-01-01-dense")[1]["text"])
    assert svg.startswith("<svg ") and "<dc:date>" not in svg


@pytest.mark.kernel
def test_altair_6_with_its_own_mime_type_becomes_an_interactive_chart(sites):
    site, _ = sites
    chart = outputs(site, "2024-01-01-dense")[3]
    assert (chart["kind"], chart["name"], chart["path"]) == ("chart", "vegalite", "assets/img/dense/cell4-1.vegalite.png")
    assert json.loads(chart["text"][0])["$schema"].startswith("https://vega.github.io/schema/vega-lite/v6.")
    assert (site / chart["path"]).read_bytes().startswith(b"\x89PNG")


@pytest.mark.kernel
def test_fig_format_png_keeps_one_pixel_per_css_pixel_and_the_key_runs_had_before(sites):
    site, _ = sites
    data = (site / "assets/img/plain/cell1-1.png").read_bytes()
    assert img_size(site, "2024/01/02/plain.html", "assets/img/plain/cell1-1.png") == png_size(data)
    assert record(site, "2024-01-02-plain")["key"]["options"] == OLD_KEY
    assert record(site, "2024-01-01-dense")["key"]["options"] == {**OLD_KEY, "fig_format": "retina"}


@pytest.mark.kernel
def test_same_source_same_bytes(sites):
    first, second = sites
    made = sorted(path.relative_to(first) for pattern in ("assets/img/*/*", "_site/*/*/*/*.ipynb")
                  for path in first.glob(pattern))      # pages differ only in the run time they show
    assert len(made) == 6     # four figures and two notebooks
    assert [(first / name).read_bytes() == (second / name).read_bytes() for name in made] == [True] * 6
    for slug in ("2024-01-01-dense", "2024-01-02-plain"):
        ran = [record(site, slug) for site in sites]
        for made in ran:
            made["provenance"].pop("run_seconds")
        assert ran[0] == ran[1]


def test_the_key_names_the_figure_format_only_when_it_is_not_the_first_one():
    assert ExecutionOptions(fig_format="png").as_key() == OLD_KEY
    assert ExecutionOptions().as_key() == {**OLD_KEY, "fig_format": "retina"}
    assert ExecutionOptions(fig_format="svg").as_key()["fig_format"] == "svg"
    assert option_changes(OLD_KEY, ExecutionOptions().as_key()) == ["fig_format None → retina"]
    assert option_changes(OLD_KEY, ExecutionOptions(fig_format="png").as_key()) == []


def test_a_cell_key_changes_only_for_a_cell_with_its_own_fig_format():
    plain = CodeCell(1, "x = 1", 3)
    assert cell_key(plain) == sha256_text("x = 1\x00\x00")       # as every record computed it
    svg = CodeCell(1, "#| fig-format: svg\nx = 1", 3, {"fig-format": "svg"})
    assert cell_key(svg) != cell_key(plain) and cell_key(svg) == cell_key(svg)


def post_with(front: dict, options: dict | None = None) -> tuple[Post, CodeCell]:
    cell = CodeCell(1, "plt.show()", 7, options or {})
    return Post("posts/p.md", "p", None, "P", front, (cell,), "/p/", 1), cell


def test_the_post_chooses_then_the_site_then_retina():
    from builder.site.plan import execution_options
    with warnings.catch_warnings():        # until _config.yml declares `fig-format`, it warns as unknown
        warnings.simplefilter("ignore")
        png_site, plain_site = make_config(**{"fig-format": "png"}), make_config()
    assert execution_options(post_with({"fig-format": "svg"})[0], png_site).fig_format == "svg"
    assert execution_options(post_with({})[0], png_site).fig_format == "png"
    assert execution_options(post_with({})[0], plain_site).fig_format == "retina"


def test_an_unknown_fig_format_names_the_cell_and_the_values():
    post, cell = post_with({}, {"fig-format": "jpg"})
    with pytest.raises(ExecutionError) as caught:
        figure_setup_code(post, [cell], "retina")
    assert str(caught.value) == (
        "posts/p.md:7 (cell 1): unknown figure format `fig-format: jpg` (known: retina, png, svg)\n"
        "  Hint: Write `fig-format: retina` (sharp on high-density screens, the default), "
        "`fig-format: png` (one pixel per CSS pixel) or `fig-format: svg`.")
    with pytest.raises(ExecutionError, match=r"^posts/p.md: unknown figure format `fig-format: gif`"):
        figure_setup_code(post_with({})[0], [], "gif")


def test_the_shown_size_is_the_kernels_when_it_gives_a_sensible_one():
    data = png(200, 100)
    assert shown_size(data, {"width": 100, "height": 50}) == (100, 50)
    for unusable in (None, {}, {"width": 100}, {"width": True, "height": 50}, {"width": 0, "height": 50},
                     {"width": "100", "height": "50"}, {"width": 10**6, "height": 50}):
        assert shown_size(data, unusable) == (200, 100)        # no pHYs: one pixel per CSS pixel
    dense = data[:-12] + png_chunk(b"pHYs", bytes.fromhex("00001ec400001ec401")) + data[-12:]
    assert shown_size(dense, None) == (100, 50)                 # 7876 per metre: 200 dpi


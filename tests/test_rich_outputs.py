"""Rich outputs as Jupyter shows them, cell locations named after the post, and `collapse`.

One post with several cells covers every kind of output, so the module starts two kernels
(two clean builds, compared byte for byte).
"""
from __future__ import annotations

import base64
import json
import re
import shutil
from pathlib import Path

import pytest

from conftest import run_build, write

POST = "posts/2024-01-01-rich.md"
SOURCE = '''
---
title: "Rich"
---
Prose.

```python
import io, warnings
from IPython.display import HTML, SVG, Image, Latex, Markdown, display
display(Markdown("**x** and $a^2$ <script>alert(1)</script>"))
```

```python
display(Latex(r"$\\frac{1}{2}$"))
```

```python
display(HTML(TABLE))
```

```python
display(SVG(SVG_TEXT))
```

```python
from PIL import Image as PILImage
exif = PILImage.Exif()
exif[0x0132] = "2024:01:01 12:00:00"
buffer = io.BytesIO()
PILImage.new("RGB", (4, 3), "red").save(buffer, "JPEG", exif=exif.tobytes())
display(Image(data=buffer.getvalue(), format="jpeg"))
```

```python
warnings.warn("careful")
import numpy as np
np.log(np.zeros(1))
```

```python
#| tags: [raises-exception]
def fail():
    return 1 / 0
fail()
```

```python
#| collapse: true
print("folded")
```
'''
# What pandas writes for a DataFrame, with what an attacker might add.
TABLE = ('<div><style scoped>.dataframe tbody tr th {vertical-align: top;}</style>'
         '<table border="1" class="dataframe" onclick="steal()"><thead><tr style="text-align: right;">'
         '<th></th><th>a</th></tr></thead><tbody><tr><th>0</th>'
         '<td style="background-color: #ff0000; position: fixed">1</td></tr></tbody></table>'
         '<script>steal()</script></div>')
SVG_TEXT = ('<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" '
            'width="10" height="10" onload="steal()"><script>steal()</script>'
            '<circle r="3" fill="red" onclick="steal()"/><image xlink:href="http://evil.example/x.png"/>'
            '<use href="#c"/></svg>')


def make_site(root: Path) -> Path:
    source = SOURCE.replace("TABLE", repr(TABLE)).replace("SVG_TEXT", repr(SVG_TEXT))
    write(root / POST, source)
    return root


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    site = make_site(tmp_path_factory.mktemp("rich") / "site")
    result = run_build(site)
    assert result.summary.failed == [], result.log
    return site


def page(site: Path) -> str:
    return (site / "_site/2024/01/01/rich.html").read_text(encoding="utf-8")


def cell_html(site: Path, number: int) -> str:
    """The cell's HTML, up to the next cell or the end of the post's body."""
    text = page(site)
    start = text.index(f'<div class="cell" id="cell-{number}">')
    end = text.find('<div class="cell" id="cell-', start + 1)
    return text[start:end if end > 0 else text.index("</section>", start)]


def outputs_html(site: Path, number: int) -> str:
    html = cell_html(site, number)
    return html[html.index('<div class="cell__outputs">'):]


@pytest.mark.kernel
def test_markdown_output_is_rendered_and_sanitized(built):
    html = outputs_html(built, 1)
    assert '<div class="output output--markdown"><p><strong>x</strong> and <math' in html
    assert "</math> </p></div>" in html and "Markdown object" not in html and "alert" not in html


@pytest.mark.kernel
def test_latex_output_is_mathml(built):
    assert ('<div class="output output--latex"><math display="inline" '
            'xmlns="http://www.w3.org/1998/Math/MathML"><semantics><mrow><mfrac>') in outputs_html(built, 2)


@pytest.mark.kernel
def test_html_output_keeps_harmless_attributes_only(built):
    html = outputs_html(built, 3)
    assert ('<table border="1" class="dataframe"><thead><tr style="text-align:right">'
            '<th></th><th>a</th></tr></thead>') in html
    assert '<td style="background-color:#ff0000">1</td>' in html
    assert "steal" not in html and "<style" not in html and "<script" not in html


@pytest.mark.kernel
def test_svg_output_is_a_cleaned_image(built):
    found = re.search(r'<img src="data:image/svg\+xml;base64,([^"]+)" alt="Figure from cell 4"',
                      outputs_html(built, 4))
    svg = base64.b64decode(found[1]).decode()
    assert svg == ('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
                   '<circle r="3" fill="red" /><image /><use href="#c" /></svg>')


@pytest.mark.kernel
def test_jpeg_output_is_an_image_without_metadata(built):
    assert ('<img src="/assets/img/rich/cell5-1.jpg" alt="Figure from cell 5" width="4" height="3"'
            in outputs_html(built, 5))
    jpeg = (built / "assets/img/rich/cell5-1.jpg").read_bytes()
    assert jpeg.startswith(b"\xff\xd8\xff\xe0") and b"Exif" not in jpeg and b"2024:01:01" not in jpeg
    assert (built / "_site/assets/img/rich/cell5-1.jpg").read_bytes() == jpeg
    record = json.loads((built / "_freeze/posts/2024-01-01-rich.json").read_text())
    kinds = [[o["kind"] for o in cell["outputs"]] for cell in record["cells"]]
    assert kinds[:5] == [["markdown"], ["latex"], ["html"], ["svg"], ["image"]]


@pytest.mark.kernel
def test_warnings_name_the_post_and_its_markdown_line(built):
    html = outputs_html(built, 6)
    assert ("posts/2024-01-01-rich.md:34: UserWarning: careful\n"
            "  warnings.warn(&#34;careful&#34;)\n"
            "posts/2024-01-01-rich.md:36: RuntimeWarning: divide by zero encountered in log\n"
            "  np.log(np.zeros(1))") in html
    assert "ipykernel_" not in page(built)


@pytest.mark.kernel
def test_tracebacks_name_the_post_and_its_markdown_lines(built):
    html = outputs_html(built, 7)
    assert ("File posts/2024-01-01-rich.md:43\n     41 def fail():\n     42     return 1 / 0\n"
            "---&gt; 43 fail()\n\nFile posts/2024-01-01-rich.md:42, in fail()\n     41 def fail():\n"
            "---&gt; 42     return 1 / 0\n\nZeroDivisionError: division by zero</pre>") in html


@pytest.mark.kernel
def test_collapse_folds_the_code_in_a_closed_details(built):
    assert cell_html(built, 8).rstrip() == (
        '<div class="cell" id="cell-8">\n<details class="cell__fold"><summary>Code</summary>'
        '<div class="cell__input"><div class="highlight"><pre><span></span><span class="nb">print</span>'
        '<span class="p">(</span><span class="s2">"folded"</span><span class="p">)</span>\n'
        '</pre></div>\n</div></details>\n<div class="cell__outputs">\n'
        '<div class="output output--stdout">\n<pre class="output__text">folded</pre>\n</div>\n</div></div>')


@pytest.mark.kernel
def test_two_clean_builds_give_the_same_outputs(built, tmp_path):
    other = make_site(tmp_path / "site")
    result = run_build(other)
    assert result.summary.failed == [], result.log
    # The page's footer gives the run's seconds; everything else is the same, byte for byte.
    pages = [re.sub(r", [\d.]+ s\.</p>", "</p>", page(site)) for site in (built, other)]
    assert pages[0] == pages[1] and "rich.md:34: UserWarning" in pages[0]
    cells = [json.loads((site / "_freeze/posts/2024-01-01-rich.json").read_text())["cells"]
             for site in (built, other)]
    assert cells[0] == cells[1]


# --- without a kernel ---------------------------------------------------------------------------

from builder.execute.display import convert_output, jpeg_size, safe_svg, strip_jpeg_metadata  # noqa: E402
from builder.core.model import CodeCell, Post  # noqa: E402
from builder.formats.safe_html import clean_html_output  # noqa: E402

STYLER = ('<style type="text/css">\n#T_1_row0_col0 { background-color: red; }\n</style>\n'
          '<table id="T_1"><thead><tr><th class="blank level0" >&nbsp;</th>'
          '<th id="T_1_level0_col0" class="col_heading level0 col0" >a</th></tr></thead>'
          '<tbody><tr><th id="T_1_level0_row0" class="row_heading level0 row0" >0</th>'
          '<td id="T_1_row0_col0" class="data row0 col0" >1</td></tr></tbody></table>\n')


def test_a_styler_table_keeps_its_ids_and_classes_without_its_style_sheet():
    assert clean_html_output(STYLER) == (
        '\n<table id="T_1"><thead><tr><th class="blank level0">&nbsp;</th>'
        '<th id="T_1_level0_col0" class="col_heading level0 col0">a</th></tr></thead>'
        '<tbody><tr><th id="T_1_level0_row0" class="row_heading level0 row0">0</th>'
        '<td id="T_1_row0_col0" class="data row0 col0">1</td></tr></tbody></table>\n')


def test_a_real_dataframe_is_a_table():
    pandas = pytest.importorskip("pandas")
    html = clean_html_output(pandas.DataFrame({"a": [1]})._repr_html_())
    assert '<table border="1" class="dataframe">' in html and "<td>1</td>" in html


def fake_post() -> tuple[Post, CodeCell]:
    cell = CodeCell(1, "x", 5)
    return Post("posts/p.md", "p", None, "P", {}, (cell,), "/p/", 1), cell


def test_outputs_are_chosen_in_jupyters_order():
    post, cell = fake_post()
    shown = convert_output(post, cell, {"output_type": "display_data", "data": {
        "text/plain": "<IPython.core.display.Markdown object>", "text/markdown": "**x**"}}, {}, 0)
    assert (shown.kind, shown.text) == ("markdown", "**x**")
    bad_latex = convert_output(post, cell, {"output_type": "display_data", "data": {
        "text/plain": "x", "text/latex": r"$\left( x$"}}, {}, 0)
    assert (bad_latex.kind, bad_latex.text) == ("text", "x")
    not_svg = convert_output(post, cell, {"output_type": "display_data", "data": {
        "text/plain": "y", "image/svg+xml": "<html>"}}, {}, 0)
    assert (not_svg.kind, not_svg.text) == ("text", "y")


def test_svg_styles_that_load_other_files_are_dropped():
    assert safe_svg('<svg xmlns="http://www.w3.org/2000/svg"><style>@import "http://x/y.css";</style>'
                    '<style>.a { fill: red }</style><rect style="fill: url(http://x/#p)" '
                    'fill="url(#g)"/></svg>') == (
        '<svg xmlns="http://www.w3.org/2000/svg"><style>.a { fill: red }</style>'
        '<rect fill="url(#g)" /></svg>')
    assert safe_svg("<html/>") is None and safe_svg("not xml") is None


def test_jpeg_metadata_is_stripped_and_its_size_read():
    def segment(marker: int, body: bytes) -> bytes:
        return bytes([0xFF, marker]) + (len(body) + 2).to_bytes(2, "big") + body
    jfif = segment(0xE0, b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00")
    frame = segment(0xC0, b"\x08\x00\x03\x00\x04\x01\x01\x11\x00")
    scan = segment(0xDA, b"\x01\x01\x00\x00\x3f\x00") + b"\x12\x34\xff\xd9"
    jpeg = b"\xff\xd8" + jfif + segment(0xE1, b"Exif\x00\x00secret") + segment(0xFE, b"made by me") + frame + scan
    assert strip_jpeg_metadata(jpeg) == b"\xff\xd8" + jfif + frame + scan
    assert jpeg_size(jpeg) == (4, 3)

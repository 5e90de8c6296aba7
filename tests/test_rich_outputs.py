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


def test_markdown_output_is_rendered_and_sanitized(built):
    html = outputs_html(built, 1)
    assert '<div class="output output--markdown"><p><strong>x</strong> and <math' in html
    assert "</math> </p></div>" in html and "Markdown object" not in html and "alert" not in html


def test_latex_output_is_mathml(built):
    assert ('<div class="output output--latex"><math display="inline" '
            'xmlns="http://www.w3.org/1998/Math/MathML"><semantics><mrow><mfrac>') in outputs_html(built, 2)


def test_html_output_keeps_harmless_attributes_only(built):
    html = outputs_html(built, 3)
    assert ('<table border="1" class="dataframe"><thead><tr style="text-align:right">'
            '<th></th><th>a</th></tr></thead>') in html
    assert '<td style="background-color:#ff0000">1</td>' in html
    assert "steal" not in html and "<style" not in html and "<script" not in html


def test_svg_output_is_a_cleaned_image(built):
    found = re.search(r'<img src="data:image/svg\+xml;base64,([^"]+)" alt="Figure from cell 4"',
                      outputs_html(built, 4))
    svg = base64.b64decode(found[1]).decode()
    assert svg == ('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
                   '<circle r="3" fill="red" /><image /><use href="#c" /></svg>')


def test_jpeg_output_is_an_image_without_metadata(built):
    assert ('<img src="/assets/img/rich/cell5-1.jpg" alt="Figure from cell 5" width="4" height="3"'
            in outputs_html(built, 5))
    jpeg = (built / "assets/img/rich/cell5-1.jpg").read_bytes()
    assert jpeg.startswith(b"\xff\xd8\xff\xe0") and b"Exif" not in jpeg and b"2024:01:01" not in jpeg
    assert (built / "_site/assets/img/rich/cell5-1.jpg").read_bytes() == jpeg
    record = json.loads((built / "_freeze/posts/2024-01-01-rich.json").read_text())
    kinds = [[o["kind"] for o in cell["outputs"]] for cell in record["cells"]]
    assert kinds[:5] == [["markdown"], ["latex"], ["html"], ["svg"], ["image"]]


def test_warnings_name_the_post_and_its_markdown_line(built):
    html = outputs_html(built, 6)
    assert ("posts/2024-01-01-rich.md:34: UserWarning: careful\n"
            "  warnings.warn(&#34;careful&#34;)\n"
            "posts/2024-01-01-rich.md:36: RuntimeWarning: divide by zero encountered in log\n"
            "  np.log(np.zeros(1))") in html
    assert "ipykernel_" not in page(built)


def test_tracebacks_name_the_post_and_its_markdown_lines(built):
    html = outputs_html(built, 7)
    assert ("File posts/2024-01-01-rich.md:43\n     41 def fail():\n     42     return 1 / 0\n"
            "---&gt; 43 fail()\n\nFile posts/2024-01-01-rich.md:42, in fail()\n     41 def fail():\n"
            "---&gt; 42     return 1 / 0\n\nZeroDivisionError: division by zero</pre>") in html


def test_collapse_folds_the_code_in_a_closed_details(built):
    assert cell_html(built, 8).rstrip() == (
        '<div class="cell" id="cell-8">\n<details class="cell__fold"><summary>Code</summary>'
        '<div class="cell__input"><div class="highlight"><pre><span></span><span class="nb">print</span>'
        '<span class="p">(</span><span class="s2">"folded"</span><span class="p">)</span>\n'
        '</pre></div>\n</div></details>\n<div class="cell__outputs">\n'
        '<div class="output output--stdout">\n<pre class="output__text">folded</pre>\n</div>\n</div></div>')


def test_two_clean_builds_give_the_same_outputs(built, tmp_path):
    other = make_site(tmp_path / "site")
    result = run_build(other)
    assert result.summary.failed == [], result.log
    # The page's footer gives the run's seconds; everything the cells showed is the same.
    assert page(other).split("page__provenance")[0] == page(built).split("page__provenance")[0]
    cells = [json.loads((site / "_freeze/posts/2024-01-01-rich.json").read_text())["cells"]
             for site in (built, other)]
    assert cells[0] == cells[1]

"""`import` of Python tutorial scripts: sphinx-gallery examples and jupytext percent scripts."""
from __future__ import annotations

import re
from datetime import date

import pytest

from builder.commands.cli import main
from builder.core.errors import SourceError
from builder.source.gallery import import_script, script_format
from builder.source.rst import rst_to_markdown
from tests.conftest import run_build, write

DAY = date(2024, 5, 1)

GALLERY = '''\
"""
Fitting a line
==============

We fit ``y = 2x`` with `NumPy <https://numpy.org>`_ and :func:`numpy.polyfit`.
"""
import numpy as np

###############################################################################
# The data
# --------
#
# Ten points on the line :math:`y = 2x`.

x = np.arange(10)
y = 2 * x

# %%
# .. note:: The fit is exact,
#    since the points lie on the line.
#
# .. code-block:: python
#
#    np.polyfit(x, y, 1)
#
# .. toctree::
#    other

print(np.round(np.polyfit(x, y, 1), 6).tolist())
'''

GALLERY_POST = '''\
---
layout: single
title: Fitting a line
excerpt: 'TODO: one sentence on what this tutorial teaches.'
tags: []
toc: false
author_profile: true
---

We fit `y = 2x` with [NumPy](https://numpy.org) and `numpy.polyfit`.

```python
import numpy as np
```

## The data

Ten points on the line $y = 2x$.

```python
x = np.arange(10)
y = 2 * x
```

> **Note**
>
> The fit is exact,
> since the points lie on the line.

```python
#| eval: false
np.polyfit(x, y, 1)
```

```python
print(np.round(np.polyfit(x, y, 1), 6).tolist())
```
'''

PERCENT = '''\
# %% [markdown]
# # Squares in percent format
#
# Each **square**, printed.

# %%
squares = [n * n for n in range(4)]

# %%
print(squares)
'''

PERCENT_POST = '''\
---
layout: single
title: Squares in percent format
excerpt: 'TODO: one sentence on what this tutorial teaches.'
tags: []
toc: false
author_profile: true
---

Each **square**, printed.

```python
squares = [n * n for n in range(4)]
```

```python
print(squares)
```
'''


def test_a_sphinx_gallery_script_becomes_prose_and_cells(tmp_path):
    source = write(tmp_path / "plot_line.py", GALLERY)
    path, notes = import_script(source, tmp_path / "site", DAY)
    assert path == tmp_path / "site/posts/2024-05-01-fitting-a-line.md"
    assert path.read_text(encoding="utf-8") == GALLERY_POST
    assert notes == ["read as a sphinx-gallery script", "the heading 'Fitting a line' became the title",
                     "dropped the RST directive `.. toctree::`"]


def test_a_percent_script_becomes_prose_and_cells(tmp_path):
    source = write(tmp_path / "squares.py", PERCENT)
    path, notes = import_script(source, tmp_path / "site", DAY)
    assert path == tmp_path / "site/posts/2024-05-01-squares-in-percent-format.md"
    assert path.read_text(encoding="utf-8") == PERCENT_POST
    assert notes == ["read as a percent script", "the heading 'Squares in percent format' became the title"]


def test_the_format_is_told_by_the_module_docstring():
    assert script_format('# -*- coding: utf-8 -*-\n"""\nTitle\n=====\n"""\n# %%\nx = 1\n') == "sphinx"
    assert script_format("# %%\nx = 1\n") == "percent"
    assert script_format("x = 1\n") == "sphinx"


def test_rst_headings_rank_by_first_appearance_below_the_title():
    levels = ["="]
    text, notes = rst_to_markdown("Alpha\n-----\n\nBeta\n~~~~\n\nGamma\n-----", levels)
    assert text == "## Alpha\n\n### Beta\n\n## Gamma" and notes == []
    assert levels == ["=", "-", "~"]


def test_rst_literal_blocks_math_and_roles():
    text, _ = rst_to_markdown("Run this::\n\n    $ pip install x\n\n.. math::\n\n   a^2 + b^2\n\n"
                              "See :ref:`the intro <intro>` and :class:`~torch.nn.Linear`.", [])
    assert text == ("Run this:\n\n```text\n$ pip install x\n```\n\n$$\na^2 + b^2\n$$\n\n"
                    "See the intro and `torch.nn.Linear`.")


def test_a_local_image_is_dropped_with_a_note_and_a_web_image_kept():
    text, notes = rst_to_markdown(".. image:: /_static/img/x.png\n\n.. figure:: https://e.org/y.png\n"
                                  "   :alt: a plot\n\n   The caption.\n", [])
    assert text == "![a plot](https://e.org/y.png)\n\n*The caption.*"
    assert notes == ["dropped the RST directive `.. image:: /_static/img/x.png` "
                     "(only images at http(s) URLs are kept)"]


def test_a_script_without_a_heading_is_titled_by_its_file_name(tmp_path):
    source = write(tmp_path / "plot_first_steps.py", "# %%\nx = 1\n")
    path, notes = import_script(source, tmp_path, DAY)
    assert path.name == "2024-05-01-plot-first-steps.md"
    assert notes[1] == "the script has no heading: used its file name, 'plot first steps', as the title"


def test_a_script_that_is_not_utf8_is_a_source_error(tmp_path):
    source = tmp_path / "broken.py"
    source.write_bytes(b'"""\nTitle\n=====\n"""\n\xff\xfe\n')
    with pytest.raises(SourceError, match="not valid UTF-8") as error:
        import_script(source, tmp_path, DAY)
    assert error.value.where.path == str(source) and not (tmp_path / "posts").exists()


def test_import_refuses_to_overwrite_an_imported_script(tmp_path):
    source = write(tmp_path / "squares.py", PERCENT)
    import_script(source, tmp_path, DAY)
    with pytest.raises(SourceError, match="already exists"):
        import_script(source, tmp_path, DAY)


@pytest.mark.kernel
def test_imported_scripts_build_one_executed_and_one_not(tmp_path, capsys):
    site = tmp_path / "site"
    gallery = write(tmp_path / "plot_line.py", GALLERY)
    percent = write(tmp_path / "squares.py", PERCENT)
    assert main(["import", str(gallery), "--source", str(site), "--date", "2024-05-01"]) == 0
    assert main(["import", str(percent), "--source", str(site), "--date", "2024-05-02"]) == 0
    assert "created posts/2024-05-02-squares-in-percent-format.md" in capsys.readouterr().out
    gallery_post = site / "posts/2024-05-01-fitting-a-line.md"
    gallery_post.write_text(gallery_post.read_text().replace("toc: false", "toc: false\nexecute: false"))
    built = run_build(site)                 # one kernel: the gallery post is shown, not run
    assert built.result.exit_code == 0, built.log
    assert built.executed == ["posts/2024-05-02-squares-in-percent-format.md"]
    squares = (site / "_site/2024/05/02/squares-in-percent-format.html").read_text(encoding="utf-8")
    assert "[0, 1, 4, 9]" in squares
    line = (site / "_site/2024/05/01/fitting-a-line.html").read_text(encoding="utf-8")
    assert re.search(r'<h2 id="the-data">The data</h2>', line)
    assert '<a href="https://numpy.org">NumPy</a>' in line
    assert "<blockquote>" in line and "<strong>Note</strong>" in line

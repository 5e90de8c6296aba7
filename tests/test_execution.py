"""Executing posts: outputs, figures, scratch directory, seeds, isolation, the freeze cache."""
from __future__ import annotations

import json
import shutil
import struct
from pathlib import Path

import pytest

from conftest import run_build, tree_bytes, write

pytestmark = pytest.mark.kernel

POST = "posts/2020-01-02-numbers.md"
PAGE = "_site/2020/01/02/numbers.html"
RECORD = "_freeze/posts/2020-01-02-numbers.json"
SEEDED_NUMPY_RAND = "0.5488135039273248"   # np.random.seed(0); np.random.rand()


@pytest.fixture
def built_site(built_numpy_site: Path, tmp_path: Path) -> Path:
    """A copy of the numpy fixture site built once (conftest), for a test that changes it."""
    site = tmp_path / "site"
    shutil.copytree(built_numpy_site, site)
    return site


def page(site: Path) -> str:
    return (site / PAGE).read_text(encoding="utf-8")


def test_outputs_of_every_kind_are_on_the_page(built_site):
    html = page(built_site)
    assert f"first random: {SEEDED_NUMPY_RAND}" in html
    assert "sum of y: 12.0" in html
    assert '<div class="output output--stderr">' in html and "to stderr" in html
    assert "&lt;b&gt;not bold&lt;/b&gt;" in html and "<b>not bold</b>" not in html
    assert '<div class="output output--result"><pre class="output__text">42</pre>' in html
    assert "ValueError: shown on purpose" in html and "output--error" in html


def test_figure_is_captured_with_label_size_and_no_metadata(built_site):
    png = built_site / "assets/img/numbers/line-plot.png"
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    assert 300 < width <= 600 and 200 < height <= 400      # 3x2 inches at twice 100 dpi, cropped tight
    assert b"tEXt" not in data and b"matplotlib" not in data
    assert (built_site / "_site/assets/img/numbers/line-plot.png").read_bytes() == data
    html = page(built_site)
    assert ('<img src="/blog/assets/img/numbers/line-plot.png" alt="A straight &lt;line&gt;" '
            f'width="{width // 2}" height="{height // 2}" loading="lazy">') in html     # at its size
    assert "<figcaption>A straight &lt;line&gt;</figcaption>" in html


def test_code_runs_in_a_scratch_directory(built_site):
    assert not list(built_site.rglob("scratch-output.txt"))


def test_record_lists_the_files_read_and_packages_imported(built_site):
    record = json.loads((built_site / RECORD).read_text(encoding="utf-8"))
    assert list(record["key"]["files"]) == ["data/points.csv"]
    assert "numpy" in record["key"]["packages"] and "matplotlib" in record["key"]["packages"]
    assert record["provenance"]["seed"] == 0 and record["provenance"]["device"] == "cpu"
    assert [c["number"] for c in record["cells"]] == [1, 2, 3, 4, 5]


def test_unchanged_site_rebuilds_from_cache_with_identical_bytes(built_site, tmp_path):
    before = tree_bytes(built_site / "_site")
    again = run_build(built_site)
    assert again.executed == [] and again.summary.cached == [POST]
    assert tree_bytes(built_site / "_site") == before
    elsewhere = run_build(built_site, dest=tmp_path / "other")
    assert tree_bytes(tmp_path / "other") == before and elsewhere.executed == []


def edit(site: Path, old: str, new: str, name: str = POST) -> None:
    path = site / name
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_prose_edit_re_renders_without_a_kernel(built_site):
    edit(built_site, "Closing prose.", "Closing prose, edited.")
    built = run_build(built_site)
    assert built.executed == []
    assert "Closing prose, edited." in page(built_site)


def test_code_edit_re_runs_and_says_which_cell(built_site):
    edit(built_site, 'print("sum of y:", points[:, 1].sum())', 'print("max of y:", points[:, 1].max())')
    built = run_build(built_site)
    assert built.executed == [POST]
    assert f"run     {POST} (cell 2 changed)" in built.log
    assert "max of y: 6.0" in page(built_site)


def test_data_file_edit_re_runs(built_site):
    (built_site / "data/points.csv").write_text("x,y\n1,4\n2,6\n", encoding="utf-8")
    built = run_build(built_site)
    assert f"run     {POST} (data/points.csv changed)" in built.log
    assert "sum of y: 10.0" in page(built_site)


def test_option_change_re_runs(built_site):
    edit(built_site, "tags: [numpy, fixture]", "tags: [numpy, fixture]\nseed: 1")
    built = run_build(built_site)
    assert f"run     {POST} (seed 0 → 1)" in built.log
    assert f"first random: {SEEDED_NUMPY_RAND}" not in page(built_site)


def test_package_version_change_re_runs(built_site):
    record_file = built_site / RECORD
    record = json.loads(record_file.read_text(encoding="utf-8"))
    import numpy
    record["key"]["packages"]["numpy"] = "0.0.1"
    record_file.write_text(json.dumps(record), encoding="utf-8")
    built = run_build(built_site)
    assert f"run     {POST} (numpy 0.0.1 → {numpy.__version__})" in built.log


def test_forced_re_execution_gives_identical_outputs_and_figures(built_site):
    record_before = json.loads((built_site / RECORD).read_text(encoding="utf-8"))
    figure_before = (built_site / "assets/img/numbers/line-plot.png").read_bytes()
    built = run_build(built_site, force=True)
    assert built.executed == [POST]
    record_after = json.loads((built_site / RECORD).read_text(encoding="utf-8"))
    assert record_after["cells"] == record_before["cells"]
    assert (built_site / "assets/img/numbers/line-plot.png").read_bytes() == figure_before


def test_frozen_build_fails_clearly_on_a_stale_record(built_site):
    edit(built_site, "print(\"first random:\"", "print(\"random:\"")
    built = run_build(built_site, frozen=True)
    assert built.result.exit_code == 1 and built.executed == []
    message = str(built.result.failures[0])
    assert message.startswith(f"{POST} (_freeze/posts/2020-01-02-numbers.json): the frozen result is stale: cell 1 changed")
    assert "Hint: Run `make site`" in message


def test_figures_no_longer_produced_are_removed(built_site):
    edit(built_site, "#| label: line-plot", "#| label: renamed-plot")
    run_build(built_site)
    assert sorted(p.name for p in (built_site / "assets/img/numbers").iterdir()) == ["renamed-plot.png"]


def test_posts_do_not_share_state(tmp_path):
    site = tmp_path / "site"
    write(site / "posts/2020-01-01-first.md", """
        ```python
        import numpy as np
        import matplotlib
        leaked = 1
        matplotlib.rcParams["lines.linewidth"] = 7.5
        np.random.rand(100)
        ```
        """)
    write(site / "posts/2020-01-02-second.md", """
        ```python
        import numpy as np
        import matplotlib
        print("leaked" in globals(), matplotlib.rcParams["lines.linewidth"], np.random.rand())
        ```
        """)
    built = run_build(site, jobs=2)
    assert sorted(built.executed) == ["posts/2020-01-01-first.md", "posts/2020-01-02-second.md"]
    html = (site / "_site/2020/01/02/second.html").read_text(encoding="utf-8")
    assert f"False 1.5 {SEEDED_NUMPY_RAND}" in html


def test_a_failing_post_does_not_stop_the_others_with_keep_going(tmp_path):
    site = tmp_path / "site"
    for day in (1, 2):
        write(site / f"posts/2020-01-0{day}-ok{day}.md", f"```python\nprint('fine {day}')\n```\n")
    write(site / "posts/2020-01-03-broken.md", "Text.\n\n```python\nx = 1\nundefined_name\n```\n")
    built = run_build(site, jobs=2, keep_going=True)
    assert built.result.exit_code == 1
    assert sorted(built.executed) == ["posts/2020-01-01-ok1.md", "posts/2020-01-02-ok2.md"]
    assert [path for path, _ in built.summary.failed] == ["posts/2020-01-03-broken.md"]
    assert "posts/2020-01-03-broken.md:5 (cell 1): NameError: name 'undefined_name' is not defined" in built.log
    assert (site / "_site/2020/01/02/ok2.html").is_file()


def test_figure_names_per_cell_and_the_size_limit(tmp_path):
    site = tmp_path / "site"
    plot = "import matplotlib.pyplot as plt\nplt.figure(figsize=(1, 1)); plt.plot([1, 2]); plt.show()"
    write(site / "posts/2020-01-01-labels.md",
          f"```python\n#| label: loss-curve\n%matplotlib inline\n{plot}\n```\n\n```python\n#| label: loss\n{plot}\n```\n")
    write(site / "posts/2020-01-02-huge.md",
          "```python\n%matplotlib inline\nimport matplotlib.pyplot as plt\n"
          "plt.figure(figsize=(60, 1), dpi=100); plt.plot([1, 2]); plt.show()\n```\n")
    built = run_build(site, keep_going=True)
    assert sorted(p.name for p in (site / "assets/img/labels").iterdir()) == ["loss-curve.png", "loss.png"]
    message = str(built.result.failures[0])
    assert message.startswith("posts/2020-01-02-huge.md:1 (cell 1): figure cell1-1.png is ")
    assert "pixels, more than the limit of 4096x4096" in message

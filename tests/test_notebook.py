"""Exporting executed posts as notebooks: cells, outputs, bytes, re-execution, Colab links."""
from __future__ import annotations

import base64
import json
import shutil
from datetime import datetime, timezone
from pathlib import Path

import nbformat
import pytest

from builder.core.config import load_config
from builder.core.errors import ConfigError, FreezeError
from builder.formats.figures import strip_png_metadata
from builder.freeze.records import executed_from_record, load_record
from builder.core.model import ExecutedPost, Post
from builder.render.notebook import colab_url, error_output, export_notebook, notebook_path
from builder.source.reader import read_post
from conftest import write

POST = "posts/2020-01-02-numbers.md"
PAGE = "_site/2020/01/02/numbers.html"
FIGURE = "assets/img/numbers/line-plot.png"
PAGE_URL = "https://example.org/blog/2020/01/02/numbers.html"


@pytest.fixture(scope="module")
def site(built_numpy_site) -> Path:
    """The numpy fixture site, built once for the whole run (conftest); tests do not change it."""
    return built_numpy_site


def executed_post(site: Path, name: str = POST) -> ExecutedPost:
    post = read_post(site, site / name, load_config(site))
    return executed_from_record(post, load_record(site, post))


@pytest.fixture(scope="module")
def exported(site) -> bytes:
    return export_notebook(executed_post(site), site, page_url=PAGE_URL)


@pytest.fixture(scope="module")
def notebook(exported):
    notebook = nbformat.reads(exported.decode("utf-8"), as_version=4)
    nbformat.validate(notebook)
    return notebook


def code_cells(notebook) -> list:
    return [cell for cell in notebook.cells if cell.cell_type == "code"]


@pytest.mark.kernel
def test_cells_follow_the_post(notebook):
    assert [(cell.cell_type, cell.get("id")) for cell in notebook.cells] == [
        ("markdown", "title"), ("code", "builder-seed"), ("markdown", "prose-1"), ("code", "cell-1"),
        ("markdown", "prose-3"), ("code", "cell-2"), ("code", "cell-3"), ("code", "cell-4"),
        ("code", "cell-5"), ("markdown", "prose-8")]
    assert notebook.cells[0].source == (
        "# Numbers \\& \\<plots\\>\n\nThis notebook is the executable version of "
        f"[Numbers \\& \\<plots\\>]({PAGE_URL}), with the outputs it produced when the site was built.")
    assert notebook.cells[2].source == "Some prose before any code."
    assert notebook.cells[-1].source == "Closing prose."


@pytest.mark.kernel
def test_code_cells_have_code_counts_and_tags(notebook):
    cells = code_cells(notebook)
    assert cells[0].source == "import random\nrandom.seed(0)\nimport numpy\nnumpy.random.seed(0)"
    assert cells[0].metadata == {"tags": ["builder-seed"]} and cells[0].outputs == []
    assert [cell.execution_count for cell in cells] == [1, 2, 3, 4, 5, 6]
    assert cells[3].source.startswith("plt.figure(figsize=(3, 2))")
    assert not any(line.startswith("#|") for cell in cells for line in cell.source.split("\n"))
    assert cells[3].metadata == {"tags": [], "builder": {"cell": 3, "label": "line-plot",
                                                          "fig-cap": "A straight <line>"}}
    assert cells[5].metadata == {"tags": ["raises-exception"], "builder": {"cell": 5}}


@pytest.mark.kernel
def test_notebook_metadata_names_kernel_and_post(notebook):
    assert notebook.metadata.kernelspec == {"name": "python3", "display_name": "Python 3", "language": "python"}
    assert notebook.metadata.language_info.name == "python"
    assert notebook.metadata.builder == {"post": POST, "url": "/2020/01/02/numbers.html"}
    assert "accelerator" not in notebook.metadata


@pytest.mark.kernel
def test_stream_and_result_outputs_are_the_pages(site, notebook):
    cells = code_cells(notebook)
    html = (site / PAGE).read_text(encoding="utf-8")
    assert cells[1].outputs == [{"output_type": "stream", "name": "stdout",
                                 "text": "first random: 0.5488135039273248\n"}]
    assert "first random: 0.5488135039273248" in html
    assert cells[2].outputs[0].text == "sum of y: 12.0\n"
    assert [(o.output_type, o.get("name")) for o in cells[4].outputs] == [
        ("stream", "stdout"), ("stream", "stderr"), ("execute_result", None)]
    assert cells[4].outputs[0].text == "<b>not bold</b>\n"
    assert cells[4].outputs[2] == {"output_type": "execute_result", "execution_count": 5,
                                   "data": {"text/plain": "42"}, "metadata": {}}


@pytest.mark.kernel
def test_image_output_is_the_figure_file(site, notebook):
    (output,) = code_cells(notebook)[3].outputs
    assert output.output_type == "display_data"
    assert base64.b64decode(output.data["image/png"]) == (site / FIGURE).read_bytes()
    assert output.data["text/plain"] == "A straight <line>"
    assert output.metadata == {"image/png": {"width": 271, "height": 197}}


@pytest.mark.kernel
def test_error_output_names_the_exception(notebook):
    (output,) = code_cells(notebook)[5].outputs
    assert (output.output_type, output.ename, output.evalue) == ("error", "ValueError", "shown on purpose")
    assert output.traceback[-1] == "ValueError: shown on purpose"


@pytest.mark.kernel
def test_export_is_deterministic_sorted_json(site, exported):
    assert export_notebook(executed_post(site), site, page_url=PAGE_URL) == exported
    text = exported.decode("utf-8")
    assert text == json.dumps(json.loads(text), indent=1, ensure_ascii=False, sort_keys=True) + "\n"


@pytest.mark.kernel
def test_exported_notebook_re_executes_to_the_same_outputs(site, notebook, tmp_path):
    from nbclient import NotebookClient
    from builder.execute.executor import kernel_config
    scratch = tmp_path / "run"
    shutil.copytree(site, scratch, ignore=shutil.ignore_patterns("_site", "_freeze", "posts"))
    again = nbformat.from_dict(json.loads(json.dumps(notebook)))
    for cell in code_cells(again):
        cell.outputs = []
    # The build saves figures at twice their density (`fig-format: retina`, the default).
    again.cells.insert(0, nbformat.v4.new_code_cell("%config InlineBackend.figure_formats = ['retina']"))
    NotebookClient(again, kernel_name="python3", config=kernel_config(scratch), timeout=120,
                   resources={"metadata": {"path": str(scratch)}}, shutdown_kernel="immediate",
                   record_timing=False).execute(cwd=str(scratch))
    del again.cells[0]
    assert [summary(cell) for cell in code_cells(again)] == [summary(cell) for cell in code_cells(notebook)]


def summary(cell) -> dict:
    """What must not change between runs: text by stream, results, figures, error names."""
    found: dict = {}
    for output in cell.outputs:
        if output.output_type == "stream":
            found[output.name] = found.get(output.name, "") + output.text
        elif output.output_type == "error":
            found["error"] = output.ename
        elif "image/png" in output.data:
            found.setdefault("images", []).append(strip_png_metadata(base64.b64decode(output.data["image/png"])))
        else:
            found.setdefault("data", []).append(output.data.get("text/plain"))
    return found


def test_toc_include_is_dropped_and_skipped_cells_are_marked(tmp_path):
    site = tmp_path / "site"
    write(site / "posts/2021-03-04-options.md", """
        ---
        title: Options
        seed: false
        ---
        {% include toc title="Contents" %}
        Intro with {{ site.title }}.

        ```python
        #| eval: false
        #| echo: false
        download_everything()
        ```

        ```python
        #| output: false
        print("noisy")
        ```
        """)
    post = read_post(site, site / "posts/2021-03-04-options.md", load_config(site))
    executed = ExecutedPost(post, {}, {"seed": None})
    notebook = nbformat.reads(export_notebook(executed, site).decode("utf-8"), as_version=4)
    assert notebook.cells[0].source == ("# Options\n\nThis notebook is the executable version of the post "
                                        "`posts/2021-03-04-options.md`, with the outputs it produced when "
                                        "the site was built.")
    assert notebook.cells[1].source == "Intro with {{ site.title }}."
    skipped, noisy = code_cells(notebook)
    assert skipped.execution_count is None and skipped.source == "download_everything()"
    assert skipped.metadata == {"tags": ["skip-execution"], "jupyter": {"source_hidden": True},
                                "builder": {"cell": 1, "eval": False, "echo": False}}
    assert noisy.execution_count == 1 and noisy.metadata.jupyter == {"outputs_hidden": True}


@pytest.mark.kernel
def test_a_missing_figure_is_reported_with_its_cell(site, tmp_path):
    copy = tmp_path / "site"
    shutil.copytree(site, copy)
    (copy / FIGURE).unlink()
    with pytest.raises(FreezeError) as raised:
        export_notebook(executed_post(copy), copy)
    assert str(raised.value) == (
        f"{POST}:21 (cell 3): the figure {FIGURE} of this cell is missing, so the notebook cannot include it\n"
        "  Hint: Run `python -m builder build` (without --no-execute) to run the post again and restore its figures.")


@pytest.mark.parametrize("traceback, ename, evalue", [
    ("Traceback...\nKeyError: 'x'\n", "KeyError", "'x'"),
    ("  File x\nmodule.CustomError: bad: worse", "module.CustomError", "bad: worse"),
    ("Traceback...\nKeyboardInterrupt\n\n", "KeyboardInterrupt", ""),
    ("something odd happened", "Error", "something odd happened"),
])
def test_error_name_and_value_come_from_the_last_line(traceback, ename, evalue):
    output = error_output(traceback)
    assert (output["ename"], output["evalue"]) == (ename, evalue)


def post_at(url: str, slug: str = "numbers") -> Post:
    return Post(path=f"posts/2020-01-02-{slug}.md", slug=slug, date=datetime(2020, 1, 2, tzinfo=timezone.utc),
                title="T", front_matter={}, blocks=(), url=url, body_line=1)


@pytest.mark.parametrize("url, expected", [
    ("/2020/01/02/numbers.html", "2020/01/02/numbers.ipynb"),
    ("/x/", "x/numbers.ipynb"),
    ("/tutorials/numbers", "tutorials/numbers/numbers.ipynb"),
    ("/", "numbers.ipynb"),
])
def test_notebook_sits_next_to_its_page(url, expected):
    assert notebook_path(post_at(url)) == expected


def test_colab_url_points_at_the_published_branch():
    assert colab_url("octocat/blog.github.io", "gh-pages", "2020/01/02/numbers.ipynb") == (
        "https://colab.research.google.com/github/octocat/blog.github.io/blob/gh-pages/2020/01/02/numbers.ipynb")
    assert colab_url("", "gh-pages", "x.ipynb") is None


@pytest.mark.parametrize("repository", ["https://github.com/octocat/blog", "octocat", "a/b/c", "octo cat/blog",
                                        "octocat/..", "-octocat/blog"])
def test_colab_url_refuses_a_repository_that_is_not_owner_slash_name(repository):
    with pytest.raises(ConfigError) as raised:
        colab_url(repository, "gh-pages", "x.ipynb")
    assert str(raised.value) == (
        f"_config.yml: `repository` must be a GitHub owner/name such as octocat/blog, not {repository!r}\n"
        "  Hint: Write the repository as owner/name, e.g. `repository: octocat/blog`.")

"""Export an executed post as a Jupyter notebook with its outputs, and link it to Colab.

The notebook is made from the post and its frozen outputs only; nothing runs here. Its bytes
depend on nothing but the post, its record and its figure files, so a rebuild gives the same
file.
"""
from __future__ import annotations

import base64
import json
import re
from pathlib import Path, PurePosixPath
from urllib.parse import quote

from builder.core.config import repository_problem
from builder.core.errors import ConfigError, FreezeError, Location
from builder.execute.kernel_probe import imports_module
from builder.core.model import CodeCell, ExecutedPost, Output, Post, Prose
from builder.core.urls import output_path

NBFORMAT_MINOR = 5
SEED_TAG = "builder-seed"
COLAB = "https://colab.research.google.com/github"
TOC_INCLUDE = re.compile(r"^[ \t]*\{%-?\s*include\s+toc\b.*?-?%\}[ \t]*\n?", re.MULTILINE)
MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>&])")
ERROR_LINE = re.compile(r"^(?P<ename>[A-Za-z_][\w.]*)(?::\s?(?P<evalue>.*))?$")


def export_notebook(executed: ExecutedPost, site_dir: Path, page_url: str = "") -> bytes:
    """The post with its outputs as nbformat v4 JSON; `page_url` is credited when given."""
    import nbformat
    notebook = {
        "nbformat": 4, "nbformat_minor": NBFORMAT_MINOR,
        "metadata": notebook_metadata(executed),
        "cells": notebook_cells(executed, site_dir, page_url),
    }
    node = nbformat.from_dict(notebook)
    nbformat.validate(node)
    # nbformat's own writer: sorted keys, indent 1, text split into lines as Jupyter saves it
    return (nbformat.writes(node).rstrip("\n") + "\n").encode("utf-8")


def notebook_path(post: Post) -> str:
    """Site-relative path of the post's notebook, next to its page."""
    page = PurePosixPath(output_path(post.url, post.path))
    if page.name == "index.html":
        return str(page.parent / f"{post.slug}.ipynb").removeprefix("./")
    return str(page.with_suffix(".ipynb"))


def colab_url(repository: str, branch: str, notebook_site_path: str) -> str | None:
    """The 'Open in Colab' address of a notebook published on `branch`; None without a repository."""
    if not repository.strip():
        return None
    problem = repository_problem(repository)
    if problem:
        raise ConfigError(problem, "_config.yml",
                          "Write the repository as owner/name, e.g. `repository: octocat/blog`.")
    owner, name = repository.strip().split("/")
    return f"{COLAB}/{owner}/{name}/blob/{quote(branch, safe='/')}/{quote(notebook_site_path, safe='/')}"


# --- notebook parts -------------------------------------------------------------------------

def notebook_metadata(executed: ExecutedPost) -> dict:
    post = executed.post
    kernel = str(post.get("kernel") or "python3")
    language = {"name": "python"}
    if executed.provenance.get("python"):
        language["version"] = executed.provenance["python"]
    metadata = {
        "kernelspec": {"name": kernel, "display_name": "Python 3" if kernel == "python3" else kernel,
                       "language": "python"},
        "language_info": language,
        "builder": {"post": post.path, "url": post.url},
    }
    if str(executed.provenance.get("device") or "").startswith("cuda"):
        metadata["accelerator"] = "GPU"      # Colab opens it on a GPU runtime
    return metadata


def notebook_cells(executed: ExecutedPost, site_dir: Path, page_url: str) -> list[dict]:
    post = executed.post
    cells = [markdown_cell("title", title_markdown(post, page_url))]
    seed = seed_code(executed)
    count = 0
    if seed:
        count += 1
        cells.append(code_cell(SEED_TAG, seed, count, [], {"tags": [SEED_TAG]}))
    for index, block in enumerate(post.blocks, 1):
        if isinstance(block, Prose):
            text = prose_markdown(block)
            if text:
                cells.append(markdown_cell(f"prose-{index}", text))
            continue
        number = None
        if block.evaluated:
            count += 1
            number = count
        outputs = convert_outputs(executed, block, number, site_dir)
        cells.append(code_cell(f"cell-{block.number}", block.code, number, outputs, cell_metadata(block)))
    return cells


def markdown_cell(cell_id: str, text: str) -> dict:
    return {"cell_type": "markdown", "id": cell_id, "metadata": {}, "source": text}


def code_cell(cell_id: str, source: str, count: int | None, outputs: list[dict], metadata: dict) -> dict:
    return {"cell_type": "code", "id": cell_id, "execution_count": count, "metadata": metadata,
            "outputs": outputs, "source": source}


def title_markdown(post: Post, page_url: str) -> str:
    title = escape_markdown(post.title)
    credit = (f"This notebook is the executable version of [{title}]({page_url}), with the outputs "
              "it produced when the site was built." if page_url else
              f"This notebook is the executable version of the post `{post.path}`, with the outputs "
              "it produced when the site was built.")
    return f"# {title}\n\n{credit}"


def escape_markdown(text: str) -> str:
    return MARKDOWN_SPECIAL.sub(r"\\\1", text)


def prose_markdown(prose: Prose) -> str:
    """The prose as Markdown; our TOC include means nothing in a notebook."""
    return TOC_INCLUDE.sub("", prose.text).strip("\n")


def seed_code(executed: ExecutedPost) -> str:
    """A visible first cell seeding the generators as the build's hidden setup cell did."""
    seed = executed.provenance.get("seed", executed.post.get("seed", 0))
    if seed is None or seed is False:
        return ""
    seed = int(seed)
    code = "\n".join(cell.code for cell in executed.post.cells if cell.evaluated)
    lines = [f"import random\nrandom.seed({seed})"]
    if imports_module(code, "numpy"):
        lines.append(f"import numpy\nnumpy.random.seed({seed})")
    if imports_module(code, "torch"):
        lines.append(f"import torch\ntorch.manual_seed({seed})")
    return "\n".join(lines)


def cell_metadata(cell: CodeCell) -> dict:
    """Tags (nbclient and Jupyter read `raises-exception`, `skip-execution`) and our cell options."""
    tags = list(cell.tags)
    if not cell.evaluated and "skip-execution" not in tags:
        tags.append("skip-execution")
    options = {key: value for key, value in sorted(cell.options.items()) if key != "tags"}
    metadata: dict = {"tags": tags, "builder": {"cell": cell.number, **options}}
    hidden = {"source_hidden": options.get("echo") is False, "outputs_hidden": options.get("output") is False}
    if any(hidden.values()):
        metadata["jupyter"] = {key: True for key, value in hidden.items() if value}
    return metadata


# --- outputs ----------------------------------------------------------------------------------

def convert_outputs(executed: ExecutedPost, cell: CodeCell, count: int | None, site_dir: Path) -> list[dict]:
    outputs = executed.outputs_of(cell)
    converted = []
    for index, output in enumerate(outputs):
        last = index == len(outputs) - 1
        converted.append(convert_output(output, cell, count if last else None, executed.post, site_dir))
    return converted


def convert_output(output: Output, cell: CodeCell, result_count: int | None, post: Post,
                   site_dir: Path) -> dict:
    """One Output as nbformat output; a final text output is the cell's result."""
    if output.kind == "stream":
        return {"output_type": "stream", "name": output.name or "stdout", "text": output.text}
    if output.kind == "error":
        return error_output(output.text)
    if output.kind == "image":
        return image_output(output, cell, post, site_dir)
    if output.kind == "chart":     # Jupyter draws the chart from its spec; other readers show the PNG
        image = image_output(output, cell, post, site_dir)
        image["data"][CHART_MIME_TYPES[output.name]] = json.loads(output.text)
        return image
    if output.kind in RICH_MIME_TYPES:
        return display_data({RICH_MIME_TYPES[output.kind]: output.text})
    if result_count is not None:
        return {"output_type": "execute_result", "execution_count": result_count,
                "data": {"text/plain": output.text}, "metadata": {}}
    return display_data({"text/plain": output.text})


CHART_MIME_TYPES = {"plotly": "application/vnd.plotly.v1+json", "vegalite": "application/vnd.vegalite.v6+json"}
RICH_MIME_TYPES = {"html": "text/html", "markdown": "text/markdown", "latex": "text/latex",
                   "svg": "image/svg+xml"}


def display_data(data: dict, metadata: dict | None = None) -> dict:
    return {"output_type": "display_data", "data": data, "metadata": metadata or {}}


def image_output(output: Output, cell: CodeCell, post: Post, site_dir: Path) -> dict:
    path = site_dir / output.path
    if not path.is_file():
        raise FreezeError(
            f"the figure {output.path} of this cell is missing, so the notebook cannot include it",
            Location(post.path, cell.fence_line, cell.number),
            "Run `python -m builder build` (without --no-execute) to run the post again and restore its figures.")
    alt = output.text or str(cell.options.get("fig-cap") or "") or f"Figure from cell {cell.number}"
    mime = "image/jpeg" if output.path.endswith(".jpg") else "image/png"
    data = {mime: base64.b64encode(path.read_bytes()).decode("ascii"), "text/plain": alt}
    size = {"width": output.width, "height": output.height} if output.width and output.height else {}
    return display_data(data, {mime: size} if size else {})


def error_output(traceback: str) -> dict:
    """An error output; name and value come from the traceback's last line."""
    lines = traceback.rstrip("\n").split("\n")
    last = next((line for line in reversed(lines) if line.strip()), "")
    match = ERROR_LINE.match(last.strip())
    ename, evalue = (match["ename"], match["evalue"] or "") if match else ("Error", last.strip())
    return {"output_type": "error", "ename": ename, "evalue": evalue, "traceback": lines}

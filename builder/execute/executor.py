"""Run a post's code cells in one fresh Jupyter kernel and collect their outputs.

The only interface is `execute_post(post, options) -> Execution`; nothing here reads the
cache or writes files, so another engine could take its place.
"""
from __future__ import annotations

import functools
import json
import os
import re
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from builder.core.errors import ExecutionError, Location
from builder.core.patches import quicken_kernel_manager
from builder.execute.cell_names import cell_names_code, failing_cell_line
from builder.execute.display import clean_traceback, collect_outputs
from builder.execute.figure_formats import DEFAULT_FIG_FORMAT, FIRST_FIG_FORMAT, figure_setup_code
from builder.execute.kernel_probe import REPORT, kernel_env, setup_code
from builder.execute.kernel_start import forget_kernel, kernel_error
from builder.core.model import CodeCell, Post
from builder.execute.warm import WarmPool

SCRATCH_SKIP = {"_site", "_freeze", "posts"}


@dataclass(frozen=True)
class ExecutionOptions:
    """Everything execution depends on besides the code (part of the cache key)."""

    seed: int | None = 0
    timeout: int = 600
    post_timeout: int = 3600
    kernel: str = "python3"
    fig_format: str = DEFAULT_FIG_FORMAT

    def as_key(self) -> dict[str, Any]:
        key = {"seed": self.seed, "timeout": self.timeout, "post_timeout": self.post_timeout,
               "kernel": self.kernel}
        # Named only when it differs from what runs used before it existed, so their records,
        # all of them 1x PNGs, keep their keys; the figures' bytes depend on it.
        if self.fig_format != FIRST_FIG_FORMAT:
            key["fig_format"] = self.fig_format
        return key


@dataclass(frozen=True)
class Execution:
    """What one run of a post produced."""

    results: dict[int, CellResult]
    figures: dict[str, bytes]          # site-relative path -> PNG bytes (metadata stripped)
    reads: tuple[str, ...]             # site files the code opened
    packages: dict[str, str]           # distributions the code imported -> versions
    device: str
    python: str
    seconds: float


@dataclass
class Progress:
    """Callbacks for live progress; all optional."""

    on_cell: Callable[[Post, CodeCell], None] = lambda post, cell: None
    on_output: Callable[[Post, str], None] | None = None


def execute_post(post: Post, site_dir: Path, options: ExecutionOptions,
                 progress: Progress | None = None, warm: WarmPool | None = None) -> Execution:
    """Execute the post's evaluated cells in order, in a scratch working directory.

    With `warm`, the kernel is forked from a process that has already imported the heavy modules
    (see builder.execute.warm); without it, or when that is not possible, it starts the usual way.
    """
    progress = progress or Progress()
    cells = [cell for cell in post.cells if cell.evaluated]
    notebook = build_notebook(post, cells, site_dir, options)
    started = time.monotonic()
    threading.Thread(target=distribution_owners, daemon=True).start()   # overlaps the kernel's run
    with scratch_directory(site_dir) as scratch:
        run_notebook(notebook, post, cells, scratch, options, progress, warm)
    seconds = time.monotonic() - started
    report = json.loads(stream_text(notebook.cells[-1]["outputs"]).strip().splitlines()[-1])
    results, figures = collect_outputs(post, cells, notebook.cells[1:-1])
    return Execution(results, figures, tuple(report["reads"]), package_versions(report["modules"]),
                     report["device"], report["python"], round(seconds, 2))


@functools.lru_cache(maxsize=1)
def distribution_owners() -> dict[str, list[str]]:
    """Top-level module -> distributions providing it (the kernel runs in this environment)."""
    from importlib import metadata   # 15 ms to import: only builds that execute need it
    return metadata.packages_distributions()


def package_versions(modules: list[str]) -> dict[str, str]:
    """The distributions behind the modules a post imported, with their versions."""
    from importlib import metadata
    owners, packages = distribution_owners(), {}
    for module in modules:
        for dist in owners.get(module, ()):
            try:
                packages[dist.lower()] = metadata.version(dist)
            except metadata.PackageNotFoundError:
                pass
    return packages


def executed_code(post: Post) -> str:
    """The code of the post's evaluated cells, one after another (what a kernel will run)."""
    return "\n".join(cell.code for cell in post.cells if cell.evaluated)


def build_notebook(post: Post, cells: list[CodeCell], site_dir: Path, options: ExecutionOptions):
    import nbformat
    code = executed_code(post)
    setup = (setup_code(options.seed, str(site_dir.resolve()), code) + cell_names_code(post, cells)
             + figure_setup_code(post, cells, options.fig_format))
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(hidden_cell(setup))]
    for cell in cells:
        tags = ["raises-exception"] if "raises-exception" in cell.tags else []
        notebook.cells.append(nbformat.v4.new_code_cell(cell.source, metadata={"tags": tags}))
    notebook.cells.append(nbformat.v4.new_code_cell(hidden_cell(REPORT)))
    notebook.metadata["kernelspec"] = {"name": options.kernel, "display_name": options.kernel,
                                       "language": "python"}
    return notebook


def hidden_cell(code: str) -> str:
    """A cell of ours as one line that runs `code`: IPython tokenizes every cell's source in
    Python before running it, 40 ms for the set-up code in every kernel, and one string is one
    token. The code runs in the post's namespace, as the cell itself would."""
    return f"exec(compile({code!r}, '<builder>', 'exec'))"


SCRATCH_PREFIX = "builder-run-"


def remove_abandoned_scratch() -> None:
    """Delete scratch folders left by builds that were killed (their process no longer exists)."""
    for folder in Path(tempfile.gettempdir()).glob(f"{SCRATCH_PREFIX}*-*"):
        pid = folder.name[len(SCRATCH_PREFIX):].split("-", 1)[0]
        if pid.isdigit() and not process_exists(int(pid)):
            shutil.rmtree(folder, ignore_errors=True)


def process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class scratch_directory:
    """A temporary working directory that sees the site's data files through symlinks."""

    def __init__(self, site_dir: Path):
        self.site_dir = site_dir.resolve()

    def __enter__(self) -> Path:
        remove_abandoned_scratch()
        self.path = Path(tempfile.mkdtemp(prefix=f"{SCRATCH_PREFIX}{os.getpid()}-"))
        for entry in sorted(self.site_dir.iterdir()):
            if not entry.name.startswith(".") and entry.name not in SCRATCH_SKIP:
                (self.path / entry.name).symlink_to(entry)
        return self.path

    def __exit__(self, *exc_info) -> None:
        shutil.rmtree(self.path, ignore_errors=True)


def run_notebook(notebook, post: Post, cells: list[CodeCell], scratch: Path,
                 options: ExecutionOptions, progress: Progress, warm: WarmPool | None = None) -> None:
    """Run the notebook's cells in one kernel; a failure is an ExecutionError naming the cell."""
    budget = Budget(options)
    client = notebook_client(notebook, post, cells, scratch, options, progress, warm, budget)
    execute_client(client, notebook, post, scratch, options, budget)


def notebook_client(notebook, post: Post, cells: list[CodeCell], scratch: Path,
                    options: ExecutionOptions, progress: Progress, warm: WarmPool | None,
                    budget: Budget):
    """An nbclient NotebookClient for the post that keeps `budget` and `progress` up to date."""
    from nbclient import NotebookClient

    def on_cell_start(cell, cell_index, **_):
        budget.start()       # the post's budget starts once its kernel is up, not before
        budget.index = cell_index
        budget.cell = cells[cell_index - 1] if 0 < cell_index <= len(cells) else None
        if budget.cell is not None:
            progress.on_cell(post, budget.cell)

    def on_notebook_start(**_):
        if progress.on_output is not None:
            stream_outputs(client.kc, lambda text: progress.on_output(post, text),
                           lambda: 0 < budget.index <= len(cells))

    client = NotebookClient(
        notebook, km=kernel_manager(executed_code(post), options, scratch, warm), kernel_name=options.kernel,
        resources={"metadata": {"path": str(scratch)}},
        timeout=options.timeout, timeout_func=lambda cell: budget.cell_limit(),
        allow_errors=False, shutdown_kernel="immediate", on_cell_start=on_cell_start,
        on_notebook_start=on_notebook_start,
        record_timing=False, startup_timeout=120, interrupt_on_timeout=False,
    )
    return client


def execute_client(client, notebook, post: Post, scratch: Path, options: ExecutionOptions,
                   budget: Budget) -> None:
    """Execute the client's notebook, turning each kind of failure into an ExecutionError."""
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError
    try:
        client.execute(cwd=str(scratch), env=kernel_env(), cleanup_kc=True)
    except CellTimeoutError:
        raise timeout_error(post, budget.cell, options, budget.post_limited) from None
    except DeadKernelError:
        raise ExecutionError("the kernel died while running this cell (a crash, os._exit or "
                             "running out of memory)", cell_location(post, budget.cell),
                             "Run the cell as a script to see the crash; reduce memory use.") from None
    except CellExecutionError:
        raise code_error(post, budget.cell, notebook.cells[budget.index]) from None
    except Exception as error:  # noqa: BLE001 - any other failure is the kernel's, told plainly
        forget_kernel(client)
        raise kernel_error(post, options.kernel, error, budget.deadline is not None) from None


class Budget:
    """The time left to the running cell: its own limit or what is left of the post's."""

    def __init__(self, options: ExecutionOptions):
        self.options = options
        self.deadline: float | None = None
        self.cell: CodeCell | None = None
        self.index = 0                      # of the running cell in the notebook
        self.post_limited = False

    def start(self) -> None:
        if self.deadline is None:
            self.deadline = time.monotonic() + self.options.post_timeout

    def cell_limit(self) -> float:
        self.start()
        left = self.deadline - time.monotonic()
        self.post_limited = left < self.options.timeout
        return max(1.0, min(float(self.options.timeout), left))


def kernel_manager(code: str, options: ExecutionOptions, scratch: Path, warm: WarmPool | None):
    """A warm kernel's manager when the pool has one, else the usual one; both start and stop
    faster than jupyter_client's defaults (see builder.core.patches.quicken_kernel_manager)."""
    from jupyter_client import AsyncKernelManager
    config = kernel_config(scratch)
    km = warm.kernel_manager(code, options.kernel, config) if warm else None
    km = km or AsyncKernelManager(kernel_name=options.kernel, config=config)
    quicken_kernel_manager(km)
    return km


def stream_outputs(kc, send: Callable[[str], None], wanted: Callable[[], bool]) -> None:
    """Pass each stream output to `send` as it arrives, by wrapping the client's IOPub reads."""
    get_msg = kc.iopub_channel.get_msg

    async def get_and_send(*args, **kwargs):
        msg = await get_msg(*args, **kwargs)
        if msg["msg_type"] == "stream" and wanted():
            send(msg["content"]["text"])
        return msg

    kc.iopub_channel.get_msg = get_and_send


def kernel_config(scratch: Path):
    """Talk to the kernel over Unix sockets in the scratch folder, never over TCP."""
    from traitlets.config import Config
    return Config({"KernelManager": {"transport": "ipc", "ip": str(scratch / ".kernel")}})


def cell_location(post: Post, cell: CodeCell | None, line: int | None = None) -> Location:
    if cell is None:
        return Location(post.path)
    return Location(post.path, cell.markdown_line(line) if line else cell.fence_line, cell.number)


def timeout_error(post: Post, cell: CodeCell | None, options: ExecutionOptions,
                  post_limited: bool = False) -> ExecutionError:
    if post_limited:
        return ExecutionError(
            f"the post ran longer than its time limit (post_timeout: {options.post_timeout} s "
            "for all its cells) and was stopped in this cell", cell_location(post, cell),
            "Make the post faster, or raise `post_timeout:` in _config.yml.")
    return ExecutionError(
        f"the cell ran longer than its time limit (timeout: {options.timeout} s) and was stopped",
        cell_location(post, cell), "Make the cell faster, or raise `timeout:` in the post's front matter.")


def code_error(post: Post, cell: CodeCell | None, nb_cell) -> ExecutionError:
    """The failing cell's error with its source excerpt (earlier cells may fail on purpose)."""
    error = next((o for o in nb_cell.get("outputs", []) if o.get("output_type") == "error"), None)
    traceback = clean_traceback(error["traceback"]) if error else ""
    summary = f"{error['ename']}: {error['evalue']}" if error else "the cell failed"
    ename = error["ename"] if error else ""
    line = failing_cell_line(traceback, post, cell) if cell else None
    if ename == "SystemExit" and cell is not None:
        # IPython prints no frames for SystemExit, so find the call in the source.
        summary = f"the post called sys.exit() ({summary}), which stops the cell"
        line = exit_line(cell)
    excerpt = source_excerpt(cell, line) if cell else ""
    return ExecutionError(
        f"{summary}\n\n{excerpt}\n{traceback}".rstrip(), cell_location(post, cell, line),
        ERROR_HINTS.get(ename, DEFAULT_HINT))


DEFAULT_HINT = ("Fix the code at the line above and rebuild; if the error is part of the lesson, "
                "add `#| tags: [raises-exception]` as the cell's first line.")
ERROR_HINTS = {
    "StdinNotImplementedError": "A post cannot ask for input while it is built; "
                                "set the value in the code instead of calling input().",
    "SystemExit": "Remove the sys.exit() call (or exit()/quit()); to stop with an error, "
                  "raise an exception instead.",
}
EXIT_CALL = re.compile(r"\b(?:sys\.exit|exit|quit)\s*\(|\braise\s+SystemExit\b")


def exit_line(cell: CodeCell) -> int | None:
    """The first line of the cell that calls sys.exit(), exit() or quit()."""
    for number, text in enumerate(cell.source.split("\n"), 1):
        if EXIT_CALL.search(text.split("#", 1)[0]):
            return number
    return None


def source_excerpt(cell: CodeCell, line: int | None, context: int = 2) -> str:
    lines = cell.source.split("\n")
    line = line or 1
    start, end = max(1, line - context), min(len(lines), line + context)
    rows = []
    for number in range(start, end + 1):
        marker = ">" if number == line else " "
        rows.append(f"{marker} {cell.markdown_line(number):>5} | {lines[number - 1]}")
    return "\n".join(rows)


def stream_text(outputs: list) -> str:
    return "".join(o.get("text", "") for o in outputs if o.get("output_type") == "stream")

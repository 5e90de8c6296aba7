"""The posts that must run, each executed on a thread of its own while the main thread renders.

`Runs.close()` ends the stage on every path: after the last result it only joins idle threads;
after a failure that stops the build, an exception or an interrupt it kills the kernels still
running and waits a bounded time for their threads, so a build never waits on a post it will
not use.
"""
from __future__ import annotations

import threading
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

from builder.core.children import descendants, kill_descendants
from builder.freeze.drift import compare_records
from builder.core.errors import BuildError, ExecutionError
from builder.execute.executor import Progress, execute_post
from builder.freeze.records import (dump_record, executed_from_record, load_record_if_readable,
                            make_record, record_path)
from builder.core.model import ExecutedPost, Post
from builder.site.writer import remove_source_files, write_source_file

if TYPE_CHECKING:
    from builder.site.build import SiteBuild

GPU_LOCK = threading.Lock()    # posts marked `device: cuda` run one at a time on the GPU
STOP_SECONDS = 1.0             # how long threads of killed kernels get to notice and clean up


class Runs:
    """Starts every run at once (up to `jobs` in parallel); yields results as they finish."""

    def __init__(self, build: SiteBuild, to_run: list[tuple[Post, list[str]]]):
        self.build = build
        self.pending: dict[Future, Post] = {}
        self.spare = frozenset(descendants())     # not this stage's: the zygotes, a test's helpers
        self.executor = ThreadPoolExecutor(max_workers=max(1, build.options.jobs)) if to_run else None
        for post, reasons in to_run:
            build.reporter.running(post, reasons)
            self.pending[self.executor.submit(run_post, build, post)] = post

    def finished(self) -> Iterator[ExecutedPost]:
        """Each run's outputs as it ends; a failed run's last good outputs with --keep-going.

        Stops at the first failure without --keep-going (the caller then calls `close()`).
        """
        keep_going = self.build.options.keep_going
        while self.pending:
            done, _ = wait(self.pending, return_when=FIRST_COMPLETED)
            for future in sorted(done, key=lambda f: self.pending[f].path):
                post = self.pending.pop(future)
                try:
                    yield future.result()
                except BuildError as error:
                    self.build.failed(post, error)
                    if not keep_going:
                        return
                    fallback = last_good(post, self.build.options.source)
                    if fallback is not None:
                        yield fallback

    def close(self) -> None:
        """End the stage: kill the kernels of runs still going, wait for their threads (bounded)."""
        if self.executor is None:
            return
        self.executor.shutdown(wait=False, cancel_futures=True)
        running = [future for future in self.pending if not future.done()]
        if running:
            kill_descendants(spare=self.spare)
            wait(running, timeout=STOP_SECONDS)
        else:
            self.executor.shutdown(wait=True)       # every thread is idle: they exit at once
        self.executor = None


def last_good(post: Post, source: Path) -> ExecutedPost | None:
    record = load_record_if_readable(source, post)
    return executed_from_record(post, record) if record else None


def run_post(build: SiteBuild, post: Post) -> ExecutedPost:
    """Execute one post, store its figures and freeze record, and return its outputs."""
    try:
        return execute_and_store(build, post)
    except BuildError:
        raise
    except Exception as error:  # noqa: BLE001 - whatever the kernel machinery raises names the post
        raise ExecutionError(f"the post could not be run: {type(error).__name__}: {error}", post.path,
                             "Check the post's `kernel:` and that ipykernel is installed in this "
                             "environment; if the message names neither, please report it.") from None


def execute_and_store(build: SiteBuild, post: Post) -> ExecutedPost:
    from builder.site.build import execution_options, forced
    config, options, reporter = build.config, build.options, build.reporter
    exec_options = execution_options(post, config)
    progress = Progress(on_cell=reporter.cell, on_output=reporter.output if options.verbose else None)
    previous = load_record_if_readable(options.source, post) if forced(post, options) else None
    with GPU_LOCK if str(post.get("device") or "").startswith("cuda") else nullcontext():
        run = execute_post(post, options.source, exec_options, progress, warm=build.warm)
    folder = f"assets/img/{post.slug}"
    for path, data in sorted(run.figures.items()):
        write_source_file(options.source, path, data, folder)
    remove_source_files(options.source, folder, set(run.figures))
    record = make_record(post, exec_options, run, options.source)
    write_source_file(options.source, record_path(post), dump_record(record), "_freeze")
    reporter.executed(post, run.seconds)
    for line in compare_records(previous, record) if previous else ():
        reporter.note(f"drift   {post.path}: {line}")
    return executed_from_record(post, record, from_cache=False)

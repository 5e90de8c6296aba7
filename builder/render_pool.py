"""Render many post pages on all cores: forked workers inherit the render context, nothing else
is sent to them but indices, and they send back page bytes."""
from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Callable, Iterator

from builder.errors import BuildError
from builder.model import ExecutedPost, Page

MIN_PAGES_PER_WORKER = 40     # below this, starting processes costs more than it saves
CHUNK = 25

RenderOne = Callable[[ExecutedPost], Page]
_JOBS: list[ExecutedPost] = []
_RENDER: list[RenderOne] = []


class RenderPool:
    """Renders the given posts, in worker processes when there are enough of them."""

    def __init__(self, render: RenderOne, workers: int):
        self.render, self.workers = render, workers
        self.jobs: list[ExecutedPost] = []
        self.futures: list[Future] = []
        self.pool: ProcessPoolExecutor | None = None
        self.first: Page | BuildError | None = None

    def submit(self, jobs: list[ExecutedPost]) -> None:
        """Start rendering; call before any thread is started, since workers are forked."""
        self.jobs = jobs
        if self.workers < 2 or len(jobs) < 2 * MIN_PAGES_PER_WORKER or not hasattr(os, "fork"):
            return
        # The first page is rendered here, before the fork, so that every worker inherits the
        # loaded Markdown stage and compiled templates instead of loading them again.
        self.first = render_safely(self.render, jobs[0])
        _JOBS[:], _RENDER[:] = jobs, [self.render]
        self.pool = ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("fork"))
        self.futures = [self.pool.submit(render_chunk, start, min(start + CHUNK, len(jobs)))
                        for start in range(1, len(jobs), CHUNK)]

    def results(self) -> Iterator[tuple[ExecutedPost, Page | BuildError]]:
        """Each post with its page, or the error that stopped it, in submission order."""
        if self.pool is None:
            for executed in self.jobs:
                yield executed, render_safely(self.render, executed)
            return
        yield self.jobs[0], self.first
        try:
            for future in self.futures:
                for index, outcome in future.result():
                    yield self.jobs[index], outcome
        finally:
            self.pool.shutdown(cancel_futures=True)
            _JOBS.clear()
            _RENDER.clear()


def render_safely(render: RenderOne, executed: ExecutedPost) -> Page | BuildError:
    try:
        return render(executed)
    except BuildError as error:
        return error


def render_chunk(start: int, end: int) -> list[tuple[int, Page | BuildError]]:
    """In a worker: render jobs start..end with the context inherited from the parent."""
    return [(index, render_safely(_RENDER[0], _JOBS[index])) for index in range(start, end)]

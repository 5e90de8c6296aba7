"""Render many post pages on all cores: forked workers inherit the render context, nothing else
is sent to them but indices, and they send back page bytes."""
from __future__ import annotations

from typing import Callable, Iterator

from builder.core.errors import BuildError
from builder.site.forked import ForkedWorkers, WorkerLost, can_fork
from builder.core.model import ExecutedPost, Page

MIN_PAGES_PER_WORKER = 40     # below this, starting processes costs more than it saves
CHUNK = 25
PIPE_BYTES = 1 << 20          # a chunk of pages (25 of ~30 KB); Linux's most for any process by default

RenderOne = Callable[[ExecutedPost], Page]


class RenderPool:
    """Renders the given posts, in worker processes when there are enough of them and this
    process runs no other thread (see builder.site.forked); `close()` ends the workers."""

    def __init__(self, render: RenderOne, workers: int):
        self.render, self.workers = render, workers
        self.jobs: list[ExecutedPost] = []
        self.forked: ForkedWorkers | None = None
        self.first: Page | BuildError | None = None

    def submit(self, jobs: list[ExecutedPost]) -> None:
        """Start rendering; call before any thread is started, since workers are forked."""
        self.jobs = jobs
        if self.workers < 2 or len(jobs) < 2 * MIN_PAGES_PER_WORKER or not can_fork():
            return
        # The first page is rendered here, before the fork, so that every worker inherits the
        # loaded Markdown stage and compiled templates instead of loading them again.
        self.first = render_safely(self.render, jobs[0])
        chunks = [range(start, min(start + CHUNK, len(jobs))) for start in range(1, len(jobs), CHUNK)]
        render, jobs = self.render, self.jobs
        try:
            self.forked = ForkedWorkers(lambda indices: [render_safely(render, jobs[i]) for i in indices],
                                        chunks, self.workers)
        except OSError:                # cannot fork now: results() renders them here
            self.forked = None
            return
        widen_pipes(self.forked.readers)

    def results(self) -> Iterator[tuple[ExecutedPost, Page | BuildError]]:
        """Each post with its page, or the error that stopped it, in submission order."""
        if self.forked is None:
            for executed in self.jobs:
                yield executed, render_safely(self.render, executed)
            return
        yield self.jobs[0], self.first
        index = 1
        try:
            for outcomes in self.forked.results():
                for outcome in outcomes:
                    yield self.jobs[index], outcome
                    index += 1
        except WorkerLost:             # a worker was killed (out of memory?): the rest render here
            self.close()
            for executed in self.jobs[index:]:
                yield executed, render_safely(self.render, executed)
        self.close()

    def close(self) -> None:
        """Kill and reap the workers, if any (at once: what they had not sent is not needed)."""
        if self.forked is not None:
            self.forked.close()
            self.forked = None


def widen_pipes(readers: list) -> None:
    """Let each worker send a whole chunk and go on to the next while this process renders the
    listings: through the default 64 KiB pipe a worker waited for it after every chunk."""
    try:
        from fcntl import F_SETPIPE_SZ, fcntl
    except ImportError:                # not Linux: the workers wait as before
        return
    for reader in readers:
        try:
            fcntl(reader.fileno(), F_SETPIPE_SZ, PIPE_BYTES)
        except OSError:                # a lower limit set on this system
            pass


def render_safely(render: RenderOne, executed: ExecutedPost) -> Page | BuildError:
    try:
        return render(executed)
    except BuildError as error:
        return error

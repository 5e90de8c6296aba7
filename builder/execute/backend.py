"""Where posts run: one small interface, with this machine's thread-and-warm-kernel pool as one backend.

The driver (builder.site.runs) decides which posts must run and in which order (longest
recorded run first), hands them to a backend as `RunRequest`s, and writes what comes back
(figures under assets/img/, the freeze record under _freeze/) exactly as for a local run. A
backend only runs code: it reads no cache and writes no file of the site. Another engine (a Ray
cluster, builder.execute.ray_backend) implements the same `Backend` protocol.
"""
from __future__ import annotations

import threading
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Protocol, Sequence

from builder.core.children import descendants, kill_descendants
from builder.core.errors import BuildError, ExecutionError
from builder.core.model import Post
from builder.execute.executor import Execution, ExecutionOptions, Progress, execute_post
from builder.execute.warm import WarmPool

STOP_SECONDS = 1.0             # how long threads of killed kernels get to notice and clean up


@dataclass(frozen=True)
class RunRequest:
    """One post that must run: its cells (in `post`), its options, and where its files are."""

    post: Post
    options: ExecutionOptions
    site_dir: Path                     # the files it may read: the site's top-level files and folders
    reasons: tuple[str, ...] = ()      # why it runs ("cell 3 changed"), for progress lines
    expected_seconds: float = 0.0      # its last recorded run time, or the scheduler's default

    @property
    def needs_gpu(self) -> bool:
        return str(self.post.get("device") or "").startswith("cuda")


@dataclass(frozen=True)
class RunOutcome:
    """What one request came to: an `Execution` (outputs, figure bytes, files read) or an error."""

    request: RunRequest
    execution: Execution | None = None
    error: BuildError | None = None
    where: str = "local"               # where it ran (a worker's host), for progress and provenance


class Backend(Protocol):
    """Runs requests and yields their outcomes as they finish."""

    def run(self, requests: Sequence[RunRequest], keep_going: bool) -> Iterator[RunOutcome]:
        """Start the requests now, in the order given (at most the backend's parallelism at once).

        The iterator returned yields one outcome per request as each finishes. Without `keep_going` the caller stops
        reading at the first error and calls `cancel()`.
        """
        ...

    def cancel(self) -> None:
        """End every run still going (kill its kernel or task), waiting a bounded time; idempotent."""
        ...


class LocalBackend:
    """Each post on a thread of its own, `jobs` at once, with kernels forked from the warm pool."""

    def __init__(self, jobs: int, warm: WarmPool | None = None, progress: Progress | None = None):
        self.jobs, self.warm, self.progress = max(1, jobs), warm, progress
        self.gpu = threading.Lock()     # posts marked `device: cuda` run one at a time on the GPU
        self.pending: dict[Future, RunRequest] = {}
        self.executor: ThreadPoolExecutor | None = None
        self.spare = frozenset(descendants())    # not ours: the zygotes, a test's helpers

    def run(self, requests: Sequence[RunRequest], keep_going: bool) -> Iterator[RunOutcome]:
        """Start the runs now, in the given order (the pool takes them in that order)."""
        if requests:
            self.executor = ThreadPoolExecutor(max_workers=self.jobs)
        for request in requests:
            self.pending[self.executor.submit(self.run_one, request)] = request
        return self.outcomes()

    def outcomes(self) -> Iterator[RunOutcome]:
        """Each run's outcome as it ends (ties in path order)."""
        while self.pending:
            done, _ = wait(self.pending, return_when=FIRST_COMPLETED)
            for future in sorted(done, key=lambda f: self.pending[f].post.path):
                request = self.pending.pop(future)
                yield outcome_of(request, future)

    def run_one(self, request: RunRequest) -> Execution:
        with self.gpu if request.needs_gpu else nullcontext():
            return execute_post(request.post, request.site_dir, request.options, self.progress, warm=self.warm)

    def cancel(self) -> None:
        """Kill the kernels of runs still going and wait (bounded) for their threads."""
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


def outcome_of(request: RunRequest, future: Future) -> RunOutcome:
    """The finished future as an outcome; an unexpected exception becomes an error naming the post."""
    try:
        return RunOutcome(request, execution=future.result())
    except BuildError as error:
        return RunOutcome(request, error=error)
    except Exception as error:  # noqa: BLE001 - whatever the kernel machinery raises names the post
        return RunOutcome(request, error=ExecutionError(
            f"the post could not be run: {type(error).__name__}: {error}", request.post.path,
            "Check the post's `kernel:` and that ipykernel is installed in this environment; "
            "if the message names neither, please report it."))

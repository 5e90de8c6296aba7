"""Work done by processes forked from this one: they inherit the function and the jobs (nothing is
pickled on the way in) and send their results back through a pipe each.

A fork copies only the thread that calls it, and any lock another thread holds at that moment
stays held forever in the child; so workers are forked only while this process runs a single
thread (`can_fork()`), and callers do the work themselves otherwise. Workers are plain
`os.fork()` children, not a `ProcessPoolExecutor`, which starts threads of its own and whose
shutdown waits on its workers without a bound. `close()` kills and reaps them on every path.
"""
from __future__ import annotations

import os
import pickle
import signal
import struct
import sys
from typing import Callable, Iterator, TypeVar

from builder.core.children import single_threaded

Job = TypeVar("Job")
Result = TypeVar("Result")
HEADER = struct.Struct("!Q")


class WorkerLost(RuntimeError):
    """A worker process died or failed before sending all its results."""


def can_fork() -> bool:
    """Whether forking workers is safe now: a POSIX system and no thread besides this one."""
    return hasattr(os, "fork") and single_threaded()


class ForkedWorkers:
    """`work(chunk)` for every chunk, chunk i done by worker i % workers; results in chunk order.

    Create it only when `can_fork()`; use it in a `with` block (or call `close()`).
    """

    def __init__(self, work: Callable[[Job], Result], chunks: list[Job], workers: int):
        self.count = len(chunks)
        self.pids: list[int] = []
        self.readers: list = []
        try:
            for index in range(max(1, min(workers, len(chunks)))):
                self.pids.append(self.fork(work, chunks, index, workers))
        except BaseException:          # e.g. no more processes allowed: end those already forked
            self.close()
            raise

    def fork(self, work: Callable, chunks: list, index: int, workers: int) -> int:
        read_fd, write_fd = os.pipe()
        parent = os.getpid()
        pid = os.fork()
        if pid == 0:
            os.close(read_fd)
            for reader in self.readers:          # the other workers' pipes: their EOF is theirs
                reader.close()
            serve_chunks(work, chunks[index::workers], write_fd, parent)
        os.close(write_fd)
        self.readers.append(os.fdopen(read_fd, "rb"))
        return pid

    def results(self) -> Iterator[Result]:
        """Each chunk's result, in chunk order, as the workers send them."""
        for index in range(self.count):
            yield receive(self.readers[index % len(self.readers)])

    def close(self) -> None:
        """Kill the workers (they hold nothing worth saving) and reap them; close the pipes."""
        for pid in self.pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        for pid in self.pids:
            try:
                os.waitpid(pid, 0)       # bounded: a SIGKILLed process exits at once
            except ChildProcessError:
                pass
        self.pids = []
        for reader in self.readers:
            reader.close()
        self.readers = []

    def __enter__(self) -> ForkedWorkers:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


def receive(reader) -> Result:
    header = reader.read(HEADER.size)
    if len(header) < HEADER.size:
        raise WorkerLost("a forked worker exited before sending its results")
    data = reader.read(HEADER.unpack(header)[0])
    kind, value = pickle.loads(data)
    if kind == "bug":
        raise WorkerLost(f"a forked worker failed:\n{value}")
    return value


def serve_chunks(work: Callable, chunks: list, write_fd: int, parent: int) -> None:
    """In a worker: do the chunks, send each result, and leave without running the parent's
    clean-up code (atexit handlers, finally blocks further up the stack)."""
    code = 0
    try:
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, signal.SIG_DFL)   # Ctrl-C ends a worker at once
        die_with_parent(parent)
        with os.fdopen(write_fd, "wb") as pipe:
            for chunk in chunks:
                pipe.write(frame(work, chunk))
                pipe.flush()
    except BaseException:  # noqa: BLE001 - the parent hears of it through the closed pipe
        code = 1
    finally:
        os._exit(code)


def frame(work: Callable, chunk) -> bytes:
    try:
        data = pickle.dumps(("ok", work(chunk)), protocol=pickle.HIGHEST_PROTOCOL)
    except Exception:  # noqa: BLE001 - a bug in the builder: report it to the parent
        import traceback
        data = pickle.dumps(("bug", traceback.format_exc()))
    return HEADER.pack(len(data)) + data


def die_with_parent(parent: int) -> None:
    """Ask Linux to kill this worker when its parent dies, so none outlives a killed build."""
    if sys.platform.startswith("linux"):
        import ctypes
        try:
            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)   # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent:
        os._exit(1)


def map_with_helper(function: Callable[[Job], Result], jobs: list[Job], minimum: int) -> list[Result]:
    """`[function(job) for job in jobs]`, the second half in a forked helper when there are
    `minimum` jobs or more and forking is safe."""
    if len(jobs) < max(minimum, 2) or not can_fork():
        return [function(job) for job in jobs]
    middle = len(jobs) // 2
    try:
        helper = ForkedWorkers(lambda part: [function(job) for job in part], [jobs[middle:]], 1)
    except OSError:                    # cannot fork now: do it all here
        return [function(job) for job in jobs]
    with helper:
        first = [function(job) for job in jobs[:middle]]
        try:
            return first + next(helper.results())
        except WorkerLost:             # the helper was killed: do its half here
            return first + [function(job) for job in jobs[middle:]]

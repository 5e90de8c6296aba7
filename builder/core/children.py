"""The processes a build starts, found and ended: every wait bounded, every child reaped.

Kernels, their launchers, warm zygotes and forked render workers are all descendants of the
build's process, so ending "everything below this process" needs no list of who started what.
"""
from __future__ import annotations

import os
import signal
import threading
import time

REAP_SECONDS = 1.0         # how long killed children get to disappear before we stop waiting


def single_threaded(grace: float = 0.05) -> bool:
    """True when this process runs only one thread, so that a fork cannot inherit a held lock.

    A thread just joined may still be listed by the system for a moment: when Python knows of
    no other thread, the answer waits up to `grace` seconds for the listing to agree.
    """
    if threading.active_count() != 1:
        return False
    deadline = time.monotonic() + grace
    while True:
        try:
            if len(os.listdir("/proc/self/task")) == 1:
                return True
        except OSError:
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.001)


def child_pids(parent: int) -> list[int]:
    """The pids of the processes whose parent is `parent` (Linux /proc; empty elsewhere)."""
    pids = []
    try:
        threads = os.listdir(f"/proc/{parent}/task")
    except OSError:
        return []
    for thread in threads:          # a child is listed under the thread that started it
        try:
            with open(f"/proc/{parent}/task/{thread}/children", encoding="ascii") as listing:
                pids.extend(int(pid) for pid in listing.read().split())
        except OSError:
            pass
    return pids


def descendants(root: int | None = None) -> list[int]:
    """Every process below `root` (this process by default), parents before their children."""
    found, frontier = [], child_pids(os.getpid() if root is None else root)
    while frontier:
        found.extend(frontier)
        frontier = [pid for parent in frontier for pid in child_pids(parent)]
    return found


def kill_descendants(timeout: float = REAP_SECONDS, spare: frozenset[int] = frozenset()) -> list[int]:
    """SIGKILL every process below this one except `spare` (processes that were there before the
    work being ended started; their own new children are killed), reap; return the pids killed.

    Sweeps until none is left (a zygote may fork a kernel between two sweeps), within `timeout`.
    """
    killed: list[int] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pids = [pid for pid in descendants() if pid not in spare]
        if not pids:
            break
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        killed.extend(pid for pid in pids if pid not in killed)
        reap(pids, deadline)
    return killed


def reap(pids: list[int], deadline: float) -> None:
    """Collect the exit status of those of `pids` that are our children, until `deadline`."""
    for pid in pids:
        while time.monotonic() < deadline:
            try:
                if os.waitpid(pid, os.WNOHANG)[0] != 0:
                    break
            except ChildProcessError:      # not our child, or already collected
                break
            time.sleep(0.002)


def join_threads(threads: list[threading.Thread], timeout: float) -> list[threading.Thread]:
    """Join each thread within one overall `timeout`; return those still running."""
    deadline = time.monotonic() + timeout
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    return [thread for thread in threads if thread.is_alive()]

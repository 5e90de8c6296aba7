"""Half of a list of independent jobs done by one forked helper process while this one does the rest.

The helper inherits the function and the jobs (nothing is pickled on the way in); only results
come back. Call it only while this process runs no other thread, since it forks.
"""
from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from typing import Callable, TypeVar

Job = TypeVar("Job")
Result = TypeVar("Result")

_TASK: list = []      # (function, jobs) for the helper, set just before it forks


def map_with_helper(function: Callable[[Job], Result], jobs: list[Job], minimum: int) -> list[Result]:
    """`[function(job) for job in jobs]`, the second half in a helper when there are `minimum` jobs or more."""
    if len(jobs) < max(minimum, 2) or not hasattr(os, "fork"):
        return [function(job) for job in jobs]
    middle = len(jobs) // 2
    _TASK[:] = [function, jobs[middle:]]
    try:
        with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("fork")) as helper:
            second = helper.submit(_run_task)
            first = [function(job) for job in jobs[:middle]]
            return first + second.result()
    finally:
        _TASK.clear()


def _run_task() -> list:
    function, jobs = _TASK
    return [function(job) for job in jobs]

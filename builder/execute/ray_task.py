"""What a Ray task runs on a cluster's worker: one post, in a fresh kernel forked from a warm pool.

A CPU post's worker process serves many posts of a build (builder.execute.ray_backend), so it
keeps warm pools (builder.execute.warm) as a local build does: each post still gets a fresh
kernel, forked from a zygote that imported ipykernel and the post's heavy modules once for that
worker. Before running anything a task checks that its worker runs the driver's Ray, Python and
builder (the nodes of a cluster can differ); if not, it runs nothing and returns them. A worker
imports this module once, with its first task.
"""
from __future__ import annotations

import functools
import io
import os
import shutil
import socket
import tarfile
import tempfile
from pathlib import Path

from builder.core.errors import BuildError
from builder.core.model import Post
from builder.execute.executor import Execution, Progress, executed_code, execute_post, process_exists
from builder.execute.kernel_probe import kernel_env
from builder.execute.ray_log import CellReports, differing_versions, versions_here
from builder.execute.warm import WarmPool, warm_modules
from builder.execute.zygote import ENV_AT_START

POOL_OWNER = "builder-ray-worker.pid"      # in a worker's pool folder: the worker's pid
WORKER_POOLS: dict[tuple, WarmPool] = {}   # this worker's warm pools, made by its posts


def run_post_task(post: Post, options, files: bytes, log, warm: bool,
                  versions: dict[str, str]) -> tuple[Execution | BuildError | dict[str, str], str]:
    """Run the post as locally, in the site's unpacked `files` (telling `log` each cell it starts;
    `warm`: in a kernel forked from this worker's warm pool); what it produced and the host.

    Where the worker's versions differ from the driver's `versions`, nothing runs: they are returned.
    """
    host = socket.gethostname()
    if differing_versions(worker_versions(), versions):
        return worker_versions(), host
    reports = CellReports(log, host)
    pool = worker_pool(post) if warm else None          # its zygote imports while the files unpack
    with tempfile.TemporaryDirectory(prefix="builder-site-") as folder:
        with tarfile.open(fileobj=io.BytesIO(files), mode="r:gz") as archive:
            archive.extractall(folder, filter="data")
        try:
            return execute_post(post, Path(folder), options, Progress(on_cell=reports.started), pool), host
        except BuildError as error:      # an application error: returned, so that Ray never retries it
            return error, host
        finally:
            reports.flush()


@functools.lru_cache(maxsize=1)
def worker_versions() -> dict[str, str]:
    """The versions this worker runs (its code does not change while it lives)."""
    return versions_here()


def worker_pool(post: Post) -> WarmPool:
    """This worker's warm pool for the post, with the zygote for its heavy modules started. Made
    by the worker's first post and kept for the next ones; one that lost a zygote is replaced.

    Ray sets OMP_NUM_THREADS to each task's CPUs, and a zygote forks only kernels whose
    environment agrees with the one it imported in, so there is a pool per such environment."""
    env = kernel_env()
    key = tuple(sorted(item for item in env.items() if item[0].startswith(ENV_AT_START)))
    pool = WORKER_POOLS.get(key)
    if pool is None or pool.lost_a_zygote():
        if pool is not None:
            pool.close()
        pool = WORKER_POOLS[key] = owned_pool(env)
    pool.start(tuple(warm_modules(executed_code(post))))
    return pool


def owned_pool(env: dict[str, str]) -> WarmPool:
    """A warm pool marked as this worker's, once the folders of pools whose workers are gone are
    removed: Ray ends a job's workers without running their exit handlers, so a pool never
    closes itself there (its zygotes see their stdin close and exit; its folder stays behind)."""
    pool = WarmPool(env)
    for owner in pool.folder.parent.glob(f"*/{POOL_OWNER}"):
        try:
            pid = owner.read_text(encoding="utf-8")
        except OSError:        # another worker removed it meanwhile
            continue
        if pid.isdigit() and not process_exists(int(pid)):
            shutil.rmtree(owner.parent, ignore_errors=True)
    (pool.folder / POOL_OWNER).write_text(str(os.getpid()), encoding="utf-8")
    return pool

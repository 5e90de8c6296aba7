"""Posts run as Ray tasks on a cluster: the same execution code as locally, a fresh kernel each.

The driver has already decided which posts must run (their cache keys are computed there); this
backend ships only those, with the files they may read packed once into Ray's object store. Each
task (builder.execute.ray_task) unpacks them, runs `execute_post` in a kernel forked from its
worker's warm pool, and returns the `Execution` and the worker's host; the driver writes the
figures and the freeze record as for a local run. The cluster must run the driver's Ray, Python
and builder (else a post could give other bytes there): the tasks are sent as soon as the driver
is connected, so that workers start while the build's first process on the cluster answers with
its versions, and each task checks its own worker before it runs anything. While posts run,
their workers report each cell they start (builder.execute.ray_log) for the progress display.
Ray is optional: only a build given `--cluster` imports this module.
"""
from __future__ import annotations

import io
import os
import socket
import tarfile
import threading
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

from builder.core.errors import BuildError, ConfigError, ExecutionError
from builder.core.model import CodeCell, Post
from builder.execute.backend import RunOutcome, RunRequest
from builder.execute.executor import SCRATCH_SKIP
from builder.execute.ray_log import (CellFeed, CellLog, check_versions, ray_version_error, version_error,
                                     versions_here)
from builder.execute.ray_task import run_post_task
from builder.execute.warm import warm_kernels_off

REACH_SECONDS = 5.0           # for the cluster's address to accept a connection
CONNECT_SECONDS = 60.0        # to join the cluster and hear back from one of its workers (a busy
                              # head starts a client server per driver, which can take a while)
CANCEL_SECONDS = 3.0          # for cancelled tasks to be killed and the client to disconnect
POLL_SECONDS = 0.5            # how often the driver looks for finished tasks and started cells
MAX_FILES_MB = int(os.environ.get("BUILDER_CLUSTER_MAX_MB", "200"))
ADDRESS_HINT = "Give `--cluster ray://HOST:PORT` (the head's client port, 10001 by default) or `--cluster auto`."


class RayBackend:
    """Runs each request as a Ray task (GPU posts: one GPU; others: front matter `cpus:`, default 1)."""

    def __init__(self, address: str, on_cell: Callable[[Post, CodeCell, str], None] | None = None):
        self.address, self.on_cell = address, on_cell     # on_cell(post, cell, worker host)
        self.pending: dict[Any, RunRequest] = {}
        self.ray = self.log = self.versions_asked = None
        self.mine: dict[str, str] = {}                     # this machine's versions, sent with each task
        self.lock, self.cancelled = threading.Lock(), False    # cancelled: nothing more is sent
        # Connecting takes seconds: it overlaps whatever the build does before the first run.
        self.connection: list = []
        self.connecting = threading.Thread(target=self.connect, daemon=True)
        self.connecting.start()
        self.sending: threading.Thread | None = None
        self.failure: BaseException | None = None

    def connect(self) -> None:
        try:
            self.connection.append(connect(self.address))
        except BaseException as error:  # noqa: BLE001 - raised where the build waits for it
            self.connection.append(error)

    def connected(self):
        """The `ray` module once connected; a ConfigError (exit 2) when the cluster cannot be used."""
        self.connecting.join(2 * CONNECT_SECONDS + CANCEL_SECONDS)
        outcome = self.connection[0] if self.connection else ConfigError(
            f"no answer from the Ray cluster at {self.address}", "--cluster", ADDRESS_HINT)
        if isinstance(outcome, BaseException):
            raise outcome
        self.ray, self.log, self.versions_asked = outcome
        return self.ray

    def run(self, requests: Sequence[RunRequest], keep_going: bool) -> Iterator[RunOutcome]:
        """Send the requests in the given order (longest expected first) once connected; yield
        outcomes as tasks end.

        The build waits here: its workers start (other processes) only once the tasks are sent,
        and connecting (importing Ray) would share this process with the build's rendering. Any
        problem in sending is raised where the outcomes are taken.
        """
        if not requests:
            return iter(())
        self.sending = threading.Thread(target=self.send, args=(list(requests),), daemon=True)
        self.sending.start()
        try:
            self.sending.join(3 * CONNECT_SECONDS)
        except BaseException:         # Ctrl-C while connecting: nothing is sent after it
            self.cancel()
            raise
        return self.outcomes()

    def send(self, requests: list[RunRequest]) -> None:
        """Check and pack the requests, then submit them once connected (on the sending thread)."""
        try:
            resources = [task_resources(request) for request in requests]    # every problem before any task
            files = pack_site_files(requests[0].site_dir)
            ray, self.mine = self.connected(), versions_here()
            with self.lock:
                if not self.cancelled:          # else the build has stopped meanwhile
                    self.submit(requests, resources, ray.put(files), self.log if self.on_cell else None)
        except BaseException as error:  # noqa: BLE001 - raised where the build waits for the outcomes
            self.failure = error

    def submit(self, requests: list[RunRequest], resources: list[dict], files, log) -> None:
        """Send each request as a task (`log`: where its worker reports the cells it starts)."""
        warm = warm_kernels_off() is None       # BUILDER_WARM=0 here switches them off there too
        for request, needs in zip(requests, resources):
            task = REMOTE_RUNS[request.needs_gpu].options(**needs)
            ref = task.remote(request.post, request.options, files, log,
                              warm and not request.needs_gpu, self.mine)   # a GPU post's worker serves one post
            self.pending[ref] = request

    def outcomes(self) -> Iterator[RunOutcome]:
        """Each task's outcome as it ends, once the cluster said it runs this machine's versions."""
        self.sending.join(3 * CONNECT_SECONDS)
        if self.sending.is_alive() or self.failure is not None:
            raise self.failure or ConfigError(f"no answer from the Ray cluster at {self.address}",
                                              "--cluster", ADDRESS_HINT)
        ray = self.ray
        check_versions(ray, self.versions_asked, self.address, self.mine, CONNECT_SECONDS)
        feed = CellFeed(ray, self.log, self.on_cell) if self.on_cell else None
        while self.pending:
            done, _ = ray.wait(list(self.pending), num_returns=1, timeout=POLL_SECONDS)
            if feed:          # before the ended posts leave `pending`: their last cells come first
                feed.deliver({r.post.path: r.post for r in self.pending.values()}, ended=bool(done))
            for ref in done:
                yield self.outcome_of(self.pending.pop(ref), ref)

    def outcome_of(self, request: RunRequest, ref) -> RunOutcome:
        """The finished task as an outcome: its execution and host, or an error naming the post.
        A worker on other versions ran nothing: the build stops (exit 2)."""
        try:
            result, host = self.ray.get(ref)
        except Exception as error:  # noqa: BLE001 - Ray's failures (worker died twice, cancelled) name the post
            return RunOutcome(request, error=task_failure(request, error), where="cluster")
        if isinstance(result, dict):     # the worker's versions, which differ from this machine's
            raise version_error(self.address, result, self.mine)
        if isinstance(result, BuildError):
            return RunOutcome(request, error=result, where=host)
        return RunOutcome(request, execution=result, where=host)

    def cancel(self) -> None:
        """Force-cancel the tasks still running (their workers are killed), end the cell log and
        disconnect, bounded."""
        with self.lock:       # the sending thread submits nothing from now on
            left, self.cancelled = self.cancelled, True
            pending, self.pending = list(self.pending), {}
        connected = [c for c in self.connection if not isinstance(c, BaseException)]
        if left or not connected:       # never connected, or still connecting: its thread is a daemon
            return
        ray, log = connected[0][:2]

        def stop() -> None:
            for ref in pending:
                try:
                    ray.cancel(ref, force=True)
                except Exception:  # noqa: BLE001 - a task that just ended cannot be cancelled
                    pass
            leave(ray, log)

        ending = threading.Thread(target=stop, daemon=True)
        ending.start()
        LEAVING[:] = [ending]
        if pending:           # the build stops: its tasks are killed before it goes on (bounded)
            ending.join(CANCEL_SECONDS)
        # Otherwise disconnecting (a third of a second) overlaps the build's last steps; Ray's
        # exit handler waits for it, and so does this process's next connect.


def task_resources(request: RunRequest) -> dict:
    """A GPU post takes one GPU; any other post the CPUs its front matter asks for."""
    if request.needs_gpu:
        return {"num_gpus": 1, "num_cpus": 1}
    return {"num_cpus": post_cpus(request)}


def post_cpus(request: RunRequest) -> int:
    """Front matter `cpus:` (default 1): how many CPUs the post's task reserves on the cluster."""
    cpus = request.post.get("cpus", 1)
    if isinstance(cpus, bool) or not isinstance(cpus, int) or cpus < 1:
        raise ConfigError(f"`cpus: {cpus}` is not a whole number of CPUs (1 or more)", request.post.path,
                          "Write `cpus: 2` (or leave it out for 1) in the post's front matter.")
    return cpus


def task_failure(request: RunRequest, error: Exception) -> ExecutionError:
    kind = type(error).__name__
    reason = str(error).strip().splitlines()[0] if str(error).strip() else kind
    if "WorkerCrashed" in kind or "died" in reason.lower():
        return ExecutionError(f"the cluster worker running this post died, twice (it was retried once "
                              f"on another worker): {reason}", request.post.path,
                              "Look for the cause in the workers' logs (out of memory, a killed "
                              "process, a lost node); the post itself may crash its process.")
    return ExecutionError(f"the post could not be run on the cluster: {kind}: {reason}",
                          request.post.path, "Check the cluster's workers and their logs.")


def pack_site_files(site_dir: Path) -> bytes:
    """The files a post may read (the site's top-level entries as a scratch folder shows them), tarred."""
    limit, buffer = MAX_FILES_MB * 1024 * 1024, io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz", compresslevel=1) as archive:
        for entry in sorted(site_dir.iterdir()):
            if not entry.name.startswith(".") and entry.name not in SCRATCH_SKIP:
                archive.add(entry, arcname=entry.name, filter=normalized)
            if buffer.tell() > limit:
                break
    if buffer.tell() > limit:
        raise ConfigError(f"the site's files that posts may read are over {MAX_FILES_MB} MB, too many "
                          "to ship to the cluster", str(site_dir),
                          "Move large data out of the site folder (posts can download it), or raise "
                          "BUILDER_CLUSTER_MAX_MB.")
    return buffer.getvalue()


def normalized(info: tarfile.TarInfo) -> tarfile.TarInfo:
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info


REMOTE_RUNS: dict = {}    # needs a GPU -> Ray remote function, made on first connect (Ray imported then)
LEAVING: list[threading.Thread] = []    # the last build's disconnecting
REMOTE_LOG: list = []     # the CellLog actor class, made on first connect


def connect(address: str) -> tuple[Any, Any, Any]:
    """Connect to the cluster (bounded) and start the build's cell log there, asking it which
    versions it runs; `ray`, the log and the question, or a ConfigError."""
    reachable(address)
    try:
        import ray
    except ImportError:
        raise ConfigError("`--cluster` needs Ray, which is not installed", address,
                          "Install it with `pip install .[cluster]` (or requirements-cluster.txt).") from None
    init_bounded(ray, address)
    if not REMOTE_RUNS:
        # Every post's code runs in a kernel process of its own, started by the task. A GPU post's
        # task also gets a fresh worker (max_calls=1, Ray's default for GPU tasks: the GPU memory
        # is freed with the process); a CPU post's worker is reused, which saves starting Ray and
        # importing the executor per post, and keeps its warm pool (builder.execute.ray_task). A
        # post whose worker dies is retried once, on a new worker; an error in the post's code is
        # returned, not raised, so it is never retried.
        for gpu, calls in ((True, 1), (False, 0)):
            REMOTE_RUNS[gpu] = ray.remote(max_calls=calls, max_retries=1, retry_exceptions=False)(run_post_task)
        REMOTE_LOG.append(ray.remote(num_cpus=0, max_restarts=0)(CellLog))
    log = REMOTE_LOG[0].remote()
    return ray, log, log.versions.remote()


def leave(ray, log) -> None:
    """End the build's cell log and disconnect."""
    try:
        ray.kill(log, no_restart=True)
    except Exception:  # noqa: BLE001 - already gone with its node: disconnecting is what matters
        pass
    ray.shutdown()


def reachable(address: str) -> None:
    """Fail fast, with the address, when nothing listens there."""
    if address == "auto":
        return
    if not address.startswith("ray://") or ":" not in address[6:]:
        raise ConfigError(f"`{address}` is not a Ray cluster address", "--cluster", ADDRESS_HINT)
    host, _, port = address[6:].rpartition(":")
    try:
        socket.create_connection((host, int(port)), timeout=REACH_SECONDS).close()
    except (OSError, ValueError) as error:
        raise ConfigError(f"cannot reach the Ray cluster at {address}: {error}", "--cluster",
                          "Start it (`ray start --head`) or check the address; " + ADDRESS_HINT) from None


def init_bounded(ray, address: str) -> None:
    """ray.init on a helper thread, so that a cluster that never answers costs CONNECT_SECONDS."""
    outcome: list = []

    def init() -> None:
        for leaving in LEAVING:   # an earlier build of this process (serve, tests) still disconnecting
            leaving.join(CANCEL_SECONDS)
        for attempt in (1, 2):    # a busy head can fail to start its client server once
            try:
                if ray.is_initialized():     # an earlier build of this process (serve, tests) left it
                    ray.shutdown()
                ray.init(address=address, logging_level="ERROR", log_to_driver=False)
                outcome.append(None)
                return
            except Exception as error:  # noqa: BLE001 - version mismatch, refused: told with the address
                if attempt == 2 or "version" in str(error).lower():
                    outcome.append(error)
                    return

    thread = threading.Thread(target=init, daemon=True)
    thread.start()
    thread.join(CONNECT_SECONDS)
    failure = outcome[0] if outcome else f"no answer within {CONNECT_SECONDS:.0f} s"
    if failure is not None:
        raise ray_version_error(address, str(failure)) or ConfigError(
            f"cannot connect to the Ray cluster at {address}: {failure}", "--cluster",
            f"The cluster must run this machine's Ray ({ray.__version__}) and Python; " + ADDRESS_HINT)
